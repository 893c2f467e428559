"""Shared test helpers: a plan through the library layer, on the embedded catalog or on given offers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pricing.catalog import Catalog
from tco.api import PlanRequest, Sources, plan
from tco.plan.budget import PlanResult
from tco.plan.scenario import Scenario


def plan_result(scenario: Path | Scenario, offers: pd.DataFrame | None = None) -> PlanResult:
    """``tco plan`` of ``scenario`` (a file or a parsed scenario) as :func:`tco.api.planning.plan` makes
    it; with ``offers``, priced from those offer rows instead of the price store."""
    sources = Sources() if offers is None else Sources(catalog=Catalog(offers=offers))
    return plan(PlanRequest(scenario), sources).result
