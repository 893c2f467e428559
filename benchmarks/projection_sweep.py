"""How fast the projection model evaluates a big scenario grid: rows per second and peak memory.

    python benchmarks/projection_sweep.py [--repeats 3] [--min-rows 1000000]

The grid is every model preset with a token count x every priced offer of the embedded catalog (every
accelerator, provider, region and pricing model) x accelerator counts 1-4096 x runs per month x frameworks
(plus owned H100 nodes), evaluated by ``tco.model.training.project_training`` in one vectorised pass: the
steady rate, layout and scaling of each (workload, accelerator, instance size, count), then the cost of every
scenario row. Counts are added until the grid has at least ``--min-rows`` rows.

Prints the rows, the best and median wall time of the pass, rows per second, the same per CPU-second of
the process (steadier on a shared machine) with the load average, and peak memory: the process's maximum
resident set (``ru_maxrss``) and the increase over the resident set before the pass.
Targets (issue #5): more than 2 million rows per second, under 2 GB.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import time

import pandas as pd

from pricing.catalog import OfferFilter, filter_offers, load_catalog
from tco.model.offers import owned_options, purchase_options
from tco.model.ownership import ownership_costs
from tco.model.training import project_training
from tco.presets import hardware_table, load_mfu_defaults, load_models, ownership_params, preset_workload

COUNTS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
RUNS_PER_MONTH = (0.5, 1.0)


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def inputs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    models = load_models()
    names = models.loc[models["family"] != "cnn", "name"]
    workloads = pd.DataFrame([preset_workload(n) for n in names])
    workloads["tokens"] = workloads["tokens"].fillna(1e12)  # presets without a published token count
    offers = filter_offers(load_catalog().offers, OfferFilter())
    options = purchase_options(offers)
    params, node = ownership_params("H100-80GB") or (None, 8)
    assert params is not None
    owned = owned_options(
        ownership_costs(params.to_frame()).assign(
            accelerator="H100-80GB", accelerators_per_instance=float(node), ownership_source="benchmark"
        )
    )
    options = pd.concat([options, owned], ignore_index=True)
    hardware = hardware_table(sorted(set(options["accelerator"])))
    return workloads, options, hardware


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--min-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    workloads, options, hardware = inputs()
    mfu_defaults = load_mfu_defaults()

    def run() -> pd.DataFrame:
        return project_training(
            workloads,
            options,
            hardware,
            counts=COUNTS,
            frameworks=["torch", "jax", "tensorflow"],
            mfu_defaults=mfu_defaults,
            runs_per_month=RUNS_PER_MONTH,
        )

    frame = run()  # warm-up (and the row count)
    rows = len(frame)
    if rows < args.min_rows:
        raise SystemExit(f"grid has {rows:,} rows, fewer than --min-rows {args.min_rows:,}")
    feasible = int(frame["feasible"].sum())
    del frame
    gc.collect()
    before = rss_mb()
    walls, cpus = [], []
    for _ in range(args.repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        frame = run()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
        del frame
        gc.collect()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best, median = min(walls), statistics.median(walls)
    print(
        f"grid: {len(workloads)} workloads x {len(options):,} purchase options x {len(COUNTS)} counts x "
        f"{len(RUNS_PER_MONTH)} frequencies x 3 frameworks (collapsed where uncalibrated)"
    )
    print(f"rows: {rows:,} ({feasible:,} feasible)")
    print(f"wall: best {best:.3f} s, median {median:.3f} s over {args.repeats} runs ({os.cpu_count()} CPUs)")
    print(f"rows/s: {rows / best / 1e6:.2f} M (best), {rows / median / 1e6:.2f} M (median)")
    # On a shared machine the process's own CPU time (user + system) is steadier than the wall clock.
    cpu_best, cpu_median = min(cpus), statistics.median(cpus)
    print(
        f"cpu: best {cpu_best:.3f} s, median {cpu_median:.3f} s; rows per CPU-second: "
        f"{rows / cpu_best / 1e6:.2f} M (best), {rows / cpu_median / 1e6:.2f} M (median); load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"peak memory: max RSS {peak:,.0f} MB (RSS before the timed passes {before:,.0f} MB)")


if __name__ == "__main__":
    main()
