"""Plain-HTTP price APIs (Azure Retail Prices, the OCI price list): one retry classifier and one error wording
for the standard library's HTTP client, shared by every client that needs no SDK.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any, Final

from pricing.errors import PricingError
from pricing.providers.base import ErrorWording, PageError, Retry, retry_after_seconds

#: The largest response body read (Azure pages are ~1 MB, OCI's whole list a few MB).
MAX_BODY_BYTES: Final = 256 * 1024 * 1024
_CHUNK: Final = 1 << 16


def get_json(
    url: str, timeout_s: float, accept: str = "application/json", *, max_bytes: int | None = None
) -> Any:
    """GET ``url`` and decode its JSON body; a body that is not JSON is a :class:`PageError` (retried).

    ``timeout_s`` bounds the whole request, body included (a server that trickles bytes cannot hold a pull
    open: :class:`TimeoutError`, retried); a body over ``max_bytes`` (default :data:`MAX_BODY_BYTES`) is a
    PricingError.
    """
    limit = MAX_BODY_BYTES if max_bytes is None else max_bytes
    deadline = time.monotonic() + timeout_s
    request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "tco-prices"})
    parts: list[bytes] = []
    size = 0
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        while chunk := response.read1(_CHUNK):
            size += len(chunk)
            if size > limit:
                where = url.split("?", maxsplit=1)[0]
                raise PricingError(
                    f"the response from {where} is larger than {limit / 2**20:,.0f} MiB",
                    hint="the endpoint is not a price API",
                )
            parts.append(chunk)
            if time.monotonic() > deadline:
                raise TimeoutError(f"the response took longer than {timeout_s:g} s")
    try:
        return json.loads(b"".join(parts))
    except (ValueError, RecursionError) as exc:
        raise PageError(f"the page is not JSON ({exc})") from exc


def classify(exc: BaseException) -> Retry | None:
    """Transient HTTP failures (429, 5xx, timeouts, dropped connections, bad pages) -> retry."""
    if isinstance(exc, urllib.error.HTTPError):
        after = retry_after_seconds(exc.headers.get("Retry-After") if exc.headers else None)
        if exc.code == 429:
            return Retry("throttled (429)", after)
        if exc.code >= 500:
            return Retry(f"HTTP {exc.code}", after)
        return None
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return Retry("timed out")
    if isinstance(exc, urllib.error.URLError):
        if isinstance(exc.reason, (TimeoutError, socket.timeout)):
            return Retry("timed out")
        return Retry("connection failed")
    if isinstance(exc, (http.client.HTTPException, ConnectionError)):
        return Retry("connection failed")
    if isinstance(exc, PageError):
        return Retry("malformed response")
    return None


def convert_error(exc: BaseException, wording: ErrorWording) -> PricingError:
    """One PricingError that says what failed and how to fix it."""
    if isinstance(exc, PricingError):
        return exc
    verdict = classify(exc)
    if isinstance(exc, urllib.error.HTTPError):
        body = ""
        with contextlib.suppress(OSError):
            body = " ".join(exc.read(300).decode("utf-8", "replace").split())
        if verdict is None:
            message = f"{wording.provider} {wording.what} failed: HTTP {exc.code} {exc.reason}: {body}"
            return PricingError(
                message.rstrip(": "),
                hint=f"check the endpoint {wording.endpoint} ({wording.endpoint_env} / --endpoint)",
            )
        return wording.gave_up(verdict.reason)
    if verdict is not None and verdict.reason == "timed out":
        return wording.timed_out()
    if verdict is not None and verdict.reason == "connection failed":
        return wording.unreachable(exc)
    if isinstance(exc, PageError):
        return wording.malformed(exc)
    return wording.failed(exc)


__all__ = ["classify", "convert_error", "get_json"]
