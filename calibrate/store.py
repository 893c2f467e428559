"""The local results store: one SQLite row per calibration result, written as each kernel finishes.

``<home>/calibration.sqlite``, WAL mode (readers never block the running calibration), a busy timeout,
and a migrations list (``PRAGMA user_version``). Rows follow :mod:`calibrate.results`; ``result_id`` is
unique, so importing the same export twice adds nothing. Portable exports are JSON::

    {"format": "tco-calibration", "version": 1, "exported_at": ..., "tool_version": ..., "rows": [...]}

with every column of every row (host, device, time and versions included); missing values are ``null``.
"""

from __future__ import annotations

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
from typing import TYPE_CHECKING, Any, ClassVar, Final

from calibrate.errors import CalibrationError
from calibrate.schema import COLUMNS, FLOAT_COLUMNS
from calibrate.system import tool_version, utc_now

if TYPE_CHECKING:
    import pandas as pd

EXPORT_FORMAT: Final = "tco-calibration"
EXPORT_VERSION: Final = 1

_COLUMNS_SQL = ",\n    ".join(
    f"{c} TEXT PRIMARY KEY" if c == "result_id" else f"{c} REAL" if c in FLOAT_COLUMNS else f"{c} TEXT"
    for c in COLUMNS
)

#: Schema migrations, applied in order; index + 1 is the schema version. Append only. Each is a list of
#: statements run in one transaction (``executescript`` would commit half-way).
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        f"CREATE TABLE results (\n    {_COLUMNS_SQL}\n)",
        "CREATE INDEX results_by_run ON results(run_id)",
        "CREATE INDEX results_by_framework ON results(framework, measured_at)",
    ),
)


#: The largest export ``import_file`` reads (a calibration row is about 1.5 KB: this is ~350,000 rows).
MAX_IMPORT_BYTES: Final = 512 * 1024 * 1024

#: SQLite primary result codes (https://sqlite.org/rescode.html) that mean the file itself is damaged.
_DAMAGED_CODES: Final = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
#: The tables each migration creates (a file at version 0 with any table is someone else's file).
_TABLES: Final = (("results",),)


def _sqlite_code(exc: sqlite3.Error) -> int:
    code = getattr(exc, "sqlite_errorcode", None)
    return int(code) & 0xFF if isinstance(code, int) else -1


def store_error(exc: BaseException, path: Path, what: str) -> CalibrationError:
    """One CalibrationError for an SQLite or file-system failure on the calibration store at ``path``."""
    if isinstance(exc, CalibrationError):
        return exc
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.Error):
        code = _sqlite_code(exc)
        if code in _DAMAGED_CODES:
            return CalibrationError(
                f"the calibration store {path} is damaged ({detail})",
                hint=f"move it aside (mv {path} {path}.bad) and run the calibration again, or "
                "`tco calibrate import` an export",
            )
        if code in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED
            return CalibrationError(
                f"the calibration store {path} stayed locked by another process ({what}: {detail})",
                hint="wait for the other calibration or import to finish and try again",
            )
        if code == 13:  # SQLITE_FULL
            return CalibrationError(
                f"no space left on the disk of {path} ({what})", hint="free some space and try again"
            )
        if code in (3, 8, 23):  # SQLITE_PERM, SQLITE_READONLY, SQLITE_AUTH
            return CalibrationError(
                f"the calibration store {path} is read-only ({what}: {detail})",
                hint="make it and its directory writable, or point --home / TCO_HOME elsewhere",
            )
    if isinstance(exc, OSError) and exc.strerror:
        detail = exc.strerror
    return CalibrationError(
        f"cannot use the calibration store {path} ({what}): {detail}",
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


class ResultStore:
    """Calibration results in ``path`` (usually ``<home>/calibration.sqlite``).

    The store holds measurements that took hours, so it is never rebuilt on its own: every failure of the
    file (a damaged file, someone else's SQLite file, a newer schema, a directory in its place, a home that
    is a file or cannot be created, a full disk, a lock held too long) is a :class:`CalibrationError` that
    names the file and the fix.
    """

    DEFAULT_FILENAME: ClassVar[str] = "calibration.sqlite"
    #: how long a write waits for another process's transaction before it gives up
    busy_timeout_s: float = 30.0

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def in_home(cls, home: Path) -> ResultStore:
        return cls(Path(home) / cls.DEFAULT_FILENAME)

    def _check_place(self) -> None:
        if self.path.is_dir():
            raise CalibrationError(
                f"the calibration store {self.path} is a directory, not a file",
                hint="remove or rename that directory, or point --home / TCO_HOME elsewhere",
            )
        home = self.path.parent
        for folder in (home, *home.parents):
            if folder.exists():
                if not folder.is_dir():
                    where = "is a file" if folder == home else f"cannot be created: {folder} is a file"
                    raise CalibrationError(
                        f"the tco home {home} {where} (calibration store {self.path.name})",
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
            raise CalibrationError(
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
                # WAL with synchronous=NORMAL cannot corrupt the store; a power cut can only lose the rows
                # of the last moments (the calibration of those tasks runs again), and commits skip an fsync.
                db.execute("PRAGMA synchronous=NORMAL")
                self._migrate(db, version)
            except (sqlite3.Error, OSError) as exc:
                raise store_error(exc, self.path, "opening") from exc
            try:
                yield db
            except (sqlite3.Error, OSError) as exc:
                raise store_error(exc, self.path, "reading or writing") from exc
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
            raise CalibrationError(
                f"the calibration store {self.path} has schema version {version}, newer than this tco "
                f"knows ({len(MIGRATIONS)})",
                hint="upgrade tco, or point --home / TCO_HOME elsewhere",
            )
        missing = {t for created in _TABLES[:version] for t in created} - tables
        if (version == 0 and tables) or missing:
            found = (
                f"other tables: {', '.join(sorted(tables)[:5])}"
                if version == 0
                else f"schema version {version} without the tables {', '.join(sorted(missing))}"
            )
            raise CalibrationError(
                f"{self.path} is not a tco calibration store (an SQLite file with {found})",
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

    @staticmethod
    def _values(
        row: Mapping[str, Any], *, strict: bool = False, where: str = "a calibration row"
    ) -> tuple[Any, ...]:
        """The row's values in column order.

        Rows measured here (``strict`` False) store a non-finite number as missing (NULL) and text that is
        not valid Unicode with replacement characters. Imported rows (``strict``) must be what an export
        holds: a number (finite, not negative) or null in every number column, text or null in every text
        column; anything else is a CalibrationError that names ``where`` and the column.
        """
        missing = [c for c in ("result_id", "framework", "kernel", "status") if not row.get(c)]
        if missing:
            raise CalibrationError(f"{where} lacks {', '.join(missing)}")
        values: list[Any] = []
        for column in COLUMNS:
            value = row.get(column)
            if column in FLOAT_COLUMNS:
                value = _number(value, column, strict=strict, where=where)
            elif value is not None:
                value = _text(value, column, strict=strict, where=where)
            values.append(value)
        return tuple(values)

    def add(self, row: Mapping[str, Any]) -> None:
        """Store one row now (its own transaction: an interrupt later loses nothing already added)."""
        self.add_many([row])

    def add_many(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store rows in one transaction; rows whose ``result_id`` is already stored are skipped.
        Returns how many were new."""
        return self._insert([self._values(r) for r in rows])

    def _insert(self, values: list[tuple[Any, ...]]) -> int:
        """Insert checked rows in one transaction (all or none); returns how many were new."""
        if not values:
            return 0
        placeholders = ", ".join("?" for _ in COLUMNS)
        with self.connect() as db:
            before = db.total_changes
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    f"INSERT OR IGNORE INTO results ({', '.join(COLUMNS)}) VALUES ({placeholders})", values
                )
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
            return db.total_changes - before

    # --- reading ------------------------------------------------------------------------------------------

    def results(self) -> pd.DataFrame:
        """Every stored row, oldest first, with the columns of :data:`calibrate.results.COLUMNS`
        (float columns as float64 with NaN for missing; text columns as object with None)."""
        import pandas as pd

        self._check_place()
        if not self.path.exists():
            frame = pd.DataFrame(
                {c: pd.Series(dtype="float64" if c in FLOAT_COLUMNS else "object") for c in COLUMNS}
            )
            return frame
        with self.connect() as db:
            cursor = db.execute(f"SELECT {', '.join(COLUMNS)} FROM results ORDER BY measured_at, rowid")
            records = cursor.fetchall()
        frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
        for column in FLOAT_COLUMNS:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        for column in COLUMNS:
            if column not in FLOAT_COLUMNS:  # text, whatever another writer put in the column
                values = [_stored_text(v) for v in frame[column].to_numpy(dtype=object)]
                frame[column] = pd.Series(values, index=frame.index, dtype=object)
        return frame

    def count(self, run_id: str | None = None) -> int:
        """How many rows are stored (of ``run_id``, when given)."""
        self._check_place()
        if not self.path.exists():
            return 0
        with self.connect() as db:
            if run_id is None:
                row = db.execute("SELECT COUNT(*) FROM results").fetchone()
            else:
                row = db.execute("SELECT COUNT(*) FROM results WHERE run_id = ?", (run_id,)).fetchone()
        return int(row[0])

    def run_ids(self) -> list[str]:
        """Run ids, most recent first."""
        self._check_place()
        if not self.path.exists():
            return []
        with self.connect() as db:
            rows = db.execute(
                "SELECT run_id, MAX(measured_at) AS last FROM results GROUP BY run_id ORDER BY last DESC"
            ).fetchall()
        return [r[0] for r in rows if isinstance(r[0], str) and r[0]]

    # --- portable files -----------------------------------------------------------------------------------

    def export_file(self, path: Path, run_ids: Iterable[str] | None = None) -> int:
        """Write every row (or those of ``run_ids``) to ``path`` as portable JSON, atomically.
        Returns the row count. Nothing to export, or a run id not stored, is a CalibrationError raised before
        ``path`` is touched."""
        data, count = self.export_document(run_ids)
        _write_atomic(Path(path), data)
        return count

    def export_document(self, run_ids: Iterable[str] | None = None) -> tuple[bytes, int]:
        """The portable JSON of :meth:`export_file` and its row count, for a caller that writes it."""
        frame = self.results()
        if run_ids is not None:
            wanted = list(run_ids)
            unknown = sorted(set(wanted) - set(frame["run_id"].dropna()))
            if unknown:
                raise CalibrationError(
                    f"no calibration run {unknown[0]!r} in {self.path}",
                    hint="`tco calibrate show` lists the runs; nothing was written",
                )
            frame = frame[frame["run_id"].isin(wanted)]
        if frame.empty:
            raise CalibrationError(
                f"no calibration results to export in {self.path}",
                hint="run `tco calibrate run --quick` first; nothing was written",
            )
        rows = [{c: _jsonable(rec[c]) for c in COLUMNS} for rec in frame.to_dict("records")]
        document = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": utc_now(),
            "tool_version": tool_version(),
            "columns": list(COLUMNS),
            "rows": rows,
        }
        return json.dumps(document, indent=1, allow_nan=False).encode("utf-8"), len(rows)

    def import_file(self, path: Path, *, max_bytes: int = MAX_IMPORT_BYTES) -> int:
        """Add the rows of a portable JSON export; rows already stored are skipped. Returns new rows.

        All or nothing: every row is checked (``_values`` with ``strict``) before any is stored, and a file
        that is not a tco calibration export (not UTF-8, not JSON, nested too deep, larger than
        ``max_bytes``, NaN or infinite numbers, a value of the wrong type) is a one-line CalibrationError
        that names it.
        """
        path = Path(path)
        hint = "pass a file from `tco calibrate export`"
        document = read_json_file(path, max_bytes=max_bytes, hint=hint)
        if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
            raise CalibrationError(f"{path} is not a tco calibration export", hint=hint)
        version = document.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise CalibrationError(f"{path} has no export version (found {_shown(version)})", hint=hint)
        if version > EXPORT_VERSION:
            raise CalibrationError(
                f"{path} has export version {version}, newer than this tco reads", hint="upgrade tco"
            )
        rows = document.get("rows")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise CalibrationError(f"{path} has no list of rows", hint=hint)
        values = [self._values(r, strict=True, where=f"{path}: row {n}") for n, r in enumerate(rows, 1)]
        return self._insert(values)


def read_json_file(path: Path, *, max_bytes: int = MAX_IMPORT_BYTES, hint: str | None = None) -> Any:
    """The JSON document in ``path``; a CalibrationError naming the file when it cannot be read, is larger
    than ``max_bytes``, is not UTF-8, is not JSON (NaN and Infinity are not JSON) or is nested too deep."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise CalibrationError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise CalibrationError(
            f"{path} is larger than {max_bytes / 2**20:,.0f} MiB, more than an export holds", hint=hint
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CalibrationError(
            f"{path} is not UTF-8 text (byte {exc.start}: {exc.reason})", hint=hint
        ) from exc
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError as exc:
        raise CalibrationError(f"{path} is nested too deeply to be an export", hint=hint) from exc
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, an integer of thousands of digits
        raise CalibrationError(f"{path} is not JSON: {exc}", hint=hint) from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (an export has null for a missing value)")


def _number(value: Any, column: str, *, strict: bool, where: str) -> float | None:
    if value is None or (value == "" and not strict):
        return None
    if strict and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise CalibrationError(f"{where}: {column} is not a number: {_shown(value)}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise CalibrationError(f"{where}: {column} is not a number: {_shown(value)}") from exc
    if not math.isfinite(number):
        if strict:
            raise CalibrationError(
                f"{where}: {column} is {_shown(value)}; an export has null for a missing value"
            )
        return None
    if strict and number < 0:
        raise CalibrationError(f"{where}: {column} is negative ({number:g})")
    return number


def _text(value: Any, column: str, *, strict: bool, where: str) -> str:
    if isinstance(value, str):
        text = value
    elif strict:
        raise CalibrationError(f"{where}: {column} is not text: {_shown(value)}")
    else:
        try:
            text = json.dumps(value, allow_nan=False) if isinstance(value, dict | list) else str(value)
        except (TypeError, ValueError, RecursionError) as exc:
            raise CalibrationError(f"{where}: {column} cannot be stored as text: {exc}") from exc
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        if strict:
            raise CalibrationError(f"{where}: {column} is not valid Unicode text ({exc.reason})") from exc
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")  # U+FFFD
    return text


def _stored_text(value: Any) -> str | None:
    """A text column's value as read back: None for NULL, and text for anything else SQLite may hold."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def _shown(value: Any) -> str:
    """A value for an error line: its type, and its text cut short."""
    text = (
        repr(value) if isinstance(value, str | int | float | bool) or value is None else type(value).__name__
    )
    return text if len(text) <= 40 else text[:37] + "..."


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    return value


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
        raise CalibrationError(f"cannot write {path}: {exc.strerror or exc}") from exc
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise CalibrationError(f"cannot write {path}: it is a directory", hint="give a file name")
    if info is not None and not stat.S_ISREG(info.st_mode):
        try:
            with path.open("wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise CalibrationError(f"cannot write {path}: {exc.strerror or exc}") from exc
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
        raise CalibrationError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if tmp_name is not None and os.path.exists(tmp_name):
            os.unlink(tmp_name)
