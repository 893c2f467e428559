"""OCI prices: Oracle's public price list (the Cost Estimator API), no credentials, over plain HTTP.

Wire format (one response, no pagination; ``limit`` is refused with HTTP 400)::

    GET https://apexapps.oracle.com/pls/apex/cetools/api/v1/products/?currencyCode=USD
    {"lastUpdated": "2026-08-14T09:09:55.872Z",
     "items": [{"partNumber": "B98415", "displayName": "Oracle Cloud Infrastructure - Compute - GPU - H100",
                "metricName": "GPU Per Hour", "serviceCategory": "Compute - GPU",
                "currencyCodeLocalizations": [{"currencyCode": "USD",
                    "prices": [{"model": "PAY_AS_YOU_GO", "value": 10}]}]}, ...]}

What is pulled and the traps (pricing/data/SOURCES.md "Live price APIs"; the part numbers and names as a
third-party capture of the live list pinned them):
- The list prices SKUs ("parts"), not shapes: GPU compute is a ``GPU Per Hour`` part and a shape costs its
  part's price times its GPUs (``pricing/data/oci_gpu_shapes.csv``, one row per shape with its part; checked
  against the embedded snapshot: BM.GPU.H100.8 = 8 x B98415 = 80 $/h).
- Parts are matched by part number only: display names are typed inconsistently ("OCI- Compute",
  "Compute  - GPU"), Cloud@Customer parts repeat a public part's display name, and NVIDIA AI Enterprise
  licences ("OCI - NVIDIA AI Enterprise - H100", 2.50 $/GPU-h) share the category and metric of the H100
  compute part (10 $/GPU-h). Anything else is skipped and counted; a GPU part no shape uses is also warned
  about (a new shape to add, or a renamed part).
- Prices may be tiered (an Always-Free first tier at 0): the price is the marginal tier, the one with the
  highest ``rangeMin``. Only ``PAY_AS_YOU_GO`` is published: no preemptible or committed prices.
- OCI charges one list price in every commercial region and the list has no region: each shape is priced in
  every region the embedded snapshot lists OCI in (or the regions asked for), flagged ``listed_all_regions``
  like the embedded rows. ``effective_date`` is the list's ``lastUpdated``.
"""

from __future__ import annotations

import csv
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from pricing.accelerators import BY_NAME
from pricing.errors import PricingError
from pricing.providers.base import (
    ClientOptions,
    ErrorWording,
    FetchResult,
    PageError,
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
from pricing.schema import PARSED_OFFER_COLUMNS

ENDPOINT_ENV: Final = "TCO_OCI_PRICES_ENDPOINT"
DEFAULT_ENDPOINT: Final = "https://apexapps.oracle.com/pls/apex/cetools/api/v1/products/"
SOURCE: Final = "oci-price-list"
CURRENCY: Final = "USD"
PAY_AS_YOU_GO: Final = "PAY_AS_YOU_GO"
GPU_METRIC: Final = "GPU Per Hour"
ROW_COLUMNS: Final = PARSED_OFFER_COLUMNS


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    part_number: str
    accelerator: str
    accelerator_count: float
    vcpus: float
    memory_gib: float


@cache
def shapes() -> tuple[Shape, ...]:
    """OCI GPU shapes and the part that prices them (``pricing/data/oci_gpu_shapes.csv``)."""
    text = resources.files("pricing").joinpath("data/oci_gpu_shapes.csv").read_text()
    return tuple(
        Shape(
            row["shape"],
            row["part_number"],
            row["accelerator"],
            float(row["accelerator_count"]),
            float(row["vcpus"]),
            float(row["memory_gib"]),
        )
        for row in csv.DictReader(text.splitlines())
    )


@cache
def listed_regions() -> tuple[str, ...]:
    """The regions the embedded snapshot lists OCI shapes in (the price list itself names none)."""
    from pricing.catalog import load_embedded

    embedded = load_embedded()
    return tuple(sorted(embedded.loc[embedded["provider"].eq("oci"), "region"].dropna().unique()))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _list(value: Any) -> list[Any]:
    """A JSON array, or [] for anything else (a hostile or broken list prices nothing, never crashes)."""
    return value if isinstance(value, list) else []


def marginal_price(item: dict[str, Any], currency: str = CURRENCY) -> float | None:
    """The pay-as-you-go price of the next unit in ``currency``: the tier with the highest ``rangeMin``
    (a first tier at 0 is an Always-Free allowance, not the price). None when there is none."""
    best: tuple[float, float] | None = None
    for localization in _list(item.get("currencyCodeLocalizations")):
        if not isinstance(localization, dict) or localization.get("currencyCode") != currency:
            continue
        for tier in _list(localization.get("prices")):
            if not isinstance(tier, dict) or tier.get("model") != PAY_AS_YOU_GO:
                continue
            value = _number(tier.get("value"))
            if value is None:
                continue
            start = _number(tier.get("rangeMin")) or 0.0
            if best is None or start > best[0]:
                best = (start, value)
    return None if best is None else best[1]


def parse_items(
    items: Sequence[Any],
    *,
    fetched_at: str,
    effective_date: str | None,
    regions: Sequence[str],
    skipped: SkipCounter,
    warnings: list[str],
) -> list[tuple[Any, ...]]:
    """Offer rows (``ROW_COLUMNS`` tuples) for every shape whose part the list prices, in each region."""
    by_part: dict[str, list[Shape]] = {}
    for shape in shapes():
        by_part.setdefault(shape.part_number, []).append(shape)
    prices: dict[str, float] = {}
    for item in items:
        if not isinstance(item, dict):
            raise PageError(f"an item is a {type(item).__name__}, not an object")
        part = str(item.get("partNumber") or "")
        name = str(item.get("displayName") or "")
        metric = str(item.get("metricName") or "")
        if part not in by_part:
            if metric != GPU_METRIC:
                skipped["not a GPU-hour part"] += 1
            elif "ai enterprise" in name.lower():
                skipped["NVIDIA AI Enterprise licence (software, not compute)"] += 1
            elif "cloud@customer" in name.lower() or "- gpu." in name.lower():
                skipped["Cloud@Customer part (on-premises, not a cloud shape)"] += 1
            else:
                skipped["GPU part no shape uses"] += 1
                warnings.append(
                    f"OCI lists GPU part {part} {name!r} that no shape in pricing/data/oci_gpu_shapes.csv "
                    "uses: a new shape to add?"
                )
            continue
        if part in prices:
            skipped["duplicate part"] += 1
            continue
        if metric != GPU_METRIC:
            skipped[f"part priced per {metric!r}, not per GPU-hour"] += 1
            warnings.append(f"OCI part {part} is now priced per {metric!r}: its shapes are left out")
            continue
        price = marginal_price(item)
        if price is None:
            skipped[f"no {CURRENCY} pay-as-you-go price"] += 1
            continue
        prices[part] = price
    rows: list[tuple[Any, ...]] = []
    for part, part_shapes in by_part.items():
        if part not in prices:
            names = ", ".join(s.name for s in part_shapes)
            warnings.append(f"OCI part {part} ({names}) is not in the price list: retired or renamed?")
            continue
        per_gpu = prices[part]
        for shape in part_shapes:
            note = f"part {part}: {per_gpu:g} $/GPU-h x {shape.accelerator_count:g} GPUs"
            memory = BY_NAME[shape.accelerator].memory_gib if shape.accelerator in BY_NAME else None
            rows.extend(
                (
                    "oci",
                    region,
                    None,
                    shape.name,
                    shape.accelerator,
                    shape.accelerator_count,
                    memory,
                    shape.vcpus,
                    shape.memory_gib,
                    "on_demand",
                    per_gpu * shape.accelerator_count,
                    CURRENCY,
                    SOURCE,
                    part,
                    effective_date,
                    fetched_at,
                    "listed_all_regions",
                    note,
                )
                for region in regions
            )
    return rows


def convert_error(
    exc: BaseException, *, what: str, endpoint: str, timeout_s: float, attempts: int
) -> PricingError:
    wording = ErrorWording(
        "OCI",
        ENDPOINT_ENV,
        "the OCI price list",
        what=what,
        endpoint=endpoint,
        timeout_s=timeout_s,
        attempts=attempts,
    )
    return http_convert_error(exc, wording)


class OciPrices:
    """The OCI client (``PriceClient``)."""

    name = "oci"

    def __init__(self, options: ClientOptions | None = None) -> None:
        self.options = options or ClientOptions()
        self.endpoint = self.options.endpoint_for("oci") or DEFAULT_ENDPOINT
        if urllib.parse.urlsplit(self.endpoint).scheme not in ("http", "https"):
            raise PricingError(
                f"the OCI price list endpoint must be an http(s) URL, not {self.endpoint!r}",
                hint=f"e.g. {DEFAULT_ENDPOINT}",
            )

    def _url(self) -> str:
        return f"{self.endpoint}?{urllib.parse.urlencode({'currencyCode': CURRENCY})}"

    def _get(self) -> tuple[list[Any], str | None]:
        data = get_json(self._url(), self.options.timeout_s)
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise PageError("the response has no items list")
        updated = data.get("lastUpdated")
        return data["items"], (str(updated) if updated else None)

    def fetch(self, regions: Sequence[str], progress: ProgressCallback) -> FetchResult:
        fetched_at = utc_now_iso()
        progress(ProgressEvent("oci", "start", message=f"OCI price list at {self.endpoint}"))
        what = "price list request"

        def on_retry(attempt: int, verdict: Retry, delay: float) -> None:
            message = f"{what}: {verdict.reason}; retry {attempt} in {delay:.1f} s"
            progress(ProgressEvent("oci", "retry", 0, 0, message))

        try:
            items, updated = with_retries(
                self._get, policy=self.options.retry, classify=classify, on_retry=on_retry
            )
        except Exception as exc:
            raise convert_error(
                exc,
                what=what,
                endpoint=self.endpoint,
                timeout_s=self.options.timeout_s,
                attempts=self.options.retry.attempts,
            ) from exc
        progress(ProgressEvent("oci", "page", 1, len(items)))
        skipped = SkipCounter()
        warnings: list[str] = []
        rows = parse_items(
            items,
            fetched_at=fetched_at,
            effective_date=updated,
            regions=tuple(sorted(set(regions))) or listed_regions(),
            skipped=skipped,
            warnings=warnings,
        )
        for message in warnings:
            progress(ProgressEvent("oci", "warning", 1, len(items), message))
        return FetchResult(
            "oci",
            SOURCE,
            self.endpoint,
            offers_frame(rows, ROW_COLUMNS),
            1,
            len(items),
            dict(skipped),
            warnings,
            fetched_at,
        )


__all__ = ["DEFAULT_ENDPOINT", "ENDPOINT_ENV", "OciPrices", "marginal_price", "parse_items", "shapes"]
