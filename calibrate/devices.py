"""Devices: what a framework reports, mapped to the canonical accelerator names shared with pricing/.

``canonical_accelerator("NVIDIA H100 80GB HBM3")`` is ``"H100-80GB"``; an unknown device maps to ``None``
(missing stays missing: no utilisation, no price join). :func:`peak_key` names the row of
``accelerator_peaks.csv`` that describes the exact part (a PCIe H100 joins prices as ``H100-80GB`` but has
the PCIe card's lower peaks).
"""

from __future__ import annotations

import platform
import re
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any, Final, Literal

DeviceKind = Literal["cpu", "cuda", "rocm", "tpu"]
DEVICE_KINDS: Final = ("cpu", "cuda", "rocm", "tpu")
#: What ``--device`` accepts: ``auto`` (the framework's default device), or a kind (``cuda`` also finds ROCm).
REQUESTABLE: Final = ("auto", "cpu", "cuda", "tpu")

CPU: Final = "CPU"

#: Canonical names (docs/ARCHITECTURE.md), the join key with pricing/.
CANONICAL: Final = (
    "A100-40GB",
    "A100-80GB",
    "H100-80GB",
    "H200-141GB",
    "B200",
    "L4",
    "L40S",
    "A10G",
    "A10",
    "T4",
    "V100-16GB",
    "V100-32GB",
    "MI300X",
    "TPU-v4",
    "TPU-v5e",
    "TPU-v5p",
    "TPU-v6e",
    "Trainium1",
    "Trainium2",
    "Inferentia2",
    CPU,
)

# (pattern on the normalised name, canonical name, peak-table row). First match wins: specific first.
_RULES: Final[tuple[tuple[str, str | None, str | None], ...]] = (
    (r"\bh100\b.*\bnvl\b", None, None),  # H100 NVL (94 GB): no canonical name
    (r"\bh100\b.*\bpcie\b", "H100-80GB", "H100-80GB-PCIe"),
    (r"\bh100\b", "H100-80GB", "H100-80GB"),
    (r"\bh800\b", None, "H800"),
    (r"\bh200\b.*\bnvl\b", None, None),
    (r"\bh200\b", "H200-141GB", "H200-141GB"),
    (r"\bgb?200\b|\bb200\b", "B200", "B200"),
    (r"\ba100\b.*\b80\s?gb\b.*\bpcie\b|\ba100\b.*\bpcie\b.*\b80\s?gb\b", "A100-80GB", "A100-80GB-PCIe"),
    (r"\ba100\b.*\b80\s?gb\b", "A100-80GB", "A100-80GB"),
    (r"\ba100\b", "A100-40GB", "A100-40GB"),
    (r"\bl40s\b", "L40S", "L40S"),
    (r"\bl4\b", "L4", "L4"),
    (r"\ba10g\b", "A10G", "A10G"),
    (r"\ba10\b", "A10", "A10"),
    (r"\bt4\b", "T4", "T4"),
    (r"\bv100\b.*\b32\s?gb\b", "V100-32GB", "V100-32GB"),
    (r"\bv100\b", "V100-16GB", "V100-16GB"),
    (r"\bmi300x\b", "MI300X", "MI300X"),
    (r"\bmi250x?\b", None, "MI250X"),
    (r"\btpu\s?v4\b", "TPU-v4", "TPU-v4"),
    (r"\btpu\s?v5\s?(lite|e)\b|\bv5litepod\b", "TPU-v5e", "TPU-v5e"),
    (r"\btpu\s?v5p?\b|\bv5p\b", "TPU-v5p", "TPU-v5p"),
    (r"\btpu\s?v6\s?(lite|e)?\b|\btrillium\b|\bv6e\b", "TPU-v6e", "TPU-v6e"),
    (r"\btrainium\s?2\b|\btrn2\b", "Trainium2", None),
    (r"\btrainium\s?1?\b|\btrn1\b", "Trainium1", None),
    (r"\binferentia\s?2\b|\binf2\b", "Inferentia2", None),
)


def _normalise(name: str) -> str:
    text = name.lower().replace("_", " ").replace("-", " ")
    return re.sub(r"\s+", " ", text).strip()


def _match(device_name: str) -> tuple[str | None, str | None]:
    text = _normalise(device_name)
    for pattern, canonical, peak in _RULES:
        if re.search(pattern, text):
            return canonical, peak
    return None, None


def canonical_accelerator(device_name: str, kind: str = "cuda") -> str | None:
    """The canonical accelerator name for a device name as a framework reports it; ``CPU`` for the host."""
    if kind == "cpu":
        return CPU
    return _match(device_name)[0]


def peak_key(device_name: str, kind: str = "cuda") -> str | None:
    """The ``accelerator_peaks.csv`` row that describes this exact part (None: no sourced peak)."""
    if kind == "cpu":
        return None
    return _match(device_name)[1]


@cache
def cpu_name() -> str:
    """The host CPU's model name (``/proc/cpuinfo`` on Linux), else what :mod:`platform` says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """The device a backend calibrates: its kind, the name the framework reports, how many there are."""

    kind: DeviceKind
    name: str
    count: int
    accelerator: str | None
    peak_key: str | None
    detail: str = ""  # e.g. compute capability, core count

    @classmethod
    def make(cls, kind: str, name: str, count: int, detail: str = "") -> DeviceInfo:
        """A device of ``kind`` (cpu | cuda | rocm | tpu) named as its framework reports it."""
        if kind not in DEVICE_KINDS:
            raise ValueError(f"unknown device kind {kind!r}")
        checked: DeviceKind = kind  # type: ignore[assignment]
        return cls(checked, name, count, canonical_accelerator(name, kind), peak_key(name, kind), detail)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
