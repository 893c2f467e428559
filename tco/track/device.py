"""The device a tracked job runs on, and its dense peak (calibrate's sourced table) for MFU.

A CPU has no sourced peak: its MFU is n/a (NaN), never 0. Device names map to canonical accelerator names
through :mod:`calibrate.devices` (the join key with prices and calibrations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Final

from calibrate.devices import CPU, DEVICE_KINDS, canonical_accelerator, cpu_name, peak_key
from calibrate.peaks import DTYPE_COLUMNS, load_peaks

#: dtype spellings the frameworks use -> the peak table's dtype.
DTYPE_ALIASES: Final = {
    "bf16": "bf16",
    "bfloat16": "bf16",
    "bf16-mixed": "bf16",
    "bf16-true": "bf16",
    "mixed_bfloat16": "bf16",
    "fp16": "fp16",
    "float16": "fp16",
    "half": "fp16",
    "16": "fp16",
    "16-mixed": "fp16",
    "16-true": "fp16",
    "mixed_float16": "fp16",
    "fp32": "fp32",
    "float32": "fp32",
    "float": "fp32",
    "32": "fp32",
    "32-true": "fp32",
    "tf32": "tf32",
    "fp8": "fp8",
}


def normalise_dtype(dtype: str) -> str:
    """``bfloat16``, ``bf16-mixed``, ``mixed_bfloat16`` ... -> ``bf16`` (the peak table's names)."""
    key = str(dtype).strip().lower().replace("torch.", "")
    if key in DTYPE_ALIASES:
        return DTYPE_ALIASES[key]
    raise ValueError(f"unknown dtype {dtype!r}: one of {', '.join(DTYPE_COLUMNS)}")


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """What a job computes on: framework, device kind and name, how many devices, and in which precision."""

    framework: str = "none"  # torch | jax | tensorflow | none
    framework_version: str | None = None
    kind: str = "cpu"  # cpu | cuda | rocm | tpu | mps
    name: str = ""
    count: int = 1
    dtype: str = "fp32"
    source: str = "host CPU (no framework device given)"

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"device count must be at least 1, got {self.count}")
        object.__setattr__(self, "dtype", normalise_dtype(self.dtype))

    @classmethod
    def host(cls, framework: str = "none", framework_version: str | None = None) -> DeviceSpec:
        return cls(framework, framework_version, "cpu", cpu_name(), 1, "fp32")

    def with_(self, **changes: object) -> DeviceSpec:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def accelerator(self) -> str | None:
        """Canonical accelerator name (``CPU`` for the host; None for a device tco does not know)."""
        if self.kind == "cpu":
            return CPU
        if self.kind not in DEVICE_KINDS:
            return None
        return canonical_accelerator(self.name, self.kind)

    @property
    def peak_key(self) -> str | None:
        if self.kind not in DEVICE_KINDS:
            return None
        return peak_key(self.name, self.kind)

    @property
    def peak_tflops(self) -> float:
        """Dense peak TFLOP/s of one device in :attr:`dtype`; NaN when none is sourced (any CPU)."""
        key = self.peak_key
        peak = load_peaks().get(key) if key is not None else None
        value = peak.tflops_for(self.dtype) if peak is not None else None
        return float(value) if value is not None else math.nan
