"""`tco estimate ...`: project training and serving cost (issue #5)."""

from __future__ import annotations

import typer

from tco.errors import TcoError

app = typer.Typer(
    help="Project training and serving cost across scales and purchase options.", no_args_is_help=True
)


@app.command("train")
def train() -> None:
    """Estimate the cost of a training run (not available yet)."""
    raise TcoError("estimates are not available yet", hint="they arrive with issue #5")
