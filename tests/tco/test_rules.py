"""One test per named rule of the projections, each written so that it fails when the rule is removed (each
was checked by removing its rule: `python scripts/check_rule_tests.py`). Rules pinned elsewhere are listed
at the end of this docstring.

Here: serving headroom (estimate and plan), serving never on spot unless asked (estimate and plan), a plan's
minimum replicas, a plan's max_days, a plan's spot-interruption limit and spot time factor, whole instances
billed, the cheapest region per instance type unless --all-regions, and the stale-price warning in
`tco estimate` and `tco plan` (rendered on stderr, at TCO_PRICE_MAX_AGE_DAYS).

Elsewhere: the spot stretch limit of estimates (test_cli_estimate.py::
test_spot_plans_stalled_by_interruptions_are_infeasible), held commitments and owned servers (model/
test_purchase.py::test_commitment_is_paid_whether_used_or_not, test_plan_estimate.py, test_procurement_
estimate.py), flagged prices left out everywhere and one stale policy (api/test_offers.py), one --set
parser and one vocabulary (api/test_plan_and_compare.py), every formula's workbook twin (model/
test_formula.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tco.api import (
    OfferQuery,
    PlanRequest,
    Selection,
    ServingRequest,
    ServingWorkload,
    TrainingRequest,
    TrainingWorkload,
    estimate_serving,
    estimate_training,
    plan,
)
from tco.errors import TcoError
from tco.model.settings import Settings
from tests.tco.helpers import plan_result

SERVE = """
[scenario]
name = "rules"
horizon_months = 1

[[serving]]
name = "chat"
model = "llama-2-7b"
requests_per_s = {rate}
output_tokens_per_request = 200
latency_ms_per_token = 50
accelerators = ["H100-80GB"]
min_replicas = {min_replicas}
interruptible = {interruptible}

[options]
providers = ["aws"]
pricing_models = ["on_demand", "spot"]
"""
TRAIN = """
[scenario]
name = "rules"
horizon_months = 1

[[training]]
name = "run"
parameters = 7e9
tokens = {tokens}
accelerators = ["H100-80GB"]
accelerator_count = {count}
runs_per_month = 1
interruptible = true
{extra}

[options]
providers = ["aws"]
pricing_models = [{models}]
"""


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return path


def test_serving_headroom_sizes_replicas_above_the_request_rate() -> None:
    """replicas = ceil(rate x (1 + headroom) / per-replica rate): at exactly 5 replicas' worth of traffic the
    default 20% headroom holds 6, and --set headroom=0 holds 5."""
    workload = ServingWorkload(model="llama-2-7b", requests_per_s=1.0)
    query = OfferQuery(accelerators=("h100",), providers=("aws",), pricing_models=("on_demand",))
    first = estimate_serving(ServingRequest(workload, query, replica_sizes=(1,))).rows.iloc[0]
    rate = 5.0 * float(first["requests_per_s_per_replica"])
    busy = ServingWorkload(model="llama-2-7b", requests_per_s=rate)
    default = estimate_serving(ServingRequest(busy, query, replica_sizes=(1,))).rows.iloc[0]
    assert default["requests_per_s_per_replica"] == pytest.approx(first["requests_per_s_per_replica"])
    assert default["replicas"] == 6 and default["headroom"] == pytest.approx(0.2)
    none = ServingRequest(busy, query, replica_sizes=(1,), settings=Settings({"headroom": 0.0}))
    assert estimate_serving(none).rows.iloc[0]["replicas"] == 5


def _plan_fleet(tmp_path: Path, **values: Any) -> tuple[Any, Any]:
    text = SERVE.format(**{"rate": 40, "min_replicas": 1, "interruptible": "false", **values})
    result = plan_result(_file(tmp_path, text))
    pick = result.choices.iloc[0]
    hours = result.acc_hours[result.acc_hours["option"].eq(pick["option"])]
    held = float(hours["acc_hours"].iloc[0]) / 730.0
    return pick, held


def test_a_plan_sizes_serving_with_headroom_and_minimum_replicas(tmp_path: Path) -> None:
    """A plan holds MAX(min_replicas, ceil(rate x (1 + headroom) / requests/s per replica)) replicas: at 4.5
    replicas' worth of traffic the default 20% headroom holds 6 (5 would do without it)."""
    first, _ = _plan_fleet(tmp_path)
    rate = 4.5 * float(first["requests_per_s_per_replica"])
    pick, held = _plan_fleet(tmp_path, rate=rate)
    per_replica = float(pick["requests_per_s_per_replica"])
    assert per_replica == pytest.approx(float(first["requests_per_s_per_replica"]))
    replicas = math.ceil(rate * 1.2 / per_replica)
    assert replicas == 6 and math.ceil(rate / per_replica) == 5, "the case must need the headroom"
    per_instance = float(pick["accelerators_per_instance"])
    size = float(pick["accelerator_count"])
    assert held == pytest.approx(math.ceil(replicas / (per_instance // size)) * per_instance)
    _, floor_held = _plan_fleet(tmp_path, rate=rate, min_replicas=replicas + 40)
    assert floor_held == pytest.approx(math.ceil((replicas + 40) / (per_instance // size)) * per_instance)


def test_serving_lands_on_spot_only_when_asked(tmp_path: Path) -> None:
    pick, _ = _plan_fleet(tmp_path, interruptible="false")
    assert pick["pricing_model"] == "on_demand"
    cheap, _ = _plan_fleet(tmp_path, interruptible="true")
    assert cheap["pricing_model"] == "spot", "spot is cheaper: an interruptible endpoint takes it"
    estimate = estimate_serving(
        ServingRequest(
            ServingWorkload(model="llama-2-7b"),
            OfferQuery(accelerators=("h100",)),
            selection=Selection(top=0),
        )
    )
    assert not estimate.grid["interruptible"].any()


def test_a_plan_refuses_spot_runs_stretched_past_the_interruption_limit(tmp_path: Path) -> None:
    text = TRAIN.format(tokens=2e12, count=1024, extra="", models='"spot"')
    with pytest.raises(TcoError, match="spot interruptions stretch the run too much"):
        plan_result(_file(tmp_path, text))


def test_a_plan_pays_the_spot_time_factor(tmp_path: Path) -> None:
    """On spot a run takes longer (interruptions, restarts): the plan pays the stretched hours."""
    text = TRAIN.format(tokens=2e11, count=64, extra="", models='"spot"')
    result = plan_result(_file(tmp_path, text))
    pick = result.choices.iloc[0]
    assert pick["pricing_model"] == "spot"
    hours = result.acc_hours[result.acc_hours["option"].eq(pick["option"])]
    stretched = float(hours["acc_hours"].iloc[0])
    assert stretched > float(pick["acc_hours_per_run"]) * 1.05


def test_a_plan_keeps_runs_within_max_days(tmp_path: Path) -> None:
    text = TRAIN.format(tokens=2e12, count=8, extra="max_days = 7", models='"on_demand"')
    with pytest.raises(TcoError, match=r"> max_days 7"):
        plan_result(_file(tmp_path, text))


def test_whole_instances_are_billed() -> None:
    """Accelerators are paid in whole instances: 12 on 8-accelerator instances bill 16."""
    from tco.model.purchase import run_costs

    out = run_costs(
        np.array([10.0]), np.array([12.0]), np.array([8.0]), np.array([0.0]), np.array([2.0]),
        np.array([False]), np.array([1.0]), interruptions_per_instance_hour=0.0,
        checkpoint_interval_hours=1.0, restart_hours=0.0,
    )  # fmt: skip
    assert out["billed_accelerators"][0] == 16 and out["cost_usd_per_run"][0] == pytest.approx(16 * 2 * 10)


def test_estimates_show_the_cheapest_region_per_instance_unless_all_regions() -> None:
    workload = TrainingWorkload(params=7e9, tokens=2e11)
    base = {"accelerators": ("h100",), "providers": ("aws",), "pricing_models": ("on_demand",)}
    every = Selection(top=0, all_instances=True)
    cheapest = estimate_training(TrainingRequest(workload, OfferQuery(**base), counts=(8,), selection=every))
    regions = estimate_training(
        TrainingRequest(workload, OfferQuery(**base, all_regions=True), counts=(8,), selection=every)
    )
    per_instance = regions.rows.groupby("instance_type")["price_usd_per_accelerator_hour"].min()
    assert regions.rows["region"].nunique() > 1
    assert cheapest.rows.groupby(["instance_type", "framework"]).size().eq(1).all()
    shown = cheapest.rows.set_index("instance_type")["price_usd_per_accelerator_hour"]
    assert (shown == per_instance.loc[shown.index]).all()


@pytest.mark.parametrize(
    "command",
    [
        ("estimate", "train", "--model", "llama-2-7b", "-a", "h100", "-n", "64", "-p", "aws"),
        ("plan", "examples/vision_startup.toml"),
    ],
    ids=["estimate", "plan"],
)
def test_estimate_and_plan_warn_about_stale_prices_at_the_configured_age(
    cli: Any, command: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(__file__).resolve().parents[2]
    words = [str(root / w) if w.startswith("examples/") else w for w in command]
    monkeypatch.delenv("TCO_PRICE_MAX_AGE_DAYS", raising=False)
    stale = cli(*words)
    assert stale.exit_code == 0, stale.stderr
    assert "warning: prices older than 30 days (aws " in stale.stderr and "`tco prices pull`" in stale.stderr
    monkeypatch.setenv("TCO_PRICE_MAX_AGE_DAYS", "100000")
    fresh = cli(*words)
    assert fresh.exit_code == 0 and "prices older than" not in fresh.stderr
    assert plan(PlanRequest(root / "examples" / "vision_startup.toml", max_age_days=1.0)).provenance.warnings
