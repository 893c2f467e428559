"""Ctrl-C at any moment of a pull writes nothing partial: interrupted at every progress event of every
provider, and inside the store's transaction, the store holds exactly the snapshots of the providers that
finished before, each whole; :class:`PullInterrupted` says which."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials

from pricing.providers.aws import AwsPrices
from pricing.providers.azure import AzurePrices
from pricing.providers.base import PriceClient, ProgressEvent
from pricing.providers.gcp import GcpPrices
from pricing.providers.oci import OciPrices
from pricing.pull import PullInterrupted, pull_prices
from pricing.store import PriceStore
from tests.pricing.servers.aws import AwsServer
from tests.pricing.servers.azure import AzureServer
from tests.pricing.servers.data import fast_options
from tests.pricing.servers.gcp import GcpServer
from tests.pricing.servers.oci import OciServer

ORDER = ("oci", "azure", "gcp", "aws")


@pytest.fixture
def clients(
    aws_server: AwsServer, gcp_server: GcpServer, azure_server: AzureServer, oci_server: OciServer
) -> dict[str, PriceClient]:
    return {
        "aws": AwsPrices(fast_options(aws_server.url), ec2_endpoint=aws_server.url),
        "gcp": GcpPrices(fast_options(gcp_server.url), credentials=AnonymousCredentials()),
        "azure": AzurePrices(fast_options(azure_server.url + "/api/retail/prices")),
        "oci": OciPrices(fast_options(oci_server.endpoint)),
    }


def whole(store: PriceStore) -> dict[str, int]:
    """provider -> offers, for every stored snapshot; each must read back whole."""
    out = {}
    for snap in store.snapshots():
        assert len(store.offers([snap.id])) == snap.offer_count
        out[snap.provider] = snap.offer_count
    if store.exists():
        with sqlite3.connect(store.path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    return out


def test_ctrl_c_at_every_progress_event(tmp_path: Path, clients: dict[str, PriceClient]) -> None:
    full = pull_prices(PriceStore(tmp_path / "full.sqlite"), ORDER, clients=clients)
    events: list[ProgressEvent] = []
    pull_prices(PriceStore(tmp_path / "count.sqlite"), ORDER, clients=clients, progress=events.append)
    assert len(events) > 10
    for stop in range(len(events)):
        seen: list[ProgressEvent] = []

        def progress(event: ProgressEvent, stop: int = stop, seen: list[ProgressEvent] = seen) -> None:
            seen.append(event)
            if len(seen) > stop:
                raise KeyboardInterrupt

        store = PriceStore(tmp_path / f"stop-{stop}.sqlite")
        with pytest.raises(PullInterrupted) as caught:
            pull_prices(store, ORDER, clients=clients, progress=progress)
        stopped = caught.value.provider
        assert stopped == seen[-1].provider
        finished = ORDER[: ORDER.index(stopped)]
        assert whole(store) == {s.provider: s.offers for s in full if s.provider in finished}
        assert [s.provider for s in caught.value.done] == list(finished)
        assert f"nothing written for {stopped}" in str(caught.value)


class _InterruptingConnection(sqlite3.Connection):
    """A connection whose ``executemany`` (the snapshot's column blobs, inside the transaction) is Ctrl-C."""

    def executemany(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        raise KeyboardInterrupt


def test_ctrl_c_inside_the_store_transaction(
    tmp_path: Path, clients: dict[str, PriceClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PriceStore(tmp_path / "prices.sqlite")
    first = pull_prices(store, ("oci",), clients=clients)[0]
    connect = sqlite3.connect
    monkeypatch.setattr(
        sqlite3, "connect", lambda *a, **k: connect(*a, **{**k, "factory": _InterruptingConnection})
    )
    with pytest.raises(PullInterrupted, match="nothing written for azure"):
        pull_prices(store, ("azure",), clients=clients)
    monkeypatch.setattr(sqlite3, "connect", connect)
    assert [s.id for s in store.snapshots()] == [first.snapshot_id]  # no half snapshot row either
    assert whole(store) == {"oci": first.offers}
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM offer_columns").fetchone()[0] == len(
            db.execute("SELECT DISTINCT name FROM offer_columns").fetchall()
        )
    db.close()
