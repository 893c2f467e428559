"""The run store: portable exports, idempotent imports that keep the newer copy, bad files, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tco.home import resolve_home
from tco.track import RunStore, Tracker, TrackError

from .helpers import sleep_loop


def _store() -> RunStore:
    return RunStore.in_home(resolve_home())


def _tracked(run_id: str, steps: int = 4, **kwargs: Any) -> Tracker:
    tracker = Tracker(run_id=run_id, tokens_per_step=32, usd_per_hour=10.0, target_steps=10, **kwargs)
    sleep_loop(tracker, steps, step_s=0.002)
    tracker.close()
    return tracker


def test_export_then_import_elsewhere_gives_the_same_run(tmp_path: Path) -> None:
    _tracked("exported-run")
    path = tmp_path / "runs.json"
    assert _store().export_file(path) == 1
    document = json.loads(path.read_text())
    assert document["format"] == "tco-runs" and document["version"] == 1
    assert document["runs"][0]["segments"][0]["steps"] == 4

    other = RunStore(tmp_path / "elsewhere" / "runs.sqlite")
    assert other.import_file(path) == (1, 1)
    assert other.import_file(path) == (0, 0)  # importing twice adds nothing
    here, there = _store().report("exported-run"), other.report("exported-run")
    assert json.dumps(there.as_dict()) == json.dumps(here.as_dict())  # NaN compares equal as text


def test_import_keeps_the_newer_copy_of_a_run(tmp_path: Path) -> None:
    _tracked("growing-run")
    old = tmp_path / "old.json"
    _store().export_file(old)
    other = RunStore(tmp_path / "other" / "runs.sqlite")
    other.import_file(old)
    _tracked("growing-run", steps=3)  # the job went on in a second process
    new = tmp_path / "new.json"
    _store().export_file(new, ["growing-run"])

    assert _store().import_file(old) == (0, 0)  # an older export changes nothing
    runs, segments = other.import_file(new)
    assert segments == 1 and runs <= 1  # same second: updated_at may tie; the new segment always lands
    assert other.report("growing-run").step == 7 == _store().report("growing-run").step


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        (json.dumps({"format": "tco-calibration", "version": 1, "rows": []}), "not a tco runs export"),
        (json.dumps({"format": "tco-runs", "version": 99, "runs": []}), "newer than this tco"),
        (json.dumps({"format": "tco-runs", "version": 1, "runs": [{"name": "x"}]}), "run ids"),
        (
            json.dumps({"format": "tco-runs", "version": 1, "runs": [{"run_id": "a", "segments": [{}]}]}),
            "malformed segments",
        ),
    ],
)
def test_a_bad_import_file_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(TrackError, match=message):
        _store().import_file(path)
    assert _store().all_runs() == []  # nothing half-imported


def test_a_run_is_found_by_a_unique_prefix() -> None:
    _tracked("abc-one", steps=2)
    _tracked("abc-two", steps=2)
    assert _store().find("abc-o") == "abc-one"
    with pytest.raises(TrackError, match="ambiguous"):
        _store().find("abc")
    with pytest.raises(TrackError, match="no tracked run"):
        _store().find("zzz")


def test_a_store_from_a_newer_tco_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "runs.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(TrackError, match="newer than this tco"):
        RunStore(path).all_runs()


# --- the CLI ------------------------------------------------------------------------------------------------


def test_cli_list_and_show(cli: Any) -> None:
    _tracked("cli-run-1")
    listed = cli("runs", "list")
    assert listed.exit_code == 0, listed.stderr
    assert "cli-run-1" in listed.stdout and "tok/s" in listed.stdout and "Goodput" in listed.stdout
    rows = cli("runs", "list", "--format", "json").json()
    assert rows[0]["run_id"] == "cli-run-1" and rows[0]["step"] == 4
    assert rows[0]["cost_usd"] == pytest.approx(rows[0]["elapsed_s"] / 3600 * 10.0, rel=1e-9)
    assert rows[0]["mfu"] is None  # a CPU has no peak: missing, not 0

    shown = cli("runs", "show", "cli-run")
    assert shown.exit_code == 0, shown.stderr
    for text in ("Where the time went", "Processes", "Goodput", "$10.00/h (given)", "10 steps"):
        assert text in shown.stdout
    (record,) = cli("runs", "show", "cli-run-1", "--format", "json").json()
    assert record["run_id"] == "cli-run-1" and len(json.loads(record["segments"])) == 1


def test_cli_export_and_import(cli: Any, tmp_path: Path) -> None:
    _tracked("cli-run-2")
    path = tmp_path / "out.json"
    exported = cli("runs", "export", str(path), "--run", "cli-run-2")
    assert exported.exit_code == 0, exported.stderr
    assert "exported 1 run" in exported.stderr
    other = tmp_path / "other-home"
    imported = cli("--home", str(other), "runs", "import", str(path))
    assert imported.exit_code == 0, imported.stderr
    assert "imported 1 new or updated run" in imported.stderr
    assert cli("--home", str(other), "runs", "list", "-f", "json").json()[0]["run_id"] == "cli-run-2"


def test_cli_errors_are_one_line(cli: Any, tmp_path: Path) -> None:
    missing = cli("runs", "show", "nope")
    assert missing.exit_code == 1
    assert missing.stderr.count("\n") == 1 and "no tracked run 'nope'" in missing.stderr
    nothing = cli("runs", "export", str(tmp_path / "x.json"))
    assert nothing.exit_code == 1 and "no tracked runs to export" in nothing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    wrong = cli("runs", "import", str(bad))
    assert wrong.exit_code == 1 and "not a tco runs export" in wrong.stderr
    empty = cli("runs", "list")
    assert empty.exit_code == 0 and "no tracked runs" in empty.stderr
