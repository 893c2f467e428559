"""The embedded snapshot: rebuilt from the source tables it must match byte for byte, and its quirks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from calibrate.peaks import load_peaks
from pricing.accelerators import BY_NAME
from pricing.catalog import embedded_meta, embedded_sources, load_embedded
from pricing.schema import PROVIDERS
from pricing.sellers import SELLERS

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = ROOT / "scripts" / "price_sources"


@pytest.fixture(scope="module")
def embedded() -> pd.DataFrame:
    return load_embedded()


def offer(frame: pd.DataFrame, instance_type: str, region: str, model: str) -> pd.Series:
    rows = frame[
        (frame.instance_type == instance_type) & (frame.region == region) & (frame.pricing_model == model)
    ]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_rebuild_from_sources_is_byte_identical(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_price_snapshot.py"),
            "--prices-dir",
            str(SOURCE_DIR),
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "offers.csv").read_bytes() == (ROOT / "pricing" / "data" / "offers.csv").read_bytes()
    assert (tmp_path / "snapshot.json").read_text() == (
        ROOT / "pricing" / "data" / "snapshot.json"
    ).read_text()
    assert (tmp_path / "SOURCES.md").read_text() == (ROOT / "pricing" / "data" / "SOURCES.md").read_text()


def test_gcp_machine_price_is_host_plus_accelerators(embedded: pd.DataFrame) -> None:
    # SOURCES.md: a2-highgpu-1g 0.73948 + A100 x1 2.93391 in us-central1-a = 3.67339 $/h
    row = offer(embedded, "a2-highgpu-1g", "us-central1", "on_demand")
    assert row.price_usd_per_hour == pytest.approx(0.73948 + 2.93391)
    assert row.accelerator == "A100-40GB" and row.accelerator_count == 1
    assert "composed" in row["flags"]
    # a3-highgpu-8g + H100 x8 in us-east4 = 87.83247 $/h, spot 19.0893
    assert offer(embedded, "a3-highgpu-8g", "us-east4", "on_demand").price_usd_per_hour == pytest.approx(
        87.83247
    )
    assert offer(embedded, "a3-highgpu-8g", "us-east4", "spot").price_usd_per_hour == pytest.approx(19.0893)


def test_gcp_h100_different_sku_region_is_flagged_not_listed(embedded: pd.DataFrame) -> None:
    # us-central1 H100 x8 = 33.60609 against us-east4 = 78.37241: flagged as an outlier.
    row = offer(embedded, "a3-highgpu-8g", "us-central1", "on_demand")
    assert "outlier" in row["flags"].split(";")


def test_tpu_prices_are_per_chip(embedded: pd.DataFrame) -> None:
    v5p = offer(embedded, "tpu-v5p-8", "us-central1", "on_demand")  # 8 cores = 4 chips, 16.8 $/h
    assert v5p.accelerator == "TPU-v5p" and v5p.accelerator_count == 4
    assert v5p.price_usd_per_accelerator_hour == pytest.approx(4.2)
    v5e = offer(embedded, "tpu-v5litepod-4", "us-central1", "on_demand")  # 4 chips, 4.8 $/h
    assert v5e.accelerator_count == 4 and v5e.price_usd_per_accelerator_hour == pytest.approx(1.2)
    v4 = offer(embedded, "tpu-v4-8", "us-central2", "on_demand")  # duplicated in the source: one row kept
    assert v4.price_usd_per_accelerator_hour == pytest.approx(12.88 / 4)


def test_sentinels_are_missing_prices_not_prices(embedded: pd.DataFrame) -> None:
    v6e = embedded[(embedded.instance_type == "tpu-v6e-1") & (embedded.region == "us-central2")]
    assert len(v6e) > 0
    assert v6e.price_usd_per_hour.isna().all()
    assert v6e["flags"].str.contains("sentinel").all()
    a4 = embedded[embedded.instance_type == "a4-highgpu-8g"]  # host price 0.0 in the source
    assert a4.price_usd_per_hour.isna().all() and a4["flags"].str.contains("sentinel").all()
    assert not (embedded.price_usd_per_hour == 700.0).any()
    assert not (embedded.price_usd_per_hour <= 0).any()


def test_aws_on_demand_per_region_and_spot_per_zone(embedded: pd.DataFrame) -> None:
    od = offer(embedded, "p5.48xlarge", "us-east-1", "on_demand")
    assert od.price_usd_per_hour == pytest.approx(55.04) and pd.isna(od.zone)
    spot = embedded[
        (embedded.instance_type == "p5.48xlarge")
        & (embedded.region == "us-east-1")
        & (embedded.pricing_model == "spot")
    ]
    assert len(spot) > 1 and spot.zone.str.startswith("use1-az").all()
    p4d = offer(embedded, "p4d.24xlarge", "us-east-1", "on_demand")
    assert p4d.price_usd_per_hour == pytest.approx(21.957642)


def test_missing_on_demand_stays_missing(embedded: pd.DataFrame) -> None:
    p5e = embedded[(embedded.instance_type == "p5e.48xlarge") & (embedded.pricing_model == "on_demand")]
    assert len(p5e) > 0 and p5e.price_usd_per_hour.isna().all()
    assert p5e["flags"].str.contains("missing").all()


def test_count_corrections_are_flagged(embedded: pd.DataFrame) -> None:
    nd = offer(embedded, "Standard_ND96isr_H100_v5", "eastus", "on_demand")
    assert nd.accelerator_count == 8 and "count_corrected" in nd["flags"]
    assert nd.price_usd_per_accelerator_hour == pytest.approx(98.32 / 8)
    frac = offer(embedded, "Standard_NV6ads_A10_v5", "eastus", "on_demand")
    assert frac.accelerator_count == pytest.approx(1 / 6)
    # Azure rows whose spot equals on-demand carry no spot data: no spot row.
    h100_spot = embedded[
        (embedded.instance_type == "Standard_ND96isr_H100_v5") & (embedded.pricing_model == "spot")
    ]
    assert h100_spot.empty


def test_snapshot_metadata_names_sources_and_dates(embedded: pd.DataFrame) -> None:
    meta = embedded_meta()
    assert set(meta["providers"]) == set(PROVIDERS)
    for provider, info in meta["providers"].items():
        assert "skypilot-catalog" in info["source"] and info["as_of"] and info["as_of_basis"]
        assert info["offers"] == int((embedded.provider == provider).sum()) > 0
        assert info["label"] == SELLERS[provider].label
        # embedded only unless a price API answers without an account (only the hyperscalers and OCI)
        assert info["embedded_only"] is (provider not in {"aws", "gcp", "azure", "oci"})
        assert bool(info["embedded_only_reason"]) is info["embedded_only"]
        assert info["reseller"] is (provider in {"shadeform", "primeintellect"})
    assert meta["offers"] == len(embedded)
    assert meta["providers"]["lambda"]["availability_note"]  # every type in every region


def test_required_families_are_covered(embedded: pd.DataFrame) -> None:
    types = set(embedded.instance_type)
    for prefix in ("p3.", "p4d.", "p4de.", "p5.", "p5e.", "p5en.", "p6-b200", "a2-", "a3-", "a4-", "g2-"):
        assert any(t.startswith(prefix) for t in types), prefix
    assert {"TPU-v2", "TPU-v3", "TPU-v4", "TPU-v5e", "TPU-v5p", "TPU-v6e"} <= set(embedded.accelerator)


# --- GPU clouds and marketplaces (SOURCES.md "Neocloud tables") -------------------------------------------


@pytest.mark.parametrize(
    ("provider", "instance_type", "region", "usd_per_hour", "usd_per_accelerator_hour"),
    [
        # SOURCES.md: Price is for the whole instance in every file, never per GPU
        ("lambda", "gpu_8x_h100_sxm5", "us-east-1", 31.92, 3.99),
        ("oci", "BM.GPU.H100.8", "us-ashburn-1", 80.0, 10.0),
        ("nebius", "gpu-h200-sxm_8gpu-128vcpu-1600gb", "eu-north1", 28.0, 3.5),
        ("cudo", "sapphire-rapids-h100_1x2v4gb", "no-kristiansand-1", 1.8214, 1.8214),
        ("cudo", "sapphire-rapids-h100_1x2v4gb", "ca-montreal-3", 2.5354, 2.5354),
        ("hyperbolic", "3x-H100-224-2165", "default", 3.87, 1.29),
        ("oci", "BM.GPU.GB200.4", "us-chicago-1", 64.0, 16.0),
    ],
)
def test_gpu_cloud_prices_are_per_instance(
    embedded: pd.DataFrame,
    provider: str,
    instance_type: str,
    region: str,
    usd_per_hour: float,
    usd_per_accelerator_hour: float,
) -> None:
    row = offer(embedded[embedded.provider == provider], instance_type, region, "on_demand")
    assert row.price_usd_per_hour == pytest.approx(usd_per_hour)
    assert row.price_usd_per_accelerator_hour == pytest.approx(usd_per_accelerator_hour)
    assert row.source.startswith(f"skypilot-catalog/v8/{provider}@")


def test_spot_and_preemptible_prices(embedded: pd.DataFrame) -> None:
    nebius = offer(embedded, "gpu-h100-sxm_1gpu-16vcpu-200gb", "eu-north1", "spot")
    assert nebius.price_usd_per_hour == pytest.approx(1.25) and "preemptible" in nebius.note
    oci = offer(embedded, "VM.GPU3.1", "us-ashburn-1", "spot")  # half the on-demand 2.95
    assert oci.price_usd_per_hour == pytest.approx(1.475)
    # Prime Intellect's __SPOT rows are the spot price of the offer without the suffix, per site
    assert not embedded.instance_type.str.endswith("__SPOT").any()
    pi = embedded[
        (embedded.instance_type == "datacrunch__1xA100_80GB__22__120") & (embedded.pricing_model == "spot")
    ]
    assert len(pi) == 1 and pi.iloc[0].price_usd_per_hour == pytest.approx(0.53)
    assert (
        pi.iloc[0].zone == "FIN-01" and "listed as datacrunch__1xA100_80GB__22__120__SPOT" in pi.iloc[0].note
    )
    # no spot published: no spot rows
    assert embedded[(embedded.provider == "lambda") & (embedded.pricing_model == "spot")].empty


def test_oci_availability_domains_fold_into_regions(embedded: pd.DataFrame) -> None:
    h100 = embedded[(embedded.instance_type == "BM.GPU.H100.8") & (embedded.pricing_model == "on_demand")]
    # us-ashburn-1 has three ADs in the source, each at the same price: one offer per region
    assert h100.region.is_unique and h100.zone.isna().all() and h100.region.nunique() == 44


def test_marketplaces_are_flagged_resellers_with_the_cloud_behind_each_offer(embedded: pd.DataFrame) -> None:
    flags = embedded["flags"].fillna("").str.split(";")
    reseller = flags.map(lambda f: "reseller" in f).astype(bool)
    assert set(embedded.loc[reseller, "provider"]) == {"shadeform", "primeintellect"}
    assert reseller[embedded.provider.isin(["shadeform", "primeintellect"])].all()
    row = offer(embedded, "lambdalabs__8xH100_80GB__208__1800", "US", "on_demand")
    assert row.note.startswith("resold offer of lambdalabs (upstream type gpu_8x_h100_sxm5)")
    assert row.price_usd_per_hour == pytest.approx(23.92)  # Lambda's own catalog says 31.92
    assert offer(embedded, "massedcompute_L40S", "kansascity-usa-1", "on_demand").note.startswith(
        "resold offer of massedcompute"
    )


def test_tables_listing_every_region_are_flagged(embedded: pd.DataFrame) -> None:
    flags = embedded["flags"].fillna("").str.split(";")
    everywhere = flags.map(lambda f: "listed_all_regions" in f).astype(bool)
    assert set(embedded.loc[everywhere, "provider"]) == {"lambda", "oci"}
    assert everywhere[embedded.provider.isin(["lambda", "oci"])].all()


@pytest.mark.parametrize(
    ("provider", "instance_type", "accelerator"),
    [
        # ACCELERATOR_RULES, one case each
        ("azure", "Standard_NC40ads_H100_v5", "H100-NVL"),
        ("azure", "Standard_NC80adis_H100_v5", "H100-NVL"),
        ("azure", "Standard_NC24ads_A100_v4", "A100-80GB-PCIe"),
        ("lambda", "gpu_1x_a100", "A100-40GB-PCIe"),
        ("lambda", "gpu_4x_a100", "A100-40GB-PCIe"),
        ("lambda", "gpu_8x_a100", "A100-40GB"),
        ("oci", "BM.GPU.H100.8", "H100-80GB"),
        ("oci", "BM.GPU.A100-v2.8", "A100-80GB"),
        ("oci", "BM.GPU4.8", "A100-40GB"),
        ("shadeform", "lambdalabs_H100", "H100-80GB"),
        ("shadeform", "lambdalabs_A100x8", "A100-40GB"),
        ("shadeform", "scaleway_H100x2", "H100-80GB-PCIe"),
        ("shadeform", "massedcompute_A100-80GB", "A100-80GB-PCIe"),
        ("shadeform", "crusoe_A100-80GBx4", "A100-80GB-PCIe"),
        ("primeintellect", "hyperstack__1xH100_80GB__28__180", "H100-80GB-PCIe"),
        ("primeintellect", "hyperstack__4xA100_80GB__124__480", "A100-80GB-PCIe"),
        ("primeintellect", "lambdalabs__8xA100_40GB__124__1800", "A100-40GB"),
        ("cudo", "epyc-genoa-a100-pcie_1x2v4gb", "A100-80GB-PCIe"),
        ("cudo", "intel-ice-lake-a100-pci_8x64v128gb", "A100-80GB-PCIe"),
        # form-factor words in the type, the upstream type or the GPU name
        ("lambda", "gpu_1x_h100_pcie", "H100-80GB-PCIe"),
        ("lambda", "gpu_1x_h100_sxm5", "H100-80GB"),
        ("lambda", "gpu_1x_a100_sxm4", "A100-40GB"),
        ("fluidstack", "H100_PCIE_80GB::1", "H100-80GB-PCIe"),
        ("fluidstack", "H100_NVLINK_80GB::8", "H100-80GB"),
        ("fluidstack", "A100_PCIE_80GB::8", "A100-80GB-PCIe"),
        ("primeintellect", "hyperstack__8xH100_80GB__192__960", "H100-80GB"),  # upstream n3-H100-SXM5x8
        ("primeintellect", "datacrunch__8xH100_80GB__176__1480", "H100-80GB"),  # upstream 8H100.80S.176V
        ("hyperbolic", "1x-H100-75-722", "H100-80GB"),  # GpuInfo NVIDIA-H100-80GB-HBM3
        ("cudo", "sapphire-rapids-h100_1x2v4gb", "H100-80GB"),  # AcceleratorName H100-SXM
        # names the SkyPilot catalog shares between parts
        ("fluidstack", "L40_48GB::1", "L40"),
        ("nebius", "gpu-l40s-a_1gpu-8vcpu-32gb", "L40S"),
        ("lambda", "gpu_1x_gh200", "GH200"),
        ("lambda", "gpu_1x_rtx6000", "Quadro-RTX-6000"),
        ("oci", "BM.GPU.MI355X.8", "MI355X"),
        ("oci", "BM.GPU.B300.8", "B300"),
        ("oci", "BM.GPU.GB300.4", "GB300"),
        ("oci", "BM.GPU.RTXPRO.8", "RTX-PRO-6000"),
        ("cudo", "intel-ice-lake-a800-pci_1x2v4gb", "A800-80GB-PCIe"),
        ("shadeform", "denvr_Gaudi2x8", "Gaudi2"),
    ],
)
def test_canonical_accelerators(
    embedded: pd.DataFrame, provider: str, instance_type: str, accelerator: str
) -> None:
    rows = embedded[(embedded.provider == provider) & (embedded.instance_type == instance_type)]
    assert len(rows) > 0 and set(rows.accelerator) == {accelerator}
    assert (rows.accelerator_memory_gib == BY_NAME[accelerator].memory_gib).all()
    assert not rows["flags"].fillna("").str.contains("variant_assumed").any()  # decided, not assumed


def test_h100_nvl_is_not_counted_as_sxm(embedded: pd.DataFrame) -> None:
    nvl = offer(embedded, "Standard_NC40ads_H100_v5", "eastus", "on_demand")
    assert (nvl.accelerator, nvl.accelerator_count, nvl.accelerator_memory_gib) == ("H100-NVL", 1, 94)
    assert "H100 NVL" in nvl.note
    peaks = load_peaks()
    assert peaks["H100-NVL"].tflops["bf16"] < peaks["H100-80GB"].tflops["bf16"]


def test_unstated_form_factors_are_flagged_not_guessed_silently(embedded: pd.DataFrame) -> None:
    flags = embedded["flags"].fillna("").str.split(";")
    assumed = embedded[flags.map(lambda f: "variant_assumed" in f).astype(bool)]
    assert set(assumed.provider) == {"paperspace", "shadeform", "primeintellect"}
    assert set(assumed.accelerator) <= {"A100-40GB", "A100-80GB", "H100-80GB"}
    assert assumed.note.str.contains("form factor not stated by the seller").all()
    # hyperscalers document their sizes: nothing assumed there
    hyperscalers = embedded[embedded.provider.isin(["aws", "gcp", "azure"])]
    assert not hyperscalers["flags"].fillna("").str.contains("variant_assumed").any()


def test_every_embedded_instance_type_maps_to_an_accelerator_with_peaks(embedded: pd.DataFrame) -> None:
    peaks = load_peaks()
    missing = embedded[~embedded.accelerator.isin(list(peaks))]
    assert missing.empty, missing[["provider", "instance_type", "accelerator"]].drop_duplicates()
    for name in set(embedded.accelerator):
        peak = peaks[name]
        assert peak.tflops, name  # at least one dense peak
        assert peak.source and peak.memory_bytes == BY_NAME[name].memory_gib * 2.0**30, name


def test_embedded_sources_say_which_providers_are_embedded_only() -> None:
    sources = {s.provider: s for s in embedded_sources()}
    assert list(sources) == list(PROVIDERS)
    assert sources["lambda"].embedded_only and sources["lambda"].refresh_note.startswith("embedded only: ")
    assert "API key" in sources["lambda"].refresh_note
    assert not sources["oci"].embedded_only
    assert sources["oci"].refresh_note.startswith("`tco prices pull -p oci` refreshes them (OCI price list")
    assert sources["shadeform"].reseller and sources["shadeform"].kind == "marketplace"
    assert sources["lambda"].availability_note and sources["nebius"].availability_note is None
    assert "H100-NVL" in sources["azure"].accelerators and sources["nebius"].as_of == "2025-01-01"
    assert [s.provider for s in embedded_sources(("oci", "aws"))] == ["oci", "aws"]
