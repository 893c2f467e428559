"""Is tco's timing right? tco's best fp32 matmul per framework against plain baselines, same CPU, same run.

1. Runs ``tco calibrate run --quick --framework all`` (in a throw-away TCO_HOME) and prints its wall time.
2. Then, in ``--rounds`` interleaved rounds (this VM's noise is about +/-30%, so the three figures are taken
   side by side, and each keeps its best round), per framework, each in its own subprocess:
   - tco: the calibration worker's fp32 ``matmul`` kernel at the quick sweep (best size, median);
   - plain: the framework's own matmul in a loop, synchronised (torch ``a @ b``, op-by-op
     ``jnp.matmul``, eager ``tf.matmul``), median of ``--repeats`` calls per size, best size;
   - numpy: ``a @ b`` on numpy's BLAS, the same way.
3. Prints tco / max(plain, numpy) (the issue's target: >= 0.9) and tco / plain (the harness's overhead).

Run: ``.venv/bin/python benchmarks/calibration_efficiency.py`` (about three minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (256, 512, 1024, 2048)

BASELINE = r"""
import json, statistics, sys, time
import numpy as np
kind, sizes, repeats = sys.argv[1], [int(s) for s in sys.argv[2].split(",")], int(sys.argv[3])
if kind == "torch":
    import torch
    def setup(n):
        a, b = torch.randn(n, n), torch.randn(n, n)
        return lambda: a @ b
    version = torch.__version__
elif kind == "jax":
    import jax, jax.numpy as jnp
    def setup(n):
        a = jnp.asarray(np.random.standard_normal((n, n)), jnp.float32)
        b = jnp.asarray(np.random.standard_normal((n, n)), jnp.float32)
        return lambda: jnp.matmul(a, b, precision="highest").block_until_ready()
    version = jax.__version__
elif kind == "tensorflow":
    import tensorflow as tf
    def setup(n):
        a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
        def call():
            c = tf.matmul(a, b)
            tf.test.experimental.sync_devices()
            return c
        return call
    version = tf.__version__
else:
    def setup(n):
        a = np.random.standard_normal((n, n)).astype(np.float32)
        b = np.random.standard_normal((n, n)).astype(np.float32)
        return lambda: a @ b
    version = np.__version__
out = {"version": version, "sizes": {}}
for n in sizes:
    call = setup(n)
    for _ in range(3):
        call()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    out["sizes"][n] = 2 * n**3 / statistics.median(times) / 1e9
print(json.dumps(out))
"""


def baseline(kind: str, repeats: int) -> dict[str, object]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [sys.executable, "-c", BASELINE, kind, ",".join(map(str, SIZES)), str(repeats)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def tco_matmul(framework: str) -> tuple[float, str, float, float]:
    """tco's best fp32 matmul (GFLOP/s), where, and its p90/p10 step-time spread as throughput factors."""
    command = [
        sys.executable,
        "-m",
        "calibrate.worker",
        "--framework",
        framework,
        "--device",
        "cpu",
        "--profile",
        "quick",
        "--kernels",
        "matmul",
        "--dtypes",
        "fp32",
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    )
    best = (0.0, "no result", 1.0, 1.0)
    for line in done.stdout.splitlines():
        event = json.loads(line)
        row = event.get("row") if event.get("event") == "row" else None
        if row and row["status"] == "ok" and row["throughput"] * 1e3 > best[0]:
            best = (
                row["throughput"] * 1e3,
                f"{row['variant']} {row['shape']}",
                row["median_s"] / row["p90_s"],
                row["median_s"] / row["p10_s"],
            )
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per size for the baselines")
    parser.add_argument(
        "--rounds", type=int, default=2, help="interleaved rounds; each figure keeps its best"
    )
    parser.add_argument(
        "--tco", default=str(Path(sys.executable).with_name("tco")), help="the tco executable"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tco-efficiency-") as home:
        env = dict(os.environ, TCO_HOME=home, NO_COLOR="1")
        started = time.perf_counter()
        done = subprocess.run(
            [args.tco, "calibrate", "run", "--quick", "--framework", "all"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall_s = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
        with sqlite3.connect(Path(home) / "calibration.sqlite") as db:
            quick = dict(
                db.execute(
                    "SELECT framework, MAX(throughput) * 1e3 FROM results "
                    "WHERE kernel = 'matmul' AND dtype = 'fp32' AND status = 'ok' GROUP BY framework"
                ).fetchall()
            )
    print(
        f"tco calibrate run --quick --framework all: {wall_s:.1f} s wall (exit {done.returncode}); "
        "fp32 matmul GFLOP/s in that run: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(quick.items()))
    )

    frameworks = ("torch", "jax", "tensorflow")
    tco: dict[str, tuple[float, str, float, float]] = {}
    plain: dict[str, float] = {}
    numpy_best = 0.0
    numpy_version = ""
    for _ in range(args.rounds):
        for framework in frameworks:
            numpy = baseline("numpy", args.repeats)
            numpy_version = str(numpy["version"])
            numpy_best = max(numpy_best, *numpy["sizes"].values())  # type: ignore[attr-defined]
            ours = tco_matmul(framework)
            if ours[0] > tco.get(framework, (0.0,))[0]:
                tco[framework] = ours
            theirs = baseline(framework, args.repeats)
            plain[framework] = max(plain.get(framework, 0.0), *theirs["sizes"].values())  # type: ignore[attr-defined]

    print(f"numpy {numpy_version} BLAS fp32: {numpy_best:.0f} GFLOP/s (best size of {SIZES}, best round)")
    print(
        f"{'framework':<11} {'tco GFLOP/s':>11} {'p90..p10':>10} {'plain':>7} {'numpy':>7} "
        f"{'tco/best':>9} {'tco/plain':>9}  tco's best point"
    )
    failures = 0
    for framework in frameworks:
        value, where, low, high = tco[framework]
        reference = max(plain[framework], numpy_best)
        ratio = value / reference if reference else float("nan")
        failures += not ratio >= 0.9
        print(
            f"{framework:<11} {value:>11.0f} {f'{value * low:.0f}..{value * high:.0f}':>10} "
            f"{plain[framework]:>7.0f} {numpy_best:>7.0f} {ratio:>9.2f} "
            f"{value / plain[framework]:>9.2f}  {where}"
        )
    print("target: tco/best >= 0.9 (best = the faster of numpy and the framework's own plain matmul)")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"load average at the end: {load} on {os.cpu_count()} CPUs (other work on the machine halves "
        "a 2-thread BLAS: compare figures from quiet moments)"
    )
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
