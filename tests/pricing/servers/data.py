"""The fixture items (``tests/data/<provider>/``) and the settings every loopback test shares."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pricing.providers.base import DEFAULT_MAX_PAGES, ClientOptions, RetryPolicy
from tests.pricing.servers.aws import SpotPrice

DATA = Path(__file__).resolve().parents[2] / "data"

#: The spot history the AWS server holds: two observations of one zone (the newer one counts), a spot price
#: equal to on-demand (that happens on AWS), and another instance type.
SPOT_PRICES = (
    SpotPrice(
        "us-east-1",
        "us-east-1a",
        "use1-az4",
        "p5.48xlarge",
        "12.345000",
        datetime(2025, 6, 10, 12, tzinfo=UTC),
    ),
    SpotPrice(
        "us-east-1",
        "us-east-1a",
        "use1-az4",
        "p5.48xlarge",
        "13.000000",
        datetime(2025, 6, 10, 11, tzinfo=UTC),
    ),
    SpotPrice(
        "us-east-1",
        "us-east-1c",
        "use1-az6",
        "p5.48xlarge",
        "55.040000",
        datetime(2025, 6, 10, 12, tzinfo=UTC),
    ),
    SpotPrice(
        "us-east-1",
        "us-east-1b",
        "use1-az2",
        "p4d.24xlarge",
        "8.700000",
        datetime(2025, 6, 10, 9, tzinfo=UTC),
    ),
    SpotPrice(
        "us-west-2",
        "us-west-2b",
        "usw2-az2",
        "p4d.24xlarge",
        "9.100000",
        datetime(2025, 6, 10, 9, tzinfo=UTC),
    ),
)


def aws_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads((DATA / "aws" / "get_products_items.json").read_text())
    return items


def gcp_skus() -> dict[str, list[dict[str, Any]]]:
    skus: dict[str, list[dict[str, Any]]] = json.loads((DATA / "gcp" / "skus.json").read_text())
    return skus


def azure_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads((DATA / "azure" / "retail_prices_items.json").read_text())
    return items


def oci_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / "oci" / "products.json").read_text())
    return document


def fast_options(
    endpoint: str | None = None,
    *,
    attempts: int = 3,
    timeout_s: float = 2.0,
    spot: bool = True,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> ClientOptions:
    """Real retries and timeouts, scaled down so that the suite stays fast."""
    return ClientOptions(
        endpoint=endpoint,
        timeout_s=timeout_s,
        retry=RetryPolicy(attempts=attempts, base_delay_s=0.01, max_delay_s=0.05),
        spot=spot,
        max_pages=max_pages,
    )


def use_dummy_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy keys (the loopback server checks a SigV4 signature is there), no config files, no IMDS."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTESTTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    no_aws_config(monkeypatch, tmp_path)


def no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
