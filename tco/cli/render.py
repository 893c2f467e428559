"""Rendering for the CLI: Rich tables on a terminal, CSV/JSON bytes for scripts, notes on stderr.

Rich is imported only to draw: a command writing JSON or CSV, its notes going to a pipe, never loads it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable
from io import StringIO
from typing import TYPE_CHECKING, Any

from tco.cli.state import Format, Target
from tco.errors import TcoError
from tco.export import renderer
from tco.export.base import write_atomic

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console, RenderableType
    from rich.table import Table

    from tco.api import Provenance

NA = "n/a"


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _styled(style: str, text: str, plain: str) -> None:
    """``plain`` on stderr; on a terminal (and without NO_COLOR) ``text`` with its Rich ``style``."""
    if not sys.stderr.isatty():
        sys.stderr.write(plain + "\n")
        sys.stderr.flush()
        return
    from rich.markup import escape

    stderr().print(f"[{style}]{escape(text)}[/{style}]" + escape(plain[len(text) :]))


def note(message: str) -> None:
    """A dim informational line on stderr (``message`` is plain text, not markup)."""
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
    """A Rich table: ``columns`` are (header, justify) pairs."""
    from rich.table import Table

    out = Table(
        title=title,
        caption=caption,
        header_style="bold",
        title_justify="left",
        caption_justify="left",
        expand=False,
        pad_edge=False,
    )
    for header, justify in columns:
        out.add_column(header, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        out.add_row(*row)
    return out


def emit_bytes(target: Target, data: bytes, what: str) -> None:
    """Write a binary document (an XLSX workbook) to the target file; refuse a terminal."""
    if target.path is None:
        raise TcoError(f"--format {target.fmt.value} writes a file: add --output FILE.{target.fmt.value}")
    write_atomic(target.path, data)
    note(f"wrote {what} to {target.path}")


def emit(
    target: Target, frame: pd.DataFrame, build_table: Callable[[], RenderableType] | None = None
) -> None:
    """Send ``frame`` to the target: a Rich table (``build_table``) or CSV/JSON of the frame itself."""
    if target.fmt is Format.table and build_table is not None:
        from rich.console import Console

        rendered = build_table()
        if target.path is None:
            # Piped output is not cut to 80 columns: a table is only useful whole.
            Console(highlight=False, width=None if sys.stdout.isatty() else 220).print(rendered)
            return
        buffer = StringIO()
        Console(file=buffer, width=200, no_color=True, highlight=False).print(rendered)
        write_atomic(target.path, buffer.getvalue().encode("utf-8"))
        return
    fmt = "csv" if target.fmt is Format.table else target.fmt.value
    if target.fmt is Format.xlsx and target.path is None:
        raise TcoError("--format xlsx writes a workbook: add --output FILE.xlsx")
    data = renderer(fmt)(frame)
    if target.path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_atomic(target.path, data)
        note(f"wrote {len(frame)} rows to {target.path}")


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
