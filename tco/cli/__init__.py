"""The command-line interface (Typer + Rich): the only package that imports typer or rich."""

from tco.cli.app import app, main

__all__ = ["app", "main"]
