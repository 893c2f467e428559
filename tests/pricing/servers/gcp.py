"""GCP on loopback: Cloud Billing Catalog REST, ``GET /v1/services/{service}/skus`` with ``pageToken``.

The real ``CloudCatalogClient`` (REST transport) talks to it through ``api_endpoint="http://127.0.0.1:N"``.
Like the real API, a request without ``currencyCode=USD`` is answered in the billing account's currency
(IDR here, with its ``currencyConversionRate``). With ``api_key`` set, a request without that key (header
``x-goog-api-key`` or ``?key=``) gets the API's 403 ``PERMISSION_DENIED``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from tests.pricing.servers.base import LoopbackServer, Recorded, Reply

SKUS_PATH = re.compile(r"^/v1/services/(?P<service>[^/]+)/skus$")
IDR_PER_USD = 14999.999925


def google_error(status: int, reason: str, message: str) -> Reply:
    body = json.dumps({"error": {"code": status, "message": message, "status": reason}}).encode()
    return Reply(status, body, "application/json; charset=UTF-8")


def in_idr(sku: dict[str, Any]) -> dict[str, Any]:
    """The SKU as an account billed in IDR sees it."""
    out = json.loads(json.dumps(sku))
    for info in out.get("pricingInfo", []):
        info["currencyConversionRate"] = IDR_PER_USD
        for tier in info["pricingExpression"]["tieredRates"]:
            price = tier["unitPrice"]
            value = (int(price.get("units", "0")) + price.get("nanos", 0) / 1e9) * IDR_PER_USD
            tier["unitPrice"] = {
                "currencyCode": "IDR",
                "units": str(math.floor(value)),
                "nanos": round((value - math.floor(value)) * 1e9),
            }
    return out


class GcpServer(LoopbackServer):
    def __init__(
        self, skus: dict[str, list[dict[str, Any]]], *, page_size: int = 5000, api_key: str | None = None
    ) -> None:
        self.skus = skus
        self.page_size = page_size
        self.api_key = api_key
        super().__init__(self.answer)

    def answer(self, request: Recorded) -> Reply:
        match = SKUS_PATH.match(request.path)
        if request.method != "GET" or match is None:
            return google_error(404, "NOT_FOUND", f"no route {request.method} {request.path}")
        if self.api_key is not None:
            key = request.headers.get("x-goog-api-key") or request.param("key")
            if key != self.api_key:
                return google_error(403, "PERMISSION_DENIED", "The request is missing a valid API key.")
        service = match["service"]
        if service not in self.skus:
            return google_error(404, "NOT_FOUND", f"service {service} not found")
        skus = self.skus[service]
        if request.param("currencyCode") != "USD":
            skus = [in_idr(s) for s in skus]
        start = int(request.param("pageToken") or 0)
        size = min(int(request.param("pageSize") or 5000), self.page_size)
        page = skus[start : start + size]
        answer: dict[str, Any] = {"skus": page}
        answer["nextPageToken"] = str(start + size) if start + size < len(skus) else ""
        return Reply(200, json.dumps(answer).encode(), "application/json; charset=UTF-8")
