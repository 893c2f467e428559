"""The provider interface: one price client per cloud behind a ``typing.Protocol``, found by name.

A client fetches every accelerated offer the provider's price API lists (paginated, retried, timed out)
and returns them as offer rows (``pricing.schema``) plus counts of what it skipped and why. It never
prints and never writes: progress goes through a callback, and :mod:`pricing.pull` validates and stores.

The registry maps a name to ``"module:attr"`` and imports on lookup, so ``import pricing`` never loads
boto3 or the Google client.
"""

from __future__ import annotations

import difflib
import math
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TypeVar

from pricing.errors import PricingError
from pricing.schema import ALL_COLUMNS, FLOAT_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")

#: Provider name -> "module:factory". The factory takes :class:`ClientOptions` and returns a client.
PROVIDER_CLIENTS: Final = {
    "aws": "pricing.providers.aws:AwsPrices",
    "gcp": "pricing.providers.gcp:GcpPrices",
    "azure": "pricing.providers.azure:AzurePrices",
    "oci": "pricing.providers.oci:OciPrices",
}

#: The environment variable that overrides each provider's endpoint (a mirror, a proxy, a test server).
ENDPOINT_ENV: Final = {
    "aws": "TCO_AWS_PRICING_ENDPOINT",
    "gcp": "TCO_GCP_BILLING_ENDPOINT",
    "azure": "TCO_AZURE_PRICES_ENDPOINT",
    "oci": "TCO_OCI_PRICES_ENDPOINT",
}

DEFAULT_TIMEOUT_S: Final = 30.0
#: The most pages one provider's pull reads (all its queries together) before it stops with an error: a
#: pull reads tens to a few hundred (AWS GPU families in every region at 100 products a page, Azure at
#: 1,000 items, GCP at 5,000 SKUs), so this only stops an API that never ends. ``ClientOptions.max_pages``.
DEFAULT_MAX_PAGES: Final = 10_000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries for throttling, 5xx, timeouts and malformed pages: exponential backoff with full jitter.

    The n-th retry waits a uniform random time in ``[0, min(max_delay_s, base_delay_s * 2**(n-1))]``, or
    what the server asked for (``Retry-After``), capped at ``max_delay_s``.
    """

    attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int) or self.attempts < 1:
            raise PricingError(f"retry attempts must be a whole number of at least 1, not {self.attempts!r}")
        for name, value in (("backoff", self.base_delay_s), ("the longest retry delay", self.max_delay_s)):
            if not math.isfinite(value) or value < 0:
                raise PricingError(
                    f"{name} must be a finite number of seconds, not negative: {value}",
                    hint="e.g. --backoff 0.5",
                )

    def delay_s(
        self, retry: int, retry_after_s: float | None = None, rng: Callable[[], float] = random.random
    ) -> float:
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.max_delay_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** max(retry - 1, 0))
        return float(ceiling * rng())


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """How a client talks to its API: endpoint override, timeout per request, retries, page size.

    ``spot``: also fetch spot prices where that takes extra calls and permissions (AWS EC2 spot history).
    """

    endpoint: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    page_size: int | None = None
    spot: bool = True
    #: the most pages the pull reads from this provider (:data:`DEFAULT_MAX_PAGES`)
    max_pages: int = DEFAULT_MAX_PAGES

    def __post_init__(self) -> None:
        if not math.isfinite(self.timeout_s) or self.timeout_s <= 0:
            raise PricingError(
                f"timeout must be a positive number of seconds, not {self.timeout_s}",
                hint="e.g. --timeout 30",
            )
        if isinstance(self.max_pages, bool) or not isinstance(self.max_pages, int) or self.max_pages < 1:
            raise PricingError(f"the page limit must be a whole number of at least 1, not {self.max_pages!r}")
        if self.page_size is not None and (isinstance(self.page_size, bool) or self.page_size < 1):
            raise PricingError(f"the page size must be at least 1, not {self.page_size!r}")

    def endpoint_for(self, provider: str) -> str | None:
        """The explicit endpoint, else the provider's environment variable, else None (the default).

        Either is checked (:func:`check_endpoint`): an empty one is an error, never the default taken
        silently."""
        if self.endpoint is not None:
            return check_endpoint(self.endpoint, provider, "--endpoint")
        return env_endpoint(ENDPOINT_ENV[provider], provider)


def env_endpoint(variable: str, provider: str) -> str | None:
    """The endpoint in the environment variable ``variable``, checked; None when it is not set."""
    value = os.environ.get(variable)
    return None if value is None else check_endpoint(value, provider, variable)


def check_endpoint(value: str, provider: str, where: str) -> str:
    """``value`` as an endpoint URL (http or https, with a host and a valid port; for GCP a bare
    ``host[:port]`` too, as the Google client takes it), else a PricingError that names ``where``."""
    import urllib.parse

    text = value.strip()
    example = "e.g. https://mirror.example.com or http://127.0.0.1:8080"
    if not text:
        raise PricingError(
            f"{where} is empty", hint=f"give the price API's URL ({example}), or leave it out for the default"
        )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise PricingError(f"{where} {value!r} holds spaces or control characters", hint=example)
    url = text if "://" in text or provider != "gcp" else f"https://{text}"
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises for a port out of range or not a number
    except ValueError as exc:
        raise PricingError(f"{where} {value!r} is not a URL ({exc})", hint=example) from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise PricingError(f"{where} must be an http(s) URL with a host, not {value!r}", hint=example)
    return text


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """What a client reports while it works. ``pages``/``items`` are running totals for the provider."""

    provider: str
    kind: Literal["start", "page", "retry", "warning", "stage"]
    pages: int = 0
    items: int = 0
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


def no_progress(_: ProgressEvent) -> None:
    """A progress callback that ignores everything."""


@dataclass
class FetchResult:
    """What one provider's fetch produced: offer rows, and an account of everything it left out."""

    provider: str
    source: str
    endpoint: str
    offers: pd.DataFrame
    pages: int = 0
    items: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    fetched_at: str = ""
    #: every offer key (region, zone, instance type, pricing model, payment option) appears once: the client
    #: removed duplicates itself and counted them in ``skipped["duplicate offer"]``
    unique: bool = False


class PriceClient(Protocol):
    """A provider's price client."""

    name: str

    def fetch(self, regions: Sequence[str], progress: ProgressCallback) -> FetchResult:
        """Every accelerated offer in ``regions`` (all regions when empty); raises PricingError on failure.

        A failure anywhere (auth, transport after retries, a malformed page) raises: a partial result is
        never returned.
        """
        ...


class ClientFactory(Protocol):
    def __call__(self, options: ClientOptions) -> PriceClient: ...


def provider_names() -> tuple[str, ...]:
    return tuple(PROVIDER_CLIENTS)


def check_provider_name(name: str) -> str:
    """``name`` as a provider that ``tco prices pull`` can pull; a clear error for one whose prices are
    embedded only (no price API answers without an account) and for an unknown one."""
    from pricing.sellers import SELLERS

    key = name.strip().lower()
    if key in SELLERS and key not in PROVIDER_CLIENTS:
        raise PricingError(
            f"{SELLERS[key].label} prices cannot be pulled: {SELLERS[key].no_api_reason}",
            hint="its embedded prices are used (`tco prices snapshots` shows their date and source); "
            "a team's own rates go in a price book (`tco prices import`)",
        )
    if key not in PROVIDER_CLIENTS:
        close = difflib.get_close_matches(key, list(PROVIDER_CLIENTS), n=3, cutoff=0.4)
        hint = (
            f"did you mean {', '.join(close)}?" if close else f"choose one of: {', '.join(PROVIDER_CLIENTS)}"
        )
        raise PricingError(f"unknown price provider {name!r}", hint=hint)
    return key


def client_factory(name: str) -> ClientFactory:
    """The factory registered under ``name``, imported now (not before)."""
    module_name, _, attr = PROVIDER_CLIENTS[check_provider_name(name)].partition(":")
    factory: ClientFactory = getattr(import_module(module_name), attr)
    return factory


def make_client(name: str, options: ClientOptions | None = None) -> PriceClient:
    return client_factory(name)(options or ClientOptions())


# --- retries -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Retry:
    """A classifier's verdict: this failure is transient (``reason``), optionally with a server delay."""

    reason: str
    retry_after_s: float | None = None


def with_retries(
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    classify: Callable[[BaseException], Retry | None],
    on_retry: Callable[[int, Retry, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call``; retry what ``classify`` calls transient, at most ``policy.attempts`` tries in all.

    The last failure (or the first permanent one) propagates unchanged: the caller converts it.
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except Exception as exc:
            verdict = classify(exc)
            if verdict is None or attempt == policy.attempts:
                raise
            delay = policy.delay_s(attempt, verdict.retry_after_s)
            if on_retry is not None:
                on_retry(attempt, verdict, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (HTTP dates are ignored: backoff applies)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


class PageGuard:
    """Pagination that always ends: every page counts against ``max_pages`` for the whole pull, a page
    token seen before in the same query, or a page link seen before, is an error (an API that keeps
    answering with the same next page would loop for ever), and so is a page link to another scheme or
    host (a pull never follows a link off its endpoint)."""

    def __init__(self, provider: str, max_pages: int) -> None:
        self.provider = provider
        self.max_pages = max_pages
        self.pages = 0
        self._tokens: dict[Any, set[str]] = {}
        self._links: set[str] = set()

    def page(self) -> None:
        """Count one more page read; an error once the pull has read ``max_pages``."""
        self.pages += 1
        if self.pages > self.max_pages:
            raise PricingError(
                f"{self.provider} pull stopped after {self.max_pages:,} pages: the API kept sending more",
                hint="raise the page limit (max_pages) if the provider's list really is that long",
            )

    def token(self, token: Any, query: Any) -> str | None:
        """The next page token of ``query`` (None: the last page); an error when it was seen before."""
        if token is None or token == "":
            return None
        if not isinstance(token, str):
            raise PricingError(
                f"{self.provider} sent a page token that is not text ({type(token).__name__})",
                hint="the endpoint is not the provider's price API",
            )
        seen = self._tokens.setdefault(query, set())
        if token in seen:
            raise PricingError(
                f"{self.provider} sent the page token {_short(token)!r} a second time: its pagination loops",
                hint="pull again later; if it persists, the endpoint is not the provider's price API",
            )
        seen.add(token)
        return token

    def link(self, link: Any, endpoint: str, *, origins: Sequence[str] = ()) -> str | None:
        """The next page URL from a page link (None: the last page). A link on the endpoint's scheme and
        host is followed as it is; one on a known ``origins`` URL (the provider's own API, which a mirror
        forwards) is rebased onto the endpoint; any other scheme or host, or a link seen before, is an
        error."""
        import urllib.parse

        if link is None or link == "":
            return None
        if not isinstance(link, str):
            raise PricingError(
                f"{self.provider} sent a next-page link that is not text ({type(link).__name__})",
                hint="the endpoint is not the provider's price API",
            )
        try:
            target = urllib.parse.urlsplit(link)
            base = urllib.parse.urlsplit(endpoint)
            here = (target.scheme.lower(), _netloc(target))
            known = {(o.scheme.lower(), _netloc(o)) for o in map(urllib.parse.urlsplit, origins)}
        except ValueError as exc:  # an unparsable netloc ("http://[::1") or port
            raise PricingError(
                f"{self.provider} sent a next-page link that is not a URL: {_short(link)!r} ({exc})",
                hint="the endpoint is not the provider's price API",
            ) from exc
        if here == (base.scheme.lower(), _netloc(base)):
            url = link
        elif here in known:
            url = urllib.parse.urlunsplit((base.scheme, base.netloc, base.path, target.query, ""))
        else:
            raise PricingError(
                f"{self.provider} sent a next-page link to {target.scheme}://{target.netloc}, not its "
                f"endpoint {base.scheme}://{base.netloc}: not followed",
                hint="check the endpoint (a mirror must link to itself or to the provider's own API)",
            )
        if url in self._links:
            raise PricingError(
                f"{self.provider} sent the next-page link {_short(url)!r} a second time: its pagination "
                "loops",
                hint="pull again later; if it persists, the endpoint is not the provider's price API",
            )
        self._links.add(url)
        return url


def _netloc(parts: Any) -> str:
    """host:port with the scheme's default port made explicit (https://a and https://a:443 are one host)."""
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return f"{(parts.hostname or '').lower()}:{port}"


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class PageError(Exception):
    """A page that arrived but cannot be used (not JSON, missing its list): retried, then reported."""


@dataclass(frozen=True, slots=True)
class ErrorWording:
    """How a provider's ``convert_error`` words the failures every provider reports alike: a timeout, an
    endpoint it cannot reach, a malformed page, retries given up, and anything else."""

    provider: str  # as users see it: AWS, Azure, GCP
    endpoint_env: str  # the variable that overrides the endpoint
    api: str  # what a malformed page says the endpoint is not: "the Cloud Billing API"
    what: str  # the call that failed
    endpoint: str
    timeout_s: float
    attempts: int

    def timed_out(self) -> PricingError:
        return PricingError(
            f"{self.provider} {self.what} timed out after {self.timeout_s:g} s ({self.attempts} attempts)"
            f" at {self.endpoint}",
            hint="check the network or the endpoint, or raise --timeout",
        )

    def unreachable(self, detail: object = None) -> PricingError:
        suffix = "" if detail is None else f": {detail}"
        return PricingError(
            f"cannot reach the {self.provider} endpoint {self.endpoint}"
            f" ({self.what}, {self.attempts} attempts){suffix}",
            hint=f"check the network, or {self.endpoint_env} / --endpoint",
        )

    def malformed(self, exc: BaseException) -> PricingError:
        return PricingError(
            f"{self.provider} {self.what}: malformed response after {self.attempts} attempts: {exc}",
            hint=f"pull again later; if it persists, the endpoint is not {self.api}",
        )

    def gave_up(self, reason: str, detail: object = None) -> PricingError:
        suffix = "" if detail is None else f": {detail}"
        return PricingError(
            f"{self.provider} {self.what} failed after {self.attempts} attempts: {reason}{suffix}",
            hint="wait a minute and pull again, or raise --max-attempts",
        )

    def failed(self, exc: BaseException) -> PricingError:
        return PricingError(
            f"{self.provider} {self.what} failed: {type(exc).__name__}: {exc}",
            hint=f"endpoint {self.endpoint}",
        )


# --- offer rows ----------------------------------------------------------------------------------------


class SkipCounter(Counter[str]):
    """Counts of rows a client left out, by reason (reported in the pull summary, never silent)."""


def offers_frame(records: Iterable[tuple[Any, ...]], columns: Sequence[str]) -> pd.DataFrame:
    """Offer rows from tuples in ``columns`` order: every contract column present, floats as floats, text as
    object columns (None for null).

    ``price_usd_per_accelerator_hour`` is derived here; ``snapshot`` is left for the store to fill. Built a
    column at a time (one transpose of the tuples, one array per column): the ingest benchmark's rows.
    """
    rows = list(records)
    names = list(columns)
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    if len(transposed) != len(names):
        raise ValueError(f"offer rows must have {len(names)} values ({', '.join(names)})")
    return _offers_frame(dict(zip(names, transposed, strict=True)), len(rows))


def offers_frame_of(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """:func:`offers_frame` of ``frame``'s rows in ``columns``, read a column at a time (each column's values
    as ``itertuples`` gives them, without a Python object per cell on the way)."""
    import numpy as np

    given: dict[str, Any] = {}  # (arrays)
    for column in columns:
        values = frame[column]
        given[column] = values.to_numpy(dtype=np.float64 if values.dtype == np.float64 else object)
    return _offers_frame(given, len(frame))


def _offers_frame(given: dict[str, Sequence[Any]], length: int) -> pd.DataFrame:
    """The offer frame of ``given`` (column -> its values, each ``length`` long)."""
    import numpy as np
    import pandas as pd

    data: dict[str, pd.Series] = {}
    for column in ALL_COLUMNS:
        values = given.get(column)
        if column in FLOAT_COLUMNS:
            if values is None:
                data[column] = pd.Series(np.full(length, np.nan), dtype="float64")
                continue
            try:
                data[column] = pd.Series(np.array(values, dtype="float64"), dtype="float64")
            except (TypeError, ValueError):  # text in a number column: coerced as before (junk -> NaN)
                data[column] = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype(
                    "float64"
                )
            continue
        array = np.empty(length, dtype=object)
        if values is not None:
            array[:] = values
        data[column] = pd.Series(array, dtype=object)
    frame = pd.DataFrame(data)
    frame["price_usd_per_accelerator_hour"] = frame["price_usd_per_hour"] / frame["accelerator_count"]
    flags = frame["flags"].to_numpy(dtype=object)
    blank = pd.isna(flags)
    if blank.any():
        flags = flags.copy()
        flags[blank] = ""
    frame["flags"] = pd.Series(flags, dtype=object)
    return frame


def empty_offers() -> pd.DataFrame:
    return offers_frame([], ALL_COLUMNS)


def utc_now_iso() -> str:
    """Now, as an ISO-8601 UTC timestamp with a Z (what ``fetched_at`` holds)."""
    from datetime import UTC, datetime

    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = [
    "DEFAULT_MAX_PAGES",
    "ENDPOINT_ENV",
    "PROVIDER_CLIENTS",
    "ClientFactory",
    "ClientOptions",
    "ErrorWording",
    "FetchResult",
    "PageError",
    "PageGuard",
    "PriceClient",
    "ProgressCallback",
    "ProgressEvent",
    "Retry",
    "RetryPolicy",
    "SkipCounter",
    "check_endpoint",
    "check_provider_name",
    "client_factory",
    "empty_offers",
    "env_endpoint",
    "make_client",
    "no_progress",
    "offers_frame",
    "offers_frame_of",
    "provider_names",
    "retry_after_seconds",
    "utc_now_iso",
    "with_retries",
]
