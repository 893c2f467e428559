"""Rendering for the CLI: Rich tables on a terminal, CSV/JSON bytes for scripts, notes on stderr.

Text is data: every table cell, header, title and caption is drawn with markup off (a provider's
``[bold]`` or a stray ``[/]`` shows as written) and with its control characters made visible
(:func:`tco.export.base.printable`); so are notes and warnings. Files go through
:func:`tco.export.base.write_output` (in place only when the command succeeded), stdout through
:mod:`tco.cli.output`.

Rich is imported only to draw: a command writing JSON or CSV, its notes going to a pipe, never loads it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable
from io import StringIO
from typing import TYPE_CHECKING, Any

from tco.cli.output import print_stdout, write_stdout
from tco.cli.state import Format, Target
from tco.errors import TcoError
from tco.export import renderer
from tco.export.base import printable, write_output

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console, RenderableType
    from rich.table import Table
    from rich.text import Text

    from tco.api import Provenance

NA = "n/a"


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def plain(value: object) -> Text:
    """``value`` as Rich text that is never parsed as markup, its control characters made visible."""
    from rich.text import Text

    return Text(printable(str(value)))


def styled(style: str, label: str, rest: str) -> Text:
    """``label`` in ``style`` then ``rest``, both plain text (no markup is parsed in either)."""
    from rich.text import Text

    return Text.assemble((printable(label), style), printable(rest))


def _styled(style: str, text: str, line: str) -> None:
    """``line`` on stderr; on a terminal (and without NO_COLOR) its start ``text`` in the Rich ``style``."""
    if not sys.stderr.isatty():
        sys.stderr.write(printable(line) + "\n")
        sys.stderr.flush()
        return
    stderr().print(styled(style, text, line[len(text) :]))


def note(message: str) -> None:
    """A dim informational line on stderr (``message`` is plain text, never markup)."""
    _styled("dim", message, message)


def warn(message: str) -> None:
    _styled("yellow", "warning:", f"warning: {message}")


def number(value: Any, digits: int = 2, *, prefix: str = "") -> str:
    """A number for a table cell; NaN and None print as n/a (missing stays missing)."""
    if value is None:
        return NA
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(as_float):
        return NA
    return f"{prefix}{as_float:,.{digits}f}"


def count(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NA
    return f"{float(value):g}"


def table(
    title: str | None,
    columns: Iterable[tuple[str, str]],
    rows: Iterable[Iterable[str]],
    caption: str | None = None,
) -> Table:
    """A Rich table: ``columns`` are (header, justify) pairs. Title, caption, headers and cells are plain text
    (:func:`plain`: markup off, control characters visible); a cell that is already Rich text is kept."""
    from rich.table import Table
    from rich.text import Text

    def cell(value: object) -> Text:
        return value if isinstance(value, Text) else plain(value)

    out = Table(
        title=None if title is None else cell(title),
        caption=None if caption is None else cell(caption),
        header_style="bold",
        title_justify="left",
        caption_justify="left",
        expand=False,
        pad_edge=False,
    )
    for header, justify in columns:
        out.add_column(cell(header), justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        out.add_row(*map(cell, row))
    return out


def emit_bytes(target: Target, data: bytes, what: str) -> None:
    """Write a binary document (an XLSX workbook) to the target file; refuse a terminal."""
    if target.path is None:
        raise TcoError(f"--format {target.fmt.value} writes a file: add --output FILE.{target.fmt.value}")
    write_output(target.path, data, f"wrote {what} to {target.path}")


def emit(
    target: Target, frame: pd.DataFrame, build_table: Callable[[], RenderableType] | None = None
) -> None:
    """Send ``frame`` to the target: a Rich table (``build_table``) or CSV/JSON of the frame itself."""
    if target.fmt is Format.table and build_table is not None:
        from rich.console import Console

        rendered = build_table()
        if target.path is None:
            print_stdout(rendered)
            return
        buffer = StringIO()
        Console(file=buffer, width=200, no_color=True, highlight=False).print(rendered)
        write_output(target.path, buffer.getvalue().encode("utf-8"), f"wrote the table to {target.path}")
        return
    fmt = "csv" if target.fmt is Format.table else target.fmt.value
    if target.fmt is Format.xlsx and target.path is None:
        raise TcoError("--format xlsx writes a workbook: add --output FILE.xlsx")
    data = renderer(fmt)(frame)
    if target.path is None:
        write_stdout(data)
    else:
        write_output(target.path, data, f"wrote {len(frame)} rows to {target.path}")


def report_notes(provenance: Provenance) -> None:
    """A result's notes (what was left out, and why) on stderr."""
    for line in provenance.notes:
        note(line)


def report_prices(provenance: Provenance, *, sources: bool = False, always: bool = False) -> None:
    """Where a result's prices come from (``sources``: with each snapshot's source), then its warnings
    (stale prices). ``always``: the prices line even when no snapshot was used."""
    if provenance.price_override is not None:
        note(f"prices: {provenance.price_override} override")
    elif provenance.prices or always:
        snapshots = (
            f"{s.provider} {s.label}"
            + (f" [{s.source}]" if sources else "")
            + (f" + {s.price_book}" if s.price_book else "")
            for s in provenance.prices
        )
        note("prices: " + "; ".join(snapshots))
    report_warnings(provenance)


def report_warnings(provenance: Provenance) -> None:
    for line in provenance.warnings:
        warn(line)
