"""`tco plan` and `tco estimate` are one model: the same workload, price and count give the same
accelerator-hours and cost (training and serving; usage, committed and owned capacity)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from calibrate.peaks import load_peaks
from pricing.catalog import load_catalog
from tco.model.assumptions import TrainingAssumptions
from tco.model.offers import purchase_options
from tco.model.training import project_training
from tco.plan.budget import PlanResult
from tco.plan.scenario import load_scenario
from tco.presets import hardware_table, load_mfu_defaults
from tests.tco.helpers import plan_result

SCENARIO = """
[scenario]
name = "one run"
horizon_months = 1
growth_per_month = 0.0

[[training]]
name = "7B"
parameters = 7e9
tokens = 2e11
accelerators = ["H100-80GB"]
accelerator_count = 64
runs_per_month = 2
framework = "torch"
interruptible = false

[options]
providers = ["aws"]
pricing_models = ["on_demand"]
"""


def test_plan_and_estimate_agree_on_acc_hours_and_cost(cli, tmp_path: Path) -> None:
    path = tmp_path / "one.toml"
    path.write_text(SCENARIO)
    plan = plan_result(load_scenario(path, accelerators=set(load_peaks())), load_catalog().offers)
    pick = plan.choices.iloc[0]
    result = cli(
        "estimate", "train", "--params", "7e9", "--tokens", "2e11", "-a", "H100-80GB", "-n", "64",
        "--provider", "aws", "--region", str(pick["region"]), "--pricing-model", "on_demand",
        "--framework", "torch", "--runs-per-month", "2", "--all-instances", "--all-regions",
        "--top", "0", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = [r for r in result.json() if r["instance_type"] == pick["instance_type"]]
    assert len(rows) == 1
    row = rows[0]
    assert pick["acc_hours_per_run"] == pytest.approx(row["accelerator_hours"], rel=1e-12)
    assert pick["price_usd_per_accelerator_hour"] == pytest.approx(
        row["price_usd_per_accelerator_hour"], rel=1e-12
    )
    month = float(plan.budget["7B_usd"].iloc[0])
    assert month == pytest.approx(row["cost_usd_per_month"], rel=1e-12)
    assert month == pytest.approx(2 * row["cost_usd_per_run"], rel=1e-12)
    # the assumptions the workbook carries are the estimate's: MFU, scaling efficiency and goodput
    a = plan.assumptions.set_index("key")["value"]
    mfu = [k for k in a.index if k.startswith("t1.mfu.H100-80GB.")]
    assert a[mfu[0]] == pytest.approx(row["mfu"])
    assert a["goodput"] == pytest.approx(row["goodput"])
    scaling = [k for k in a.index if k.startswith("t1.scaling.")]
    assert a[scaling[0]] == pytest.approx(row["scaling_efficiency"])


# Held capacity: commitments and owned servers are paid for the clusters held (max(1, ceil(hours/730)) per
# month), whether used or not; runs grow 50% a month so that the number of clusters held changes.
HELD = """
[scenario]
name = "held capacity"
horizon_months = 3
growth_per_month = 0.5

[[training]]
name = "7B"
parameters = 7e9
tokens = 2e11
accelerators = ["H100-80GB"]
accelerator_count = 64
runs_per_month = 6
framework = "torch"
interruptible = false

[options]
providers = ["aws"]
{options}
"""
RUNS = (6.0, 9.0, 13.5)


def committed_offers() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The catalog plus a synthetic committed_1y offer at 60% of one on-demand p5.48xlarge list price."""
    offers = load_catalog().offers
    base = offers[
        offers["provider"].eq("aws")
        & offers["instance_type"].eq("p5.48xlarge")
        & offers["pricing_model"].eq("on_demand")
    ].head(1)
    assert len(base) == 1
    committed = base.assign(
        pricing_model="committed_1y",
        price_usd_per_hour=base["price_usd_per_hour"] * 0.6,
        price_usd_per_accelerator_hour=base["price_usd_per_accelerator_hour"] * 0.6,
    )
    return pd.concat([offers, committed], ignore_index=True), committed


def held_plan(tmp_path: Path, options: str, offers: pd.DataFrame) -> PlanResult:
    path = tmp_path / "held.toml"
    path.write_text(HELD.format(options=options))
    return plan_result(load_scenario(path, accelerators=set(load_peaks())), offers)


def committed_plan(tmp_path: Path) -> tuple[PlanResult, pd.DataFrame]:
    offers, committed = committed_offers()
    region = str(committed["region"].iloc[0])
    plan = held_plan(tmp_path, f'regions = ["{region}"]\npricing_models = ["committed_1y"]', offers)
    return plan, committed


def owned_plan(tmp_path: Path) -> PlanResult:
    options = 'pricing_models = ["on_demand"]\nowned = true\n\n[ownership.H100-80GB]\n'
    return held_plan(tmp_path, options, load_catalog().offers)


def test_committed_plan_pays_held_clusters_as_estimate(tmp_path: Path) -> None:
    plan, committed = committed_plan(tmp_path)
    pick = plan.choices.iloc[0]
    assert pick["pricing_model"] == "committed_1y"
    # the estimate's library path (as `tco estimate train`) on the same offer, one row per month's run count
    workload = pd.DataFrame(
        [{"workload": "7B", "kind": "tokens", "params": 7e9, "tokens": 2e11, "dtype": "bf16",
          "workload_source": "test"}]
    )  # fmt: skip
    rows = project_training(
        workload,
        purchase_options(committed),
        hardware_table(["H100-80GB"]),
        counts=[64],
        frameworks=["torch"],
        mfu_defaults=load_mfu_defaults(),
        runs_per_month=list(RUNS),
        assumptions=TrainingAssumptions(),
    ).set_index("runs_per_month")
    rows = rows.loc[list(RUNS)]
    assert len(set(rows["clusters_held"])) > 1, "the case must change the clusters held"
    months = plan.acc_hours[plan.acc_hours["option"] == pick["option"]].sort_values("month")
    expected_hours = (rows["accelerator_hours"] * rows.index).to_numpy()
    assert months["acc_hours"].to_numpy() == pytest.approx(expected_hours, rel=1e-12)
    cost = plan.budget["7B_usd"].to_numpy()
    assert cost == pytest.approx(rows["cost_usd_per_month"].to_numpy(), rel=1e-12)
    # held, not used: a month's cost is whole clusters at the committed price for every hour of the month
    price = float(pick["price_usd_per_accelerator_hour"])
    assert cost == pytest.approx(rows["clusters_held"].to_numpy() * 64 * price * 8760 / 12, rel=1e-12)


def test_owned_plan_pays_held_servers_and_used_power_as_estimate(cli, tmp_path: Path) -> None:
    plan = owned_plan(tmp_path)
    pick = plan.choices.iloc[0]
    assert pick["pricing_model"] == "owned", "owned servers must be the cheapest for this demand"
    result = cli(
        "estimate", "train", "--params", "7e9", "--tokens", "2e11", "-a", "H100-80GB", "-n", "64",
        "--pricing-model", "owned", "--framework", "torch", "--runs-per-month", "6,9,13.5",
        "--top", "0", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = {r["runs_per_month"]: r for r in result.json() if r["instance_type"] == pick["instance_type"]}
    assert sorted(rows) == list(RUNS)
    assert len({rows[r]["clusters_held"] for r in RUNS}) > 1, "the case must change the servers held"
    months = plan.acc_hours[plan.acc_hours["option"] == pick["option"]].sort_values("month")
    expected_hours = [rows[r]["accelerator_hours"] * r for r in RUNS]
    assert months["acc_hours"].to_numpy() == pytest.approx(expected_hours, rel=1e-12)
    expected_cost = [rows[r]["cost_usd_per_month"] for r in RUNS]
    assert plan.budget["7B_usd"].to_numpy() == pytest.approx(expected_cost, rel=1e-12)


PRESETS = """
[scenario]
name = "presets"
horizon_months = 1

[[training]]
name = "moe"
model = "mixtral-8x7b"
tokens = 1e11
accelerators = ["H100-80GB"]
accelerator_count = 64
runs_per_month = 1
interruptible = false
recompute = "full"
global_batch_tokens = 8e6

[[serving]]
name = "chat"
model = "llama-2-70b"
requests_per_s = 10
output_tokens_per_request = 300
prompt_tokens_per_request = 1000
latency_ms_per_token = 50
ttft_s = 2
accelerators = ["H100-80GB"]

[options]
providers = ["aws"]
regions = ["us-east-1"]
pricing_models = ["on_demand"]
"""


def test_plan_projects_presets_recompute_and_serving_as_estimate(cli, tmp_path: Path) -> None:
    """A preset's shape, published batch and experts, a forced recomputation and a given batch reach the
    plan's training as they reach `tco estimate train`; its serving endpoint is sized on the same requests/s
    per replica (p99 targets, engine) and costs what `tco estimate serve` says."""
    path = tmp_path / "presets.toml"
    path.write_text(PRESETS)
    plan = plan_result(load_scenario(path, accelerators=set(load_peaks())), load_catalog().offers)
    picks = plan.choices.set_index("workload")
    common = ("-a", "H100-80GB", "-p", "aws", "-r", "us-east-1", "--pricing-model", "on_demand",
              "--all-instances", "--top", "0", "-f", "json")  # fmt: skip
    train = cli(
        "estimate", "train", "--model", "mixtral-8x7b", "--tokens", "1e11", "-n", "64", "--recompute", "full",
        "--global-batch-tokens", "8e6", "--framework", "torch", *common,
    )  # fmt: skip
    assert train.exit_code == 0, train.stderr
    moe = picks.loc["moe"]
    (row,) = [r for r in train.json() if r["instance_type"] == moe["instance_type"]]
    assert row["recompute"] == "full" and row["ep"] >= 1 and row["global_batch_tokens_used"] == 8e6
    assert moe["acc_hours_per_run"] == pytest.approx(row["accelerator_hours"], rel=1e-12)
    assert float(plan.budget["moe_usd"].iloc[0]) == pytest.approx(row["cost_usd_per_month"], rel=1e-12)
    serve = cli(
        "estimate", "serve", "--model", "llama-2-70b", "--requests-per-s", "10", "--output-tokens", "300",
        "--prompt-tokens", "1000", "--tpot-s", "0.05", "--ttft-s", "2", *common,
    )  # fmt: skip
    assert serve.exit_code == 0, serve.stderr
    chat = picks.loc["chat"]
    size = chat["accelerator_count"]
    (served,) = [
        r for r in serve.json()
        if r["instance_type"] == chat["instance_type"] and r["accelerators_per_replica"] == size
    ]  # fmt: skip
    assert chat["requests_per_s_per_replica"] == pytest.approx(
        served["requests_per_s_per_replica"], rel=1e-12
    )
    assert float(plan.budget["chat_usd"].iloc[0]) == pytest.approx(served["cost_usd_per_month"], rel=1e-12)
