"""AWS prices: the Price List Query API (``pricing:GetProducts``) and EC2 spot price history, via boto3.

What is pulled (pricing_apis.md section 6.1, traps 1-8):
- On-demand and reserved prices of accelerated instances (instance families ``GPU instance`` and
  ``Machine Learning ASIC Instances``), asked for with the filters that make a product unique:
  ``capacitystatus=Used``, ``tenancy=Shared``, ``operatingSystem=Linux``, ``preInstalledSw=NA``,
  ``licenseModel=No License required``. Rows that slip through anyway (Capacity Blocks, unused capacity
  reservations, BYOL, Windows, SQL, dedicated) are skipped again client-side and counted.
- Reserved terms: standard offering class, 1 and 3 years, no/partial/all upfront. The upfront fee is
  amortised into an effective hourly price: ``hourly + upfront / (years * 8760)``. All three payment
  options are kept as separate ``reserved_1y``/``reserved_3y`` rows; the option is the first token of
  ``note`` (``payment=no_upfront|partial_upfront|all_upfront``) and ``source_sku`` is ``SKU.OFFERTERMCODE``.
- Spot: ``ec2:DescribeSpotPriceHistory`` per region for the instance types found, latest price per zone,
  zone ID when the API gives one (names like ``us-east-1a`` differ per account), the observation time in
  ``effective_date``. When the credentials may not call it, the pull says so and goes on without spot.

The Price List API answers only in us-east-1, eu-central-1 and ap-south-1, and returns every region's
prices from any of them. GPU model names are not in the price list (``gpu`` is a count, ``gpuMemory`` is
"NA"): they come from ``pricing/data/aws_accelerated_instances.csv``, each row with its source.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

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
    retry_after_seconds,
    utc_now_iso,
    with_retries,
)
from pricing.schema import HOURS_PER_YEAR, PARSED_OFFER_COLUMNS

if TYPE_CHECKING:
    pass

PRICING_ENDPOINT_ENV: Final = "TCO_AWS_PRICING_ENDPOINT"
EC2_ENDPOINT_ENV: Final = "TCO_AWS_EC2_ENDPOINT"
PRICING_REGIONS: Final = ("us-east-1", "eu-central-1", "ap-south-1")
SOURCE: Final = "aws-price-list-api"
SPOT_SOURCE: Final = "aws-ec2-spot-price-history"

INSTANCE_FAMILIES: Final = ("GPU instance", "Machine Learning ASIC Instances")
#: TERM_MATCH filters that make a product unique (traps 2 and 3).
PRODUCT_FILTERS: Final = {
    "productFamily": "Compute Instance",
    "capacitystatus": "Used",
    "tenancy": "Shared",
    "operatingSystem": "Linux",
    "preInstalledSw": "NA",
    "licenseModel": "No License required",
}
PAGE_SIZE: Final = 100  # the API's maximum
SPOT_PRODUCT: Final = "Linux/UNIX"
SPOT_TYPES_PER_CALL: Final = 50

THROTTLING_CODES: Final = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "PriorRequestNotComplete",
    }
)
AUTH_CODES: Final = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "AccessDeniedException",
        "AccessDenied",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "MissingAuthenticationTokenException",
        "UnauthorizedOperation",
        "IncompleteSignature",
    }
)
#: Spot errors that mean "these credentials may not read spot prices here": warn and go on.
SPOT_DENIED_CODES: Final = frozenset(
    {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "AuthFailure"}
)
SPOT_REGION_UNAVAILABLE_CODES: Final = frozenset({"OptInRequired", "InvalidClientTokenId"})

CREDENTIALS_HINT: Final = (
    "configure AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run "
    "`aws configure` / `aws sso login`; the Price List API needs the pricing:GetProducts permission"
)

PAYMENT_OPTIONS: Final = {
    "No Upfront": "no_upfront",
    "Partial Upfront": "partial_upfront",
    "All Upfront": "all_upfront",
}
LEASE_YEARS: Final = {"1yr": 1, "3yr": 3}

#: Column order of the tuples the parser builds: the contract columns, then flags and note.
ROW_COLUMNS: Final = PARSED_OFFER_COLUMNS


@dataclass(frozen=True, slots=True)
class InstanceShape:
    accelerator: str
    accelerator_count: float
    accelerator_memory_gib: float | None


@cache
def instance_shapes() -> dict[str, InstanceShape]:
    """Instance type -> accelerator, count and memory (``pricing/data/aws_accelerated_instances.csv``)."""
    text = resources.files("pricing").joinpath("data/aws_accelerated_instances.csv").read_text()
    return {
        row["instance_type"]: InstanceShape(
            row["accelerator"],
            float(row["accelerator_count"]),
            float(row["accelerator_memory_gib"]) if row["accelerator_memory_gib"] else None,
        )
        for row in csv.DictReader(text.splitlines())
    }


def _memory_gib(text: str | None) -> float | None:
    """``"1,152 GiB"`` -> 1152.0; anything else -> None."""
    if not text:
        return None
    number = text.replace(",", "").split(" ")[0]
    try:
        return float(number)
    except ValueError:
        return None


def _float(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _usd(dimension: dict[str, Any]) -> float | None:
    return _float(dimension.get("pricePerUnit", {}).get("USD"))


def parse_products(
    price_list: Sequence[str],
    *,
    fetched_at: str,
    regions: frozenset[str],
    seen: set[tuple[str, str]] | frozenset[tuple[str, str]],
    added: set[tuple[str, str]],
    skipped: SkipCounter,
) -> list[tuple[Any, ...]]:
    """Offer rows (``ROW_COLUMNS`` tuples) from one page of GetProducts ``PriceList`` JSON strings.

    ``seen`` holds the (instance type, region) pairs of earlier pages (read only); the pairs of this page go
    into ``added``. A second product for a pair is a duplicate and skipped. Raises :class:`PageError` on an
    item that is not a price-list product.
    """
    shapes = instance_shapes()
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    loads = json.loads
    hours_per_year = HOURS_PER_YEAR
    for text in price_list:
        try:
            item = loads(text)
            product = item["product"]
            attributes = product["attributes"]
            sku = product["sku"]
            terms = item.get("terms") or {}
        except (TypeError, ValueError, KeyError) as exc:
            raise PageError(
                f"a PriceList item is not a price-list product ({type(exc).__name__}: {exc})"
            ) from exc
        get = attributes.get
        if get("capacitystatus") != "Used":
            skipped["capacity reservation row"] += 1
            continue
        if get("marketoption") == "CapacityBlock" or "CapacityBlock" in (get("usagetype") or ""):
            skipped["capacity block row"] += 1
            continue
        if get("operatingSystem") != "Linux":
            skipped["not Linux"] += 1
            continue
        if get("licenseModel") != "No License required":
            skipped["BYOL licence"] += 1
            continue
        if get("preInstalledSw", "NA") != "NA":
            skipped["pre-installed software"] += 1
            continue
        if get("tenancy") != "Shared":
            skipped["not shared tenancy"] += 1
            continue
        instance_type = get("instanceType") or ""
        shape = shapes.get(instance_type)
        if shape is None:
            skipped["instance type without a known accelerator"] += 1
            continue
        region = get("regionCode")
        if not region:
            skipped["no regionCode"] += 1
            continue
        if regions and region not in regions:
            skipped["region not asked for"] += 1
            continue
        key = (instance_type, region)
        if key in seen or key in added:
            skipped["duplicate product"] += 1
            continue
        added.add(key)
        head = (
            "aws",
            region,
            None,
            instance_type,
            shape.accelerator,
            shape.accelerator_count,
            shape.accelerator_memory_gib,
            _float(get("vcpu")),
            _memory_gib(get("memory")),
        )

        on_demand = terms.get("OnDemand") or {}
        if not on_demand:
            # Listed but no published on-demand price (trap 5): keep the offer, price null.
            append(
                (
                    *head,
                    "on_demand",
                    None,
                    "USD",
                    SOURCE,
                    sku,
                    None,
                    fetched_at,
                    "missing",
                    "no on-demand price published",
                )
            )
        for index, term in enumerate(on_demand.values()):
            if index:
                skipped["extra on-demand term"] += 1
                break
            hourly = [
                d for d in term.get("priceDimensions", {}).values() if d.get("unit") in ("Hrs", "Hours")
            ]
            price = _usd(hourly[0]) if hourly else None
            flags = "" if price is not None else "missing"
            append(
                (
                    *head,
                    "on_demand",
                    price,
                    "USD",
                    SOURCE,
                    sku,
                    term.get("effectiveDate"),
                    fetched_at,
                    flags,
                    "" if price is not None else "no USD hourly price dimension",
                )
            )

        for term in (terms.get("Reserved") or {}).values():
            attrs = term.get("termAttributes") or {}
            if attrs.get("OfferingClass") != "standard":
                skipped["reserved term: convertible (not modelled)"] += 1
                continue
            years = LEASE_YEARS.get(attrs.get("LeaseContractLength", ""))
            payment = PAYMENT_OPTIONS.get(attrs.get("PurchaseOption", ""))
            if years is None or payment is None:
                skipped["reserved term: unknown length or payment option"] += 1
                continue
            hourly_usd = 0.0
            upfront_usd = 0.0
            valid = True
            for dimension in term.get("priceDimensions", {}).values():
                amount = _usd(dimension)
                if amount is None:
                    valid = False
                    break
                if dimension.get("unit") == "Quantity":
                    upfront_usd += amount
                else:
                    hourly_usd += amount
            if not valid:
                skipped["reserved term: no USD price"] += 1
                continue
            term_hours = years * hours_per_year
            effective = hourly_usd + upfront_usd / term_hours
            note = (
                f"payment={payment}; standard {years}yr: {hourly_usd:g} $/h + upfront {upfront_usd:g} $ "
                f"/ {term_hours:g} h"
            )
            append(
                (
                    *head,
                    f"reserved_{years}y",
                    effective,
                    "USD",
                    SOURCE,
                    f"{sku}.{term.get('offerTermCode', '')}",
                    term.get("effectiveDate"),
                    fetched_at,
                    "amortised" if upfront_usd > 0 else "",
                    note,
                )
            )
    return rows


def classify(exc: BaseException) -> Retry | None:
    """Transient boto failures (throttling, 5xx, timeouts, dropped connections, bad pages) -> retry."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        meta = exc.response.get("ResponseMetadata", {})
        status = int(meta.get("HTTPStatusCode") or 0)
        after = retry_after_seconds((meta.get("HTTPHeaders") or {}).get("retry-after"))
        if code in THROTTLING_CODES or status == 429:
            return Retry(f"throttled ({code or status})", after)
        if status >= 500:
            return Retry(f"HTTP {status} {code}".strip(), after)
        return None
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError)):
        return Retry("timed out")
    if isinstance(exc, (EndpointConnectionError, ConnectionClosedError)):
        return Retry("connection failed")
    if isinstance(exc, (ResponseParserError, PageError)):
        return Retry("malformed response")
    return None


def convert_error(
    exc: BaseException, *, what: str, endpoint: str, timeout_s: float, attempts: int
) -> PricingError:
    """One PricingError that says what failed and how to fix it."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    wording = ErrorWording(
        "AWS",
        PRICING_ENDPOINT_ENV,
        "an AWS price list API",
        what=what,
        endpoint=endpoint,
        timeout_s=timeout_s,
        attempts=attempts,
    )
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return PricingError(f"AWS credentials not found ({what})", hint=CREDENTIALS_HINT)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "")), str(error.get("Message", "")).strip()
        if code in AUTH_CODES:
            return PricingError(
                f"AWS rejected the credentials ({what}): {code}: {message}", hint=CREDENTIALS_HINT
            )
        verdict = classify(exc)
        if verdict is not None:
            return wording.gave_up(verdict.reason, message)
        return PricingError(f"AWS {what} failed: {code}: {message}", hint=f"endpoint {endpoint}")
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError)):
        return wording.timed_out()
    if isinstance(exc, EndpointConnectionError):
        return wording.unreachable()
    if isinstance(exc, PageError):
        return wording.malformed(exc)
    return wording.failed(exc)


class AwsPrices:
    """The AWS client (``PriceClient``)."""

    name = "aws"

    def __init__(
        self,
        options: ClientOptions | None = None,
        *,
        spot: bool | None = None,
        ec2_endpoint: str | None = None,
        pricing_region: str | None = None,
    ) -> None:
        self.options = options or ClientOptions()
        self.endpoint = self.options.endpoint_for("aws")
        self.ec2_endpoint = ec2_endpoint or os.environ.get(EC2_ENDPOINT_ENV) or None
        self.pricing_region = pricing_region or os.environ.get("TCO_AWS_PRICING_REGION") or PRICING_REGIONS[0]
        if self.endpoint is None and self.pricing_region not in PRICING_REGIONS:
            raise PricingError(
                f"the AWS Price List API does not answer in {self.pricing_region}",
                hint=f"use one of {', '.join(PRICING_REGIONS)}",
            )
        self.spot = self.options.spot if spot is None else spot

    def _config(self) -> Any:
        from botocore.config import Config

        timeout = self.options.timeout_s
        # One try per call inside botocore: retries are ours (with_retries), alike for every provider.
        return Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"total_max_attempts": 1},
            user_agent_extra="tco-prices",
        )

    def _endpoint_label(self) -> str:
        return self.endpoint or f"https://api.pricing.{self.pricing_region}.amazonaws.com"

    def fetch(self, regions: Sequence[str], progress: ProgressCallback) -> FetchResult:
        import boto3

        fetched_at = utc_now_iso()
        session = boto3.session.Session()
        client = session.client(
            "pricing", region_name=self.pricing_region, endpoint_url=self.endpoint, config=self._config()
        )
        wanted = frozenset(regions)
        skipped = SkipCounter()
        seen: set[tuple[str, str]] = set()
        rows: list[tuple[Any, ...]] = []
        pages = items = 0
        progress(ProgressEvent("aws", "start", message=f"AWS Price List API at {self._endpoint_label()}"))
        region_filters: list[str | None] = [*sorted(wanted)] if wanted else [None]
        for family in INSTANCE_FAMILIES:
            for region in region_filters:
                filters = [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in PRODUCT_FILTERS.items()]
                filters.append({"Type": "TERM_MATCH", "Field": "instanceFamily", "Value": family})
                if region is not None:
                    filters.append({"Type": "TERM_MATCH", "Field": "regionCode", "Value": region})
                token: str | None = None
                while True:
                    request: dict[str, Any] = {
                        "ServiceCode": "AmazonEC2",
                        "Filters": filters,
                        "FormatVersion": "aws_v1",
                        "MaxResults": self.options.page_size or PAGE_SIZE,
                    }
                    if token:
                        request["NextToken"] = token
                    page_number = pages + 1

                    def get_page(
                        request: dict[str, Any] = request,
                    ) -> tuple[list[tuple[Any, ...]], int, str | None]:
                        response = client.get_products(**request)
                        if "PriceList" not in response:
                            raise PageError("the response has no PriceList")
                        price_list = response["PriceList"]
                        # Parse inside the retried call: a malformed page is fetched again, and a page
                        # counts (seen pairs, skips) only once it parsed whole.
                        added: set[tuple[str, str]] = set()
                        page_skipped = SkipCounter()
                        parsed = parse_products(
                            price_list,
                            fetched_at=fetched_at,
                            regions=wanted,
                            seen=seen,
                            added=added,
                            skipped=page_skipped,
                        )
                        seen.update(added)
                        skipped.update(page_skipped)
                        return parsed, len(price_list), response.get("NextToken") or None

                    page_rows, count, token = self._call(
                        get_page, f"GetProducts page {page_number}", progress, pages, items
                    )
                    rows.extend(page_rows)
                    pages += 1
                    items += count
                    progress(ProgressEvent("aws", "page", pages, items))
                    if not token:
                        break
        warnings: list[str] = []
        if self.spot and rows:
            spot_rows, pages, items = self._spot(
                session, rows, fetched_at, skipped, warnings, progress, pages, items
            )
            rows.extend(spot_rows)
        frame = offers_frame(rows, ROW_COLUMNS)
        return FetchResult(
            "aws",
            SOURCE if not self.spot else f"{SOURCE}+{SPOT_SOURCE}",
            self._endpoint_label(),
            frame,
            pages,
            items,
            dict(skipped),
            warnings,
            fetched_at,
        )

    def _call(self, call: Any, what: str, progress: ProgressCallback, pages: int, items: int) -> Any:
        def on_retry(attempt: int, verdict: Retry, delay: float) -> None:
            progress(
                ProgressEvent(
                    "aws",
                    "retry",
                    pages,
                    items,
                    f"{what}: {verdict.reason}; retry {attempt} in {delay:.1f} s",
                )
            )

        try:
            return with_retries(call, policy=self.options.retry, classify=classify, on_retry=on_retry)
        except PricingError:
            raise
        except Exception as exc:
            raise convert_error(
                exc,
                what=what,
                endpoint=self._endpoint_label(),
                timeout_s=self.options.timeout_s,
                attempts=self.options.retry.attempts,
            ) from exc

    def _spot(
        self,
        session: Any,
        rows: list[tuple[Any, ...]],
        fetched_at: str,
        skipped: SkipCounter,
        warnings: list[str],
        progress: ProgressCallback,
        pages: int,
        items: int,
    ) -> tuple[list[tuple[Any, ...]], int, int]:
        """Latest spot price per (zone, instance type) in each region the on-demand rows cover.

        Returns the rows and the running page and item totals.
        """
        from botocore.exceptions import ClientError

        by_region: dict[str, dict[str, tuple[Any, ...]]] = {}
        for row in rows:
            by_region.setdefault(row[1], {}).setdefault(row[3], row)
        spot_rows: list[tuple[Any, ...]] = []
        now = datetime.now(tz=UTC)
        progress(ProgressEvent("aws", "stage", pages, items, "spot prices (EC2 DescribeSpotPriceHistory)"))
        for region in sorted(by_region):
            client = session.client(
                "ec2", region_name=region, endpoint_url=self.ec2_endpoint, config=self._config()
            )
            types = sorted(by_region[region])
            latest: dict[tuple[str, str], dict[str, Any]] = {}
            try:
                for start in range(0, len(types), SPOT_TYPES_PER_CALL):
                    chunk = types[start : start + SPOT_TYPES_PER_CALL]
                    token: str | None = None
                    while True:
                        request: dict[str, Any] = {
                            "InstanceTypes": chunk,
                            "ProductDescriptions": [SPOT_PRODUCT],
                            "StartTime": now,
                            "MaxResults": 1000,
                        }
                        if token:
                            request["NextToken"] = token

                        def get_page(
                            request: dict[str, Any] = request, client: Any = client
                        ) -> dict[str, Any]:
                            page: dict[str, Any] = client.describe_spot_price_history(**request)
                            return page

                        response = self._call(get_page, f"spot prices in {region}", progress, pages, items)
                        pages += 1
                        history = response.get("SpotPriceHistory", [])
                        items += len(history)
                        for entry in history:
                            zone = entry.get("AvailabilityZoneId") or entry.get("AvailabilityZone")
                            key = (zone, entry.get("InstanceType"))
                            if key in latest and latest[key]["Timestamp"] >= entry["Timestamp"]:
                                skipped["older spot observation"] += 1
                                continue
                            latest[key] = entry
                        progress(ProgressEvent("aws", "page", pages, items))
                        token = response.get("NextToken") or None
                        if not token:
                            break
            except PricingError as exc:
                cause = exc.__cause__
                code = (
                    str(cause.response.get("Error", {}).get("Code", ""))
                    if isinstance(cause, ClientError)
                    else ""
                )
                if code in SPOT_DENIED_CODES:
                    message = (
                        f"spot prices skipped: these AWS credentials may not call "
                        f"ec2:DescribeSpotPriceHistory ({code}); on-demand and reserved prices are kept"
                    )
                    warnings.append(message)
                    progress(ProgressEvent("aws", "warning", pages, items, message))
                    return spot_rows, pages, items
                if code in SPOT_REGION_UNAVAILABLE_CODES:
                    message = f"spot prices skipped in {region}: region not enabled for this account ({code})"
                    warnings.append(message)
                    progress(ProgressEvent("aws", "warning", pages, items, message))
                    continue
                raise
            for (zone, instance_type), entry in sorted(latest.items()):
                base = by_region[region].get(instance_type)
                price = _float(entry.get("SpotPrice"))
                if base is None or entry.get("ProductDescription", SPOT_PRODUCT) != SPOT_PRODUCT:
                    skipped["spot price for an unasked product"] += 1
                    continue
                observed = entry["Timestamp"]
                observed_iso = (
                    observed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                    if isinstance(observed, datetime)
                    else str(observed)
                )
                spot_rows.append(
                    (
                        *base[:2],
                        zone,
                        *base[3:9],
                        "spot",
                        price,
                        "USD",
                        SPOT_SOURCE,
                        None,
                        observed_iso,
                        fetched_at,
                        "",
                        f"spot price observed at {observed_iso} in zone {zone}",
                    )
                )
        return spot_rows, pages, items
