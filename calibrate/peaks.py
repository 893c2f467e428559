"""Accelerator peak figures (dense TFLOP/s by dtype, memory bandwidth, interconnect, power), as sourced data.

The table lives in ``calibrate/data/accelerator_peaks.csv``; every row carries its source. Numbers are never
constants in code.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

#: dtype -> column of the peak table.
DTYPE_COLUMNS: Final = {
    "bf16": "bf16_dense_tflops",
    "fp16": "fp16_dense_tflops",
    "tf32": "tf32_dense_tflops",
    "fp32": "fp32_tflops",
    "fp8": "fp8_dense_tflops",
}


#: bytes in a GiB
GIB: Final = 2.0**30


@dataclass(frozen=True, slots=True)
class Peak:
    accelerator: str
    variant: str
    tflops: dict[str, float]  # dtype -> dense TFLOP/s, only the known ones
    #: memory in bytes: vendors' "GB" for HBM and GDDR means GiB (an "80GB" H100 holds 80 x 2^30 bytes)
    memory_bytes: float | None
    memory_source: str
    memory_bandwidth_tb_s: float | None
    interconnect_gb_s: float | None
    tdp_w: float | None
    notes: str
    source: str

    def tflops_for(self, dtype: str) -> float | None:
        """Dense peak for ``dtype``; bf16 falls back to the fp16 tensor peak where bf16 is absent (V100)."""
        if dtype in self.tflops:
            return self.tflops[dtype]
        if dtype == "bf16":
            return self.tflops.get("fp16")
        return None


def _number(text: str | None) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


@cache
def load_peaks() -> dict[str, Peak]:
    """Canonical accelerator name -> :class:`Peak` (the first row of each name)."""
    peaks: dict[str, Peak] = {}
    with resources.files("calibrate").joinpath("data/accelerator_peaks.csv").open("r", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            tflops = {d: v for d, c in DTYPE_COLUMNS.items() if (v := _number(row[c])) is not None}
            peaks.setdefault(
                row["accelerator"],
                Peak(
                    accelerator=row["accelerator"],
                    variant=row["variant"],
                    tflops=tflops,
                    memory_bytes=None if (gib := _number(row["memory_gib"])) is None else gib * GIB,
                    memory_source=row["memory_source"],
                    memory_bandwidth_tb_s=_number(row["memory_bandwidth_tb_s"]),
                    interconnect_gb_s=_number(row["interconnect_gb_s"]),
                    tdp_w=_number(row["tdp_w"]),
                    notes=row["notes"],
                    source=row["source"],
                ),
            )
    return peaks
