"""Rendering ``tco plan``: the ranking and the month-by-month budget, and the one-line verdict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Group

    from tco.plan.budget import PlanResult


#: Workloads the tables show one column each; beyond, the budget sums them by kind and the ranking leaves
#: each workload's choice to the workbook (CSV and JSON keep a column per workload).
TABLE_WORKLOADS: Final = 12


def plan_tables(result: PlanResult) -> Group:
    from rich.console import Group

    from tco.cli.render import number, table

    s = result.scenario
    budgeted = "over_budget" in result.budget
    shown = s.workloads if len(s.workloads) <= TABLE_WORKLOADS else ()
    ranking = table(
        f"{s.name}: options ranked by total over {s.horizon_months} months",
        [
            ("#", "right"), ("Option", "left"), *[(w, "left") for w in shown], ("Total $", "right"),
            *([("Months over budget", "right")] if budgeted else []),
        ],
        (
            [
                str(r["rank"]), str(r["option"]), *[str(r[f"{w} choice"]) for w in shown],
                number(r["total_usd"]), *([months_over(r)] if budgeted else []),
            ]
            for r in result.options.to_dict("records")
        ),
        caption=None if shown else f"{len(s.workloads):,} workloads: each one's choice in --format xlsx",
    )  # fmt: skip
    budget = _by_kind(result) if not shown else result.budget
    items = [c for c in budget.columns if c != "month" and c not in BUDGET_FLAGS]
    caption = f"total ${result.budget['total_usd'].sum():,.2f}" + (budget_caption(result) if budgeted else "")
    if not shown:
        caption += "; each workload's column: --format csv, json or xlsx"
    table_ = table(
        f"Month-by-month budget, cheapest option ({result.best['option']}), USD",
        [
            ("Month", "right"),
            *[(_heading(c), "right") for c in items],
            *([("Over", "left")] if budgeted else []),
        ],
        (
            [str(r["month"]), *[number(r[c], 0) for c in items], *([over_cell(r)] if budgeted else [])]
            for r in budget.to_dict("records")
        ),
        caption=caption,
    )
    return Group(ranking, table_)


def _by_kind(result: PlanResult) -> pd.DataFrame:
    """The budget with the workloads' columns summed into ``training_usd`` and ``serving_usd``."""
    s = result.scenario
    budget = result.budget
    kinds = {
        "training_usd": [f"{t.name}_usd" for t in s.training],
        "serving_usd": [f"{v.name}_usd" for v in s.serving],
    }
    summed = {kind: budget[columns].sum(axis=1) for kind, columns in kinds.items() if columns}
    workload_columns = {c for columns in kinds.values() for c in columns}
    rest = [c for c in budget.columns if c not in workload_columns and c != "month"]
    return budget[["month"]].assign(**summed).join(budget[rest])


#: The plan budget's verdict columns (tco.model.budget.PLAN_BUDGET_COLUMNS), shown as one Over column.
BUDGET_FLAGS = ("budget_per", "over_budget", "over_budget_cumulative")


def _heading(column: str) -> str:
    names = {"budget_usd": "Budget", "cumulative_usd": "Cumulative", "cumulative_budget_usd": "Cum. budget"}
    return names.get(column, column.removesuffix("_usd").replace("total", "Total"))


def over_cell(r: Mapping[Any, Any]) -> str:
    """``month``, ``cumulative`` or both, when the month's total or the spend so far is over budget."""
    marks = [
        label for label, column in (("month", "over_budget"), ("cumulative", "over_budget_cumulative"))
        if r.get(column) is True
    ]  # fmt: skip
    return "OVER: " + " + ".join(marks) if marks else ""


def months_over(r: Mapping[Any, Any]) -> str:
    count = int(r["months_over_budget"])
    if not count:
        return "0" + (" (total over)" if r.get("over_budget") is True else "")
    first = int(r["first_month_over_budget"])
    return f"{count} (from M{first})" + (", total over" if r.get("over_budget") is True else "")


def budget_caption(result: PlanResult) -> str:
    first = result.budget.iloc[0]
    per = str(first["budget_per"])
    what = (
        f"${float(first['budget_usd']):,.0f} per month"
        if per == "month"
        else f"${float(first['cumulative_budget_usd']):,.0f} for the horizon "
        f"(${float(first['budget_usd']):,.0f} a month spread evenly)"
    )
    return f"; budget {what}: OVER marks a month whose total, or a spend so far, exceeds it"


def budget_verdict(result: PlanResult) -> str:
    """``budget: 2 of 12 months over (from M11); over the horizon's budget from M12`` for the cheapest."""
    b = result.budget
    over = b.loc[b["over_budget"].fillna(False).astype(bool), "month"]
    cumulative = b.loc[b["over_budget_cumulative"].fillna(False).astype(bool), "month"]
    text = f"budget (cheapest option): {len(over)} of {len(b)} months over the month's budget"
    text += f" (first M{int(over.iloc[0])})" if len(over) else ""
    text += f"; spend so far over budget from M{int(cumulative.iloc[0])}" if len(cumulative) else ""
    return text


def cheapest(result: PlanResult) -> str:
    """``cheapest: gcp europe-west3, $1,013,570.20 over 12 months (compute ...); prices: ...``."""
    best = result.best
    sources = sorted(set(result.choices.loc[result.choices["rank"] == 1, "price_source"]))[:3]
    return (
        f"cheapest: {best['option']}, ${best['total_usd']:,.2f} over {result.scenario.horizon_months} months "
        f"(compute ${best['compute_usd']:,.2f}); prices: " + "; ".join(sources)
    )
