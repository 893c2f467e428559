"""``procure`` and ``compare_frameworks``: ``tco compare procurement`` and ``tco compare frameworks``.

Both price from the one offer resolution (:mod:`tco.api.offers`: accelerator aliases, flagged prices left
out) and charge capacity by the one held-capacity model (:mod:`tco.model.formulas`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tco.api.offers import OfferQuery, catalog_offers, offer_provenance
from tco.api.sources import Provenance, Sources
from tco.errors import TcoError
from tco.model.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

    from tco.procurement import Comparison


@dataclass(frozen=True)
class ProcurementRequest:
    """A sustained demand for one accelerator: ``acc_hours_per_month`` given, or what the cheapest plan of a
    ``scenario`` file puts on it (the mean over the horizon). ``settings``: ownership and procurement names
    (``--set``); ``servers`` fixes the owned fleet; ``assumed_discounts`` adds labelled commitment rows."""

    accelerator: str
    acc_hours_per_month: float | None = None
    scenario: Path | None = None
    providers: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    servers: int | None = None
    settings: Settings = field(default_factory=Settings)
    assumed_discounts: Mapping[str, float] = field(default_factory=dict)
    max_age_days: float | None = None

    def __post_init__(self) -> None:
        from tco.api.inputs import accelerator

        object.__setattr__(self, "accelerator", accelerator(self.accelerator))
        if (self.acc_hours_per_month is None) == (self.scenario is None):
            raise TcoError("give the demand: --acc-hours N or --scenario FILE (one of them)")
        demand = self.acc_hours_per_month
        if demand is not None and not (demand > 0 and math.isfinite(demand)):
            raise TcoError(f"--acc-hours must be > 0, got {demand:g}")
        if self.servers is not None and self.servers < 1:
            raise TcoError(f"--servers must be >= 1, got {self.servers}")

    @property
    def offers(self) -> OfferQuery:
        return OfferQuery(
            accelerators=(self.accelerator,),
            providers=self.providers,
            regions=self.regions,
            max_age_days=self.max_age_days,
        )


@dataclass(frozen=True)
class ProcurementOutcome:
    """The ranking, cash flow, sensitivity and recommendation (:class:`~tco.procurement.Comparison`) and
    the provenance (the demand's origin in ``notes``, the comparison's own notes in ``warnings``)."""

    comparison: Comparison = field(compare=False)
    provenance: Provenance


def procure(request: ProcurementRequest, sources: Sources | None = None) -> ProcurementOutcome:
    """Rank cloud on-demand, spot, commitments per provider and region, and buying servers, for a demand."""
    from tco.api.planning import PlanRequest, plan
    from tco.presets import owned_server
    from tco.procurement import cloud_offers, compare_procurement, demand_from_plan

    sources = sources or Sources()
    server = owned_server(request.accelerator, dict(request.settings.values))
    notes: tuple[str, ...] = ()
    demand = request.acc_hours_per_month
    if request.scenario is not None:
        demand = demand_from_plan(
            plan(PlanRequest(request.scenario, top=1), sources).result, request.accelerator
        )
        notes = (
            f"demand from {request.scenario.name}: {demand:,.0f} {request.accelerator} acc-h/month "
            "(mean over the horizon)",
        )
    if demand is None:  # unreachable: the request checks that one of the two is given
        raise TcoError("no demand")
    query = request.offers
    offers = catalog_offers(query, sources)
    labels = {p: info.label for p, info in offers.catalog.snapshots.items()}
    cloud, cloud_notes = cloud_offers(
        offers.rows,
        request.accelerator,
        assumed_discounts=dict(request.assumed_discounts),
        price_labels=labels,
    )
    result = compare_procurement(cloud, demand, server, servers=request.servers, notes=cloud_notes)
    prices = offer_provenance(offers, query, tuple(dict.fromkeys(cloud["provider"])))
    return ProcurementOutcome(result, prices.with_notes(*notes))


@dataclass(frozen=True)
class FrameworkRequest:
    """Measured frameworks side by side on one accelerator: ``work_per_run`` in the throughput's unit x
    seconds (tokens or samples), priced at the cheapest offer of ``pricing_model``."""

    accelerator: str
    work_per_run: float
    kernel: str = "train_transformer"
    runs_per_month: float = 1.0
    providers: tuple[str, ...] = ()
    pricing_model: str = "on_demand"
    max_age_days: float | None = None

    def __post_init__(self) -> None:
        from tco.api.inputs import accelerator

        object.__setattr__(self, "accelerator", accelerator(self.accelerator))
        if not (self.work_per_run > 0 and math.isfinite(self.work_per_run)):
            raise TcoError(f"--work must be > 0, got {self.work_per_run:g}")
        if not self.runs_per_month >= 0:
            raise TcoError(f"--runs-per-month must be >= 0, got {self.runs_per_month:g}")

    @property
    def offers(self) -> OfferQuery:
        return OfferQuery(
            accelerators=(self.accelerator,),
            providers=self.providers,
            pricing_models=(self.pricing_model,),
            max_age_days=self.max_age_days,
        )


@dataclass(frozen=True, slots=True)
class OfferPrice:
    """The one offer a comparison is priced at."""

    provider: str
    region: str
    instance_type: str
    pricing_model: str
    price_usd_per_accelerator_hour: float
    source: str
    fetched_at: str


@dataclass(frozen=True)
class FrameworkComparison:
    """One row per framework (:data:`tco.frameworks.COLUMNS`), the price used and the provenance."""

    rows: pd.DataFrame = field(compare=False)
    price: OfferPrice
    provenance: Provenance


def compare_frameworks(request: FrameworkRequest, sources: Sources | None = None) -> FrameworkComparison:
    """The measured calibrations of PyTorch, JAX and TensorFlow on one accelerator, and what each costs."""
    from tco import frameworks

    sources = sources or Sources()
    results = sources.calibration_results()
    query = request.offers
    offers = catalog_offers(query, sources)
    priced = offers.rows[offers.rows["price_usd_per_accelerator_hour"].notna()]
    if priced.empty:
        raise TcoError(
            f"no {request.pricing_model} price for {request.accelerator}",
            hint="see `tco prices accelerators`",
        )
    cheapest = priced.sort_values("price_usd_per_accelerator_hour", kind="stable").iloc[0]
    price = OfferPrice(
        str(cheapest["provider"]), str(cheapest["region"]), str(cheapest["instance_type"]),
        request.pricing_model, float(cheapest["price_usd_per_accelerator_hour"]), str(cheapest["source"]),
        str(cheapest["fetched_at"]),
    )  # fmt: skip
    rows = frameworks.compare_frameworks(
        results,
        accelerator=request.accelerator,
        kernel=request.kernel,
        work_per_run=request.work_per_run,
        runs_per_month=request.runs_per_month,
        price_usd_per_accelerator_hour=price.price_usd_per_accelerator_hour,
    )
    provenance = offer_provenance(offers, query, (price.provider,))
    if results.empty:
        provenance = provenance.with_notes(
            "no calibration results found (run `tco calibrate ...` first); every framework shows n/a"
        )
    return FrameworkComparison(rows, price, provenance)
