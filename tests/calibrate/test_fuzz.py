"""Library-level fuzz of calibrate: generated hostile files into ``ResultStore.import_file`` and generated
hostile result frames into ``calibrate.report.comparison``. The contract: no exception but a
CalibrationError, nothing stored when the import fails, and whatever was stored reads back and reports."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calibrate.errors import CalibrationError
from calibrate.report import comparison
from calibrate.results import make_row
from calibrate.schema import COLUMNS, FLOAT_COLUMNS
from calibrate.store import ResultStore
from tests.calibrate.test_store import context, measurement
from tests.hostile import NASTY_TEXT, broken_files, file_bytes, mutate, numbers

# Sized for CI (about 30 s for every fuzz test of the suite together); raise for a longer hunt.
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _export() -> dict[str, Any]:
    rows = [make_row(context(run_id=f"run{i % 2}"), measurement(median_s=0.01 * (i + 1))) for i in range(3)]
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(Path(tmp) / "c.sqlite")
        store.add_many(rows)
        path = Path(tmp) / "e.json"
        store.export_file(path)
        document: dict[str, Any] = json.loads(path.read_text())
    return document


EXPORT = _export()


@FUZZ
@given(data=st.data(), broken=st.one_of(st.none(), broken_files))
def test_import_of_generated_files(data: st.DataObject, broken: bytes | None) -> None:
    content = broken if broken is not None else file_bytes(mutate(EXPORT, data))
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(Path(tmp) / "home" / "calibration.sqlite")
        store.add(make_row(context(run_id="kept"), measurement()))
        before = store.results()
        path = Path(tmp) / "in.json"
        path.write_bytes(content)
        try:
            added = store.import_file(path)
        except CalibrationError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
            pd.testing.assert_frame_equal(store.results(), before)  # nothing stored
            return
        after = store.results()
        assert len(after) == len(before) + added
        for column in FLOAT_COLUMNS:  # finite numbers or missing, never inf
            values = after[column].dropna().to_numpy(dtype="float64")
            assert np.isfinite(values).all()
        comparison(after)  # what an import stored can be reported


text_values = st.one_of(
    st.none(), st.sampled_from(NASTY_TEXT), st.sampled_from(["torch", "jax", "ok", "failed"])
)
KERNELS = ["matmul", "membw", "train_cnn", "train_transformer", "infer_transformer", "allreduce", None]


@st.composite
def result_frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        row: dict[str, Any] = {}
        for column in COLUMNS:
            if column in FLOAT_COLUMNS:
                row[column] = draw(st.one_of(st.none(), numbers))
            elif column == "kernel":
                row[column] = draw(st.sampled_from(KERNELS))
            elif column == "status":
                row[column] = draw(st.sampled_from(["ok", "failed", None, "[bold]"]))
            else:
                row[column] = draw(text_values)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in FLOAT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


@settings(FUZZ, max_examples=40)
@given(frame=result_frames())
def test_comparison_of_generated_rows(frame: pd.DataFrame) -> None:
    table = comparison(frame)
    assert list(table.columns)[:2] == ["framework", "framework_version"]
