"""Global CLI state (the root options) and the output options shared by every data command."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tco.home import resolve_home

if TYPE_CHECKING:
    from tco.api.sources import Sources


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


@dataclass(frozen=True, slots=True)
class State:
    debug: bool = False
    home: Path | None = None
    fmt: Format | None = None
    output: Path | None = None
    #: apply the newest imported price book (``--no-price-book``: list prices only)
    price_book: bool = True

    @property
    def home_dir(self) -> Path:
        return resolve_home(self.home)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, State) else State()


def sources(ctx: typer.Context) -> Sources:
    """Where the command's prices and calibrations come from: the stores under the home directory, the
    newest imported price book applied unless ``--no-price-book``."""
    from tco.api.sources import Sources

    root = state(ctx)
    return Sources(home=root.home, price_book=root.price_book)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a command's data goes: a format and stdout or a file."""

    fmt: Format
    path: Path | None


def output_target(ctx: typer.Context, fmt: Format | None, output: Path | None) -> Target:
    """The command's ``--format``/``--output``, else the global ones; the file is checked up front.

    A path that cannot be written fails here, before any work is done, with one line; so does a workbook
    with nowhere to go (``--format xlsx`` without ``--output``: a usage error).
    """

    root = state(ctx)
    chosen = fmt or root.fmt or Format.table
    path = output or root.output
    if chosen is Format.xlsx and path is None:
        raise typer.BadParameter("xlsx writes a workbook: add --output FILE.xlsx", param_hint="'--format'")
    if path is not None:
        check_writable(path)
    return Target(chosen, path)


def check_writable(path: Path) -> None:
    """Fail now if ``path`` cannot be written (a directory, a missing one, no permission); a device, a pipe
    or a link to a writable file is fine."""
    from tco.export.base import check_target

    check_target(path)


FORMAT_OPTION = typer.Option(
    None,
    "--format",
    "-f",
    help="table, csv, json or xlsx (xlsx needs --output FILE; overrides the global --format).",
    case_sensitive=False,
    show_default=False,
)
OUTPUT_OPTION = typer.Option(
    None,
    "--output",
    "-o",
    help="Write to FILE instead of stdout (only on success).",
    show_default=False,
)
