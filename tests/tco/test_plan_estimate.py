"""`tco plan` and `tco estimate` are one model: the same workload, price and count give the same
accelerator-hours and cost (training and serving)."""

from __future__ import annotations

from pathlib import Path

import pytest

from calibrate.peaks import load_peaks
from pricing.catalog import load_catalog
from tco.plan.budget import build_plan
from tco.plan.scenario import load_scenario

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
framework = "pytorch"
interruptible = false

[options]
providers = ["aws"]
pricing_models = ["on_demand"]
"""


def test_plan_and_estimate_agree_on_acc_hours_and_cost(cli, tmp_path: Path) -> None:
    path = tmp_path / "one.toml"
    path.write_text(SCENARIO)
    plan = build_plan(load_scenario(path, accelerators=set(load_peaks())), load_catalog().offers)
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
    assert pick["usd_per_acc_hour"] == pytest.approx(row["price_usd_per_accelerator_hour"], rel=1e-12)
    month = float(plan.budget["7B_usd"].iloc[0])
    assert month == pytest.approx(row["cost_usd_per_month"], rel=1e-12)
    assert month == pytest.approx(2 * row["cost_usd_per_run"], rel=1e-12)
    # the assumptions the workbook carries are the estimate's: MFU, scaling efficiency and goodput
    a = plan.assumptions.set_index("key")["value"]
    assert a["t1.H100-80GB.mfu"] == pytest.approx(row["mfu"])
    assert a["goodput"] == pytest.approx(row["goodput"])
    scaling = [k for k in a.index if k.endswith("scaling_efficiency")]
    assert a[scaling[0]] == pytest.approx(row["scaling_efficiency"])
