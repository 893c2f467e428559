"""How long `tco estimate train` takes at 16,384 accelerators: whole CLI processes, and the projection alone.

    PYTHONPATH=. python benchmarks/training_cli.py [--repeats 7]

Each command runs in a fresh process (start to exit, output to /dev/null, ``TCO_HOME`` an empty temporary
directory) after one warm-up run that fills the OS page cache; the median and best wall times and the
median CPU time of the process (user + system: steadier than the wall clock on a shared machine) are
printed.
The second part times ``project_training`` for the same workload in this process, cold (first call: layout
candidates built, data tables read) and warm, so the model's share of the command is visible.
Target (issue #11): under 1 s for `tco estimate train --model llama-3.1-405b -a h100 --count 16384 --top 5`
over every option.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BASE = ["estimate", "train", "--model", "llama-3.1-405b", "-a", "h100", "--count", "16384", "--top", "5"]
COMMANDS: dict[str, list[str]] = {
    "default (cheapest per provider)": BASE,
    "every option (--pricing-model all --all-instances --all-regions)": [
        *BASE,
        "--pricing-model",
        "all",
        "--all-instances",
        "--all-regions",
    ],
    "--explain": [*BASE, "--explain"],
    "--format json": [*BASE, "--format", "json"],
}


def wall(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and the child's own CPU seconds (user + system, from wait4(2))."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def projection_times() -> tuple[float, float]:
    """Cold and warm ``project_training`` seconds for the benchmark's workload on every H100 offer."""
    import pandas as pd

    from pricing.catalog import OfferFilter, filter_offers, load_catalog
    from tco.model.offers import purchase_options
    from tco.model.training import project_training
    from tco.presets import hardware_table, load_mfu_defaults, preset_workload

    offers = filter_offers(load_catalog().offers, OfferFilter(accelerators=("H100-80GB",)))
    options = purchase_options(offers)
    workload = pd.DataFrame([preset_workload("llama-3.1-405b")])
    times = []
    for _ in range(2):
        start = time.perf_counter()
        project_training(
            workload,
            options,
            hardware_table(["H100-80GB"]),
            counts=[16384],
            frameworks=["torch", "jax", "tensorflow"],
            mfu_defaults=load_mfu_defaults(),
        )
        times.append(time.perf_counter() - start)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TCO_HOME": home}
        for label, command in COMMANDS.items():
            argv = [sys.executable, "-m", "tco", *command]
            wall(argv, env)  # warm-up
            runs = [wall(argv, env) for _ in range(args.repeats)]
            walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
            print(
                f"{label}: wall median {statistics.median(walls):.3f} s, best {min(walls):.3f} s; "
                f"process CPU median {statistics.median(cpus):.3f} s"
            )
    cold, warm = projection_times()
    print(
        f"project_training alone: cold {cold:.3f} s, warm {warm:.3f} s ({os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
