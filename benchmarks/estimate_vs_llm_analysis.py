"""One training estimate end to end (process start to output): `tco estimate train` beside llm-analysis.

    python benchmarks/estimate_vs_llm_analysis.py [--repeats 11] [--llm-python PATH]

The estimate is a 69-70B dense model (Llama-2-70B's size) on 2T tokens and 2048 A100-80GB:
``tco estimate train --params 6.9e10 --tokens 2e12 -a A100-80GB -n 2048 -f json`` beside llm-analysis's
training analysis of its Llama-2-70B config on the same GPUs, tokens and count (tp 8, ZeRO-1, MFU 0.5).
llm-analysis lives in its own virtualenv, never in tco's::

    python3 -m venv /work/peers/llm-analysis && /work/peers/llm-analysis/bin/pip install llm-analysis

Each command runs in a fresh process with output to a pipe, after one warm-up run that fills the OS page
cache and the bytecode cache; the tools alternate so that background load hits both alike. Prints median
and p90 wall time and CPU time (user + system: steadier than wall time on a shared machine), the ratios
tco / llm-analysis, and both tools' GPU-hours for the estimate.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LLM_ARGS = [
    "-m",
    "llm_analysis.analysis",
    "train",
    "--model_name",
    "upstage_Llama-2-70b-instruct-v2",
    "--gpu_name",
    "a100-sxm-80gb",
    "--total_num_tokens",
    "2000000000000",
    "--total_num_gpus",
    "2048",
    "--global_batch_size",
    "1024",
    "--seq_len",
    "4096",
    "--tp_size",
    "8",
    "--ds_zero",
    "1",
    "--flops_efficiency",
    "0.5",
    "--hbm_memory_efficiency",
    "0.9",
    "--activation_recomputation",
    "1",
    "--log_level",
    "ERROR",
]
TCO_JSON = ["estimate", "train", "--params", "6.9e10", "--tokens", "2e12", "-a", "A100-80GB", "-n", "2048",
            "-f", "json"]  # fmt: skip
TCO_TABLE = TCO_JSON[:-2]
DEFAULT_LLM_PYTHON = "/work/peers/llm-analysis/bin/python"


def tco_executable() -> list[str]:
    found = shutil.which("tco", path=str(Path(sys.executable).parent)) or shutil.which("tco")
    return [found] if found else [sys.executable, "-m", "tco"]


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system of the child) and stdout of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return wall, cpu, proc.stdout


def _summary(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--llm-python", default=DEFAULT_LLM_PYTHON)
    args = parser.parse_args()
    if not Path(args.llm_python).exists():
        raise SystemExit(
            f"{args.llm_python} not found: python3 -m venv /work/peers/llm-analysis && "
            "/work/peers/llm-analysis/bin/pip install llm-analysis"
        )
    commands = {
        "tco estimate train --format json": tco_executable() + TCO_JSON,
        "tco estimate train (table)": tco_executable() + TCO_TABLE,
        "llm-analysis train": [args.llm_python, *LLM_ARGS],
    }
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TCO_HOME": home, "NO_COLOR": "1", "COLUMNS": "200"}
        # As after any install: bytecode is cached (pip compiles llm-analysis's; tco's editable sources get
        # theirs on the warm-up run). PYTHONDONTWRITEBYTECODE would make tco recompile its sources every run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        outputs = {label: run(argv, env)[2] for label, argv in commands.items()}  # warm-up
        walls: dict[str, list[float]] = {label: [] for label in commands}
        cpus: dict[str, list[float]] = {label: [] for label in commands}
        for _ in range(args.repeats):
            for label, argv in commands.items():
                wall, cpu, _ = run(argv, env)
                walls[label].append(wall)
                cpus[label].append(cpu)
    print(
        f"{'command':36} {'wall median s':>13} {'p90':>6} {'CPU median s':>13} {'p90':>6}"
        f"  (n={args.repeats}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})"
    )
    medians: dict[str, tuple[float, float]] = {}
    for label in commands:
        (wall, wall_p90), (cpu, cpu_p90) = _summary(walls[label]), _summary(cpus[label])
        medians[label] = (wall, cpu)
        print(f"{label:36} {wall:13.3f} {wall_p90:6.3f} {cpu:13.3f} {cpu_p90:6.3f}")
    reference = medians["llm-analysis train"]
    for label in ("tco estimate train --format json", "tco estimate train (table)"):
        wall, cpu = medians[label]
        print(f"ratio {label} / llm-analysis: wall {wall / reference[0]:.2f}, CPU {cpu / reference[1]:.2f}")
    tco_row = json.loads(outputs["tco estimate train --format json"])[0]
    llm = json.loads(outputs["llm-analysis train"])
    print(
        f"GPU-hours for the estimate: tco {tco_row['accelerator_hours']:,.0f} (cheapest option: "
        f"{tco_row['provider']} {tco_row['instance_type']} {tco_row['pricing_model']}, "
        f"${tco_row['cost_usd_per_run']:,.0f}); llm-analysis {llm['gpu_hours']:,.0f}; Llama 2 paper "
        "1,720,320 (70B, A100-80GB)"
    )


if __name__ == "__main__":
    main()
