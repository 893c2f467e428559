"""`tco compare ...`: procurement and framework comparisons (issue #6)."""

from __future__ import annotations

import typer

from tco.errors import TcoError

app = typer.Typer(
    help="Procurement (cloud vs commitments vs owned) and framework comparisons.", no_args_is_help=True
)


@app.command("procurement")
def procurement() -> None:
    """Rank purchase options for a sustained demand (not available yet)."""
    raise TcoError("comparisons are not available yet", hint="they arrive with issue #6")
