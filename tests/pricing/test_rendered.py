"""AWS notes kept as templates and amounts, and SKUs as the product's SKU and the term's code, rendered where
they are read (``pricing.rendered``, migration 6): readers see the text the ingest made before, old stores
read as they were, and nothing but the two amount fields is interpreted in a template."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pricing.errors import PricingError
from pricing.providers import aws
from pricing.providers.base import SkipCounter
from pricing.pull import validate_offers
from pricing.rendered import (
    NOTE_AMOUNT_COLUMNS,
    PART_COLUMNS,
    SKU_TERM_COLUMN,
    check_templates,
    note_template,
    render_notes,
    render_skus,
    with_rendered_text,
)
from pricing.store import MIGRATIONS, PriceStore, PriceStoreRebuilt
from tests.pricing import reference_ingest as reference
from tests.pricing.servers.data import aws_items

FETCHED_AT = "2026-01-01T00:00:00Z"

#: Amounts as the API writes them (text): zero, minus zero, tiny, huge, many digits, ties of %g's rounding.
AMOUNTS = ["0", "-0", "0.0000000000", "5e-324", "1e-7", "0.000012345678", "1.7976931348623157e308", "1e16",
           "123456789.123", "0.1", "0.30000000000000004", "36.9686924599", "999999.5", "9999995", "12345650",
           "0.0001234565", "1e300", "2.5", "3.5", "1.0000005", "100000", "999999", "1000000", "55.04",
           "7e-5", "42"]  # fmt: skip


def product(hourly: str, upfront: str, number: int) -> str:
    """The fixture's p5 product in its own region, each reserved term with these amounts (every reserved
    kind: no upfront fee, partial, all upfront)."""
    item = copy.deepcopy(aws_items()[0])
    item["product"]["sku"] = f"SKU{number:06d}"
    item["product"]["attributes"]["regionCode"] = f"xx-test-{number}"
    for term in item["terms"]["Reserved"].values():
        for dimension in term["priceDimensions"].values():
            dimension["pricePerUnit"]["USD"] = upfront if dimension["unit"] == "Quantity" else hourly
    return json.dumps(item)


def pages() -> list[str]:
    return [product(h, u, i * len(AMOUNTS) + j) for i, h in enumerate(AMOUNTS) for j, u in enumerate(AMOUNTS)]


def reference_notes(texts: list[str]) -> list[str]:
    """The notes of the ingest before templates (tests/pricing/reference_ingest.py: an f-string of
    ``{amount:g}``, which the parser before this change wrote too)."""
    rows = reference.parse_products(
        texts, fetched_at=FETCHED_AT, regions=frozenset(), seen=set(), added=set(), skipped=SkipCounter()
    )
    return [row[-1] for row in rows]


def reference_skus(texts: list[str]) -> list[str]:
    rows = reference.parse_products(
        texts, fetched_at=FETCHED_AT, regions=frozenset(), seen=set(), added=set(), skipped=SkipCounter()
    )
    return [row[13] for row in rows]


def parsed(texts: list[str]) -> aws.PriceListRows:
    return aws.parse_products(
        texts, fetched_at=FETCHED_AT, regions=frozenset(), seen=set(), added=set(), skipped=SkipCounter()
    )


def test_stored_notes_read_back_as_the_text_formatted_before(tmp_path: Path) -> None:
    texts = pages()
    rows = parsed(texts)
    frame = rows.frame()
    assert set(NOTE_AMOUNT_COLUMNS) <= set(frame.columns)  # templates in the frame, not text
    expected = reference_notes(texts)
    assert len(expected) == len(frame) == 7 * len(texts)
    offers, _ = validate_offers(frame, unique=True)
    store = PriceStore(tmp_path / "prices.sqlite")
    snapshot = store.write_snapshot("aws", "test", FETCHED_AT, offers)
    back = store.offers([snapshot.id])
    assert back["note"].tolist() == expected
    assert back["source_sku"].tolist() == reference_skus(texts)
    assert not set(PART_COLUMNS) & set(back.columns)
    assert rows.frame().pipe(with_rendered_text)["note"].tolist() == expected  # the one function
    assert [row[-1] for row in rows.rows()] == expected
    # and the prices, now computed from the amounts a page at a time, are those computed a row at a time
    before = reference.parse_products(
        texts, fetched_at=FETCHED_AT, regions=frozenset(), seen=set(), added=set(), skipped=SkipCounter()
    )
    np.testing.assert_array_equal(
        np.array([row[10] for row in rows.rows()], dtype=float),
        np.array([row[10] for row in before], dtype=float),
    )


@pytest.mark.parametrize(
    "amount",
    [
        0.0,
        -0.0,
        5e-324,
        1e-7,
        1.7976931348623157e308,
        float("inf"),
        float("-inf"),
        float("nan"),
        0.1 + 0.2,
        123456789.123456789,
        999999.5,
        1.0000005,
        12345650.0,
        -3.25,
    ],
    ids=repr,
)
def test_a_template_renders_each_amount_as_percent_g(amount: float) -> None:
    templates = [kind[2] for kind in aws.ROW_KINDS]
    codes = np.arange(len(templates))
    hourly = np.full(len(templates), amount)
    upfront = np.full(len(templates), 2 * amount)
    got = render_notes(templates, codes, hourly, upfront).tolist()
    text, twice = f"{amount:g}", f"{2 * amount:g}"  # (what the parser formatted before: "%g" % x)
    expected = [t.replace("{hourly_usd:g}", text).replace("{upfront_usd:g}", twice) for t in templates]
    assert got == expected
    assert got[3] == f"payment=no_upfront; standard 1yr: {text} $/h + upfront {twice} $ / 8760 h"


def test_an_added_note_is_its_text_whatever_its_braces_and_percent_signs() -> None:
    rows = parsed([json.dumps(aws_items()[0])])
    odd = "spot {zone} 100% {{x}} %g {hourly_usd:g} }{"
    rows.add_row(0, "use1-az1", "spot", 1.5, aws.SPOT_SOURCE, None, FETCHED_AT, "", odd)
    assert with_rendered_text(rows.frame())["note"].iloc[-1] == odd
    assert rows.rows()[-1][-1] == odd


@pytest.mark.parametrize(
    "template",
    [
        "{hourly_usd}",
        "{hourly_usd:.3f}",
        "{hourly_usd!r:g}",
        "{0}",
        "{}",
        "{hourly_usd.real:g}",
        "{hourly_usd.__class__:g}",
        "{upfront_usd[0]:g}",
        "{other:g}",
        "{",
        "}",
        "a {b",
    ],
)
def test_nothing_but_the_two_amount_fields_is_a_template(template: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        check_templates([template])
    with pytest.raises(ValueError):
        render_notes([template], np.zeros(1, dtype=np.int8), np.ones(1), np.ones(1))
    frame = parsed([json.dumps(aws_items()[0])]).frame()
    frame["note"] = frame["note"].astype(object)
    frame.loc[0, "note"] = template
    store = PriceStore(tmp_path / "prices.sqlite")
    with pytest.raises(PricingError, match="note template"):  # refused before anything is written
        store.write_snapshot("aws", "test", FETCHED_AT, frame)
    assert store.snapshots() == []


def test_a_stored_template_that_is_not_one_is_a_damaged_store(tmp_path: Path) -> None:
    frame = parsed([json.dumps(aws_items()[0])]).frame()
    store = PriceStore(tmp_path / "prices.sqlite")
    snapshot = store.write_snapshot("aws", "test", FETCHED_AT, frame)
    with sqlite3.connect(store.path) as db:
        db.execute(
            "UPDATE offer_columns SET dictionary = CAST(? AS BLOB), crc32 = NULL WHERE name = 'note'",
            (json.dumps(["{hourly_usd.__class__:g}"] * 20),),
        )
    with pytest.warns(PriceStoreRebuilt):
        assert store.offers([snapshot.id]).empty  # set aside, as any damaged store
    assert "note template" in store.notices[0]


def test_a_store_of_text_notes_reads_back_unchanged_after_migration_6(tmp_path: Path) -> None:
    """A snapshot written before templates (notes as text, schema version 5) reads as it was, and a frame
    without amount columns (every provider but AWS) is still stored as text."""
    frame = with_rendered_text(parsed(pages()[:30]).frame())
    frame.loc[1, "note"] = None
    store = PriceStore(tmp_path / "prices.sqlite")
    snapshot = store.write_snapshot("aws", "test", FETCHED_AT, frame)
    with sqlite3.connect(store.path) as db:
        names = [
            r[0] for r in db.execute("SELECT name FROM offer_columns WHERE snapshot_id = ?", (snapshot.id,))
        ]
        assert not set(NOTE_AMOUNT_COLUMNS) & set(names)
        db.execute("PRAGMA user_version = 5")  # as a tco before migration 6 left it
    before = frame.copy()
    back = PriceStore(store.path).offers([snapshot.id])
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 6
    assert back["note"].tolist() == before["note"].tolist()
    assert back["price_usd_per_hour"].tolist() == pytest.approx(
        before["price_usd_per_hour"].tolist(), nan_ok=True
    )


def test_a_template_snapshot_stores_a_few_templates_and_the_amounts(tmp_path: Path) -> None:
    frame = parsed(pages()[:50]).frame()
    store = PriceStore(tmp_path / "prices.sqlite")
    snapshot = store.write_snapshot("aws", "test", FETCHED_AT, frame)
    with sqlite3.connect(store.path) as db:
        stored = {
            name: (kind, dictionary)
            for name, kind, dictionary in db.execute(
                "SELECT name, kind, dictionary FROM offer_columns WHERE snapshot_id = ?", (snapshot.id,)
            )
        }
    assert stored["note_hourly_usd"][0] == stored["note_upfront_usd"][0] == "float64"
    templates = json.loads(stored["note"][1])
    assert len(templates) == 7 and set(templates) == {"", *(kind[2] for kind in aws.ROW_KINDS[3:])}
    back = store.offers([snapshot.id])
    assert back["note"].tolist() == with_rendered_text(frame)["note"].tolist()


def test_validation_of_a_template_frame_keys_on_the_rendered_payment() -> None:
    """``validate_offers`` without ``unique`` keys duplicates on the payment option of the note's text."""
    frame = parsed([json.dumps(aws_items()[0])]).frame()
    twice = pd.concat([frame, frame], ignore_index=True)
    kept, duplicates = validate_offers(twice)
    assert duplicates == len(frame) and len(kept) == len(frame)


def test_note_template_doubles_braces() -> None:
    assert note_template("a {b} c") == "a {{b}} c"
    assert (
        render_notes([note_template("a {b} }{ %")], np.zeros(2, np.int8), np.ones(2), np.ones(2)).tolist()
        == ["a {b} }{ %"] * 2
    )


def test_a_template_snapshot_stores_product_skus_and_term_codes(tmp_path: Path) -> None:
    texts = pages()[:40]
    frame = parsed(texts).frame()
    assert frame["source_sku"].dtype == "category" and frame[SKU_TERM_COLUMN].dtype == "category"
    store = PriceStore(tmp_path / "prices.sqlite")
    snapshot = store.write_snapshot("aws", "test", FETCHED_AT, frame)
    with sqlite3.connect(store.path) as db:
        stored = dict(
            db.execute(
                "SELECT name, dictionary FROM offer_columns WHERE snapshot_id = ? AND name IN (?, ?)",
                (snapshot.id, "source_sku", SKU_TERM_COLUMN),
            ).fetchall()
        )
    assert json.loads(stored["source_sku"]) == [f"SKU{n:06d}" for n in range(40)]  # one per product
    assert len(json.loads(stored[SKU_TERM_COLUMN])) == 6  # the fixture's six standard term codes
    assert store.offers([snapshot.id])["source_sku"].tolist() == reference_skus(texts)


def test_an_odd_sku_keeps_the_column_whole_text() -> None:
    """A SKU UTF-8 cannot hold (or that is not text) keeps ``source_sku`` whole text, as before: no parts."""
    rows = parsed([json.dumps(aws_items()[0])])
    rows.add_row(0, "use1-az1", "spot", 1.5, aws.SPOT_SOURCE, "bad\ud800", FETCHED_AT, "", "spot")
    frame = rows.frame()
    assert SKU_TERM_COLUMN not in frame.columns
    assert frame["source_sku"].tolist() == [row[13] for row in rows.rows()]
    assert frame["source_sku"].tolist()[1] == "P5USE1AAAAAAAAAA.4NA7Y494T4"


def test_a_term_code_needs_a_sku() -> None:
    with pytest.raises(ValueError, match="SKU that is not text"):
        render_skus(np.array([None], dtype=object), ["T"], np.zeros(1, np.int8))
    with pytest.raises(ValueError, match="not text"):
        render_skus(np.array(["S"], dtype=object), [None], np.zeros(1, np.int8))
    assert render_skus(np.array(["S", "S", None], dtype=object), ["T"], np.array([0, -1, -1])).tolist() == [
        "S.T",
        "S",
        None,
    ]
