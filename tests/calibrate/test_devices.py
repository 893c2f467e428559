"""Device names as frameworks report them -> canonical accelerator names (the join key with pricing)."""

from __future__ import annotations

import pytest

from calibrate.devices import CANONICAL, DeviceInfo, canonical_accelerator, cpu_name, peak_key
from calibrate.peaks import load_peaks


@pytest.mark.parametrize(
    ("reported", "canonical", "peak"),
    [
        ("NVIDIA H100 80GB HBM3", "H100-80GB", "H100-80GB"),
        ("NVIDIA H100 SXM5 80GB", "H100-80GB", "H100-80GB"),
        ("NVIDIA H100 PCIe", "H100-80GB-PCIe", "H100-80GB-PCIe"),
        ("NVIDIA H100 NVL", "H100-NVL", "H100-NVL"),
        ("NVIDIA H800", None, "H800"),
        ("NVIDIA H200", "H200-141GB", "H200-141GB"),
        ("NVIDIA H200 NVL", None, None),
        ("NVIDIA GH200 480GB", "GH200", "GH200"),
        ("NVIDIA B200", "B200", "B200"),
        ("NVIDIA B300 SXM6 AC", "B300", "B300"),
        ("NVIDIA GB200", "GB200", "GB200"),
        ("NVIDIA GB300", "GB300", "GB300"),
        ("NVIDIA A100-SXM4-80GB", "A100-80GB", "A100-80GB"),
        ("NVIDIA A100-SXM4-40GB", "A100-40GB", "A100-40GB"),
        ("NVIDIA A100-PCIE-40GB", "A100-40GB-PCIe", "A100-40GB-PCIe"),
        ("NVIDIA A100 80GB PCIe", "A100-80GB-PCIe", "A100-80GB-PCIe"),
        ("NVIDIA A800 80GB PCIe", "A800-80GB-PCIe", "A800-80GB-PCIe"),
        ("NVIDIA L4", "L4", "L4"),
        ("NVIDIA L40S", "L40S", "L40S"),
        ("NVIDIA L40", "L40", "L40"),
        ("NVIDIA A10G", "A10G", "A10G"),
        ("NVIDIA A10", "A10", "A10"),
        ("NVIDIA A16", "A16", "A16"),
        ("NVIDIA A40", "A40", "A40"),
        ("NVIDIA RTX A6000", "RTX-A6000", "RTX-A6000"),
        ("NVIDIA RTX A5000", "RTX-A5000", "RTX-A5000"),
        ("NVIDIA RTX A4000", "RTX-A4000", "RTX-A4000"),
        ("NVIDIA RTX 6000 Ada Generation", "RTX-6000-Ada", "RTX-6000-Ada"),
        ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "RTX-PRO-6000", "RTX-PRO-6000"),
        ("Quadro RTX 6000", "Quadro-RTX-6000", "Quadro-RTX-6000"),
        ("Quadro P4000", "Quadro-P4000", "Quadro-P4000"),
        ("Tesla T4", "T4", "T4"),
        ("Tesla V100-SXM2-16GB", "V100-16GB", "V100-16GB"),
        ("Tesla V100-SXM2-32GB", "V100-32GB", "V100-32GB"),
        ("Tesla V100-PCIE-16GB", "V100-16GB", "V100-16GB"),
        ("Tesla P100-PCIE-16GB", "P100", "P100"),
        ("Tesla P4", "P4", "P4"),
        ("Tesla K80", "K80", "K80"),
        ("Tesla M60", "M60", "M60"),
        ("AMD Instinct MI300X", "MI300X", "MI300X"),
        ("AMD Instinct MI300X VF", "MI300X", "MI300X"),
        ("AMD Instinct MI355X", "MI355X", "MI355X"),
        ("AMD Instinct MI250X/MI250", None, "MI250X"),
        ("Radeon Instinct MI25", "MI25", "MI25"),
        ("HL-225", "Gaudi2", "Gaudi2"),
        ("TPU v2", "TPU-v2", "TPU-v2"),
        ("TPU v3", "TPU-v3", "TPU-v3"),
        ("TPU v4", "TPU-v4", "TPU-v4"),
        ("TPU v5 lite", "TPU-v5e", "TPU-v5e"),
        ("TPU v5e", "TPU-v5e", "TPU-v5e"),
        ("TPU v5", "TPU-v5p", "TPU-v5p"),
        ("TPU v5p", "TPU-v5p", "TPU-v5p"),
        ("TPU v6 lite", "TPU-v6e", "TPU-v6e"),
        ("v5litepod-8", "TPU-v5e", "TPU-v5e"),
        ("Trainium2", "Trainium2", "Trainium2"),
        ("Trainium", "Trainium1", "Trainium1"),
        ("Inferentia2", "Inferentia2", "Inferentia2"),
        ("Some Future GPU 9000", None, None),
    ],
)
def test_device_names_map_to_canonical_names(reported: str, canonical: str | None, peak: str | None) -> None:
    assert canonical_accelerator(reported, "cuda") == canonical
    assert peak_key(reported, "cuda") == peak
    if canonical is not None:
        assert canonical in CANONICAL
    if peak is not None:
        assert peak in load_peaks()  # every peak row we point at exists


def test_canonical_names_are_pricings() -> None:
    """calibrate cannot import pricing: its list of canonical names is kept equal to pricing's here, so that
    a measured device joins the offers of exactly that part."""
    from pricing.accelerators import CANONICAL_NAMES

    assert set(CANONICAL) == set(CANONICAL_NAMES)
    assert len(CANONICAL) == len(set(CANONICAL))


def test_every_canonical_name_has_a_device_rule() -> None:
    """Each canonical accelerator (but the host CPU) is recognised from its own name, with a peak row."""
    for name in CANONICAL:
        if name == "CPU":
            continue
        assert canonical_accelerator(name.replace("-", " "), "cuda") == name, name
        assert peak_key(name.replace("-", " "), "cuda") in load_peaks(), name


def test_the_host_cpu_is_CPU_with_no_sourced_peak() -> None:
    info = DeviceInfo.make("cpu", cpu_name(), 1)
    assert info.accelerator == "CPU"
    assert info.peak_key is None
    assert cpu_name()
    with pytest.raises(ValueError, match="device kind"):
        DeviceInfo.make("gpu", "x", 1)
