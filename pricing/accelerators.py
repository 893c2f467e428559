"""Canonical accelerator names, their aliases and memory: the join key between pricing/ and calibrate/.

Names follow docs/ARCHITECTURE.md (``H100-80GB``, ``TPU-v5e``, ...). TPU prices are per chip and
``accelerator_count`` counts chips. Memory is per accelerator, in GiB as the providers list it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Final

from pricing.errors import PricingError


@dataclass(frozen=True, slots=True)
class Accelerator:
    name: str
    kind: str  # gpu | hpu | tpu | trainium | inferentia | cpu
    vendor: str
    memory_gib: float | None
    aliases: tuple[str, ...] = ()


ACCELERATORS: Final[tuple[Accelerator, ...]] = (
    # NVIDIA data-centre parts. SXM (HGX) and PCIe cards of one chip are separate names: their peaks, power
    # and interconnect differ (calibrate/data/accelerator_peaks.csv has a row for each).
    Accelerator("A100-40GB", "gpu", "NVIDIA", 40, ("a100-40", "nvidia-tesla-a100", "a100-sxm4-40gb")),
    Accelerator("A100-40GB-PCIe", "gpu", "NVIDIA", 40, ("a100-pcie-40gb", "nvidia-a100-pcie-40gb")),
    Accelerator("A100-80GB", "gpu", "NVIDIA", 80, ("a100-80", "nvidia-a100-80gb", "a100-sxm4-80gb")),
    Accelerator("A100-80GB-PCIe", "gpu", "NVIDIA", 80, ("a100-pcie-80gb", "nvidia-a100-pcie-80gb")),
    Accelerator("A800-80GB-PCIe", "gpu", "NVIDIA", 80, ("a800", "a800-pcie")),
    Accelerator(
        "H100-80GB", "gpu", "NVIDIA", 80, ("h100", "h100-mega", "nvidia-h100-80gb", "h100-sxm", "h100-sxm5")
    ),
    Accelerator("H100-80GB-PCIe", "gpu", "NVIDIA", 80, ("h100-pcie", "nvidia-h100-pcie")),
    Accelerator("H100-NVL", "gpu", "NVIDIA", 94, ("h100-nvl-94gb", "h100nvl", "nvidia-h100-nvl")),
    Accelerator("H200-141GB", "gpu", "NVIDIA", 141, ("h200", "nvidia-h200-141gb", "h200-sxm")),
    Accelerator("GH200", "gpu", "NVIDIA", 96, ("gh200-96gb", "grace-hopper")),
    Accelerator("B200", "gpu", "NVIDIA", 180, ("nvidia-b200", "b200-sxm")),
    Accelerator("B300", "gpu", "NVIDIA", 288, ("nvidia-b300", "blackwell-ultra")),
    Accelerator("GB200", "gpu", "NVIDIA", 186, ("gb200-nvl72",)),
    Accelerator("GB300", "gpu", "NVIDIA", 288, ("gb300-nvl72",)),
    Accelerator("L4", "gpu", "NVIDIA", 24, ("nvidia-l4",)),
    Accelerator("L40", "gpu", "NVIDIA", 48, ("nvidia-l40",)),
    Accelerator("L40S", "gpu", "NVIDIA", 48, ("nvidia-l40s",)),
    Accelerator("A10G", "gpu", "NVIDIA", 24, ()),
    Accelerator("A10", "gpu", "NVIDIA", 24, ()),
    Accelerator("A16", "gpu", "NVIDIA", 16, ("nvidia-a16",)),
    Accelerator("A40", "gpu", "NVIDIA", 48, ("nvidia-a40",)),
    Accelerator("T4", "gpu", "NVIDIA", 16, ("t4g", "nvidia-tesla-t4")),
    Accelerator("V100-16GB", "gpu", "NVIDIA", 16, ("nvidia-tesla-v100",)),
    Accelerator("V100-32GB", "gpu", "NVIDIA", 32, ()),
    Accelerator("P100", "gpu", "NVIDIA", 16, ("nvidia-tesla-p100",)),
    Accelerator("P4", "gpu", "NVIDIA", 8, ("nvidia-tesla-p4",)),
    Accelerator("K80", "gpu", "NVIDIA", 12, ()),
    Accelerator("M60", "gpu", "NVIDIA", 8, ()),
    # NVIDIA workstation cards that GPU clouds rent out.
    Accelerator("RTX-A4000", "gpu", "NVIDIA", 16, ("a4000", "rtxa4000")),
    Accelerator("RTX-A5000", "gpu", "NVIDIA", 24, ("a5000", "rtxa5000")),
    Accelerator("RTX-A6000", "gpu", "NVIDIA", 48, ("a6000", "rtxa6000")),
    Accelerator("RTX-6000-Ada", "gpu", "NVIDIA", 48, ("rtx6000ada", "rtx-6000-ada-generation")),
    Accelerator("RTX-PRO-6000", "gpu", "NVIDIA", 96, ("rtxpro6000", "rtx-pro-6000-blackwell")),
    Accelerator("Quadro-RTX-6000", "gpu", "NVIDIA", 24, ("quadro-rtx6000", "rtx6000-turing")),
    Accelerator("Quadro-P4000", "gpu", "NVIDIA", 8, ("p4000",)),
    Accelerator("Quadro-M4000", "gpu", "NVIDIA", 8, ("m4000",)),
    # AMD and Intel.
    Accelerator("MI25", "gpu", "AMD", 16, ("radeon-mi25",)),
    Accelerator("MI300X", "gpu", "AMD", 192, ()),
    Accelerator("MI355X", "gpu", "AMD", 288, ()),
    Accelerator("Gaudi2", "hpu", "Intel", 96, ("gaudi-2", "hl-225")),
    # Google and AWS chips.
    Accelerator("TPU-v2", "tpu", "Google", 16, ("v2",)),
    Accelerator("TPU-v3", "tpu", "Google", 32, ("v3",)),
    Accelerator("TPU-v4", "tpu", "Google", 32, ("v4",)),
    Accelerator("TPU-v5e", "tpu", "Google", 16, ("v5e", "v5litepod", "tpu-v5-lite", "tpu-v5litepod")),
    Accelerator("TPU-v5p", "tpu", "Google", 95, ("v5p",)),
    Accelerator("TPU-v6e", "tpu", "Google", 32, ("v6e", "trillium")),
    Accelerator("Trainium1", "trainium", "AWS", 32, ("trainium", "trn1")),
    Accelerator("Trainium2", "trainium", "AWS", 96, ("trn2",)),
    Accelerator("Inferentia2", "inferentia", "AWS", 32, ("inf2",)),
    Accelerator("CPU", "cpu", "", None, ()),
)

BY_NAME: Final = {a.name: a for a in ACCELERATORS}
CANONICAL_NAMES: Final = tuple(a.name for a in ACCELERATORS)


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_EXACT: Final[dict[str, str]] = {}
for _acc in ACCELERATORS:
    for _text in (_acc.name, *_acc.aliases):
        _EXACT.setdefault(_key(_text), _acc.name)


def resolve(text: str) -> tuple[str, ...]:
    """Canonical names that ``text`` means: an exact name or alias, else every name it is a prefix of.

    ``h100`` gives ``H100-80GB``; ``a100`` gives both A100s; ``tpu-v5`` both v5 TPUs. Unknown text raises
    a :class:`PricingError` with "did you mean" suggestions.
    """
    key = _key(text)
    if not key:
        raise PricingError("empty accelerator name", hint=f"choose one of: {', '.join(CANONICAL_NAMES)}")
    if key in _EXACT:
        return (_EXACT[key],)
    family = tuple(a.name for a in ACCELERATORS if _key(a.name).startswith(key))
    if family:
        return family
    known = [a.name for a in ACCELERATORS] + [alias for a in ACCELERATORS for alias in a.aliases]
    close = difflib.get_close_matches(text, known, n=3, cutoff=0.5) or difflib.get_close_matches(
        text.upper(), CANONICAL_NAMES, n=3, cutoff=0.4
    )
    suggestion = (
        f"did you mean {', '.join(dict.fromkeys(close))}?" if close else "see `tco prices accelerators`"
    )
    raise PricingError(f"unknown accelerator {text!r}", hint=suggestion)


def resolve_many(texts: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Resolve several names (or comma-separated lists of names), keeping order, without duplicates."""
    names: dict[str, None] = {}
    for text in texts:
        for part in text.split(","):
            if part.strip():
                names.update(dict.fromkeys(resolve(part.strip())))
    return tuple(names)
