"""The price catalog: the newest snapshot per provider (pulled, else embedded), and queries over it.

All functions here are pure over data frames except :func:`load_catalog`, which reads the embedded
snapshot from the package and pulled snapshots from the store.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from pricing.errors import PricingError
from pricing.pricebook import apply_price_book, load_book
from pricing.schema import ALL_COLUMNS, EXCLUDING_FLAGS, FLOAT_COLUMNS, PRICING_MODELS, PROVIDERS

if TYPE_CHECKING:
    import pandas as pd

    from pricing.pricebook import StoredBook
    from pricing.store import PriceStore


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """Where one provider's prices come from: a label for every printed number."""

    provider: str
    kind: str  # "embedded" | "pulled"
    label: str  # e.g. "embedded (as of 2025-06-05 or later)" or "pull #3 2026-11-25T10:00:00Z"
    source: str
    as_of: str  # ISO date (embedded: earliest date the content can be from) or timestamp of the pull
    offer_count: int
    #: the price book whose rules reprice some of this provider's offers ("" when none does)
    price_book: str = ""

    def age_days(self, today: date | None = None) -> float | None:
        try:
            when = datetime.fromisoformat(self.as_of.replace("Z", "+00:00"))
        except ValueError:
            return None
        now = datetime.now(tz=when.tzinfo) if today is None else datetime.combine(today, datetime.min.time())
        if now.tzinfo is None and when.tzinfo is not None:
            when = when.replace(tzinfo=None)
        return (now - when).total_seconds() / 86400.0


@dataclass(frozen=True, slots=True)
class Catalog:
    """Offers and where each provider's come from. With a price book applied, ``offers`` carry the book's
    prices (flag ``book``) and ``list_offers`` the list prices they replaced (for :func:`pricing.pricebook.
    book_vs_list`); without one ``list_offers`` is None."""

    offers: pd.DataFrame
    snapshots: dict[str, SnapshotInfo] = field(default_factory=dict)
    list_offers: pd.DataFrame | None = None
    book: StoredBook | None = None


def embedded_meta() -> dict[str, Any]:
    """The embedded snapshot's metadata (sources, dates, counts, sha256)."""
    text = resources.files("pricing").joinpath("data/snapshot.json").read_text()
    meta: dict[str, Any] = json.loads(text)
    return meta


@dataclass(frozen=True, slots=True)
class EmbeddedSource:
    """One provider's part of the embedded snapshot: who sells, from where and when, and whether a live pull
    can refresh it (``tco prices snapshots``)."""

    provider: str
    label: str
    kind: str  # hyperscaler | gpu_cloud | marketplace
    reseller: bool
    embedded_only: bool
    live_api: str | None  # what `tco prices pull` reads, None when embedded only
    embedded_only_reason: str | None
    availability_note: str | None
    source: str
    as_of: str
    as_of_basis: str
    offers: int
    regions: int
    accelerators: tuple[str, ...]

    @property
    def refresh_note(self) -> str:
        """How these prices can be refreshed, in one line."""
        if self.embedded_only:
            return f"embedded only: {self.embedded_only_reason}"
        return f"`tco prices pull -p {self.provider}` refreshes them ({self.live_api})"


def embedded_sources(providers: tuple[str, ...] = PROVIDERS) -> list[EmbeddedSource]:
    """The embedded snapshot's providers (in ``providers`` order): sources, dates and pull support."""
    meta = embedded_meta()["providers"]
    return [
        EmbeddedSource(
            provider=name,
            label=info["label"],
            kind=info["kind"],
            reseller=bool(info["reseller"]),
            embedded_only=bool(info["embedded_only"]),
            live_api=info["live_api"],
            embedded_only_reason=info["embedded_only_reason"],
            availability_note=info["availability_note"],
            source=info["source"],
            as_of=info["as_of"],
            as_of_basis=info["as_of_basis"],
            offers=int(info["offers"]),
            regions=int(info["regions"]),
            accelerators=tuple(info["accelerators"]),
        )
        for name in providers
        if (info := meta.get(name)) is not None
    ]


def load_embedded() -> pd.DataFrame:
    """The offer rows that ship inside the package."""
    import pandas as pd

    dtypes: dict[str, Any] = {c: "float64" for c in FLOAT_COLUMNS}
    dtypes.update({c: "object" for c in ALL_COLUMNS if c not in FLOAT_COLUMNS})
    with resources.files("pricing").joinpath("data/offers.csv").open("rb") as handle:
        frame = pd.read_csv(handle, dtype=dtypes, keep_default_na=False, na_values=[""])
    return frame


def load_catalog(
    store: PriceStore | None = None, providers: tuple[str, ...] = PROVIDERS, *, price_book: bool = True
) -> Catalog:
    """Offers for ``providers``: each provider's newest pulled snapshot, else the embedded one; then the
    store's newest price book (``tco prices import``) applied to the offers it covers, unless
    ``price_book`` is False (list prices only)."""

    notices = len(store.notices) if store is not None else 0
    catalog = _load_catalog(store, providers, price_book=price_book)
    if store is not None and len(store.notices) > notices:
        # the store was damaged and set aside while it was read: read again (the embedded prices)
        catalog = _load_catalog(store, providers, price_book=price_book)
    return catalog


def _load_catalog(store: PriceStore | None, providers: tuple[str, ...], *, price_book: bool) -> Catalog:
    import pandas as pd

    latest = store.latest() if store is not None else {}
    meta = embedded_meta()
    parts: list[pd.DataFrame] = []
    infos: dict[str, SnapshotInfo] = {}
    pulled = [latest[p] for p in providers if p in latest]
    if pulled:
        parts.append(store.offers([s.id for s in pulled]) if store is not None else pd.DataFrame())
        for snap in pulled:
            infos[snap.provider] = SnapshotInfo(
                snap.provider, "pulled", snap.label, snap.source, snap.fetched_at, snap.offer_count
            )
    embedded_needed = [p for p in providers if p not in latest]
    if embedded_needed:
        embedded = load_embedded()
        parts.append(embedded[embedded["provider"].isin(embedded_needed)])
        for provider in embedded_needed:
            info = meta["providers"].get(provider)
            if info is None:
                continue
            infos[provider] = SnapshotInfo(
                provider,
                "embedded",
                f"embedded (as of {info['as_of']} or later)",
                info.get("source_short", info["source"]),
                info["as_of"],
                int(info["offers"]),
            )
    offers = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(ALL_COLUMNS))
    book = load_book(store) if (price_book and store is not None) else None
    if book is not None:
        rules = tuple(r for r in book.rules if r.provider in providers)
        if rules:
            book = replace(book, rules=rules)
            applied = apply_price_book(offers, book)
            for provider in sorted({r.provider for r in rules}):
                if provider in infos:
                    infos[provider] = replace(infos[provider], price_book=book.source)
            return Catalog(offers=applied, snapshots=infos, list_offers=offers, book=book)
    return Catalog(offers=offers, snapshots=infos)


def _did_you_mean(value: str, known: list[str]) -> str:
    close = difflib.get_close_matches(value, known, n=3, cutoff=0.5)
    return f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(sorted(known)[:12])}"


def check_provider(provider: str) -> str:
    key = provider.strip().lower()
    if key not in PROVIDERS:
        raise PricingError(f"unknown provider {provider!r}", hint=_did_you_mean(key, list(PROVIDERS)))
    return key


def check_pricing_model(model: str) -> str:
    key = model.strip().lower().replace("-", "_")
    if key not in PRICING_MODELS:
        raise PricingError(f"unknown pricing model {model!r}", hint=_did_you_mean(key, list(PRICING_MODELS)))
    return key


@dataclass(frozen=True, slots=True)
class OfferFilter:
    providers: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    accelerators: tuple[str, ...] = ()  # canonical names
    pricing_models: tuple[str, ...] = ()
    min_count: float = 0.0
    include_flagged: bool = False
    include_without_accelerator: bool = False

    def __post_init__(self) -> None:
        count = self.min_count
        if (
            isinstance(count, bool)
            or not isinstance(count, int | float)
            or not math.isfinite(count)
            or count < 0
        ):
            raise PricingError(
                f"the minimum accelerator count must be a finite number, 0 or more, not {count!r}",
                hint="e.g. --min-count 8",
            )


def filter_offers(offers: pd.DataFrame, spec: OfferFilter) -> pd.DataFrame:
    """Rows matching ``spec``.

    A region that no offer has raises with suggestions; other misses give 0 rows.
    """
    flags = offers["flags"].fillna("").str.split(";")
    mask = offers["price_usd_per_hour"].notna() | flags.map(lambda fs: "missing" in fs).astype(bool)
    if spec.include_flagged:
        mask |= offers["price_usd_per_hour"].isna()
    if not spec.include_without_accelerator:
        mask &= offers["accelerator"].notna()
    if spec.providers:
        mask &= offers["provider"].isin(spec.providers)
    if spec.regions:
        known = set(offers["region"].dropna().unique())
        for region in spec.regions:
            if region not in known:
                raise PricingError(
                    f"no offers in region {region!r}", hint=_did_you_mean(region, sorted(known))
                )
        mask &= offers["region"].isin(spec.regions)
    if spec.accelerators:
        mask &= offers["accelerator"].isin(spec.accelerators)
    if spec.pricing_models:
        mask &= offers["pricing_model"].isin(spec.pricing_models)
    if spec.min_count > 0:
        mask &= offers["accelerator_count"].fillna(0) >= spec.min_count
    if not spec.include_flagged:
        excluded = flags.map(lambda fs: bool(EXCLUDING_FLAGS.intersection(fs)))
        mask &= ~excluded.astype(bool)
    return offers[mask]


PIVOT_KEYS = [
    "provider",
    "instance_type",
    "region",
    "accelerator",
    "accelerator_count",
    "accelerator_memory_gib",
]


def pivot_offers(offers: pd.DataFrame) -> pd.DataFrame:
    """One row per (provider, instance type, region) with a price column per pricing model.

    Zonal prices (AWS spot) collapse to the cheapest zone, with the number of zones priced.
    Columns: the keys, ``<model>_usd_per_hour``, ``<model>_usd_per_accelerator_hour``, ``spot_zones``,
    ``price_date`` and ``snapshot``.
    """
    import pandas as pd

    keys = PIVOT_KEYS
    frame = offers.assign(
        accelerator_memory_gib=offers["accelerator_memory_gib"].fillna(-1.0),
        accelerator_count=offers["accelerator_count"].fillna(-1.0),
    )
    grouped = frame.groupby([*keys, "pricing_model"], dropna=False, sort=False)
    best = grouped.agg(
        price=("price_usd_per_hour", "min"),
        zones=("zone", "count"),
    ).reset_index()
    wide = best.set_index([*keys, "pricing_model"])["price"].unstack("pricing_model")
    wide.columns = [f"{c}_usd_per_hour" for c in wide.columns]
    out = wide.reset_index()
    for column in [c for c in out.columns if c.endswith("_usd_per_hour")]:
        out[column.replace("_usd_per_hour", "_usd_per_accelerator_hour")] = (
            out[column] / out["accelerator_count"]
        )
    meta = frame.groupby(keys, dropna=False, sort=False).agg(
        price_date=("fetched_at", "max"), snapshot=("snapshot", "first")
    )
    spot_zones = best[best["pricing_model"] == "spot"].set_index(keys)["zones"].rename("spot_zones")
    out = out.merge(meta.reset_index(), on=keys, how="left").merge(
        spot_zones.reset_index(), on=keys, how="left"
    )
    out["accelerator_memory_gib"] = out["accelerator_memory_gib"].where(out["accelerator_memory_gib"] >= 0)
    out["accelerator_count"] = out["accelerator_count"].where(out["accelerator_count"] >= 0)
    out["spot_zones"] = out["spot_zones"].fillna(0).astype(int)
    return pd.DataFrame(out)


def sort_key_column(frame: pd.DataFrame, pricing_model: str | None) -> str:
    """The per-accelerator price column listings sort by."""
    preferred = f"{pricing_model or 'on_demand'}_usd_per_accelerator_hour"
    if preferred in frame:
        return preferred
    candidates = [c for c in frame.columns if c.endswith("_usd_per_accelerator_hour")]
    if not candidates:
        raise PricingError("no prices to sort by")
    return candidates[0]


def sort_pivot(frame: pd.DataFrame, pricing_model: str | None) -> pd.DataFrame:
    """Cheapest per accelerator-hour first; rows without that price last (then by any other price)."""
    column = sort_key_column(frame, pricing_model)
    others = [c for c in frame.columns if c.endswith("_usd_per_accelerator_hour") and c != column]
    fallback = frame[others].min(axis=1) if others else frame[column]
    return (
        frame.assign(_k1=frame[column].isna(), _k2=frame[column], _k3=fallback)
        .sort_values(["_k1", "_k2", "_k3", "provider", "instance_type", "region"], kind="stable")
        .drop(columns=["_k1", "_k2", "_k3"])
    )


def cheapest_region(frame: pd.DataFrame, pricing_model: str | None) -> pd.DataFrame:
    """Of a sorted pivot, the first (cheapest) region of each (provider, instance type)."""
    ordered = sort_pivot(frame, pricing_model)
    return ordered.drop_duplicates(subset=["provider", "instance_type"], keep="first")


def cheapest_long(offers: pd.DataFrame, pricing_model: str | None) -> pd.DataFrame:
    """Long-format rows of the cheapest region per (provider, instance type), for CSV/JSON output."""
    regions = cheapest_region(pivot_offers(offers), pricing_model)[["provider", "instance_type", "region"]]
    return offers.merge(regions, on=["provider", "instance_type", "region"], how="inner")


def sort_long(offers: pd.DataFrame) -> pd.DataFrame:
    """Long rows in a stable, useful order: cheapest per accelerator-hour first."""
    return offers.sort_values(
        ["price_usd_per_accelerator_hour", "provider", "instance_type", "region", "pricing_model", "zone"],
        kind="stable",
        na_position="last",
    )


__all__ = [
    "Catalog",
    "EmbeddedSource",
    "OfferFilter",
    "SnapshotInfo",
    "cheapest_long",
    "cheapest_region",
    "check_pricing_model",
    "check_provider",
    "embedded_meta",
    "embedded_sources",
    "filter_offers",
    "load_catalog",
    "load_embedded",
    "pivot_offers",
    "sort_long",
    "sort_pivot",
]
