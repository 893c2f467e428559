"""The calibration store survives broken state and hostile imports.

It holds measurements that took hours, so it is never rebuilt on its own: a damaged file, someone else's
SQLite file, a newer schema, a directory or a file in the wrong place are each one CalibrationError naming the
file and the fix, and the file is left as it was. An import is all or nothing: a file that is not an export
(not UTF-8, not JSON, nested too deep, too large, NaN/inf, wrong types) is one line naming it, nothing stored.
"""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from calibrate.errors import CalibrationError
from calibrate.results import make_row
from calibrate.store import ResultStore
from tests.calibrate.test_store import context, measurement
from tests.damage import damage_pages, foreign, garbage, is_root, newer, page_count, reading_pipe, run_python


def rows(n: int = 3, run_id: str = "run1") -> list[dict[str, Any]]:
    return [make_row(context(run_id=run_id), measurement(median_s=0.01 + i)) for i in range(n)]


def export(tmp_path: Path, n: int = 3) -> dict[str, Any]:
    store = ResultStore(tmp_path / "source.sqlite")
    store.add_many(rows(n))
    path = tmp_path / "source.json"
    store.export_file(path)
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def test_garbage_bytes_are_an_error_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "calibration.sqlite"
    data = garbage(path)
    for call in (lambda s: s.results(), lambda s: s.add_many(rows()), lambda s: s.run_ids()):
        with pytest.raises(
            CalibrationError, match=rf"{path} is damaged \(file is not a database\).*mv {path}"
        ):
            call(ResultStore(path))
    assert path.read_bytes() == data


def test_damaged_pages_behind_a_valid_header(tmp_path: Path) -> None:
    path = tmp_path / "calibration.sqlite"
    store = ResultStore(path)
    store.add_many(rows(400))
    damage_pages(path, range(2, page_count(path) + 1))
    with pytest.raises(CalibrationError, match=r"is damaged .*malformed"):
        ResultStore(path).results()


def test_someone_elses_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "calibration.sqlite"
    data = foreign(path)
    with pytest.raises(CalibrationError, match=r"is not a tco calibration store .*invoices"):
        ResultStore(path).add_many(rows())
    assert path.read_bytes() == data


def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "calibration.sqlite"
    data = newer(path)
    with pytest.raises(CalibrationError, match=rf"{path} has schema version 99, newer.*upgrade tco"):
        ResultStore(path).add_many(rows())
    assert path.read_bytes() == data


def test_a_directory_or_a_home_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "a" / "calibration.sqlite").mkdir(parents=True)
    with pytest.raises(CalibrationError, match=r"calibration.sqlite is a directory, not a file"):
        ResultStore.in_home(tmp_path / "a").results()
    (tmp_path / "b").write_text("x")
    for call in (lambda s: s.results(), lambda s: s.run_ids(), lambda s: s.add_many(rows())):
        with pytest.raises(CalibrationError, match=r"the tco home .*/b is a file"):
            call(ResultStore.in_home(tmp_path / "b"))


@pytest.mark.skipif(is_root(), reason="root writes through file permissions")
def test_a_read_only_store(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "home" / "calibration.sqlite")
    store.add_many(rows())
    (tmp_path / "home").chmod(0o500)
    store.path.chmod(0o400)
    try:
        with pytest.raises(CalibrationError, match=r"calibration.sqlite"):
            store.add_many(rows(run_id="other"))
    finally:
        (tmp_path / "home").chmod(0o700)


def test_text_that_another_writer_left_reads_as_text(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "calibration.sqlite")
    store.add_many(rows(1))
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE results SET host = x'ff00', kernel = 42, details = '{not json'")
    db.close()
    frame = store.results()
    assert frame.loc[0, "host"] == "\ufffd\x00" and frame.loc[0, "kernel"] == "42"


def test_a_lock_held_too_long_is_a_clear_error(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "calibration.sqlite")
    store.add_many(rows(1))
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        store.busy_timeout_s = 0.2
        with pytest.raises(CalibrationError, match="stayed locked by another process"):
            store.add_many(rows(1, run_id="other"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# --- imports ------------------------------------------------------------------------------------------------


def _bad_import(tmp_path: Path, data: bytes, message: str, **kwargs: Any) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(data)
    store = ResultStore(tmp_path / "home" / "calibration.sqlite")
    store.add_many(rows(1, run_id="kept"))
    with pytest.raises(CalibrationError, match=message) as caught:
        store.import_file(path, **kwargs)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert list(store.results()["run_id"]) == ["kept"]  # nothing stored


def test_import_of_a_deeply_nested_file(tmp_path: Path) -> None:
    _bad_import(tmp_path, b"[" * 100_000 + b"]" * 100_000, "nested too deeply")


def test_import_of_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    _bad_import(
        tmp_path,
        b'{"format": "tco-calibration", "x": "\xff\xfe"}',
        r"is not UTF-8 text \(byte 36: invalid start byte",
    )


def test_import_of_a_huge_file(tmp_path: Path) -> None:
    _bad_import(tmp_path, b" " * 5000 + b"{}", "larger than 0 MiB", max_bytes=4096)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NaN", "NaN is not a JSON number"),
        ("-Infinity", "-Infinity is not a JSON number"),
        ("1e999", "median_s is inf"),
        ("9" * 5000, "is not JSON: Exceeds the limit"),  # an integer of 5,000 digits
        ('"fast"', "median_s is not a number: 'fast'"),
        ("true", "median_s is not a number: True"),
        ("[1]", "median_s is not a number: list"),
        ("-1", r"median_s is negative \(-1\)"),
    ],
)
def test_import_of_bad_numbers(tmp_path: Path, text: str, message: str) -> None:
    document = export(tmp_path)
    good = json.dumps(document)
    bad = good.replace('"median_s": 0.01,', f'"median_s": {text},', 1)
    assert bad != good
    _bad_import(tmp_path, bad.encode(), message)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("host", 12, "host is not text: 12"),
        ("details", {"a": 1}, "details is not text: dict"),
        ("shape", "\ud800", "shape is not valid Unicode"),
        ("result_id", "", "lacks result_id"),
        ("kernel", None, "lacks kernel"),
    ],
)
def test_import_of_wrong_types(tmp_path: Path, column: str, value: Any, message: str) -> None:
    document = export(tmp_path)
    document["rows"][2][column] = value  # the third row: the first two are fine, and must not be stored
    _bad_import(tmp_path, json.dumps(document).encode(), rf"row 3:? .*{message}")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": True}, "no export version"),
        ({"version": 0}, "no export version"),
        ({"version": 2}, "export version 2, newer"),
        ({"rows": [1]}, "no list of rows"),
        ({"format": None}, "not a tco calibration export"),
    ],
)
def test_import_of_a_document_that_is_not_an_export(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    document = {**export(tmp_path), **change}
    _bad_import(tmp_path, json.dumps(document).encode(), message)


def test_a_good_import_after_bad_ones_adds_every_row(tmp_path: Path) -> None:
    document = export(tmp_path, 4)
    path = tmp_path / "good.json"
    path.write_text(json.dumps(document))
    store = ResultStore(tmp_path / "home" / "calibration.sqlite")
    assert store.import_file(path) == 4 and store.import_file(path) == 0


def test_rows_measured_here_keep_non_finite_numbers_as_missing(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "calibration.sqlite")
    row = rows(1)[0]
    row.update(median_s=float("inf"), utilisation=float("nan"), error="bad \udcff bytes", details={"x": 1})
    store.add(row)
    back = store.results().iloc[0]
    assert back["median_s"] != back["median_s"] and back["error"] == "bad \ufffd bytes"
    assert back["details"] == '{"x": 1}'
    with pytest.raises(CalibrationError, match="median_s is not a number"):
        store.add({**row, "result_id": "other", "median_s": 10**400})


WRITER = """
import sys, time
from pathlib import Path
from calibrate.store import ResultStore
store = ResultStore(Path(sys.argv[1]))
print("ready", flush=True)
while not Path(sys.argv[1] + ".go").exists():
    time.sleep(0.01)
for i in range(60):
    store.add({"result_id": f"{sys.argv[2]}-{i}", "run_id": sys.argv[2], "framework": "torch",
               "kernel": "k", "status": "ok", "median_s": i})
print("done")
"""


def test_two_processes_adding_rows_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "home" / "calibration.sqlite"
    path.parent.mkdir()
    procs = [run_python(WRITER, str(path), run) for run in ("a", "b")]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    Path(f"{path}.go").touch()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and out.strip() == "done", err
    frame = ResultStore(path).results()
    assert sorted(frame["result_id"]) == sorted(f"{r}-{i}" for r in "ab" for i in range(60))


# --- exports ------------------------------------------------------------------------------------------------


def test_an_export_that_fails_leaves_the_existing_file(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "calibration.sqlite")
    existing = tmp_path / "existing.json"
    existing.write_text("precious")
    with pytest.raises(CalibrationError, match=r"no calibration results to export.*nothing was written"):
        store.export_file(existing)
    store.add_many(rows(2))
    with pytest.raises(CalibrationError, match=r"no calibration run 'nope'.*nothing was written"):
        store.export_file(existing, ["nope"])
    assert existing.read_text() == "precious"
    assert store.export_file(existing, ["run1"]) == 2  # a good export replaces it whole
    assert len(json.loads(existing.read_text())["rows"]) == 2


def test_an_export_to_a_device_or_through_a_link(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "calibration.sqlite")
    store.add_many(rows(1))
    pipe, received = reading_pipe(tmp_path / "pipe")
    assert store.export_file(pipe) == 1
    assert stat.S_ISFIFO(pipe.stat().st_mode)  # still the pipe, not a file that replaced it
    assert json.loads(received())["format"] == "tco-calibration"
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    store.export_file(link)
    assert link.is_symlink() and json.loads(target.read_text())["format"] == "tco-calibration"
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(CalibrationError, match=r"dir\.json: it is a directory"):
        store.export_file(tmp_path / "dir.json")
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
