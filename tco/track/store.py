"""The run store: tracked runs and their segments in ``<home>/runs.sqlite``; portable JSON exports.

SQLite in WAL mode (``tco runs list`` never blocks a running job), a busy timeout, and a migrations list
(``PRAGMA user_version``), like the calibration store. Columns follow :mod:`tco.track.schema`. Exports::

    {"format": "tco-runs", "version": 1, "exported_at": ..., "tool_version": ...,
     "runs": [{...run columns..., "segments": [{...segment columns...}, ...]}, ...]}

Importing keeps the newer copy of each run (``updated_at``) and of each segment (``last_seen_unix``), so
importing the same file twice changes nothing and a later export of a longer run updates it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tco import __version__
from tco.track.accounting import Totals, totals
from tco.track.report import Report, TrackError, make_report
from tco.track.schema import (
    RUN_COLUMNS,
    RUN_FLOAT_COLUMNS,
    RUNS_FILENAME,
    SEGMENT_COLUMNS,
    SEGMENT_FLOAT_COLUMNS,
)

if TYPE_CHECKING:
    import pandas as pd

EXPORT_FORMAT: Final = "tco-runs"
EXPORT_VERSION: Final = 1


def _sql_columns(columns: tuple[str, ...], floats: tuple[str, ...], key: str) -> str:
    return ",\n    ".join(
        f"{c} TEXT PRIMARY KEY" if c == key else f"{c} REAL" if c in floats else f"{c} TEXT" for c in columns
    )


_RUNS_SQL: Final = _sql_columns(RUN_COLUMNS, RUN_FLOAT_COLUMNS, "run_id")
_SEGMENTS_SQL: Final = _sql_columns(SEGMENT_COLUMNS, SEGMENT_FLOAT_COLUMNS, "segment_id")

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        f"CREATE TABLE runs (\n    {_RUNS_SQL}\n)",
        f"CREATE TABLE segments (\n    {_SEGMENTS_SQL}\n)",
        "CREATE INDEX segments_by_run ON segments(run_id, seq)",
    ),
)


def utc_now() -> str:
    """Now, ISO 8601 in UTC with seconds."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def utc_iso(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _clean(value: Any, is_float: bool) -> Any:
    if value is None:
        return None
    if is_float:
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise TrackError(f"not a number: {value!r}") from exc
        return number if math.isfinite(number) else None
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _row(record: Mapping[str, Any], columns: tuple[str, ...], floats: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(_clean(record.get(c), c in floats) for c in columns)


def tokens_counted(run: Mapping[str, Any]) -> bool:
    """Whether a run counts tokens (a tokens-per-step figure, or tokens given step by step)."""
    details = run.get("details")
    extra = json.loads(details) if isinstance(details, str) and details else {}
    return run.get("tokens_per_step") is not None or bool(extra.get("tokens_given"))


def samples_counted(run: Mapping[str, Any]) -> bool:
    details = run.get("details")
    extra = json.loads(details) if isinstance(details, str) and details else {}
    return run.get("samples_per_step") is not None or bool(extra.get("samples_given"))


def run_totals(run: Mapping[str, Any], segments: list[dict[str, Any]]) -> Totals:
    return totals(segments, tokens_counted=tokens_counted(run), samples_counted=samples_counted(run))


def median_step_s(segments: list[dict[str, Any]]) -> float:
    """Median of the stored recent step times of the latest segment that has any; NaN without."""
    import statistics

    for segment in sorted(segments, key=lambda s: -float(s.get("seq") or 0)):
        text = segment.get("step_times_s")
        times = json.loads(text) if isinstance(text, str) and text else []
        if times:
            return float(statistics.median(times))
    return math.nan


class RunStore:
    """Tracked runs in ``path`` (usually ``<home>/runs.sqlite``)."""

    DEFAULT_FILENAME: Final = RUNS_FILENAME

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def in_home(cls, home: Path) -> RunStore:
        return cls(Path(home) / RUNS_FILENAME)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise TrackError(
                f"cannot open the run store {self.path}: {exc}",
                hint="check --home / TCO_HOME points at a writable directory",
            ) from exc
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # WAL with synchronous=NORMAL: a commit never corrupts the store and waits for no fsync (a
            # power cut may lose the last flushes, which a restart then counts as restart time).
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._migrate(db)
            db.row_factory = sqlite3.Row
            yield db
        except sqlite3.DatabaseError as exc:
            raise TrackError(
                f"the run store {self.path} is unreadable: {exc}", hint="move it aside; runs start afresh"
            ) from exc
        finally:
            db.close()

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise TrackError(
                f"the run store has schema version {version}, newer than this tco knows",
                hint="upgrade tco, or point TCO_HOME elsewhere",
            )
        for index in range(version, len(MIGRATIONS)):
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("PRAGMA user_version").fetchone()[0] != index:
                    db.execute("ROLLBACK")
                    continue
                for statement in MIGRATIONS[index]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {index + 1}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    # --- writing ------------------------------------------------------------------------------------------

    def write(self, run: Mapping[str, Any] | None, segment: Mapping[str, Any] | None) -> None:
        """Insert or replace a run row and/or a segment row, in one transaction."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                if run is not None:
                    self._put(db, "runs", run, RUN_COLUMNS, RUN_FLOAT_COLUMNS)
                if segment is not None:
                    self._put(db, "segments", segment, SEGMENT_COLUMNS, SEGMENT_FLOAT_COLUMNS)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    @staticmethod
    def _put(
        db: sqlite3.Connection,
        table: str,
        record: Mapping[str, Any],
        columns: tuple[str, ...],
        floats: tuple[str, ...],
    ) -> None:
        marks = ", ".join("?" for _ in columns)
        db.execute(
            f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            _row(record, columns, floats),
        )

    # --- reading ------------------------------------------------------------------------------------------

    def run(self, run_id: str) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        with self.connect() as db:
            row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return {c: row[c] for c in RUN_COLUMNS} if row is not None else None

    def segments(self, run_id: str) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.connect() as db:
            rows = db.execute("SELECT * FROM segments WHERE run_id = ? ORDER BY seq", (run_id,)).fetchall()
        return [{c: r[c] for c in SEGMENT_COLUMNS} for r in rows]

    def all_runs(self) -> list[dict[str, Any]]:
        """Every run row, most recently updated first."""
        if not self.path.exists():
            return []
        with self.connect() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY updated_at DESC, created_at DESC").fetchall()
        return [{c: r[c] for c in RUN_COLUMNS} for r in rows]

    def find(self, run_id: str) -> str:
        """The stored run id that ``run_id`` names (exactly, or as the only run starting with it)."""
        if self.run(run_id) is not None:
            return run_id
        matches = [r["run_id"] for r in self.all_runs() if str(r["run_id"]).startswith(run_id)]
        if len(matches) == 1:
            return str(matches[0])
        if matches:
            raise TrackError(f"run id {run_id!r} is ambiguous: {', '.join(sorted(matches)[:5])}")
        raise TrackError(
            f"no tracked run {run_id!r} in {self.path}",
            hint="`tco runs list` shows the runs; `tco runs import FILE` adds an exported one",
        )

    def report(self, run_id: str) -> Report:
        """The stored run's report (as a live tracker would have shown it at its last flush)."""
        run = self.run(self.find(run_id))
        if run is None:  # removed between the two reads
            raise TrackError(f"no tracked run {run_id!r} in {self.path}")
        segments = self.segments(run["run_id"])
        return make_report(run, run_totals(run, segments), step_time_s=median_step_s(segments))

    def summaries(self) -> pd.DataFrame:
        """One row per run: its identity, device, price and the report's numbers (``tco runs list``)."""
        import pandas as pd

        rows = []
        for run in self.all_runs():
            segments = self.segments(run["run_id"])
            report = make_report(run, run_totals(run, segments), step_time_s=median_step_s(segments))
            summary = {
                c: run[c]
                for c in (
                    "run_id",
                    "name",
                    "adapter",
                    "framework",
                    "accelerator",
                    "device_count",
                    "dtype",
                    "status",
                    "price_source",
                    "created_at",
                    "updated_at",
                )
            }
            summary["segments"] = len(segments)
            summary.update({k: v for k, v in report.as_dict().items() if k not in summary})
            rows.append(summary)
        return pd.DataFrame(rows)

    # --- portable files -----------------------------------------------------------------------------------

    def export_file(self, path: Path, run_ids: Iterable[str] | None = None) -> int:
        """Write every run (or those of ``run_ids``) with its segments to ``path`` as JSON, atomically.
        Returns the run count."""
        wanted = None if run_ids is None else {self.find(r) for r in run_ids}
        runs = []
        for run in self.all_runs():
            if wanted is not None and run["run_id"] not in wanted:
                continue
            runs.append({**run, "segments": self.segments(run["run_id"])})
        document = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": utc_now(),
            "tool_version": __version__,
            "runs": runs,
        }
        _write_atomic(Path(path), json.dumps(document, indent=1, allow_nan=False).encode("utf-8"))
        return len(runs)

    def import_file(self, path: Path) -> tuple[int, int]:
        """Add the runs of an export, keeping the newer copy of each run and segment.
        Returns (runs added or updated, segments added or updated)."""
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise TrackError(f"cannot read {path}: {exc.strerror or exc}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TrackError(f"{path} is not JSON: {exc}", hint="pass a file from `tco runs export`") from exc
        if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
            raise TrackError(f"{path} is not a tco runs export", hint="pass a file from `tco runs export`")
        version = document.get("version")
        if not isinstance(version, int) or version > EXPORT_VERSION:
            raise TrackError(
                f"{path} has export version {version!r}, newer than this tco reads", hint="upgrade tco"
            )
        runs = document.get("runs")
        if not isinstance(runs, list) or not all(isinstance(r, dict) and r.get("run_id") for r in runs):
            raise TrackError(f"{path} has no list of runs with run ids")
        changed_runs = changed_segments = 0
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                for run in runs:
                    segments = run.get("segments") or []
                    if not isinstance(segments, list) or not all(
                        isinstance(s, dict) and s.get("segment_id") and s.get("run_id") == run["run_id"]
                        for s in segments
                    ):
                        raise TrackError(f"{path}: run {run['run_id']} has malformed segments")
                    old = db.execute(
                        "SELECT updated_at FROM runs WHERE run_id = ?", (run["run_id"],)
                    ).fetchone()
                    if old is None or str(run.get("updated_at") or "") > str(old[0] or ""):
                        self._put(db, "runs", run, RUN_COLUMNS, RUN_FLOAT_COLUMNS)
                        changed_runs += 1
                    for segment in segments:
                        seen = db.execute(
                            "SELECT last_seen_unix FROM segments WHERE segment_id = ?",
                            (segment["segment_id"],),
                        ).fetchone()
                        incoming = float(segment.get("last_seen_unix") or 0.0)
                        if seen is None or incoming > float(seen[0] or 0.0):
                            self._put(db, "segments", segment, SEGMENT_COLUMNS, SEGMENT_FLOAT_COLUMNS)
                            changed_segments += 1
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return changed_runs, changed_segments


def _write_atomic(path: Path, data: bytes) -> None:
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
        raise TrackError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if tmp_name is not None and os.path.exists(tmp_name):
            os.unlink(tmp_name)
