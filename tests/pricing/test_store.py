from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from pricing.catalog import load_embedded
from pricing.errors import PricingError
from pricing.store import MIGRATIONS, PriceStore


def sample(n: int = 5) -> pd.DataFrame:
    return load_embedded().head(n).copy()


def test_migrations_set_user_version(tmp_path: Path) -> None:
    store = PriceStore(tmp_path / "p.sqlite")
    assert store.snapshots() == []  # no file yet: nothing, and nothing created
    assert not store.exists()
    store.write_snapshot("aws", "test", "2026-11-25T00:00:00Z", sample())
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_round_trip_keeps_values_and_nulls(tmp_path: Path) -> None:
    store = PriceStore(tmp_path / "p.sqlite")
    rows = sample(20)
    rows.loc[rows.index[0], "price_usd_per_hour"] = float("nan")
    snap = store.write_snapshot("aws", "test", "2026-11-25T00:00:00Z", rows, {"pages": 3})
    back = store.offers([snap.id])
    assert len(back) == 20 and back.price_usd_per_hour.isna().sum() == rows.price_usd_per_hour.isna().sum()
    assert back.snapshot.str.startswith(f"pull #{snap.id}").all()
    assert store.latest()["aws"].meta == {"pages": 3}


def test_failed_write_leaves_previous_snapshot(tmp_path: Path) -> None:
    store = PriceStore(tmp_path / "p.sqlite")
    first = store.write_snapshot("aws", "test", "2026-11-24T00:00:00Z", sample())
    broken = sample()
    broken["accelerator_count"] = object()  # not a number: the write fails mid-transaction
    with pytest.raises(PricingError, match="accelerator_count' holds a value that is not a number"):
        store.write_snapshot("aws", "test", "2026-11-25T00:00:00Z", broken)
    assert [s.id for s in store.snapshots()] == [first.id]
    assert len(store.offers([first.id])) == 5


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(PricingError, match="newer than this tco"):
        PriceStore(path).snapshots()


def test_unwritable_home_is_a_pricing_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PricingError, match=r"home .*/file/sub cannot be created: .*/file is a file"):
        PriceStore(blocker / "sub" / "p.sqlite").write_snapshot("aws", "t", "now", sample())


def test_offers_come_back_exactly_as_written(tmp_path: Path) -> None:
    store = PriceStore(tmp_path / "p.sqlite")
    rows = load_embedded()
    rows = rows[rows["provider"].isin(["aws", "gcp", "primeintellect"])].reset_index(drop=True)
    rows.loc[0, "price_usd_per_hour"] = float("nan")
    rows.loc[1, "note"] = ""  # empty text is not null
    rows.loc[2, "source_sku"] = "SKU.TERM"
    snap = store.write_snapshot("aws", "test", "2026-11-25T00:00:00Z", rows)
    back = store.offers([snap.id])
    expected = rows.assign(snapshot=f"pull #{snap.id} 2026-11-25T00:00:00Z")
    for column in expected.columns:
        if expected[column].dtype != "float64":
            text = expected[column].astype(object)
            expected[column] = text.where(text.notna(), None)
    pd.testing.assert_frame_equal(back, expected)
    assert back.loc[1, "note"] == "" and back["zone"].map(lambda z: z is None or isinstance(z, str)).all()


def test_snapshots_written_before_column_storage_still_read(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    with sqlite3.connect(path) as db:  # a store as migration 1 left it, with one snapshot in offer rows
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
        db.execute(
            "INSERT INTO snapshots (id, provider, source, fetched_at, status, offer_count, region_count) "
            "VALUES (7, 'aws', 'old', '2026-01-01T00:00:00Z', 'complete', 2, 1)"
        )
        rows = sample(2)
        columns = [c for c in rows.columns if c != "snapshot"]
        frame = rows[columns].astype(object).where(rows[columns].notna(), None)
        marks = ", ".join("?" for _ in columns)
        db.executemany(
            f"INSERT INTO offers (snapshot_id, {', '.join(columns)}) VALUES (7, {marks})",
            list(frame.itertuples(index=False, name=None)),
        )
    store = PriceStore(path)
    new = store.write_snapshot("aws", "new", "2026-02-01T00:00:00Z", sample(2))
    old_rows, new_rows = store.offers([7]), store.offers([new.id])
    pd.testing.assert_frame_equal(old_rows.drop(columns="snapshot"), new_rows.drop(columns="snapshot"))
    both = store.offers([new.id, 7])
    assert (
        list(both["snapshot"])
        == ["pull #7 2026-01-01T00:00:00Z"] * 2 + [f"pull #{new.id} 2026-02-01T00:00:00Z"] * 2
    )
