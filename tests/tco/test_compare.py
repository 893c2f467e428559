"""Procurement ranking and framework comparison."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pricing.catalog import load_catalog
from tco.frameworks import compare_frameworks
from tco.ownership_defaults import default_for, owned_usd_per_year
from tco.procurement import cloud_offers, compare_procurement


def test_owned_breakeven_matches_hand_computation() -> None:
    own = default_for("H100-80GB")
    cloud = pd.DataFrame(
        {
            "provider": ["x"],
            "region": ["r"],
            "pricing_model": ["on_demand"],
            "instance_type": ["i"],
            "usd_per_acc_hour": [4.0],
            "source": ["test"],
            "assumed": [False],
        }
    )
    result = compare_procurement(cloud, 8 * 730 * 0.7, own)
    assert result.servers == 1
    year = owned_usd_per_year(own)
    # by hand: 81,250 capex/yr + 6,433.34 energy + 24,480 colo + 32,500 maint + 10,000 staff
    assert year == pytest.approx(325000 / 4 + 10.2 * 0.6 * 1.2 * 8760 * 0.1 + 10.2 * 200 * 12 + 32500 + 10000)
    owned = result.ranking[result.ranking["kind"] == "owned"].iloc[0]
    assert owned["breakeven_utilisation"] == pytest.approx(year / (8 * 8760 * 4.0))
    opex_month = (year - 325000 / 4) / 12
    assert owned["breakeven_month"] == pytest.approx(325000 / (8 * 730 * 0.7 * 4.0 - opex_month))
    assert set(result.cashflow["year"]) == {1, 2, 3, 4, 5}
    assert list(result.tornado.columns[:3]) == ["input", "low", "high"]
    assert result.tornado["swing_usd"].is_monotonic_decreasing
    assert "three years" in result.recommendation


def test_commitments_absent_are_said_not_invented() -> None:
    offers = load_catalog().offers
    cloud, notes = cloud_offers(offers, "H100-80GB")
    assert not cloud["pricing_model"].str.startswith(("reserved", "committed")).any()
    assert any("no reserved/committed" in n for n in notes)
    assumed, _ = cloud_offers(offers, "H100-80GB", assumed_discounts={"committed_1y": 0.3})
    rows = assumed[assumed["pricing_model"] == "committed_1y"]
    assert len(rows) and rows["assumed"].all() and rows["source"].str.startswith("ASSUMPTION").all()


def test_procurement_cli_ranks_and_recommends(cli, tmp_path) -> None:
    result = cli("compare", "procurement", "--acc-hours", "20000", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    kinds = {r["kind"] for r in rows}
    assert {"owned", "pay-per-use"} <= kinds
    costs = [r["cost_3y_usd"] for r in rows]
    assert costs == sorted(costs)
    assert "cheapest choice over three years" in result.stderr
    bad = cli("compare", "procurement", "--acc-hours", "100", "--set", "pue=-1")
    assert bad.exit_code == 1 and "pue" in bad.stderr


def test_frameworks_measured_and_missing() -> None:
    results = pd.DataFrame(
        {
            "framework": ["torch", "torch", "jax", "tensorflow"],
            "framework_version": ["2.13.0", "2.13.0", "0.4.30", "2.16"],
            "device_name": ["NVIDIA H100"] * 3 + ["NVIDIA A100"],
            "accelerator": ["H100-80GB", "H100-80GB", "H100-80GB", "A100-80GB"],
            "kernel": ["train_transformer"] * 4,
            "throughput": [1000.0, 1200.0, 900.0, 500.0],
            "throughput_unit": ["tokens_per_s"] * 4,
            "compile_s": [10.0, 11.0, 30.0, 5.0],
            "peak_memory_bytes": [2**34, 2**34, 2**33, 2**33],
            "utilisation": [0.4, 0.45, 0.35, 0.3],
        }
    )
    frame = compare_frameworks(
        results,
        accelerator="H100-80GB",
        kernel="train_transformer",
        work_per_run=3.6e6,
        runs_per_month=2,
        usd_per_acc_hour=4.0,
    ).set_index("framework")
    assert frame.loc["torch", "throughput"] == 1200.0
    assert frame.loc["torch", "cost_per_run_usd"] == pytest.approx(3.6e6 / 1200 / 3600 * 4.0)
    assert frame.loc["jax", "cost_per_month_usd"] == pytest.approx(2 * 3.6e6 / 900 / 3600 * 4.0)
    assert math.isnan(frame.loc["tensorflow", "throughput"])
    assert "no calibration of tensorflow" in frame.loc["tensorflow", "status"]
    assert "A100-80GB" in frame.loc["tensorflow", "status"]


def test_frameworks_cli_without_calibration_says_so(cli) -> None:
    result = cli("compare", "frameworks", "-a", "H100-80GB", "--work", "1e9", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("no calibration of") == 3
