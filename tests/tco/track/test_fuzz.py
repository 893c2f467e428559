"""Library-level fuzz of the run store: generated hostile files into ``RunStore.import_file``. The contract:
no exception but a TrackError (one line naming the file), nothing stored when the import fails, and every
run an import stored reads back, reports and lists."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tco.track import RunStore, Tracker, TrackError
from tests.hostile import broken_files, file_bytes, mutate

from .helpers import sleep_loop

# Sized for CI (about 30 s for every fuzz test of the suite together); raise for a longer hunt.
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _export() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        tracker = Tracker(run_id="fuzz", tokens_per_step=32, usd_per_hour=10.0, target_steps=10, home=tmp)
        sleep_loop(tracker, 3, step_s=0.001)
        tracker.close()
        path = Path(tmp) / "runs.json"
        RunStore(Path(tmp) / "runs.sqlite").export_file(path)
        document: dict[str, Any] = json.loads(path.read_text())
    return document


EXPORT = _export()


@FUZZ
@given(data=st.data(), broken=st.one_of(st.none(), broken_files))
def test_import_of_generated_files(data: st.DataObject, broken: bytes | None) -> None:
    content = broken if broken is not None else file_bytes(mutate(EXPORT, data))
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "home" / "runs.sqlite")
        store.write({"run_id": "kept", "updated_at": "2026-01-01T00:00:00Z"}, None)
        before = store.all_runs()
        path = Path(tmp) / "in.json"
        path.write_bytes(content)
        try:
            store.import_file(path)
        except TrackError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
            assert store.all_runs() == before  # nothing stored
            return
        store.summaries()  # every stored run reports
        for run in store.all_runs():
            store.report(run["run_id"])
