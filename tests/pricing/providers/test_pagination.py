"""Pagination always ends, in every provider, on the loopback servers: a next-page token or link seen before,
a link to another host or scheme, or more pages than the pull's limit stops the pull with one PricingError.

Each fetch runs under ``no_hang``: a client that followed a looping server for ever fails the test instead
of hanging it.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials

from pricing.errors import PricingError
from pricing.providers import http
from pricing.providers.aws import AwsPrices
from pricing.providers.azure import DEFAULT_ENDPOINT, AzurePrices
from pricing.providers.base import ClientOptions, PageGuard
from pricing.providers.gcp import GcpPrices
from pricing.providers.oci import OciPrices
from tests.pricing.servers.aws import AwsServer
from tests.pricing.servers.azure import AzureServer
from tests.pricing.servers.base import Fault, Recorded, Reply, no_hang, rewrite_json
from tests.pricing.servers.data import fast_options
from tests.pricing.servers.gcp import GcpServer
from tests.pricing.servers.oci import OciServer

GUARD_S = 60  # far longer than any of these fetches takes on a loaded machine; a loop never ends


def azure(server: AzureServer, **kwargs: Any) -> Any:
    with no_hang(GUARD_S):
        return AzurePrices(fast_options(server.url + "/api/retail/prices", **kwargs)).fetch(
            (), lambda e: None
        )


def aws(server: AwsServer, **kwargs: Any) -> Any:
    with no_hang(GUARD_S):
        return AwsPrices(fast_options(server.url, **kwargs), ec2_endpoint=server.url).fetch(
            (), lambda e: None
        )


def gcp(server: GcpServer, **kwargs: Any) -> Any:
    with no_hang(GUARD_S):
        client = GcpPrices(fast_options(server.url, **kwargs), credentials=AnonymousCredentials())
        return client.fetch((), lambda e: None)


def _link(change: Any) -> Any:
    def edit(document: dict[str, Any]) -> dict[str, Any]:
        if document.get("NextPageLink"):
            document["NextPageLink"] = change(document["NextPageLink"])
        return document

    return rewrite_json(edit)


# --- Azure: NextPageLink ------------------------------------------------------------------------------------


def test_azure_a_link_that_keeps_coming_back(azure_server: AzureServer) -> None:
    first: list[str] = []
    azure_server.rewrite = _link(lambda link: first.append(link) or first[0])  # always the second page
    with pytest.raises(
        PricingError, match=r"Azure sent the next-page link .* a second time: its pagination loops"
    ):
        azure(azure_server)
    assert len(azure_server.requests) == 2  # page 1, page 2 (whose link is page 2 again), not one more


def test_azure_a_link_to_another_host(azure_server: AzureServer) -> None:
    azure_server.rewrite = _link(lambda link: link.replace("127.0.0.1", "169.254.169.254"))
    with pytest.raises(
        PricingError, match=r"link to http://169.254.169.254:\d+, not its endpoint .*not followed"
    ):
        azure(azure_server)
    assert len(azure_server.requests) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda link: link.replace("http://", "file://"), "link to file://"),
        (lambda link: link.replace("http://", "https://"), "link to https://"),  # same host, other scheme
        (lambda link: "http://[::1" + link, "not a URL"),
        (lambda link: 12, "malformed response"),  # not text: a malformed page, retried, then reported
    ],
)
def test_azure_a_link_that_is_not_to_follow(azure_server: AzureServer, change: Any, message: str) -> None:
    azure_server.rewrite = _link(change)
    with pytest.raises(PricingError, match=message):
        azure(azure_server, attempts=2)


def test_azure_links_to_the_public_api_are_rebased_onto_a_mirror(azure_server: AzureServer) -> None:
    azure_server.rewrite = _link(lambda link: link.replace(azure_server.url, "https://prices.azure.com"))
    result = azure(azure_server)
    assert result.pages == len(azure_server.requests) > 1
    assert all(r.path == "/api/retail/prices" for r in azure_server.requests)


def test_azure_page_limit(azure_server: AzureServer) -> None:
    with pytest.raises(PricingError, match=r"Azure pull stopped after 2 pages: the API kept sending more"):
        azure(azure_server, max_pages=2)
    assert len(azure_server.requests) == 2
    assert azure(azure_server).pages > 2  # the default limit reads them all


def test_page_guard_rebases_only_known_origins() -> None:
    guard = PageGuard("Azure", 10)
    mirror = "http://127.0.0.1:8080/mirror/prices"
    assert (
        guard.link(
            "https://prices.azure.com:443/api/retail/prices?$filter=x&$skip=1000",
            mirror,
            origins=[DEFAULT_ENDPOINT],
        )
        == "http://127.0.0.1:8080/mirror/prices?$filter=x&$skip=1000"
    )
    same = "https://prices.azure.com/api/retail/prices?$skip=2000"
    assert guard.link(same, DEFAULT_ENDPOINT, origins=[DEFAULT_ENDPOINT]) == same
    with pytest.raises(PricingError, match="not followed"):
        guard.link("https://prices.azure.com.evil.example/x", mirror, origins=[DEFAULT_ENDPOINT])
    assert guard.link(None, mirror) is None and guard.link("", mirror) is None


# --- AWS: NextToken (GetProducts and spot history) ----------------------------------------------------------


def test_aws_a_token_that_keeps_coming_back(aws_server: AwsServer) -> None:
    def same_token(document: dict[str, Any]) -> dict[str, Any]:
        if document.get("NextToken"):
            document["NextToken"] = "NA=="  # offset 4: every page says the next one is the second
        return document

    aws_server.rewrite = rewrite_json(same_token)
    with pytest.raises(PricingError, match=r"AWS sent the page token 'NA==' a second time"):
        aws(aws_server, spot=False)


def test_aws_spot_history_token_that_keeps_coming_back(aws_server: AwsServer) -> None:
    def loop(request: Recorded, reply: Reply) -> Reply:
        if b"<nextToken>" in reply.body:
            body = reply.body.replace(b"<nextToken></nextToken>", b"<nextToken>0</nextToken>")
            return Reply(reply.status, body.replace(b"<nextToken>1", b"<nextToken>0"), reply.content_type)
        return reply

    aws_server.state.spot_page_size = 1
    aws_server.rewrite = loop
    with pytest.raises(PricingError, match=r"AWS sent the page token '0' a second time"):
        aws(aws_server)


def test_aws_page_limit(aws_server: AwsServer) -> None:
    with pytest.raises(PricingError, match=r"AWS pull stopped after 3 pages"):
        aws(aws_server, max_pages=3, spot=False)
    assert len([r for r in aws_server.requests if r.method == "POST"]) == 3


# --- GCP: nextPageToken -------------------------------------------------------------------------------------


def test_gcp_a_token_that_keeps_coming_back(gcp_server: GcpServer) -> None:
    def same_token(document: dict[str, Any]) -> dict[str, Any]:
        if document.get("nextPageToken"):
            document["nextPageToken"] = "8"
        return document

    gcp_server.rewrite = rewrite_json(same_token)
    with pytest.raises(PricingError, match=r"GCP sent the page token '8' a second time"):
        gcp(gcp_server)


def test_gcp_page_limit(gcp_server: GcpServer) -> None:
    with pytest.raises(PricingError, match=r"GCP pull stopped after 2 pages"):
        gcp(gcp_server, max_pages=2)
    assert len(gcp_server.requests) == 2


# --- OCI: one response --------------------------------------------------------------------------------------


def test_oci_reads_one_response_whatever_it_says(oci_server: OciServer) -> None:
    def more(document: dict[str, Any]) -> dict[str, Any]:
        return {**document, "hasMore": True, "links": [{"rel": "next", "href": "http://169.254.169.254/"}]}

    oci_server.rewrite = rewrite_json(more)
    with no_hang(GUARD_S):
        result = OciPrices(fast_options(oci_server.endpoint)).fetch((), lambda e: None)
    assert result.pages == 1 and len(oci_server.requests) == 1


# --- bodies are bounded in time and size --------------------------------------------------------------------


def test_a_body_trickled_slower_than_the_timeout_is_a_timeout(azure_server: AzureServer) -> None:
    azure_server.add_fault(
        Fault(trickle_s=4.0), Fault(trickle_s=4.0)
    )  # bytes keep coming, each read is quick
    with pytest.raises(PricingError, match=r"timed out after 1 s \(2 attempts\)"):
        azure(azure_server, timeout_s=1.0, attempts=2)


def test_a_body_larger_than_the_limit(azure_server: AzureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "MAX_BODY_BYTES", 1000)
    with pytest.raises(
        PricingError, match=r"the response from http://127.0.0.1:\d+/api/retail/prices is larger"
    ):
        azure(azure_server)
    assert len(azure_server.requests) == 1  # not retried: a price API's page is never that large


# --- limits are checked -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_pages": 0}, "page limit must be a whole number of at least 1"),
        ({"max_pages": True}, "page limit"),
        ({"timeout_s": float("nan")}, "timeout must be a positive number"),
        ({"timeout_s": float("inf")}, "timeout must be a positive number"),
        ({"page_size": 0}, "page size must be at least 1"),
    ],
)
def test_client_options_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(PricingError, match=message):
        ClientOptions(**options)


# --- endpoints are checked before any request ------------------------------------------------------------


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure", "oci"])
@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("", "--endpoint is empty"),
        (" ", "--endpoint is empty"),
        ("not a url", "holds spaces or control characters"),
        ("http://[::1", "is not a URL"),
        ("http://127.0.0.1:99999", "is not a URL"),
        ("http://", "must be an http\\(s\\) URL with a host"),
        ("ftp://mirror.example.com", "must be an http\\(s\\) URL with a host"),
        ("file:///etc/passwd", "must be an http\\(s\\) URL with a host"),
    ],
)
def test_an_endpoint_that_is_not_one(provider: str, endpoint: str, message: str) -> None:
    from pricing.providers.base import make_client

    with pytest.raises(PricingError, match=message):
        make_client(provider, ClientOptions(endpoint=endpoint)).fetch((), lambda e: None)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TCO_AZURE_PRICES_ENDPOINT", "", "TCO_AZURE_PRICES_ENDPOINT is empty"),
        ("TCO_AWS_PRICING_ENDPOINT", "http://[::1", "TCO_AWS_PRICING_ENDPOINT 'http://\\[::1' is not a URL"),
        ("TCO_AWS_EC2_ENDPOINT", "", "TCO_AWS_EC2_ENDPOINT is empty"),
        ("TCO_AWS_PRICING_REGION", "+cmd", "TCO_AWS_PRICING_REGION '\\+cmd' is not an AWS region name"),
        ("TCO_GCP_API_KEY", " ", "TCO_GCP_API_KEY is empty"),
        ("TCO_OCI_PRICES_ENDPOINT", "gopher://x", "must be an http\\(s\\) URL"),
    ],
)
def test_an_environment_variable_that_is_set_but_unusable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    from pricing.providers.base import make_client

    monkeypatch.setenv(variable, value)
    provider = {"AZURE": "azure", "AWS": "aws", "GCP": "gcp", "OCI": "oci"}[variable.split("_")[1]]
    with pytest.raises(PricingError, match=message):
        make_client(provider, ClientOptions()).fetch((), lambda e: None)


def test_gcp_takes_a_bare_host() -> None:
    from pricing.providers.base import check_endpoint

    assert check_endpoint("cloudbilling.googleapis.com", "gcp", "x") == "cloudbilling.googleapis.com"
    with pytest.raises(PricingError, match="must be an http"):
        check_endpoint("cloudbilling.googleapis.com", "azure", "x")
