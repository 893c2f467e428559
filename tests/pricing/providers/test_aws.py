"""The AWS client against a loopback Price List / EC2 server, through the real boto3 (``endpoint_url``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pricing.errors import PricingError
from pricing.providers.aws import PRODUCT_FILTERS, AwsPrices, parse_products
from pricing.providers.base import ProgressEvent, SkipCounter
from tests.pricing.servers.aws import AwsServer, ec2_error, json_error
from tests.pricing.servers.base import Fault, serving
from tests.pricing.servers.data import aws_items, fast_options, no_aws_config

HOURS_1Y = 8760.0
HOURS_3Y = 3 * 8760.0


def fetch(server: AwsServer, **kwargs: Any) -> Any:
    events: list[ProgressEvent] = []
    client = AwsPrices(fast_options(server.url, **kwargs), ec2_endpoint=server.url)
    result = client.fetch((), events.append)
    result.events = events  # type: ignore[attr-defined]
    return result


def price(
    offers: Any,
    instance_type: str,
    region: str,
    model: str,
    payment: str | None = None,
    zone: str | None = None,
) -> float:
    rows = offers[
        offers["instance_type"].eq(instance_type)
        & offers["region"].eq(region)
        & offers["pricing_model"].eq(model)
    ]
    if payment is not None:
        rows = rows[rows["note"].str.startswith(f"payment={payment};")]
    if zone is not None:
        rows = rows[rows["zone"].eq(zone)]
    assert len(rows) == 1, rows
    return float(rows["price_usd_per_hour"].iloc[0])


def test_pages_are_followed_with_next_token_and_filters_sent(aws_server: AwsServer) -> None:
    result = fetch(aws_server)
    pricing_calls = [r for r in aws_server.requests if r.headers.get("x-amz-target")]
    bodies = [json.loads(r.body) for r in pricing_calls]
    assert len(aws_server.requests) == result.pages  # price list pages, then spot pages
    # 15 products pass the filters of the GPU family (4 pages of 4) and 1 the ASIC family (1 page)
    assert [b.get("NextToken") is not None for b in bodies] == [False, True, True, True, False]
    first = {f["Field"]: f["Value"] for f in bodies[0]["Filters"]}
    assert first == {**PRODUCT_FILTERS, "instanceFamily": "GPU instance"}
    assert {f["Type"] for b in bodies for f in b["Filters"]} == {"TERM_MATCH"}
    assert all(b["ServiceCode"] == "AmazonEC2" and b["FormatVersion"] == "aws_v1" for b in bodies)
    assert "AWS4-HMAC-SHA256" in pricing_calls[0].headers["authorization"]
    assert [e.kind for e in result.events].count("page") == result.pages


def test_on_demand_reserved_amortised_and_spot_prices(aws_server: AwsServer) -> None:
    offers = fetch(aws_server).offers
    assert price(offers, "p5.48xlarge", "us-east-1", "on_demand") == 55.04
    assert price(offers, "p5.48xlarge", "us-east-1", "reserved_1y", "no_upfront") == 37.0
    assert price(offers, "p5.48xlarge", "us-east-1", "reserved_1y", "partial_upfront") == pytest.approx(
        17.5 + 153300 / HOURS_1Y, rel=1e-12
    )
    assert price(offers, "p5.48xlarge", "us-east-1", "reserved_1y", "all_upfront") == pytest.approx(
        300000 / HOURS_1Y, rel=1e-12
    )
    assert price(offers, "p5.48xlarge", "us-east-1", "reserved_3y", "partial_upfront") == pytest.approx(
        11.0 + 289080 / HOURS_3Y, rel=1e-12
    )
    assert price(offers, "p5.48xlarge", "us-east-1", "reserved_3y", "all_upfront") == pytest.approx(
        570000 / HOURS_3Y, rel=1e-12
    )
    # the newer of two observations of a zone counts; zone IDs, observation time kept
    assert price(offers, "p5.48xlarge", "us-east-1", "spot", zone="use1-az4") == 12.345
    assert price(offers, "p5.48xlarge", "us-east-1", "spot", zone="use1-az6") == 55.04
    assert price(offers, "p4d.24xlarge", "us-west-2", "spot", zone="usw2-az2") == 9.1
    spot = offers[offers["pricing_model"].eq("spot") & offers["zone"].eq("use1-az4")].iloc[0]
    assert spot["effective_date"] == "2025-06-10T12:00:00Z" and "observed at" in spot["note"]
    p5 = offers[offers["instance_type"].eq("p5.48xlarge")].iloc[0]
    assert (p5["accelerator"], p5["accelerator_count"], p5["vcpus"], p5["memory_gib"]) == (
        "H100-80GB",
        8,
        192,
        2048,
    )
    assert p5["price_usd_per_accelerator_hour"] == pytest.approx(55.04 / 8)
    amortised = offers[offers["flags"].eq("amortised")]
    assert len(amortised) == 4 and set(amortised["pricing_model"]) == {"reserved_1y", "reserved_3y"}


def test_trap_rows_that_pass_the_filters_are_skipped_and_counted(aws_server: AwsServer) -> None:
    result = fetch(aws_server)
    offers = result.offers
    # Capacity Block (31.464) and the duplicate product (60.0) never become prices
    assert not offers["price_usd_per_hour"].isin([31.464, 60.0]).any()
    assert "g4ad.xlarge" not in set(offers["instance_type"])
    assert result.skipped["capacity block row"] == 1
    assert result.skipped["duplicate product"] == 1
    assert result.skipped["instance type without a known accelerator"] == 1
    assert result.skipped["reserved term: convertible (not modelled)"] == 1
    # an instance with no on-demand price keeps its row, with a null price (never 0)
    p5e = offers[offers["instance_type"].eq("p5e.48xlarge")]
    assert len(p5e) == 1 and p5e["price_usd_per_hour"].isna().all() and p5e["flags"].iloc[0] == "missing"


def test_rows_the_filters_should_have_kept_out_are_skipped_client_side(aws_server: AwsServer) -> None:
    aws_server.state.honour_filters = False
    result = fetch(aws_server, spot=False)
    for reason in (
        "capacity reservation row",
        "not Linux",
        "pre-installed software",
        "not shared tenancy",
    ):
        assert result.skipped[reason] >= 1, reason
    # the real c6a item and a p5 one, sent once per instance-family query (the server ignores that filter too)
    assert result.skipped["capacity reservation row"] == 2 * 2
    offers = result.offers
    assert not offers["price_usd_per_hour"].isin([3.672, 12.24, 2.506, 60.544]).any()
    assert set(offers["region"]) >= {"us-east-1"} and "us-east-2" not in set(offers["region"])


def test_throttling_and_5xx_are_retried_then_succeed(aws_server: AwsServer) -> None:
    aws_server.add_fault(
        Fault(
            400,
            json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode(),
            "application/x-amz-json-1.1",
        ),
        Fault(
            503,
            b'{"__type": "ServiceUnavailableException", "message": "try later"}',
            "application/x-amz-json-1.1",
        ),
    )
    result = fetch(aws_server, spot=False)
    retries = [e for e in result.events if e.kind == "retry"]
    assert len(retries) == 2 and "throttled" in retries[0].message and "HTTP 503" in retries[1].message
    assert price(result.offers, "p5.48xlarge", "us-east-1", "on_demand") == 55.04


def test_throttled_on_every_attempt_fails_with_one_error(aws_server: AwsServer) -> None:
    reply = json_error(400, "ThrottlingException", "Rate exceeded")
    aws_server.add_fault(*[Fault(reply.status, reply.body, reply.content_type)] * 3)
    with pytest.raises(PricingError, match=r"failed after 3 attempts: throttled") as info:
        fetch(aws_server, spot=False)
    assert "--max-attempts" in str(info.value)


def test_failure_mid_pagination_raises_instead_of_returning_part(aws_server: AwsServer) -> None:
    def page_three(r: Any) -> bool:
        body = json.loads(r.body or b"{}")
        return body.get("NextToken") == "OA=="  # offset 8

    aws_server.add_fault(*[Fault(500, b'{"__type": "InternalError"}', when=page_three)] * 3)
    with pytest.raises(PricingError, match=r"GetProducts page 3 failed after 3 attempts: HTTP 500"):
        fetch(aws_server, spot=False)


def test_malformed_page_is_retried_and_reported_when_it_persists(aws_server: AwsServer) -> None:
    aws_server.add_fault(Fault(200, b"<html>proxy error</html>", "text/html"))
    assert fetch(aws_server, spot=False).pages == 5  # one bad answer, retried
    aws_server.add_fault(
        *[
            Fault(
                200, b'{"FormatVersion": "aws_v1", "PriceList": ["{not json"]}', "application/x-amz-json-1.1"
            )
        ]
        * 3
    )
    with pytest.raises(PricingError, match="malformed response after 3 attempts"):
        fetch(aws_server, spot=False)


def test_timeout_becomes_one_error(aws_server: AwsServer) -> None:
    aws_server.add_fault(Fault(hang_s=1.5), Fault(hang_s=1.5))
    with pytest.raises(PricingError, match=r"timed out after 0.3 s \(2 attempts\)"):
        fetch(aws_server, spot=False, timeout_s=0.3, attempts=2)


def test_missing_credentials_say_how_to_configure_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_aws_config(monkeypatch, tmp_path)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    with serving(AwsServer(aws_items())) as server, pytest.raises(PricingError) as info:
        AwsPrices(fast_options(server.url)).fetch((), lambda e: None)
    assert "AWS credentials not found" in str(info.value) and "aws configure" in str(info.value)
    assert server.requests == []  # nothing unsigned left the machine


def test_rejected_credentials(aws_server: AwsServer) -> None:
    reply = json_error(
        400, "UnrecognizedClientException", "The security token included in the request is invalid."
    )
    aws_server.add_fault(Fault(reply.status, reply.body, reply.content_type))
    with pytest.raises(PricingError, match="AWS rejected the credentials"):
        fetch(aws_server, spot=False)


def test_spot_without_permission_is_a_warning_not_a_failure(aws_server: AwsServer) -> None:
    aws_server.state.spot_denied = True
    result = fetch(aws_server)
    assert not result.offers["pricing_model"].eq("spot").any()
    assert result.offers["pricing_model"].eq("on_demand").any()
    assert len(result.warnings) == 1 and "ec2:DescribeSpotPriceHistory" in result.warnings[0]
    assert [e.kind for e in result.events].count("warning") == 1


def test_spot_pages_and_region_opt_in(aws_server: AwsServer) -> None:
    aws_server.state.spot_page_size = 1
    reply = ec2_error(401, "OptInRequired", "You are not subscribed to this service.")
    aws_server.add_fault(
        Fault(
            reply.status,
            reply.body,
            reply.content_type,
            when=lambda r: "ap-northeast-1" in r.headers.get("authorization", ""),
        )
    )
    result = fetch(aws_server)
    spot = result.offers[result.offers["pricing_model"].eq("spot")]
    assert len(spot) == 4
    assert any("ap-northeast-1" in w and "OptInRequired" in w for w in result.warnings)


def test_regions_are_asked_for_with_a_filter(aws_server: AwsServer) -> None:
    client = AwsPrices(fast_options(aws_server.url, spot=False))
    result = client.fetch(("us-west-2",), lambda e: None)
    assert set(result.offers["region"]) == {"us-west-2"}
    filters = [json.loads(r.body)["Filters"] for r in aws_server.requests]
    assert all({"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-west-2"} in f for f in filters)


def test_parse_rejects_an_item_that_is_not_a_product() -> None:
    with pytest.raises(Exception, match="not a price-list product"):
        parse_products(
            ['{"terms": {}}'],
            fetched_at="t",
            regions=frozenset(),
            seen=set(),
            added=set(),
            skipped=SkipCounter(),
        )


def test_pricing_region_must_be_one_that_answers() -> None:
    with pytest.raises(PricingError, match="does not answer in eu-west-1"):
        AwsPrices(fast_options(None), pricing_region="eu-west-1")
