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
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
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


#: The largest export ``import_file`` reads.
MAX_IMPORT_BYTES: Final = 512 * 1024 * 1024
#: The tables each migration creates (a file at version 0 with any table is someone else's file).
_TABLES: Final = (("runs", "segments"),)
#: SQLite primary result codes (https://sqlite.org/rescode.html) that mean the file itself is damaged.
_DAMAGED_CODES: Final = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB


def _clean(value: Any, column: str, is_float: bool, *, strict: bool = False) -> Any:
    """A value as stored. A tracker's own values: a non-finite number is stored as missing, text that is not
    valid Unicode gets replacement characters. Imported ones (``strict``): a finite number or null in a
    number column, text or null in a text column, else a TrackError naming the column."""
    if value is None:
        return None
    if is_float:
        if strict and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TrackError(f"{column} is not a number: {_shown(value)}")
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise TrackError(f"{column} is not a number: {_shown(value)}") from exc
        if not math.isfinite(number):
            if strict:
                raise TrackError(f"{column} is {_shown(value)}; an export has null for a missing value")
            return None
        return number
    if not isinstance(value, str):
        if strict:
            raise TrackError(f"{column} is not text: {_shown(value)}")
        try:
            value = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
        except (TypeError, ValueError, RecursionError) as exc:
            raise TrackError(f"{column} cannot be stored as text: {exc}") from exc
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        if strict:
            raise TrackError(f"{column} is not valid Unicode text ({exc.reason})") from exc
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")  # U+FFFD
    return value


def _row(
    record: Mapping[str, Any], columns: tuple[str, ...], floats: tuple[str, ...], *, strict: bool = False
) -> tuple[Any, ...]:
    return tuple(_clean(record.get(c), c, c in floats, strict=strict) for c in columns)


def _read(row: sqlite3.Row, columns: tuple[str, ...], floats: tuple[str, ...]) -> dict[str, Any]:
    """A stored row as a dict: numbers as float (or None), text as str (or None), whatever a foreign
    writer left in the column; a number column holding text that is not a number is a DamagedRecord."""
    out: dict[str, Any] = {}
    for column in columns:
        value = row[column]
        if value is None:
            out[column] = None
        elif column in floats:
            try:
                number = float(value)
            except (TypeError, ValueError, OverflowError) as exc:
                raise DamagedRecord(f"{column} holds {_shown(value)}, not a number") from exc
            out[column] = number if math.isfinite(number) else None
        elif isinstance(value, bytes):
            out[column] = value.decode("utf-8", "replace")
        else:
            out[column] = str(value)
    if "details" in out:
        run_details(out)  # JSON columns decode, or the record is damaged
    if "step_times_s" in out:
        step_times(out)
    return out


def _shown(value: Any) -> str:
    """A value for an error line: its type, and its text cut short."""
    text = (
        repr(value) if isinstance(value, str | int | float | bool) or value is None else type(value).__name__
    )
    return text if len(text) <= 40 else text[:37] + "..."


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (an export has null for a missing value)")


def _float_or_zero(value: Any) -> float:
    try:
        number = float(value or 0.0)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _sqlite_code(exc: sqlite3.Error) -> int:
    code = getattr(exc, "sqlite_errorcode", None)
    return int(code) & 0xFF if isinstance(code, int) else -1


def store_error(exc: BaseException, path: Path, what: str) -> TrackError:
    """One TrackError for an SQLite or file-system failure (or a damaged record) in the run store ``path``."""
    fix = (
        f"move it aside (mv {path} {path}.bad): runs start afresh, and `tco runs import` brings back "
        "exported ones"
    )
    if isinstance(exc, DamagedRecord):
        return TrackError(f"the run store {path} is damaged ({exc.message})", hint=fix)
    if isinstance(exc, TrackError):
        return exc
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.Error):
        code = _sqlite_code(exc)
        if code in _DAMAGED_CODES:
            return TrackError(f"the run store {path} is damaged ({detail})", hint=fix)
        if code in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED
            return TrackError(
                f"the run store {path} stayed locked by another process ({what}: {detail})",
                hint="wait for the other process to finish and try again",
            )
        if code == 13:  # SQLITE_FULL
            return TrackError(
                f"no space left on the disk of {path} ({what})", hint="free some space and try again"
            )
        if code in (3, 8, 23):  # SQLITE_PERM, SQLITE_READONLY, SQLITE_AUTH
            return TrackError(
                f"the run store {path} is read-only ({what}: {detail})",
                hint="make it and its directory writable, or point --home / TCO_HOME elsewhere",
            )
    if isinstance(exc, OSError) and exc.strerror:
        detail = exc.strerror
    return TrackError(
        f"cannot use the run store {path} ({what}): {detail}",
        hint="check that --home / TCO_HOME names a writable directory",
    )


def _use_wal(db: sqlite3.Connection, timeout_s: float) -> None:
    """Put the file in WAL mode (once per file: it stays). Switching needs the file to itself, and SQLite
    answers "database is locked" at once rather than wait while another process reads it (a store being
    created by two processes): retry until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        try:
            if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if _sqlite_code(exc) not in (5, 6) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _rollback(db: sqlite3.Connection) -> None:
    with suppress(sqlite3.Error):
        db.execute("ROLLBACK")


class DamagedRecord(TrackError):
    """A stored run or segment whose JSON column does not decode (the store file was damaged or edited)."""


def run_details(run: Mapping[str, Any]) -> dict[str, Any]:
    """A run's ``details`` (a JSON object; {} when there are none); :class:`DamagedRecord` when it is not."""
    details = run.get("details")
    if details is None or details == "":
        return {}
    try:
        extra = json.loads(details) if isinstance(details, str) else None
    except (ValueError, RecursionError):
        extra = None
    if not isinstance(extra, dict):
        raise DamagedRecord(f"run {run.get('run_id')!r} has details that are not a JSON object")
    return extra


def step_times(segment: Mapping[str, Any]) -> list[float]:
    """A segment's stored recent step times, seconds; :class:`DamagedRecord` when they are not a JSON list
    of finite numbers."""
    text = segment.get("step_times_s")
    if text is None or text == "":
        return []
    try:
        times = json.loads(text, parse_constant=_no_constant) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        times = None
    if not isinstance(times, list) or not all(
        isinstance(t, int | float) and not isinstance(t, bool) and math.isfinite(t) for t in times
    ):
        raise DamagedRecord(
            f"segment {segment.get('segment_id')!r} has step times that are not a JSON list of numbers"
        )
    return [float(t) for t in times]


def tokens_counted(run: Mapping[str, Any]) -> bool:
    """Whether a run counts tokens (a tokens-per-step figure, or tokens given step by step)."""
    return run.get("tokens_per_step") is not None or bool(run_details(run).get("tokens_given"))


def samples_counted(run: Mapping[str, Any]) -> bool:
    return run.get("samples_per_step") is not None or bool(run_details(run).get("samples_given"))


def run_totals(run: Mapping[str, Any], segments: list[dict[str, Any]]) -> Totals:
    return totals(segments, tokens_counted=tokens_counted(run), samples_counted=samples_counted(run))


def median_step_s(segments: list[dict[str, Any]]) -> float:
    """Median of the stored recent step times of the latest segment that has any; NaN without."""
    import statistics

    for segment in sorted(segments, key=lambda s: -_float_or_zero(s.get("seq"))):
        times = step_times(segment)
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

    #: how long a write waits for another process's transaction before it gives up
    busy_timeout_s: float = 30.0

    def _check_place(self) -> None:
        if self.path.is_dir():
            raise TrackError(
                f"the run store {self.path} is a directory, not a file",
                hint="remove or rename that directory, or point --home / TCO_HOME elsewhere",
            )
        home = self.path.parent
        for folder in (home, *home.parents):
            if folder.exists():
                if not folder.is_dir():
                    where = "is a file" if folder == home else f"cannot be created: {folder} is a file"
                    raise TrackError(
                        f"the tco home {home} {where} (run store {self.path.name})",
                        hint="point --home / TCO_HOME at a directory",
                    )
                return

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """An open, migrated connection; any failure inside is converted (:func:`store_error`)."""
        self._check_place()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TrackError(
                f"cannot create the tco home {self.path.parent}: {exc.strerror or exc}",
                hint="point --home / TCO_HOME at a writable directory",
            ) from exc
        try:
            db = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            raise store_error(exc, self.path, "opening") from exc
        try:
            try:
                version = self._check_identity(db)  # before WAL mode, which rewrites the file's header
                _use_wal(db, self.busy_timeout_s)
                # WAL with synchronous=NORMAL: a commit never corrupts the store and waits for no fsync (a
                # power cut may lose the last flushes, which a restart then counts as restart time).
                db.execute("PRAGMA synchronous=NORMAL")
                self._migrate(db, version)
            except (sqlite3.Error, OSError) as exc:
                raise store_error(exc, self.path, "opening") from exc
            db.row_factory = sqlite3.Row
            try:
                yield db
            except (sqlite3.Error, OSError) as exc:
                raise store_error(exc, self.path, "reading or writing") from exc
            except DamagedRecord as exc:
                raise store_error(exc, self.path, "reading") from exc
        finally:
            db.close()

    def _check_identity(self, db: sqlite3.Connection) -> int:
        """The file's schema version, once it is known to be a tco store of this kind (or empty): someone
        else's SQLite file, or one from a newer tco, is refused before anything is written to it."""
        db.execute("BEGIN")  # the version and the tables from one moment (another process may be migrating)
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            tables = {
                str(r[0])
                for r in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            }
        finally:
            _rollback(db)
        if version > len(MIGRATIONS):
            raise TrackError(
                f"the run store {self.path} has schema version {version}, newer than this tco knows "
                f"({len(MIGRATIONS)})",
                hint="upgrade tco, or point --home / TCO_HOME elsewhere",
            )
        missing = {t for created in _TABLES[:version] for t in created} - tables
        if (version == 0 and tables) or missing:
            found = (
                f"other tables: {', '.join(sorted(tables)[:5])}"
                if version == 0
                else f"schema version {version} without the tables {', '.join(sorted(missing))}"
            )
            raise TrackError(
                f"{self.path} is not a tco run store (an SQLite file with {found})",
                hint="move that file away, or point --home / TCO_HOME at another directory",
            )
        return version

    def _migrate(self, db: sqlite3.Connection, version: int) -> None:
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
                _rollback(db)
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
                _rollback(db)
                raise

    @staticmethod
    def _put(
        db: sqlite3.Connection,
        table: str,
        record: Mapping[str, Any],
        columns: tuple[str, ...],
        floats: tuple[str, ...],
    ) -> None:
        RunStore._insert(db, table, _row(record, columns, floats))

    @staticmethod
    def _insert(db: sqlite3.Connection, table: str, values: tuple[Any, ...]) -> None:
        columns = RUN_COLUMNS if table == "runs" else SEGMENT_COLUMNS
        marks = ", ".join("?" for _ in columns)
        db.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({marks})", values)

    # --- reading ------------------------------------------------------------------------------------------

    def run(self, run_id: str) -> dict[str, Any] | None:
        self._check_place()
        if not self.path.exists():
            return None
        with self.connect() as db:
            row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            return _read(row, RUN_COLUMNS, RUN_FLOAT_COLUMNS) if row is not None else None

    def segments(self, run_id: str) -> list[dict[str, Any]]:
        self._check_place()
        if not self.path.exists():
            return []
        with self.connect() as db:
            rows = db.execute("SELECT * FROM segments WHERE run_id = ? ORDER BY seq", (run_id,)).fetchall()
            return [_read(r, SEGMENT_COLUMNS, SEGMENT_FLOAT_COLUMNS) for r in rows]

    def all_runs(self) -> list[dict[str, Any]]:
        """Every run row, most recently updated first."""
        self._check_place()
        if not self.path.exists():
            return []
        with self.connect() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY updated_at DESC, created_at DESC").fetchall()
            return [_read(r, RUN_COLUMNS, RUN_FLOAT_COLUMNS) for r in rows]

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
        try:
            return make_report(run, run_totals(run, segments), step_time_s=median_step_s(segments))
        except DamagedRecord as exc:
            raise store_error(exc, self.path, "reading") from exc

    def summaries(self) -> pd.DataFrame:
        """One row per run: its identity, device, price and the report's numbers (``tco runs list``)."""
        import pandas as pd

        rows = []
        for run in self.all_runs():
            segments = self.segments(run["run_id"])
            try:
                report = make_report(run, run_totals(run, segments), step_time_s=median_step_s(segments))
            except DamagedRecord as exc:
                raise store_error(exc, self.path, "reading") from exc
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
        Returns the run count. Nothing to export, or a run id not stored, is a TrackError raised before
        ``path`` is touched."""
        data, count = self.export_document(run_ids)
        _write_atomic(Path(path), data)
        return count

    def export_document(self, run_ids: Iterable[str] | None = None) -> tuple[bytes, int]:
        """The JSON of :meth:`export_file` and its run count, for a caller that writes it."""
        wanted = None if run_ids is None else {self.find(r) for r in run_ids}
        runs = []
        for run in self.all_runs():
            if wanted is not None and run["run_id"] not in wanted:
                continue
            runs.append({**run, "segments": self.segments(run["run_id"])})
        if not runs:
            raise TrackError(
                f"no tracked runs to export in {self.path}",
                hint="track a run with tco.track first; nothing was written",
            )
        document = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": utc_now(),
            "tool_version": __version__,
            "runs": runs,
        }
        return json.dumps(document, indent=1, allow_nan=False).encode("utf-8"), len(runs)

    def import_file(self, path: Path, *, max_bytes: int = MAX_IMPORT_BYTES) -> tuple[int, int]:
        """Add the runs of an export, keeping the newer copy of each run and segment.
        Returns (runs added or updated, segments added or updated).

        All or nothing: every run and segment is checked before any is stored; a file that is not a tco runs
        export (not UTF-8, not JSON, nested too deep, larger than ``max_bytes``, NaN or infinite numbers, a
        value of the wrong type, details that are not a JSON object) is a one-line TrackError naming it.
        """
        path = Path(path)
        hint = "pass a file from `tco runs export`"
        document = read_json_file(path, max_bytes=max_bytes, hint=hint)
        if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
            raise TrackError(f"{path} is not a tco runs export", hint=hint)
        version = document.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise TrackError(f"{path} has no export version (found {_shown(version)})", hint=hint)
        if version > EXPORT_VERSION:
            raise TrackError(
                f"{path} has export version {version}, newer than this tco reads", hint="upgrade tco"
            )
        runs = document.get("runs")
        if not isinstance(runs, list) or not all(
            isinstance(r, dict) and isinstance(r.get("run_id"), str) and r["run_id"] for r in runs
        ):
            raise TrackError(f"{path} has no list of runs with run ids", hint=hint)
        checked: list[tuple[tuple[Any, ...], list[tuple[Any, ...]]]] = []
        for run in runs:
            where = f"{path}: run {_shown(run['run_id'])}"
            segments = run.get("segments") or []
            if not isinstance(segments, list) or not all(
                isinstance(s, dict)
                and isinstance(s.get("segment_id"), str)
                and s["segment_id"]
                and s.get("run_id") == run["run_id"]
                for s in segments
            ):
                raise TrackError(f"{where} has malformed segments", hint=hint)
            try:
                run_details(run)
                for segment in segments:
                    step_times(segment)
                values = _row(run, RUN_COLUMNS, RUN_FLOAT_COLUMNS, strict=True)
                parts = [_row(s, SEGMENT_COLUMNS, SEGMENT_FLOAT_COLUMNS, strict=True) for s in segments]
            except TrackError as exc:
                raise TrackError(f"{where}: {exc.message}", hint=hint) from exc
            checked.append((values, parts))
        run_key = RUN_COLUMNS.index("updated_at")
        segment_id, last_seen = SEGMENT_COLUMNS.index("segment_id"), SEGMENT_COLUMNS.index("last_seen_unix")
        changed_runs = changed_segments = 0
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                for values, parts in checked:
                    old = db.execute("SELECT updated_at FROM runs WHERE run_id = ?", (values[0],)).fetchone()
                    if old is None or str(values[run_key] or "") > str(old[0] or ""):
                        self._insert(db, "runs", values)
                        changed_runs += 1
                    for segment in parts:
                        seen = db.execute(
                            "SELECT last_seen_unix FROM segments WHERE segment_id = ?", (segment[segment_id],)
                        ).fetchone()
                        if seen is None or (segment[last_seen] or 0.0) > _float_or_zero(seen[0]):
                            self._insert(db, "segments", segment)
                            changed_segments += 1
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
        return changed_runs, changed_segments


def read_json_file(path: Path, *, max_bytes: int = MAX_IMPORT_BYTES, hint: str | None = None) -> Any:
    """The JSON document in ``path``; a TrackError naming the file when it cannot be read, is larger than
    ``max_bytes``, is not UTF-8, is not JSON (NaN and Infinity are not JSON) or is nested too deep."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise TrackError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise TrackError(
            f"{path} is larger than {max_bytes / 2**20:,.0f} MiB, more than an export holds", hint=hint
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TrackError(f"{path} is not UTF-8 text (byte {exc.start}: {exc.reason})", hint=hint) from exc
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError as exc:
        raise TrackError(f"{path} is nested too deeply to be an export", hint=hint) from exc
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, an integer of thousands of digits
        raise TrackError(f"{path} is not JSON: {exc}", hint=hint) from exc


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a failure leaves no partial file and an existing file as it was: a
    temporary file beside the target, renamed over it only once complete. A device or a pipe
    (``/dev/null``, ``/dev/stdout``) is written directly, never replaced by a file; a symbolic link keeps
    pointing where it did (its target is replaced)."""
    try:
        info = path.stat()  # follows a link
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise TrackError(f"cannot write {path}: {exc.strerror or exc}") from exc
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise TrackError(f"cannot write {path}: it is a directory", hint="give a file name")
    if info is not None and not stat.S_ISREG(info.st_mode):
        try:
            with path.open("wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise TrackError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return
    target = path.resolve() if path.is_symlink() else path
    directory = target.parent if str(target.parent) else Path(".")
    tmp_name: str | None = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=directory, prefix=f".{target.name}.", suffix=".tmp", delete=False
        ) as handle:
            tmp_name = handle.name
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
        tmp_name = None
    except OSError as exc:
        raise TrackError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if tmp_name is not None and os.path.exists(tmp_name):
            os.unlink(tmp_name)
