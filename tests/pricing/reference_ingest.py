"""The ingest path as it was before it was made fast (commit 0185e61), kept to prove the fast one gives the
same results: ``parse_products`` (json.loads per item, a tuple per row), ``offers_frame`` (from_records),
``flag_prices``/``outlier_mask`` (groupby and merges) and ``variant`` (a regular expression per note).
Only the tests import it."""

# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pricing.providers.aws import LEASE_YEARS, PAYMENT_OPTIONS, SOURCE, _memory_gib, instance_shapes
from pricing.providers.base import PageError, SkipCounter
from pricing.schema import ALL_COLUMNS, FLOAT_COLUMNS, HOURS_PER_YEAR
from pricing.pull import OFFER_KEY
from pricing.validate import (
    LIST_PRICE_MODELS,
    OUTLIER_FACTOR,
    OUTLIER_MIN_SIBLINGS,
    MAX_PLAUSIBLE_ACCELERATORS,
    MAX_PLAUSIBLE_USD_PER_HOUR,
    SENTINEL_PRICES_USD_PER_HOUR,
)


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


def offers_frame(records: Iterable[tuple[Any, ...]], columns: Sequence[str]) -> pd.DataFrame:
    """Offer rows from tuples in ``columns`` order: every contract column present, floats as floats.

    ``price_usd_per_accelerator_hour`` is derived here; ``snapshot`` is left for the store to fill.
    """

    frame = pd.DataFrame.from_records(list(records), columns=list(columns))
    for column in ALL_COLUMNS:
        if column not in frame:
            frame[column] = np.nan if column in FLOAT_COLUMNS else None
    for column in FLOAT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["price_usd_per_accelerator_hour"] = frame["price_usd_per_hour"] / frame["accelerator_count"]
    frame["flags"] = frame["flags"].fillna("").astype(object)
    return frame.loc[:, list(ALL_COLUMNS)]


def add_flag(flags: pd.Series, mask: pd.Series, flag: str) -> pd.Series:
    """Append ``flag`` to the ``;``-separated flags where ``mask`` holds."""
    flags = flags.fillna("").astype(str)
    tagged = flags.where(flags.eq(""), flags + ";") + flag
    return flags.where(~mask, tagged)


def flag_prices(offers: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``offers`` with ``flags`` extended by ``zero``, ``sentinel``, ``invalid`` and
    ``outlier``.

    A zero or sentinel price is also set to NaN: it is not a price. Outliers keep their value (it may be
    real) but are excluded by default.
    """

    out = offers.copy()
    if "flags" not in out:
        out["flags"] = ""
    price = pd.to_numeric(out["price_usd_per_hour"], errors="coerce")
    zero = price.eq(0)
    sentinel = price.isin(SENTINEL_PRICES_USD_PER_HOUR)
    count = pd.to_numeric(out["accelerator_count"], errors="coerce")
    impossible_price = (price < 0) | (price > MAX_PLAUSIBLE_USD_PER_HOUR) | np.isinf(price)
    impossible_count = count.notna() & ~((count > 0) & (count <= MAX_PLAUSIBLE_ACCELERATORS))
    out["flags"] = add_flag(out["flags"], zero, "zero")
    out["flags"] = add_flag(out["flags"], sentinel, "sentinel")
    out["flags"] = add_flag(out["flags"], impossible_price | impossible_count, "invalid")
    price = price.mask(zero | sentinel | impossible_price)
    out["price_usd_per_hour"] = price

    per_accel = price / pd.to_numeric(out["accelerator_count"], errors="coerce")
    listed = out["pricing_model"].isin(LIST_PRICE_MODELS) & per_accel.notna()
    outlier = outlier_mask(per_accel.where(listed), out, ["provider", "instance_type", "pricing_model"])
    # An on-demand price below the spot price of the same offer and place is not an on-demand price.
    place = pd.DataFrame(
        {
            k: out[k].astype(object).where(out[k].notna(), "").astype(str)
            for k in ("provider", "instance_type", "region", "zone")
        }
    )
    is_spot = out["pricing_model"].eq("spot")
    spot = place[is_spot].assign(spot=price[is_spot]).groupby(list(place.columns))["spot"].max()
    spot_here = place.merge(spot.reset_index(), on=list(place.columns), how="left")["spot"].to_numpy()
    outlier |= out["pricing_model"].eq("on_demand") & below_spot(price, pd.Series(spot_here, index=out.index))
    out["flags"] = add_flag(out["flags"], outlier, "outlier")
    return out


def outlier_mask(values: pd.Series, frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Where ``values`` lie more than ``OUTLIER_FACTOR`` from the median of their group's regional medians.

    Groups are ``keys``; each region counts once (zonal rows are folded to their region's median), and a
    group needs ``OUTLIER_MIN_SIBLINGS`` regions. NaN values are never outliers.
    """

    parts = {k: frame[k] for k in keys}
    regional = (
        pd.DataFrame({**parts, "region": frame["region"], "v": values})
        .dropna(subset=["v"])
        .groupby([*keys, "region"], sort=False, dropna=False)["v"]
        .median()
        .reset_index()
    )
    stats = regional.groupby(keys, sort=False, dropna=False)["v"].agg(["median", "size"]).reset_index()
    merged = pd.DataFrame(parts).merge(stats, on=keys, how="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = values.to_numpy(dtype=float) / merged["median"].to_numpy(dtype=float)
        far = (ratio > OUTLIER_FACTOR) | (ratio < 1.0 / OUTLIER_FACTOR)
    return pd.Series(far & (merged["size"].to_numpy() >= OUTLIER_MIN_SIBLINGS), index=frame.index)


def below_spot(on_demand: pd.Series, spot: pd.Series) -> pd.Series:
    """On-demand prices more than 1% below the spot price beside them (spot may equal on-demand on AWS)."""
    return (on_demand < spot * 0.99).fillna(False).astype(bool)


def variant(notes: pd.Series) -> pd.Series:
    """The payment option of AWS reserved rows (``payment=...`` leading ``note``), else ""."""
    return notes.fillna("").astype(str).str.extract(r"^payment=(\w+)", expand=False).fillna("")


def validate_offers(offers: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Flag impossible prices (zero, sentinel, outlier) and drop duplicate offers; returns (rows, duplicates).

    Flagged rows stay (listings leave them out by default, ``--include-flagged`` shows them); a duplicate
    of an offer already seen (same region, zone, instance type, pricing model and payment option) is
    removed and counted.
    """

    keyed = offers.assign(note_variant=variant(offers["note"]))
    duplicates = keyed.duplicated(OFFER_KEY, keep="first")
    unique = keyed[~duplicates].drop(columns=["note_variant"]).reset_index(drop=True)
    flagged = flag_prices(unique)
    flagged["price_usd_per_accelerator_hour"] = flagged["price_usd_per_hour"] / flagged["accelerator_count"]
    return flagged, int(duplicates.sum())
