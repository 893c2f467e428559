"""Budgets (issue #14): `--budget-usd` on `tco estimate train|serve` and `tco plan` (and the scenario's
`budget_usd`): options over budget are marked and kept, training rows say what the budget buys, a plan shows
the months over budget per month and cumulative, and the workbooks compute the comparison with live
formulas over the budget input."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest

from tco.errors import TcoError
from tco.model.budget import options_over_budget, plan_budget, serving_budget, training_budget
from tests.tco.test_estimate_xlsx import edit, sheet
from tests.tco.test_xlsx import libreoffice, recalculate

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ("estimate", "train", "--params", "7e9", "--tokens", "2e11", "-a", "h100", "-n", "8,64",
         "--provider", "aws,lambda", "--top", "0")  # fmt: skip


def rows(**columns: Any) -> pd.DataFrame:
    base = {
        "cost_usd_per_run": [100.0, 300.0, math.nan],
        "cost_usd_per_month": [200.0, 600.0, math.nan],
        "runs_per_month": [2.0, 2.0, 2.0],
        "train_flops": [6e20, 6e20, 6e20],
        "global_batch_tokens_used": [4e6, 2e6, 4e6],
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_training_budget_marks_rows_over_it_and_says_what_it_buys() -> None:
    out = training_budget(rows(), 200.0, tokens=1e10)
    assert list(out["budget_used"][:2]) == [0.5, 1.5]
    assert out["over_budget"].tolist()[:2] == [False, True] and pd.isna(out["over_budget"][2])
    assert out["tokens_within_budget"].tolist()[:2] == pytest.approx([2e10, 1e10 * 200 / 300])
    assert out["steps_within_budget"].tolist()[:2] == pytest.approx([2e10 / 4e6, 1e10 * 200 / 300 / 2e6])
    assert out["flops_within_budget"][0] == pytest.approx(1.2e21)
    assert np.isnan(out["samples_within_budget"]).all() and np.isnan(out["tokens_within_budget"][2])
    assert len(out) == 3  # nothing is dropped
    month = training_budget(rows(), 400.0, per="month", tokens=1e10)  # two runs a month
    assert month["over_budget"].tolist()[:2] == [False, True]
    assert month["tokens_within_budget"][0] == pytest.approx(2 * 1e10 * 400 / 200)
    samples = training_budget(rows(), 200.0, samples=5e6)
    assert samples["samples_within_budget"][0] == pytest.approx(1e7) and np.isnan(
        samples["steps_within_budget"][0]
    )
    for bad in ({"budget_usd": 0.0}, {"budget_usd": math.inf}, {"budget_usd": 5.0, "per": "week"}):
        budget = float(bad.pop("budget_usd"))  # type: ignore[arg-type]
        with pytest.raises(TcoError):
            training_budget(rows(), budget, **bad)  # type: ignore[arg-type]


def test_serving_budget_is_per_month() -> None:
    out = serving_budget(rows(), 300.0)
    assert out["over_budget"].tolist()[:2] == [False, True] and out["budget_per"][0] == "month"


def test_plan_budget_per_month_and_for_the_horizon() -> None:
    months = pd.DataFrame({"month": [1, 2, 3], "total_usd": [80.0, 110.0, 100.0]})
    monthly = plan_budget(months, 100.0)
    assert monthly["over_budget"].tolist() == [False, True, False]
    assert monthly["cumulative_usd"].tolist() == [80.0, 190.0, 290.0]
    assert monthly["cumulative_budget_usd"].tolist() == [100.0, 200.0, 300.0]
    assert monthly["over_budget_cumulative"].tolist() == [False, False, False]
    horizon = plan_budget(months, 270.0, per="horizon")
    assert horizon["budget_usd"].tolist() == [90.0, 90.0, 90.0]  # spread evenly
    assert horizon["over_budget"].tolist() == [False, True, True]
    assert horizon["over_budget_cumulative"].tolist() == [False, False, True]  # 290 > 270 in month 3
    spend = pd.DataFrame(
        {"option": ["a"] * 3 + ["b"] * 3, "month": [1, 2, 3] * 2, "total_usd": [80, 110, 100, 50, 60, 70.0]}
    )
    verdict = options_over_budget(spend, 100.0).set_index("option")
    assert verdict.loc["a", "months_over_budget"] == 1 and verdict.loc["a", "first_month_over_budget"] == 2
    assert not verdict.loc["a", "over_budget"] and verdict.loc["b", "months_over_budget"] == 0
    assert np.isnan(verdict.loc["b", "first_month_over_budget"])
    assert bool(options_over_budget(spend, 250.0, per="horizon").set_index("option").loc["a", "over_budget"])


def test_estimate_train_marks_options_over_budget_and_keeps_them(cli: Any) -> None:
    plain = cli(*TRAIN, "-f", "json").json()
    result = cli(*TRAIN, "--budget-usd", "100k", "-f", "json")
    budgeted = result.json()
    assert len(budgeted) == len(plain)  # marked, not dropped
    over = [r for r in budgeted if r["over_budget"]]
    under = [r for r in budgeted if r["over_budget"] is False]
    assert over and under and all(r["cost_usd_per_run"] > 100_000 for r in over)
    r = under[0]
    assert r["budget_usd"] == 100_000 and r["budget_per"] == "run" and r["tokens_per_run"] == 2e11
    assert r["tokens_within_budget"] == pytest.approx(2e11 * 100_000 / r["cost_usd_per_run"])
    assert r["steps_within_budget"] == pytest.approx(
        r["tokens_within_budget"] / r["global_batch_tokens_used"]
    )
    table = cli(*TRAIN, "--budget-usd", "100k")
    assert "Budget" in table.stdout and "Fits in budget" in table.stdout and "OVER " in table.stdout
    assert f"OVER marks the {len(over)} over budget (kept, not dropped)" in " ".join(table.stdout.split())
    explained = cli(*TRAIN, "--top", "1", "--budget-usd", "100k", "--explain", "-f", "json").json()
    assert "  budget: $100,000 per run: " in explained[0]["explain"] and "it buys" in explained[0]["explain"]
    month = cli(
        *TRAIN, "--budget-usd", "100k", "--budget-per", "month", "--runs-per-month", "3", "-f", "json"
    )
    assert {r["budget_per"] for r in month.json()} == {"month"}
    bad = cli(*TRAIN, "--budget-usd", "-5")
    assert bad.exit_code == 2 and "Invalid value for '--budget-usd': must be > 0" in bad.stderr
    assert cli(*TRAIN, "--budget-usd", "lots").exit_code == 2
    assert (
        "'--budget-per': unknown value 'year' (one of run, month)"
        in cli(*TRAIN, "--budget-usd", "1k", "--budget-per", "year").stderr
    )


def test_estimate_serve_budget_per_month(cli: Any) -> None:
    args = ("estimate", "serve", "--model", "llama-2-7b", "-a", "h100", "--provider", "aws", "--top", "0")
    rows = cli(*args, "--budget-usd", "15000", "-f", "json").json()
    assert {r["over_budget"] for r in rows} == {True, False}
    assert all(r["over_budget"] == (r["cost_usd_per_month"] > 15000) for r in rows)
    assert "Budget" in cli(*args, "--budget-usd", "15000").stdout


def scenario(tmp_path: Path, budget: str = "") -> Path:
    text = (ROOT / "examples" / "llm_team.toml").read_text()
    text = text.replace('start = "2026-01"', 'start = "2026-01"\n' + budget)
    path = tmp_path / "team.toml"
    path.write_text(text)
    return path


def test_plan_shows_months_and_options_over_budget(cli: Any, tmp_path: Path) -> None:
    path = scenario(tmp_path, "budget_usd = 80000")
    result = cli("plan", str(path), "-f", "json")
    months = result.json()
    over = [m["month"] for m in months if m["over_budget"]]
    assert over and all(m["total_usd"] > 80000 for m in months if m["over_budget"])
    assert all(m["total_usd"] <= 80000 for m in months if not m["over_budget"])
    assert months[-1]["cumulative_usd"] == pytest.approx(sum(m["total_usd"] for m in months))
    assert months[2]["cumulative_budget_usd"] == 240000
    assert f"{len(over)} of 12 months over the month's budget (first M{over[0]})" in result.stderr
    table = cli("plan", str(path), "--budget-usd", "70k")  # the option replaces the scenario's budget
    assert "Months over budget" in table.stdout and "OVER: month" in table.stdout
    assert "budget $70,000 per month" in " ".join(table.stdout.split())
    horizon = cli("plan", str(path), "--budget-usd", "900k", "--budget-per", "horizon", "-f", "json").json()
    assert {m["cumulative_budget_usd"] for m in horizon} == {900_000}
    assert horizon[-1]["over_budget_cumulative"] is True and horizon[0]["over_budget_cumulative"] is False
    bad = scenario(tmp_path, 'budget_usd = 1000\nbudget_per = "week"')
    wrong = cli("plan", str(bad))
    assert wrong.exit_code == 1 and "scenario.budget_per: expected one of month, horizon" in wrong.stderr
    assert cli("plan", str(path), "--budget-per", "year").exit_code == 2


@libreoffice
def test_workbooks_compute_the_budget_comparison_live(cli: Any, tmp_path: Path) -> None:
    train = tmp_path / "train.xlsx"
    want = {
        (r["provider"], r["region"], r["instance_type"], r["pricing_model"], r["accelerator_count"]): r
        for r in cli(*TRAIN, "--budget-usd", "100k", "-f", "json").json()
    }
    assert cli(*TRAIN, "--budget-usd", "100k", "-f", "xlsx", "-o", str(train)).exit_code == 0
    edited = tmp_path / "train_edited.xlsx"
    edit(train, edited, {"budget_usd": 1e9})
    plan = tmp_path / "plan.xlsx"
    assert (
        cli("plan", str(scenario(tmp_path, "budget_usd = 80000")), "-f", "xlsx", "-o", str(plan)).exit_code
        == 0
    )
    serve = tmp_path / "serve.xlsx"
    serve_args = ("estimate", "serve", "--model", "llama-2-7b", "-a", "h100", "--provider", "aws",
                  "--top", "0", "--budget-usd", "15000")  # fmt: skip
    serve_want = {
        (r["instance_type"], r["region"], r["pricing_model"], r["accelerators_per_replica"]): r
        for r in cli(*serve_args, "-f", "json").json()
    }
    assert cli(*serve_args, "-f", "xlsx", "-o", str(serve)).exit_code == 0
    done, edited_done, plan_done, serve_done = recalculate([train, edited, plan, serve], tmp_path / "out")
    served = sheet(serve_done, "Serving")
    assert len(served) == len(serve_want)
    for row in served:
        key = (row["Instance"], row["Region"], row["Pricing"], row["Per replica"])
        assert row["Over budget"] == serve_want[key]["over_budget"]
    got = sheet(done, "Training")
    assert len(got) == len(want)
    for row in got:
        w = want[(row["Provider"], row["Region"], row["Instance"], row["Pricing"], row["Accelerators"])]
        assert row["Over budget"] == w["over_budget"]
        assert row["Budget used"] == pytest.approx(w["budget_used"], rel=1e-9)
        assert row["Tokens within budget"] == pytest.approx(w["tokens_within_budget"], rel=1e-9)
    assert not any(row["Over budget"] for row in sheet(edited_done, "Training"))  # a larger budget: none over
    ws = openpyxl.load_workbook(plan_done, data_only=True)["Budget"]
    header = [c.value for c in ws[1]]
    months = [
        dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, max_row=13, values_only=True)
    ]
    json_months = cli("plan", str(scenario(tmp_path, "budget_usd = 80000")), "-f", "json").json()
    assert [m["Over budget (month)"] for m in months] == [m["over_budget"] for m in json_months]
    assert [m["Cumulative ($)"] for m in months] == pytest.approx([m["cumulative_usd"] for m in json_months])
