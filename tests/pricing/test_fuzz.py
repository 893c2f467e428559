"""Library-level fuzz of pricing: generated hostile provider pages through every parser, the validation and
the store; generated hostile price books through the import; generated offer tables through the diff. The
contract: no exception but a PricingError (or a PageError, which the client retries and reports as one),
nothing stored when a call fails, and what is stored reads back as it was written."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing.diff import diff_offers
from pricing.errors import PricingError
from pricing.pricebook import import_price_book
from pricing.providers import aws, azure, oci
from pricing.providers.base import PageError, SkipCounter, offers_frame
from pricing.pull import validate_offers
from pricing.schema import ALL_COLUMNS, FLOAT_COLUMNS
from pricing.store import PriceStore
from tests.hostile import NASTY_TEXT, broken_files, file_bytes, json_values, mutate, numbers
from tests.pricing.servers.data import aws_items, azure_items, oci_document

# Sized for CI (about 30 s for every fuzz test of the suite together); raise for a longer hunt.
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FETCHED_AT = "2026-12-01T00:00:00Z"


def _stored_whole(rows: list[tuple[Any, ...]], columns: tuple[str, ...]) -> None:
    """Rows a parser made go through validation into a store and come back as they went in."""
    frame = offers_frame(rows, columns)
    offers, _ = validate_offers(frame)
    with tempfile.TemporaryDirectory() as tmp:
        store = PriceStore(Path(tmp) / "prices.sqlite")
        snap = store.write_snapshot("fuzz", "fuzz", FETCHED_AT, offers)
        back = store.offers([snap.id]).drop(columns="snapshot")
    expected = offers.reindex(columns=list(back.columns))
    for column in back.columns:
        if column in FLOAT_COLUMNS:
            np.testing.assert_array_equal(back[column].to_numpy(), expected[column].to_numpy(dtype="float64"))
        else:  # text as it was (a lone surrogate, which UTF-8 cannot hold, as U+FFFD)
            assert back[column].tolist() == [_utf8(v) for v in expected[column].tolist()]


def _utf8(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value).encode("utf-16", "surrogatepass").decode("utf-16", "replace")


@FUZZ
@given(data=st.data())
def test_azure_pages(data: st.DataObject) -> None:
    items = mutate(azure_items(), data, edits=4)
    try:
        rows = azure.parse_items(
            items if isinstance(items, list) else [items],
            fetched_at=FETCHED_AT,
            regions=frozenset(),
            seen=set(),
            added=set(),
            skipped=SkipCounter(),
        )
    except PageError:
        return
    _stored_whole(rows, azure.ROW_COLUMNS)


@FUZZ
@given(data=st.data())
def test_oci_lists(data: st.DataObject) -> None:
    document = mutate(oci_document(), data, edits=4)
    items = document.get("items") if isinstance(document, dict) else None
    try:
        rows = oci.parse_items(
            items if isinstance(items, list) else [],
            fetched_at=FETCHED_AT,
            effective_date=str(document.get("lastUpdated")) if isinstance(document, dict) else None,
            regions=("us-ashburn-1",),
            skipped=SkipCounter(),
            warnings=[],
        )
    except PageError:
        return
    _stored_whole(rows, oci.ROW_COLUMNS)


@FUZZ
@given(data=st.data())
def test_aws_price_lists(data: st.DataObject) -> None:
    items = mutate(aws_items(), data, edits=4)
    texts = [json.dumps(i, allow_nan=True) for i in (items if isinstance(items, list) else [items])]
    try:
        parsed = aws.parse_products(
            texts, fetched_at=FETCHED_AT, regions=frozenset(), seen=set(), added=set(), skipped=SkipCounter()
        )
    except PageError:
        return
    frame = parsed.frame()
    rows = list(frame[list(aws.PARSED_OFFER_COLUMNS)].itertuples(index=False, name=None))
    _stored_whole(rows, aws.PARSED_OFFER_COLUMNS)


cells = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=8), numbers.map(repr))
BOOK_COLUMNS = ["kind", "provider", "instance_type", "region", "pricing_model", "price_usd_per_hour",
                "price_usd_per_accelerator_hour", "discount_pct", "term_months", "accelerator",
                "accelerator_count", "note"]  # fmt: skip
GOOD = ["price", "aws", "p5.48xlarge", "us-east-1", "on_demand", "40", "", "", "", "", "", "team rate"]


@st.composite
def price_books(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["csv", "json", "broken"]))
    if kind == "broken":
        return draw(st.sampled_from([".csv", ".json"])), draw(broken_files)
    rows = [list(GOOD)]
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        row = list(GOOD)
        for index in draw(st.lists(st.integers(min_value=0, max_value=len(GOOD) - 1), max_size=3)):
            row[index] = draw(cells)
        rows.append(row)
    if kind == "csv":
        lines = [",".join(BOOK_COLUMNS)] + [",".join(json.dumps(c) for c in row) for row in rows]
        return ".csv", "\n".join(lines).encode("utf-8", "surrogatepass")
    records: Any = [dict(zip(BOOK_COLUMNS, row, strict=True)) for row in rows]
    records = {"rules": records} if draw(st.booleans()) else records
    if draw(st.booleans()):
        records = draw(st.builds(lambda v: [v], json_values))
    return ".json", file_bytes(records)


@FUZZ
@given(book=price_books())
def test_price_book_imports(book: tuple[str, bytes]) -> None:
    suffix, content = book
    with tempfile.TemporaryDirectory() as tmp:
        store = PriceStore(Path(tmp) / "home" / "prices.sqlite")
        path = Path(tmp) / f"book{suffix}"
        path.write_bytes(content)
        try:
            result = import_price_book(store, path)
        except PricingError as exc:
            assert str(exc).count("\n") == 0
            assert store.snapshots() == []  # nothing stored
            return
        assert [s.id for s in store.snapshots()] == [result.snapshot.id]


@st.composite
def offer_tables(draw: st.DrawFn) -> pd.DataFrame:
    texts = st.one_of(st.none(), st.sampled_from(["aws", "us-east-1", "p5", "on_demand", *NASTY_TEXT]))
    count = draw(st.integers(min_value=0, max_value=5))
    rows = [
        {c: draw(st.one_of(st.none(), numbers) if c in FLOAT_COLUMNS else texts) for c in ALL_COLUMNS}
        for _ in range(count)
    ]
    frame = pd.DataFrame(rows, columns=list(ALL_COLUMNS))
    for column in FLOAT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    if draw(st.booleans()) and len(frame):  # a key column all null: float64 NaN, as tables often read
        frame[draw(st.sampled_from(["zone", "provider", "region", "note"]))] = np.nan
    return frame


@FUZZ
@given(old=offer_tables(), new=offer_tables())
def test_diffs_of_generated_tables(old: pd.DataFrame, new: pd.DataFrame) -> None:
    out = diff_offers(old, new)
    assert set(out["change"]) <= {"new", "removed", "up", "down", "now priced", "price withdrawn"}
