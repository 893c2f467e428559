"""Rendering ``tco plan``: the ranking and the month-by-month budget, and the one-line verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Group

    from tco.plan.budget import PlanResult


def plan_tables(result: PlanResult) -> Group:
    from rich.console import Group

    from tco.cli.render import number, table

    s = result.scenario
    ranking = table(
        f"{s.name}: options ranked by total over {s.horizon_months} months",
        [("#", "right"), ("Option", "left"), *[(w, "left") for w in s.workloads], ("Total $", "right")],
        (
            [
                str(r["rank"]),
                str(r["option"]),
                *[str(r[f"{w} choice"]) for w in s.workloads],
                number(r["total_usd"]),
            ]
            for r in result.options.to_dict("records")
        ),
    )
    items = [c for c in result.budget.columns if c != "month"]
    budget = table(
        f"Month-by-month budget, cheapest option ({result.best['option']}), USD",
        [("Month", "right"), *[(c.removesuffix("_usd").replace("total", "Total"), "right") for c in items]],
        ([str(r["month"]), *[number(r[c], 0) for c in items]] for r in result.budget.to_dict("records")),
        caption=f"total ${result.budget['total_usd'].sum():,.2f}",
    )
    return Group(ranking, budget)


def cheapest(result: PlanResult) -> str:
    """``cheapest: gcp europe-west3, $1,013,570.20 over 12 months (compute ...); prices: ...``."""
    best = result.best
    sources = sorted(set(result.choices.loc[result.choices["rank"] == 1, "price_source"]))[:3]
    return (
        f"cheapest: {best['option']}, ${best['total_usd']:,.2f} over {result.scenario.horizon_months} months "
        f"(compute ${best['compute_usd']:,.2f}); prices: " + "; ".join(sources)
    )
