"""CSV export: stable column order (the frame's), formula-safe text cells and headers, UTF-8, ``\\n`` line
ends (a carriage return in text is a line break inside its quoted cell: tco.export.base.printable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tco.export.base import neutralise_frame

if TYPE_CHECKING:
    import pandas as pd


def render(frame: pd.DataFrame) -> bytes:
    text: str = neutralise_frame(frame).to_csv(index=False, lineterminator="\n", float_format="%.10g")
    return text.encode("utf-8")
