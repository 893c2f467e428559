"""The local price store: pulled snapshots in SQLite, written in one transaction each.

A snapshot is visible only once its offers are all written (``status = 'complete'`` in the same
transaction), so a failed, interrupted or partial pull leaves the previous snapshot in use. WAL mode and
a busy timeout let two pulls and any number of readers run at once without corrupting anything.
"""

from __future__ import annotations

import json
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from pricing.errors import PricingError
from pricing.rendered import (
    NOTE_AMOUNT_COLUMNS,
    SKU_TERM_COLUMN,
    check_templates,
    render_notes,
    render_skus,
)
from pricing.schema import ALL_COLUMNS, FLOAT_COLUMNS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

DB_FILENAME: Final = "prices.sqlite"
#: The page size of a new store (SQLite's largest): see ``PriceStore.connect``.
PAGE_SIZE_BYTES: Final = 65536

_T = TypeVar("_T")

_OFFER_COLUMNS_SQL = ", ".join(
    f"{c} REAL" if c in FLOAT_COLUMNS else f"{c} TEXT" for c in ALL_COLUMNS if c != "snapshot"
)

#: Schema migrations, applied in order, each in its own transaction; the count applied is the schema version
#: (``PRAGMA user_version``). Append only: never edit a migration that has shipped.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE snapshots (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            provider TEXT NOT NULL,
            source TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('complete')),
            offer_count INTEGER NOT NULL,
            region_count INTEGER NOT NULL,
            meta_json TEXT NOT NULL DEFAULT '{}'
        )""",
        f"""CREATE TABLE offers (
            snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
            {_OFFER_COLUMNS_SQL}
        )""",
        "CREATE INDEX offers_by_snapshot ON offers(snapshot_id)",
        "CREATE INDEX snapshots_by_provider ON snapshots(provider, id)",
    ),
    # 2: price books (pricing.pricebook): a book is a snapshot of provider BOOK_PROVIDER whose rules live here
    (
        """CREATE TABLE book_rules (
            snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
            line INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('price', 'discount', 'quote')),
            provider TEXT NOT NULL,
            instance_type TEXT NOT NULL,
            region TEXT NOT NULL,
            pricing_model TEXT NOT NULL,
            price_usd_per_hour REAL,
            price_usd_per_accelerator_hour REAL,
            discount_fraction REAL,
            term_months INTEGER,
            accelerator TEXT,
            accelerator_count REAL,
            note TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX book_rules_by_snapshot ON book_rules(snapshot_id, line)",
    ),
    # 3: a snapshot's offers as one blob per column (written and read whole: many times faster than a row
    # per offer; snapshots in migration 1's ``offers`` rows stay readable); see ``encode_columns``.
    (
        """CREATE TABLE offer_columns (
            snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('float64', 'text')),
            dictionary BLOB,
            data BLOB NOT NULL,
            PRIMARY KEY (snapshot_id, name)
        )""",
    ),
    # 4: a CRC-32 of each column's dictionary and data: SQLite checks its pages' structure, not their
    # contents, so a damaged blob would otherwise decode into wrong prices (NULL for blobs written before)
    ("ALTER TABLE offer_columns ADD COLUMN crc32 INTEGER",),
    # 5: the bytes of each code of a dictionary column (1, 2 or 4: the fewest that number its dictionary;
    # NULL for other columns, and 4 for the dictionary columns written before), and float64 columns with a
    # dictionary (its distinct values' float64 bytes, a code per row). A tco before this one would misread
    # both: the new version makes it refuse the store instead.
    ("ALTER TABLE offer_columns ADD COLUMN code_bytes INTEGER",),
    # 6: a snapshot may hold its notes as templates, a column per amount beside them, and its SKUs as the
    # product's SKU and a column of offer term codes beside them (``pricing.rendered``: columns
    # ``note_hourly_usd`` and ``note_upfront_usd``, float64, and ``source_sku_term``, text, after the
    # others), rendered to text on read. A tco before this one would show the parts: the new version makes
    # it refuse the store instead. No table changes (the statement only marks the version).
    ("SELECT 1",),
)

#: The provider name of price-book snapshots (a team's own rates, not a cloud's list prices).
BOOK_PROVIDER: Final = "pricebook"

#: Columns of ``book_rules`` after ``snapshot_id``, in order.
BOOK_RULE_COLUMNS: Final = (
    "line",
    "kind",
    "provider",
    "instance_type",
    "region",
    "pricing_model",
    "price_usd_per_hour",
    "price_usd_per_accelerator_hour",
    "discount_fraction",
    "term_months",
    "accelerator",
    "accelerator_count",
    "note",
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    id: int
    provider: str
    source: str
    fetched_at: str
    offer_count: int
    region_count: int
    meta: dict[str, Any]

    @property
    def is_book(self) -> bool:
        """A team's price book (``tco prices import``), not a pull."""
        return self.provider == BOOK_PROVIDER

    @property
    def label(self) -> str:
        if self.is_book:
            return f"price book #{self.id} {self.fetched_at}"
        return f"pull #{self.id} {self.fetched_at}"


class PriceStoreRebuilt(UserWarning):
    """The price store was damaged: it was set aside (kept as a backup) and a fresh one started."""


#: SQLite primary result codes (https://sqlite.org/rescode.html) that mean the file itself is damaged.
_DAMAGED_CODES: Final = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
#: The tables each migration creates: a file at schema version n without those of migrations 1..n (or, at
#: version 0, with any table at all) is someone else's file, never written to.
_TABLES: Final = (("snapshots", "offers"), ("book_rules",), ("offer_columns",), (), (), ())


class StoreDamaged(PricingError):
    """The store's file is damaged (not a database, malformed pages, an undecodable column)."""


def _sqlite_code(exc: sqlite3.Error) -> int:
    code = getattr(exc, "sqlite_errorcode", None)
    return int(code) & 0xFF if isinstance(code, int) else -1


def store_error(exc: BaseException, path: Path, what: str) -> PricingError:
    """One PricingError for an SQLite or file-system failure on the price store at ``path``."""
    if isinstance(exc, PricingError):
        return exc
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.Error):
        code = _sqlite_code(exc)
        if code in _DAMAGED_CODES:
            return StoreDamaged(
                f"the price store {path} is damaged ({detail})",
                hint=f"move it aside (mv {path} {path}.bad); the embedded prices are used until "
                "`tco prices pull`",
            )
        if code in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED
            return PricingError(
                f"the price store {path} stayed locked by another process ({what}: {detail})",
                hint="wait for the other pull or import to finish and try again",
            )
        if code == 13:  # SQLITE_FULL
            return PricingError(
                f"no space left on the disk of {path} ({what})", hint="free some space and try again"
            )
        if code in (3, 8, 23):  # SQLITE_PERM, SQLITE_READONLY, SQLITE_AUTH
            return PricingError(
                f"the price store {path} is read-only ({what}: {detail})",
                hint="make it and its directory writable, or point --home / TCO_HOME elsewhere",
            )
    if isinstance(exc, OSError) and exc.strerror:
        detail = exc.strerror
    return PricingError(
        f"cannot use the price store {path} ({what}): {detail}",
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
    """Roll back an open transaction; a connection too broken to roll back is closed (which does)."""
    with suppress(sqlite3.Error):
        db.execute("ROLLBACK")


class PriceStore:
    """Snapshots of pulled prices in ``<home>/prices.sqlite``.

    Every failure of the file (missing or unwritable home, a home that is a file, a directory in the store's
    place, someone else's SQLite file, a newer schema, a full disk, a lock held too long) is a
    :class:`PricingError` that names the file and the fix. The store is a cache of what the providers'
    APIs answer, so a *damaged* file (not a database, malformed pages, a column that does not decode) is set
    aside as ``prices.sqlite.corrupt-<UTC time>`` (kept: price books imported into it can be recovered
    from it) and a fresh store started; :attr:`notices` (and a :class:`PriceStoreRebuilt` warning) say so.
    """

    #: how long a write waits for another process's transaction before it gives up (a pull's is short)
    busy_timeout_s: float = 30.0

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        #: one line per thing the store did on its own (a damaged file set aside); the CLI shows them
        self.notices: list[str] = []

    # --- opening ------------------------------------------------------------------------------------------

    def _check_place(self) -> None:
        """A directory in the store's place, or a file where the home (or a folder above it) should be."""
        if self.path.is_dir():
            raise PricingError(
                f"the price store {self.path} is a directory, not a file",
                hint="remove or rename that directory, or point --home / TCO_HOME elsewhere",
            )
        home = self.path.parent
        for folder in (home, *home.parents):
            if folder.exists():
                if not folder.is_dir():
                    where = "is a file" if folder == home else f"cannot be created: {folder} is a file"
                    raise PricingError(
                        f"the tco home {home} {where} (price store {self.path.name})",
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
            raise PricingError(
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
                if version == 0:
                    # A new store: 64 KiB pages (set before the first table; ignored once it exists). A
                    # snapshot is a few large column blobs, which SQLite writes about twice as fast in
                    # 64 KiB pages as in 4 KiB ones (benchmarks/pricing_ingest.py).
                    db.execute(f"PRAGMA page_size={PAGE_SIZE_BYTES:d}")
                _use_wal(db, self.busy_timeout_s)
                # WAL with synchronous=NORMAL cannot corrupt the store; a power cut can only lose the last
                # snapshots written (the previous ones stay in use), and commits skip an fsync each.
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA foreign_keys=ON")
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
        """The file's schema version, once it is known to be a tco price store (or empty): someone else's
        SQLite file, or one from a newer tco, is refused before anything is written to it."""
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
            raise PricingError(
                f"the price store {self.path} has schema version {version}, newer than this tco knows "
                f"({len(MIGRATIONS)})",
                hint="upgrade tco, or point --home / TCO_HOME elsewhere",
            )
        missing = {t for created in _TABLES[:version] for t in created} - tables
        if (version == 0 and tables) or missing:
            found = (
                f"other tables: {', '.join(sorted(tables)[:5])}"
                if version == 0
                else (f"schema version {version} without the tables {', '.join(sorted(missing))}")
            )
            raise PricingError(
                f"{self.path} is not a tco price store (an SQLite file with {found})",
                hint="move that file away, or point --home / TCO_HOME at another directory",
            )
        return version

    def _migrate(self, db: sqlite3.Connection, version: int) -> None:
        for index in range(version, len(MIGRATIONS)):
            db.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated while we waited for the lock.
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

    # --- damage -------------------------------------------------------------------------------------------

    def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """``work`` on an open connection; a damaged store is set aside once and ``work`` runs again on a
        fresh one."""
        seen = _identity(self.path)
        try:
            with self.connect() as db:
                return work(db)
        except StoreDamaged as exc:
            self._set_aside(exc, seen)
        with self.connect() as db:
            return work(db)

    def _set_aside(self, damage: StoreDamaged, seen: tuple[int, int] | None) -> None:
        """Rename the damaged file (and its WAL and shared-memory files) to ``<name>.corrupt-<time>``."""
        now = _identity(self.path)
        if now is not None and seen is not None and now != seen:
            return  # another process already set it aside and started afresh: use theirs
        stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        backup = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            for suffix in ("", "-wal", "-shm"):
                part = Path(f"{self.path}{suffix}")
                if part.exists():
                    part.replace(Path(f"{backup}{suffix}"))
        except OSError as exc:
            raise PricingError(
                f"{damage.message}, and it cannot be set aside: {exc.strerror or exc}",
                hint=f"move it away by hand (mv {self.path} {backup})",
            ) from exc
        message = (
            f"{damage.message}: kept it as {backup.name} and started a new price store; the embedded "
            "prices are used until `tco prices pull` (and price books imported into it must be imported "
            "again)"
        )
        self.notices.append(message)
        warnings.warn(message, PriceStoreRebuilt, stacklevel=4)

    # --- use ----------------------------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.exists()

    def write_snapshot(
        self,
        provider: str,
        source: str,
        fetched_at: str,
        offers: pd.DataFrame,
        meta: dict[str, Any] | None = None,
    ) -> Snapshot:
        """Store ``offers`` as a new complete snapshot, atomically: all rows or none.

        The offers go in as one blob per column (``offer_columns``, see :func:`encode_columns`). Offers
        with ``pricing.rendered.NOTE_AMOUNT_COLUMNS`` hold note templates, and with ``SKU_TERM_COLUMN`` SKUs
        in two parts: those are stored as they are, the part columns after the others, and rendered on read
        (a template that is not one is a :class:`PricingError` here).
        """
        columns = [c for c in ALL_COLUMNS if c != "snapshot"]
        if set(NOTE_AMOUNT_COLUMNS) <= set(offers.columns):
            columns += NOTE_AMOUNT_COLUMNS
            _check_templates(offers["note"])
        if SKU_TERM_COLUMN in offers.columns:
            columns.append(SKU_TERM_COLUMN)
            if (offers[SKU_TERM_COLUMN].notna() & offers["source_sku"].isna()).any():
                raise PricingError("an offer has an offer term code but no SKU")
        frame = offers.reindex(columns=columns)
        regions = int(offers["region"].nunique()) if len(offers) else 0
        blobs = encode_columns(frame, columns)
        meta_json = _meta_json(meta)

        def write(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    "INSERT INTO snapshots (provider, source, fetched_at, status, offer_count, region_count, "
                    "meta_json) VALUES (?, ?, ?, 'complete', ?, ?, ?)",
                    (provider, source, fetched_at, len(offers), regions, meta_json),
                )
                snapshot_id = int(cursor.lastrowid or 0)
                db.executemany(
                    "INSERT INTO offer_columns (snapshot_id, position, name, kind, dictionary, data, "
                    "code_bytes, crc32) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(snapshot_id, *column, column_crc32(column[3], column[4])) for column in blobs],
                )
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
            return snapshot_id

        snapshot_id = self._run(write)
        return Snapshot(snapshot_id, provider, source, fetched_at, len(offers), regions, meta or {})

    def write_book(
        self,
        source: str,
        imported_at: str,
        rules: Sequence[tuple[Any, ...]],
        meta: dict[str, Any] | None = None,
    ) -> Snapshot:
        """Store a price book's rules (tuples in ``BOOK_RULE_COLUMNS`` order) as one snapshot, atomically."""
        meta_json = _meta_json(meta)

        def write(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    "INSERT INTO snapshots (provider, source, fetched_at, status, offer_count, region_count, "
                    "meta_json) VALUES (?, ?, ?, 'complete', ?, 0, ?)",
                    (BOOK_PROVIDER, source, imported_at, len(rules), meta_json),
                )
                snapshot_id = int(cursor.lastrowid or 0)
                marks = ", ".join("?" for _ in BOOK_RULE_COLUMNS)
                db.executemany(
                    f"INSERT INTO book_rules (snapshot_id, {', '.join(BOOK_RULE_COLUMNS)}) "
                    f"VALUES ({snapshot_id:d}, {marks})",
                    rules,
                )
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
            return snapshot_id

        snapshot_id = self._run(write)
        return Snapshot(snapshot_id, BOOK_PROVIDER, source, imported_at, len(rules), 0, meta or {})

    def book_rules(self, snapshot_id: int) -> list[tuple[Any, ...]]:
        """A stored price book's rules, in file order (tuples in ``BOOK_RULE_COLUMNS`` order)."""

        def read(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            rows = db.execute(
                f"SELECT {', '.join(BOOK_RULE_COLUMNS)} FROM book_rules WHERE snapshot_id = ? ORDER BY line",
                (snapshot_id,),
            ).fetchall()
            return [tuple(row) for row in rows]

        return self._run(read)

    def remove_book(self, snapshot_id: int) -> bool:
        """Delete one imported price book (its rules go with it), atomically; False when there is none with
        that id. The next newest book, if any, applies from then on."""
        if not self.exists():
            return False
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    "DELETE FROM snapshots WHERE id = ? AND provider = ?", (snapshot_id, BOOK_PROVIDER)
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return cursor.rowcount > 0

    def latest_book(self) -> Snapshot | None:
        """The newest imported price book (the one every command applies), or None."""
        books = self.snapshots(BOOK_PROVIDER)
        return books[0] if books else None

    def snapshots(self, provider: str | None = None) -> list[Snapshot]:
        """All complete snapshots, newest first."""
        self._check_place()
        if not self.exists():
            return []
        query = "SELECT id, provider, source, fetched_at, offer_count, region_count, meta_json FROM snapshots"
        params: tuple[str, ...] = ()
        if provider:
            query += " WHERE provider = ?"
            params = (provider,)

        def read(db: sqlite3.Connection) -> list[Snapshot]:
            rows = db.execute(query + " ORDER BY id DESC", params).fetchall()
            return [self._snapshot(r) for r in rows]

        return self._run(read)

    def _snapshot(self, row: Sequence[Any]) -> Snapshot:
        try:
            meta = json.loads(row[6])
            if not isinstance(meta, dict):
                raise TypeError(f"meta is a {type(meta).__name__}, not an object")
            snapshot = Snapshot(
                int(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]), int(row[5]), meta
            )
        except (TypeError, ValueError, RecursionError) as exc:
            raise StoreDamaged(
                f"the price store {self.path} is damaged (snapshot #{row[0]}'s record does not decode: {exc})"
            ) from exc
        return snapshot

    def latest(self) -> dict[str, Snapshot]:
        """The newest complete snapshot of each provider (price books are not providers: ``latest_book``)."""
        newest: dict[str, Snapshot] = {}
        for snap in self.snapshots():
            if not snap.is_book:
                newest.setdefault(snap.provider, snap)
        return newest

    def offers(self, snapshot_ids: list[int]) -> pd.DataFrame:
        """The offer rows of the given snapshots (in id order), with ``snapshot`` set to each one's label.

        Text columns are object columns with None for null (as ``pricing.catalog.load_embedded`` reads them).
        """
        import numpy as np
        import pandas as pd

        columns = [c for c in ALL_COLUMNS if c != "snapshot"]
        if not snapshot_ids:
            return pd.DataFrame(columns=list(ALL_COLUMNS))

        def read(db: sqlite3.Connection) -> list[pd.DataFrame]:
            parts = []
            for snapshot_id in sorted(set(snapshot_ids)):
                row = db.execute(
                    "SELECT fetched_at, offer_count FROM snapshots WHERE id = ?", (snapshot_id,)
                ).fetchone()
                if row is None:
                    continue
                stored = db.execute(
                    "SELECT name, kind, dictionary, data, code_bytes, crc32 FROM offer_columns "
                    "WHERE snapshot_id = ? ORDER BY position",
                    (snapshot_id,),
                ).fetchall()
                try:
                    for name, _, dictionary, data, _, crc in stored:
                        if crc is not None and crc != column_crc32(dictionary, data):
                            raise ValueError(f"column {name!r} fails its CRC-32 check")
                    frame = (
                        decode_columns([r[:5] for r in stored])
                        if stored
                        else _legacy_rows(db, snapshot_id, columns)
                    )
                    if len(frame) != row[1] or not set(columns) <= set(frame.columns):
                        raise ValueError(f"{len(frame)} rows of {row[1]}, or columns missing")
                except (TypeError, ValueError, IndexError, KeyError, RecursionError) as exc:
                    raise StoreDamaged(
                        f"the price store {self.path} is damaged (snapshot #{snapshot_id}'s offers do not "
                        f"decode: {exc})"
                    ) from exc
                label = f"pull #{snapshot_id} {row[0]}"
                frame["snapshot"] = pd.Series(np.full(len(frame), label, dtype=object), dtype=object)
                parts.append(frame)
            return parts

        parts = self._run(read)
        if not parts:
            return pd.DataFrame(columns=list(ALL_COLUMNS))
        out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return out.reindex(columns=list(ALL_COLUMNS))


def _check_templates(notes: pd.Series) -> None:
    """PricingError unless each distinct note is a note template (``pricing.rendered``)."""
    import pandas as pd

    if isinstance(notes.dtype, pd.CategoricalDtype):
        distinct = notes.cat.categories.tolist()
    else:
        values = notes.to_numpy(dtype=object)
        try:
            distinct = pd.unique(values[~pd.isna(values)]).tolist()
        except TypeError as exc:  # an unhashable value: not text
            raise PricingError(f"offer column 'note' holds a value that is not text: {exc}") from exc
    try:
        check_templates(distinct)
    except ValueError as exc:
        raise PricingError(f"offer column 'note' holds a note template that is not one: {exc}") from exc


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of ``path``, or None when it does not exist."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _meta_json(meta: dict[str, Any] | None) -> str:
    try:
        return json.dumps(meta or {}, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as exc:
        raise PricingError(f"a snapshot's metadata is not JSON: {exc}") from exc


#: A text column whose first ``_SAMPLE`` values hold at most this many distinct ones is stored as a
#: dictionary of its values and a code per row (a region, an instance type, a constant source); others as a
#: JSON array (notes, SKUs).
_SAMPLE: Final = 1000
_FEW: Final = 100


def encode_columns(frame: pd.DataFrame, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """(position, name, kind, dictionary, data, code_bytes) per column of ``frame`` for ``offer_columns``.

    Float columns are float64 bytes (NaN for null; inf and negative values are stored as they are, the
    validation flags them) or, when their values repeat, the float64 bytes of the distinct values in
    ``dictionary`` and a code per row in ``data``. Text columns are either a JSON array (null for null,
    ``dictionary`` NULL) or, when their values repeat, the JSON array of distinct values in ``dictionary``
    and a code per row in ``data`` (-1 for null). A code is a little-endian integer of ``code_bytes``
    bytes: 1, 2 or 4, the fewest that hold the dictionary's size (``code_bytes`` is None for the columns
    without a dictionary). A value that is not a number (float columns) or not text (the others) is a
    :class:`PricingError`.
    """
    import msgspec
    import numpy as np
    import pandas as pd

    encode = msgspec.json.encode
    encoded: list[tuple[Any, ...]] = []
    for position, name in enumerate(columns):
        series = frame[name]
        if name in FLOAT_COLUMNS or name in NOTE_AMOUNT_COLUMNS:
            try:
                values = np.asarray(pd.to_numeric(series, errors="raise"), dtype="<f8")
            except (TypeError, ValueError, OverflowError) as exc:
                raise PricingError(
                    f"offer column {name!r} holds a value that is not a number: {exc}"
                ) from exc
            encoded.append((position, name, *_float_column(values)))
            continue
        fast = _categorical_column(series, encode)
        if fast is not None:
            encoded.append((position, name, *fast))
            continue
        texts = series.to_numpy(dtype=object)
        fast = _plain_text_column(texts, encode)
        if fast is not None:
            encoded.append((position, name, *fast))
            continue
        blank = pd.isna(texts)
        if blank.any():  # NaN and None: JSON null
            texts = texts.copy()
            texts[blank] = None
        strange = set(map(type, texts.tolist())) - {str, type(None)}
        if strange:
            raise PricingError(
                f"offer column {name!r} holds a value that is not text: {min(t.__name__ for t in strange)}"
            )
        try:
            encoded.append((position, name, *_text_column(texts, encode)))
        except (ValueError, msgspec.EncodeError):  # a lone surrogate (not UTF-8): stored as U+FFFD
            texts = np.array([_valid_text(v) for v in texts.tolist()], dtype=object)
            encoded.append((position, name, *_text_column(texts, encode)))
    return encoded


def _float_column(values: Any) -> tuple[str, bytes | None, bytes, int | None]:
    """(kind, dictionary, data, code_bytes) of a float column: its float64 bytes, or, when its first
    ``_SAMPLE`` values hold at most ``_FEW`` distinct ones (a product's count, memory, vCPUs repeated on each
    of its rows), the float64 bytes of its distinct values in ``dictionary`` and a code per row (values are
    told apart by their bits: -0.0 is not 0.0, a NaN stays that NaN)."""
    import numpy as np
    import pandas as pd

    bits = np.ascontiguousarray(values).view("<i8")
    if len(np.unique(bits[:_SAMPLE])) > _FEW:
        return "float64", None, values.tobytes(), None
    codes, uniques = pd.factorize(bits)
    dictionary = np.asarray(uniques, dtype="<i8").view("<f8").tobytes()
    return _coded(dictionary, codes, len(uniques), kind="float64")


def _coded(dictionary: bytes, codes: Any, count: int, kind: str = "text") -> tuple[str, bytes, bytes, int]:
    """A dictionary column: ``codes`` (-1 for null) in the fewest bytes that number ``count`` values."""
    size = 1 if count < 2**7 else 2 if count < 2**15 else 4
    return kind, dictionary, codes.astype(f"<i{size}").tobytes(), size


def _categorical_column(series: pd.Series, encode: Any) -> tuple[str, bytes | None, bytes, int | None] | None:
    """A categorical text column (``pricing.providers.aws.PriceListRows.frame``) as a dictionary column
    straight from its categories and codes (-1, null, is null there too). None for any other column, or
    categories that are not all text UTF-8 can hold (the general path then says what, or cleans them)."""
    import msgspec
    import pandas as pd

    if not isinstance(series.dtype, pd.CategoricalDtype):
        return None
    values = series.cat.categories.tolist()
    if not all(type(value) is str for value in values):
        return None
    try:
        dictionary = encode(values)
    except (ValueError, msgspec.EncodeError):
        return None
    return _coded(dictionary, series.cat.codes.to_numpy(), len(values))


def _plain_text_column(texts: Any, encode: Any) -> tuple[str, bytes | None, bytes, int | None] | None:
    """``_text_column`` of a text column without a pass to find its nulls (the ingest benchmark's columns):
    a dictionary column is factorized as it is (None, NaN and NA get code -1 there too) and only its
    distinct values are type-checked; a JSON one is checked as the list that is encoded. None when the
    column holds anything but str and None, or text UTF-8 cannot hold: the caller's general path then says
    what (or cleans it). (A str subclass equal to a str before it in a dictionary column is the same
    distinct value: stored as that text, where the general path refuses it.)"""
    import msgspec
    import pandas as pd

    plain = {str, type(None)}
    sample = texts[:_SAMPLE]
    blank = pd.isna(sample)
    if blank.any():
        sample = sample.copy()
        sample[blank] = None
    try:
        few = len(set(sample.tolist())) <= _FEW
    except TypeError:  # an unhashable value (a dict, a list): not text
        return None
    if few:
        try:
            codes, uniques = pd.factorize(texts, use_na_sentinel=True)
        except TypeError:
            return None
        values = uniques.tolist()
        if not set(map(type, values)) <= plain:
            return None
        try:
            return _coded(encode(values), codes, len(values))
        except (ValueError, msgspec.EncodeError):
            return None
    listed = texts.tolist()
    if not set(map(type, listed)) <= plain:
        return None
    try:
        return "text", None, encode(listed), None
    except (ValueError, msgspec.EncodeError):
        return None


def _text_column(texts: Any, encode: Any) -> tuple[str, bytes | None, bytes, int | None]:
    """(kind, dictionary, data, code_bytes) of a text column: a dictionary of values and codes when they
    repeat, else a JSON array."""
    import pandas as pd

    sample = texts[:_SAMPLE].tolist()
    if len(set(sample)) <= _FEW:
        codes, uniques = pd.factorize(texts, use_na_sentinel=True)
        return _coded(encode(list(uniques)), codes, len(uniques))
    return "text", None, encode(texts.tolist()), None


def _valid_text(value: str | None) -> str | None:
    """Text that UTF-8 can hold: a lone surrogate (a provider's broken escape) becomes U+FFFD."""
    if value is None:
        return None
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def column_crc32(dictionary: Any, data: Any) -> int:
    """The CRC-32 of a stored column's dictionary (or nothing) and data, as ``offer_columns.crc32`` holds."""
    import zlib

    if not isinstance(data, bytes) or not isinstance(dictionary, bytes | None):
        return -1
    return zlib.crc32(data, zlib.crc32(dictionary or b""))


def _texts(decoded: Any) -> list[str | None]:
    if not isinstance(decoded, list) or any(v is not None and type(v) is not str for v in decoded):
        raise ValueError("a text column is not a JSON array of strings and nulls")
    return decoded


def _codes(name: str, blob: bytes, size: list[Any], count: int, *, nulls: bool) -> np.ndarray:
    """A dictionary column's codes (``size``: [code_bytes] or []; 4 bytes when none or NULL), each a
    position in its dictionary of ``count`` values or, with ``nulls``, -1."""
    import numpy as np

    code_bytes = size[0] if size and size[0] is not None else 4
    if code_bytes not in (1, 2, 4):
        raise ValueError(f"column {name!r} has codes of {code_bytes!r} bytes")
    codes = np.frombuffer(blob, dtype=f"<i{code_bytes}")
    if len(codes) and (codes.min() < (-1 if nulls else 0) or codes.max() >= count):
        raise ValueError(f"column {name!r} has a code outside its dictionary")
    return codes


def decode_columns(stored: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """A frame from ``offer_columns`` rows (name, kind, dictionary, data[, code_bytes]); a dictionary
    column without ``code_bytes`` (or NULL: written before migration 5) has 4-byte codes. Note templates
    (with ``pricing.rendered.NOTE_AMOUNT_COLUMNS``, migration 6) are rendered to text in ``note``
    (``pricing.rendered.render_notes``), the amount columns dropped.

    Raises ValueError (or TypeError) on anything :func:`encode_columns` cannot have written: a blob of the
    wrong length or type, a text column that is not strings, a dictionary code out of range, columns of
    different lengths.
    """
    import msgspec
    import numpy as np
    import pandas as pd

    decode = msgspec.json.decode
    data: dict[str, Any] = {}
    coded: dict[str, tuple[list[str | None], np.ndarray]] = {}  # a dictionary column's values and codes
    for name, kind, dictionary, blob, *size in stored:
        if not isinstance(blob, bytes) or (dictionary is not None and not isinstance(dictionary, bytes)):
            raise TypeError(f"column {name!r} is not stored as bytes")
        if kind == "float64":
            floats = np.frombuffer(blob if dictionary is None else dictionary, dtype="<f8")
            if dictionary is not None:
                floats = floats[_codes(name, blob, size, len(floats), nulls=False)]
            data[name] = pd.Series(floats.astype("float64"), dtype="float64")
            continue
        if kind != "text":
            raise ValueError(f"column {name!r} has unknown kind {kind!r}")
        if dictionary is None:
            values = _texts(decode(blob))
            array = np.empty(len(values), dtype=object)
            array[:] = values
        else:
            uniques = _texts(decode(dictionary))
            codes = _codes(name, blob, size, len(uniques), nulls=True)
            coded[name] = (uniques, codes)
            table = np.empty(len(uniques) + 1, dtype=object)
            table[: len(uniques)] = uniques  # the trailing None: code -1
            array = table[codes]
        data[name] = pd.Series(array, dtype=object)
    if len({len(v) for v in data.values()}) > 1:
        raise ValueError("columns of different lengths")
    if set(NOTE_AMOUNT_COLUMNS) <= set(data) and "note" in data:
        hourly, upfront = (data.pop(name).to_numpy() for name in NOTE_AMOUNT_COLUMNS)
        templates, codes = coded.get("note") or _factorized(data["note"])
        data["note"] = pd.Series(render_notes(templates, codes, hourly, upfront), dtype=object)
    if SKU_TERM_COLUMN in data and "source_sku" in data:
        terms, codes = coded.get(SKU_TERM_COLUMN) or _factorized(data[SKU_TERM_COLUMN])
        del data[SKU_TERM_COLUMN]
        data["source_sku"] = pd.Series(render_skus(data["source_sku"].to_numpy(), terms, codes), dtype=object)
    return pd.DataFrame(data)


def _factorized(column: pd.Series) -> tuple[list[Any], np.ndarray]:
    """(distinct values, a code per row: -1 for None) of a decoded text column."""
    import pandas as pd

    codes, uniques = pd.factorize(column.to_numpy(), use_na_sentinel=True)
    return uniques.tolist(), codes


def _legacy_rows(db: sqlite3.Connection, snapshot_id: int, columns: Sequence[str]) -> pd.DataFrame:
    """A snapshot stored before migration 3 (one ``offers`` row per offer)."""
    import pandas as pd

    rows = db.execute(
        f"SELECT {', '.join(columns)} FROM offers WHERE snapshot_id = ?", (snapshot_id,)
    ).fetchall()
    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    for column in columns:
        if column in FLOAT_COLUMNS:
            frame[column] = pd.to_numeric(frame[column], errors="raise").astype("float64")
        else:
            text = frame[column].astype(object)
            frame[column] = text.where(text.notna(), None)
    return frame
