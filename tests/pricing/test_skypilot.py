"""The embedded snapshot: rebuilt from the source tables it must match byte for byte, and its quirks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pricing.catalog import embedded_meta, load_embedded

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = ROOT.parent / "shared" / "data" / "prices"


@pytest.fixture(scope="module")
def embedded() -> pd.DataFrame:
    return load_embedded()


def offer(frame: pd.DataFrame, instance_type: str, region: str, model: str) -> pd.Series:
    rows = frame[
        (frame.instance_type == instance_type) & (frame.region == region) & (frame.pricing_model == model)
    ]
    assert len(rows) == 1, rows
    return rows.iloc[0]


@pytest.mark.skipif(not SOURCE_DIR.is_dir(), reason="../shared/data/prices is not beside this checkout")
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
    assert set(meta["providers"]) == {"aws", "gcp", "azure"}
    for provider, info in meta["providers"].items():
        assert "skypilot-catalog" in info["source"] and info["as_of"]
        assert info["offers"] == int((embedded.provider == provider).sum())
    assert meta["offers"] == len(embedded)


def test_required_families_are_covered(embedded: pd.DataFrame) -> None:
    types = set(embedded.instance_type)
    for prefix in ("p3.", "p4d.", "p4de.", "p5.", "p5e.", "p5en.", "p6-b200", "a2-", "a3-", "a4-", "g2-"):
        assert any(t.startswith(prefix) for t in types), prefix
    assert {"TPU-v2", "TPU-v3", "TPU-v4", "TPU-v5e", "TPU-v5p", "TPU-v6e"} <= set(embedded.accelerator)
