"""The calibration result row: the data contract between calibrate/ and its users (docs/ARCHITECTURE.md).

Kept apart from :mod:`calibrate.results` so that readers of results (the projection model) can name the
columns without importing the measurement machinery.
"""

from __future__ import annotations

from typing import Final

FLOAT_COLUMNS: Final = (
    "device_count",
    "compile_s",
    "median_s",
    "p10_s",
    "p90_s",
    "p99_s",
    "repeats",
    "throughput",
    "achieved_tflop_per_s",
    "utilisation",
    "peak_value",
    "peak_memory_bytes",
    "installed_bytes",
)
#: Column order of :meth:`calibrate.store.ResultStore.results` and of exports.
COLUMNS: Final = (
    "result_id",
    "run_id",
    "framework",
    "framework_version",
    "device_kind",
    "device_name",
    "accelerator",
    "device_count",
    "kernel",
    "variant",
    "dtype",
    "shape",
    "metric",
    "compile_s",
    "compile_cache",
    "median_s",
    "p10_s",
    "p90_s",
    "p99_s",
    "repeats",
    "throughput",
    "throughput_unit",
    "achieved_tflop_per_s",
    "utilisation",
    "peak_value",
    "peak_memory_bytes",
    "peak_memory_source",
    "installed_bytes",
    "host",
    "measured_at",
    "tool_version",
    "profile",
    "status",
    "error",
    "details",
)
#: The columns that hold text (every column but the numeric ones), in column order.
TEXT_COLUMNS: Final = tuple(c for c in COLUMNS if c not in FLOAT_COLUMNS)
