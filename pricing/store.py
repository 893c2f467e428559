"""The local price store: pulled snapshots in SQLite, written in one transaction each.

A snapshot is visible only once its offers are all written (``status = 'complete'`` in the same
transaction), so a failed, interrupted or partial pull leaves the previous snapshot in use. WAL mode and
a busy timeout let two pulls and any number of readers run at once without corrupting anything.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pricing.errors import PricingError
from pricing.schema import ALL_COLUMNS, FLOAT_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

DB_FILENAME: Final = "prices.sqlite"

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


class PriceStore:
    """Snapshots of pulled prices in ``<home>/prices.sqlite``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise PricingError(
                f"cannot open the price store {self.path}: {exc}",
                hint="check --home / TCO_HOME points at a writable directory",
            ) from exc
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # WAL with synchronous=NORMAL cannot corrupt the store; a power cut can only lose the last
            # snapshots written (the previous ones stay in use), and commits skip an fsync each.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=30000")
            self._migrate(db)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise PricingError(
                f"the price store {self.path} is unreadable: {exc}",
                hint="move it aside; the embedded snapshot is used meanwhile",
            ) from exc
        try:
            yield db
        finally:
            db.close()

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise PricingError(
                f"the price store has schema version {version}, newer than this tco knows",
                hint="upgrade tco, or point TCO_HOME elsewhere",
            )
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
                db.execute("ROLLBACK")
                raise

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

        The offers go in as one blob per column (``offer_columns``, see :func:`encode_columns`).
        """
        columns = [c for c in ALL_COLUMNS if c != "snapshot"]
        frame = offers.reindex(columns=columns)
        regions = int(offers["region"].nunique()) if len(offers) else 0
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    "INSERT INTO snapshots (provider, source, fetched_at, status, offer_count, region_count, "
                    "meta_json) VALUES (?, ?, ?, 'complete', ?, ?, ?)",
                    (
                        provider,
                        source,
                        fetched_at,
                        len(offers),
                        regions,
                        json.dumps(meta or {}, sort_keys=True),
                    ),
                )
                snapshot_id = int(cursor.lastrowid or 0)
                db.executemany(
                    "INSERT INTO offer_columns (snapshot_id, position, name, kind, dictionary, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(snapshot_id, *column) for column in encode_columns(frame, columns)],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return Snapshot(snapshot_id, provider, source, fetched_at, len(offers), regions, meta or {})

    def write_book(
        self,
        source: str,
        imported_at: str,
        rules: Sequence[tuple[Any, ...]],
        meta: dict[str, Any] | None = None,
    ) -> Snapshot:
        """Store a price book's rules (tuples in ``BOOK_RULE_COLUMNS`` order) as one snapshot, atomically."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    "INSERT INTO snapshots (provider, source, fetched_at, status, offer_count, region_count, "
                    "meta_json) VALUES (?, ?, ?, 'complete', ?, 0, ?)",
                    (BOOK_PROVIDER, source, imported_at, len(rules), json.dumps(meta or {}, sort_keys=True)),
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
                db.execute("ROLLBACK")
                raise
        return Snapshot(snapshot_id, BOOK_PROVIDER, source, imported_at, len(rules), 0, meta or {})

    def book_rules(self, snapshot_id: int) -> list[tuple[Any, ...]]:
        """A stored price book's rules, in file order (tuples in ``BOOK_RULE_COLUMNS`` order)."""
        with self.connect() as db:
            rows = db.execute(
                f"SELECT {', '.join(BOOK_RULE_COLUMNS)} FROM book_rules WHERE snapshot_id = ? ORDER BY line",
                (snapshot_id,),
            ).fetchall()
        return [tuple(row) for row in rows]

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
        if not self.exists():
            return []
        query = "SELECT id, provider, source, fetched_at, offer_count, region_count, meta_json FROM snapshots"
        params: tuple[str, ...] = ()
        if provider:
            query += " WHERE provider = ?"
            params = (provider,)
        with self.connect() as db:
            rows = db.execute(query + " ORDER BY id DESC", params).fetchall()
        return [Snapshot(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6])) for r in rows]

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
        parts = []
        with self.connect() as db:
            for snapshot_id in sorted(set(snapshot_ids)):
                row = db.execute("SELECT fetched_at FROM snapshots WHERE id = ?", (snapshot_id,)).fetchone()
                if row is None:
                    continue
                stored = db.execute(
                    "SELECT name, kind, dictionary, data FROM offer_columns WHERE snapshot_id = ? "
                    "ORDER BY position",
                    (snapshot_id,),
                ).fetchall()
                frame = decode_columns(stored) if stored else _legacy_rows(db, snapshot_id, columns)
                label = f"pull #{snapshot_id} {row[0]}"
                frame["snapshot"] = pd.Series(np.full(len(frame), label, dtype=object), dtype=object)
                parts.append(frame)
        if not parts:
            return pd.DataFrame(columns=list(ALL_COLUMNS))
        out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return out.reindex(columns=list(ALL_COLUMNS))


#: A text column whose first ``_SAMPLE`` values hold at most this many distinct ones is stored as a
#: dictionary of its values and an int32 code per row (a region, an instance type, a constant source);
#: others as a JSON array (notes, SKUs).
_SAMPLE: Final = 1000
_FEW: Final = 100


def encode_columns(frame: pd.DataFrame, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """(position, name, kind, dictionary, data) per column of ``frame`` for ``offer_columns``.

    Float columns are float64 bytes (NaN for null). Text columns are either a JSON array (null for null,
    ``dictionary`` NULL) or, when their values repeat, the JSON array of distinct values in ``dictionary``
    and an int32 code per row in ``data`` (-1 for null).
    """
    import msgspec
    import numpy as np
    import pandas as pd

    encode = msgspec.json.encode
    encoded: list[tuple[Any, ...]] = []
    for position, name in enumerate(columns):
        series = frame[name]
        if name in FLOAT_COLUMNS:
            values = np.asarray(pd.to_numeric(series, errors="raise"), dtype="<f8")
            encoded.append((position, name, "float64", None, values.tobytes()))
            continue
        texts = series.to_numpy(dtype=object)
        try:  # NaN and None both become JSON null
            sample = texts[:_SAMPLE].tolist()
            if len({type(v) for v in sample} - {str}) == 0 and len(set(sample)) <= _FEW:
                codes, uniques = pd.factorize(texts, use_na_sentinel=True)
                dictionary = encode(list(uniques))
                encoded.append((position, name, "text", dictionary, codes.astype("<i4").tobytes()))
            else:
                encoded.append((position, name, "text", None, encode(texts.tolist())))
        except (TypeError, msgspec.EncodeError) as exc:
            raise TypeError(f"offer column {name!r} holds a value that is not text: {exc}") from exc
    return encoded


def decode_columns(stored: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """A frame from ``offer_columns`` rows (name, kind, dictionary, data)."""
    import msgspec
    import numpy as np
    import pandas as pd

    decode = msgspec.json.decode
    data: dict[str, Any] = {}
    for name, kind, dictionary, blob in stored:
        if kind == "float64":
            data[name] = pd.Series(np.frombuffer(blob, dtype="<f8").astype("float64"), dtype="float64")
            continue
        if dictionary is None:
            values = decode(blob)
            array = np.empty(len(values), dtype=object)
            array[:] = values
        else:
            uniques = decode(dictionary)
            table = np.empty(len(uniques) + 1, dtype=object)
            table[: len(uniques)] = uniques  # the trailing None: code -1
            array = table[np.frombuffer(blob, dtype="<i4")]
        data[name] = pd.Series(array, dtype=object)
    return pd.DataFrame(data)


def _legacy_rows(db: sqlite3.Connection, snapshot_id: int, columns: Sequence[str]) -> pd.DataFrame:
    """A snapshot stored before migration 3 (one ``offers`` row per offer)."""
    import pandas as pd

    frame = pd.read_sql_query(
        f"SELECT {', '.join(columns)} FROM offers WHERE snapshot_id = ?", db, params=(snapshot_id,)
    )
    for column in columns:
        if column in FLOAT_COLUMNS:
            frame[column] = frame[column].astype("float64")
        else:
            text = frame[column].astype(object)
            frame[column] = text.where(text.notna(), None)
    return frame
