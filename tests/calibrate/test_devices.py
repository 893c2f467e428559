"""Device names as frameworks report them -> canonical accelerator names (the join key with pricing)."""

from __future__ import annotations

import pytest

from calibrate.devices import CANONICAL, DeviceInfo, canonical_accelerator, cpu_name, peak_key
from calibrate.peaks import load_peaks


@pytest.mark.parametrize(
    ("reported", "canonical", "peak"),
    [
        ("NVIDIA H100 80GB HBM3", "H100-80GB", "H100-80GB"),
        ("NVIDIA H100 PCIe", "H100-80GB", "H100-80GB-PCIe"),
        ("NVIDIA H100 NVL", None, None),
        ("NVIDIA H200", "H200-141GB", "H200-141GB"),
        ("NVIDIA B200", "B200", "B200"),
        ("NVIDIA A100-SXM4-80GB", "A100-80GB", "A100-80GB"),
        ("NVIDIA A100-SXM4-40GB", "A100-40GB", "A100-40GB"),
        ("NVIDIA A100-PCIE-40GB", "A100-40GB", "A100-40GB"),
        ("NVIDIA A100 80GB PCIe", "A100-80GB", "A100-80GB-PCIe"),
        ("NVIDIA L4", "L4", "L4"),
        ("NVIDIA L40S", "L40S", "L40S"),
        ("NVIDIA L40", None, None),
        ("NVIDIA A10G", "A10G", "A10G"),
        ("NVIDIA A10", "A10", "A10"),
        ("Tesla T4", "T4", "T4"),
        ("Tesla V100-SXM2-16GB", "V100-16GB", "V100-16GB"),
        ("Tesla V100-SXM2-32GB", "V100-32GB", "V100-32GB"),
        ("Tesla V100-PCIE-16GB", "V100-16GB", "V100-16GB"),
        ("AMD Instinct MI300X", "MI300X", "MI300X"),
        ("AMD Instinct MI300X VF", "MI300X", "MI300X"),
        ("TPU v4", "TPU-v4", "TPU-v4"),
        ("TPU v5 lite", "TPU-v5e", "TPU-v5e"),
        ("TPU v5e", "TPU-v5e", "TPU-v5e"),
        ("TPU v5", "TPU-v5p", "TPU-v5p"),
        ("TPU v5p", "TPU-v5p", "TPU-v5p"),
        ("TPU v6 lite", "TPU-v6e", "TPU-v6e"),
        ("v5litepod-8", "TPU-v5e", "TPU-v5e"),
        ("Trainium2", "Trainium2", None),
        ("Inferentia2", "Inferentia2", None),
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


def test_the_host_cpu_is_CPU_with_no_sourced_peak() -> None:
    info = DeviceInfo.make("cpu", cpu_name(), 1)
    assert info.accelerator == "CPU"
    assert info.peak_key is None
    assert cpu_name()
    with pytest.raises(ValueError, match="device kind"):
        DeviceInfo.make("gpu", "x", 1)
