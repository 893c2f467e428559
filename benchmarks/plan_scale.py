"""How `tco plan` scales with the number of workloads: wall time and peak memory of whole CLI processes.

    PYTHONPATH=. python benchmarks/plan_scale.py [--sizes 100,1000,10000] [--repeats 3] [--seed 15]

For each size a scenario is generated (deterministic for a seed): 60% training workloads (model presets and
bare parameter counts from 125M to 13B, 8 to 64 accelerators on mixes of H100, H200, A100, L40S, A10G and L4,
0.5 to 8 runs a month, torch, jax or tensorflow, some on spot, some with an MFU or a deadline) and 40%
serving endpoints (presets and bare counts up to 13B, 0.2 to 60 requests/s, TPOT targets from 30 to 120 ms,
on L4, A10G, L40S, A100 and H100), over 12 months with 4% growth, on aws, gcp and azure on demand and spot,
with storage, egress, tooling and people costs. Each run is a fresh process
(`python -m tco plan SCENARIO [--format csv]`, output to /dev/null, ``TCO_HOME`` an empty temporary
directory), after one warm-up run of the smallest size that fills the OS page cache; peak memory is the
child's own max RSS from wait4(2), beside its CPU time (user + system: steadier than the wall clock on a
shared machine). Each size runs in the default format (a table: past 12 workloads it sums them by kind)
and as CSV (a column per workload).
Target (issue #15): 10,000 workloads in under 10 s and under 2 GiB.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_WORKLOADS = 10_000
TARGET_S = 10.0
TARGET_MIB = 2048.0

TRAIN_PRESETS = ("gpt2", "gpt2-medium", "tinyllama-1.1b", "llama-2-7b", "llama-3-8b", "mpt-7b", "llama-2-13b")
SERVE_PRESETS = ("tinyllama-1.1b", "llama-2-7b", "llama-3-8b", "mpt-7b", "llama-2-13b")
#: (accelerators a training workload may use; counts it runs on): the big cards always offered, so that
#: every workload fits somewhere
TRAIN_ACCELERATORS = (
    ("H100-80GB", "A100-80GB"),
    ("H100-80GB", "A100-80GB", "L40S"),
    ("H100-80GB", "H200-141GB"),
    ("A100-80GB", "H100-80GB", "A10G", "L4"),
    ("H100-80GB",),
)
SERVE_ACCELERATORS = (
    ("L4", "A10G", "L40S", "H100-80GB"),
    ("A100-80GB", "H100-80GB"),
    ("L40S", "H100-80GB"),
    ("A10G", "L4", "A100-80GB", "H100-80GB"),
)


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def scenario_text(workloads: int, seed: int = 15) -> str:
    """A TOML scenario of ``workloads`` workloads (60% training, 40% serving), the same for a seed."""
    rng = random.Random(seed)
    lines = [
        "[scenario]",
        f'name = "generated, {workloads} workloads"',
        "horizon_months = 12",
        "growth_per_month = 0.04",
        'start = "2026-01"',
        "",
    ]
    for i in range(workloads):
        if rng.random() < 0.6:
            lines += ["[[training]]", f'name = "train-{i:05d}"']
            if rng.random() < 0.5:
                lines.append(f'model = "{rng.choice(TRAIN_PRESETS)}"')
            else:
                lines.append(f"parameters = {10 ** rng.uniform(8.1, 10.1):.3e}")
            lines += [
                f"tokens = {10 ** rng.uniform(8.5, 11):.3e}",
                f"accelerators = {_list(rng.choice(TRAIN_ACCELERATORS))}",
                f"accelerator_count = {rng.choice((8, 8, 16, 32, 64))}",
                f"runs_per_month = {rng.choice((0.5, 1, 1, 2, 4, 8))}",
                f'framework = "{rng.choices(("torch", "jax", "tensorflow"), weights=(8, 2, 1))[0]}"',
                f"interruptible = {'true' if rng.random() < 0.5 else 'false'}",
            ]
            if rng.random() < 0.1:
                lines.append(f"mfu = {rng.choice((0.3, 0.35, 0.4, 0.45))}")
            if rng.random() < 0.1:
                lines.append('recompute = "selective"')
            if rng.random() < 0.1:
                lines.append("max_days = 60")
        else:
            lines += ["[[serving]]", f'name = "serve-{i:05d}"']
            if rng.random() < 0.5:
                lines.append(f'model = "{rng.choice(SERVE_PRESETS)}"')
            else:
                lines.append(f"parameters = {10 ** rng.uniform(8.5, 10.1):.3e}")
            lines += [
                f"requests_per_s = {10 ** rng.uniform(-0.7, 1.8):.3g}",
                f"output_tokens_per_request = {rng.choice((60, 200, 400, 800))}",
                f"accelerators = {_list(rng.choice(SERVE_ACCELERATORS))}",
                f"min_replicas = {rng.choice((1, 1, 2, 3))}",
            ]
            if rng.random() < 0.7:
                lines.append(f"latency_ms_per_token = {rng.choice((30, 50, 80, 120))}")
            if rng.random() < 0.2:
                lines.append("interruptible = true")
            if rng.random() < 0.2:
                lines.append(f"hours_per_month = {rng.choice((360, 500))}")
        lines.append("")
    lines += [
        "[costs]",
        "storage_tb = 400",
        "storage_usd_per_tb_month = 23",
        "egress_tb_per_month = 50",
        "egress_usd_per_gb = 0.09",
        "tooling_usd_per_month = 30000",
        "people_fte = 12",
        "usd_per_fte_year = 250000",
        "",
        "[options]",
        'providers = ["aws", "gcp", "azure"]',
        'pricing_models = ["on_demand", "spot"]',
        "",
    ]
    return "\n".join(lines)


#: The output formats timed: the default (a table) and CSV (a column per workload).
FORMATS: dict[str, list[str]] = {"table": [], "csv": ["--format", "csv"]}


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and max RSS (MiB) of one process, from wait4(2)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} exited {code}: {err.decode(errors='replace').strip()[-500:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="workload counts, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--formats", default=",".join(FORMATS), help="table and/or csv")
    parser.add_argument("--write", type=Path, default=None, help="only write the scenarios into this folder")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    formats = [f for f in args.formats.split(",") if f.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.write or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {n: folder / f"plan_{n}.toml" for n in sizes}
        for n, path in paths.items():
            path.write_text(scenario_text(n, args.seed), encoding="utf-8")
        if args.write is not None:
            print("\n".join(str(p) for p in paths.values()))
            return
        home = Path(tmp) / "home"
        home.mkdir()
        env = {**os.environ, "TCO_HOME": str(home), "NO_COLOR": "1"}
        exe = [sys.executable, "-m", "tco", "plan"]
        run_once([*exe, str(paths[min(sizes)]), *FORMATS[formats[0]]], env)  # warm the page cache
        print(
            f"{'workloads':>9} {'format':>6} {'median s':>9} {'max s':>7} {'cpu s':>6} {'max RSS MiB':>12}"
            f"  (n={args.repeats}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})"
        )
        for n in sizes:
            for fmt in formats:
                samples = [run_once([*exe, str(paths[n]), *FORMATS[fmt]], env) for _ in range(args.repeats)]
                walls = [s[0] for s in samples]
                cpu = statistics.median(s[1] for s in samples)
                rss = max(s[2] for s in samples)
                verdict = ""
                if n == TARGET_WORKLOADS:
                    ok = statistics.median(walls) < TARGET_S and rss < TARGET_MIB
                    verdict = (
                        f"  target < {TARGET_S:g} s and < {TARGET_MIB:g} MiB: {'met' if ok else 'MISSED'}"
                    )
                print(
                    f"{n:9,d} {fmt:>6} {statistics.median(walls):9.2f} {max(walls):7.2f} {cpu:6.2f} "
                    f"{rss:12.1f}{verdict}"
                )


if __name__ == "__main__":
    main()
