"""`tco plan SCENARIO.toml`: a team's budget plan, month by month, and the cheapest option.

Nothing is written until everything is ready: the plan, its output and its figure are computed in memory,
then staged like every command's files and put in place together once the command succeeded, all or none
(:meth:`tco.export.base.StagedOutputs.commit`). Ctrl-C at any moment exits 130 with one line saying that
nothing was written; an existing file is left as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tco.cli import options
from tco.cli.state import (
    FORMAT_OPTION,
    OUTPUT_OPTION,
    Format,
    Target,
    check_writable,
    output_target,
    sources,
)
from tco.export.base import write_output

if TYPE_CHECKING:
    from tco.plan.budget import PlanResult

HELP = (
    "Turn a scenario file (workloads, horizon, growth, options) into a month-by-month budget per workload "
    "and the cheapest (provider, region) plan meeting its constraints. --format xlsx writes a workbook with "
    "live formulas; --plot FILE.png draws the budget."
)
SCENARIO = typer.Argument(..., help="Scenario file (TOML); see examples/.", show_default=False)
TOP = typer.Option(10, "--top", min=1, max=50, help="Options kept in the ranking and the workbook.")
PLOT = typer.Option(
    None, "--plot", help="Also draw the budget to FILE.png.", show_default=False, callback=options.plot
)
BUDGET = typer.Option(
    None, "--budget-usd", help="A budget ($, e.g. 100k; replaces the scenario's budget_usd): the months and "
    "options over it are marked.", show_default=False, callback=options.quantity,
)  # fmt: skip
BUDGET_PER = typer.Option(
    None, "--budget-per", help="month (the budget is per month; default) or horizon (for the whole plan).",
    show_default=False, callback=options.plan_budget_per,
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
    from tco.cli.render import note

    target = output_target(ctx, fmt, output)  # --format xlsx without --output: a usage error
    if plot is not None:  # its suffix names a picture format (the option's callback)
        check_writable(plot)
    try:
        _plan(ctx, scenario, top, plot, budget_usd, budget_per, target)
    except KeyboardInterrupt:
        files = [str(p) for p in (target.path, plot) if p is not None and not _stream(p)]
        kept = (
            f" ({', '.join(files)} left as {'it was' if len(files) == 1 else 'they were'})" if files else ""
        )
        note(f"plan interrupted: nothing written{kept}")
        raise typer.Exit(130) from None


def _plan(
    ctx: typer.Context,
    scenario: Path,
    top: int,
    plot: Path | None,
    budget_usd: str | None,
    budget_per: str | None,
    target: Target,
) -> None:
    from tco.api import PlanRequest
    from tco.api import inputs as read
    from tco.api import plan as make_plan
    from tco.cli.render import emit, note, report_warnings, warn
    from tco.cli.views.plan import budget_verdict, cheapest, plan_tables

    per = budget_per.strip().lower() if budget_per is not None else None
    request = PlanRequest(
        scenario,
        top=top,
        budget_usd=read.quantity(budget_usd, "--budget-usd"),
        budget_per=per,
        workbook=target.fmt is Format.xlsx,
    )
    outcome = make_plan(request, sources(ctx))
    result = outcome.result
    for said in result.notes:
        warn(said)
    # everything to write, rendered first (a failure here writes nothing), then staged: the error boundary
    # puts the files in place together once the command succeeded, and reports each then
    if target.path is not None:
        write_output(target.path, _document(target, result), _wrote(target, result))
    if plot is not None:
        write_output(plot, _figure(result, plot), f"wrote {plot}")
    if target.path is None:
        emit(target, result.budget, lambda: plan_tables(result))
    note(cheapest(result))
    if "over_budget" in result.budget:
        note(budget_verdict(result))
    report_warnings(outcome.provenance)


def _document(target: Target, result: PlanResult) -> bytes:
    """The plan in the target's format, as ``emit`` would write it to a file."""
    if target.fmt is Format.xlsx:
        from tco.export.xlsx import plan_workbook

        return plan_workbook(result)
    if target.fmt is Format.table:
        from io import StringIO

        from rich.console import Console

        from tco.cli.views.plan import plan_tables

        buffer = StringIO()
        Console(file=buffer, width=200, no_color=True, highlight=False).print(plan_tables(result))
        return buffer.getvalue().encode("utf-8")
    from tco.export import renderer

    return renderer(target.fmt.value)(result.budget)


def _wrote(target: Target, result: PlanResult) -> str | None:
    """What ``emit`` says once it has written the file (nothing for a table)."""
    if target.fmt is Format.xlsx:
        return f"wrote the plan workbook ({result.scenario.horizon_months} months) to {target.path}"
    if target.fmt is Format.table:
        return None
    return f"wrote {len(result.budget)} rows to {target.path}"


def _stream(path: Path) -> bool:
    """A device or a pipe (written directly: what was sent cannot be taken back)."""
    import stat

    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _figure(result: PlanResult, path: Path) -> bytes:
    """The plan's figure (:func:`tco.plot.plan_picture`) as the bytes of a ``path``-typed file."""
    from tco.plot import plan_picture

    return plan_picture(
        result.budget, result.options, path, title=result.scenario.name, best=str(result.best["option"])
    )
