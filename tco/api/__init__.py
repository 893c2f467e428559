"""The library layer under every command: resolve what a user can buy, project, and say where every number
came from. Commands only parse, call these and render; a notebook or another tool calls them the same way.

    from tco.api import OfferQuery, TrainingRequest, TrainingWorkload, estimate_training

    estimate = estimate_training(
        TrainingRequest(TrainingWorkload(params=7e9, tokens=2e11), OfferQuery(accelerators=("h100",)))
    )
    estimate.rows            # one row per provider, pricing model and count, cheapest first
    estimate.provenance      # price snapshots (source, date), stale-price warnings, notes, assumptions

Entry points: :func:`estimate_training`, :func:`estimate_serving`, :func:`plan`, :func:`procure`,
:func:`compare_frameworks`, :func:`list_offers`; requests are frozen dataclasses checked on construction
(:class:`tco.errors.TcoError`, one line), results carry frames and :class:`Provenance`. :class:`Sources`
says where prices and calibrations come from (the stores under ``TCO_HOME``, or frames handed over).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from tco.api.comparisons import (
        FrameworkComparison,
        FrameworkRequest,
        ProcurementOutcome,
        ProcurementRequest,
        compare_frameworks,
        procure,
    )
    from tco.api.estimate import (
        Selection,
        TrainingEstimate,
        TrainingRequest,
        TrainingWorkload,
        estimate_training,
    )
    from tco.api.offers import OfferListing, OfferQuery, list_offers
    from tco.api.planning import PlanOutcome, PlanRequest, plan
    from tco.api.serving import ServingEstimate, ServingRequest, ServingWorkload, estimate_serving
    from tco.api.sources import PriceSnapshot, Provenance, Sources

#: Public name -> the module defining it, imported on first use (a command loads only what it calls).
_HOME: Final = {
    **dict.fromkeys(
        ("Selection", "TrainingEstimate", "TrainingRequest", "TrainingWorkload", "estimate_training"),
        "tco.api.estimate",
    ),
    **dict.fromkeys(
        ("ServingEstimate", "ServingRequest", "ServingWorkload", "estimate_serving"), "tco.api.serving"
    ),
    **dict.fromkeys(("OfferListing", "OfferQuery", "list_offers"), "tco.api.offers"),
    **dict.fromkeys(("PlanOutcome", "PlanRequest", "plan"), "tco.api.planning"),
    **dict.fromkeys(
        (
            "FrameworkComparison", "FrameworkRequest", "ProcurementOutcome", "ProcurementRequest",
            "compare_frameworks", "procure",
        ),
        "tco.api.comparisons",
    ),
    **dict.fromkeys(("PriceSnapshot", "Provenance", "Sources"), "tco.api.sources"),
}  # fmt: skip


def __getattr__(name: str) -> object:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'tco.api' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "FrameworkComparison",
    "FrameworkRequest",
    "OfferListing",
    "OfferQuery",
    "PlanOutcome",
    "PlanRequest",
    "PriceSnapshot",
    "ProcurementOutcome",
    "ProcurementRequest",
    "Provenance",
    "Selection",
    "ServingEstimate",
    "ServingRequest",
    "ServingWorkload",
    "Sources",
    "TrainingEstimate",
    "TrainingRequest",
    "TrainingWorkload",
    "compare_frameworks",
    "estimate_serving",
    "estimate_training",
    "list_offers",
    "plan",
    "procure",
]
