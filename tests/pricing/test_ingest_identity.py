"""The fast ingest path (msgspec decoding, column-wise rows, integer-coded validation, column-blob storage)
gives exactly what the path before it gave (tests/pricing/reference_ingest.py), on the fixture products and on
generated ones that exercise every branch of the parser."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing.catalog import load_embedded
from pricing.providers.aws import PriceListRows, instance_shapes, parse_products
from pricing.providers.base import SkipCounter
from pricing.pull import validate_offers, variant
from pricing.rendered import with_rendered_text
from pricing.store import PriceStore
from pricing.validate import flag_prices, outlier_mask
from tests.pricing import reference_ingest as reference
from tests.pricing.servers.data import aws_items

FETCHED_AT = "2026-01-01T00:00:00Z"


def normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """Values only: text columns as objects with None for null, floats as float64, notes as text
    (``pricing.rendered``: what every reader of the store sees)."""
    out = with_rendered_text(frame).reset_index(drop=True).copy()
    for column in out.columns:
        if out[column].dtype == "float64":
            continue
        text = out[column].astype(object)
        out[column] = pd.Series(np.where(text.notna(), text, None), dtype=object)
    return out


def run_reference(pages: list[list[str]]) -> tuple[pd.DataFrame, int, dict[str, int]]:
    seen: set[tuple[str, str]] = set()
    skipped = SkipCounter()
    rows: list[tuple[Any, ...]] = []
    for page in pages:
        added: set[tuple[str, str]] = set()
        rows.extend(
            reference.parse_products(
                page, fetched_at=FETCHED_AT, regions=frozenset(), seen=seen, added=added, skipped=skipped
            )
        )
        seen.update(added)
    frame = reference.offers_frame(rows, reference_columns())
    offers, duplicates = reference.validate_offers(frame)
    return offers, duplicates, dict(skipped)


def reference_columns() -> tuple[str, ...]:
    from pricing.schema import PARSED_OFFER_COLUMNS

    return PARSED_OFFER_COLUMNS


def run_fast(pages: list[list[str]]) -> tuple[pd.DataFrame, dict[str, int], PriceListRows]:
    seen: set[tuple[str, str]] = set()
    skipped = SkipCounter()
    rows = PriceListRows(FETCHED_AT)
    for page in pages:
        added: set[tuple[str, str]] = set()
        rows.extend(
            parse_products(
                page, fetched_at=FETCHED_AT, regions=frozenset(), seen=seen, added=added, skipped=skipped
            )
        )
        seen.update(added)
    offers, duplicates = validate_offers(rows.frame(), unique=True)
    assert duplicates == 0
    return offers, dict(skipped), rows


def assert_same(pages: list[list[str]]) -> None:
    expected, duplicates, expected_skipped = run_reference(pages)
    got, skipped, rows = run_fast(pages)
    assert skipped.pop("duplicate offer", 0) == duplicates
    assert skipped == expected_skipped
    pd.testing.assert_frame_equal(normalized(got), normalized(expected))
    # the tuples and the column-wise frame are one and the same
    pd.testing.assert_frame_equal(
        normalized(rows.frame()), normalized(reference.offers_frame(rows.rows(), reference_columns()))
    )


def test_fixture_products_give_the_same_offers() -> None:
    items = [json.dumps(item) for item in aws_items()]
    assert_same([items[i : i + 4] for i in range(0, len(items), 4)])


# --- generated products: every branch of the parser -------------------------------------------------------

TYPES = [*sorted(instance_shapes())[:6], "m5.large"]
PRICE = st.one_of(
    st.sampled_from(["55.0400000000", "0.0000000000", "3.5", "12", "1e3"]),
    st.floats(min_value=0, max_value=200, allow_nan=False).map(lambda x: f"{x:.10f}"),
    st.sampled_from(["", "NaN", "n/a"]),
)


@st.composite
def dimension(draw: Any, units: tuple[str, ...] = ("Hrs", "Hours", "Quantity", "GB-Mo")) -> dict[str, Any]:
    out: dict[str, Any] = {"unit": draw(st.sampled_from(units)), "description": "x", "rateCode": "R"}
    kind = draw(st.integers(0, 9))
    if kind:  # else no pricePerUnit at all
        out["pricePerUnit"] = {"USD": draw(PRICE)} if kind > 1 else {"EUR": "1"}
    return out


@st.composite
def term(draw: Any, reserved: bool) -> dict[str, Any]:
    dims = draw(st.lists(dimension(), min_size=0, max_size=3))
    out: dict[str, Any] = {"priceDimensions": {f"D{i}": d for i, d in enumerate(dims)}}
    if draw(st.integers(0, 9)):
        out["effectiveDate"] = draw(st.sampled_from(["2025-06-01T00:00:00Z", "2024-01-01T00:00:00Z"]))
    if draw(st.integers(0, 9)):
        out["offerTermCode"] = draw(st.sampled_from(["JRTCKXETXF", "4NA7Y494T4", "HU7G6KETJZ"]))
    if reserved and draw(st.integers(0, 9)):
        out["termAttributes"] = {
            "LeaseContractLength": draw(st.sampled_from(["1yr", "3yr", "5yr"])),
            "OfferingClass": draw(st.sampled_from(["standard", "standard", "convertible"])),
            "PurchaseOption": draw(
                st.sampled_from(["No Upfront", "Partial Upfront", "All Upfront", "Heavy"])
            ),
        }
    elif not reserved:
        out["termAttributes"] = {}
    return out


@st.composite
def product(draw: Any, number: int) -> str:
    attributes: dict[str, Any] = {
        "capacitystatus": draw(st.sampled_from(["Used", "Used", "Used", "UnusedCapacityReservation"])),
        "operatingSystem": draw(st.sampled_from(["Linux", "Linux", "Linux", "Windows"])),
        "licenseModel": draw(st.sampled_from(["No License required"] * 4 + ["Bring your own license"])),
        "tenancy": draw(st.sampled_from(["Shared"] * 4 + ["Dedicated"])),
        "instanceType": draw(st.sampled_from(TYPES)),
        "vcpu": draw(st.sampled_from(["192", "8", "NA"])),
        "memory": draw(st.sampled_from(["2,048 GiB", "32 GiB", "NA"])),
    }
    if draw(st.integers(0, 9)):
        attributes["regionCode"] = draw(st.sampled_from(["us-east-1", "us-west-2", "eu-west-1"]))
    if draw(st.integers(0, 9)):
        attributes["preInstalledSw"] = draw(st.sampled_from(["NA", "NA", "SQL Std"]))
    if not draw(st.integers(0, 14)):
        attributes["marketoption"] = "CapacityBlock"
    terms: dict[str, Any] = {}
    on_demand = draw(st.lists(term(reserved=False), min_size=0, max_size=2))
    if on_demand or draw(st.booleans()):
        terms["OnDemand"] = {f"S{number}.OD{i}": t for i, t in enumerate(on_demand)}
    reserved = draw(st.lists(term(reserved=True), min_size=0, max_size=8))
    if reserved:
        terms["Reserved"] = {f"S{number}.R{i}": t for i, t in enumerate(reserved)}
    item: dict[str, Any] = {"product": {"sku": f"SKU{number}", "attributes": attributes}}
    if terms or draw(st.booleans()):
        item["terms"] = terms
    return json.dumps(item)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generated_products_give_the_same_offers(data: Any) -> None:
    count = data.draw(st.integers(1, 24))
    items = [data.draw(product(i)) for i in range(count)]
    size = data.draw(st.integers(1, 6))
    assert_same([items[i : i + size] for i in range(0, count, size)])


def test_a_repeated_reserved_term_is_dropped_and_counted_like_validation_did() -> None:
    item = aws_items()[0]
    [(code, first)] = [
        (k, t)
        for k, t in item["terms"]["Reserved"].items()
        if t["termAttributes"]
        == {"LeaseContractLength": "1yr", "OfferingClass": "standard", "PurchaseOption": "No Upfront"}
    ][:1]
    item["terms"]["Reserved"][code + "X"] = json.loads(json.dumps(first).replace("37.0", "36.0"))
    pages = [[json.dumps(item)]]
    expected, duplicates, _ = run_reference(pages)
    got, skipped, _ = run_fast(pages)
    assert duplicates == 1 and skipped["duplicate offer"] == 1
    pd.testing.assert_frame_equal(normalized(got), normalized(expected))


# --- validation on other providers' rows and on generated frames -----------------------------------------


def test_flags_equal_on_the_embedded_snapshot() -> None:
    offers = load_embedded()
    for rows in (offers, offers[offers["provider"].isin(["aws", "gcp"])]):
        part = rows.assign(flags=rows["flags"].fillna(""))
        got, expected = flag_prices(part), reference.flag_prices(part)
        pd.testing.assert_frame_equal(normalized(got), normalized(expected))


@st.composite
def offer_frame(draw: Any) -> pd.DataFrame:
    rows = draw(st.integers(0, 60))
    pick = lambda values: draw(st.lists(st.sampled_from(values), min_size=rows, max_size=rows))  # noqa: E731
    price = draw(
        st.lists(
            st.one_of(
                # around a spot price of 1.0: on-demand 1% or 2% below it, or above (the 0.99 threshold)
                st.sampled_from([0.0, 700.0, math.nan, -1.0, 1.0, 0.985, 0.995, 1.02, 3.5]),
                st.floats(0.01, 100.0),
            ),
            min_size=rows,
            max_size=rows,
        )
    )
    return pd.DataFrame(
        {
            "provider": pick(["aws", "gcp"]),
            "instance_type": pick(["a", "b"]),
            "region": pick(["r1", "r2", "r3", "r4", None]),
            "zone": pick([None, "", "z1", "z2"]),
            "pricing_model": pick(["on_demand", "spot", "reserved_1y", None]),
            "accelerator_count": pick([1.0, 8.0, math.nan]),
            "price_usd_per_hour": price,
            "flags": pick(["", "composed", None]),
            "note": pick(["", "payment=no_upfront; x", "payment=all_upfront; y", None]),
        }
    )


@settings(max_examples=150, deadline=None)
@given(offer_frame())
def test_flags_and_duplicates_equal_on_generated_frames(frame: pd.DataFrame) -> None:
    got, expected = flag_prices(frame), reference.flag_prices(frame)
    pd.testing.assert_frame_equal(normalized(got), normalized(expected))
    mask = outlier_mask(frame["price_usd_per_hour"], frame, ["provider", "instance_type"])
    pd.testing.assert_series_equal(
        mask, reference.outlier_mask(frame["price_usd_per_hour"], frame, ["provider", "instance_type"])
    )
    full = frame.reindex(columns=[*frame.columns, "source"])
    (kept, dropped), (kept_ref, dropped_ref) = validate_offers(full), reference.validate_offers(full)
    assert dropped == dropped_ref
    pd.testing.assert_frame_equal(normalized(kept), normalized(kept_ref))


@given(st.lists(st.one_of(st.none(), st.text(max_size=12), st.text(max_size=12).map("payment={}".format))))
def test_variant_equals_the_regular_expression(notes: list[Any]) -> None:
    series = pd.Series(notes, dtype=object)
    assert variant(series).tolist() == reference.variant(series).tolist()


def test_stored_offers_read_back_equal(tmp_path: Path) -> None:
    items = [json.dumps(item) for item in aws_items()]
    offers, _, _ = run_fast([items])
    store = PriceStore(tmp_path / "p.sqlite")
    snapshot = store.write_snapshot("aws", "test", FETCHED_AT, offers)
    back = store.offers([snapshot.id]).drop(columns="snapshot")
    pd.testing.assert_frame_equal(normalized(back), normalized(offers.drop(columns="snapshot")))


@pytest.mark.parametrize("rows", [0, 1])
def test_an_empty_or_tiny_page(rows: int) -> None:
    items = [json.dumps(item) for item in aws_items()][:rows]
    assert_same([items])


def test_on_demand_below_spot_is_an_outlier_at_the_same_place_only() -> None:
    frame = pd.DataFrame(
        {
            "provider": ["aws"] * 6,
            "instance_type": ["p5"] * 6,
            "region": ["r1", "r1", "r1", "r2", "r2", "r3"],
            "zone": [None, "", None, None, None, None],
            "pricing_model": ["spot", "on_demand", "on_demand", "spot", "on_demand", "on_demand"],
            "accelerator_count": [8.0] * 6,
            "price_usd_per_hour": [1.0, 0.985, 0.995, 2.0, 1.5, 0.5],
            "flags": [""] * 6,
        }
    )
    got = flag_prices(frame)
    # r1: 0.985 is more than 1% below the spot 1.0 (a null and an empty zone are one place); 0.995 is not
    assert got["flags"].tolist() == ["", "outlier", "", "", "outlier", ""]
    pd.testing.assert_frame_equal(normalized(got), normalized(reference.flag_prices(frame)))
