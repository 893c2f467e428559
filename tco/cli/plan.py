"""`tco plan SCENARIO.toml`: a team's budget plan, month by month, and the cheapest option (issue #6)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tco.cli.state import FORMAT_OPTION, OUTPUT_OPTION, Format, check_writable, output_target, state
from tco.errors import TcoError

if TYPE_CHECKING:
    from tco.plan.budget import PlanResult

HELP = (
    "Turn a scenario file (workloads, horizon, growth, options) into a month-by-month budget per workload "
    "and the cheapest (provider, region) plan meeting its constraints. --format xlsx writes a workbook with "
    "live formulas; --plot FILE.png draws the budget."
)


def compute(ctx: typer.Context, scenario_path: Path, keep: int) -> PlanResult:
    from calibrate.peaks import load_peaks
    from pricing.catalog import load_catalog
    from tco.calibrations import load_calibrations
    from tco.cli.prices import price_store
    from tco.plan.budget import build_plan
    from tco.plan.scenario import load_scenario

    scenario = load_scenario(scenario_path, accelerators=set(load_peaks()))
    catalog = load_catalog(price_store(ctx), scenario.options.providers)
    labels = {p: info.label for p, info in catalog.snapshots.items()}
    return build_plan(
        scenario,
        catalog.offers,
        price_labels=labels,
        calibrations=load_calibrations(state(ctx).home_dir),
        keep_options=keep,
    )


def plan(
    ctx: typer.Context,
    scenario: Path = typer.Argument(..., help="Scenario file (TOML); see examples/.", show_default=False),
    top: int = typer.Option(10, "--top", min=1, max=50, help="Options kept in the ranking and the workbook."),
    plot: Path | None = typer.Option(
        None, "--plot", help="Also draw the budget to FILE.png.", show_default=False
    ),
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    from tco.cli.render import emit, emit_bytes, note, warn

    target = output_target(ctx, fmt, output)
    if target.fmt is Format.xlsx and target.path is None:
        raise TcoError("--format xlsx writes a workbook: add --output FILE.xlsx")
    if plot is not None:
        check_writable(plot)
    result = compute(ctx, scenario, top)
    for line in result.notes:
        warn(line)
    if target.fmt is Format.xlsx:
        from tco.export.xlsx import plan_workbook

        emit_bytes(
            target, plan_workbook(result), f"the plan workbook ({result.scenario.horizon_months} months)"
        )
    else:
        emit(target, result.budget, lambda: _tables(result))
    if plot is not None:
        from tco.plot import plan_figure

        plan_figure(
            result.budget, result.options, plot, title=result.scenario.name, best=str(result.best["option"])
        )
        note(f"wrote {plot}")
    best = result.best
    note(
        f"cheapest: {best['option']}, ${best['total_usd']:,.2f} over {result.scenario.horizon_months} months "
        f"(compute ${best['compute_usd']:,.2f}); prices: "
        + "; ".join(sorted(set(result.choices.loc[result.choices["rank"] == 1, "price_source"]))[:3])
    )


def _tables(result: PlanResult) -> Any:
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
