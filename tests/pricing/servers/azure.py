"""Azure on loopback: the Retail Prices API, ``GET /api/retail/prices`` with ``$filter`` and ``NextPageLink``.

``$filter`` is evaluated (``eq``/``ne``, ``and``/``or``, parentheses, ``startswith``/``contains``), values
case-sensitive as in api-version 2023-01-01-preview; ``meterRegion='primary'`` drops non-primary meters;
pages are ``page_size`` items with an absolute ``NextPageLink`` carrying ``$skip``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from tests.pricing.servers.base import LoopbackServer, Recorded, Reply

TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>\(|\)|,)|(?P<word>[A-Za-z_][A-Za-z0-9_]*))")

Predicate = Callable[[dict[str, Any]], bool]


def tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        match = TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"bad $filter at {text[pos:]!r}")
        out.append(match.group(match.lastgroup or ""))
        pos = match.end()
    return out


class FilterParser:
    """expr := term ('or' term)*; term := factor ('and' factor)*; factor := '(' expr ')' | call | test."""

    def __init__(self, text: str) -> None:
        self.items = tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def take(self, expected: str | None = None) -> str:
        item = self.items[self.pos]
        if expected is not None and item != expected:
            raise ValueError(f"expected {expected!r}, got {item!r}")
        self.pos += 1
        return item

    def parse(self) -> Predicate:
        predicate = self.expr()
        if self.peek() is not None:
            raise ValueError(f"trailing {self.peek()!r}")
        return predicate

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.peek() == "or":
            self.take()
            parts.append(self.term())
        return lambda item: any(p(item) for p in parts)

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.peek() == "and":
            self.take()
            parts.append(self.factor())
        return lambda item: all(p(item) for p in parts)

    @staticmethod
    def literal(text: str) -> str:
        return text[1:-1].replace("''", "'")

    def factor(self) -> Predicate:
        head = self.take()
        if head == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if head in ("startswith", "contains") and self.peek() == "(":
            self.take("(")
            name = self.take()
            self.take(",")
            value = self.literal(self.take())
            self.take(")")
            if head == "startswith":
                return lambda item: str(item.get(name) or "").startswith(value)
            return lambda item: value in str(item.get(name) or "")
        operator = self.take()
        value = self.literal(self.take())
        if operator == "eq":
            return lambda item: item.get(head) == value
        if operator == "ne":
            return lambda item: item.get(head) != value
        raise ValueError(f"operator {operator!r} not supported")


class AzureServer(LoopbackServer):
    def __init__(self, items: list[dict[str, Any]], *, page_size: int = 1000) -> None:
        self.items = items
        self.page_size = page_size
        self.honour_meter_region = True
        super().__init__(self.answer)

    def answer(self, request: Recorded) -> Reply:
        if request.method != "GET" or request.path != "/api/retail/prices":
            return Reply(404, b'{"Error": "not found"}')
        text = request.param("$filter")
        try:
            predicate = FilterParser(text).parse() if text else (lambda item: True)
        except (ValueError, IndexError) as exc:
            return Reply(400, json.dumps({"Error": {"Code": "BadRequest", "Message": str(exc)}}).encode())
        chosen = [i for i in self.items if predicate(i)]
        if self.honour_meter_region and request.param("meterRegion") == "'primary'":
            chosen = [i for i in chosen if i.get("isPrimaryMeterRegion", True)]
        skip = int(request.param("$skip") or 0)
        page = chosen[skip : skip + self.page_size]
        link = None
        if skip + self.page_size < len(chosen):
            query = {k: v[0] for k, v in request.query.items() if k != "$skip"}
            query["$skip"] = str(skip + self.page_size)
            link = (
                f"{self.url}/api/retail/prices?{urllib.parse.urlencode(query, quote_via=urllib.parse.quote)}"
            )
        answer = {
            "BillingCurrency": "USD",
            "CustomerEntityId": "Default",
            "CustomerEntityType": "Retail",
            "Items": page,
            "NextPageLink": link,
            "Count": len(page),
        }
        return Reply(200, json.dumps(answer).encode(), "application/json; charset=utf-8")
