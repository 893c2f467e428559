"""Snapshot diffs: what is new, removed and re-priced, biggest impact first; which snapshots are compared."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from pricing.diff import diff_offers, diff_snapshots, resolve_pairs
from pricing.errors import PricingError
from pricing.providers.base import offers_frame
from pricing.store import PriceStore

COLUMNS = (
    "provider",
    "region",
    "zone",
    "instance_type",
    "accelerator",
    "accelerator_count",
    "pricing_model",
    "price_usd_per_hour",
    "note",
)


def offers(*rows: tuple[Any, ...]) -> Any:
    return offers_frame(rows, COLUMNS)


OLD = offers(
    ("aws", "us-east-1", None, "p5.48xlarge", "H100-80GB", 8.0, "on_demand", 55.04, ""),
    ("aws", "us-east-1", "use1-az4", "p5.48xlarge", "H100-80GB", 8.0, "spot", 12.0, ""),
    ("aws", "us-east-1", None, "p5.48xlarge", "H100-80GB", 8.0, "reserved_1y", 37.0, "payment=no_upfront; a"),
    (
        "aws",
        "us-east-1",
        None,
        "p5.48xlarge",
        "H100-80GB",
        8.0,
        "reserved_1y",
        34.2,
        "payment=all_upfront; b",
    ),
    ("aws", "us-west-2", None, "p4d.24xlarge", "A100-40GB", 8.0, "on_demand", 21.96, ""),
    ("aws", "us-west-2", None, "g6.xlarge", "L4", 1.0, "on_demand", None, ""),
    ("aws", "us-west-2", None, "g5.xlarge", "A10G", 1.0, "on_demand", 1.006, ""),
)
NEW = offers(
    ("aws", "us-east-1", None, "p5.48xlarge", "H100-80GB", 8.0, "on_demand", 55.04, ""),  # unchanged
    ("aws", "us-east-1", "use1-az4", "p5.48xlarge", "H100-80GB", 8.0, "spot", 14.5, ""),  # up 2.5
    ("aws", "us-east-1", None, "p5.48xlarge", "H100-80GB", 8.0, "reserved_1y", 37.0, "payment=no_upfront; a"),
    (
        "aws",
        "us-east-1",
        None,
        "p5.48xlarge",
        "H100-80GB",
        8.0,
        "reserved_1y",
        30.0,
        "payment=all_upfront; b",
    ),
    ("aws", "us-west-2", None, "g6.xlarge", "L4", 1.0, "on_demand", 0.805, ""),  # now priced
    ("aws", "us-west-2", None, "g5.xlarge", "A10G", 1.0, "on_demand", None, ""),  # price withdrawn
    ("aws", "eu-west-1", None, "p5.48xlarge", "H100-80GB", 8.0, "on_demand", 60.0, ""),  # new
)


def test_changes_are_classified_and_sorted_by_impact() -> None:
    changes = diff_offers(OLD, NEW)
    summary = [
        (r["change"], r["instance_type"], r["region"], r["pricing_model"], r["variant"])
        for r in changes.to_dict("records")
    ]
    assert summary == [
        ("new", "p5.48xlarge", "eu-west-1", "on_demand", ""),
        ("removed", "p4d.24xlarge", "us-west-2", "on_demand", ""),
        ("down", "p5.48xlarge", "us-east-1", "reserved_1y", "all_upfront"),
        ("up", "p5.48xlarge", "us-east-1", "spot", ""),
        ("price withdrawn", "g5.xlarge", "us-west-2", "on_demand", ""),
        ("now priced", "g6.xlarge", "us-west-2", "on_demand", ""),
    ]
    down = changes.iloc[2]
    assert down["delta_usd_per_hour"] == pytest.approx(-4.2) and down["delta_pct"] == pytest.approx(
        -4.2 / 34.2 * 100
    )
    assert down["impact_usd_per_hour"] == pytest.approx(4.2)
    new = changes.iloc[0]
    assert math.isnan(new["old_price_usd_per_hour"]) and new["impact_usd_per_hour"] == 60.0
    assert changes.iloc[3]["zone"] == "use1-az4"


def test_identical_tables_have_no_changes() -> None:
    assert diff_offers(OLD, OLD).empty


@pytest.fixture
def store(tmp_path: Path) -> PriceStore:
    store = PriceStore(tmp_path / "prices.sqlite")
    store.write_snapshot("aws", "test", "2026-01-01T00:00:00Z", OLD)
    store.write_snapshot(
        "gcp",
        "test",
        "2026-01-02T00:00:00Z",
        offers(("gcp", "us-east1", None, "a2-highgpu-1g", "A100-40GB", 1.0, "on_demand", 3.673385, "")),
    )
    store.write_snapshot("aws", "test", "2026-01-03T00:00:00Z", NEW)
    return store


def test_default_pairs_are_newest_against_the_one_before_else_embedded(store: PriceStore) -> None:
    pairs = resolve_pairs(store, None, None)
    assert [(a.label, b.label) for a, b in pairs] == [
        ("pull #1 2026-01-01T00:00:00Z", "pull #3 2026-01-03T00:00:00Z"),
        ("embedded (gcp)", "pull #2 2026-01-02T00:00:00Z"),
    ]
    changes = diff_snapshots(store, pairs)
    assert set(changes["old_snapshot"]) == {"pull #1 2026-01-01T00:00:00Z", "embedded (gcp)"}
    aws = changes[changes["provider"].eq("aws")]
    assert len(aws) == 6
    gcp = changes[changes["provider"].eq("gcp")]
    assert "removed" in set(gcp["change"])  # the embedded GCP rows that pull #2 lacks


def test_explicit_ids_and_their_errors(store: PriceStore) -> None:
    [(old, new)] = resolve_pairs(store, "1", None)
    assert (old.snapshot and old.snapshot.id, new.snapshot and new.snapshot.id) == (1, 3)
    [(old, new)] = resolve_pairs(store, "#3", "1")
    assert old.snapshot is not None and old.snapshot.id == 3
    [(old, new)] = resolve_pairs(store, "embedded", "2")
    assert old.snapshot is None and old.provider == "gcp"
    with pytest.raises(PricingError, match=r"different providers \(#1 is aws and #2 is gcp\)"):
        resolve_pairs(store, "1", "2")
    with pytest.raises(PricingError, match="no snapshot #9"):
        resolve_pairs(store, "9", None)
    with pytest.raises(PricingError, match="not a snapshot id"):
        resolve_pairs(store, "latest", None)
    with pytest.raises(PricingError, match="is the newest aws pull"):
        resolve_pairs(store, "3", None)


def test_no_pulls_to_compare(tmp_path: Path) -> None:
    with pytest.raises(PricingError, match="no pulled snapshots to compare"):
        resolve_pairs(PriceStore(tmp_path / "none.sqlite"), None, None)


def test_a_key_column_that_is_all_null_on_one_side() -> None:
    """All-null text reads as float64 NaN; merging it with text once raised ValueError (diff.py)."""
    old = OLD.copy()
    old["zone"] = float("nan")
    new = NEW.copy()
    new["provider"] = float("nan")
    out = diff_offers(old, new)
    assert len(out) == len(OLD) + len(NEW)  # no key matches: every old offer removed, every new one new
    assert set(out["change"]) == {"new", "removed"} and out["provider"].isna().sum() == len(NEW)
