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
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
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


class ResultStore:
    """Calibration results in ``path`` (usually ``<home>/calibration.sqlite``)."""

    DEFAULT_FILENAME: ClassVar[str] = "calibration.sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def in_home(cls, home: Path) -> ResultStore:
        return cls(Path(home) / cls.DEFAULT_FILENAME)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise CalibrationError(
                f"cannot open the calibration store {self.path}: {exc}",
                hint="check --home / TCO_HOME points at a writable directory",
            ) from exc
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._migrate(db)
            yield db
        except sqlite3.DatabaseError as exc:
            raise CalibrationError(
                f"the calibration store {self.path} is unreadable: {exc}",
                hint="move it aside and run the calibration again",
            ) from exc
        finally:
            db.close()

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise CalibrationError(
                f"the calibration store has schema version {version}, newer than this tco knows",
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

    @staticmethod
    def _values(row: Mapping[str, Any]) -> tuple[Any, ...]:
        missing = [c for c in ("result_id", "framework", "kernel", "status") if not row.get(c)]
        if missing:
            raise CalibrationError(f"a calibration row lacks {', '.join(missing)}")
        values: list[Any] = []
        for column in COLUMNS:
            value = row.get(column)
            if column in FLOAT_COLUMNS:
                if value is None or value == "":
                    value = None
                else:
                    try:
                        value = float(value)
                    except (TypeError, ValueError) as exc:
                        raise CalibrationError(
                            f"calibration row column {column} is not a number: {value!r}"
                        ) from exc
                    value = value if math.isfinite(value) else None
            elif value is not None and not isinstance(value, str):
                value = json.dumps(value) if isinstance(value, dict | list) else str(value)
            values.append(value)
        return tuple(values)

    def add(self, row: Mapping[str, Any]) -> None:
        """Store one row now (its own transaction: an interrupt later loses nothing already added)."""
        self.add_many([row])

    def add_many(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store rows in one transaction; rows whose ``result_id`` is already stored are skipped.
        Returns how many were new."""
        values = [self._values(r) for r in rows]
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
                db.execute("ROLLBACK")
                raise
            return db.total_changes - before

    # --- reading ------------------------------------------------------------------------------------------

    def results(self) -> pd.DataFrame:
        """Every stored row, oldest first, with the columns of :data:`calibrate.results.COLUMNS`
        (float columns as float64 with NaN for missing; text columns as object with None)."""
        import pandas as pd

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
            if column not in FLOAT_COLUMNS:
                frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
        return frame

    def run_ids(self) -> list[str]:
        """Run ids, most recent first."""
        if not self.path.exists():
            return []
        with self.connect() as db:
            rows = db.execute(
                "SELECT run_id, MAX(measured_at) AS last FROM results GROUP BY run_id ORDER BY last DESC"
            ).fetchall()
        return [r[0] for r in rows if r[0]]

    # --- portable files -----------------------------------------------------------------------------------

    def export_file(self, path: Path, run_ids: Iterable[str] | None = None) -> int:
        """Write every row (or those of ``run_ids``) to ``path`` as portable JSON, atomically.
        Returns the row count."""
        frame = self.results()
        if run_ids is not None:
            frame = frame[frame["run_id"].isin(list(run_ids))]
        rows = [{c: _jsonable(rec[c]) for c in COLUMNS} for rec in frame.to_dict("records")]
        document = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": utc_now(),
            "tool_version": tool_version(),
            "columns": list(COLUMNS),
            "rows": rows,
        }
        data = json.dumps(document, indent=1, allow_nan=False).encode("utf-8")
        _write_atomic(Path(path), data)
        return len(rows)

    def import_file(self, path: Path) -> int:
        """Add the rows of a portable JSON export; rows already stored are skipped. Returns new rows."""
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CalibrationError(f"cannot read {path}: {exc.strerror or exc}") from exc
        except json.JSONDecodeError as exc:
            raise CalibrationError(
                f"{path} is not JSON: {exc}", hint="pass a file from `tco calibrate export`"
            ) from exc
        if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
            raise CalibrationError(
                f"{path} is not a tco calibration export", hint="pass a file from `tco calibrate export`"
            )
        version = document.get("version")
        if not isinstance(version, int) or version > EXPORT_VERSION:
            raise CalibrationError(
                f"{path} has export version {version!r}, newer than this tco reads", hint="upgrade tco"
            )
        rows = document.get("rows")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise CalibrationError(f"{path} has no list of rows")
        return self.add_many(rows)


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    return value


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
        raise CalibrationError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if tmp_name is not None and os.path.exists(tmp_name):
            os.unlink(tmp_name)
