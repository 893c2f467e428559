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
    broken["accelerator_count"] = object()  # sqlite cannot bind this: the insert fails mid-transaction
    with pytest.raises(sqlite3.Error):
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
    with pytest.raises(PricingError, match="cannot open the price store"):
        PriceStore(blocker / "sub" / "p.sqlite").write_snapshot("aws", "t", "now", sample())
