"""Loopback price servers for the pricing tests (each test gets fresh ones, on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pricing.servers.aws import AwsServer
from tests.pricing.servers.azure import AzureServer
from tests.pricing.servers.base import serving
from tests.pricing.servers.data import (
    SPOT_PRICES,
    aws_items,
    azure_items,
    gcp_skus,
    oci_document,
    use_dummy_aws_credentials,
)
from tests.pricing.servers.gcp import GcpServer
from tests.pricing.servers.oci import OciServer


@pytest.fixture
def aws_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[AwsServer]:
    use_dummy_aws_credentials(monkeypatch, tmp_path)
    with serving(AwsServer(aws_items(), list(SPOT_PRICES), page_size=4)) as server:
        yield server


@pytest.fixture
def gcp_server() -> Iterator[GcpServer]:
    with serving(GcpServer(gcp_skus(), page_size=8)) as server:
        yield server


@pytest.fixture
def azure_server() -> Iterator[AzureServer]:
    with serving(AzureServer(azure_items(), page_size=4)) as server:
        yield server


@pytest.fixture
def oci_server() -> Iterator[OciServer]:
    with serving(OciServer(oci_document())) as server:
        yield server
