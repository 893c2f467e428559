"""Procurement ranking and framework comparison."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pricing.catalog import OfferFilter, filter_offers, load_catalog
from tco.frameworks import compare_frameworks
from tco.presets import owned_server
from tco.procurement import cloud_offers, compare_procurement
from tests.tco.helpers import plan_result


def test_owned_breakeven_matches_hand_computation() -> None:
    """H100 defaults through the one ownership model (tco.model.ownership), by hand:
    capex $40,625/acc + 12.5% network = $45,703.125, 4 years straight line; IT 0.775 kW (700 W TDP + 75 W
    host share) x PUE 1.2 x $0.10/kWh = $0.093/h, idle draw 20%; colo 1.275 kW x $200 x 12; maintenance
    10% of capex; staff $1,250/acc-yr. One 8-GPU server busy 70% of the time."""
    server = owned_server("H100-80GB")
    cloud = pd.DataFrame(
        {
            "provider": ["x"],
            "region": ["r"],
            "pricing_model": ["on_demand"],
            "instance_type": ["i"],
            "accelerators_per_instance": [8.0],
            "price_usd_per_accelerator_hour": [4.0],
            "source": ["test"],
            "assumed": [False],
        }
    )
    result = compare_procurement(cloud, 8 * 730 * 0.7, server)
    assert result.servers == 1
    assert result.fleet_utilisation == pytest.approx(0.7)
    capex = 40625 * 1.125
    energy = 0.775 * 1.2 * 0.10 * 8760 * (0.2 + 0.8 * 0.7)
    colo, maintenance, staff = 1.275 * 200 * 12, 0.10 * capex, 1250.0
    year = capex / 4 + energy + colo + maintenance + staff  # $20,925.25 per accelerator-year
    assert year == pytest.approx(20925.25055)
    owned = result.ranking[result.ranking["kind"] == "owned"].iloc[0]
    assert owned["cost_usd_per_month"] == pytest.approx(8 * year / 12)
    assert owned["effective_usd_per_accelerator_hour"] == pytest.approx(year / (8760 * 0.7))
    fixed = capex / 4 + 0.775 * 1.2 * 0.10 * 8760 * 0.2 + colo + maintenance + staff
    variable = 0.775 * 1.2 * 0.10 * 0.8
    assert owned["breakeven_utilisation"] == pytest.approx(fixed / (8760 * (4.0 - variable)))
    opex_month = (energy + colo + maintenance + staff) / 12
    assert owned["breakeven_month"] == pytest.approx(capex / (4.0 * 730 * 0.7 - opex_month))
    cash = result.cashflow[result.cashflow["option"] == owned["option"]].set_index("year")["cash_usd"]
    assert cash[1] == pytest.approx(8 * (capex + energy + colo + maintenance + staff))
    assert cash[2] == pytest.approx(8 * (energy + colo + maintenance + staff))
    assert cash[5] == pytest.approx(cash[1])  # replaced after its 4-year life
    assert set(result.cashflow["year"]) == {1, 2, 3, 4, 5}
    assert list(result.tornado.columns[:3]) == ["input", "low", "high"]
    assert result.tornado["swing_usd"].is_monotonic_decreasing
    assert {"capex_usd_per_accelerator", "utilisation", "cloud_price"} <= set(result.tornado["input"])
    assert "three years" in result.recommendation


def test_ownership_overrides_are_named_and_checked() -> None:
    from tco.errors import TcoError

    server = owned_server("H100-80GB", {"pue": 1.4, "accelerators_per_server": 4})
    assert server.params.pue.value == 1.4 and server.params.pue.source == "override"
    assert server.accelerators_per_server == 4
    with pytest.raises(TcoError, match="did you mean pue"):
        owned_server("H100-80GB", {"pues": 1.4})
    with pytest.raises(TcoError, match="capex"):
        owned_server("L4")


def test_commitments_absent_are_said_not_invented() -> None:
    offers = filter_offers(load_catalog().offers, OfferFilter(accelerators=("H100-80GB",)))
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
    assert bad.exit_code == 2 and "pue" in bad.stderr


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
        price_usd_per_accelerator_hour=4.0,
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


def test_procurement_demand_from_a_scenario(cli) -> None:
    from pathlib import Path

    from calibrate.peaks import load_peaks
    from tco.plan.scenario import load_scenario
    from tco.procurement import demand_from_plan

    path = Path(__file__).resolve().parents[2] / "examples" / "llm_team.toml"
    plan = plan_result(load_scenario(path, accelerators=set(load_peaks())), load_catalog().offers)
    demand = demand_from_plan(plan, "H100-80GB")
    hours = plan.acc_hours[(plan.acc_hours["option"] == plan.best["option"])]
    assert demand == pytest.approx(hours.loc[hours["accelerator"] == "H100-80GB", "acc_hours"].sum() / 12)
    result = cli("compare", "procurement", "--scenario", str(path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert f"{demand:,.0f} H100-80GB acc-h/month" in result.stderr
    owned = next(r for r in result.json() if r["kind"] == "owned")
    assert owned["effective_usd_per_accelerator_hour"] * demand == pytest.approx(owned["cost_usd_per_month"])
    both = cli("compare", "procurement", "--scenario", str(path), "--acc-hours", "10")
    assert both.exit_code == 1 and "one of them" in both.stderr
