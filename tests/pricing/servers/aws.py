"""AWS on loopback: the Price List Query API (JSON 1.1, ``AWSPriceListService.GetProducts``, ``NextToken``)
and the EC2 query protocol for ``DescribeSpotPriceHistory`` (form-encoded request, XML answer).

The real boto3 client talks to it through ``endpoint_url``. TERM_MATCH filters are applied as the real API
applies them (``productFamily`` on the product, every other field on its attributes), unless
``honour_filters`` is off (to show what the client does with rows the API should not have sent).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from tests.pricing.servers.base import LoopbackServer, Recorded, Reply

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")


def json_error(status: int, code: str, message: str) -> Reply:
    body = json.dumps({"__type": code, "message": message}).encode()
    return Reply(status, body, "application/x-amz-json-1.1", {"x-amzn-ErrorType": code})


def ec2_error(status: int, code: str, message: str) -> Reply:
    body = (
        f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>{code}</Code>"
        f"<Message>{escape(message)}</Message></Error></Errors><RequestID>req-1</RequestID></Response>"
    ).encode()
    return Reply(status, body, "text/xml")


@dataclass(frozen=True)
class SpotPrice:
    region: str
    zone: str  # name, e.g. us-east-1a
    zone_id: str  # e.g. use1-az4
    instance_type: str
    price: str
    timestamp: datetime
    product: str = "Linux/UNIX"


@dataclass
class AwsState:
    products: list[dict[str, Any]]
    spot: list[SpotPrice] = field(default_factory=list)
    page_size: int = 100
    spot_page_size: int = 1000
    honour_filters: bool = True
    spot_denied: bool = False


class AwsServer(LoopbackServer):
    def __init__(
        self,
        products: list[dict[str, Any]],
        spot: list[SpotPrice] | None = None,
        *,
        page_size: int = 100,
        spot_page_size: int = 1000,
    ) -> None:
        self.state = AwsState(products, list(spot or []), page_size, spot_page_size)
        self.encoded = [json.dumps(p) for p in products]
        super().__init__(self.answer)

    def answer(self, request: Recorded) -> Reply:
        auth = request.headers.get("authorization", "")
        scope = CREDENTIAL_REGION.search(auth)
        if scope is None:
            return json_error(400, "MissingAuthenticationTokenException", "Missing Authentication Token")
        target = request.headers.get("x-amz-target", "")
        if target == "AWSPriceListService.GetProducts":
            return self.get_products(json.loads(request.body or b"{}"))
        if target:
            return json_error(400, "UnknownOperationException", target)
        form = urllib.parse.parse_qs(request.body.decode(), keep_blank_values=True)
        if form.get("Action") == ["DescribeSpotPriceHistory"]:
            return self.spot_history(form, scope["region"])
        return ec2_error(400, "InvalidAction", f"unknown action {form.get('Action')}")

    def matches(self, product: dict[str, Any], filters: list[dict[str, str]]) -> bool:
        attributes = product["product"]["attributes"]
        for spec in filters:
            if spec.get("Type") != "TERM_MATCH":
                raise ValueError(f"filter type {spec.get('Type')} not supported here")
            field_name, value = spec["Field"], spec["Value"]
            actual = (
                product["product"].get("productFamily")
                if field_name == "productFamily"
                else attributes.get(field_name)
            )
            if actual != value:
                return False
        return True

    def get_products(self, body: dict[str, Any]) -> Reply:
        if body.get("ServiceCode") != "AmazonEC2":
            return json_error(400, "InvalidParameterException", "unknown service code")
        filters = body.get("Filters", []) if self.state.honour_filters else []
        chosen = [i for i, p in enumerate(self.state.products) if self.matches(p, filters)]
        start = int(base64.b64decode(body["NextToken"]).decode()) if body.get("NextToken") else 0
        size = min(int(body.get("MaxResults", 100)), self.state.page_size)
        page = chosen[start : start + size]
        answer: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": [self.encoded[i] for i in page]}
        if start + size < len(chosen):
            answer["NextToken"] = base64.b64encode(str(start + size).encode()).decode()
        return Reply(200, json.dumps(answer).encode(), "application/x-amz-json-1.1")

    def spot_history(self, form: dict[str, list[str]], region: str) -> Reply:
        if self.state.spot_denied:
            return ec2_error(
                403, "UnauthorizedOperation", "You are not authorized to perform this operation."
            )
        types = {v for k, vs in form.items() if k.startswith("InstanceType.") for v in vs}
        products = {v for k, vs in form.items() if k.startswith("ProductDescription.") for v in vs}
        rows = [
            s
            for s in self.state.spot
            if s.region == region
            and (not types or s.instance_type in types)
            and (not products or s.product in products)
        ]
        start = int(form["NextToken"][0]) if form.get("NextToken") else 0
        size = min(int(form.get("MaxResults", ["1000"])[0]), self.state.spot_page_size)
        page = rows[start : start + size]
        items = "".join(
            f"<item><instanceType>{s.instance_type}</instanceType><productDescription>{s.product}"
            f"</productDescription><spotPrice>{s.price}</spotPrice><timestamp>"
            f"{s.timestamp.strftime('%Y-%m-%dT%H:%M:%S.000Z')}</timestamp><availabilityZone>{s.zone}"
            f"</availabilityZone><availabilityZoneId>{s.zone_id}</availabilityZoneId></item>"
            for s in page
        )
        token = str(start + size) if start + size < len(rows) else ""
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><DescribeSpotPriceHistoryResponse xmlns="{EC2_NS}">'
            f"<requestId>req-1</requestId><spotPriceHistorySet>{items}</spotPriceHistorySet>"
            f"<nextToken>{token}</nextToken></DescribeSpotPriceHistoryResponse>"
        ).encode()
        return Reply(200, body, "text/xml;charset=UTF-8")
