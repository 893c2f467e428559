"""One training estimate end to end (process start to output): `tco estimate train` beside llm-analysis.

    python benchmarks/estimate_vs_llm_analysis.py [--repeats 11] [--llm-python /tmp/llmvenv/bin/python]

The estimate is LLaMA-7B (1T tokens) on 2048 A100-80GB, the setup llm-analysis validates against the LLaMA
paper (docs/projection_model.md §1.7). llm-analysis lives in its own throwaway virtualenv, never in tco's::

    python3 -m venv /tmp/llmvenv && /tmp/llmvenv/bin/pip install llm-analysis

Each command runs in a fresh process with output to a pipe, after one warm-up run that fills the OS page
cache and the bytecode cache; the two tools alternate so that background load hits both alike. Prints
median and p90 wall time, the ratio tco / llm-analysis, and both tools' GPU-hours for the estimate.
"""

from __future__ import annotations

import argparse
import json
import os
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
    "decapoda-research_llama-7b-hf",
    "--gpu_name",
    "a100-sxm-80gb",
    "--total_num_tokens",
    "1000000000000",
    "--total_num_gpus",
    "2048",
    "--global_batch_size",
    "2048",
    "--seq_len",
    "2048",
    "--tp_size",
    "8",
    "--flops_efficiency",
    "0.5",
    "--hbm_memory_efficiency",
    "0.9",
    "--activation_recomputation",
    "1",
    "--log_level",
    "WARNING",
]
TCO_TABLE = ["estimate", "train", "--model", "llama-7b", "-a", "a100-80", "--count", "2048"]
TCO_JSON = [*TCO_TABLE, "--top", "1", "--format", "json"]


def tco_executable() -> list[str]:
    found = shutil.which("tco", path=str(Path(sys.executable).parent)) or shutil.which("tco")
    return [found] if found else [sys.executable, "-m", "tco"]


def run(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return wall, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--llm-python", default="/tmp/llmvenv/bin/python")
    args = parser.parse_args()
    if not Path(args.llm_python).exists():
        raise SystemExit(
            f"{args.llm_python} not found: python3 -m venv /tmp/llmvenv && "
            "/tmp/llmvenv/bin/pip install llm-analysis"
        )
    commands = {
        "tco estimate train (table)": tco_executable() + TCO_TABLE,
        "tco estimate train --format json": tco_executable() + TCO_JSON,
        "llm-analysis train": [args.llm_python, *LLM_ARGS],
    }
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TCO_HOME": home, "NO_COLOR": "1", "COLUMNS": "200"}
        # As after any install: bytecode is cached (pip compiles llm-analysis's; tco's editable sources get
        # theirs on the warm-up run). PYTHONDONTWRITEBYTECODE would make tco recompile its sources every run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        outputs = {label: run(argv, env)[1] for label, argv in commands.items()}  # warm-up
        samples: dict[str, list[float]] = {label: [] for label in commands}
        for _ in range(args.repeats):
            for label, argv in commands.items():
                samples[label].append(run(argv, env)[0])
    print(f"{'command':36} {'median s':>9} {'p90 s':>7}  (n={args.repeats}, {os.cpu_count()} CPUs)")
    medians = {}
    for label, walls in samples.items():
        walls.sort()
        medians[label] = statistics.median(walls)
        p90 = walls[min(len(walls) - 1, round(0.9 * (len(walls) - 1)))]
        print(f"{label:36} {medians[label]:9.3f} {p90:7.3f}")
    reference = medians["llm-analysis train"]
    for label in ("tco estimate train (table)", "tco estimate train --format json"):
        print(f"ratio {label} / llm-analysis: {medians[label] / reference:.2f}")
    tco_row = json.loads(outputs["tco estimate train --format json"])[0]
    llm = json.loads(outputs["llm-analysis train"])
    print(
        f"GPU-hours for the estimate: tco {tco_row['accelerator_hours']:,.0f} (cheapest option: "
        f"{tco_row['provider']} {tco_row['instance_type']} {tco_row['pricing_model']}, "
        f"${tco_row['cost_usd_per_run']:,.0f}); llm-analysis {llm['gpu_hours']:,.0f}; LLaMA paper 82,432"
    )


if __name__ == "__main__":
    main()
