"""Devices: what a framework reports, mapped to the canonical accelerator names shared with pricing/.

``canonical_accelerator("NVIDIA H100 80GB HBM3")`` is ``"H100-80GB"``, ``"NVIDIA H100 PCIe"`` is
``"H100-80GB-PCIe"`` and ``"NVIDIA H100 NVL"`` is ``"H100-NVL"``: the names pricing/ gives the offers that
sell those parts, so a calibration on a PCIe card joins the PCIe offers, not the SXM ones. An unknown device
maps to ``None`` (missing stays missing: no utilisation, no price join). :func:`peak_key` names the row of
``accelerator_peaks.csv`` that describes the exact part (an H800 has a peak row but no canonical name: nobody
in the catalog sells it).
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

#: Canonical names (docs/ARCHITECTURE.md), the join key with pricing/ (``pricing.accelerators``; calibrate
#: does not import pricing, so a test keeps the two lists equal). SXM and PCIe parts of one chip are separate
#: names: their peaks, power and interconnect differ.
CANONICAL: Final = (
    "A100-40GB", "A100-40GB-PCIe", "A100-80GB", "A100-80GB-PCIe", "A800-80GB-PCIe", "H100-80GB",
    "H100-80GB-PCIe", "H100-NVL", "H200-141GB", "GH200", "B200", "B300", "GB200", "GB300", "L4",
    "L40", "L40S", "A10G", "A10", "A16", "A40", "T4", "V100-16GB", "V100-32GB", "P100", "P4", "K80",
    "M60", "RTX-A4000", "RTX-A5000", "RTX-A6000", "RTX-6000-Ada", "RTX-PRO-6000", "Quadro-RTX-6000",
    "Quadro-P4000", "Quadro-M4000", "MI25", "MI300X", "MI355X", "Gaudi2", "TPU-v2", "TPU-v3",
    "TPU-v4", "TPU-v5e", "TPU-v5p", "TPU-v6e", "Trainium1", "Trainium2", "Inferentia2", CPU,
)  # fmt: skip

# (pattern on the normalised name, canonical name, peak-table row). First match wins: specific first. Names
# are as nvidia-smi / torch.cuda.get_device_name / rocm-smi / jax report them, lower-cased with - and _ as
# spaces ("NVIDIA H100 80GB HBM3" -> "nvidia h100 80gb hbm3", "NVIDIA A100-SXM4-80GB" -> "nvidia a100 sxm4
# 80gb").
_RULES: Final[tuple[tuple[str, str | None, str | None], ...]] = (
    (r"\bgh200\b", "GH200", "GH200"),  # "NVIDIA GH200 480GB": H100 compute with 96 GB HBM3
    (r"\bh100\b.*\bnvl\b", "H100-NVL", "H100-NVL"),  # "NVIDIA H100 NVL": the 94 GB PCIe card
    (r"\bh100\b.*\bpcie\b", "H100-80GB-PCIe", "H100-80GB-PCIe"),
    (r"\bh100\b", "H100-80GB", "H100-80GB"),  # "NVIDIA H100 80GB HBM3", "NVIDIA H100 SXM5 80GB"
    (r"\bh800\b", None, "H800"),
    (r"\bh200\b.*\bnvl\b", None, None),  # H200 NVL: no canonical name or sourced peak yet
    (r"\bh200\b", "H200-141GB", "H200-141GB"),
    (r"\bgb300\b", "GB300", "GB300"),
    (r"\bgb200\b", "GB200", "GB200"),
    (r"\bb300\b", "B300", "B300"),
    (r"\bb200\b", "B200", "B200"),
    (r"\ba800\b", "A800-80GB-PCIe", "A800-80GB-PCIe"),
    (r"\ba100\b.*(\b80\s?gb\b.*\bpcie\b|\bpcie\b.*\b80\s?gb\b)", "A100-80GB-PCIe", "A100-80GB-PCIe"),
    (r"\ba100\b.*\bpcie\b", "A100-40GB-PCIe", "A100-40GB-PCIe"),  # "NVIDIA A100-PCIE-40GB"
    (r"\ba100\b.*\b80\s?gb\b", "A100-80GB", "A100-80GB"),
    (r"\ba100\b", "A100-40GB", "A100-40GB"),
    (r"\bl40s\b", "L40S", "L40S"),
    (r"\bl40\b", "L40", "L40"),
    (r"\bl4\b", "L4", "L4"),
    (r"\ba10g\b", "A10G", "A10G"),
    (r"\ba10\b", "A10", "A10"),
    (r"\ba16\b", "A16", "A16"),
    (r"\ba40\b", "A40", "A40"),
    (r"\brtx pro 6000\b", "RTX-PRO-6000", "RTX-PRO-6000"),  # "NVIDIA RTX PRO 6000 Blackwell ..."
    (r"\brtx 6000 ada\b", "RTX-6000-Ada", "RTX-6000-Ada"),  # "NVIDIA RTX 6000 Ada Generation"
    (r"\brtx a6000\b", "RTX-A6000", "RTX-A6000"),
    (r"\brtx a5000\b", "RTX-A5000", "RTX-A5000"),
    (r"\brtx a4000\b", "RTX-A4000", "RTX-A4000"),
    (r"\bquadro rtx 6000\b", "Quadro-RTX-6000", "Quadro-RTX-6000"),
    (r"\bquadro p4000\b", "Quadro-P4000", "Quadro-P4000"),
    (r"\bquadro m4000\b", "Quadro-M4000", "Quadro-M4000"),
    (r"\bt4\b", "T4", "T4"),
    (r"\bv100\b.*\b32\s?gb\b", "V100-32GB", "V100-32GB"),
    (r"\bv100\b", "V100-16GB", "V100-16GB"),
    (r"\bp100\b", "P100", "P100"),
    (r"\bp4\b", "P4", "P4"),
    (r"\bk80\b", "K80", "K80"),
    (r"\bm60\b", "M60", "M60"),
    (r"\bmi355x\b", "MI355X", "MI355X"),
    (r"\bmi300x\b", "MI300X", "MI300X"),
    (r"\bmi250x?\b", None, "MI250X"),
    (r"\bmi25\b", "MI25", "MI25"),
    (r"\bgaudi\s?2\b|\bhl\s?225\b", "Gaudi2", "Gaudi2"),
    (r"\btpu\s?v2\b", "TPU-v2", "TPU-v2"),
    (r"\btpu\s?v3\b", "TPU-v3", "TPU-v3"),
    (r"\btpu\s?v4\b", "TPU-v4", "TPU-v4"),
    (r"\btpu\s?v5\s?(lite|e)\b|\bv5litepod\b", "TPU-v5e", "TPU-v5e"),
    (r"\btpu\s?v5p?\b|\bv5p\b", "TPU-v5p", "TPU-v5p"),
    (r"\btpu\s?v6\s?(lite|e)?\b|\btrillium\b|\bv6e\b", "TPU-v6e", "TPU-v6e"),
    (r"\btrainium\s?2\b|\btrn2\b", "Trainium2", "Trainium2"),
    (r"\btrainium\s?1?\b|\btrn1\b", "Trainium1", "Trainium1"),
    (r"\binferentia\s?2\b|\binf2\b", "Inferentia2", "Inferentia2"),
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
