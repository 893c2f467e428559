"""JSON export: a list of records, NaN as null, formula-safe text and keys, column order kept."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from tco.export.base import neutral_names, neutralise

if TYPE_CHECKING:
    import pandas as pd


def _clean(value: Any) -> Any:
    """A JSON value: text neutralised, numpy scalars as Python numbers, NaN/NA/NaT as null."""
    import pandas as pd

    if isinstance(value, str):
        return neutralise(value)
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return _clean(value.item())
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = neutral_names(frame.columns)
    return [
        dict(zip(columns, map(_clean, row), strict=True))
        for row in frame.astype(object).itertuples(index=False, name=None)
    ]


def render(frame: pd.DataFrame) -> bytes:
    return (json.dumps(records(frame), indent=1, allow_nan=False) + "\n").encode("utf-8")
