"""The price a tracked job pays: an offer from tco's price catalog, or a given $/h.

An offer is named by provider, instance type and pricing model (``"aws:p5.48xlarge:spot"``, optionally
``:region``); :func:`resolve_offer` looks it up in the catalog (each provider's newest pulled snapshot in
``<home>/prices.sqlite``, else the embedded one) with :func:`pricing.catalog.load_catalog`. Without a
region the cheapest region is taken; spot prices are per zone, and the cheapest zone of the region is
taken. The price keeps its snapshot label, so every dollar figure can say where it came from.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path

from tco.home import resolve_home
from tco.track.report import TrackError


@dataclass(frozen=True, slots=True)
class Offer:
    """An offer to price a job at: provider, instance type, pricing model, and optionally a region."""

    provider: str
    instance_type: str
    pricing_model: str = "on_demand"
    region: str | None = None

    @classmethod
    def parse(cls, text: str) -> Offer:
        """``provider:instance_type[:pricing_model[:region]]``, e.g. ``aws:p5.48xlarge:spot:us-east-1``."""
        parts = [p.strip() for p in str(text).split(":")]
        if len(parts) < 2 or len(parts) > 4 or not all(parts):
            raise TrackError(
                f"cannot read the offer {text!r}",
                hint="write provider:instance_type[:pricing_model[:region]], e.g. aws:p5.48xlarge:spot",
            )
        return cls(
            parts[0],
            parts[1],
            parts[2] if len(parts) > 2 else "on_demand",
            parts[3] if len(parts) > 3 else None,
        )


@dataclass(frozen=True, slots=True)
class Price:
    """What one instance of an offer costs per hour, and where that price comes from."""

    usd_per_hour: float
    source: str
    provider: str | None = None
    instance_type: str | None = None
    region: str | None = None
    pricing_model: str | None = None
    accelerator: str | None = None
    accelerator_count: float = math.nan

    @classmethod
    def given(cls, usd_per_hour: float) -> Price:
        value = float(usd_per_hour)
        if not (value > 0 and math.isfinite(value)):
            raise TrackError(f"usd_per_hour must be a positive number, got {usd_per_hour!r}")
        return cls(value, "given")


def resolve_offer(offer: Offer | str, home: Path | None = None) -> Price:
    """The hourly price of one instance of ``offer`` in tco's catalog (see the module docstring)."""
    from pricing.catalog import check_pricing_model, check_provider, load_catalog
    from pricing.errors import PricingError
    from pricing.schema import EXCLUDING_FLAGS
    from pricing.store import DB_FILENAME, PriceStore

    spec = Offer.parse(offer) if isinstance(offer, str) else offer
    try:
        provider = check_provider(spec.provider)
        model = check_pricing_model(spec.pricing_model)
    except PricingError as exc:
        raise TrackError(str(exc)) from exc
    path = resolve_home(home) / DB_FILENAME
    catalog = load_catalog(PriceStore(path) if path.is_file() else None, (provider,))
    offers = catalog.offers
    offers = offers[offers["provider"].eq(provider)]
    same_type = offers[offers["instance_type"].eq(spec.instance_type)]
    if same_type.empty:
        known = sorted(set(offers["instance_type"].dropna().astype(str)))
        close = difflib.get_close_matches(spec.instance_type, known, n=3, cutoff=0.6)
        raise TrackError(
            f"no {provider} instance type {spec.instance_type!r} in the price catalog",
            hint=f"did you mean {', '.join(close)}?" if close else "`tco prices list` shows the offers",
        )
    flags = same_type["flags"].fillna("").astype(str).str.split(";")
    excluded = flags.map(lambda names: bool(EXCLUDING_FLAGS.intersection(names))).astype(bool)
    usable = same_type[
        same_type["pricing_model"].eq(model) & same_type["price_usd_per_hour"].notna() & ~excluded
    ]
    if spec.region is not None:
        usable = usable[usable["region"].eq(spec.region)]
    if usable.empty:
        models = sorted(set(same_type.loc[same_type["price_usd_per_hour"].notna(), "pricing_model"]))
        where = f" in {spec.region}" if spec.region else ""
        raise TrackError(
            f"no {model} price for {provider} {spec.instance_type}{where}",
            hint=f"priced pricing models: {', '.join(models) or 'none'}",
        )
    best = usable.sort_values(["price_usd_per_hour", "region"], kind="stable").iloc[0]
    snapshot = catalog.snapshots.get(provider)
    label = snapshot.label if snapshot is not None else str(best.get("snapshot") or "catalog")
    zone = best.get("zone")
    place = f"{best['region']}" + (f" {zone}" if isinstance(zone, str) and zone else "")
    return Price(
        usd_per_hour=float(best["price_usd_per_hour"]),
        source=f"{provider} {spec.instance_type} {model} in {place}: {label}",
        provider=provider,
        instance_type=spec.instance_type,
        region=str(best["region"]),
        pricing_model=model,
        accelerator=None if best.get("accelerator") is None else str(best["accelerator"]),
        accelerator_count=float(best["accelerator_count"]),
    )
