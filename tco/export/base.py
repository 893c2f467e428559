"""What every exporter shares: formula neutralisation and atomic writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

from tco.errors import TcoError

if TYPE_CHECKING:
    import pandas as pd

#: A cell starting with one of these is executed by spreadsheets (OWASP "CSV injection").
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """Prefix a formula-like string with ``'`` so that spreadsheets show it as text."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot run as formulas. Numeric columns are left alone."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or str(series.dtype).startswith("str"):
            text = series.where(series.map(lambda v: isinstance(v, str)), None)
            risky = text.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
            if risky.any():
                out[column] = series.where(~risky, "'" + text)
    return out


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory, then rename: never partial."""
    directory = path.parent if str(path.parent) else Path(".")
    tmp_name: str | None = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=directory, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as handle:
            tmp_name = handle.name
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        raise TcoError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if tmp_name is not None and os.path.exists(tmp_name):
            os.unlink(tmp_name)
