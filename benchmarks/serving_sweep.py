"""Serving sweep speed: configurations per second through :func:`tco.model.serving.project_serving`.

    python benchmarks/serving_sweep.py [--workloads 2000] [--repeats 3]

A configuration is one (workload, accelerator, replica size) row solved end to end with the accelerator's
default engine (TensorRT-LLM on NVIDIA, vLLM elsewhere): memory, the load curve (12 candidate
concurrencies, prompts arriving whole per step), capacity within the SLOs, latencies at the offered load,
the low/high ends (9 candidates each) and the cost over one purchase option. The wall time depends on what
else runs on the machine; the CPU time of the process is printed beside it. Workloads vary prompt/output lengths, rates and targets over four
model shapes; every accelerator with a peak and replica sizes 1, 2, 4, 8. Prints configurations, the best
wall time of ``--repeats`` and configurations per second.
"""

# ruff: noqa: E501
from __future__ import annotations

import argparse
import time

import numpy as np

from tco.model.assumptions import ServingAssumptions
from tco.model.inference.validation import efficiencies_from
from tco.model.offers import override_options
from tco.model.serving import project_serving
from tco.presets import hardware_table, load_serving_models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    models = load_serving_models()
    shapes = models[models["name"].isin(["llama-3-8b", "llama-3-70b", "mixtral-8x7b", "llama-2-13b"])]
    picks = shapes.iloc[rng.integers(0, len(shapes), args.workloads)].reset_index(drop=True)
    workloads = picks.drop(columns=["source"]).assign(
        workload=[f"w{i}" for i in range(args.workloads)],
        prompt_tokens=rng.choice([128, 500, 1000, 2048, 5000], args.workloads).astype(float),
        output_tokens=rng.choice([128, 300, 1000, 2048], args.workloads).astype(float),
        requests_per_s=rng.uniform(0.5, 50.0, args.workloads),
        ttft_s=rng.choice([0.5, 1.0, 2.0], args.workloads),
        tpot_s=rng.choice([0.02, 0.05, 0.1], args.workloads),
        weight_bytes_per_param=rng.choice([1.0, 2.0], args.workloads),
        kv_bytes_per_element=2.0,
        hours_per_day=24.0,
        dtype="bf16",
        workload_source="sweep",
    )
    hardware = hardware_table()
    bf16 = hardware[(hardware["dtype"] == "bf16") & hardware["peak_tflops"].notna()]
    accelerators = list(bf16["accelerator"])
    options = override_options(accelerators, 2.0, 8.0)
    efficiencies = efficiencies_from(ServingAssumptions(), accelerators)
    best = cpu = float("inf")
    rows = 0
    for _ in range(args.repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = project_serving(
            workloads,
            options,
            bf16,
            efficiencies,
            replica_sizes=[1, 2, 4, 8],
            assumptions=ServingAssumptions(),
        )
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
        rows = len(out)
    print(f"{rows:,} configurations ({args.workloads:,} workloads x {len(accelerators)} accelerators x 4 replica "
          f"sizes) in {best:.2f} s = {rows / best:,.0f} configurations/s (CPU time {cpu:.2f} s = "
          f"{rows / cpu:,.0f}/s; best of {args.repeats})")  # fmt: skip


if __name__ == "__main__":
    main()
