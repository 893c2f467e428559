"""The run store survives broken state and hostile imports: one TrackError naming the file and the fix, the
file left as it was; imports all or nothing; two processes writing at once lose nothing."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from tco.errors import TcoError
from tco.home import resolve_home
from tco.track import RunStore, Tracker, TrackError
from tests.damage import damage_pages, foreign, garbage, newer, page_count, reading_pipe, run_python

from .helpers import sleep_loop


def _tracked(run_id: str, steps: int = 3) -> None:
    tracker = Tracker(run_id=run_id, tokens_per_step=32, usd_per_hour=10.0, target_steps=10)
    sleep_loop(tracker, steps, step_s=0.001)
    tracker.close()


def _export(tmp_path: Path, *run_ids: str) -> dict[str, Any]:
    for run_id in run_ids:
        _tracked(run_id)
    path = tmp_path / "runs.json"
    RunStore.in_home(resolve_home()).export_file(path)
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def test_garbage_bytes_are_an_error_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    data = garbage(path)
    for call in (lambda s: s.all_runs(), lambda s: s.write({"run_id": "r"}, None), lambda s: s.summaries()):
        with pytest.raises(TrackError, match=rf"{path} is damaged \(file is not a database\).*mv {path}"):
            call(RunStore(path))
    assert path.read_bytes() == data


def test_damaged_pages_behind_a_valid_header(tmp_path: Path, tco_home: Path) -> None:
    for n in range(30):
        _tracked(f"run-{n}", steps=1)
    path = tco_home / "runs.sqlite"
    damage_pages(path, range(2, page_count(path) + 1))
    with pytest.raises(TrackError, match=r"is damaged .*malformed"):
        RunStore(path).summaries()


def test_a_tracker_on_a_damaged_store_says_so(tco_home: Path) -> None:
    garbage(tco_home / "runs.sqlite")
    with pytest.raises(TrackError, match=r"runs.sqlite is damaged"):
        Tracker(run_id="r", usd_per_hour=1.0)


def test_someone_elses_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    data = foreign(path)
    with pytest.raises(TrackError, match=r"is not a tco run store .*invoices"):
        RunStore(path).write({"run_id": "r"}, None)
    assert path.read_bytes() == data


def test_a_newer_schema_names_the_file_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    data = newer(path)
    with pytest.raises(TrackError, match=rf"{path} has schema version 99"):
        RunStore(path).write({"run_id": "r"}, None)
    assert path.read_bytes() == data


def test_a_directory_or_a_home_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "a" / "runs.sqlite").mkdir(parents=True)
    with pytest.raises(TrackError, match=r"runs.sqlite is a directory, not a file"):
        RunStore.in_home(tmp_path / "a").all_runs()
    (tmp_path / "b").write_text("x")
    for call in (lambda s: s.all_runs(), lambda s: s.run("x"), lambda s: s.write({"run_id": "r"}, None)):
        with pytest.raises(TrackError, match=r"the tco home .*/b is a file"):
            call(RunStore.in_home(tmp_path / "b"))


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ("UPDATE runs SET details = '{broken'", "details that are not a JSON object"),
        ("UPDATE runs SET details = '[1]'", "details that are not a JSON object"),
        ("UPDATE segments SET step_times_s = '[1, \"x\"]'", "step times that are not a JSON list"),
        ("UPDATE segments SET step_times_s = 'NaN'", "step times that are not a JSON list"),
        ("UPDATE segments SET steps = 'many'", "steps holds 'many', not a number"),
    ],
)
def test_a_record_that_does_not_decode(tco_home: Path, update: str, message: str) -> None:
    _tracked("damaged")
    path = tco_home / "runs.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(update)
    db.close()
    store = RunStore(path)
    for call in (
        lambda: store.report("damaged"),
        store.summaries,
        lambda: Tracker(run_id="damaged", usd_per_hour=1.0),  # re-attaching reads the stored run
    ):
        with pytest.raises(TrackError, match=rf"{path} is damaged \(.*{message}.*\) \(move it aside"):
            call()


def test_text_and_blobs_another_writer_left_read_as_text(tco_home: Path) -> None:
    _tracked("odd")
    with sqlite3.connect(tco_home / "runs.sqlite") as db:
        db.execute("UPDATE runs SET name = x'ff', host = 7")
    db.close()
    run = RunStore.in_home(tco_home).run("odd")
    assert run is not None and run["name"] == "\ufffd" and run["host"] == "7"


def test_a_lock_held_too_long_is_a_clear_error(tco_home: Path) -> None:
    _tracked("locked")
    store = RunStore.in_home(tco_home)
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        store.busy_timeout_s = 0.2
        with pytest.raises(TrackError, match="stayed locked by another process"):
            store.write({"run_id": "other"}, None)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# --- the home -----------------------------------------------------------------------------------------------


def test_an_empty_home_is_never_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TCO_HOME", "")
    with pytest.raises(TcoError, match=r"TCO_HOME is empty.*unset TCO_HOME"):
        resolve_home()
    with pytest.raises(TcoError, match="--home is empty"):
        resolve_home("  ")
    monkeypatch.setenv("TCO_HOME", str(tmp_path / "h"))
    assert resolve_home() == tmp_path / "h"
    assert resolve_home(".") == Path(".")  # named on purpose: fine
    with pytest.raises(TcoError, match="NUL"):
        resolve_home("a\x00b")
    monkeypatch.setenv("TCO_HOME", "")
    with pytest.raises(TcoError, match="TCO_HOME is empty"):
        Tracker(run_id="r", usd_per_hour=1.0)


def test_a_home_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(TcoError, match=r"the tco home .*/f is a file, not a directory"):
        resolve_home(tmp_path / "f")


# --- imports ------------------------------------------------------------------------------------------------


def _bad_import(tmp_path: Path, data: bytes, message: str, **kwargs: Any) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(data)
    store = RunStore(tmp_path / "target" / "runs.sqlite")
    store.write({"run_id": "kept", "updated_at": "2026-01-01T00:00:00Z"}, None)
    with pytest.raises(TrackError, match=message) as caught:
        store.import_file(path, **kwargs)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert [r["run_id"] for r in store.all_runs()] == ["kept"]  # nothing stored


def test_import_of_a_deeply_nested_file(tmp_path: Path) -> None:
    _bad_import(tmp_path, b"{" + b'"a": {' * 50_000 + b"}" * 50_001, "nested too deeply")


def test_import_of_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    _bad_import(tmp_path, b'{"format": "tco-runs"}\xc3', "is not UTF-8 text")


def test_import_of_a_huge_file(tmp_path: Path) -> None:
    _bad_import(tmp_path, b"[" + b"0," * 4000 + b"0]", "larger than", max_bytes=1024)


@pytest.mark.parametrize(
    ("where", "text", "message"),
    [
        ("run", "NaN", "NaN is not a JSON number"),
        ("run", "1e400", "usd_per_hour is inf"),
        ("run", '"ten"', "usd_per_hour is not a number: 'ten'"),
        ("run", "false", "usd_per_hour is not a number: False"),
        ("segment", '{"a": 1}', "steps is not a number: dict"),
        ("segment", "Infinity", "Infinity is not a JSON number"),
        ("segment", '"12"', "steps is not a number: '12'"),
        ("segment", "true", "steps is not a number: True"),
        ("segment", "1e400", "steps is inf"),
    ],
)
def test_import_of_bad_numbers(tmp_path: Path, where: str, text: str, message: str) -> None:
    document = _export(tmp_path, "good-1", "good-2")
    target = document["runs"][1] if where == "run" else document["runs"][1]["segments"][0]
    target["usd_per_hour" if where == "run" else "steps"] = "@@"
    data = json.dumps(document).replace('"@@"', text)
    _bad_import(tmp_path, data.encode(), message)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ["a"]}, "name is not text: list"),
        ({"details": "{not json"}, "details that are not a JSON object"),
        ({"details": {"a": 1}}, "details that are not a JSON object"),
        ({"host": "\udc80"}, "host is not valid Unicode"),
        ({"segments": [{"segment_id": "s", "run_id": "elsewhere"}]}, "malformed segments"),
        ({"segments": [{"segment_id": "s", "step_times_s": "[1, null]"}]}, "malformed segments"),
        ({"run_id": 7}, "no list of runs with run ids"),
    ],
)
def test_import_of_wrong_types(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    document = _export(tmp_path, "good-1", "good-2")
    document["runs"][1].update(change)
    _bad_import(tmp_path, json.dumps(document).encode(), message)


def test_import_of_bad_step_times(tmp_path: Path) -> None:
    document = _export(tmp_path, "good")
    document["runs"][0]["segments"][0]["step_times_s"] = "[0.1, true]"
    _bad_import(tmp_path, json.dumps(document).encode(), "step times that are not a JSON list")


WRITER = """
import sys, time
from pathlib import Path
from tco.track.store import RunStore
store = RunStore(Path(sys.argv[1]))
print("ready", flush=True)
while not Path(sys.argv[1] + ".go").exists():
    time.sleep(0.01)
for i in range(60):
    store.write({"run_id": sys.argv[2], "updated_at": str(i)},
                {"segment_id": f"{sys.argv[2]}-{i}", "run_id": sys.argv[2], "seq": i, "steps": i})
print("done")
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "home" / "runs.sqlite"
    path.parent.mkdir()
    procs = [run_python(WRITER, str(path), run) for run in ("a", "b")]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    Path(f"{path}.go").touch()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and out.strip() == "done", err
    store = RunStore(path)
    assert sorted(r["run_id"] for r in store.all_runs()) == ["a", "b"]
    assert [s["steps"] for s in store.segments("b")] == [float(i) for i in range(60)]


def test_an_export_that_fails_leaves_the_existing_file(tmp_path: Path, tco_home: Path) -> None:
    store = RunStore.in_home(tco_home)
    existing = tmp_path / "existing.json"
    existing.write_text("precious")
    with pytest.raises(TrackError, match=r"no tracked runs to export.*nothing was written"):
        store.export_file(existing)
    _tracked("one")
    with pytest.raises(TrackError, match="no tracked run 'nope'"):
        store.export_file(existing, ["nope"])
    assert existing.read_text() == "precious"
    pipe, received = reading_pipe(tmp_path / "pipe")
    assert store.export_file(pipe) == 1 and stat.S_ISFIFO(pipe.stat().st_mode)
    assert json.loads(received())["format"] == "tco-runs"
