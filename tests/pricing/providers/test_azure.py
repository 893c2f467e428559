"""The Azure client against a loopback Retail Prices server (plain HTTP, ``NextPageLink`` pagination)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from pricing.errors import PricingError
from pricing.providers.azure import AzurePrices
from pricing.providers.base import ProgressEvent
from tests.pricing.servers.azure import AzureServer
from tests.pricing.servers.base import Fault
from tests.pricing.servers.data import fast_options

H100 = "Standard_ND96isr_H100_v5"
A100 = "Standard_NC24ads_A100_v4"


def fetch(server: AzureServer, regions: tuple[str, ...] = (), **kwargs: Any) -> Any:
    events: list[ProgressEvent] = []
    result = AzurePrices(fast_options(server.url + "/api/retail/prices", **kwargs)).fetch(
        regions, events.append
    )
    result.events = events  # type: ignore[attr-defined]
    return result


def price(offers: Any, size: str, region: str, model: str) -> float:
    rows = offers[
        offers["instance_type"].eq(size) & offers["region"].eq(region) & offers["pricing_model"].eq(model)
    ]
    assert len(rows) == 1, rows
    return float(rows["price_usd_per_hour"].iloc[0])


def test_linux_spot_low_priority_reservations_and_savings_plans(azure_server: AzureServer) -> None:
    offers = fetch(azure_server).offers
    assert (
        price(offers, H100, "eastus", "on_demand") == 98.32
    )  # not the Windows 102.736 with the same meterName
    assert price(offers, H100, "eastus", "spot") == 18.169536
    assert price(offers, H100, "eastus", "reserved_1y") == pytest.approx(
        542611.2 / 8760
    )  # the term total, amortised
    assert price(offers, H100, "eastus", "reserved_3y") == pytest.approx(1033600.8 / (3 * 8760))
    assert price(offers, H100, "eastus", "savings_plan_1y") == 68.824
    assert price(offers, H100, "eastus", "savings_plan_3y") == 45.2272
    assert price(offers, "Standard_ND96isr_H200_v5", "southcentralus", "spot") == 110.272
    assert price(offers, A100, "eastus", "low_priority") == 0.7346
    assert price(offers, A100, "westeurope", "on_demand") == 4.041
    h100 = offers[offers["instance_type"].eq(H100)].iloc[0]
    assert (h100["accelerator"], h100["accelerator_count"], h100["vcpus"]) == ("H100-80GB", 8, 96)
    reserved = offers[offers["pricing_model"].eq("reserved_1y")].iloc[0]
    assert reserved["flags"] == "amortised" and "542,611.20 $ for the term / 8,760 h" in reserved["note"]


def test_trap_items_are_skipped_and_counted(azure_server: AzureServer) -> None:
    result = fetch(azure_server)
    assert result.skipped == {
        "Windows": 2,
        "dev/test price": 1,
        "VM size without a known GPU": 1,
        "duplicate item": 1,
    }
    assert not result.offers["price_usd_per_hour"].isin([102.736, 4.5, 3.1, 97.0, 0.72]).any()
    # listed without a price: kept, and the pull's validation flags the zero
    assert price(result.offers, "Standard_NC40ads_H100_v5", "westus3", "on_demand") == 0.0
    # an H100 NVL (94 GB, PCIe), not the SXM H100-80GB
    nvl = result.offers[result.offers["instance_type"].eq("Standard_NC40ads_H100_v5")].iloc[0]
    assert (nvl["accelerator"], nvl["accelerator_memory_gib"]) == ("H100-NVL", 94)


def test_non_primary_meters_are_dropped_even_if_the_api_sends_them(azure_server: AzureServer) -> None:
    azure_server.honour_meter_region = False
    result = fetch(azure_server)
    assert result.skipped["non-primary meter region"] == 1
    assert price(result.offers, H100, "eastus", "on_demand") == 98.32


def test_next_page_links_are_followed_and_the_filter_sent(azure_server: AzureServer) -> None:
    result = fetch(azure_server)
    first = azure_server.requests[0]
    assert (
        first.param("$filter") == "serviceName eq 'Virtual Machines' and startswith(armSkuName, 'Standard_N')"
    )
    assert first.param("api-version") == "2023-01-01-preview" and first.param("meterRegion") == "'primary'"
    assert [r.param("$skip") for r in azure_server.requests] == [None, "4", "8", "12"]
    assert result.pages == 4 and result.items == 15


def test_regions_are_one_query_each(azure_server: AzureServer) -> None:
    result = fetch(azure_server, ("westeurope", "westus2"))
    filters = [r.param("$filter") for r in azure_server.requests]
    assert filters[0].endswith("and armRegionName eq 'westeurope'")
    assert filters[-1].endswith("and armRegionName eq 'westus2'")
    assert set(result.offers["region"]) == {"westeurope", "westus2"}


def test_429_with_retry_after_and_5xx_then_success(azure_server: AzureServer) -> None:
    azure_server.add_fault(
        Fault(429, b'{"Error": "Too many requests"}', headers=(("Retry-After", "0.01"),)),
        Fault(502, b"bad gateway", "text/plain"),
    )
    result = fetch(azure_server)
    retries = [e.message for e in result.events if e.kind == "retry"]
    assert "throttled (429)" in retries[0] and "HTTP 502" in retries[1]
    assert price(result.offers, H100, "eastus", "on_demand") == 98.32


def test_failure_mid_pagination_raises(azure_server: AzureServer) -> None:
    azure_server.add_fault(*[Fault(500, b"oops", "text/plain", when=lambda r: r.param("$skip") == "8")] * 3)
    with pytest.raises(PricingError, match=r"retail prices page 3 failed after 3 attempts: HTTP 500"):
        fetch(azure_server)


def test_malformed_and_not_found_pages(azure_server: AzureServer) -> None:
    azure_server.add_fault(Fault(200, b'{"Items": [1, 2'))
    assert fetch(azure_server).pages == 4
    azure_server.add_fault(*[Fault(200, json.dumps({"Items": None}).encode())] * 3)
    with pytest.raises(PricingError, match="malformed response after 3 attempts: the page has no Items list"):
        fetch(azure_server)
    azure_server.add_fault(Fault(404, b"<h1>Not Found</h1>", "text/html"))
    with pytest.raises(PricingError, match="HTTP 404 Not Found: <h1>Not Found</h1>"):
        fetch(azure_server)


def test_timeout(azure_server: AzureServer) -> None:
    azure_server.add_fault(Fault(hang_s=1.5), Fault(hang_s=1.5))
    with pytest.raises(PricingError, match=r"timed out after 0.3 s \(2 attempts\)"):
        fetch(azure_server, timeout_s=0.3, attempts=2)


def test_unreachable_endpoint() -> None:
    with pytest.raises(PricingError, match=re.escape("cannot reach the Azure endpoint http://127.0.0.1:9")):
        AzurePrices(fast_options("http://127.0.0.1:9/api/retail/prices", attempts=2)).fetch(
            (), lambda e: None
        )


def test_endpoint_must_be_http() -> None:
    with pytest.raises(PricingError, match="must be an http"):
        AzurePrices(fast_options("file:///etc/passwd"))
