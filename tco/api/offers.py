"""What a user can buy, resolved once for every command: catalog offers, owned hardware and price overrides.

* :class:`OfferQuery` names the accelerators (aliases resolved), providers, regions and pricing models in
  tco's vocabulary (:mod:`tco.vocabulary`), and an optional price override;
* :func:`catalog_offers` reads the price catalog and filters it the one way every command does
  (:func:`pricing.catalog.filter_offers`: prices flagged as sentinel, zero or outlier are left out unless
  ``include_flagged``);
* :func:`owned_servers` / :func:`owned_purchase_options` price owned hardware by the one ownership model;
* :func:`purchase_options_for` turns a query into the model's purchase options (:mod:`tco.model.offers`);
* :func:`list_offers` is ``tco prices list``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from pricing.schema import PROVIDERS
from tco.api.sources import Provenance, Sources, price_max_age_days, price_provenance
from tco.errors import TcoError
from tco.vocabulary import OWNED

if TYPE_CHECKING:
    import pandas as pd

    from pricing.catalog import Catalog
    from tco.model.ownership import OwnedServer
    from tco.model.settings import Settings


@dataclass(frozen=True, slots=True)
class OfferQuery:
    """Which offers a request may buy. Empty tuples mean every one; names are checked on construction."""

    #: canonical names or aliases (``h100``, ``a100-80``, ``tpu-v5e``); resolved to canonical names
    accelerators: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    #: catalog pricing models and ``owned`` (tco.vocabulary.PRICING_MODELS); () = every one
    pricing_models: tuple[str, ...] = ()
    #: every region, not only the cheapest region of each instance type
    all_regions: bool = False
    #: also offers flagged as sentinel, zero or outlier prices
    include_flagged: bool = False
    #: at least this many accelerators per instance
    min_count: float = 0.0
    #: a price per accelerator-hour given instead of the catalog (one on-demand option per accelerator)
    price_usd_per_accelerator_hour: float | None = None
    #: warn about prices older than this (None: ``TCO_PRICE_MAX_AGE_DAYS``, else 30 days)
    max_age_days: float | None = None
    #: leave out marketplaces that resell other clouds' capacity (pricing.sellers: Shadeform, Prime Intellect)
    exclude_resellers: bool = False
    #: only sellers of these kinds: hyperscaler, gpu_cloud, marketplace (pricing.sellers); () = every kind
    seller_kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from tco.api import inputs

        object.__setattr__(self, "accelerators", inputs.accelerators(self.accelerators))
        object.__setattr__(self, "providers", inputs.providers(self.providers))
        object.__setattr__(self, "regions", inputs.split(self.regions))
        object.__setattr__(self, "pricing_models", inputs.pricing_models(self.pricing_models))
        object.__setattr__(self, "seller_kinds", inputs.seller_kinds(self.seller_kinds))
        price = self.price_usd_per_accelerator_hour
        if price is not None:
            if not price > 0 or math.isinf(price):
                raise TcoError(f"--price-usd-per-hour must be positive, got {price:g}")
            if not self.accelerators:
                raise TcoError("--price-usd-per-hour needs --accelerator (which accelerator does it price?)")
        if not self.min_count >= 0:
            raise TcoError(f"--min-count must be >= 0, got {self.min_count:g}")
        price_max_age_days(self.max_age_days)

    @property
    def catalog_pricing_models(self) -> tuple[str, ...]:
        return tuple(m for m in self.pricing_models if m != OWNED)

    @property
    def wants_owned(self) -> bool:
        return not self.pricing_models or OWNED in self.pricing_models


class Offers(NamedTuple):
    """Catalog offer rows for a query (``pricing`` offer-table columns) and where they come from."""

    rows: pd.DataFrame
    catalog: Catalog


def catalog_offers(query: OfferQuery, sources: Sources) -> Offers:
    """The catalog's offers matching ``query``, flagged prices left out (unless ``include_flagged``). A
    query for owned hardware only matches no catalog offer."""
    from pricing.catalog import OfferFilter, filter_offers

    catalog = sources.prices(query.providers)
    offers = catalog.offers
    if query.exclude_resellers or query.seller_kinds:
        from pricing.sellers import SELLERS

        kept = [
            name
            for name, s in SELLERS.items()
            if not (query.exclude_resellers and s.reseller)
            and (not query.seller_kinds or s.kind in query.seller_kinds)
        ]
        offers = offers[offers["provider"].isin(kept)]
    if query.accelerators and not query.regions:
        # the accelerators first (one vectorised test) so that the flag rules read a few rows, not all;
        # with regions the whole table is kept, for filter_offers to name a region no offer has
        offers = offers[offers["accelerator"].isin(query.accelerators)]
    spec = OfferFilter(
        providers=query.providers,
        regions=query.regions,
        accelerators=query.accelerators,
        pricing_models=query.catalog_pricing_models,
        min_count=query.min_count,
        include_flagged=query.include_flagged,
    )
    rows = filter_offers(offers, spec)
    if query.pricing_models and not query.catalog_pricing_models:
        rows = rows.iloc[0:0]
    return Offers(rows, catalog)


def offer_provenance(offers: Offers, query: OfferQuery, providers: tuple[str, ...]) -> Provenance:
    """The snapshots of ``providers`` and the stale-price warning
    (:func:`tco.api.sources.price_provenance`)."""
    return price_provenance(offers.catalog, providers, max_age_days=price_max_age_days(query.max_age_days))


def owned_servers(
    accelerators: tuple[str, ...], overrides: Mapping[str, float], *, required: bool
) -> dict[str, OwnedServer]:
    """Owned servers of each accelerator (the ownership model's defaults with ``overrides`` by name).
    Accelerators without a sourced capex are left out, or raise when ``required``."""
    from tco.presets import capex_sourced, owned_server

    out: dict[str, OwnedServer] = {}
    for name in accelerators:
        if required or "capex_usd_per_accelerator" in overrides or capex_sourced(name):
            out[name] = owned_server(name, dict(overrides))
    return out


def owned_purchase_options(
    servers: Mapping[str, OwnedServer], source: Callable[[OwnedServer], str]
) -> pd.DataFrame:
    """Purchase options (:data:`tco.model.offers.OPTION_COLUMNS`) for owned servers: the ownership model's
    fixed price per held accelerator-year and variable price per used hour; ``source`` names each."""
    import pandas as pd

    from tco.model.offers import OPTION_COLUMNS, owned_options

    if not servers:
        return pd.DataFrame(columns=list(OPTION_COLUMNS))
    from tco.model.ownership import ownership_costs

    frames = [
        ownership_costs(server.params.to_frame()).assign(
            accelerator=name,
            accelerators_per_instance=float(server.accelerators_per_server),
            ownership_source=source(server),
        )
        for name, server in servers.items()
    ]
    return owned_options(pd.concat(frames, ignore_index=True))


class PurchaseOptions(NamedTuple):
    """The model's purchase options for a request, the owned servers among them, and the catalog the prices
    come from (None when the user gave the price)."""

    options: pd.DataFrame
    servers: Mapping[str, OwnedServer]
    catalog: Catalog | None
    query: OfferQuery

    def provenance(self, providers: tuple[str, ...]) -> Provenance:
        """Where the prices of ``providers`` come from and whether they are stale."""
        if self.catalog is None:
            return Provenance(price_override="--price-usd-per-hour")
        age = price_max_age_days(self.query.max_age_days)
        return price_provenance(self.catalog, providers, max_age_days=age)


def with_networks(options: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Catalog options with each offer's own network between instances (:func:`tco.model.offers.
    offer_networks` over ``tco/data/instance_networks.csv``; GPU offers sold without a cluster fabric get the
    Ethernet assumption, ``--set ethernet_gb_s_per_instance``). ``--set inter_node_gb_s`` replaces every
    network (the hardware frame carries it), so offers then keep none of their own."""
    if settings.get("inter_node_gb_s") is not None:
        return options
    from pricing.accelerators import ACCELERATORS
    from tco.model.assumptions import ETHERNET_GB_S_PER_INSTANCE
    from tco.model.offers import offer_networks
    from tco.presets import load_instance_networks

    given = settings.get("ethernet_gb_s_per_instance")
    ethernet, source = (
        (ETHERNET_GB_S_PER_INSTANCE.value, ETHERNET_GB_S_PER_INSTANCE.source)
        if given is None
        else (given, "override (--set ethernet_gb_s_per_instance)")
    )
    nic = frozenset(a.name for a in ACCELERATORS if a.kind in ("gpu", "hpu"))
    return offer_networks(
        options, load_instance_networks(), ethernet_gb_s_per_instance=ethernet, ethernet_source=source,
        fabric_accelerators=nic,
    )  # fmt: skip


def _estimate_source(server: OwnedServer) -> str:
    return (
        "capex "
        + server.params.capex_usd_per_accelerator.source
        + "; other defaults docs/projection_model.md §5/§8"
    )


def purchase_options_for(
    query: OfferQuery, sources: Sources, settings: Settings, *, interruptible_by_default: bool = True
) -> PurchaseOptions:
    """Purchase options for ``query`` as ``tco estimate`` prices them: the catalog's (the cheapest region of
    each instance type unless ``all_regions``), owned servers where a capex is sourced or given, or one
    option per accelerator at an overriding price. With ``interruptible_by_default=False`` (serving) spot
    capacity is left out unless the query names it. Every accelerator asked for must have an option."""
    import pandas as pd

    from tco.model.offers import cheapest_regions, override_options, purchase_options

    if query.price_usd_per_accelerator_hour is not None:
        per_instance = settings.get("accelerators_per_instance") or 8.0
        options = override_options(query.accelerators, query.price_usd_per_accelerator_hour, per_instance)
        return PurchaseOptions(options, {}, None, query)
    offers = catalog_offers(query, sources)
    options = with_networks(purchase_options(offers.rows), settings)
    options = options[options["price_usd_per_accelerator_hour"].notna()]
    if not interruptible_by_default and not query.pricing_models:
        options = options[~options["interruptible"].astype(bool)]
    options = options if query.all_regions else cheapest_regions(options)
    servers: dict[str, OwnedServer] = {}
    if query.wants_owned:
        names = query.accelerators or tuple(dict.fromkeys(options["accelerator"]))
        owned_only = query.pricing_models == (OWNED,)
        servers = owned_servers(names, settings.group("ownership"), required=owned_only)
        owned = owned_purchase_options(servers, _estimate_source)
        if not owned.empty:
            options = pd.concat([options, owned], ignore_index=True)
    for name in query.accelerators:
        if not options["accelerator"].eq(name).any():
            raise TcoError(
                f"no price for {name} in the catalog with these filters",
                hint="pass --price-usd-per-hour (per accelerator-hour) or widen --provider/--region",
            )
    if options.empty:
        raise TcoError(
            "no priced offers match these filters", hint="widen --provider/--region/--pricing-model"
        )
    return PurchaseOptions(options, servers, offers.catalog, query)


def with_sellers(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with who sells each offer (:data:`pricing.sellers.SELLERS`): ``seller_kind`` (hyperscaler,
    gpu_cloud or marketplace) and ``reseller`` (a marketplace reselling another cloud's capacity)."""
    from pricing.sellers import SELLERS

    kinds = {name: s.kind for name, s in SELLERS.items()}
    resold = {name: s.reseller for name, s in SELLERS.items()}
    return frame.assign(
        seller_kind=frame["provider"].map(kinds), reseller=frame["provider"].map(resold).astype("boolean")
    )


def _book_priced(rows: pd.DataFrame, pivot: pd.DataFrame) -> pd.Series:
    """Per pivot row: whether the price book set any of its prices (flag ``book``)."""
    from pricing.catalog import PIVOT_KEYS
    from pricing.pricebook import BOOK_FLAG

    if pivot.empty:
        return pivot.assign(_b=False)["_b"]
    booked = rows["flags"].fillna("").astype(str).str.split(";").map(lambda f: BOOK_FLAG in f).astype(bool)
    keys = rows[PIVOT_KEYS].assign(
        accelerator_memory_gib=rows["accelerator_memory_gib"].fillna(-1.0),
        accelerator_count=rows["accelerator_count"].fillna(-1.0),
        _b=booked.to_numpy(),
    )
    anyb = keys.groupby(PIVOT_KEYS, dropna=False, sort=False)["_b"].any().reset_index()
    left = pivot[PIVOT_KEYS].assign(
        accelerator_memory_gib=pivot["accelerator_memory_gib"].fillna(-1.0),
        accelerator_count=pivot["accelerator_count"].fillna(-1.0),
    )
    merged = left.merge(anyb, on=PIVOT_KEYS, how="left")
    return merged["_b"].fillna(False).astype(bool).set_axis(pivot.index)


@dataclass(frozen=True)
class OfferListing:
    """``tco prices list``: the long offer rows (CSV/JSON), the pivot (one row per instance and region, a
    price column per pricing model) and where the prices come from."""

    offers: pd.DataFrame = field(compare=False)
    pivot: pd.DataFrame = field(compare=False)
    #: instance-regions before ``limit``
    total: int
    provenance: Provenance


def list_offers(
    query: OfferQuery, sources: Sources | None = None, *, cheapest: bool = False, limit: int = 0
) -> OfferListing:
    """Offers for ``query``, cheapest per accelerator-hour first; ``cheapest``: only the cheapest region of
    each (provider, instance type); ``limit``: at most that many rows (0: all)."""
    from pricing.catalog import cheapest_long, cheapest_region, pivot_offers, sort_long, sort_pivot

    offers = catalog_offers(query, sources or Sources())
    sort_model = query.catalog_pricing_models[0] if query.catalog_pricing_models else None
    pivot = pivot_offers(offers.rows)
    pivot = cheapest_region(pivot, sort_model) if cheapest else sort_pivot(pivot, sort_model)
    long_rows = sort_long(cheapest_long(offers.rows, sort_model) if cheapest else offers.rows)
    total = len(pivot)
    if limit:
        pivot, long_rows = pivot.head(limit), long_rows.head(limit)
    pivot = with_sellers(pivot.assign(price_book=_book_priced(offers.rows, pivot)))
    book = offers.catalog.book
    if book is not None and pivot["price_book"].any():  # a book's price is as of its import
        pivot.loc[pivot["price_book"], "price_date"] = book.imported_at[:10]
    long_rows = with_sellers(long_rows)
    shown = query.providers or PROVIDERS
    if query.exclude_resellers or query.seller_kinds:
        shown = tuple(p for p in shown if p in set(offers.rows["provider"]))
    provenance = offer_provenance(offers, query, shown)
    if offers.rows.empty:
        provenance = provenance.with_warnings("no offers match these filters")
    return OfferListing(long_rows, pivot, total, provenance)
