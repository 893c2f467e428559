"""OCI on loopback: the public price list, ``GET /pls/apex/cetools/api/v1/products/``.

Like the real list it answers the whole document at once (``lastUpdated`` and ``items``), keeps only the
requested currency's localizations when ``currencyCode`` is given, filters by ``partNumber``, and refuses
``limit`` with HTTP 400.
"""

from __future__ import annotations

import json
from typing import Any

from tests.pricing.servers.base import LoopbackServer, Recorded, Reply

PATH = "/pls/apex/cetools/api/v1/products/"


class OciServer(LoopbackServer):
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        super().__init__(self.answer)

    @property
    def endpoint(self) -> str:
        return self.url + PATH

    def answer(self, request: Recorded) -> Reply:
        if request.method != "GET" or request.path != PATH:
            return Reply(404, b"<html><body>Not Found</body></html>", "text/html")
        if request.param("limit") is not None:
            return Reply(400, json.dumps({"message": "Bad Request"}).encode())
        items = self.document["items"]
        part = request.param("partNumber")
        if part:
            items = [i for i in items if i.get("partNumber") == part]
        currency = request.param("currencyCode")
        if currency:
            items = [
                {
                    **item,
                    "currencyCodeLocalizations": [
                        loc for loc in item["currencyCodeLocalizations"] if loc["currencyCode"] == currency
                    ],
                }
                for item in items
            ]
        body = {"lastUpdated": self.document["lastUpdated"], "items": items}
        return Reply(200, json.dumps(body).encode(), "application/json")
