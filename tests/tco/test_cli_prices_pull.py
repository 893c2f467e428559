"""`tco prices pull / snapshots / diff` as a user runs them, against loopback AWS, GCP, Azure and OCI APIs.

The endpoints come from the environment variables a user would set for a mirror or proxy; the SDKs are the
real ones (boto3 with dummy keys, the Google client with an API key, urllib for Azure).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pricing.providers.base import PROVIDER_CLIENTS
from pricing.schema import PROVIDERS
from tests.pricing.servers.aws import AwsServer
from tests.pricing.servers.azure import AzureServer
from tests.pricing.servers.base import Fault, serving
from tests.pricing.servers.data import (
    SPOT_PRICES,
    aws_items,
    azure_items,
    gcp_skus,
    oci_document,
    use_dummy_aws_credentials,
)
from tests.pricing.servers.gcp import GcpServer, google_error
from tests.pricing.servers.oci import OciServer

# Success-path pulls: a generous timeout, so that a loaded CI machine cannot turn a slow reply into a failure
# (the timeout tests set their own).
FAST = ("--timeout", "20", "--max-attempts", "3", "--backoff", "0.01")
API_KEY = "loopback-test-key"


@dataclass
class Live:
    aws: AwsServer
    gcp: GcpServer
    azure: AzureServer
    oci: OciServer
    env: dict[str, str]


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Live]:
    use_dummy_aws_credentials(monkeypatch, tmp_path)
    with (
        serving(AwsServer(aws_items(), list(SPOT_PRICES), page_size=4)) as aws,
        serving(GcpServer(gcp_skus(), page_size=8, api_key=API_KEY)) as gcp,
        serving(AzureServer(azure_items(), page_size=4)) as azure,
        serving(OciServer(oci_document())) as oci,
    ):
        env = {
            "TCO_AWS_PRICING_ENDPOINT": aws.url,
            "TCO_AWS_EC2_ENDPOINT": aws.url,
            "TCO_GCP_BILLING_ENDPOINT": gcp.url,
            "TCO_GCP_API_KEY": API_KEY,
            "TCO_AZURE_PRICES_ENDPOINT": azure.url + "/api/retail/prices",
            "TCO_OCI_PRICES_ENDPOINT": oci.endpoint,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield Live(aws, gcp, azure, oci, env)


def key(row: dict[str, Any]) -> tuple[Any, ...]:
    payment = (
        row["note"].split(";")[0].removeprefix("payment=")
        if (row["note"] or "").startswith("payment=")
        else ""
    )
    return (row["provider"], row["instance_type"], row["region"], row["zone"], row["pricing_model"], payment)


P5, P4D = "p5.48xlarge", "p4d.24xlarge"
#: Every AWS row `prices list` must show after the pull, priced by hand from tests/data/aws: reserved upfront
#: fees amortised over the term; the zero (sa-east-1) and the 10x outlier (ap-south-1) left out.
EXPECTED_AWS = {
    ("aws", P5, "us-east-1", None, "on_demand", ""): 55.04,
    ("aws", P5, "us-west-2", None, "on_demand", ""): 55.04,
    ("aws", P4D, "us-east-1", None, "on_demand", ""): 21.957642,
    ("aws", P4D, "us-west-2", None, "on_demand", ""): 21.957642,
    ("aws", P4D, "eu-west-1", None, "on_demand", ""): 24.1535,
    ("aws", P4D, "ap-northeast-1", None, "on_demand", ""): 30.09784,
    ("aws", "p5e.48xlarge", "us-east-1", None, "on_demand", ""): None,  # listed, no price published
    ("aws", "trn1.32xlarge", "us-east-1", None, "on_demand", ""): 21.5,
    ("aws", "g6f.large", "us-east-1", None, "on_demand", ""): 0.202,
    ("aws", P5, "us-east-1", None, "reserved_1y", "no_upfront"): 37.0,
    ("aws", P5, "us-east-1", None, "reserved_1y", "partial_upfront"): 17.5 + 153300 / 8760,
    ("aws", P5, "us-east-1", None, "reserved_1y", "all_upfront"): 300000 / 8760,
    ("aws", P5, "us-east-1", None, "reserved_3y", "no_upfront"): 25.0,
    ("aws", P5, "us-east-1", None, "reserved_3y", "partial_upfront"): 11.0 + 289080 / 26280,
    ("aws", P5, "us-east-1", None, "reserved_3y", "all_upfront"): 570000 / 26280,
    ("aws", P5, "us-east-1", "use1-az4", "spot", ""): 12.345,
    ("aws", P5, "us-east-1", "use1-az6", "spot", ""): 55.04,
    ("aws", P4D, "us-east-1", "use1-az2", "spot", ""): 8.7,
    ("aws", P4D, "us-west-2", "usw2-az2", "spot", ""): 9.1,
}
H100_AZ, A100_AZ = "Standard_ND96isr_H100_v5", "Standard_NC24ads_A100_v4"
EXPECTED_AZURE = {
    ("azure", H100_AZ, "eastus", None, "on_demand", ""): 98.32,
    ("azure", H100_AZ, "eastus", None, "spot", ""): 18.169536,
    ("azure", H100_AZ, "eastus", None, "reserved_1y", ""): 542611.2 / 8760,
    ("azure", H100_AZ, "eastus", None, "reserved_3y", ""): 1033600.8 / 26280,
    ("azure", H100_AZ, "eastus", None, "savings_plan_1y", ""): 68.824,
    ("azure", H100_AZ, "eastus", None, "savings_plan_3y", ""): 45.2272,
    ("azure", "Standard_ND96isr_H200_v5", "southcentralus", None, "spot", ""): 110.272,
    ("azure", A100_AZ, "eastus", None, "on_demand", ""): 3.673,
    ("azure", A100_AZ, "westus2", None, "on_demand", ""): 3.673,
    ("azure", A100_AZ, "westeurope", None, "on_demand", ""): 4.041,
    ("azure", A100_AZ, "eastus", None, "low_priority", ""): 0.7346,
}
#: GCP rows composed by hand: vCPU x core + GiB x RAM + GPUs x GPU SKU (the regional SKU wins in us-central1).
EXPECTED_GCP = {
    ("gcp", "a2-highgpu-1g", "us-east1", None, "on_demand", ""): 12 * 0.031611 + 85 * 0.004237 + 2.933908,
    ("gcp", "a2-highgpu-8g", "us-central1", None, "on_demand", ""): 96 * 0.031611 + 680 * 0.004237 + 8 * 2.9,
    ("gcp", "a2-highgpu-1g", "us-west1", None, "spot", ""): 12 * 0.009483 + 85 * 0.001271 + 1.1,
    ("gcp", "a2-highgpu-4g", "us-east1", None, "committed_1y", ""): 48 * 0.019915
    + 340 * 0.002669
    + 4 * 1.848362,
    ("gcp", "a3-highgpu-8g", "us-east4", None, "on_demand", ""): 208 * 0.0229 + 1872 * 0.00201 + 8 * 9.79,
    ("gcp", "a3-highgpu-8g", "europe-west4", None, "on_demand", ""): 208 * 0.02519
    + 1872 * 0.00221
    + 8 * 9.80,
    ("gcp", "g2-standard-48", "us-central1", None, "on_demand", ""): 48 * 0.024988
    + 192 * 0.002927
    + 4 * 0.56,
    ("gcp", "a4-highgpu-8g", "us-central1", None, "on_demand", ""): None,  # B200 listed, A4 host SKUs missing
    ("gcp", "nvidia-tesla-t4-x1", "us-west1", None, "on_demand", ""): 0.35,
    ("gcp", "tpu-v5e-chip", "asia-south2", None, "on_demand", ""): 1.44132,
    ("gcp", "tpu-v5e-chip", "asia-southeast1", None, "spot", ""): 0.6,
    ("gcp", "tpu-v5p-chip", "southamerica-east1", None, "on_demand", ""): 6.430995,
    ("gcp", "tpu-v5p-chip", "europe-west4", None, "committed_3y", ""): 2.9,
    ("gcp", "tpu-v6e-chip", "us-south1", None, "on_demand", ""): 2.7,
    ("gcp", "tpu-v4-chip", "us-central2", None, "on_demand", ""): 12.88 / 4,
}
#: Prices of trap rows: none may ever be listed.
TRAP_PRICES = {
    31.464,
    60.0,
    3.672,
    12.24,
    2.506,
    60.544,
    0.379,
    102.736,
    4.5,
    3.1,
    97.0,
    0.72,
    6.0,
    219.57642,
}


def assert_price(actual: Any, expected: float | None) -> None:
    if expected is None:
        assert actual is None
    else:
        assert actual == pytest.approx(expected, rel=1e-12)


def test_pull_all_then_list_gives_the_served_prices_and_no_trap_rows(cli: Any, live: Live) -> None:
    pulled = cli("prices", "pull", "--provider", "all", *FAST)
    assert pulled.exit_code == 0, pulled.stderr
    assert pulled.stdout == ""
    assert "Price pull" in pulled.stderr and "stored as pull #1" in pulled.stderr
    assert (
        "aws skipped (not offers tco models): " in pulled.stderr and "capacity block row 1" in pulled.stderr
    )
    assert live.gcp.requests[0].headers["x-goog-api-key"] == API_KEY

    # the pulled providers (the others keep their embedded snapshots)
    listed = cli("prices", "list", "-p", ",".join(PROVIDER_CLIENTS), "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    rows = listed.json()
    by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        assert key(row) not in by_key, f"duplicate offer {key(row)}"
        by_key[key(row)] = row
    aws = {k: r["price_usd_per_hour"] for k, r in by_key.items() if k[0] == "aws"}
    azure = {k: r["price_usd_per_hour"] for k, r in by_key.items() if k[0] == "azure"}
    assert set(aws) == set(EXPECTED_AWS) and set(azure) == set(EXPECTED_AZURE)
    for expected in (EXPECTED_AWS, EXPECTED_AZURE, EXPECTED_GCP):
        for offer, price in expected.items():
            assert offer in by_key, offer
            assert_price(by_key[offer]["price_usd_per_hour"], price)
    # GCP: the H100 machines of us-central1 (a different price level) are flagged outliers, not listed
    assert not [k for k in by_key if k[0] == "gcp" and k[1].startswith("a3-") and k[2] == "us-central1"]
    assert not {r["price_usd_per_hour"] for r in rows} & TRAP_PRICES
    assert not {"us-east-2", "asia-southeast2", "westus3", "sa-east-1", "ap-south-1"} & {
        r["region"] for r in rows
    }
    assert all(r["snapshot"].startswith("pull #") and r["currency_original"] == "USD" for r in rows)
    assert all(r["source"] and r["fetched_at"] for r in rows)
    # where the prices came from, on stderr
    for provider, number in (("aws", 1), ("gcp", 2), ("azure", 3)):
        assert f"{provider} pull #{number} " in listed.stderr


def test_snapshots_lists_pulls_and_what_is_in_use(cli: Any, live: Live) -> None:
    assert cli("prices", "pull", "-p", "azure", *FAST).exit_code == 0
    assert cli("prices", "pull", "-p", "azure", *FAST).exit_code == 0
    result = cli("prices", "snapshots", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    pulls = [r for r in rows if r["snapshot"] != "embedded"]
    assert [(r["snapshot"], r["provider"], r["in_use"]) for r in pulls] == [
        ("2", "azure", True),
        ("1", "azure", False),
    ]
    assert pulls[0]["offers"] == 12 and pulls[0]["flagged"] == "amortised 2, zero 1"
    assert (
        pulls[0]["left_out_of_listings"] == 1
        and pulls[0]["endpoint"] == live.env["TCO_AZURE_PRICES_ENDPOINT"]
    )
    embedded = {r["provider"]: r["in_use"] for r in rows if r["snapshot"] == "embedded"}
    assert embedded == {p: p != "azure" for p in PROVIDERS}
    table = cli("prices", "snapshots")
    assert table.exit_code == 0 and "In use" in table.stdout


def test_diff_shows_price_moves_biggest_impact_first(cli: Any, live: Live) -> None:
    assert cli("prices", "pull", "-p", "azure", *FAST).exit_code == 0
    live.azure.items[0]["retailPrice"] = 90.0  # ND96isr H100 v5 on-demand in eastus, was 98.32
    live.azure.items[7]["retailPrice"] = 3.5  # NC24ads A100 v4 in eastus, was 3.673
    del live.azure.items[6]  # the H200 spot row
    assert cli("prices", "pull", "-p", "azure", *FAST).exit_code == 0
    result = cli("prices", "diff", "--format", "json")
    assert result.exit_code == 0, result.stderr
    changes = [
        (r["change"], r["instance_type"], r["pricing_model"], r["delta_usd_per_hour"]) for r in result.json()
    ]
    assert changes[0] == ("removed", "Standard_ND96isr_H200_v5", "spot", None)
    assert changes[1][:3] == ("down", H100_AZ, "on_demand") and changes[1][3] == pytest.approx(90.0 - 98.32)
    assert changes[2][:3] == ("down", A100_AZ, "on_demand") and changes[2][3] == pytest.approx(3.5 - 3.673)
    assert len(changes) == 3
    assert "azure: pull #1 " in result.stderr and "-> pull #2 " in result.stderr
    table = cli("prices", "diff", "1", "2")
    assert table.exit_code == 0 and "Price changes" in table.stdout and "-8.3200" in table.stdout


def test_a_failed_pull_is_one_line_exit_1_and_the_previous_prices_stay(cli: Any, live: Live) -> None:
    assert cli("prices", "pull", "-p", "gcp", *FAST).exit_code == 0
    before = cli("prices", "list", "-p", "gcp", "-f", "json").json()
    body = google_error(503, "UNAVAILABLE", "The service is currently unavailable.").body
    live.gcp.add_fault(*[Fault(503, body, when=lambda r: r.param("pageToken") == "16")] * 3)
    failed = cli("prices", "pull", "-p", "gcp", *FAST)
    assert failed.exit_code == 1
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and failed.stderr.rstrip().splitlines()[-1] == errors[0]
    assert "gcp: GCP Compute Engine SKUs page 3 failed after 3 attempts: HTTP 503" in errors[0]
    assert "previous prices are kept" in errors[0]
    after = cli("prices", "list", "-p", "gcp", "-f", "json")
    assert after.json() == before and "gcp pull #1 " in after.stderr


def test_one_provider_failing_does_not_stop_the_others(cli: Any, live: Live) -> None:
    live.azure.add_fault(*[Fault(hang_s=1.0)] * 2)
    result = cli(
        "prices", "pull", "-p", "aws,azure", "--timeout", "0.3", "--max-attempts", "2", "--backoff", "0"
    )
    assert result.exit_code == 1
    assert (
        "1 of 2 price pulls failed" in result.stderr
        and "azure: Azure retail prices page 1 timed out" in result.stderr
    )
    snapshots = cli("prices", "snapshots", "-f", "json").json()
    assert [(r["provider"], r["snapshot"]) for r in snapshots if r["snapshot"] != "embedded"] == [
        ("aws", "1")
    ]


def test_missing_aws_credentials(cli: Any, live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = cli("prices", "pull", "-p", "aws", *FAST)
    assert result.exit_code == 1
    assert result.stderr.count("error:") == 1 and "AWS credentials not found" in result.stderr
    assert "aws configure" in result.stderr and live.aws.requests == []


def test_rejected_gcp_key(cli: Any, live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TCO_GCP_API_KEY", "wrong")
    result = cli("prices", "pull", "-p", "gcp", *FAST)
    assert result.exit_code == 1 and "GCP rejected the credentials" in result.stderr
    assert "TCO_GCP_API_KEY" in result.stderr


def test_endpoint_option_and_usage_errors(cli: Any, live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TCO_AZURE_PRICES_ENDPOINT")
    ok = cli("prices", "pull", "-p", "azure", "--endpoint", live.azure.url + "/api/retail/prices", *FAST)
    assert ok.exit_code == 0, ok.stderr
    both = cli("prices", "pull", "--endpoint", live.azure.url)
    assert both.exit_code == 2 and "--endpoint needs exactly one --provider" in both.stderr
    unknown = cli("prices", "pull", "-p", "azur")
    assert unknown.exit_code == 2 and "did you mean azure?" in unknown.stderr


def test_summary_as_json_and_stale_warning(cli: Any, live: Live) -> None:
    result = cli("prices", "pull", "-p", "azure", "-f", "json", *FAST)
    assert result.exit_code == 0
    [summary] = result.json()
    assert summary["status"] == "stored" and summary["offers"] == 12 and summary["left_out_of_listings"] == 1
    assert "Windows: 2" in summary["skipped"]
    stale = cli("prices", "list", "-p", "azure", "--max-age-days", "0")
    assert "warning: prices older than 0 days" in stale.stderr and "tco prices pull" in stale.stderr


def test_two_pulls_at_once_in_separate_processes(live: Live, tco_home: Path) -> None:
    env = {**os.environ, **live.env, "TCO_HOME": str(tco_home)}
    command = [sys.executable, "-m", "tco", "prices", "pull", "-p", "azure", *FAST]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1].decode() for o in outputs]
    listing = subprocess.run(
        [sys.executable, "-m", "tco", "prices", "snapshots", "-f", "json"],
        env=env,
        capture_output=True,
        check=True,
    )
    pulls = [r for r in json.loads(listing.stdout) if r["snapshot"] != "embedded"]
    assert sorted(r["snapshot"] for r in pulls) == ["1", "2"] and {r["offers"] for r in pulls} == {12}


def test_ctrl_c_mid_pull_writes_nothing_and_says_so(live: Live, tco_home: Path) -> None:
    """Ctrl-C while page 2 is in flight. The server holds page 2 until the test has seen the pull end, so the
    pull can never finish on its own before the signal (it once did: a fixed 20 s hang on a loaded machine
    was a race). An exit 0 here would mean a swallowed SIGINT; a pull still running after the signal fails
    the test instead of hanging it."""
    release, in_flight = threading.Event(), threading.Event()
    live.azure.add_fault(Fault(hold=release, holding=in_flight, when=lambda r: r.param("$skip") == "4"))
    env = {**os.environ, **live.env, "TCO_HOME": str(tco_home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tco", "prices", "pull", "-p", "azure", "--timeout", "300"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert in_flight.wait(timeout=300), "the pull never asked for page 2"
        proc.send_signal(signal.SIGINT)
        try:
            _, stderr = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail("the pull was still running 120 s after Ctrl-C: SIGINT swallowed")
    finally:
        release.set()
    assert proc.returncode == 130, stderr.decode()
    assert "pull interrupted: nothing written" in stderr.decode()
    assert "Traceback" not in stderr.decode()
    listing = subprocess.run(
        [sys.executable, "-m", "tco", "prices", "snapshots", "-f", "json"],
        env=env,
        capture_output=True,
        check=True,
    )
    assert [r["snapshot"] for r in json.loads(listing.stdout)] == ["embedded"] * len(PROVIDERS)
