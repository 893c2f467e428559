"""Framework comparison: measured calibration of PyTorch, JAX and TensorFlow side by side for one workload.

Pure over the calibration results frame (calibrate.store.ResultStore(...).results(): framework,
framework_version, device_name, accelerator, kernel, throughput, throughput_unit, compile_s,
peak_memory_bytes, utilisation, device_count, ...). A framework with no measurement on the target stays a
row of NaN with the reason: tco never guesses a framework's speed from another's.

    acc_hours_per_run = work_per_run / throughput · device_count / 3600
    cost_per_run_usd  = acc_hours_per_run · price_usd_per_accelerator_hour
    cost_per_month_usd = runs_per_month · cost_per_run
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pandas as pd

FRAMEWORKS: Final = ("torch", "jax", "tensorflow")
ALIASES: Final = {
    "pytorch": "torch",
    "torch": "torch",
    "jax": "jax",
    "tensorflow": "tensorflow",
    "tf": "tensorflow",
}
COLUMNS: Final = (
    "framework",
    "framework_version",
    "device_name",
    "accelerator",
    "kernel",
    "throughput",
    "throughput_unit",
    "compile_s",
    "peak_memory_gib",
    "utilisation",
    "acc_hours_per_run",
    "cost_per_run_usd",
    "cost_per_month_usd",
    "measurements",
    "status",
)


def compare_frameworks(
    results: pd.DataFrame,
    *,
    accelerator: str,
    kernel: str,
    work_per_run: float,
    runs_per_month: float,
    price_usd_per_accelerator_hour: float,
) -> pd.DataFrame:
    """One row per framework: its best measured throughput on ``accelerator`` for ``kernel`` and the cost."""
    import numpy as np
    import pandas as pd

    frame = results.copy()
    if frame.empty:
        frame = pd.DataFrame(columns=["framework", "accelerator", "kernel", "throughput"])
    frame["framework"] = frame["framework"].astype(str).str.lower().map(ALIASES).fillna(frame["framework"])
    on_target = frame[(frame["accelerator"] == accelerator) & (frame["kernel"] == kernel)]
    on_target = on_target[pd.to_numeric(on_target["throughput"], errors="coerce").notna()]
    counts = on_target.groupby("framework")["throughput"].size()
    best = on_target.sort_values("throughput", ascending=False, kind="stable").drop_duplicates("framework")
    rows = pd.DataFrame({"framework": list(FRAMEWORKS)}).merge(best, on="framework", how="left")
    for column in (
        "framework_version",
        "device_name",
        "throughput_unit",
        "compile_s",
        "peak_memory_bytes",
        "utilisation",
        "device_count",
    ):
        if column not in rows:
            rows[column] = np.nan
    rows["accelerator"] = accelerator
    rows["kernel"] = kernel
    throughput = pd.to_numeric(rows["throughput"], errors="coerce")
    devices = pd.to_numeric(rows["device_count"], errors="coerce").fillna(1.0)
    rows["peak_memory_gib"] = pd.to_numeric(rows["peak_memory_bytes"], errors="coerce") / 2**30
    rows["acc_hours_per_run"] = work_per_run / throughput * devices / 3600.0
    rows["cost_per_run_usd"] = rows["acc_hours_per_run"] * price_usd_per_accelerator_hour
    rows["cost_per_month_usd"] = rows["cost_per_run_usd"] * runs_per_month
    rows["measurements"] = rows["framework"].map(counts).fillna(0).astype(int)
    seen_elsewhere = frame.groupby("framework")["accelerator"].agg(
        lambda s: ", ".join(sorted(set(map(str, s))))
    )
    elsewhere = rows["framework"].map(seen_elsewhere).astype(object)
    rows["status"] = np.where(
        throughput.notna(),
        "measured",
        "no calibration of "
        + rows["framework"]
        + f" {kernel} on {accelerator}"
        + np.where(elsewhere.notna(), " (measured on: " + elsewhere.fillna("") + ")", ""),
    )
    units = set(rows.loc[throughput.notna(), "throughput_unit"].dropna())
    if len(units) > 1:
        rows["status"] = rows["status"] + f"; mixed throughput units {sorted(units)}: costs not comparable"
    return rows[list(COLUMNS)]
