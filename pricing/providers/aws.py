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

import contextlib
import csv
import gc
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

import msgspec

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
    check_endpoint,
    env_endpoint,
    retry_after_seconds,
    utc_now_iso,
    with_retries,
)
from pricing.schema import HOURS_PER_YEAR, PARSED_OFFER_COLUMNS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PRICING_ENDPOINT_ENV: Final = "TCO_AWS_PRICING_ENDPOINT"
EC2_ENDPOINT_ENV: Final = "TCO_AWS_EC2_ENDPOINT"
PRICING_REGION_ENV: Final = "TCO_AWS_PRICING_REGION"
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
    """A number from the API's text (or number); None for anything else (a bool is not a price)."""
    if isinstance(text, bool):
        return None
    try:
        return float(text)
    except (TypeError, ValueError, OverflowError):
        return None


# The structs type every text field the parser reads: an item whose fields have other types (a hostile or
# broken API) fails to decode and is skipped and counted, never crashes the parser further on.
class _Dimension(msgspec.Struct, gc=False):
    """A price dimension of a term: only the fields tco reads (msgspec skips the rest while decoding)."""

    unit: str | None = None
    pricePerUnit: dict[str, Any] = {}


class _TermAttributes(msgspec.Struct, gc=False, frozen=True):
    LeaseContractLength: str | None = None
    OfferingClass: str | None = None
    PurchaseOption: str | None = None


class _Term(msgspec.Struct, gc=False):
    # fields in the order the API writes them: msgspec finds each key first try
    priceDimensions: dict[str, _Dimension] = {}
    effectiveDate: str | None = None
    offerTermCode: str = ""
    termAttributes: _TermAttributes | None = None


class _Attributes(msgspec.Struct, gc=False):
    capacitystatus: str | None = None
    marketoption: str | None = None
    usagetype: str | None = None
    operatingSystem: str | None = None
    licenseModel: str | None = None
    preInstalledSw: str | None = "NA"
    tenancy: str | None = None
    instanceType: str | None = None
    regionCode: str | None = None
    vcpu: str | float | None = None
    memory: str | None = None


class _Product(msgspec.Struct, gc=False):
    sku: str
    attributes: _Attributes


class _Terms(msgspec.Struct, gc=False, frozen=True):
    OnDemand: dict[str, _Term] | None = None
    Reserved: dict[str, _Term] | None = None


class _Item(msgspec.Struct, gc=False):
    product: _Product
    terms: _Terms | None = None


class _AnyProduct(msgspec.Struct, gc=False):
    """What every price-list product is, whatever its fields hold (tells a malformed product from a page
    that is not a price list at all)."""

    product: dict[str, Any]


# The fast path (every product of a well-formed page): the same fields, decoded with ``strict=False`` so
# that the prices' decimal strings become floats inside msgspec (no string, no float() call per price), and
# in shapes the parser takes without checks (no null terms or attributes, a price a float or None).
# ``strict=False`` also turns the *string* "null" into None for an optional field that cannot hold a string,
# so the only such field here is a price (where "null" is no price either way, as float("null") fails): the
# others are not optional (JSON null fails). ``pricePerUnit`` holds USD only (another currency, whose value
# the exact structs decode, fails here). Anything this cannot decode (a price that is not a plain decimal, a
# null, a wrong type, another currency) is decoded by the exact structs above and brought to these shapes
# (:func:`_as_fast`): either way the same rows. The one value a float sees differently is the price "-0"
# (0.0 here, -0.0 there): a zero price either way, flagged ``zero`` and set to null by the validation.
class _FastPrice(msgspec.Struct, gc=False, frozen=True, forbid_unknown_fields=True):
    USD: float | None = None


class _FastDimension(msgspec.Struct, gc=False):
    unit: str | None = None
    pricePerUnit: _FastPrice = _FastPrice()


class _FastTerm(msgspec.Struct, gc=False):
    priceDimensions: dict[str, _FastDimension] = {}
    effectiveDate: str | None = None
    offerTermCode: str = ""
    termAttributes: _TermAttributes = _TermAttributes()


class _FastTerms(msgspec.Struct, gc=False, frozen=True):
    OnDemand: dict[str, _FastTerm] = {}
    Reserved: dict[str, _FastTerm] = {}


class _FastItem(msgspec.Struct, gc=False):
    product: _Product
    terms: _FastTerms = _FastTerms()


_NO_ATTRIBUTES: Final = _TermAttributes()
_NO_DATE: Final = object()  # (equal to no date)
_NO_TERMS: Final = _FastTerms()


def _fast_terms(terms: dict[str, _Term] | None) -> dict[str, _FastTerm]:
    return {
        key: _FastTerm(
            {
                name: _FastDimension(dimension.unit, _FastPrice(_float(dimension.pricePerUnit.get("USD"))))
                for name, dimension in term.priceDimensions.items()
            },
            term.effectiveDate,
            term.offerTermCode,
            term.termAttributes or _NO_ATTRIBUTES,
        )
        for key, term in (terms or {}).items()
    }


def _as_fast(item: _Item) -> _FastItem:
    """An item the exact structs decoded, in the fast structs' shapes: prices as ``_float`` reads them, no
    terms or term attributes as empty ones (which the parser treats as it treats none)."""
    if item.terms is None:
        return _FastItem(item.product, _NO_TERMS)
    return _FastItem(
        item.product, _FastTerms(_fast_terms(item.terms.OnDemand), _fast_terms(item.terms.Reserved))
    )


#: Decodes one PriceList string straight into the fields above; everything else is skipped unread.
_FAST_DECODER: Final = msgspec.json.Decoder(_FastItem, strict=False)
_DECODER: Final = msgspec.json.Decoder(_Item)
_LOOSE_DECODER: Final = msgspec.json.Decoder(_AnyProduct)
#: What botocore accepts as a region name: a product in any other "region" is skipped (never a client).
_REGION_CODE: Final = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?")


#: Per-product columns of :class:`PriceListRows` (a product's offer rows share them).
PRODUCT_FIELDS: Final = (
    "region",
    "instance_type",
    "accelerator",
    "accelerator_count",
    "accelerator_memory_gib",
    "vcpus",
    "memory_gib",
)
#: The standard reserved terms kept: (lease length, payment option, years, payment as ``note`` names it).
_RESERVED: Final = tuple(
    (length, option, years, payment)
    for length, years in LEASE_YEARS.items()
    for option, payment in PAYMENT_OPTIONS.items()
)
#: (pricing model, flags, note template (``pricing.rendered``), hours of the term) of each kind of a product's
#: rows, by kind number: on-demand, on-demand without a price (two notes), then each reserved term kept
#: without and with an upfront fee (amortised). A reserved row's note is its term's template with the row's
#: hourly and upfront amounts (``"%g" % amount``), rendered where it is read, not here.
ROW_KINDS: Final[tuple[tuple[str, str, str, float], ...]] = (
    ("on_demand", "", "", 0.0),
    ("on_demand", "missing", "no on-demand price published", 0.0),
    ("on_demand", "missing", "no USD hourly price dimension", 0.0),
    *(
        (
            f"reserved_{years}y",
            flags,
            f"payment={payment}; standard {years}yr: {{hourly_usd:g}} $/h + upfront {{upfront_usd:g}} $ / "
            f"{years * HOURS_PER_YEAR:g} h",
            years * HOURS_PER_YEAR,
        )
        for _, _, years, payment in _RESERVED
        for flags in ("", "amortised")
    ),
)
_ON_DEMAND: Final = 0
_NO_ON_DEMAND_PRICE: Final = 1
_NO_HOURLY_DIMENSION: Final = 2
_FIRST_RESERVED: Final = 3
#: (lease length, payment option) of the standard reserved terms kept -> (a bit of its own, the kind of
#: its rows without an upfront fee (the next kind is with one)): looked up once per term.
_RESERVED_TERMS: Final[dict[tuple[str | None, str | None], tuple[int, int]]] = {
    (length, option): (1 << index, _FIRST_RESERVED + 2 * index)
    for index, (length, option, _, _) in enumerate(_RESERVED)
}


class PriceListRows:
    """Offer rows of Price List pages held column by column, a product's shared values once per product.

    ``parse_products`` fills one per page; :meth:`extend` joins pages; :meth:`frame` builds the offer frame
    (``pricing.schema``) with one array operation per column, and :meth:`rows` the ``ROW_COLUMNS`` tuples.
    A product's rows are its row count (``counts``) and, per row, a kind number (``ROW_KINDS``: pricing
    model, flags, note template and hours), an amount (an on-demand price, a reserved term's hourly
    amount), an upfront amount (reserved terms), an effective date's number (``dates``: date -> number, in
    order of first use) and an offer term's number (``terms``: term code -> number, in order of first use;
    -1 for an on-demand row, whose SKU is the product's, ``skus``): the numbers in one array per page
    (``kinds``, ``amounts``, ``upfronts``, ``date_codes``, ``term_codes``), made while the page's objects
    are at hand, so that no per-row number or date outlives its page. A reserved row's price (``hourly +
    upfront / hours``), note and SKU (``SKU.TERMCODE``) come from its kind, amounts and term. Rows added
    by :meth:`add_row` (spot prices) are kept whole beside them and come after every product's rows.
    """

    __slots__ = (
        "fetched_at",
        *PRODUCT_FIELDS,
        "counts",
        "kinds",
        "amounts",
        "upfronts",
        "date_codes",
        "dates",
        "skus",
        "term_codes",
        "terms",
        "rows_count",
        "added",
    )

    def __init__(self, fetched_at: str) -> None:
        self.fetched_at = fetched_at
        self.region: list[str] = []
        self.instance_type: list[str] = []
        self.accelerator: list[str] = []
        self.accelerator_count: list[float] = []
        self.accelerator_memory_gib: list[float | None] = []
        self.vcpus: list[float | None] = []
        self.memory_gib: list[float | None] = []
        self.counts: list[int] = []
        self.kinds: list[np.ndarray] = []
        self.amounts: list[np.ndarray] = []
        self.upfronts: list[np.ndarray] = []
        self.date_codes: list[np.ndarray] = []
        self.dates: dict[str | None, int] = {}
        self.skus: list[str] = []
        self.term_codes: list[np.ndarray] = []
        self.terms: dict[str, int] = {}
        self.rows_count = 0
        #: (product, zone, pricing model, price, source, SKU, date, flags, note) per row added by add_row
        self.added: list[tuple[Any, ...]] = []

    def __len__(self) -> int:
        return self.rows_count + len(self.added)

    @property
    def products(self) -> int:
        return len(self.region)

    def extend(self, other: PriceListRows) -> None:
        """Append ``other``'s products and rows (its product indices shifted past ours, its date numbers
        renumbered as ours)."""
        import numpy as np

        offset = len(self.region)
        for name in (*PRODUCT_FIELDS, "skus", "counts", "kinds", "amounts", "upfronts"):
            getattr(self, name).extend(getattr(other, name))
        self.rows_count += other.rows_count
        if other.date_codes:
            dates = self.dates
            ours = np.array([dates.setdefault(date, len(dates)) for date in other.dates], dtype=np.int32)
            self.date_codes.extend(ours[codes] for codes in other.date_codes)
        if other.term_codes:
            terms = self.terms
            mine = np.array(
                [terms.setdefault(term, len(terms)) for term in other.terms] + [-1], dtype=np.int32
            )
            self.term_codes.extend(mine[codes] for codes in other.term_codes)  # (-1 stays -1)
        self.added.extend((row[0] + offset, *row[1:]) for row in other.added)

    def add_row(
        self,
        product: int,
        zone: str | None,
        pricing_model: str,
        price: float | None,
        source: str,
        source_sku: Any,
        effective_date: Any,
        flags: str,
        note: str,
    ) -> None:
        """One more offer row of an existing product (spot prices)."""
        self.added.append(
            (product, zone, pricing_model, price, source, source_sku, effective_date, flags, note)
        )

    def _numbers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The product rows' kinds, prices, date numbers, and note amounts (hourly, upfront: NaN for the
        rows whose note has none), each one array."""
        import numpy as np

        if not self.kinds:
            empty = np.empty(0, np.float64)
            return np.empty(0, np.intp), empty, np.empty(0, np.int32), empty, empty
        kinds = np.concatenate(self.kinds).astype(np.intp)
        amounts = np.concatenate(self.amounts)
        upfronts = np.concatenate(self.upfronts)
        hours = np.array([kind[3] for kind in ROW_KINDS], dtype=np.float64)[kinds]
        reserved = kinds >= _FIRST_RESERVED
        # as ``hourly + upfront / hours`` in Python: IEEE float64 either way; an on-demand price as it is
        with np.errstate(all="ignore"):  # (inf and NaN as Python gives them)
            prices = np.where(reserved, amounts + upfronts / hours, amounts)
        return (
            kinds,
            prices,
            np.concatenate(self.date_codes),
            np.where(reserved, amounts, np.nan),
            np.where(reserved, upfronts, np.nan),
        )

    def rows(self) -> list[tuple[Any, ...]]:
        """The rows as ``ROW_COLUMNS`` tuples (a product row's missing price is NaN)."""
        import numpy as np

        heads = list(
            zip(
                self.region,
                self.instance_type,
                self.accelerator,
                self.accelerator_count,
                self.accelerator_memory_gib,
                self.vcpus,
                self.memory_gib,
                strict=True,
            )
        )
        from pricing.rendered import render_notes

        products = [index for index, count in enumerate(self.counts) for _ in range(count)]
        names = list(self.terms)
        term_codes = np.concatenate(self.term_codes) if self.term_codes else np.empty(0, np.int32)
        skus = [
            self.skus[index] if term < 0 else self.skus[index] + "." + names[term]
            for index, term in zip(products, term_codes.tolist(), strict=True)
        ]
        kinds, prices, date_codes, hourly, upfront = self._numbers()
        notes = render_notes([kind[2] for kind in ROW_KINDS], kinds, hourly, upfront).tolist()
        dates = list(self.dates)
        listed = [
            (index, None, model, price, SOURCE, sku, dates[date], flags, note)
            for index, (model, flags, _, _), price, sku, date, note in zip(
                products,
                [ROW_KINDS[kind] for kind in kinds.tolist()],
                prices.tolist(),
                skus,
                date_codes.tolist(),
                notes,
                strict=True,
            )
        ]
        out = []
        for index, zone, model, price, source, sku, date, flags, note in [*listed, *self.added]:
            region, instance_type, accelerator, count, memory, vcpus, memory_gib = heads[index]
            out.append(
                (
                    "aws",
                    region,
                    zone,
                    instance_type,
                    accelerator,
                    count,
                    memory,
                    vcpus,
                    memory_gib,
                    model,
                    price,
                    "USD",
                    source,
                    sku,
                    date,
                    self.fetched_at,
                    flags,
                    note,
                )
            )
        return out

    def frame(self) -> pd.DataFrame:
        """The offer frame (every ``pricing.schema.ALL_COLUMNS`` column, then
        ``pricing.rendered.NOTE_AMOUNT_COLUMNS``), with the values of ``offers_frame(self.rows(),
        ROW_COLUMNS)`` but for the notes, built a column at a time. ``note`` holds each row's note template
        (an added row's note as a template without fields) and the amount columns its amounts:
        ``pricing.rendered.with_rendered_text`` gives the text (the price store renders it where it is read).

        The text columns with few values (provider, region, zone, instance type, accelerator, pricing
        model, currency, source, fetch time) are pandas categoricals whose categories are the values used,
        sorted: validation groups and the store encodes them by their codes, with no pass to factorize
        them (a per-product one is factorized once per product, not once per row; one given by the rows'
        kinds is coded from the kinds).
        """
        import numpy as np
        import pandas as pd

        from pricing.rendered import SKU_TERM_COLUMN, note_template

        added = self.added
        extra: list[list[Any]] = (
            [list(column) for column in zip(*added, strict=True)] if added else [[] for _ in range(9)]
        )
        added_product, added_zone, added_model, added_price, added_source = extra[:5]
        added_sku, added_date, added_flags, added_note = extra[5:]
        products_index = np.repeat(
            np.arange(len(self.counts), dtype=np.intp), np.asarray(self.counts, dtype=np.intp)
        )
        index = (
            np.concatenate([products_index, np.asarray(added_product, dtype=np.intp)])
            if added
            else products_index
        )
        kinds, prices, date_codes, note_hourly, note_upfront = self._numbers()
        used_kinds = np.flatnonzero(np.bincount(kinds, minlength=len(ROW_KINDS))).tolist()
        rows = len(index)

        def text(values: Sequence[Any]) -> Any:  # (a list joined to the added rows' is a pass more)
            array = np.empty(len(values), dtype=object)
            array[:] = values
            return array

        def numbers(values: Sequence[Any]) -> Any:
            array = np.array(values, dtype="float64")
            return array[index] if len(array) else np.empty(0, dtype="float64")

        def categorical(codes: Any, categories: Any) -> pd.Series:
            dictionary = pd.Index(categories, dtype=object)
            return pd.Series(pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(dictionary)))

        def factorized(values: Sequence[Any], per_product: bool = False) -> pd.Series:
            first, last = (values[0], values[-1]) if len(values) else (None, 0)
            # one value (or all null); ``list.count`` compares by identity, then equality: so does the guard
            if (first is last or first == last) and values.count(first) == len(values):
                if first is None or (isinstance(first, float) and math.isnan(first)):
                    return categorical(np.full(rows, -1, dtype=np.int8), [])
                return categorical(np.zeros(rows, dtype=np.int8), [first])
            array = text(values)
            try:
                codes, uniques = pd.factorize(array, sort=True, use_na_sentinel=True)
            except TypeError:  # values that do not sort together (never text): in order of appearance
                codes, uniques = pd.factorize(array, use_na_sentinel=True)
            try:  # pandas cannot hash categories that UTF-8 cannot hold (a lone surrogate): text then
                for value in uniques:
                    if isinstance(value, str):
                        value.encode()
            except UnicodeEncodeError:
                return pd.Series(array[index] if per_product else array, dtype=object)
            return categorical(codes[index] if per_product else codes, uniques)

        def by_kind(of_kind: Sequence[str | None], added_values: list[Any]) -> pd.Series:
            """``factorized`` of the column whose product rows hold ``of_kind[kind]``, coded from the kinds
            (the added rows' values looked up) when every value is text UTF-8 can hold, or null."""
            values: set[Any] = {of_kind[kind] for kind in used_kinds}
            try:
                values.update(added_values)
                values.discard(None)
                for value in values:
                    if type(value) is not str:
                        raise TypeError(value)
                    value.encode()
            except (TypeError, UnicodeEncodeError):  # the general way (it says what or keeps the text)
                return factorized([of_kind[kind] for kind in kinds.tolist()] + added_values)
            categories = sorted(values)
            code = {value: number for number, value in enumerate(categories)}
            code[None] = -1
            dtype = np.int8 if len(categories) < 127 else np.int32
            codes = np.array([code.get(value, -1) for value in of_kind], dtype=dtype)[kinds]  # (unused: -1)
            if added:
                codes = np.concatenate([codes, np.array([code[v] for v in added_values], dtype=dtype)])
            return categorical(codes, categories)

        def sku_parts() -> tuple[Any, Any]:
            """(``source_sku``, ``source_sku_term``): the product's SKU per row (an added row's own) and the
            offer term's code (null for none), categoricals in order of first appearance
            (``pricing.rendered``); (the whole SKUs as text, None) when a value is not text UTF-8 can hold."""
            products = self.skus + added_sku if added else self.skus
            where = products_index
            if added:
                where = np.concatenate([where, np.arange(len(self.skus), len(products), dtype=np.intp)])
            term_values = list(self.terms)
            term_codes = np.concatenate(self.term_codes) if self.term_codes else np.empty(0, np.int32)
            try:
                sku_codes, sku_values = pd.factorize(text(products), use_na_sentinel=True)
                values = [*term_values, *sku_values]
                if not set(map(type, values)) <= {str}:
                    raise TypeError("not text")
                msgspec.json.encode(values)  # (UTF-8 cannot hold a lone surrogate)
            except (
                TypeError,
                ValueError,
                msgspec.EncodeError,
            ):  # the text as it is (the general paths say what)
                owners = self.skus
                whole = [
                    owners[product] if term < 0 else owners[product] + "." + term_values[term]
                    for product, term in zip(products_index.tolist(), term_codes.tolist(), strict=True)
                ]
                return text(whole + added_sku if added else whole), None
            if added:
                term_codes = np.concatenate([term_codes, np.full(len(added), -1, dtype=term_codes.dtype)])
            return categorical(sku_codes[where], sku_values), categorical(term_codes, term_values)

        def constant(value: Any) -> pd.Series:
            return categorical(np.zeros(rows, dtype=np.int8), [value])

        def dated() -> pd.Series:
            """The effective dates: a categorical of the dates used, sorted, from the rows' date numbers (the
            added rows' dates numbered here); text, as the rows give it, when one is neither text UTF-8 can
            hold nor null."""
            numbering = dict(self.dates)
            try:
                added_codes = [numbering.setdefault(date, len(numbering)) for date in added_date]
                for value in numbering:
                    if value is not None:
                        if type(value) is not str:
                            raise TypeError(value)
                        value.encode()
            except (TypeError, UnicodeEncodeError):
                dates = list(self.dates)
                return pd.Series(
                    text([dates[code] for code in date_codes.tolist()] + added_date), dtype=object
                )
            categories = sorted(value for value in numbering if value is not None)
            position: dict[str | None, int] = {value: number for number, value in enumerate(categories)}
            renumber = np.array([position.get(value, -1) for value in numbering], dtype=np.int32)
            codes = np.concatenate([date_codes, np.array(added_codes, dtype=np.int32)])
            return categorical(renumber[codes] if len(renumber) else codes, categories)

        price = np.concatenate([prices, np.array(added_price, dtype="float64")]) if added else prices
        count = numbers(self.accelerator_count)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_accelerator = price / count
        flags = np.array([kind[1] for kind in ROW_KINDS], dtype=object)[kinds]
        templates = [note_template(note) if type(note) is str else note for note in added_note]
        no_amounts = np.full(len(added), np.nan)
        skus, terms = sku_parts()
        snapshot = np.empty(rows, dtype=object)
        data = {
            "provider": constant("aws"),
            "region": factorized(self.region, per_product=True),
            "zone": by_kind([None] * len(ROW_KINDS), added_zone),
            "instance_type": factorized(self.instance_type, per_product=True),
            "accelerator": factorized(self.accelerator, per_product=True),
            "accelerator_count": count,
            "accelerator_memory_gib": numbers(self.accelerator_memory_gib),
            "vcpus": numbers(self.vcpus),
            "memory_gib": numbers(self.memory_gib),
            "pricing_model": by_kind([kind[0] for kind in ROW_KINDS], added_model),
            "price_usd_per_hour": price,
            "currency_original": constant("USD"),
            "source": by_kind([SOURCE] * len(ROW_KINDS), added_source),
            "source_sku": skus,
            "effective_date": dated(),
            "fetched_at": constant(self.fetched_at),
            "price_usd_per_accelerator_hour": per_accelerator,
            "flags": np.concatenate([flags, text(added_flags)]) if added else flags,
            "note": by_kind([kind[2] for kind in ROW_KINDS], templates),
            "snapshot": snapshot,
            "note_hourly_usd": np.concatenate([note_hourly, no_amounts]) if added else note_hourly,
            "note_upfront_usd": np.concatenate([note_upfront, no_amounts]) if added else note_upfront,
        }
        if terms is not None:
            data[SKU_TERM_COLUMN] = terms
        columns = [
            values if isinstance(values, pd.Series) else pd.Series(values, dtype=values.dtype, copy=False)
            for values in data.values()
        ]
        # side by side as they are: ``pd.DataFrame(data)`` would copy the float and the text columns into
        # one block each (a copy of every row, for nothing: the validation replaces columns one by one)
        frame: pd.DataFrame = pd.concat(columns, axis=1, keys=list(data))
        return frame


def iter_products(price_list: Iterable[str], skipped: SkipCounter) -> Iterator[_FastItem]:
    """The products of one page of GetProducts ``PriceList`` JSON strings, decoded one at a time as they are
    asked for (the *parse* phase; :func:`parse_products` hands them straight to :func:`rows_from_products`).

    Each string is decoded by msgspec straight into the few fields tco reads (descriptions, rate codes and
    the other attributes are skipped unread), first by the fast structs and, if they cannot take it, by the
    exact ones. A product whose fields have the wrong types is skipped and counted; an item that is not a
    price-list product at all (not JSON, not an object with a ``product``) raises :class:`PageError`.

    Speed (benchmarks/pricing_ingest.py): one product's objects (about 10 KB of structs, dictionaries and
    strings) are freed before the next is decoded, so the allocator hands the same, cached memory back each
    time. A page decoded whole first (a list) takes about a megabyte of fresh memory per page, which the
    allocator gets from the system page by page and gives back once the page is done: decoding plus rows then
    cost 28 µs per product instead of 18.
    """
    fast, exact = _FAST_DECODER.decode, _DECODER.decode
    for text in price_list:
        try:
            yield fast(text)
            continue
        except msgspec.ValidationError:
            pass
        except (msgspec.DecodeError, TypeError) as exc:
            raise PageError(
                f"a PriceList item is not a price-list product ({type(exc).__name__}: {exc})"
            ) from exc
        try:
            item = _as_fast(exact(text))
        except msgspec.ValidationError as exc:
            try:
                _LOOSE_DECODER.decode(text)
            except (msgspec.DecodeError, TypeError):
                raise PageError(
                    f"a PriceList item is not a price-list product ({type(exc).__name__}: {exc})"
                ) from exc
            skipped["product with a malformed field"] += 1
            continue
        except (msgspec.DecodeError, TypeError) as exc:
            raise PageError(
                f"a PriceList item is not a price-list product ({type(exc).__name__}: {exc})"
            ) from exc
        yield item


def decode_products(price_list: Iterable[str], skipped: SkipCounter) -> list[_FastItem]:
    """:func:`iter_products` as a list (every product of the page decoded and held at once)."""
    return list(iter_products(price_list, skipped))


#: What ``rows_from_products`` reads of a product (its *digest*): (sku, capacitystatus, marketoption,
#: usagetype, operatingSystem, licenseModel, preInstalledSw, tenancy, instanceType, regionCode, vcpu, memory,
#: on-demand, reserved, other reserved terms). On-demand is None for no on-demand term, else (the number of
#: on-demand terms, the first one's effective date, the USD price of its first dimension in hours or None);
#: reserved holds, per reserved term of the standard offering class in order, (lease length, payment option,
#: effective date, offer term code, hourly USD or None when a dimension has no USD price, upfront USD), the
#: amounts summed over the term's dimensions in order ("Quantity" ones upfront, the others hourly); the last
#: field counts the other reserved terms (convertible, or no class). ``pricing/_pricelist.c`` computes the
#: same tuple straight from the JSON text.
Digest = tuple[
    str,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | float | None,
    str | None,
    tuple[int, str | None, float | None] | None,
    list[tuple[str | None, str | None, str | None, str, float | None, float]],
    int,
]


def digest(item: _FastItem) -> Digest:
    """The digest of a product decoded by the msgspec structs (see ``Digest``)."""
    product = item.product
    attributes = product.attributes
    terms = item.terms
    on_demand: tuple[int, str | None, float | None] | None = None
    if terms.OnDemand:
        term = next(iter(terms.OnDemand.values()))
        price = None
        for dimension in term.priceDimensions.values():
            if dimension.unit in ("Hrs", "Hours"):
                price = dimension.pricePerUnit.USD
                break
        on_demand = (len(terms.OnDemand), term.effectiveDate, price)
    reserved: list[tuple[str | None, str | None, str | None, str, float | None, float]] = []
    other = 0
    for term in terms.Reserved.values():
        attrs = term.termAttributes
        if attrs.OfferingClass != "standard":
            other += 1
            continue
        hourly_usd = upfront_usd = 0.0
        priced = True
        for dimension in term.priceDimensions.values():
            amount = dimension.pricePerUnit.USD
            if amount is None:
                priced = False
                break
            if dimension.unit == "Quantity":
                upfront_usd += amount
            else:
                hourly_usd += amount
        reserved.append(
            (
                attrs.LeaseContractLength,
                attrs.PurchaseOption,
                term.effectiveDate,
                term.offerTermCode,
                hourly_usd if priced else None,
                upfront_usd if priced else 0.0,
            )
        )
    return (
        product.sku,
        attributes.capacitystatus,
        attributes.marketoption,
        attributes.usagetype,
        attributes.operatingSystem,
        attributes.licenseModel,
        attributes.preInstalledSw,
        attributes.tenancy,
        attributes.instanceType,
        attributes.regionCode,
        attributes.vcpu,
        attributes.memory,
        on_demand,
        reserved,
        other,
    )


#: Reads a product's digest straight from its JSON text, or says it cannot (None): the native reader
#: (``pricing/_pricelist.c``, compiled by ``pip install`` where a C compiler is found), else none (the
#: msgspec structs read every product; ``TCO_NO_NATIVE=1`` asks for that too): see ``iter_digests``.
_SCAN: Callable[[str], Digest | None] | None = None
if not os.environ.get("TCO_NO_NATIVE"):
    with contextlib.suppress(ImportError):
        from pricing._pricelist import scan_product as _SCAN


def iter_digests(price_list: Iterable[str], skipped: SkipCounter) -> Iterator[Digest]:
    """The digests of one page's products, one at a time (the *parse* phase).

    Each product is read by the native reader (``pricing/_pricelist.c``, when it was built) and, when that
    does not take it (a product not in the regular shape, see the C file), decoded by the msgspec structs
    (:func:`iter_products`, which skips and counts a malformed product and raises :class:`PageError` for an
    item that is not a product): the same digest either way.
    """
    scan = _SCAN
    for text in price_list:
        read = scan(text) if scan is not None else None
        if read is not None:
            yield read
            continue
        for item in iter_products((text,), skipped):
            yield digest(item)


def rows_from_products(
    products: Iterable[Digest],
    *,
    fetched_at: str,
    regions: frozenset[str],
    seen: set[tuple[str, str]] | frozenset[tuple[str, str]],
    added: set[tuple[str, str]],
    skipped: SkipCounter,
) -> PriceListRows:
    """Offer rows from products' digests (:func:`iter_digests`; the *transform* phase).

    ``seen`` holds the (instance type, region) pairs of earlier pages (read only); the pairs of this page go
    into ``added``. A second product for a pair is a duplicate and skipped.

    Speed (benchmarks/pricing_ingest.py): a row is one tuple appended and a product one tuple (turned
    into columns once per page), what a product's rows share is stored once (:class:`PriceListRows`), a
    reserved term's kind is one dictionary look-up, its price and note come from its kind and amounts in
    :meth:`PriceListRows.frame` (the note is rendered where it is read: ``pricing.rendered``); attributes
    repeated across the page (vCPUs, memory, region names) are converted once.
    """
    shapes = instance_shapes()
    out = PriceListRows(fetched_at)
    # a product's values, a row's values (kind, amount, upfront amount, term code, date number) and a
    # product's row count: one tuple or number appended each, turned into columns once per page
    described: list[tuple[str, str, InstanceShape, float | None, float | None, str]] = []
    describe = described.append
    counts: list[int] = []
    product_rows = counts.append
    records: list[tuple[int, float | None, float, int, int]] = []
    record = records.append
    # dates numbered in order of first use; a row's date is mostly its product's previous row's, compared
    # (not hashed: each is a new string) to find its number
    dates = out.dates
    number = dates.setdefault
    term_numbers = out.terms
    term_get = term_numbers.get
    last_date: Any = _NO_DATE
    date_code = -1
    reserved_get = _RESERVED_TERMS.get
    region_ok: dict[str, bool] = {}
    vcpus_seen: dict[Any, float | None] = {}
    memory_seen: dict[str | None, float | None] = {}
    convertible = unknown_term = unpriced = repeated = 0
    for (
        sku,
        capacity,
        market,
        usage,
        system,
        licence,
        software,
        tenancy,
        instance_type_or_none,
        region,
        vcpu,
        memory,
        on_demand,
        reserved,
        not_standard,
    ) in products:
        if capacity != "Used":
            skipped["capacity reservation row"] += 1
            continue
        if market == "CapacityBlock" or "CapacityBlock" in (usage or ""):
            skipped["capacity block row"] += 1
            continue
        if system != "Linux":
            skipped["not Linux"] += 1
            continue
        if licence != "No License required":
            skipped["BYOL licence"] += 1
            continue
        if software != "NA":
            skipped["pre-installed software"] += 1
            continue
        if tenancy != "Shared":
            skipped["not shared tenancy"] += 1
            continue
        instance_type = instance_type_or_none or ""
        shape = shapes.get(instance_type)
        if shape is None:
            skipped["instance type without a known accelerator"] += 1
            continue
        if not region:
            skipped["no regionCode"] += 1
            continue
        valid = region_ok.get(region)
        if valid is None:
            valid = region_ok[region] = _REGION_CODE.fullmatch(region) is not None
        if not valid:
            skipped["regionCode that is not a region name"] += 1
            continue
        if regions and region not in regions:
            skipped["region not asked for"] += 1
            continue
        key = (instance_type, region)
        if key in seen or key in added:
            skipped["duplicate product"] += 1
            continue
        added.add(key)
        try:
            vcpus = vcpus_seen[vcpu]
        except KeyError:
            vcpus = vcpus_seen[vcpu] = _float(vcpu)
        try:
            memory_gib = memory_seen[memory]
        except KeyError:
            memory_gib = memory_seen[memory] = _memory_gib(memory)
        describe((region, instance_type, shape, vcpus, memory_gib, sku))
        first_row = len(records)

        if on_demand is None:
            # Listed but no published on-demand price (trap 5): keep the offer, price null.
            if last_date is not None:
                last_date = None
                date_code = number(None, len(dates))
            record((_NO_ON_DEMAND_PRICE, None, 0.0, -1, date_code))
        else:
            terms_count, date, price = on_demand
            if terms_count > 1:
                skipped["extra on-demand term"] += 1
            if date != last_date:
                last_date = date
                date_code = number(date, len(dates))
            if price is None:
                record((_NO_HOURLY_DIMENSION, None, 0.0, -1, date_code))
            else:
                record((_ON_DEMAND, price, 0.0, -1, date_code))

        convertible += not_standard
        offered = 0
        for length, option, date, code, hourly_usd, upfront_usd in reserved:
            kind = reserved_get((length, option))
            if kind is None:
                unknown_term += 1
                continue
            if hourly_usd is None:
                unpriced += 1
                continue
            bit, kind_number = kind
            if offered & bit:  # a second term with one length and payment option
                repeated += 1
                continue
            offered |= bit
            if date != last_date:
                last_date = date
                date_code = number(date, len(dates))
            term_number = term_get(code)
            if term_number is None:
                term_number = term_numbers[code] = len(term_numbers)
            record(
                (
                    kind_number + (upfront_usd > 0),  # the next kind: amortised
                    hourly_usd,
                    upfront_usd,
                    term_number,
                    date_code,
                )
            )
        product_rows(len(records) - first_row)
    if described:
        regions_in, types_in, shapes_in, vcpus_in, memory_in, skus_in = zip(*described, strict=True)
        out.region.extend(regions_in)
        out.instance_type.extend(types_in)
        out.accelerator.extend([shape.accelerator for shape in shapes_in])
        out.accelerator_count.extend([shape.accelerator_count for shape in shapes_in])
        out.accelerator_memory_gib.extend([shape.accelerator_memory_gib for shape in shapes_in])
        out.vcpus.extend(vcpus_in)
        out.memory_gib.extend(memory_in)
        out.skus.extend(skus_in)
        out.counts = counts
    if records:
        import numpy as np

        kinds, amounts, upfronts, row_terms, date_codes = zip(*records, strict=True)
        out.rows_count = len(records)
        out.kinds.append(np.array(kinds, dtype=np.int8))
        out.amounts.append(np.array(amounts, dtype=np.float64))
        out.upfronts.append(np.array(upfronts, dtype=np.float64))
        out.date_codes.append(np.array(date_codes, dtype=np.int32))
        out.term_codes.append(np.array(row_terms, dtype=np.int32))
    if convertible:
        skipped["reserved term: convertible (not modelled)"] += convertible
    if unknown_term:
        skipped["reserved term: unknown length or payment option"] += unknown_term
    if unpriced:
        skipped["reserved term: no USD price"] += unpriced
    if repeated:  # what pricing.pull.validate_offers would drop and count: the client does it here
        skipped["duplicate offer"] += repeated
    return out


def parse_products(
    price_list: Sequence[str],
    *,
    fetched_at: str,
    regions: frozenset[str],
    seen: set[tuple[str, str]] | frozenset[tuple[str, str]],
    added: set[tuple[str, str]],
    skipped: SkipCounter,
) -> PriceListRows:
    """Offer rows from one page of GetProducts ``PriceList`` JSON strings: :func:`iter_products` into
    :func:`rows_from_products`, a product at a time (see them). Raises :class:`PageError` on an item that is
    not a price-list product. The cyclic garbage collector is paused meanwhile (the objects built hold no
    cycles)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return rows_from_products(
            iter_digests(price_list, skipped),
            fetched_at=fetched_at,
            regions=regions,
            seen=seen,
            added=added,
            skipped=skipped,
        )
    finally:
        if collecting:
            gc.enable()


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
        self.ec2_endpoint = (
            check_endpoint(ec2_endpoint, "aws", "the EC2 endpoint")
            if ec2_endpoint is not None
            else env_endpoint(EC2_ENDPOINT_ENV, "aws")
        )
        region = pricing_region if pricing_region is not None else os.environ.get(PRICING_REGION_ENV)
        if region is not None and not _REGION_CODE.fullmatch(region.strip()):
            raise PricingError(
                f"{PRICING_REGION_ENV} {region!r} is not an AWS region name"
                if pricing_region is None
                else f"the AWS pricing region {region!r} is not a region name",
                hint=f"one of {', '.join(PRICING_REGIONS)}",
            )
        self.pricing_region = region.strip() if region is not None else PRICING_REGIONS[0]
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
        rows = PriceListRows(fetched_at)
        pages = items = 0
        guard = PageGuard("AWS", self.options.max_pages)
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
                    guard.page()
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
                    ) -> tuple[PriceListRows, int, str | None]:
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

                    page_rows, count, next_token = self._call(
                        get_page, f"GetProducts page {page_number}", progress, pages, items
                    )
                    token = guard.token(next_token, ("products", family, region))
                    rows.extend(page_rows)
                    pages += 1
                    items += count
                    progress(ProgressEvent("aws", "page", pages, items))
                    if not token:
                        break
        warnings: list[str] = []
        if self.spot and len(rows):
            pages, items = self._spot(
                session, rows, fetched_at, skipped, warnings, progress, pages, items, guard
            )
        frame = rows.frame()
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
            unique=True,  # one product per (type, region), one row per term kind, one spot row per zone
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
        rows: PriceListRows,
        fetched_at: str,
        skipped: SkipCounter,
        warnings: list[str],
        progress: ProgressCallback,
        pages: int,
        items: int,
        guard: PageGuard,
    ) -> tuple[int, int]:
        """Add the latest spot price per (zone, instance type) in each region the products cover to ``rows``.

        Returns the running page and item totals.
        """
        from botocore.exceptions import ClientError

        by_region: dict[str, dict[str, int]] = {}
        for product, (region_code, instance_type) in enumerate(
            zip(rows.region, rows.instance_type, strict=True)
        ):
            by_region.setdefault(region_code, {}).setdefault(instance_type, product)
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
                        guard.page()
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
                        token = guard.token(response.get("NextToken"), ("spot", region, start))
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
                    return pages, items
                if code in SPOT_REGION_UNAVAILABLE_CODES:
                    message = f"spot prices skipped in {region}: region not enabled for this account ({code})"
                    warnings.append(message)
                    progress(ProgressEvent("aws", "warning", pages, items, message))
                    continue
                raise
            for (zone, instance_type), entry in sorted(latest.items()):
                found = by_region[region].get(instance_type)
                price = _float(entry.get("SpotPrice"))
                if found is None or entry.get("ProductDescription", SPOT_PRODUCT) != SPOT_PRODUCT:
                    skipped["spot price for an unasked product"] += 1
                    continue
                observed = entry["Timestamp"]
                observed_iso = (
                    observed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                    if isinstance(observed, datetime)
                    else str(observed)
                )
                rows.add_row(
                    found,
                    zone,
                    "spot",
                    price,
                    SPOT_SOURCE,
                    None,
                    observed_iso,
                    "",
                    f"spot price observed at {observed_iso} in zone {zone}",
                )
        return pages, items
