"""Azure prices: the Retail Prices REST API (no credentials), over the standard library's HTTP client.

What is pulled (pricing_apis.md section 6.3, trap 16):
- ``GET {endpoint}?api-version=2023-01-01-preview&currencyCode='USD'&meterRegion='primary'&$filter=...``
  with ``serviceName eq 'Virtual Machines' and startswith(armSkuName, 'Standard_N')`` (the GPU N-series;
  one query per region when regions are given), following ``NextPageLink`` until it is empty.
- Linux only: Windows shares ``meterName`` with Linux and only ``productName`` tells them apart
  ("... Series Windows"); Windows, dev/test and non-primary meter rows are skipped and counted.
- Pricing models: ``Consumption`` -> on_demand, or spot / low_priority when ``skuName`` (or ``meterName``)
  ends in " Spot" / " Low Priority"; ``Reservation`` 1 and 3 years -> reserved_1y / reserved_3y, where
  ``retailPrice`` is the total for the term and is amortised over ``years * 8760`` hours; the
  ``savingsPlan`` array of on-demand rows (hourly prices, preview api-version) -> savings_plan_1y / _3y.
- GPU model and count per VM size are not in the API: they come from ``pricing/data/azure_gpu_sizes.csv``
  (each row with its source); a size not in it is skipped and counted, never guessed.

Pagination always ends (``PageGuard``): a ``NextPageLink`` on the configured endpoint is followed; one on the
public API (``DEFAULT_ENDPOINT``, which a mirror or proxy forwards) is rebased onto the configured endpoint,
keeping its query; a link to any other scheme or host, a link seen before, or more than
``ClientOptions.max_pages`` pages stops the pull with an error.
"""

from __future__ import annotations

import csv
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from pricing.errors import PricingError
from pricing.providers.base import (
    ClientOptions,
    ErrorWording,
    FetchResult,
    PageError,
    PageGuard,
    ProgressCallback,
    ProgressEvent,
    Retry,
    SkipCounter,
    offers_frame,
    utc_now_iso,
    with_retries,
)
from pricing.providers.http import classify, get_json
from pricing.providers.http import convert_error as http_convert_error
from pricing.schema import HOURS_PER_YEAR, PARSED_OFFER_COLUMNS

ENDPOINT_ENV: Final = "TCO_AZURE_PRICES_ENDPOINT"
DEFAULT_ENDPOINT: Final = "https://prices.azure.com/api/retail/prices"
API_VERSION: Final = "2023-01-01-preview"
SOURCE: Final = "azure-retail-prices-api"
SKU_PREFIX: Final = "Standard_N"
WINDOWS: Final = re.compile(r"\bWin(?:dows)?\b")
RESERVATION_YEARS: Final = {"1 Year": 1, "3 Years": 3}
SAVINGS_PLAN_YEARS: Final = {"1 Year": 1, "3 Years": 3}
#: Column order of the tuples the parser builds: the contract columns, then flags and note.
ROW_COLUMNS: Final = PARSED_OFFER_COLUMNS


@dataclass(frozen=True, slots=True)
class VmSize:
    accelerator: str
    accelerator_count: float
    accelerator_memory_gib: float | None
    vcpus: float
    memory_gib: float


@cache
def vm_sizes() -> dict[str, VmSize]:
    """ARM SKU name -> GPU model, count, vCPUs and memory (``pricing/data/azure_gpu_sizes.csv``)."""
    text = resources.files("pricing").joinpath("data/azure_gpu_sizes.csv").read_text()
    return {
        row["arm_sku_name"]: VmSize(
            row["accelerator"],
            float(row["accelerator_count"]),
            float(row["accelerator_memory_gib"]) if row["accelerator_memory_gib"] else None,
            float(row["vcpus"]),
            float(row["memory_gib"]),
        )
        for row in csv.DictReader(text.splitlines())
    }


def filter_expression(region: str | None) -> str:
    clauses = ["serviceName eq 'Virtual Machines'", f"startswith(armSkuName, '{SKU_PREFIX}')"]
    if region is not None:
        clauses.append(f"armRegionName eq '{region}'")
    return " and ".join(clauses)


def first_page_url(endpoint: str, region: str | None) -> str:
    params = {
        "api-version": API_VERSION,
        "currencyCode": "'USD'",
        "meterRegion": "'primary'",
        "$filter": filter_expression(region),
    }
    return f"{endpoint}?{urllib.parse.urlencode(params, quote_via=urllib.parse.quote)}"


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


#: The text fields the parser reads: an item where one holds anything but text (or null) is skipped and
#: counted (a hostile or broken API), never crashes the parser or reaches the store.
_TEXT_FIELDS: Final = (
    "serviceName",
    "type",
    "productName",
    "currencyCode",
    "unitOfMeasure",
    "armSkuName",
    "armRegionName",
    "skuName",
    "meterName",
    "meterId",
    "skuId",
    "effectiveStartDate",
    "reservationTerm",
)


def parse_items(
    items: Sequence[Any],
    *,
    fetched_at: str,
    regions: frozenset[str],
    seen: set[tuple[str, str, str]],
    added: set[tuple[str, str, str]],
    skipped: SkipCounter,
) -> list[tuple[Any, ...]]:
    """Offer rows (``ROW_COLUMNS`` tuples) from one page of retail price items.

    ``seen`` holds the (region, size, pricing model) keys of earlier pages (read only); this page's go into
    ``added``. Raises :class:`PageError` on an item that is not a JSON object.
    """
    sizes = vm_sizes()
    rows: list[tuple[Any, ...]] = []
    page_skips = SkipCounter()

    def add(key: tuple[str, str, str], row: tuple[Any, ...]) -> None:
        if key in seen or key in added:
            page_skips["duplicate item"] += 1
            return
        added.add(key)
        rows.append(row)

    for item in items:
        if not isinstance(item, dict):
            raise PageError(f"an item is a {type(item).__name__}, not an object")
        get = item.get
        malformed = next((k for k in _TEXT_FIELDS if (v := get(k)) is not None and type(v) is not str), None)
        if malformed is None and not isinstance(get("savingsPlan") or [], list):
            malformed = "savingsPlan"
        if malformed is not None:
            page_skips[f"item with a malformed {malformed}"] += 1
            continue
        if get("serviceName") != "Virtual Machines":
            page_skips["not a virtual machine"] += 1
            continue
        price_type = get("type")
        if price_type == "DevTestConsumption":
            page_skips["dev/test price"] += 1
            continue
        if WINDOWS.search(get("productName") or ""):
            page_skips["Windows"] += 1
            continue
        if get("isPrimaryMeterRegion") is False:
            page_skips["non-primary meter region"] += 1
            continue
        currency = get("currencyCode") or "USD"
        if currency != "USD":
            page_skips[f"priced in {currency}, not USD"] += 1
            continue
        if get("unitOfMeasure") != "1 Hour":
            page_skips[f"unit {get('unitOfMeasure')!r} not modelled"] += 1
            continue
        size_name = get("armSkuName") or ""
        size = sizes.get(size_name)
        if size is None:
            page_skips["VM size without a known GPU"] += 1
            continue
        region = get("armRegionName") or ""
        if not region:
            page_skips["no region"] += 1
            continue
        if regions and region not in regions:
            page_skips["region not asked for"] += 1
            continue
        head = (
            "azure",
            region,
            None,
            size_name,
            size.accelerator,
            size.accelerator_count,
            size.accelerator_memory_gib,
            size.vcpus,
            size.memory_gib,
        )
        price = _float(get("retailPrice"))
        meter = str(get("meterId") or get("skuId") or "")
        effective = get("effectiveStartDate")
        names = (str(get("skuName") or ""), str(get("meterName") or ""))
        if price_type == "Consumption":
            if any(name.endswith(" Spot") for name in names):
                model = "spot"
            elif any(name.endswith(" Low Priority") for name in names):
                model = "low_priority"
            else:
                model = "on_demand"
            flags = "" if price is not None else "missing"
            add(
                (region, size_name, model),
                (*head, model, price, "USD", SOURCE, meter, effective, fetched_at, flags, ""),
            )
            if model != "on_demand":
                continue
            for plan in get("savingsPlan") or []:
                term = plan.get("term") if isinstance(plan, dict) else None
                years = SAVINGS_PLAN_YEARS.get(term) if isinstance(term, str) else None
                if years is None:
                    page_skips["savings plan term not modelled"] += 1
                    continue
                plan_price = _float(plan.get("retailPrice"))
                plan_model = f"savings_plan_{years}y"
                add(
                    (region, size_name, plan_model),
                    (
                        *head,
                        plan_model,
                        plan_price,
                        "USD",
                        SOURCE,
                        meter,
                        effective,
                        fetched_at,
                        "" if plan_price is not None else "missing",
                        f"savings plan {years}yr, hourly",
                    ),
                )
        elif price_type == "Reservation":
            years = RESERVATION_YEARS.get(get("reservationTerm") or "")
            if years is None:
                page_skips["reservation term not modelled"] += 1
                continue
            hours = years * HOURS_PER_YEAR
            hourly = price / hours if price is not None else None
            model = f"reserved_{years}y"
            note = (
                f"reservation {years}yr: {price:,.2f} $ for the term / {hours:,.0f} h"
                if price is not None
                else ""
            )
            add(
                (region, size_name, model),
                (
                    *head,
                    model,
                    hourly,
                    "USD",
                    SOURCE,
                    meter,
                    effective,
                    fetched_at,
                    "amortised" if hourly is not None else "missing",
                    note,
                ),
            )
        else:
            page_skips[f"price type {price_type!r} not modelled"] += 1
    skipped.update(page_skips)
    return rows


def convert_error(
    exc: BaseException, *, what: str, endpoint: str, timeout_s: float, attempts: int
) -> PricingError:
    """One PricingError that says what failed and how to fix it."""
    wording = ErrorWording(
        "Azure",
        ENDPOINT_ENV,
        "the Azure Retail Prices API",
        what=what,
        endpoint=endpoint,
        timeout_s=timeout_s,
        attempts=attempts,
    )
    return http_convert_error(exc, wording)


class AzurePrices:
    """The Azure client (``PriceClient``)."""

    name = "azure"

    def __init__(self, options: ClientOptions | None = None) -> None:
        self.options = options or ClientOptions()
        self.endpoint = (self.options.endpoint_for("azure") or DEFAULT_ENDPOINT).rstrip("/")
        scheme = urllib.parse.urlsplit(self.endpoint).scheme
        if scheme not in ("http", "https"):
            raise PricingError(
                f"the Azure prices endpoint must be an http(s) URL, not {self.endpoint!r}",
                hint=f"e.g. {DEFAULT_ENDPOINT}",
            )

    def _get_page(self, url: str) -> tuple[list[Any], str | None]:
        data = get_json(url, self.options.timeout_s)
        if not isinstance(data, dict) or not isinstance(data.get("Items"), list):
            raise PageError("the page has no Items list")
        link = data.get("NextPageLink")
        if link is not None and not isinstance(link, str):
            raise PageError(f"NextPageLink is a {type(link).__name__}, not a URL")
        return data["Items"], (link or None)

    def fetch(self, regions: Sequence[str], progress: ProgressCallback) -> FetchResult:
        fetched_at = utc_now_iso()
        wanted = frozenset(regions)
        skipped = SkipCounter()
        seen: set[tuple[str, str, str]] = set()
        rows: list[tuple[Any, ...]] = []
        pages = items = 0
        guard = PageGuard("Azure", self.options.max_pages)
        progress(ProgressEvent("azure", "start", message=f"Azure Retail Prices API at {self.endpoint}"))
        for region in [*sorted(wanted)] if wanted else [None]:
            url: str | None = first_page_url(self.endpoint, region)
            while url is not None:
                guard.page()
                what = f"retail prices page {pages + 1}"

                def get_page(url: str = url) -> tuple[list[tuple[Any, ...]], int, str | None]:
                    page_items, link = self._get_page(url)
                    added: set[tuple[str, str, str]] = set()
                    page_skipped = SkipCounter()
                    parsed = parse_items(
                        page_items,
                        fetched_at=fetched_at,
                        regions=wanted,
                        seen=seen,
                        added=added,
                        skipped=page_skipped,
                    )
                    seen.update(added)
                    skipped.update(page_skipped)
                    return parsed, len(page_items), link

                def on_retry(
                    attempt: int,
                    verdict: Retry,
                    delay: float,
                    what: str = what,
                    pages: int = pages,
                    items: int = items,
                ) -> None:
                    progress(
                        ProgressEvent(
                            "azure",
                            "retry",
                            pages,
                            items,
                            f"{what}: {verdict.reason}; retry {attempt} in {delay:.1f} s",
                        )
                    )

                try:
                    page_rows, count, link = with_retries(
                        get_page, policy=self.options.retry, classify=classify, on_retry=on_retry
                    )
                except Exception as exc:
                    raise convert_error(
                        exc,
                        what=what,
                        endpoint=self.endpoint,
                        timeout_s=self.options.timeout_s,
                        attempts=self.options.retry.attempts,
                    ) from exc
                rows.extend(page_rows)
                pages += 1
                items += count
                progress(ProgressEvent("azure", "page", pages, items))
                url = guard.link(link, self.endpoint, origins=(DEFAULT_ENDPOINT,))
        frame = offers_frame(rows, ROW_COLUMNS)
        return FetchResult("azure", SOURCE, self.endpoint, frame, pages, items, dict(skipped), [], fetched_at)
