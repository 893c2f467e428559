"""``plan``: a team's scenario file as a month-by-month budget and the cheapest (provider, region) option.

The purchase options come from the one offer resolution (:mod:`tco.api.offers`): the scenario's providers,
regions and pricing models, flagged prices left out, owned servers offered within every (provider, region)
when ``[options] owned = true``; the budget is :func:`tco.plan.budget.build_plan`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tco.api.offers import OfferQuery, catalog_offers, owned_purchase_options, with_networks
from tco.api.sources import Provenance, Sources, price_max_age_days, price_provenance
from tco.errors import TcoError
from tco.model.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

    from pricing.catalog import Catalog
    from tco.model.ownership import OwnedServer
    from tco.plan.budget import PlanResult
    from tco.plan.scenario import Scenario


@dataclass(frozen=True)
class PlanRequest:
    """A scenario (a TOML file, or a parsed :class:`~tco.plan.scenario.Scenario`) and how many options to
    keep in the ranking and the workbook."""

    scenario: Path | Scenario
    top: int = 10
    max_age_days: float | None = None
    #: a budget in dollars (replaces the scenario's ``budget_usd``): the months and options over it are
    #: marked (:func:`tco.model.budget.plan_budget`)
    budget_usd: float | None = None
    #: what the budget covers: ``month`` (each month) or ``horizon`` (the whole plan); None: the scenario's
    budget_per: str | None = None
    #: build the workbook's templates and Assumptions rows (:func:`tco.plan.budget.build_plan`); a command
    #: that writes no workbook leaves them out
    workbook: bool = True

    def __post_init__(self) -> None:
        from tco.model.budget import PLAN_PERIODS, check_budget

        if not 1 <= self.top <= 50:
            raise TcoError(f"--top must be between 1 and 50, got {self.top}")
        price_max_age_days(self.max_age_days)
        check_budget(self.budget_usd, self.budget_per or "month", PLAN_PERIODS)


@dataclass(frozen=True)
class PlanOutcome:
    """The plan (:class:`~tco.plan.budget.PlanResult`: budget, ranking, choices, workbook templates) and the
    provenance of its prices."""

    result: PlanResult = field(compare=False)
    provenance: Provenance


def load(path: Path) -> Scenario:
    """Parse and check a scenario file (accelerators must have a sourced peak)."""
    from calibrate.peaks import load_peaks
    from tco.plan.scenario import load_scenario

    return load_scenario(path, accelerators=set(load_peaks()))


def _owned_source(path: Path) -> Callable[[OwnedServer], str]:
    def source(server: OwnedServer) -> str:
        return (
            f"[ownership.{server.accelerator}] of {path.name} over tco.presets defaults; fixed per held "
            "accelerator-year + power per used hour"
        )

    return source


def plan_options(s: Scenario, sources: Sources) -> tuple[pd.DataFrame, tuple[str, ...], Catalog]:
    """The purchase options the scenario allows, notes about missing pricing models, and the catalog."""
    import pandas as pd

    from tco.model.offers import OPTION_COLUMNS, purchase_options
    from tco.plan.scenario import located, unknown

    wanted = sorted(
        {a for t in s.training for a in t.accelerators} | {a for v in s.serving for a in v.accelerators}
    )
    query = OfferQuery(
        providers=s.options.providers,
        accelerators=tuple(wanted),
        pricing_models=s.options.pricing_models,
    )
    offers = catalog_offers(query, sources)
    if s.options.regions:  # each one a region of the providers' offers, said where the scenario names it
        known = set(offers.catalog.offers["region"].dropna())
        for region in s.options.regions:
            problem = unknown(region, known, "region")
            if problem is not None:
                raise located(s, "options", "regions", problem)
        offers = offers._replace(rows=offers.rows[offers.rows["region"].isin(s.options.regions)])
    labels = {p: info.label for p, info in offers.catalog.snapshots.items()}
    cloud = with_networks(purchase_options(offers.rows), Settings())
    cloud = cloud[cloud["price_usd_per_accelerator_hour"].notna()].copy()
    cloud["price_source"] = cloud["price_source"] + cloud["provider"].map(
        lambda p: f" [{labels[p]}]" if p in labels else ""
    )
    notes: list[str] = []
    missing = sorted(set(s.options.pricing_models) - set(cloud["pricing_model"]))
    if missing:
        notes.append(
            f"no {', '.join(missing)} prices in the price snapshot for these accelerators "
            "(the embedded snapshot has on_demand and spot only; `tco prices pull` adds committed prices)"
        )
    if s.options.owned and len(cloud):
        servers = {a: server for a, server in s.ownership.items() if a in wanted}
        owned = owned_purchase_options(servers, _owned_source(s.path))
        if not owned.empty:
            # the same option rows as `tco estimate`, offered within every (provider, region) of the plan
            regions = cloud[["provider", "region"]].drop_duplicates()
            owned = regions.merge(owned.drop(columns=["provider", "region"]), how="cross")
            cloud = pd.concat([cloud, owned[list(OPTION_COLUMNS)]], ignore_index=True)
    if cloud.empty:
        raise TcoError(
            "no prices for the scenario's accelerators with these options",
            hint=f"providers {', '.join(s.options.providers)}, models {', '.join(s.options.pricing_models)}, "
            f"accelerators {', '.join(wanted)}",
        )
    return cloud.reset_index(drop=True), tuple(notes), offers.catalog


def with_budget(result: PlanResult, budget_usd: float, per: str, given: float | None) -> PlanResult:
    """The plan with its budget: the month-by-month frame gains the month's budget, the cumulative spend and
    budget and the over-budget marks (:func:`tco.model.budget.plan_budget`); each ranked option the months
    it spends more than the month's budget and whether its total exceeds the horizon's
    (:func:`tco.model.budget.options_over_budget`); the assumptions the budget as an input."""
    from dataclasses import replace

    import pandas as pd

    from tco.model.budget import options_over_budget, plan_budget
    from tco.plan.budget import FIXED_ITEMS

    s = result.scenario
    months = plan_budget(result.budget, budget_usd, per=per)
    fixed = result.budget[["month", *[f"{item}_usd" for item in FIXED_ITEMS]]]
    spend = result.acc_hours.groupby(["option", "month"], as_index=False)["cost_usd"].sum()
    spend = spend.merge(fixed.assign(month=fixed["month"].astype(float)), on="month", how="left")
    spend["total_usd"] = spend[[c for c in spend if c.endswith("_usd")]].sum(axis=1)
    over = options_over_budget(spend[["option", "month", "total_usd"]], budget_usd, per=per)
    options = result.options.merge(over, on="option", how="left")
    source = "--budget-usd" if given is not None else f"scenario {s.path.name} [scenario] budget_usd"
    what = "per month" if per == "month" else f"for the whole {s.horizon_months}-month horizon"
    row = {
        "key": "budget_usd", "section": "Scenario", "description": f"budget {what} (budget_per = {per})",
        "value": budget_usd, "unit": "$", "source": source, "formula": None,
    }  # fmt: skip
    assumptions = pd.concat([result.assumptions, pd.DataFrame([row])], ignore_index=True)
    return replace(result, budget=months, options=options, assumptions=assumptions)


def plan(request: PlanRequest, sources: Sources | None = None) -> PlanOutcome:
    """Budget the scenario over every (provider, region) option it allows, rank, keep the top ones."""
    from tco.plan.budget import build_plan

    sources = sources or Sources()
    scenario = load(request.scenario) if isinstance(request.scenario, Path) else request.scenario
    options, notes, catalog = plan_options(scenario, sources)
    result = build_plan(
        scenario,
        options,
        calibrations=sources.calibration_results(),
        keep_options=request.top,
        notes=notes,
        templates=request.workbook,
    )
    budget = request.budget_usd if request.budget_usd is not None else scenario.budget_usd
    if budget is not None:
        result = with_budget(result, budget, request.budget_per or scenario.budget_per, request.budget_usd)
    providers = [p for p in dict.fromkeys(options["provider"]) if p in catalog.snapshots]
    age = price_max_age_days(request.max_age_days)
    return PlanOutcome(result, price_provenance(catalog, providers, max_age_days=age))
