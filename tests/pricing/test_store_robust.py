"""The price store survives broken state: a damaged file is set aside (kept) and a fresh store started, and
everything else that can be wrong with the file or its home is one PricingError naming the file and the fix.
Two processes writing at once lose nothing."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

import pandas as pd
import pytest

from pricing.catalog import load_catalog, load_embedded
from pricing.errors import PricingError
from pricing.store import (
    PriceStore,
    PriceStoreRebuilt,
    StoreDamaged,
    decode_columns,
    encode_columns,
    store_error,
)
from tests.damage import damage_pages, foreign, garbage, is_root, newer, page_count, run_python

NOW = "2026-11-25T00:00:00Z"


def sample(n: int = 50) -> pd.DataFrame:
    return load_embedded().head(n).copy()


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.corrupt-*"))


def rebuilt(store: PriceStore) -> list[str]:
    """The notices of a store that was just set aside; asserts the warning too."""
    assert len(store.notices) == 1, store.notices
    assert "kept it as" in store.notices[0] and "started a new price store" in store.notices[0]
    return store.notices


def test_garbage_bytes_are_set_aside_and_a_fresh_store_started(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    data = garbage(path)
    store = PriceStore(path)
    with pytest.warns(PriceStoreRebuilt, match="is damaged"):
        assert store.snapshots() == []
    rebuilt(store)
    (backup,) = backups(path)
    assert backup.read_bytes() == data  # nothing lost: the damaged file is kept as it was
    assert str(path) in store.notices[0] and backup.name in store.notices[0]
    snap = store.write_snapshot("aws", "t", NOW, sample())
    assert [s.id for s in PriceStore(path).snapshots()] == [snap.id]


def test_a_pull_into_a_damaged_store_lands_in_a_fresh_one(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    garbage(path)
    store = PriceStore(path)
    with pytest.warns(PriceStoreRebuilt):
        snap = store.write_snapshot("aws", "t", NOW, sample(7))
    assert len(store.offers([snap.id])) == 7 and len(backups(path)) == 1


def _three_snapshots(path: Path) -> PriceStore:
    store = PriceStore(path)
    offers = load_embedded()
    for _ in range(3):
        store.write_snapshot("aws", "t", NOW, offers)
    return store


def test_damaged_pages_behind_a_valid_header(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    _three_snapshots(path)
    count = page_count(path)
    damage_pages(path, range(count - 6, count - 2))  # the column blobs of the newest snapshot
    store = PriceStore(path)
    assert [s.id for s in store.snapshots()] == [3, 2, 1]  # the snapshot list itself is intact
    with pytest.warns(PriceStoreRebuilt):
        catalog = load_catalog(store, ("aws",))
    rebuilt(store)
    # read again after the store was set aside: the embedded prices, labelled as such (not an empty pull)
    assert catalog.snapshots["aws"].kind == "embedded"
    assert len(catalog.offers) == len(load_catalog(None, ("aws",)).offers)
    assert len(backups(path)) == 1 and store.snapshots() == []


def test_damaged_btree_pages_are_sqlite_corruption(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    _three_snapshots(path)
    damage_pages(path, range(2, page_count(path) + 1))  # every page but the header and schema
    store = PriceStore(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.offers([1, 2, 3])
        store.snapshots()
    assert [w.category for w in caught] == [PriceStoreRebuilt]
    assert len(backups(path)) == 1


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("meta_json", "'{not json'"),
        ("meta_json", "'[1, 2]'"),
        ("offer_count", "'many'"),
    ],
)
def test_a_snapshot_record_that_does_not_decode(tmp_path: Path, column: str, value: str) -> None:
    path = tmp_path / "prices.sqlite"
    PriceStore(path).write_snapshot("aws", "t", NOW, sample())
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE snapshots SET {column} = {value}")
    db.close()
    store = PriceStore(path)
    with pytest.warns(PriceStoreRebuilt, match="snapshot #1's record does not decode"):
        assert store.snapshots() == []


@pytest.mark.parametrize(
    ("update", "name", "reason"),
    [
        ("data = x'00010203'", "price_usd_per_hour", "CRC-32"),  # contents changed: wrong prices read
        ("dictionary = x'7b7b', crc32 = NULL", "provider", "malformed"),  # not JSON (no checksum first)
        # a float64 blob of the wrong length
        ("data = x'0102', dictionary = NULL, code_bytes = NULL, crc32 = NULL", "price_usd_per_hour",
         "buffer size"),
        ("dictionary = CAST('[1, 2]' AS BLOB), crc32 = NULL", "provider", "not a JSON array of strings"),
        ("data = CAST('[{\"a\": 1}]' AS BLOB), dictionary = NULL, crc32 = NULL", "note", "strings"),
        ("data = x'05000000', crc32 = NULL", "provider", "outside its dictionary"),
        ("data = x'000005', crc32 = NULL", "price_usd_per_hour", "outside its dictionary"),
        ("data = x'00ff00', crc32 = NULL", "price_usd_per_hour", "outside its dictionary"),  # no null code
        ("kind = 'float64', crc32 = NULL", "provider", "buffer size"),  # text read as float64
        ("data = 'text', crc32 = NULL", "provider", "not stored as bytes"),
        ("code_bytes = 3", "provider", "codes of 3 bytes"),
        ("code_bytes = 2", "provider", "buffer size"),  # 3 one-byte codes read as two-byte ones
    ],
)  # fmt: skip
def test_a_column_blob_that_does_not_decode(tmp_path: Path, update: str, name: str, reason: str) -> None:
    path = tmp_path / "prices.sqlite"
    rows = sample(3)
    rows["note"] = ["a", "b", "c"]
    snap = PriceStore(path).write_snapshot("aws", "t", NOW, rows)
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE offer_columns SET {update} WHERE name = ?", (name,))
    db.close()
    store = PriceStore(path)
    with pytest.warns(PriceStoreRebuilt, match=reason):
        assert store.offers([snap.id]).empty
    assert len(backups(path)) == 1


def test_someone_elses_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    data = foreign(path)
    for call in (lambda s: s.snapshots(), lambda s: s.write_snapshot("aws", "t", NOW, sample())):
        with pytest.raises(PricingError, match=r"prices.sqlite is not a tco price store .*invoices.*move"):
            call(PriceStore(path))
    assert path.read_bytes() == data and backups(path) == []


def test_a_tco_schema_version_without_its_tables_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE snapshots (x)")
        db.execute("PRAGMA user_version = 2")
    db.close()
    with pytest.raises(PricingError, match="schema version 2 without the tables book_rules, offers"):
        PriceStore(path).snapshots()


def test_a_newer_schema_names_the_file_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    data = newer(path)
    with pytest.raises(PricingError, match=rf"{path} has schema version 99, newer .*upgrade tco"):
        PriceStore(path).write_snapshot("aws", "t", NOW, sample())
    assert path.read_bytes() == data


def test_a_directory_where_the_store_goes(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    path.mkdir()
    for call in (lambda s: s.snapshots(), lambda s: s.write_snapshot("aws", "t", NOW, sample())):
        with pytest.raises(PricingError, match=r"prices.sqlite is a directory, not a file \(remove"):
            call(PriceStore(path))


def test_a_home_that_is_a_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("not a directory")
    for call in (lambda s: s.snapshots(), lambda s: s.write_snapshot("aws", "t", NOW, sample())):
        with pytest.raises(
            PricingError, match=r"the tco home .*home is a file \(price store prices.sqlite\) \(point --home"
        ):
            call(PriceStore(home / "prices.sqlite"))
    assert home.read_text() == "not a directory"


def test_a_home_that_cannot_be_created(tmp_path: Path) -> None:
    if not Path("/proc/self").is_dir():
        pytest.skip("needs /proc (where nothing can be created, even by root)")
    with pytest.raises(PricingError, match="cannot create the tco home /proc/tco-home"):
        PriceStore(Path("/proc/tco-home/prices.sqlite")).write_snapshot("aws", "t", NOW, sample())
    assert PriceStore(Path("/proc/tco-home/prices.sqlite")).snapshots() == []  # reading: nothing there


@pytest.mark.skipif(is_root(), reason="root writes through file permissions")
def test_a_read_only_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = PriceStore(home / "prices.sqlite")
    store.write_snapshot("aws", "t", NOW, sample())
    home.chmod(0o500)
    (home / "prices.sqlite").chmod(0o400)
    try:
        with pytest.raises(PricingError, match=r"prices.sqlite"):
            PriceStore(home / "prices.sqlite").write_snapshot("aws", "t", NOW, sample())
    finally:
        home.chmod(0o700)


def test_sqlite_failures_are_worded_for_the_user(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    db = sqlite3.connect(tmp_path / "small.sqlite")
    db.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.Error) as full:
        db.execute("CREATE TABLE t (x)")
        db.executemany("INSERT INTO t VALUES (?)", [("x" * 5000,)] * 10)
    db.close()
    assert "no space left on the disk of" in str(store_error(full.value, path, "writing"))
    assert "read-only" in str(
        store_error(
            _error_with_code(sqlite3.OperationalError, 8, "attempt to write a readonly database"), path, "w"
        )
    )
    damaged = store_error(
        _error_with_code(sqlite3.DatabaseError, 11, "database disk image is malformed"), path, "r"
    )
    assert isinstance(damaged, StoreDamaged) and f"mv {path}" in str(damaged)


def _error_with_code(kind: type[sqlite3.Error], code: int, message: str) -> sqlite3.Error:
    error = kind(message)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


def test_a_lock_held_too_long_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    PriceStore(path).write_snapshot("aws", "t", NOW, sample())
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        store = PriceStore(path)
        store.busy_timeout_s = 0.2
        with pytest.raises(PricingError, match=r"stayed locked by another process.*try again"):
            store.write_snapshot("aws", "t", NOW, sample())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert len(PriceStore(path).snapshots()) == 1


def test_a_store_set_aside_by_another_process_is_not_set_aside_again(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    PriceStore(path).write_snapshot("aws", "t", NOW, sample())  # the fresh store the other process made
    store = PriceStore(path)
    stale = (0, 0)  # the (device, inode) this process saw before the other one replaced the file
    store._set_aside(StoreDamaged("the price store is damaged"), stale)
    assert backups(path) == [] and len(store.snapshots()) == 1 and store.notices == []


def test_text_and_numbers_that_are_not_offer_values(tmp_path: Path) -> None:
    store = PriceStore(tmp_path / "prices.sqlite")
    rows = sample(3)
    rows["note"] = [{"a": 1}, None, "x"]
    with pytest.raises(PricingError, match="'note' holds a value that is not text: dict"):
        store.write_snapshot("aws", "t", NOW, rows)
    assert not store.exists() or store.snapshots() == []


@pytest.mark.parametrize("many", [False, True])  # a dictionary column, and a JSON-array one
def test_text_that_is_not_valid_unicode_is_stored_with_a_replacement(tmp_path: Path, many: bool) -> None:
    store = PriceStore(tmp_path / "prices.sqlite")
    rows = sample(300)
    notes = [f"n{i}" if many else "x" for i in range(300)]
    notes[0], notes[1] = "a\ud800b", None  # a lone surrogate (a broken escape) cannot be UTF-8
    rows["note"] = notes
    snap = store.write_snapshot("aws", "t", NOW, rows)
    back = store.offers([snap.id])["note"].tolist()
    assert back[0] == "a\ufffdb" and back[1] is None and back[2:] == notes[2:]


def test_hostile_but_valid_values_round_trip(tmp_path: Path) -> None:
    store = PriceStore(tmp_path / "prices.sqlite")
    rows = sample(6)
    rows["price_usd_per_hour"] = [float("inf"), -1.0, 1e308, float("nan"), 0.0, 5e-324]
    rows["note"] = ["[bold]x[/]", '=HYPERLINK("http://e")', "a\rb", "+cmd", "@SUM(A1)", "[link=file:///]"]
    snap = store.write_snapshot("aws", "t", NOW, rows)
    back = store.offers([snap.id])
    assert back["note"].tolist() == rows["note"].tolist()
    pd.testing.assert_series_equal(
        back["price_usd_per_hour"], rows["price_usd_per_hour"].reset_index(drop=True)
    )


def test_decode_refuses_a_kind_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="unknown kind 'json'"):
        decode_columns([("note", "json", None, b"[]")])


def test_encode_decode_round_trip_many_distinct_texts() -> None:
    rows = sample(300)
    rows["source_sku"] = [f"sku-{i}" for i in range(300)]
    columns = [c for c in rows.columns if c != "snapshot"]
    stored = [r[1:] for r in encode_columns(rows, columns)]
    back = decode_columns(stored)
    assert back["source_sku"].tolist() == rows["source_sku"].tolist()


WRITER = """
import sys, time
from pathlib import Path
from pricing.catalog import load_embedded
from pricing.store import PriceStore
store = PriceStore(Path(sys.argv[1]))
offers = load_embedded().head(200)
print("ready", flush=True)
while not Path(sys.argv[1] + ".go").exists():  # both start writing at the same moment
    time.sleep(0.01)
for i in range(int(sys.argv[2])):
    store.write_snapshot(sys.argv[3], "t", f"2026-11-25T00:00:{i:02d}Z", offers, {"i": i})
print("done")
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "home" / "prices.sqlite"
    path.parent.mkdir()
    procs = [run_python(WRITER, str(path), "40", name) for name in ("aws", "gcp")]  # 40 snapshots each
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    Path(f"{path}.go").touch()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and out.strip() == "done", err
    store = PriceStore(path)
    snapshots = store.snapshots()
    assert sorted(s.provider for s in snapshots) == ["aws"] * 40 + ["gcp"] * 40
    assert sorted(s.meta["i"] for s in snapshots if s.provider == "gcp") == list(range(40))
    assert all(len(store.offers([s.id])) == 200 for s in snapshots)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    assert store.notices == []
