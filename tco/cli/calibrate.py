"""`tco calibrate ...`: measure framework throughput on this machine (issue #4)."""

from __future__ import annotations

import typer

from tco.errors import TcoError

app = typer.Typer(
    help="Measure PyTorch, JAX and TensorFlow throughput on this machine.", no_args_is_help=True
)


@app.command("run")
def run() -> None:
    """Run the calibration kernels (not available yet)."""
    raise TcoError("calibration is not available yet", hint="it arrives with issue #4")
