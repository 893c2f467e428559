"""A team's own rates: a price book read from CSV, JSON or XLSX, stored as a snapshot, applied to the catalog.

One row per rule; columns in any order (case and spaces ignored); ``provider`` is required:

- ``kind``: ``price`` (a negotiated price for one offer), ``discount`` (a percentage off list prices,
  provider-wide or narrower) or ``quote`` (reserved capacity for a term); blank: ``discount`` when
  ``discount_pct`` is given, ``quote`` when ``term_months`` is, else ``price``;
- ``provider``: aws, gcp, azure, oci, lambda, ... (``pricing.schema.PROVIDERS``);
- ``instance_type``: the provider's instance type; ``*`` or blank (discounts only) for every one;
- ``region``: a region, or ``*``/blank for every region the offer is listed in;
- ``pricing_model``: on_demand, spot, reserved_1y, ...; a discount may say ``*`` (every model); a quote
  defaults to reserved_1y/reserved_3y from its term;
- ``price_usd_per_hour`` (per instance) or ``price_usd_per_accelerator_hour``: exactly one, for a price or
  a quote;
- ``discount_pct``: percent off list, 0 < pct < 100 (discounts);
- ``term_months``: 12 or 36 (quotes): the commitment term;
- ``accelerator`` and ``accelerator_count``: for an offer the catalog does not list (a private cluster, a
  new type), its canonical accelerator and count per instance;
- ``currency``: USD (blank means USD; others are refused: convert first);
- ``note``: free text kept with the rule.

Precedence when rules overlap: a price or quote for an offer beats any discount; among rules of one class the
most specific wins (an instance type over ``*``, a region over ``*``, a pricing model over ``*``); rules never
stack. Rows a rule does not cover keep their list price.

Every row is checked (file level: types, names, ranges, duplicates; catalog level: the instance type and
region exist, a discount covers some offer), each problem one line ``file:line: what is wrong; the fix``,
and a file with any problem stores nothing (:class:`PriceBookError` carries the lines). A clean file is
stored in the SQLite price store as a snapshot (provider :data:`pricing.store.BOOK_PROVIDER`) whose source
names the file and the import date; :func:`pricing.catalog.load_catalog` applies the newest one
(:func:`apply_price_book`) and keeps the list prices for :func:`book_vs_list`.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pricing.errors import PricingError
from pricing.schema import PRICING_MODELS, PROVIDERS

if TYPE_CHECKING:
    import pandas as pd

    from pricing.catalog import Catalog
    from pricing.store import PriceStore, Snapshot

KINDS: Final = ("price", "discount", "quote")
COLUMNS: Final = (
    "kind",
    "provider",
    "instance_type",
    "region",
    "pricing_model",
    "price_usd_per_hour",
    "price_usd_per_accelerator_hour",
    "discount_pct",
    "term_months",
    "accelerator",
    "accelerator_count",
    "currency",
    "note",
)
ANY: Final = "*"
#: Commitment terms a quote may have, in months, and the pricing model each becomes.
QUOTE_TERMS: Final = {12: "reserved_1y", 36: "reserved_3y"}
COMMITMENT_MODELS: Final = {
    "reserved_1y": 12,
    "reserved_3y": 36,
    "committed_1y": 12,
    "committed_3y": 36,
    "savings_plan_1y": 12,
    "savings_plan_3y": 36,
}
SUFFIXES: Final = (".csv", ".json", ".xlsx")
#: The largest price book read (a team's rates are hundreds of rows, a few hundred KB).
MAX_BOOK_BYTES: Final = 64 * 1024 * 1024
#: A flag every book-priced row carries (pricing.schema.INFORMING_FLAGS).
BOOK_FLAG: Final = "book"
#: List-price flags that no longer hold once the book sets the price itself.
_LIST_PRICE_FLAGS: Final = frozenset({"outlier", "sentinel", "zero", "missing", "invalid"})

#: ``book_vs_list`` columns.
BOOK_DIFF_COLUMNS: Final = (
    "provider",
    "region",
    "zone",
    "instance_type",
    "accelerator",
    "accelerator_count",
    "pricing_model",
    "list_price_usd_per_hour",
    "book_price_usd_per_hour",
    "delta_usd_per_hour",
    "delta_pct",
    "book_price_usd_per_accelerator_hour",
    "rule",
    "list_source",
    "book_source",
)


@dataclass(frozen=True, slots=True)
class BookRule:
    """One checked row of a price book."""

    line: int
    kind: str  # price | discount | quote
    provider: str
    instance_type: str  # ANY: every instance type (discounts)
    region: str  # ANY: every region
    pricing_model: str  # ANY: every model (discounts)
    price_usd_per_hour: float | None = None
    price_usd_per_accelerator_hour: float | None = None
    discount_fraction: float | None = None
    term_months: int | None = None
    accelerator: str | None = None
    accelerator_count: float | None = None
    note: str = ""

    def as_row(self) -> tuple[Any, ...]:
        """The rule as a ``pricing.store.BOOK_RULE_COLUMNS`` tuple."""
        return (
            self.line,
            self.kind,
            self.provider,
            self.instance_type,
            self.region,
            self.pricing_model,
            self.price_usd_per_hour,
            self.price_usd_per_accelerator_hour,
            self.discount_fraction,
            self.term_months,
            self.accelerator,
            self.accelerator_count,
            self.note,
        )

    @property
    def sets_price(self) -> bool:
        return self.kind in ("price", "quote")

    def describe(self) -> str:
        """A short account of the rule, e.g. ``line 4: discount 12% on lambda on_demand``."""
        where = "" if self.region == ANY else f" in {self.region}"
        what = self.instance_type if self.instance_type != ANY else f"every {self.provider} type"
        model = "every model" if self.pricing_model == ANY else self.pricing_model
        if self.kind == "discount":
            percent = 100 * (self.discount_fraction or 0.0)
            return f"line {self.line}: discount {percent:g}% on {self.provider} {what}{where} {model}"
        if self.price_usd_per_hour is not None:
            amount = f"{self.price_usd_per_hour:g} $/h"
        else:
            amount = f"{self.price_usd_per_accelerator_hour:g} $/accelerator-h"
        term = f", {self.term_months}-month term" if self.term_months else ""
        return f"line {self.line}: {self.kind} {amount} for {self.provider} {what}{where} {model}{term}"


@dataclass(frozen=True, slots=True)
class PriceBook:
    """A price book as read from a file (rules checked at file level)."""

    path: str
    file_name: str
    sha256: str
    rules: tuple[BookRule, ...]


@dataclass(frozen=True, slots=True)
class StoredBook:
    """A price book in the store: the snapshot and its rules."""

    snapshot_id: int
    source: str  # "price book team.csv imported 2026-12-01"
    imported_at: str
    file_name: str
    rules: tuple[BookRule, ...]

    @property
    def label(self) -> str:
        return f"price book #{self.snapshot_id}"


@dataclass(frozen=True, slots=True)
class BookImport:
    """What an import stored."""

    snapshot: Snapshot
    book: PriceBook
    source: str
    rules_by_kind: dict[str, int]
    offers_covered: int
    new_offers: int


class PriceBookError(PricingError):
    """A price book with problems: one line per problem in ``errors``; nothing was stored."""

    def __init__(self, path: str, errors: Sequence[str]) -> None:
        count = len(errors)
        super().__init__(
            f"price book {Path(path).name}: {count} problem{'s' if count != 1 else ''}, nothing imported",
            hint="fix the lines listed and import again",
        )
        self.errors = list(errors)


# --- reading ---------------------------------------------------------------------------------------------


#: Other headings people write for a column.
COLUMN_ALIASES: Final = {
    "discount": "discount_pct",
    "discount_percent": "discount_pct",
    "term": "term_months",
    "instance": "instance_type",
    "model": "pricing_model",
}


def _column_key(text: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")
    return COLUMN_ALIASES.get(key, key)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _records_csv(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text))
    start = 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def _records_xlsx(path: Path) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell(v) for v in row]
    finally:
        workbook.close()


def _json_elements(text: str, where: str) -> tuple[list[tuple[int, Any]], list[str]]:
    """The rule objects of a JSON book with the line each starts on (a list, or ``{"rules": [...]}``)."""
    decoder = json.JSONDecoder()
    errors: list[str] = []

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    def skip(pos: int) -> int:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    def array(pos: int) -> tuple[list[tuple[int, Any]], int]:
        out: list[tuple[int, Any]] = []
        pos = skip(pos + 1)
        if pos < len(text) and text[pos] == "]":
            return out, pos + 1
        while True:
            pos = skip(pos)
            value, end = decoder.raw_decode(text, pos)
            out.append((line_of(pos), value))
            pos = skip(end)
            if text[pos] == ",":
                pos += 1
                continue
            return out, pos + 1

    try:
        json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        return [], [f"{where}:{exc.lineno}: not valid JSON ({exc.msg}); fix the syntax"]
    except RecursionError:
        return [], [f"{where}:1: nested too deeply for a price book (a list of rule objects)"]
    except ValueError as exc:  # NaN/Infinity, an integer of thousands of digits
        return [], [f"{where}:1: not valid JSON ({exc}); fix the value"]
    pos = skip(0)
    if text[pos] == "[":
        return array(pos)[0], errors
    if text[pos] != "{":
        return [], [f'{where}:{line_of(pos)}: a JSON price book is a list of rules or {{"rules": [...]}}']
    elements: list[tuple[int, Any]] | None = None
    pos = skip(pos + 1)
    while pos < len(text) and text[pos] != "}":
        key_pos = pos
        key, pos = decoder.raw_decode(text, pos)
        pos = skip(pos) + 1  # the ':'
        pos = skip(pos)
        if key == "rules" and text[pos] == "[":
            elements, pos = array(pos)
        else:
            _, pos = decoder.raw_decode(text, pos)
            if key not in ("note", "name", "rules"):
                errors.append(
                    f'{where}:{line_of(key_pos)}: unknown key {key!r}; a JSON price book has "rules" '
                    '(and optionally "name", "note")'
                )
            elif key == "rules":
                errors.append(f'{where}:{line_of(key_pos)}: "rules" must be a list of rule objects')
        pos = skip(pos)
        if pos < len(text) and text[pos] == ",":
            pos = skip(pos + 1)
    if elements is None:
        errors.append(f'{where}:1: no "rules" list; put the rules in {{"rules": [...]}}')
        return [], errors
    return elements, errors


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number: write a price, or leave the field out")


def _suggest(value: str, known: Iterable[str]) -> str:
    names = sorted(set(known))
    longer = sorted((k for k in names if k.startswith(value) and k != value), key=len)
    close = list(dict.fromkeys([*longer, *difflib.get_close_matches(value, names, n=3, cutoff=0.6)]))[:3]
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _number(text: str) -> float | None:
    """``"2.49"``, ``"$2.49"``, ``"1,234.5"``, ``"12%"`` -> float; None when blank; ValueError otherwise."""
    cleaned = text.strip().replace(",", "").removeprefix("$").removesuffix("%").strip()
    if not cleaned:
        return None
    number = float(cleaned)
    if math.isnan(number) or math.isinf(number):
        raise ValueError(text)
    return number


def _rows_from(path: Path) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """(line, {column: text}) per data row, and file-level problems (header, syntax)."""
    where = path.name
    suffix = path.suffix.lower()
    errors: list[str] = []
    rows: list[tuple[int, dict[str, str]]] = []
    if suffix == ".json":
        elements, errors = _json_elements(path.read_text(encoding="utf-8"), where)
        for line, element in elements:
            if not isinstance(element, dict):
                errors.append(f"{where}:{line}: a rule must be a JSON object, not {type(element).__name__}")
                continue
            record: dict[str, str] = {}
            for key, value in element.items():
                column = _column_key(str(key))
                if column not in COLUMNS:
                    errors.append(
                        f"{where}:{line}: unknown field {key!r}{_suggest(column, COLUMNS)}; "
                        f"fields: {', '.join(COLUMNS)}"
                    )
                    continue
                record[column] = _cell(value) if not isinstance(value, bool) else str(value)
            rows.append((line, record))
        return rows, errors
    records = _records_xlsx(path) if suffix == ".xlsx" else _records_csv(path.read_text(encoding="utf-8-sig"))
    header: list[str] | None = None
    for line, cells in records:
        if not any(c.strip() for c in cells) or cells[0].strip().startswith("#"):
            continue
        if header is None:
            header = [_column_key(c) for c in cells]
            for column in header:
                if column and column not in COLUMNS:
                    errors.append(
                        f"{where}:{line}: unknown column {column!r}{_suggest(column, COLUMNS)}; "
                        f"columns: {', '.join(COLUMNS)}"
                    )
            if "provider" not in header:
                errors.append(f"{where}:{line}: no 'provider' column; the header row must name the columns")
            if len(set(h for h in header if h)) != len([h for h in header if h]):
                errors.append(f"{where}:{line}: a column is named twice; name each column once")
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            errors.append(f"{where}:{line}: more cells than header columns; remove the extra cells")
        rows.append((line, {h: c.strip() for h, c in zip(header, cells, strict=False) if h}))
    if header is None:
        errors.append(f"{where}:1: the file is empty; give a header row and at least one rule")
    return rows, errors


def _check_row(where: str, line: int, row: dict[str, str]) -> tuple[BookRule | None, list[str]]:
    """A rule from one row, or the row's problems (file-level checks: no catalog needed)."""
    from pricing.accelerators import resolve

    errors: list[str] = []

    def bad(message: str) -> None:
        errors.append(f"{where}:{line}: {message}")

    unreadable: set[str] = set()

    def number(column: str) -> float | None:
        try:
            return _number(row.get(column, ""))
        except ValueError:
            bad(f"{column} {row[column]!r} is not a number; write it like 2.49")
            unreadable.add(column)
            return None

    provider = row.get("provider", "").strip().lower()
    if not provider:
        bad("no provider; name one of " + ", ".join(PROVIDERS))
    elif provider not in PROVIDERS:
        bad(
            f"unknown provider {provider!r}{_suggest(provider, PROVIDERS)}; providers: {', '.join(PROVIDERS)}"
        )
    price = number("price_usd_per_hour")
    per_accelerator = number("price_usd_per_accelerator_hour")
    discount = number("discount_pct")
    term = number("term_months")
    count = number("accelerator_count")
    kind = row.get("kind", "").strip().lower()
    if not kind:
        kind = "discount" if discount is not None else "quote" if term is not None else "price"
    elif kind not in KINDS:
        bad(f"kind {kind!r} is not one of {', '.join(KINDS)}{_suggest(kind, KINDS)}")
        return None, errors
    currency = row.get("currency", "").strip().upper()
    if currency not in ("", "USD"):
        bad(f"currency {currency}: tco prices in USD; convert the price to USD (and leave currency USD)")
    instance_type = row.get("instance_type", "").strip() or ANY
    region = row.get("region", "").strip() or ANY
    model = row.get("pricing_model", "").strip().lower().replace("-", "_")
    if model and model != ANY and model not in PRICING_MODELS:
        known = ", ".join(PRICING_MODELS)
        bad(f"unknown pricing model {model!r}{_suggest(model, PRICING_MODELS)}; models: {known}")
    for column, value in (("price_usd_per_hour", price), ("price_usd_per_accelerator_hour", per_accelerator)):
        if value is not None and value <= 0:
            bad(f"{column} {row[column]} must be positive; a free offer is not a price (leave the row out)")
    if count is not None and count <= 0:
        bad(f"accelerator_count {row['accelerator_count']} must be positive")
    accelerator = row.get("accelerator", "").strip() or None
    if accelerator is not None:
        try:
            names = resolve(accelerator)
        except PricingError as exc:
            bad(f"{exc.message}; {exc.hint}" if exc.hint else exc.message)
        else:
            if len(names) > 1:
                bad(f"accelerator {accelerator!r} means {', '.join(names)}; name one")
            else:
                accelerator = names[0]
    if (accelerator is None) != (count is None):
        bad(
            "accelerator and accelerator_count go together (for an offer the catalog lacks); "
            "give both or neither"
        )
    if kind == "discount":
        if price is not None or per_accelerator is not None:
            bad("a discount takes discount_pct, not a price; use kind price for a negotiated price")
        if discount is None:
            bad("a discount needs discount_pct (percent off list, e.g. 12)")
        elif not 0 < discount < 100:
            bad(f"discount_pct {row['discount_pct']} must be between 0 and 100 (percent off list)")
        if term is not None:
            bad("a discount has no term_months; use kind quote for reserved capacity")
        if not model:
            bad("a discount needs pricing_model (on_demand, spot, reserved_1y, ... or * for every model)")
        if accelerator is not None:
            bad("a discount applies to listed offers: leave accelerator and accelerator_count blank")
    else:
        if discount is not None:
            bad(f"discount_pct belongs to kind discount, not {kind}")
        if (price is None) == (per_accelerator is None) and not unreadable & {
            "price_usd_per_hour",
            "price_usd_per_accelerator_hour",
        }:
            bad(
                f"a {kind} needs exactly one of price_usd_per_hour (per instance) and "
                "price_usd_per_accelerator_hour"
            )
        if instance_type == ANY:
            bad(f"a {kind} is for one instance type: name it (use kind discount for every type)")
        if model == ANY:
            bad(f"a {kind} is for one pricing model: name it")
        if kind == "price":
            if term is not None:
                bad("term_months belongs to kind quote (reserved capacity); remove it or set kind quote")
            if not model:
                bad("a price needs pricing_model (on_demand, spot, reserved_1y, ...)")
        elif term is None:  # a quote
            bad("a quote needs term_months (12 or 36)")
        elif term not in QUOTE_TERMS:
            bad(
                f"term_months {row['term_months']}: tco models 1- and 3-year commitments; use 12 or 36 "
                "(a shorter deal's hourly rate can be a price row)"
            )
        elif not model:
            model = QUOTE_TERMS[int(term)]
        elif model not in COMMITMENT_MODELS:
            known = ", ".join(COMMITMENT_MODELS)
            bad(f"a quote is a commitment: pricing_model {model} is not one ({known})")
        elif COMMITMENT_MODELS[model] != term:
            bad(f"term_months {int(term)} does not match pricing_model {model}; make them agree")
    if errors:
        return None, errors
    return (
        BookRule(
            line=line,
            kind=kind,
            provider=provider,
            instance_type=instance_type,
            region=region,
            pricing_model=model or ANY,
            price_usd_per_hour=price,
            price_usd_per_accelerator_hour=per_accelerator,
            discount_fraction=None if discount is None else discount / 100.0,
            term_months=None if term is None else int(term),
            accelerator=accelerator,
            accelerator_count=count,
            note=row.get("note", "").strip(),
        ),
        [],
    )


def _line_of(error: str) -> int:
    """The line number of a ``file:line: ...`` problem (for listing problems in file order)."""
    match = re.match(r"[^:]*:(\d+):", error)
    return int(match.group(1)) if match else 0


def read_price_book(path: Path | str) -> PriceBook:
    """Read and check a price book (CSV, JSON or XLSX) without the catalog; raises :class:`PriceBookError`
    with one line per problem, or :class:`PricingError` when the file cannot be read."""
    book, errors = _read(Path(path))
    if errors:
        raise PriceBookError(book.path, errors)
    return book


def _read(path: Path) -> tuple[PriceBook, list[str]]:
    """The rules that pass the file-level checks, and every problem (in file order)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise PricingError(
            f"cannot read a price book from {path.name}", hint=f"give a {', '.join(SUFFIXES)} file"
        )
    try:
        size = path.stat().st_size
        if size > MAX_BOOK_BYTES:
            raise PricingError(
                f"price book {path} is {size / 2**20:,.0f} MiB, more than a price book holds "
                f"({MAX_BOOK_BYTES / 2**20:,.0f} MiB at most)",
                hint="check that it is the right file",
            )
        data = path.read_bytes()
        rows, errors = _rows_from(path)
    except FileNotFoundError:
        raise PricingError(f"no such price book: {path}", hint="check the path") from None
    except UnicodeDecodeError as exc:
        raise PricingError(f"{path.name} is not UTF-8 text ({exc.reason})", hint="save it as UTF-8") from None
    except csv.Error as exc:
        raise PricingError(f"cannot read {path.name} as CSV: {exc}", hint="save it as CSV (UTF-8)") from None
    except RecursionError:
        raise PricingError(f"{path.name} is nested too deeply to be a price book") from None
    except OSError as exc:
        raise PricingError(f"cannot read {path}: {exc.strerror or exc}", hint="check the path") from None
    except (ValueError, KeyError, zipfile.BadZipFile) as exc:  # a file that is not really XLSX
        if suffix != ".xlsx":
            raise PricingError(
                f"cannot read {path.name}: {exc}", hint=f"is it really a {suffix} file?"
            ) from None
        raise PricingError(f"cannot read {path.name}: {exc}", hint="is it really a .xlsx workbook?") from None
    where = path.name
    rules: list[BookRule] = []
    seen: dict[tuple[str, ...], int] = {}
    for line, row in rows:
        rule, row_errors = _check_row(where, line, row)
        errors.extend(row_errors)
        if rule is None:
            continue
        key = (
            "discount" if rule.kind == "discount" else "price",
            rule.provider,
            rule.instance_type,
            rule.region,
            rule.pricing_model,
        )
        if key in seen:
            errors.append(
                f"{where}:{line}: repeats line {seen[key]} (same provider, instance type, region and "
                "pricing model); keep one"
            )
            continue
        seen[key] = line
        rules.append(rule)
    if not errors and not rules:
        errors.append(f"{where}:1: no rules; add at least one row under the header")
    book = PriceBook(str(path), path.name, hashlib.sha256(data).hexdigest(), tuple(rules))
    return book, sorted(errors, key=_line_of)


# --- checking against the catalog ------------------------------------------------------------------------


def check_price_book(book: PriceBook, offers: pd.DataFrame) -> list[str]:
    """Catalog-level problems (one line each): unknown instance types and regions, discounts that cover
    nothing, per-accelerator prices with no accelerator count."""
    errors: list[str] = []
    where = book.file_name
    by_provider = {p: frame for p, frame in offers.groupby("provider", sort=False)}
    for rule in book.rules:
        frame = by_provider.get(rule.provider)
        if frame is None:
            errors.append(
                f"{where}:{rule.line}: no {rule.provider} offers in the catalog; pull its prices first"
            )
            continue
        known_types = set(frame["instance_type"].dropna())
        new_offer = rule.accelerator is not None
        if rule.instance_type != ANY and rule.instance_type not in known_types:
            if not new_offer:
                errors.append(
                    f"{where}:{rule.line}: {rule.instance_type!r} is not a {rule.provider} instance type"
                    f"{_suggest(rule.instance_type, known_types)}; for an offer the catalog lacks, give "
                    "accelerator and accelerator_count"
                )
                continue
            if rule.region == ANY:
                errors.append(
                    f"{where}:{rule.line}: {rule.instance_type!r} is not in the catalog, so '*' covers no "
                    "region; name the region of the offer"
                )
            continue
        scope = frame if rule.instance_type == ANY else frame[frame["instance_type"].eq(rule.instance_type)]
        if rule.region != ANY and not scope["region"].eq(rule.region).any():
            regions = sorted(set(scope["region"].dropna()))
            what = rule.provider if rule.instance_type == ANY else rule.instance_type
            errors.append(
                f"{where}:{rule.line}: {what} has no offer in region {rule.region!r}"
                f"{_suggest(rule.region, regions)}; regions: {', '.join(regions[:8])}"
                + (" ..." if len(regions) > 8 else "")
            )
            continue
        if rule.kind == "discount":
            covered = scope if rule.region == ANY else scope[scope["region"].eq(rule.region)]
            if rule.pricing_model != ANY:
                covered = covered[covered["pricing_model"].eq(rule.pricing_model)]
            if covered.empty:
                models = sorted(set(scope["pricing_model"]))
                errors.append(
                    f"{where}:{rule.line}: the discount covers no {rule.provider} {rule.pricing_model} "
                    f"offer; listed models: {', '.join(models)}"
                )
    return errors


# --- storing ---------------------------------------------------------------------------------------------


def book_source(file_name: str, imported_at: str) -> str:
    """The provenance every book-priced row carries: ``price book team.csv imported 2026-12-01``."""
    return f"price book {file_name} imported {imported_at[:10]}"


def import_price_book(
    store: PriceStore,
    path: Path | str,
    *,
    catalog: Catalog | None = None,
    now: datetime | None = None,
) -> BookImport:
    """Read, check (file and catalog) and store a price book; it then applies to every catalog load.

    ``catalog`` defaults to the store's list prices (``load_catalog(store, price_book=False)``). A book with
    any problem raises :class:`PriceBookError` (``errors``: one line each) and stores nothing.
    """
    from pricing.catalog import load_catalog

    book, errors = _read(Path(path))
    listed = catalog if catalog is not None else load_catalog(store, price_book=False)
    offers = listed.list_offers if listed.list_offers is not None else listed.offers
    errors += check_price_book(book, offers)
    if errors:
        raise PriceBookError(book.path, sorted(errors, key=_line_of))
    imported_at = (now or datetime.now(tz=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    source = book_source(book.file_name, imported_at)
    stored = StoredBook(0, source, imported_at, book.file_name, book.rules)
    applied = apply_price_book(offers, stored)
    covered = applied["flags"].fillna("").str.split(";").map(lambda f: BOOK_FLAG in f).astype(bool)
    kinds = {kind: sum(r.kind == kind for r in book.rules) for kind in KINDS}
    new_offers = len(applied) - len(offers)
    meta = {
        "file": book.file_name,
        "path": str(Path(book.path).resolve()),
        "sha256": book.sha256,
        "rules_by_kind": kinds,
        "offers_covered": int(covered.sum()),
        "new_offers": new_offers,
        "providers": sorted({r.provider for r in book.rules}),
    }
    snapshot = store.write_book(source, imported_at, [r.as_row() for r in book.rules], meta)
    return BookImport(snapshot, book, source, kinds, int(covered.sum()), new_offers)


def load_book(store: PriceStore, snapshot: Snapshot | None = None) -> StoredBook | None:
    """A stored price book with its rules: ``snapshot``, else the newest one; None when there is none."""
    snap = snapshot if snapshot is not None else store.latest_book()
    if snap is None:
        return None
    rules = tuple(BookRule(*row) for row in store.book_rules(snap.id))
    file_name = str(snap.meta.get("file", "")) or snap.source
    return StoredBook(snap.id, snap.source, snap.fetched_at, file_name, rules)


# --- applying --------------------------------------------------------------------------------------------


@dataclass
class _Choice:
    score: int = -1
    rule: BookRule | None = None
    rows: list[int] = field(default_factory=list)


def _specificity(rule: BookRule) -> int:
    return 4 * (rule.instance_type != ANY) + 2 * (rule.region != ANY) + (rule.pricing_model != ANY)


def apply_price_book(offers: pd.DataFrame, book: StoredBook) -> pd.DataFrame:
    """``offers`` with the book applied: covered rows repriced with provenance, offers the book adds appended.

    Pure: the input is not changed. Rows the book prices get the ``book`` flag, the book's source with the
    list price in ``source``, the rule in ``note``, the import date in ``effective_date`` and the book's
    label in ``snapshot``; list-price flags that no longer hold (outlier, sentinel, zero, missing, invalid)
    are dropped from rows the book sets a price for (a discounted row keeps them).
    """
    import numpy as np
    import pandas as pd

    frame = offers.reset_index(drop=True).copy()
    list_price = frame["price_usd_per_hour"].astype(float).to_numpy()
    count = frame["accelerator_count"].astype(float).to_numpy()
    by_type = frame.groupby(["provider", "instance_type"], sort=False).indices
    by_provider = frame.groupby("provider", sort=False).indices
    n = len(frame)
    best_score = np.full(n, -1, dtype=int)
    best_rule: list[BookRule | None] = [None] * n
    regions = frame["region"].astype(object).to_numpy()
    models = frame["pricing_model"].astype(object).to_numpy()
    new_rows: list[dict[str, Any]] = []
    for rule in sorted(book.rules, key=lambda r: (r.sets_price, _specificity(r), -r.line)):
        # price/quote rules come after discounts and so win; more specific rules come later and win
        score = 8 * rule.sets_price + _specificity(rule)
        if rule.instance_type == ANY:
            candidates = by_provider.get(rule.provider, np.empty(0, dtype=int))
        else:
            candidates = by_type.get((rule.provider, rule.instance_type), np.empty(0, dtype=int))
        candidates = np.asarray(candidates, dtype=int)
        if rule.region != ANY:
            candidates = candidates[regions[candidates] == rule.region]
        if rule.pricing_model != ANY:
            matched = candidates[models[candidates] == rule.pricing_model]
        else:
            matched = candidates
        take = matched[best_score[matched] <= score]
        best_score[take] = score
        for index in take:
            best_rule[int(index)] = rule
        if rule.sets_price:
            new_rows.extend(_new_offers(frame, rule, candidates, matched))
    if new_rows:
        added = pd.DataFrame.from_records(new_rows, columns=list(frame.columns))
        frame = pd.concat([frame, added], ignore_index=True)
        list_price = np.concatenate([list_price, np.full(len(added), np.nan)])
        count = frame["accelerator_count"].astype(float).to_numpy()
        best_rule.extend(row["_rule"] for row in new_rows)
    frame = frame.drop(columns=["_rule"], errors="ignore")
    covered = np.array([rule is not None for rule in best_rule], dtype=bool)
    if not covered.any():
        return frame
    prices = frame["price_usd_per_hour"].astype(float).to_numpy().copy()
    flags = frame["flags"].fillna("").astype(str).to_numpy().copy()
    sources = frame["source"].astype(object).to_numpy().copy()
    notes = frame["note"].fillna("").astype(str).to_numpy().copy()
    date = book.imported_at[:10]
    for index in np.flatnonzero(covered):
        chosen = best_rule[int(index)]
        if chosen is None:  # pragma: no cover - a covered row has a rule
            continue
        rule = chosen
        listed = float(list_price[index])
        has_list = not math.isnan(listed)
        listed_text = f"list price ${listed:,.4f}/h ({sources[index]})" if has_list else "no list price"
        if rule.kind == "discount":
            prices[index] = listed * (1.0 - (rule.discount_fraction or 0.0))
            kept = [f for f in flags[index].split(";") if f]
        else:
            prices[index] = (
                rule.price_usd_per_hour
                if rule.price_usd_per_hour is not None
                else (rule.price_usd_per_accelerator_hour or 0.0) * count[index]
            )
            kept = [f for f in flags[index].split(";") if f and f not in _LIST_PRICE_FLAGS]
        flags[index] = ";".join([*kept, BOOK_FLAG])
        sources[index] = f"{book.source}; {listed_text}"
        extra = f"book {rule.describe()}" + (f" ({rule.note})" if rule.note else "")
        notes[index] = f"{notes[index]}; {extra}" if notes[index] else extra
    with np.errstate(divide="ignore", invalid="ignore"):
        per_accelerator = prices / count
    for column, values in (
        ("price_usd_per_hour", prices),
        ("price_usd_per_accelerator_hour", per_accelerator),
        ("flags", flags),
        ("source", sources),
        ("note", notes),
    ):
        frame.loc[covered, column] = values[covered]
    frame.loc[covered, "effective_date"] = date
    frame.loc[covered, "snapshot"] = book.label
    return frame


def _new_offers(frame: pd.DataFrame, rule: BookRule, candidates: Any, matched: Any) -> list[dict[str, Any]]:
    """Rows for the offers a price or quote adds: its pricing model where the catalog lists the instance
    type without it (a reserved quote from a cloud with on-demand prices only), or an offer the catalog lacks.
    """
    import numpy as np

    from pricing.accelerators import BY_NAME

    columns = [c for c in frame.columns if c != "_rule"]
    priced_regions = set(frame["region"].to_numpy()[matched]) if len(matched) else set()
    rows: list[dict[str, Any]] = []
    if len(candidates):
        regions = frame["region"].to_numpy()[candidates]
        for region in dict.fromkeys(regions):
            if region in priced_regions:
                continue
            template = frame.iloc[int(candidates[np.flatnonzero(regions == region)[0]])]
            row = {c: template[c] for c in columns}
            row.update(
                zone=None,
                pricing_model=rule.pricing_model,
                price_usd_per_hour=np.nan,
                price_usd_per_accelerator_hour=np.nan,
                flags="",
                note="",
                source_sku=None,
                _rule=rule,
            )
            rows.append(row)
        return rows
    if rule.accelerator is None or rule.region == ANY:
        return rows
    row = dict.fromkeys(columns)
    row.update(
        provider=rule.provider,
        region=rule.region,
        instance_type=rule.instance_type,
        accelerator=rule.accelerator,
        accelerator_count=rule.accelerator_count,
        accelerator_memory_gib=BY_NAME[rule.accelerator].memory_gib if rule.accelerator in BY_NAME else None,
        vcpus=np.nan,
        memory_gib=np.nan,
        pricing_model=rule.pricing_model,
        price_usd_per_hour=np.nan,
        price_usd_per_accelerator_hour=np.nan,
        currency_original="USD",
        flags="",
        note="offer not in the list-price catalog",
        _rule=rule,
    )
    rows.append(row)
    return rows


def book_vs_list(catalog: Catalog) -> pd.DataFrame:
    """The offers the catalog's price book covers, book price against list price (``BOOK_DIFF_COLUMNS``),
    largest change per hour first. Empty when no book applies."""
    import pandas as pd

    offers = catalog.offers
    if catalog.book is None or offers.empty:
        return pd.DataFrame(columns=list(BOOK_DIFF_COLUMNS))
    flags = offers["flags"].fillna("").astype(str).str.split(";")
    covered = offers[flags.map(lambda f: BOOK_FLAG in f).astype(bool)]
    listed = catalog.list_offers if catalog.list_offers is not None else offers.iloc[0:0]
    keys = ["provider", "region", "zone", "instance_type", "pricing_model"]
    base = listed.assign(zone=listed["zone"].fillna(""))[[*keys, "price_usd_per_hour", "source"]]
    base = base.drop_duplicates(keys).rename(
        columns={"price_usd_per_hour": "list_price_usd_per_hour", "source": "list_source"}
    )
    merged = covered.assign(zone=covered["zone"].fillna("")).merge(base, on=keys, how="left")
    book_price = merged["price_usd_per_hour"].astype(float)
    list_price = merged["list_price_usd_per_hour"].astype(float)
    delta = book_price - list_price
    rules = merged["note"].fillna("").str.extract(r"book (line \d+: [^;(]*)", expand=False)
    out = pd.DataFrame(
        {
            **{k: merged[k] for k in keys},
            "accelerator": merged["accelerator"],
            "accelerator_count": merged["accelerator_count"],
            "list_price_usd_per_hour": list_price,
            "book_price_usd_per_hour": book_price,
            "delta_usd_per_hour": delta,
            "delta_pct": (delta / list_price * 100.0).where(list_price > 0),
            "book_price_usd_per_accelerator_hour": merged["price_usd_per_accelerator_hour"].astype(float),
            "rule": rules.str.strip(),
            "list_source": merged["list_source"],
            "book_source": catalog.book.source,
        }
    )
    out["zone"] = out["zone"].replace("", None)
    out = out.assign(_impact=delta.abs().fillna(book_price)).sort_values(
        ["_impact", "provider", "instance_type", "region", "pricing_model"],
        ascending=[False, True, True, True, True],
        kind="stable",
    )
    return out.drop(columns=["_impact"]).reset_index(drop=True).loc[:, list(BOOK_DIFF_COLUMNS)]


__all__ = [
    "BOOK_DIFF_COLUMNS",
    "COLUMNS",
    "KINDS",
    "BookImport",
    "BookRule",
    "PriceBook",
    "PriceBookError",
    "StoredBook",
    "apply_price_book",
    "book_source",
    "book_vs_list",
    "check_price_book",
    "import_price_book",
    "load_book",
    "read_price_book",
]
