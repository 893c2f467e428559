"""The OCI client against a loopback price-list server (plain HTTP, the whole list in one document)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pricing.catalog import load_catalog, load_embedded
from pricing.errors import PricingError
from pricing.providers.base import ProgressEvent, check_provider_name, make_client
from pricing.providers.oci import OciPrices, listed_regions, marginal_price, shapes
from pricing.pull import pull_prices, pull_provider
from pricing.store import PriceStore
from tests.pricing.servers.base import Fault
from tests.pricing.servers.data import fast_options, oci_document
from tests.pricing.servers.oci import OciServer


def fetch(server: OciServer, regions: tuple[str, ...] = (), **kwargs: Any) -> Any:
    events: list[ProgressEvent] = []
    result = OciPrices(fast_options(server.endpoint, **kwargs)).fetch(regions, events.append)
    result.events = events  # type: ignore[attr-defined]
    return result


def price(offers: Any, shape: str, region: str) -> float:
    rows = offers[offers["instance_type"].eq(shape) & offers["region"].eq(region)]
    assert len(rows) == 1, rows
    return float(rows["price_usd_per_hour"].iloc[0])


def test_shapes_cost_their_part_times_their_gpus_in_every_listed_region(oci_server: OciServer) -> None:
    result = fetch(oci_server)
    offers = result.offers
    assert price(offers, "BM.GPU.H100.8", "us-ashburn-1") == 80.0  # 8 x B98415 10.00
    assert price(offers, "BM.GPU.GB200.4", "eu-frankfurt-1") == 64.0  # 4 x B110979 16.00
    assert price(offers, "VM.GPU3.4", "us-phoenix-1") == pytest.approx(11.8)  # 4 x B89734 2.95
    assert price(offers, "BM.GPU.MI355X.8", "us-chicago-1") == pytest.approx(68.8)
    assert set(offers["region"]) == set(listed_regions()) and len(listed_regions()) == 44
    assert len(offers) == len(shapes()) * 44 and set(offers["pricing_model"]) == {"on_demand"}
    h100 = offers[offers["instance_type"].eq("BM.GPU.H100.8")].iloc[0]
    assert (h100["accelerator"], h100["accelerator_count"], h100["accelerator_memory_gib"]) == (
        "H100-80GB",
        8,
        80,
    )
    assert h100["source_sku"] == "B98415" and h100["effective_date"] == "2026-08-14T09:09:55.872Z"
    assert h100["flags"] == "listed_all_regions" and h100["note"] == "part B98415: 10 $/GPU-h x 8 GPUs"
    assert h100["price_usd_per_accelerator_hour"] == 10.0
    request = oci_server.requests[0]
    assert request.path == "/pls/apex/cetools/api/v1/products/"
    assert request.param("currencyCode") == "USD" and request.param("limit") is None
    assert result.pages == 1 and result.items == len(oci_document()["items"])


def test_licences_cloud_at_customer_and_other_parts_are_skipped_and_counted(oci_server: OciServer) -> None:
    result = fetch(oci_server)
    assert result.skipped == {
        "NVIDIA AI Enterprise licence (software, not compute)": 2,
        "Cloud@Customer part (on-premises, not a cloud shape)": 1,
        "not a GPU-hour part": 2,
        "GPU part no shape uses": 1,
    }
    assert result.warnings == [
        "OCI lists GPU part B109480 'OCI - Compute - GPU - H100T' that no shape in "
        "pricing/data/oci_gpu_shapes.csv uses: a new shape to add?"
    ]
    # the licence (2.50 $/GPU-h) shares category and metric with the H100 part: never its price
    assert (result.offers["price_usd_per_accelerator_hour"] != 2.5).all()
    assert [e.message for e in result.events if e.kind == "warning"] == result.warnings


def test_pulled_prices_agree_with_the_embedded_table(oci_server: OciServer) -> None:
    pulled = fetch(oci_server, ("us-ashburn-1",)).offers.set_index("instance_type")["price_usd_per_hour"]
    embedded = load_embedded()
    listed = embedded[
        embedded["provider"].eq("oci")
        & embedded["region"].eq("us-ashburn-1")
        & embedded["pricing_model"].eq("on_demand")
    ].set_index("instance_type")["price_usd_per_hour"]
    assert sorted(pulled.index) == sorted(listed.index)
    assert (pulled.sort_index() - listed.sort_index()).abs().max() < 1e-9


def test_regions_asked_for(oci_server: OciServer) -> None:
    offers = fetch(oci_server, ("us-ashburn-1", "ap-tokyo-1", "us-ashburn-1")).offers
    assert sorted(set(offers["region"])) == ["ap-tokyo-1", "us-ashburn-1"]


def test_a_part_gone_from_the_list_drops_its_shapes_with_a_warning(oci_server: OciServer) -> None:
    oci_server.document["items"] = [i for i in oci_server.document["items"] if i["partNumber"] != "B89734"]
    result = fetch(oci_server, ("us-ashburn-1",))
    assert not result.offers["instance_type"].str.startswith(("VM.GPU3", "BM.GPU3")).any()
    assert any(
        "B89734 (BM.GPU3.8, VM.GPU3.1, VM.GPU3.2, VM.GPU3.4) is not in the price list" in w
        for w in result.warnings
    )


def test_a_part_without_a_usd_price_is_skipped(oci_server: OciServer) -> None:
    for item in oci_server.document["items"]:
        if item["partNumber"] == "B95909":
            item["currencyCodeLocalizations"] = [
                loc for loc in item["currencyCodeLocalizations"] if loc["currencyCode"] == "EUR"
            ]
    result = fetch(oci_server, ("us-ashburn-1",))
    assert result.skipped["no USD pay-as-you-go price"] == 1
    assert not result.offers["accelerator"].eq("A10").any()


def test_the_marginal_tier_is_the_price_not_the_free_allowance() -> None:
    tiered = next(i for i in oci_document()["items"] if i["partNumber"] == "B93297")
    assert marginal_price(tiered) == 0.01  # tiers: 0 for the first 3000 OCPU-h, then 0.01
    assert marginal_price(tiered, "EUR") is None
    plain = next(i for i in oci_document()["items"] if i["partNumber"] == "B98415")
    assert marginal_price(plain) == 10 and marginal_price(plain, "EUR") == 9.2047
    assert marginal_price({"currencyCodeLocalizations": [{"currencyCode": "USD", "prices": []}]}) is None


def test_throttling_and_server_errors_are_retried(oci_server: OciServer) -> None:
    oci_server.add_fault(
        Fault(429, b'{"message": "Too Many Requests"}', headers=(("Retry-After", "0.01"),)),
        Fault(503, b"unavailable", "text/plain"),
        Fault(200, b"<html>maintenance</html>", "text/html"),
    )
    result = fetch(oci_server, ("us-ashburn-1",), attempts=4)
    retries = [e.message for e in result.events if e.kind == "retry"]
    assert "throttled (429)" in retries[0] and "HTTP 503" in retries[1] and "malformed response" in retries[2]
    assert price(result.offers, "BM.GPU.H100.8", "us-ashburn-1") == 80.0


def test_failures_say_what_and_how_to_fix(oci_server: OciServer) -> None:
    oci_server.add_fault(*[Fault(200, b'{"products": []}')] * 3)
    with pytest.raises(
        PricingError, match="malformed response after 3 attempts: the response has no items list"
    ):
        fetch(oci_server)
    oci_server.add_fault(*[Fault(500, b"oops", "text/plain")] * 3)
    with pytest.raises(PricingError, match=r"OCI price list request failed after 3 attempts: HTTP 500"):
        fetch(oci_server)
    with pytest.raises(PricingError, match=r"HTTP 404 .*TCO_OCI_PRICES_ENDPOINT"):
        OciPrices(fast_options(oci_server.url + "/wrong/")).fetch((), lambda e: None)
    oci_server.add_fault(Fault(hang_s=1.5), Fault(hang_s=1.5))
    with pytest.raises(PricingError, match=r"timed out after 0.3 s \(2 attempts\)"):
        fetch(oci_server, timeout_s=0.3, attempts=2)
    with pytest.raises(PricingError, match=re.escape("cannot reach the OCI endpoint http://127.0.0.1:9/")):
        OciPrices(fast_options("http://127.0.0.1:9/", attempts=2)).fetch((), lambda e: None)
    with pytest.raises(PricingError, match="must be an http"):
        OciPrices(fast_options("ftp://example.com/products/"))


def test_pull_stores_an_oci_snapshot_that_replaces_the_embedded_one(
    oci_server: OciServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PriceStore(tmp_path / "prices.sqlite")
    monkeypatch.setenv("TCO_OCI_PRICES_ENDPOINT", oci_server.endpoint)
    assert make_client("oci").endpoint == oci_server.endpoint  # type: ignore[attr-defined]
    [summary] = pull_prices(store, ["oci"], regions=("us-ashburn-1",), options=fast_options())
    assert summary.ok and summary.offers == len(shapes()) and summary.skipped["GPU part no shape uses"] == 1
    catalog = load_catalog(store, ("oci", "lambda"))
    assert catalog.snapshots["oci"].kind == "pulled" and catalog.snapshots["lambda"].kind == "embedded"
    oci = catalog.offers[catalog.offers["provider"].eq("oci")]
    assert len(oci) == len(shapes()) and set(oci["region"]) == {"us-ashburn-1"}
    assert pull_provider(store, "oci", client=OciPrices(fast_options(oci_server.endpoint))).regions == 44


@pytest.mark.parametrize("provider", ["lambda", "nebius", "shadeform", "primeintellect", "cudo"])
def test_embedded_only_providers_cannot_be_pulled(provider: str) -> None:
    with pytest.raises(PricingError, match=r"prices cannot be pulled: .*(API key|credentials|no price API)"):
        check_provider_name(provider)
    assert check_provider_name("OCI ") == "oci"
