"""The fast ingest paths give what the exact ones give (issue 14 item 5, benchmarks/pricing_ingest.py):

- AWS products are decoded one at a time, each turned into rows before the next is decoded (a page's
  decoded products are never all held at once);
- AWS products are decoded by fast msgspec structs (prices straight to floats, ``strict=False``) and, when
  those cannot take a product, by the exact structs: every product gives the same rows and skip counts as
  when the exact structs decode everything;
- the price store encodes a text column without a pass for its nulls when it holds only text and None;
- the AWS frame's few-valued text columns are categoricals, which validation groups and the store encodes
  by their codes;
- a new price store has 64 KiB pages, an existing one keeps its own.
"""

from __future__ import annotations

import copy
import json
import math
import sqlite3
import tracemalloc
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from pricing.errors import PricingError
from pricing.providers import aws
from pricing.providers.base import PageError, SkipCounter
from pricing.pull import validate_offers
from pricing.store import PAGE_SIZE_BYTES, PriceStore, encode_columns
from pricing.validate import flag_prices
from tests.pricing import reference_ingest as reference
from tests.pricing.servers.data import aws_items
from tests.pricing.test_ingest_identity import assert_same, normalized, offer_frame

FETCHED_AT = "2026-01-01T00:00:00Z"


def p5() -> dict[str, Any]:
    """The fixture's p5.48xlarge us-east-1 product: an on-demand term and six standard reserved ones."""
    return copy.deepcopy(aws_items()[0])


def reserved(item: dict[str, Any]) -> list[dict[str, Any]]:
    return list(item["terms"]["Reserved"].values())


def first_dimension(term: dict[str, Any]) -> dict[str, Any]:
    return next(iter(term["priceDimensions"].values()))


def on_demand(item: dict[str, Any]) -> dict[str, Any]:
    return next(iter(item["terms"]["OnDemand"].values()))


def parse(texts: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    skipped = SkipCounter()
    rows = aws.parse_products(
        texts, fetched_at=FETCHED_AT, regions=frozenset(), seen=set(), added=set(), skipped=skipped
    )
    return normalized(rows.frame()), dict(skipped)


class _Refuses:
    """A decoder that takes nothing: every product goes to the exact structs."""

    def decode(self, text: Any) -> Any:
        raise msgspec.ValidationError("refused")


def parse_exactly(texts: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[pd.DataFrame, dict[str, int]]:
    with monkeypatch.context() as patch:
        patch.setattr(aws, "_SCAN", None)
        patch.setattr(aws, "_FAST_DECODER", _Refuses())
        return parse(texts)


def parse_without_native(
    texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[pd.DataFrame, dict[str, int]]:
    """As ``parse`` without the native reader (``pricing/_pricelist.c``): the fast structs, then the exact."""
    with monkeypatch.context() as patch:
        patch.setattr(aws, "_SCAN", None)
        return parse(texts)


def with_price(value: Any, *, where: str) -> dict[str, Any]:
    item = p5()
    if where == "on_demand":
        first_dimension(on_demand(item))["pricePerUnit"]["USD"] = value
    else:
        first_dimension(reserved(item)[1])["pricePerUnit"]["USD"] = value
    return item


PRICES = [" 1.5", "1_000", "+1.5", ".5", "1e400", "1.7976931348623159e308", "NaN", "inf", "-0", "0", "",
          "n/a", "null", "NULL", True, False, 12, 1.5, None, {"a": 1}, [1]]  # fmt: skip


@pytest.mark.parametrize("where", ["on_demand", "reserved"])
@pytest.mark.parametrize("value", PRICES, ids=repr)
def test_every_price_gives_the_rows_the_exact_structs_give(
    value: Any, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = json.dumps(with_price(value, where=where))
    expected, expected_skipped = parse_exactly([text], monkeypatch)
    for got, skipped in (parse([text]), parse_without_native([text], monkeypatch)):
        assert skipped == expected_skipped
        pd.testing.assert_frame_equal(got, expected)
    if not isinstance(value, bool):  # (before msgspec, a JSON true was a price of 1 and false one of 0)
        assert_same([[text]])  # and what the ingest path before msgspec gave


SHAPES: list[tuple[str, Any]] = [
    # another currency beside USD: the fast structs refuse it, the exact ones read USD (or find the other
    # currency's number out of range: a malformed product)
    ("pricePerUnit", {"USD": "3.5", "CNY": "25.1"}),
    ("pricePerUnit", {"USD": "3.5", "EUR": "@1e999@"}),  # a JSON number out of a float's range
    ("pricePerUnit", {"EUR": "3.5"}),
    ("pricePerUnit", None),
    ("pricePerUnit", "null"),
    ("unit", None),
    ("unit", 5),
    ("termAttributes", None),
    ("termAttributes", "null"),
    ("terms", None),
    ("terms", "null"),
    ("OnDemand", None),
    ("OnDemand", "null"),
    ("Reserved", None),
    ("Reserved", "null"),
    ("effectiveDate", None),
    ("effectiveDate", "null"),
    ("priceDimensions", "null"),
]


def reshaped(field: str, value: Any) -> dict[str, Any]:
    item = p5()
    term = reserved(item)[1]
    if field in ("pricePerUnit", "unit"):
        first_dimension(term)[field] = value
    elif field in ("termAttributes", "effectiveDate", "priceDimensions"):
        term[field] = value
    elif field == "terms":
        item["terms"] = value
    else:
        item["terms"][field] = value
    return item


@pytest.mark.parametrize(("field", "value"), SHAPES, ids=repr)
def test_every_shape_gives_the_rows_the_exact_structs_give(
    field: str, value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In particular the string "null", which ``strict=False`` would read as None for an optional field
    that cannot hold text: the fast structs have no such field but the price, so it is malformed there as
    it is in the exact ones."""
    text = json.dumps(reshaped(field, value)).replace('"@1e999@"', "1e999")
    expected, expected_skipped = parse_exactly([text], monkeypatch)
    for got, skipped in (parse([text]), parse_without_native([text], monkeypatch)):
        assert skipped == expected_skipped
        pd.testing.assert_frame_equal(got, expected)


def test_the_fast_structs_take_a_regular_product_and_refuse_the_odd_ones() -> None:
    """Regular products never reach the exact structs (the speed), and the odd ones above do (the
    equality)."""
    item = aws.decode_products([json.dumps(p5())], SkipCounter())[0]
    assert aws._FAST_DECODER.decode(json.dumps(p5())) == item
    prices = [d.pricePerUnit.USD for t in item.terms.Reserved.values() for d in t.priceDimensions.values()]
    assert prices and all(type(p) is float for p in prices)
    for value in (" 1.5", "1_000", True, {"a": 1}, "1e400"):
        with pytest.raises(msgspec.ValidationError):
            aws._FAST_DECODER.decode(json.dumps(with_price(value, where="reserved")))
    for field, value in (("pricePerUnit", {"USD": "1", "CNY": "7"}), ("terms", "null"), ("OnDemand", None)):
        with pytest.raises(msgspec.ValidationError):
            aws._FAST_DECODER.decode(json.dumps(reshaped(field, value)))


def test_a_price_of_minus_zero_is_a_zero_price_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one price a float reads differently from float(): "-0" is 0.0 for msgspec, -0.0 for float().
    Either is a zero price: flagged ``zero`` and stored as null."""
    text = json.dumps(with_price("-0", where="on_demand"))
    assert aws._FAST_DECODER.decode(text).terms.OnDemand  # taken by the fast structs
    skipped = SkipCounter()
    rows = aws.parse_products(
        [text], fetched_at=FETCHED_AT, regions=frozenset(), seen=set(), added=set(), skipped=skipped
    )
    offers, _ = validate_offers(rows.frame(), unique=True)
    row = offers[offers["pricing_model"].eq("on_demand")].iloc[0]
    assert math.isnan(row["price_usd_per_hour"]) and "zero" in row["flags"].split(";")


def test_a_page_with_an_item_that_is_not_a_product_is_refused_whichever_structs_read_it() -> None:
    good = json.dumps(p5())
    for bad in ('{"terms": {}}', "[1, 2]", '{"product": {"sku": "S", "attributes": {}}', "7"):
        with pytest.raises(PageError, match="not a price-list product"):
            aws.decode_products([good, bad], SkipCounter())
    skipped = SkipCounter()  # a product with a malformed field is skipped and counted, the page kept
    products = aws.decode_products([good, json.dumps(reshaped("unit", 5))], skipped)
    assert len(products) == 1 and skipped == {"product with a malformed field": 1}


def test_a_page_is_decoded_a_product_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """``parse_products`` turns each product into rows before it decodes the next: with the msgspec structs
    (no native reader), its peak memory on a page of 200 products is a fraction of what holding the page's
    decoded products takes (the allocator then hands each product the memory the previous one freed;
    benchmarks/pricing_ingest.py: 28 -> 18 µs per product for decoding and rows)."""
    monkeypatch.setattr(aws, "_SCAN", None)
    texts = []
    for number in range(200):
        item = p5()
        item["product"]["attributes"]["regionCode"] = f"test-region-{number}"
        texts.append(json.dumps(item))

    def peak_bytes(parse: Any) -> int:
        tracemalloc.start()
        try:
            rows = parse()
            assert rows.products == len(texts) and len(rows) == 7 * len(texts)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def arguments() -> dict[str, Any]:
        return {
            "fetched_at": FETCHED_AT,
            "regions": frozenset(),
            "seen": set(),
            "added": set(),
            "skipped": SkipCounter(),
        }

    def one_at_a_time() -> aws.PriceListRows:
        return aws.parse_products(texts, **arguments())

    def page_held() -> aws.PriceListRows:
        products = aws.decode_products(texts, SkipCounter())
        return aws.rows_from_products(map(aws.digest, products), **arguments())

    one_at_a_time()  # (first use: caches, compiled patterns)
    held = peak_bytes(page_held)
    assert held > 1_000_000  # (about 9 KB of objects per decoded product)
    assert peak_bytes(one_at_a_time) < held / 3


def test_reserved_kinds_are_looked_up_and_a_repeated_kind_dropped_and_counted() -> None:
    item = p5()
    terms = item["terms"]["Reserved"]
    code, term = next(iter(terms.items()))
    twin = json.loads(json.dumps(term).replace(term["offerTermCode"], "ZZZZZZZZZZ"))
    terms[code.split(".")[0] + ".ZZZZZZZZZZ"] = twin  # same length and payment option: a second offer
    convertible = json.loads(json.dumps(term).replace(term["offerTermCode"], "YYYYYYYYYY"))
    convertible["termAttributes"]["OfferingClass"] = "convertible"
    terms[code.split(".")[0] + ".YYYYYYYYYY"] = convertible
    odd = json.loads(json.dumps(term).replace(term["offerTermCode"], "XXXXXXXXXX"))
    odd["termAttributes"]["LeaseContractLength"] = "5yr"
    terms[code.split(".")[0] + ".XXXXXXXXXX"] = odd
    frame, skipped = parse([json.dumps(item)])
    assert skipped == {
        "duplicate offer": 1,
        "reserved term: convertible (not modelled)": 2,  # the fixture's own and the one added
        "reserved term: unknown length or payment option": 1,
    }
    assert frame["pricing_model"].value_counts().to_dict() == {
        "reserved_1y": 3,
        "reserved_3y": 3,
        "on_demand": 1,
    }
    notes = frame.loc[frame["pricing_model"].ne("on_demand"), "note"].tolist()
    standard = [t for t in reserved(p5()) if t["termAttributes"]["OfferingClass"] == "standard"]
    for note, expected in zip(notes, standard, strict=True):
        attrs = expected["termAttributes"]
        years = aws.LEASE_YEARS[attrs["LeaseContractLength"]]
        assert note.startswith(
            f"payment={aws.PAYMENT_OPTIONS[attrs['PurchaseOption']]}; standard {years}yr: "
        )
        assert note.endswith(f" $ / {years * 8760} h")
    assert_same([[json.dumps(item)]])


# --- the store --------------------------------------------------------------------------------------------


def encode_text(values: list[Any]) -> tuple[Any, ...]:
    return encode_columns(pd.DataFrame({"note": pd.Series(values, dtype=object)}), ["note"])[0]


@pytest.mark.parametrize("many", [False, True])  # a dictionary column, and a JSON-array one
def test_nulls_of_every_kind_are_stored_as_null(many: bool) -> None:
    values: list[Any] = [f"n{i}" if many else "x" for i in range(300)]
    values[3], values[4], values[5] = None, float("nan"), pd.NA
    _, _, kind, dictionary, data, code_bytes = encode_text(values)
    assert kind == "text"
    if many:
        assert dictionary is None and code_bytes is None
        assert msgspec.json.decode(data)[3:6] == [None, None, None]
    else:
        assert code_bytes == 1
        codes = np.frombuffer(data, dtype="<i1")
        assert msgspec.json.decode(dictionary) == ["x"] and codes[3:6].tolist() == [-1, -1, -1]


@pytest.mark.parametrize("many", [False, True])
@pytest.mark.parametrize(
    ("odd", "name"), [(np.str_("y"), "str_"), (1.5, "float"), (7, "int"), (b"x", "bytes"), ([1], "list")]
)
def test_a_value_that_is_not_text_is_refused_in_either_kind_of_column(
    odd: Any, name: str, many: bool
) -> None:
    """Text columns hold str and null only, as before the fast path; a str subclass (``numpy.str_``) too,
    unless (dictionary columns) it equals a str met before it, when it is stored as that text."""
    values: list[Any] = [f"n{i}" if many else "x" for i in range(300)]
    values[7] = odd
    with pytest.raises(PricingError, match=f"'note' holds a value that is not text: {name}"):
        encode_text(values)


def test_a_new_store_has_64_kib_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    frame = pd.DataFrame({"provider": ["aws"], "region": ["us-east-1"], "price_usd_per_hour": [1.0]})
    new = PriceStore(tmp_path / "new.sqlite")
    new.write_snapshot("aws", "t", FETCHED_AT, frame)
    with sqlite3.connect(new.path) as db:
        assert db.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE_BYTES == 65536
    old_path = tmp_path / "old.sqlite"
    with sqlite3.connect(old_path) as db:  # a store made before: SQLite's default pages
        db.execute("PRAGMA page_size=4096")
        db.execute("VACUUM")
    old = PriceStore(old_path)
    snap = old.write_snapshot("aws", "t", FETCHED_AT, frame)
    with sqlite3.connect(old_path) as db:
        assert db.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert old.offers([snap.id])["price_usd_per_hour"].tolist() == [1.0]


# --- categorical columns: the AWS frame's few-valued text columns -------------------------------------------

CATEGORICAL = ["provider", "region", "zone", "instance_type", "accelerator", "pricing_model",
               "currency_original", "source", "fetched_at"]  # fmt: skip


def test_the_aws_frame_has_categoricals_of_the_values_used_sorted() -> None:
    """Sorted categories of only the values used: ``value_counts().sort_index()`` (the pull summary's
    pricing models) is the same as on text, with no zero counts."""
    frame, _ = parse_raw([json.dumps(item) for item in aws_items()])
    for name in CATEGORICAL:
        column = frame[name]
        assert isinstance(column.dtype, pd.CategoricalDtype), name
        used = sorted({v for v in column.astype(object).tolist() if isinstance(v, str)})
        assert column.cat.categories.tolist() == used, name
    models = frame["pricing_model"]
    assert (
        models.value_counts().sort_index().to_dict()
        == models.astype(object).value_counts().sort_index().to_dict()
    )


def parse_raw(texts: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    skipped = SkipCounter()
    rows = aws.parse_products(
        texts, fetched_at=FETCHED_AT, regions=frozenset(), seen=set(), added=set(), skipped=skipped
    )
    return rows.frame(), dict(skipped)


@settings(max_examples=120, deadline=None)
@given(offer_frame())
def test_validation_of_categorical_columns_equals_that_of_text_ones(frame: pd.DataFrame) -> None:
    """Groups by the categoricals' codes (a null one code; a null zone the empty zone's place) are the
    groups of the values."""
    categorical = frame.copy()
    for name in ("provider", "instance_type", "region", "zone", "pricing_model"):
        categorical[name] = categorical[name].astype("category")
    got, expected = flag_prices(categorical), flag_prices(frame)
    typed = not frame.empty  # (an empty generated column is float64, an empty categorical one text)
    pd.testing.assert_frame_equal(normalized(got), normalized(expected), check_dtype=typed)
    pd.testing.assert_frame_equal(
        normalized(got), normalized(reference.flag_prices(frame)), check_dtype=typed
    )


def test_a_categorical_column_is_stored_as_its_dictionary(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "provider": pd.Categorical(["aws"] * 5, categories=["aws", "unused"]),
            "region": pd.Categorical(["b", None, "a", "b", "a"]),
            "price_usd_per_hour": [1.0] * 5,
        }
    )
    store = PriceStore(tmp_path / "p.sqlite")
    back = store.offers([store.write_snapshot("aws", "t", FETCHED_AT, frame).id])
    assert back["provider"].tolist() == ["aws"] * 5
    assert back["region"].tolist() == ["b", None, "a", "b", "a"]
    with pytest.raises(PricingError, match="'region' holds a value that is not text: int"):
        store.write_snapshot("aws", "t", FETCHED_AT, frame.assign(region=pd.Categorical([1, 2, 1, 2, 1])))


def test_a_value_utf8_cannot_hold_keeps_its_column_text(tmp_path: Path) -> None:
    """pandas cannot hash categories with a lone surrogate: such a column stays text (and is stored with
    U+FFFD, as any text column)."""
    rows = aws.parse_products(
        [json.dumps(p5())], fetched_at=FETCHED_AT, regions=frozenset(), seen=set(), added=set(),
        skipped=SkipCounter(),
    )  # fmt: skip
    rows.add_row(0, "use1-az\ud800", "spot", 30.0, aws.SPOT_SOURCE, None, FETCHED_AT, "", "spot")
    frame = rows.frame()
    assert frame["zone"].dtype == object and isinstance(frame["region"].dtype, pd.CategoricalDtype)
    offers, _ = validate_offers(frame, unique=True)
    store = PriceStore(tmp_path / "p.sqlite")
    back = store.offers([store.write_snapshot("aws", "t", FETCHED_AT, offers).id])
    assert back["zone"].tolist()[-1] == "use1-az\ufffd" and back["zone"].tolist()[:-1] == [None] * 7


def test_effective_dates_are_a_categorical_of_the_dates_used_and_an_odd_one_keeps_the_column_text(
    tmp_path: Path,
) -> None:
    """A product row's date is a number (``PriceListRows.dates``, renumbered when pages are joined): the
    frame's dates are a categorical of the dates used, sorted; an added row's date that is not text UTF-8
    can hold (or null) keeps the column text, as the rows give it."""
    items = [json.dumps(item) for item in aws_items()]
    rows = aws.PriceListRows(FETCHED_AT)
    seen: set[tuple[str, str]] = set()
    for start in range(0, len(items), 2):  # pages whose dates are numbered apart
        added: set[tuple[str, str]] = set()
        rows.extend(
            aws.parse_products(
                items[start : start + 2], fetched_at=FETCHED_AT, regions=frozenset(), seen=seen,
                added=added, skipped=SkipCounter(),
            )
        )  # fmt: skip
        seen.update(added)
    expected = [row[aws.ROW_COLUMNS.index("effective_date")] for row in rows.rows()]
    dates = rows.frame()["effective_date"]
    assert isinstance(dates.dtype, pd.CategoricalDtype)
    assert dates.cat.categories.tolist() == sorted({d for d in expected if d is not None})
    assert [None if pd.isna(d) else d for d in dates.astype(object)] == expected
    assert len(set(expected)) > 1
    for odd in ("2026-01-01\ud800", 20260101):
        rows.add_row(0, None, "spot", 30.0, aws.SPOT_SOURCE, None, odd, "", "spot")
        dates = rows.frame()["effective_date"]
        assert dates.dtype == object
        assert dates.tolist() == [row[aws.ROW_COLUMNS.index("effective_date")] for row in rows.rows()]
        rows.added.pop()
    rows.add_row(0, None, "spot", 30.0, aws.SPOT_SOURCE, None, "2027-01-01T00:00:00Z", "", "spot")
    frame = rows.frame()
    assert frame["effective_date"].cat.categories[-1] == "2027-01-01T00:00:00Z"
    offers, _ = validate_offers(frame, unique=True)
    store = PriceStore(tmp_path / "p.sqlite")
    back = store.offers([store.write_snapshot("aws", "t", FETCHED_AT, offers).id])
    assert back["effective_date"].tolist() == [*expected, "2027-01-01T00:00:00Z"]


@pytest.mark.parametrize(("distinct", "code_bytes"), [(1, 1), (127, 1), (128, 2), (32767, 2), (32768, 4)])
def test_dictionary_codes_take_the_fewest_bytes_and_old_4_byte_ones_still_read(
    tmp_path: Path, distinct: int, code_bytes: int
) -> None:
    """A dictionary column's codes are 1, 2 or 4 bytes (the fewest that number its values, -1 for null):
    ``offer_columns.code_bytes`` says which; a column written before it (4-byte codes, NULL) reads the
    same."""
    regions = [f"r{i:05d}" for i in range(distinct)]
    values = [*regions, None, regions[-1]]
    frame = pd.DataFrame(
        {
            "region": pd.Categorical(values, categories=regions),
            "zone": pd.Series(["z"] * len(values), dtype=object),  # a dictionary column from text
            "price_usd_per_hour": [1.0] * len(values),
        }
    )
    path = tmp_path / "p.sqlite"
    store = PriceStore(path)
    snap = store.write_snapshot("aws", "t", FETCHED_AT, frame)
    with sqlite3.connect(path) as db:
        stored = dict(
            db.execute(
                "SELECT name, code_bytes FROM offer_columns WHERE snapshot_id = ? AND dictionary IS NOT NULL",
                (snap.id,),
            ).fetchall()
        )
        assert (stored["region"], stored["zone"]) == (code_bytes, 1)
        for name, size in stored.items():  # as written before: 4-byte codes, no code_bytes
            (data,) = db.execute("SELECT data FROM offer_columns WHERE name = ?", (name,)).fetchone()
            wide = np.frombuffer(data, dtype=f"<i{size}").astype("<i4").tobytes()
            db.execute(
                "UPDATE offer_columns SET data = ?, code_bytes = NULL, crc32 = NULL WHERE name = ?",
                (wide, name),
            )
    db.close()
    for _ in range(2):
        back = store.offers([snap.id])
        assert back["region"].tolist() == values and back["zone"].tolist() == ["z"] * len(values)
        snap = store.write_snapshot("aws", "t", FETCHED_AT, frame)


def test_a_float_column_whose_values_repeat_is_stored_as_a_dictionary_bit_for_bit(tmp_path: Path) -> None:
    """A float column with few distinct values (a product's count, memory, vCPUs on each of its rows) is a
    dictionary of float64 values and a code per row; values are told apart by their bits (-0.0 and 0.0,
    two NaNs), and read back bit for bit. One with many values stays float64 bytes."""
    odd_nan = np.frombuffer(np.array([0x7FF8000000000001], dtype="<i8").tobytes(), dtype="<f8")[0]
    few = [8.0, -0.0, 0.0, math.nan, odd_nan, math.inf, -math.inf, 1e-300, 8.0] * 40
    many = [float(i) / 7 for i in range(len(few))]
    frame = pd.DataFrame({"region": "r", "accelerator_count": few, "price_usd_per_hour": many})
    path = tmp_path / "p.sqlite"
    store = PriceStore(path)
    back = store.offers([store.write_snapshot("aws", "t", FETCHED_AT, frame).id])
    for name, values in (("accelerator_count", few), ("price_usd_per_hour", many)):
        assert back[name].to_numpy().tobytes() == np.array(values, dtype="<f8").tobytes(), name
    with sqlite3.connect(path) as db:
        stored = dict(
            db.execute(
                "SELECT name, code_bytes FROM offer_columns WHERE name IN (?, ?)",
                ("accelerator_count", "price_usd_per_hour"),
            ).fetchall()
        )
    db.close()
    assert stored == {"accelerator_count": 1, "price_usd_per_hour": None}


def test_an_offer_frame_read_a_column_at_a_time_equals_one_read_row_by_row() -> None:
    """``offers_frame_of`` (GCP's composed offers: a frame read a column at a time) gives what
    ``offers_frame`` of the same frame's row tuples gives, cell types included: text columns of pandas'
    string dtype with missing values, object columns with None, floats with NaN, a number column of text."""
    from pricing.providers.base import offers_frame, offers_frame_of

    columns = list(aws.ROW_COLUMNS)
    rows = 5
    frame = pd.DataFrame({column: [f"{column}-{i}" for i in range(rows)] for column in columns})
    frame["region"] = pd.Series(["r1", None, "r3", "r4", None], dtype="str")
    frame["zone"] = pd.Series([None] * rows, dtype=object)
    frame["price_usd_per_hour"] = [1.5, math.nan, 0.0, -0.0, 1e300]
    frame["accelerator_count"] = [8.0, 8.0, 1.0, 4.0, 2.0]
    frame["vcpus"] = pd.Series(["96", "x", None, "2", "4"], dtype=object)
    frame["memory_gib"] = np.nan
    frame["accelerator_memory_gib"] = pd.Series([80.0, None, 94.0, None, 16.0], dtype=object)
    frame["flags"] = pd.Series(["", None, "composed", "x", ""], dtype="str")
    expected = offers_frame(frame.loc[:, columns].itertuples(index=False, name=None), columns)
    got = offers_frame_of(frame, columns)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    for column in got.columns:
        assert [type(v) for v in got[column]] == [type(v) for v in expected[column]], column
