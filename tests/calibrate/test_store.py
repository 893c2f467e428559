"""The SQLite result store, the row schema, and portable export/import."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from calibrate.devices import DeviceInfo
from calibrate.errors import CalibrationError
from calibrate.results import Measurement, RunContext, Task, failed_row, make_row
from calibrate.schema import COLUMNS
from calibrate.store import ResultStore
from calibrate.timing import Timing

CONTRACT = (
    "run_id",
    "framework",
    "framework_version",
    "device_kind",
    "device_name",
    "accelerator",
    "device_count",
    "kernel",
    "variant",
    "dtype",
    "shape",
    "compile_s",
    "median_s",
    "p10_s",
    "p90_s",
    "repeats",
    "throughput",
    "throughput_unit",
    "achieved_tflop_per_s",
    "utilisation",
    "peak_memory_bytes",
    "installed_bytes",
    "host",
    "measured_at",
    "tool_version",
    "status",
    "error",
)


def context(device: DeviceInfo | None = None, run_id: str = "run1", framework: str = "torch") -> RunContext:
    return RunContext(
        run_id=run_id,
        framework=framework,
        framework_version="9.9",
        installed_bytes=1.5e9,
        device=device or DeviceInfo.make("cpu", "Test CPU", 1),
        profile="tiny",
        extra={"framework_import_s": 0.5},
    )


def measurement(
    kernel: str = "matmul",
    variant: str = "eager",
    dtype: str = "fp32",
    median_s: float = 0.01,
    flops: float = 1e12,
    throughput: float | None = None,
    metric: str = "best",
) -> Measurement:
    timing = Timing(first_call_s=0.5, samples_s=(median_s * 0.9, median_s, median_s * 1.2), inner=1)
    rate = flops / median_s
    return Measurement(
        task=Task(kernel, variant, dtype),
        shape="m=1",
        timing=timing,
        throughput=rate / 1e12 if throughput is None else throughput,
        metric=metric,
        flop_per_s=rate,
        peak_memory_bytes=123.0,
        peak_memory_source="test",
    )


def test_public_api_and_contract_columns(tmp_path: Path) -> None:
    assert ResultStore.DEFAULT_FILENAME == "calibration.sqlite"
    store = ResultStore(tmp_path / "calibration.sqlite")
    empty = store.results()
    assert isinstance(empty, pd.DataFrame)
    assert set(CONTRACT) <= set(empty.columns)
    assert empty.empty
    store.add(make_row(context(), measurement()))
    frame = store.results()
    assert set(CONTRACT) <= set(frame.columns)
    assert list(frame.columns) == list(COLUMNS)
    row = frame.iloc[0]
    assert row["throughput_unit"] == "tflop_per_s"
    assert row["throughput"] == pytest.approx(100.0)
    assert row["achieved_tflop_per_s"] == pytest.approx(100.0)
    assert math.isnan(row["utilisation"])  # a CPU has no sourced peak: missing stays missing, never 0
    assert row["device_count"] == 1
    assert row["status"] == "ok"
    assert row["measured_at"].endswith("Z")
    assert frame["median_s"].dtype == "float64"


def test_utilisation_against_the_sourced_peak() -> None:
    h100 = DeviceInfo.make("cuda", "NVIDIA H100 80GB HBM3", 8)
    row = make_row(context(h100), measurement(dtype="bf16", flops=4.945e12, median_s=0.01))  # 494.5 TFLOP/s
    assert row["accelerator"] == "H100-80GB"
    assert row["utilisation"] == pytest.approx(0.5)
    assert row["peak_value"] == 989
    assert row["device_count"] == 1  # the matmul used one of the eight
    bw = make_row(context(h100), measurement(kernel="membw", throughput=1675.0, metric="triad"))
    assert bw["utilisation"] == pytest.approx(0.5)  # of 3.35 TB/s
    assert bw["achieved_tflop_per_s"] is None  # membw counts no FLOPs


def test_failed_rows_keep_measurements_missing(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "c.sqlite")
    store.add(
        failed_row(run_id="r", framework="jax", task=Task("membw", "jit", "fp32"), error="boom\nline 2")
    )
    row = store.results().iloc[0]
    assert row["status"] == "failed"
    assert row["error"] == "boom line 2"
    assert math.isnan(row["throughput"]) and math.isnan(row["median_s"])


def test_schema_version_wal_and_idempotent_add(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    store = ResultStore(path)
    row = make_row(context(), measurement())
    assert store.add_many([row, row]) == 1
    assert store.add_many([row]) == 0
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(CalibrationError, match="newer than this tco"):
        store.results()


def test_rows_are_validated(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "c.sqlite")
    with pytest.raises(CalibrationError, match="lacks"):
        store.add({"framework": "torch"})
    bad: dict[str, Any] = make_row(context(), measurement())
    bad["median_s"] = "fast"
    with pytest.raises(CalibrationError, match="not a number"):
        store.add(bad)


def test_export_import_round_trip_keeps_provenance(tmp_path: Path) -> None:
    gpu_box = ResultStore(tmp_path / "gpu.sqlite")
    h100 = DeviceInfo.make("cuda", "NVIDIA H100 80GB HBM3", 8)
    rows = [make_row(context(h100, framework=f), measurement()) for f in ("torch", "jax", "tensorflow")]
    rows.append(failed_row(run_id="run1", framework="jax", task=Task("membw", "jit", "fp32"), error="x"))
    gpu_box.add_many(rows)
    export = tmp_path / "h100.json"
    assert gpu_box.export_file(export) == 4
    document = json.loads(export.read_text())
    assert document["format"] == "tco-calibration" and document["version"] == 1
    assert all(r["host"] and r["measured_at"] and r["tool_version"] for r in document["rows"])
    assert all(r["framework_version"] == "9.9" for r in document["rows"] if r["status"] == "ok")
    assert document["rows"][0]["utilisation"] is not None

    laptop = ResultStore(tmp_path / "laptop.sqlite")
    assert laptop.import_file(export) == 4
    assert laptop.import_file(export) == 0  # the same rows again: nothing new
    before = gpu_box.results().sort_values("result_id").reset_index(drop=True)
    after = laptop.results().sort_values("result_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(before, after)
    assert set(after["accelerator"]) == {"H100-80GB", None}


def test_export_of_selected_runs(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "c.sqlite")
    store.add_many([make_row(context(run_id=r), measurement()) for r in ("a", "b", "b")])
    assert store.export_file(tmp_path / "b.json", ["b"]) == 2
    assert store.run_ids()[0] in {"a", "b"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ('{"format": "something-else", "rows": []}', "not a tco calibration export"),
        ('{"format": "tco-calibration", "version": 7, "rows": []}', "newer than this tco"),
        ('{"format": "tco-calibration", "version": 1, "rows": {}}', "no list of rows"),
    ],
)
def test_import_rejects_bad_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "in.json"
    path.write_text(content)
    with pytest.raises(CalibrationError, match=message):
        ResultStore(tmp_path / "c.sqlite").import_file(path)
    with pytest.raises(CalibrationError, match="cannot read"):
        ResultStore(tmp_path / "c.sqlite").import_file(tmp_path / "missing.json")


def test_unwritable_store_is_a_calibration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CalibrationError, match=r"home .*/file/sub cannot be created: .*/file is a file"):
        ResultStore(blocker / "sub" / "c.sqlite").add(make_row(context(), measurement()))
