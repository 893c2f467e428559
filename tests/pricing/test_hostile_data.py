"""Hostile provider data, served on 127.0.0.1 through the real clients and the real pull: text that looks
like Rich markup or a spreadsheet formula, bare carriage returns, NaN/inf/negative/huge prices and counts,
fields of the wrong type. Pricing stores text as data, flags impossible numbers ``invalid`` (left out of
listings by default), skips and counts items it cannot read, and never crashes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pricing.catalog import OfferFilter, filter_offers, load_catalog
from pricing.diff import diff_snapshots, resolve_pairs
from pricing.providers.aws import AwsPrices
from pricing.providers.azure import AzurePrices
from pricing.providers.oci import OciPrices
from pricing.pull import pull_provider
from pricing.store import PriceStore
from pricing.validate import MAX_PLAUSIBLE_USD_PER_HOUR, flag_prices
from tests.pricing.servers.aws import AwsServer
from tests.pricing.servers.azure import AzureServer
from tests.pricing.servers.base import rewrite_json, serving
from tests.pricing.servers.data import SPOT_PRICES, aws_items, azure_items, fast_options, oci_document
from tests.pricing.servers.oci import OciServer

HOSTILE_TEXT = [
    "[bold]x[/]",
    "[link=file:///etc/passwd]click[/link]",
    '=HYPERLINK("http://e","x")',
    "+cmd",
    "@SUM(A1)",
    "a\rb",
]
H100 = "Standard_ND96isr_H100_v5"


@pytest.fixture
def store(tmp_path: Path) -> PriceStore:
    return PriceStore(tmp_path / "home" / "prices.sqlite")


def pull_azure(store: PriceStore, items: list[dict[str, Any]]) -> Any:
    with serving(AzureServer(items, page_size=5)) as server:
        client = AzurePrices(fast_options(server.url + "/api/retail/prices"))
        return pull_provider(store, "azure", client=client)


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_azure_hostile_text_is_stored_as_data(store: PriceStore, text: str) -> None:
    items = azure_items()
    for item in items:
        item["effectiveStartDate"] = text
        item["meterId"] = text
    summary = pull_azure(store, items)
    assert summary.ok, summary.error
    offers = store.offers([summary.snapshot_id])
    assert set(offers["source_sku"]) == {text} == set(offers["effective_date"])
    assert len(offers) == pull_azure(store, azure_items()).offers


@pytest.mark.parametrize(
    ("price", "flag"),
    [
        (float("inf"), "invalid"),
        (-98.32, "invalid"),
        (MAX_PLAUSIBLE_USD_PER_HOUR * 10, "invalid"),
        (10**400, None),  # too large for a float: not a number at all, so no price (missing)
        ("NaN", None),
        (True, None),  # a bool is not a price
    ],
)
def test_azure_impossible_prices_are_flagged_and_left_out(
    store: PriceStore, price: Any, flag: str | None
) -> None:
    items = azure_items()
    items[0]["retailPrice"] = price  # the H100 on-demand row in eastus
    summary = pull_azure(store, items)
    assert summary.ok, summary.error
    offers = store.offers([summary.snapshot_id])
    row = offers[
        offers["instance_type"].eq(H100)
        & offers["region"].eq("eastus")
        & offers["pricing_model"].eq("on_demand")
    ].iloc[0]
    assert pd.isna(row["price_usd_per_hour"])  # never a price
    if flag is not None:
        assert flag in row["flags"].split(";")
        listed = filter_offers(load_catalog(store, ("azure",)).offers, OfferFilter())
        assert not (
            listed["instance_type"].eq(H100)
            & listed["region"].eq("eastus")
            & listed["pricing_model"].eq("on_demand")
        ).any()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("productName", 5),
        ("meterName", ["ND96isrH100v5"]),
        ("armRegionName", {"name": "eastus"}),
        ("type", True),
        ("savingsPlan", "cheap"),
        ("effectiveStartDate", 1.5),
    ],
)
def test_azure_an_item_with_a_malformed_field_is_skipped_and_counted(
    store: PriceStore, field: str, value: Any
) -> None:
    good = pull_azure(store, azure_items())
    items = azure_items()
    items[0][field] = value
    summary = pull_azure(store, items)
    assert summary.ok, summary.error
    assert summary.skipped.get(f"item with a malformed {field}") == 1
    assert summary.offers == good.offers - 3  # the H100's on-demand row and its two savings plans


def test_azure_savings_plan_terms_of_any_shape(store: PriceStore) -> None:
    items = azure_items()
    items[0]["savingsPlan"] = [
        {"term": ["1 Year"], "retailPrice": 1.0},
        7,
        {"term": "1 Year", "retailPrice": "x"},
    ]
    summary = pull_azure(store, items)
    assert summary.ok, summary.error
    assert summary.skipped.get("savings plan term not modelled") == 2


def pull_aws(
    store: PriceStore, items: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Any:
    from tests.pricing.servers.data import use_dummy_aws_credentials

    use_dummy_aws_credentials(monkeypatch, tmp_path)
    with serving(AwsServer(items, list(SPOT_PRICES), page_size=50)) as server:
        client = AwsPrices(fast_options(server.url), ec2_endpoint=server.url)
        return pull_provider(store, "aws", client=client)


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("product", "attributes", "memory"), 2048, "product with a malformed field"),
        (("product", "attributes", "instanceType"), {"a": 1}, "product with a malformed field"),
        (("product", "sku"), None, "product with a malformed field"),
        (("product", "attributes", "regionCode"), "+cmd", "regionCode that is not a region name"),
        (
            ("product", "attributes", "regionCode"),
            "us-east-1\r[bold]",
            "regionCode that is not a region name",
        ),
    ],
)
def test_aws_a_product_with_a_malformed_field_is_skipped_and_counted(
    store: PriceStore,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    path: tuple[str, ...],
    value: Any,
    reason: str,
) -> None:
    items = aws_items()
    target = items[0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    summary = pull_aws(store, items, monkeypatch, tmp_path)
    assert summary.ok, summary.error
    assert summary.skipped.get(reason) == 1


def test_aws_impossible_prices_are_flagged(
    store: PriceStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    items = aws_items()
    dimensions = next(iter(items[0]["terms"]["OnDemand"].values()))["priceDimensions"]
    next(iter(dimensions.values()))["pricePerUnit"]["USD"] = "-55.04"
    summary = pull_aws(store, items, monkeypatch, tmp_path)
    assert summary.ok, summary.error
    assert summary.flags.get("invalid", 0) >= 1


def test_oci_lists_of_any_shape_price_nothing(tmp_path: Path) -> None:
    def odd(document: dict[str, Any]) -> dict[str, Any]:
        for item in document["items"]:
            item["currencyCodeLocalizations"] = 1.5
        return document

    with serving(OciServer(oci_document())) as server:
        server.rewrite = rewrite_json(odd)
        result = OciPrices(fast_options(server.endpoint)).fetch((), lambda e: None)
    assert result.offers.empty and result.skipped.get("no USD pay-as-you-go price", 0) > 0


def test_a_diff_of_hostile_snapshots(store: PriceStore) -> None:
    first = azure_items()
    second = azure_items()
    second[0]["retailPrice"] = float("inf")
    second[1]["armSkuName"] = "[bold]Standard_N[/]"
    second[2]["retailPrice"] = 1e300
    assert pull_azure(store, first).ok and pull_azure(store, second).ok
    diff = diff_snapshots(store, resolve_pairs(store, None, None))
    assert set(diff["change"]) <= {"new", "removed", "up", "down", "now priced", "price withdrawn"}
    assert "price withdrawn" in set(diff["change"])  # the infinite price is no price


def _frame(**columns: list[Any]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base: dict[str, Any] = {
        "provider": ["aws"] * n,
        "instance_type": ["p5"] * n,
        "region": [f"r{i}" for i in range(n)],
        "zone": [None] * n,
        "pricing_model": ["on_demand"] * n,
        "accelerator_count": [8.0] * n,
        "price_usd_per_hour": [10.0] * n,
        "flags": [""] * n,
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_flag_prices_marks_impossible_numbers_invalid() -> None:
    frame = _frame(
        price_usd_per_hour=[float("inf"), -1.0, 2e6, 10.0, 10.0, 10.0, 10.0, 0.0],
        accelerator_count=[8.0, 8.0, 8.0, 0.0, -8.0, float("inf"), 2e6, 8.0],
    )
    flagged = flag_prices(frame)
    assert [("invalid" in f.split(";")) for f in flagged["flags"]] == [True] * 7 + [False]
    assert flagged["price_usd_per_hour"].isna().tolist() == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        True,
    ]
    assert "zero" in flagged["flags"].iloc[-1]
