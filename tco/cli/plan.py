"""`tco plan SCENARIO.toml`: a team's budget plan (issue #6)."""

from __future__ import annotations

import typer

from tco.errors import TcoError

app = typer.Typer(help="Budget plans from scenario files.", no_args_is_help=True)


@app.command("run")
def run() -> None:
    """Turn a scenario file into a month-by-month budget (not available yet)."""
    raise TcoError("plans are not available yet", hint="they arrive with issue #6")
