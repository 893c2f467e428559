"""Calibration results for the projections: the adapter between ``calibrate``'s result store and tco.model.

The store lives at ``<home>/calibration.sqlite`` (``calibrate.store.ResultStore.DEFAULT_FILENAME``). When the
file does not exist there are simply no calibrations, and the projections fall back to named assumptions.
The store is opened only when the file exists, so an estimate without calibrations never touches sqlite.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: The store's file name (``calibrate.store.ResultStore.DEFAULT_FILENAME``; a test keeps the two in step).
#: Checking for the file first keeps an estimate without calibrations from importing the store at all.
STORE_FILENAME = "calibration.sqlite"


def store_path(home: Path) -> Path:
    """Where the calibration store lives under ``home`` (checked without importing calibrate.store)."""
    return home / STORE_FILENAME


def load_calibrations(home: Path) -> pd.DataFrame:
    """Every calibration result in the store under ``home`` (empty when there is no store yet)."""
    from tco.model.throughput import empty_calibrations

    path = store_path(home)
    if not path.is_file():
        return empty_calibrations()
    try:
        from calibrate.store import ResultStore  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return empty_calibrations()
    frame: pd.DataFrame = ResultStore(path).results()
    return frame
