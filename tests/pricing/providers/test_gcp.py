"""The GCP client against a loopback Cloud Billing server, through the real ``CloudCatalogClient`` (REST)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pricing.errors import PricingError
from pricing.providers.base import ProgressEvent
from pricing.providers.gcp import Component, GcpPrices, classify_sku, hourly_unit_price
from tests.pricing.servers.base import Fault, serving
from tests.pricing.servers.data import fast_options, gcp_skus
from tests.pricing.servers.gcp import GcpServer, google_error

COMPUTE = "6F81-5844-456A"
TPU = "E000-3F24-B8AA"


def fetch(server: GcpServer, regions: tuple[str, ...] = (), **kwargs: Any) -> Any:
    events: list[ProgressEvent] = []
    client = GcpPrices(fast_options(server.url, **kwargs), credentials=AnonymousCredentials())
    result = client.fetch(regions, events.append)
    result.events = events  # type: ignore[attr-defined]
    return result


def price(offers: Any, instance_type: str, region: str, model: str = "on_demand") -> float:
    rows = offers[
        offers["instance_type"].eq(instance_type)
        & offers["region"].eq(region)
        & offers["pricing_model"].eq(model)
    ]
    assert len(rows) == 1, rows
    return float(rows["price_usd_per_hour"].iloc[0])


def test_machines_are_composed_from_core_ram_and_gpu_skus(gcp_server: GcpServer) -> None:
    offers = fetch(gcp_server).offers
    # pricing_apis.md: a2-highgpu-1g = 12 x 0.031611 + 85 x 0.004237 + 2.933908 = 3.673 $/h (us-east1 uses the
    # multi-regional "Americas" SKUs)
    assert price(offers, "a2-highgpu-1g", "us-east1") == pytest.approx(
        12 * 0.031611 + 85 * 0.004237 + 2.933908
    )
    assert price(offers, "a2-highgpu-1g", "us-east1") == pytest.approx(3.673385, abs=1e-6)
    # us-central1 has a regional A100 SKU as well: the regional one wins
    assert price(offers, "a2-highgpu-8g", "us-central1") == pytest.approx(
        96 * 0.031611 + 680 * 0.004237 + 8 * 2.9
    )
    assert price(offers, "a2-highgpu-1g", "us-west1", "spot") == pytest.approx(
        12 * 0.009483 + 85 * 0.001271 + 1.1
    )
    assert price(offers, "a2-megagpu-16g", "us-east1", "committed_1y") == pytest.approx(
        96 * 0.019915 + 1360 * 0.002669 + 16 * 1.848362
    )
    assert price(offers, "g2-standard-24", "us-west1") == pytest.approx(
        24 * 0.024988 + 96 * 0.002927 + 2 * 0.56
    )
    row = offers[
        offers["instance_type"].eq("a2-highgpu-1g")
        & offers["region"].eq("us-east1")
        & offers["pricing_model"].eq("on_demand")
    ].iloc[0]
    assert row["flags"] == "composed" and row["source_sku"].endswith("039F-D0DA-4055")
    assert "12 vCPU x 0.031611" in row["note"] and "85 GiB x 0.004237" in row["note"]
    assert (row["vcpus"], row["memory_gib"], row["accelerator"], row["accelerator_count"]) == (
        12,
        85,
        "A100-40GB",
        1,
    )
    assert row["currency_original"] == "USD" and row["effective_date"] == "2025-06-01T10:52:50.681Z"


def test_tpu_chips_attachable_gpus_and_missing_host_parts(gcp_server: GcpServer) -> None:
    offers = fetch(gcp_server).offers
    assert price(offers, "tpu-v5e-chip", "asia-south2") == pytest.approx(1.44132)
    assert price(offers, "tpu-v5e-chip", "asia-southeast1", "spot") == pytest.approx(0.6)
    assert price(offers, "tpu-v5p-chip", "europe-west4", "committed_3y") == pytest.approx(2.9)
    assert price(offers, "tpu-v6e-chip", "us-south1") == pytest.approx(2.7)
    assert price(offers, "tpu-v4-chip", "us-central2") == pytest.approx(12.88 / 4)
    assert price(offers, "tpu-v4-chip", "us-central2", "spot") == pytest.approx(3.686 / 4)
    assert price(offers, "nvidia-tesla-t4-x1", "us-east1") == pytest.approx(0.35)
    a4 = offers[offers["instance_type"].eq("a4-highgpu-8g")]
    assert len(a4) == 1 and a4["price_usd_per_hour"].isna().all()
    assert a4["flags"].iloc[0] == "composed;missing" and "A4 Instance" in a4["note"].iloc[0]


def test_trap_skus_are_skipped_and_counted(gcp_server: GcpServer) -> None:
    result = fetch(gcp_server)
    skipped = result.skipped
    assert (
        skipped["reserved or calendar-mode SKU (not modelled)"] == 2
    )  # calendar-mode TPU, reserved H100 Mega
    assert skipped["priced in IDR, not USD"] == 1
    assert skipped["not a compute SKU"] == 1  # local SSD, priced per GiB-month
    assert skipped["duplicate SKU for a component and region"] == 3  # the T4 SKU listed twice, 3 regions
    assert skipped["conflicting SKU for a component and region (most specific kept)"] == 1
    offers = result.offers
    assert "asia-southeast2" not in set(offers["region"])  # the IDR-priced L4 of Jakarta
    assert "asia-south2" not in set(
        offers[offers["instance_type"].eq("tpu-v5p-chip")]["region"]
    )  # calendar mode
    assert not offers["accelerator"].isna().any()  # TPU7x has no canonical name: not an offer


def test_pages_are_followed_and_usd_asked_for(gcp_server: GcpServer) -> None:
    result = fetch(gcp_server)
    paths = [r.path for r in gcp_server.requests]
    assert paths == [f"/v1/services/{COMPUTE}/skus"] * 5 + [f"/v1/services/{TPU}/skus"]
    assert [r.param("pageToken") for r in gcp_server.requests[:5]] == [None, "8", "16", "24", "32"]
    assert all(r.param("currencyCode") == "USD" for r in gcp_server.requests)
    assert result.pages == 6 and result.items == 38


def test_answer_in_another_currency_is_never_added(gcp_server: GcpServer) -> None:
    from google.cloud import billing_v1

    from pricing.providers.base import SkipCounter
    from pricing.providers.gcp import ComponentTable

    idr = json.loads(json.dumps(gcp_skus()[COMPUTE][:3]))
    for sku in idr:
        sku["pricingInfo"][0]["pricingExpression"]["tieredRates"][0]["unitPrice"]["currencyCode"] = "IDR"
    message = billing_v1.ListSkusResponse.from_json(json.dumps({"skus": idr}), ignore_unknown_fields=True)
    table, skipped = ComponentTable(), SkipCounter()
    table.add_skus(billing_v1.ListSkusResponse.pb(message).skus, wanted=frozenset(), skipped=skipped)
    assert skipped == {"priced in IDR, not USD": 3} and table.columns["price"] == []


def test_429_and_503_are_retried(gcp_server: GcpServer) -> None:
    gcp_server.add_fault(
        Fault(
            429,
            google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded").body,
            headers=(("Retry-After", "0"),),
        ),
        Fault(503, google_error(503, "UNAVAILABLE", "The service is currently unavailable.").body),
    )
    result = fetch(gcp_server)
    retries = [e.message for e in result.events if e.kind == "retry"]
    assert len(retries) == 2 and "throttled" in retries[0] and "HTTP 503" in retries[1]
    assert price(result.offers, "a2-highgpu-1g", "us-east1") == pytest.approx(3.673385, abs=1e-6)


def test_failure_mid_pagination_raises(gcp_server: GcpServer) -> None:
    body = google_error(500, "INTERNAL", "Internal error encountered.").body
    gcp_server.add_fault(*[Fault(500, body, when=lambda r: r.param("pageToken") == "16")] * 3)
    with pytest.raises(PricingError, match=r"Compute Engine SKUs page 3 failed after 3 attempts: HTTP 500"):
        fetch(gcp_server)


def test_malformed_page(gcp_server: GcpServer) -> None:
    gcp_server.add_fault(Fault(200, b'{"skus": [{"skuId": '))
    assert fetch(gcp_server).pages == 6
    gcp_server.add_fault(*[Fault(200, b"<html>captive portal</html>", "text/html")] * 3)
    with pytest.raises(PricingError, match="malformed response after 3 attempts"):
        fetch(gcp_server)


def test_timeout(gcp_server: GcpServer) -> None:
    gcp_server.add_fault(Fault(hang_s=1.5), Fault(hang_s=1.5))
    with pytest.raises(
        PricingError, match=r"GCP Compute Engine SKUs page 1 timed out after 0.3 s \(2 attempts\)"
    ):
        fetch(gcp_server, timeout_s=0.3, attempts=2)


def test_api_key_is_sent_and_a_rejected_key_says_how_to_fix_it() -> None:
    with serving(GcpServer(gcp_skus(), api_key="right-key")) as server:
        good = GcpPrices(fast_options(server.url), api_key="right-key").fetch((), lambda e: None)
        assert server.requests[0].headers["x-goog-api-key"] == "right-key"
        assert len(good.offers) > 0
        with pytest.raises(PricingError) as info:
            GcpPrices(fast_options(server.url), api_key="wrong-key").fetch((), lambda e: None)
    message = str(info.value)
    assert "GCP rejected the credentials" in message and "TCO_GCP_API_KEY" in message
    assert "application-default login" in message


def test_regions_restrict_the_offers(gcp_server: GcpServer) -> None:
    offers = fetch(gcp_server, ("us-east4", "us-south1")).offers
    assert set(offers["region"]) == {"us-east4", "us-south1"}


def test_missing_application_default_credentials(tmp_path: Path) -> None:
    """No key, no ADC: one PricingError naming both fixes. In a child process so that google.auth reads
    NO_GCE_CHECK at import and never probes the metadata server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "TCO_GCP", "CLOUDSDK"))}
    env.update(NO_GCE_CHECK="true", CLOUDSDK_CONFIG=str(tmp_path / "gcloud"), HOME=str(tmp_path))
    code = (
        "from pricing.providers.gcp import GcpPrices\n"
        "from pricing.providers.base import ClientOptions\n"
        "from pricing.errors import PricingError\n"
        "try:\n"
        "    GcpPrices(ClientOptions(endpoint='http://127.0.0.1:9')).fetch((), lambda e: None)\n"
        "except PricingError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert "GCP credentials not found" in out.stdout, out.stderr
    assert "TCO_GCP_API_KEY" in out.stdout and "gcloud auth application-default login" in out.stdout


class _Expression:
    def __init__(self, unit: str, factor: float, price: float) -> None:
        class Money:
            units = int(price)
            nanos = round((price - int(price)) * 1e9)

        class Tier:
            start_usage_amount = 0.0
            unit_price = Money()

        self.usage_unit = unit
        self.base_unit_conversion_factor = factor
        self.tiered_rates = [Tier()]


def test_units_are_hourly_or_skipped() -> None:
    assert hourly_unit_price(_Expression("h", 3600, 2.5), "gpu") == pytest.approx(2.5)
    assert hourly_unit_price(_Expression("GiBy.h", 3600 * 2**30, 0.004237), "ram") == pytest.approx(0.004237)
    assert hourly_unit_price(_Expression("GiBy.mo", 2**30 * 2628000, 0.08), "ram") == (
        "monthly usage unit (never added to hourly)"
    )
    # a usage unit that says hourly with a factor that says per minute: the factor wins
    assert hourly_unit_price(_Expression("h", 60, 0.5), "core") == pytest.approx(0.5 / 60 * 3600)


@pytest.mark.parametrize(
    ("description", "usage", "expected"),
    [
        ("A2 Instance Core running in Americas", "OnDemand", Component("core", "A2", "on_demand")),
        (
            "Spot Preemptible A3 Instance Ram running in Americas",
            "Preemptible",
            Component("ram", "A3", "spot"),
        ),
        (
            "Commitment v1: G2 Ram in Americas for 3 Years",
            "Commit3Yr",
            Component("ram", "G2", "committed_3y"),
        ),
        (
            "Nvidia H100 80GB Plus GPU running in Virginia",
            "OnDemand",
            Component("gpu", "H100-MEGA", "on_demand"),
        ),
        (
            "Nvidia Tesla A100 80GB GPU attached to Spot Preemptible VMs running in Iowa",
            "Preemptible",
            Component("gpu", "A100-80GB", "spot"),
        ),
        (
            "Commitment v1: A4 Nvidia B200 (1 gpu slice) in Americas for 1 Year",
            "Commit1Yr",
            Component("gpu", "B200", "committed_1y"),
        ),
        ("Preemptible Tpu-v4 Pod running in Oklahoma", "OnDemand", Component("tpu", "4", "spot")),
        ("Reserved V5e TPU in Calendar Mode", "OnDemand", "reserved or calendar-mode SKU (not modelled)"),
        ("Commitment v1: A2 Cpu in Americas for 1 Year", "OnDemand", "usage type and description disagree"),
        ("Commitment v1: A2 Cpu in Americas for 3 Years", "Commit1Yr", "usage type and description disagree"),
        ("Network Internet Egress from Americas to APAC", "OnDemand", "not a GPU/TPU/host SKU"),
    ],
)
def test_sku_descriptions(description: str, usage: str, expected: Component | str) -> None:
    assert classify_sku(description, usage) == expected


SKIPPED_WORDS = [
    "calendar mode",
    "reserved",
    "dws",
    "dynamic workload",
    "flex",
    "sole tenancy",
    "custom",
    "premium",
]


@settings(max_examples=600, deadline=None)
@example(["Cu\u017ftom Instance Core running in Americas"], False)  # (ſ folds into s)
@example(["Re\u017ferved A2 Core"], False)
@given(
    st.lists(
        st.sampled_from([*SKIPPED_WORDS, "Nvidia", "A2", "Instance", "Core", "GPU", "running in", "Americas"])
        | st.text(alphabet="ReservdDWSFlxCutomPrmiaſK\u212a -", max_size=8),
        max_size=5,
    ),
    st.booleans(),
)
def test_a_description_is_skipped_exactly_where_the_skip_patterns_match(
    words: list[str], upper: bool
) -> None:
    """``classify_sku`` searches the skip patterns only where they can match (an ASCII description holding
    one of their words, or any other): the same answer as searching every description, in any letter case
    and with letters that fold into ASCII ones (ſ, the Kelvin sign)."""
    from pricing.providers.gcp import NOT_MODELLED, RESERVED

    description = " ".join(words)
    description = description.upper() if upper else description
    got = classify_sku(description, "OnDemand")
    if RESERVED.search(description):
        assert got == "reserved or calendar-mode SKU (not modelled)"
    elif NOT_MODELLED.search(description):
        assert got == "DWS/flex/custom/premium SKU (not modelled)"
    else:
        assert got not in (
            "reserved or calendar-mode SKU (not modelled)",
            "DWS/flex/custom/premium SKU (not modelled)",
        )
