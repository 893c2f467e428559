"""Pulls end to end against the loopback servers: validation, one snapshot per provider, failures keep the
previous snapshot, interruptions write nothing, concurrent pulls do not corrupt the store."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from google.auth.credentials import AnonymousCredentials

from pricing.catalog import OfferFilter, filter_offers, load_catalog
from pricing.providers.aws import AwsPrices
from pricing.providers.azure import AzurePrices
from pricing.providers.base import ProgressEvent
from pricing.providers.gcp import GcpPrices
from pricing.pull import failure_message, pull_prices, pull_provider, validate_offers
from pricing.store import PriceStore
from tests.pricing.servers.aws import AwsServer
from tests.pricing.servers.azure import AzureServer
from tests.pricing.servers.base import Fault, serving
from tests.pricing.servers.data import SPOT_PRICES, aws_items, fast_options
from tests.pricing.servers.gcp import GcpServer


@pytest.fixture
def store(tmp_path: Path) -> PriceStore:
    return PriceStore(tmp_path / "prices.sqlite")


def clients(aws: AwsServer, gcp: GcpServer, azure: AzureServer, **kwargs: Any) -> dict[str, Any]:
    return {
        "aws": AwsPrices(fast_options(aws.url, **kwargs), ec2_endpoint=aws.url),
        "gcp": GcpPrices(fast_options(gcp.url, **kwargs), credentials=AnonymousCredentials()),
        "azure": AzurePrices(fast_options(azure.url + "/api/retail/prices", **kwargs)),
    }


def test_pull_validates_and_stores_one_snapshot_per_provider(
    store: PriceStore, aws_server: AwsServer, gcp_server: GcpServer, azure_server: AzureServer
) -> None:
    summaries = pull_prices(
        store, ["aws", "gcp", "azure"], clients=clients(aws_server, gcp_server, azure_server)
    )
    assert [s.ok for s in summaries] == [True, True, True] and failure_message(summaries) is None
    by_name = {s.provider: s for s in summaries}
    aws = by_name["aws"]
    assert (
        aws.flags["zero"] == 1 and aws.flags["outlier"] == 1 and aws.dropped == 2
    )  # p4d sa-east-1, ap-south-1
    assert aws.pricing_models == {"on_demand": 11, "reserved_1y": 3, "reserved_3y": 3, "spot": 4}
    assert aws.skipped["capacity block row"] == 1 and aws.regions == 6
    # GCP: us-central1's H100 machines sit at a different price level from the three other regions
    assert by_name["gcp"].flags["outlier"] == 5 and by_name["gcp"].flags["missing"] == 1
    assert by_name["azure"].flags == {"amortised": 2, "zero": 1}
    snapshots = store.latest()
    assert {p: s.offer_count for p, s in snapshots.items()} == {s.provider: s.offers for s in summaries}
    assert snapshots["aws"].meta["skipped"]["duplicate product"] == 1
    assert snapshots["aws"].meta["endpoint"] == aws_server.url

    catalog = load_catalog(store, ("aws", "gcp", "azure"))
    assert {s.kind for s in catalog.snapshots.values()} == {"pulled"}
    listed = filter_offers(catalog.offers, OfferFilter())
    p4d = listed[listed["instance_type"].eq("p4d.24xlarge") & listed["pricing_model"].eq("on_demand")]
    assert set(p4d["region"]) == {"us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"}
    zero = catalog.offers[catalog.offers["region"].eq("sa-east-1")]
    assert zero["price_usd_per_hour"].isna().all() and zero["flags"].iloc[0] == "zero"  # null, never 0


def test_failed_pull_keeps_the_previous_snapshot(store: PriceStore, aws_server: AwsServer) -> None:
    first = pull_provider(store, "aws", client=AwsPrices(fast_options(aws_server.url, spot=False)))
    assert first.ok
    before = load_catalog(store, ("aws",)).offers
    aws_server.add_fault(
        *[Fault(500, b'{"__type": "InternalError"}', when=lambda r: b"NextToken" in r.body)] * 3
    )
    second = pull_provider(store, "aws", client=AwsPrices(fast_options(aws_server.url, spot=False)))
    assert not second.ok and "GetProducts page 2 failed after 3 attempts" in (second.error or "")
    assert "aws: " in (failure_message([second]) or "") and "previous prices are kept" in (
        failure_message([second]) or ""
    )
    assert [s.id for s in store.snapshots()] == [first.snapshot_id]
    after = load_catalog(store, ("aws",))
    assert after.snapshots["aws"].label.startswith(f"pull #{first.snapshot_id} ")
    pd.testing.assert_frame_equal(before, after.offers)


def test_interrupted_pull_writes_nothing(store: PriceStore, aws_server: AwsServer) -> None:
    def interrupt_on_second_page(event: ProgressEvent) -> None:
        if event.kind == "page" and event.pages == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pull_provider(
            store, "aws", client=AwsPrices(fast_options(aws_server.url)), progress=interrupt_on_second_page
        )
    assert store.snapshots() == []


def test_a_pull_that_finds_nothing_is_a_failure(store: PriceStore, azure_server: AzureServer) -> None:
    summary = pull_provider(
        store,
        "azure",
        regions=("mars-north1",),
        client=AzurePrices(fast_options(azure_server.url + "/api/retail/prices")),
    )
    assert not summary.ok and "returned no accelerated offers in mars-north1" in (summary.error or "")
    assert store.snapshots() == []


def test_duplicate_offers_are_dropped_and_counted() -> None:
    from pricing.providers.base import offers_frame

    columns = (
        "provider",
        "region",
        "instance_type",
        "pricing_model",
        "price_usd_per_hour",
        "accelerator_count",
        "note",
        "accelerator",
    )
    rows = [
        ("aws", "r1", "p5.48xlarge", "on_demand", 55.04, 8.0, "", "H100-80GB"),
        ("aws", "r1", "p5.48xlarge", "on_demand", 60.0, 8.0, "", "H100-80GB"),
        ("aws", "r1", "p5.48xlarge", "reserved_1y", 37.0, 8.0, "payment=no_upfront; x", "H100-80GB"),
        ("aws", "r1", "p5.48xlarge", "reserved_1y", 34.2, 8.0, "payment=all_upfront; y", "H100-80GB"),
    ]
    offers, duplicates = validate_offers(offers_frame(rows, columns))
    assert duplicates == 1 and len(offers) == 3 and 60.0 not in set(offers["price_usd_per_hour"])


def test_two_concurrent_pulls_do_not_corrupt_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_server: AwsServer
) -> None:
    path = tmp_path / "shared" / "prices.sqlite"
    results: list[Any] = []
    errors: list[BaseException] = []
    reads: list[int] = []
    done = threading.Event()

    def pull(server_url: str) -> None:
        try:
            store = PriceStore(path)
            results.append(
                pull_provider(store, "aws", client=AwsPrices(fast_options(server_url, spot=False)))
            )
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        while not done.is_set():
            reads.append(len(load_catalog(PriceStore(path), ("aws",)).offers))

    with serving(AwsServer(aws_items(), list(SPOT_PRICES), page_size=2)) as other:
        threads = [threading.Thread(target=pull, args=(url,)) for url in (aws_server.url, other.url)]
        reader = threading.Thread(target=read)
        reader.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        done.set()
        reader.join(timeout=60)
    assert errors == [] and len(results) == 2 and all(r.ok for r in results)
    store = PriceStore(path)
    snapshots = store.snapshots()
    assert len(snapshots) == 2 and snapshots[0].offer_count == snapshots[1].offer_count == results[0].offers
    for snap in snapshots:
        assert len(store.offers([snap.id])) == snap.offer_count  # every snapshot whole
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # readers only ever saw the embedded snapshot or a whole pulled one
    assert set(reads) <= {load_catalog(None, ("aws",)).offers.shape[0], snapshots[0].offer_count}
