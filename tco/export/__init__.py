"""Exporters: a data frame in, bytes out (CSV, JSON, XLSX; formula workbooks in tco.export.xlsx)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    import pandas as pd


class Renderer(Protocol):
    def __call__(self, frame: pd.DataFrame) -> bytes: ...


#: Format name -> "module:function". Imported on lookup, so an unused exporter costs nothing.
EXPORTERS: Final = {
    "csv": "tco.export.csv:render",
    "json": "tco.export.json:render",
    "xlsx": "tco.export.xlsx:render",
}


def renderer(fmt: str) -> Renderer:
    module, _, attr = EXPORTERS[fmt].partition(":")
    render: Renderer = getattr(import_module(module), attr)
    return render
