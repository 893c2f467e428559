"""`tco plan SCENARIO.toml`: a team's budget plan, month by month, and the cheapest option."""

from __future__ import annotations

from pathlib import Path

import typer

from tco.cli.state import FORMAT_OPTION, OUTPUT_OPTION, Format, output_target, sources

HELP = (
    "Turn a scenario file (workloads, horizon, growth, options) into a month-by-month budget per workload "
    "and the cheapest (provider, region) plan meeting its constraints. --format xlsx writes a workbook with "
    "live formulas; --plot FILE.png draws the budget."
)
SCENARIO = typer.Argument(..., help="Scenario file (TOML); see examples/.", show_default=False)
TOP = typer.Option(10, "--top", min=1, max=50, help="Options kept in the ranking and the workbook.")
PLOT = typer.Option(None, "--plot", help="Also draw the budget to FILE.png.", show_default=False)
BUDGET = typer.Option(
    None, "--budget-usd", help="A budget ($, e.g. 100k; replaces the scenario's budget_usd): the months and "
    "options over it are marked.", show_default=False,
)  # fmt: skip
BUDGET_PER = typer.Option(
    None, "--budget-per", help="month (the budget is per month; default) or horizon (for the whole plan).",
    show_default=False,
)  # fmt: skip


app = typer.Typer(add_completion=False)


@app.command("plan", help=HELP)
def plan(
    ctx: typer.Context,
    scenario: Path = SCENARIO,
    top: int = TOP,
    plot: Path | None = PLOT,
    budget_usd: str | None = BUDGET,
    budget_per: str | None = BUDGET_PER,
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    from tco.api import PlanRequest
    from tco.api import inputs as read
    from tco.api import plan as make_plan
    from tco.cli.output import check_plot
    from tco.cli.render import emit, emit_bytes, note, report_warnings, warn
    from tco.cli.views.plan import budget_verdict, cheapest, plan_tables

    target = output_target(ctx, fmt, output)
    if plot is not None:
        check_plot(plot)
    per = budget_per.strip().lower() if budget_per is not None else None
    request = PlanRequest(
        scenario, top=top, budget_usd=read.quantity(budget_usd, "--budget-usd"), budget_per=per
    )
    outcome = make_plan(request, sources(ctx))
    result = outcome.result
    for line in result.notes:
        warn(line)
    if target.fmt is Format.xlsx:
        from tco.export.xlsx import plan_workbook

        emit_bytes(
            target, plan_workbook(result), f"the plan workbook ({result.scenario.horizon_months} months)"
        )
    else:
        emit(target, result.budget, lambda: plan_tables(result))
    if plot is not None:
        from tco.plot import plan_figure

        plan_figure(
            result.budget, result.options, plot, title=result.scenario.name, best=str(result.best["option"])
        )
    note(cheapest(result))
    if "over_budget" in result.budget:
        note(budget_verdict(result))
    report_warnings(outcome.provenance)
