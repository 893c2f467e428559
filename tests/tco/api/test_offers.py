"""What a user can buy, resolved once: aliases, vocabulary, flagged prices left out by every entry point, and
one stale-price policy (``TCO_PRICE_MAX_AGE_DAYS``) in every result."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pricing.catalog import load_catalog
from pricing.schema import EXCLUDING_FLAGS
from tco.api import (
    FrameworkRequest,
    OfferQuery,
    PlanRequest,
    ProcurementRequest,
    Selection,
    Sources,
    TrainingRequest,
    TrainingWorkload,
    compare_frameworks,
    estimate_training,
    list_offers,
    plan,
    procure,
)
from tco.api.sources import price_max_age_days
from tco.errors import TcoError

ROOT = Path(__file__).resolve().parents[3]
KEYS = ["provider", "region", "instance_type", "pricing_model"]


def flagged_offers() -> set[tuple[str, ...]]:
    """(provider, region, instance type, pricing model) of every H100 offer flagged as not to be trusted."""
    offers = load_catalog().offers
    flags = offers["flags"].fillna("").str.split(";")
    bad = offers[
        flags.map(lambda fs: bool(EXCLUDING_FLAGS.intersection(fs))) & offers["accelerator"].eq("H100-80GB")
    ]
    assert len(bad) > 10, "the embedded catalog must hold flagged H100 offers for this test to mean anything"
    return {tuple(str(v) for v in row) for row in bad[KEYS].to_numpy()}


def used(frame: pd.DataFrame) -> set[tuple[str, ...]]:
    return {tuple(str(v) for v in row) for row in frame[KEYS].to_numpy()}


def test_aliases_and_vocabulary_are_resolved_on_construction() -> None:
    query = OfferQuery(
        accelerators=("h100", "a100-80"), pricing_models=("on-demand", "owned", "savings_plan_1y")
    )
    assert query.accelerators == ("H100-80GB", "A100-80GB")
    assert query.pricing_models == ("on_demand", "owned", "savings_plan_1y")
    assert query.catalog_pricing_models == ("on_demand", "savings_plan_1y") and query.wants_owned
    with pytest.raises(TcoError, match="unknown pricing model 'rented'"):
        OfferQuery(pricing_models=("rented",))
    with pytest.raises(TcoError, match="needs --accelerator"):
        OfferQuery(price_usd_per_accelerator_hour=2.0)
    with pytest.raises(TcoError, match="must be positive"):
        OfferQuery(accelerators=("h100",), price_usd_per_accelerator_hour=0.0)


def test_flagged_prices_are_left_out_by_every_entry_point(tco_home: Path) -> None:
    """An outlier that `tco prices list` leaves out must not price an estimate, a plan, a procurement
    ranking or a framework comparison either."""
    bad = flagged_offers()
    listed = list_offers(OfferQuery(accelerators=("h100",)))
    assert used(listed.offers) and not used(listed.offers) & bad
    assert used(list_offers(OfferQuery(accelerators=("h100",), include_flagged=True)).offers) & bad
    everything = OfferQuery(accelerators=("h100",), all_regions=True)
    request = TrainingRequest(
        TrainingWorkload(params=7e9, tokens=2e11), everything, counts=(8,), frameworks=("torch",),
        selection=Selection(top=0, include_infeasible=True, all_instances=True),
    )  # fmt: skip
    estimate = estimate_training(request)
    assert len(estimate.rows) > 50 and not used(estimate.rows) & bad
    ranking = procure(ProcurementRequest("h100", acc_hours_per_month=20_000)).comparison.ranking
    assert not used(ranking[ranking["kind"] != "owned"]) & bad
    result = plan(PlanRequest(ROOT / "examples" / "llm_team.toml", top=50)).result
    assert not used(result.choices) & bad
    price = compare_frameworks(FrameworkRequest("h100", 1e9)).price
    cheapest = listed.offers[listed.offers["pricing_model"].eq("on_demand")][
        "price_usd_per_accelerator_hour"
    ].min()
    assert price.price_usd_per_accelerator_hour == pytest.approx(cheapest)
    assert (price.provider, price.region, price.instance_type, price.pricing_model) not in bad


def _stale(warnings: tuple[str, ...]) -> list[str]:
    return [w for w in warnings if w.startswith("prices older than")]


def test_one_stale_price_policy_honours_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded prices are years old: every result warns, at the threshold TCO_PRICE_MAX_AGE_DAYS sets."""
    train = TrainingRequest(TrainingWorkload(params=7e9, tokens=2e11), OfferQuery(accelerators=("h100",)))
    scenario = PlanRequest(ROOT / "examples" / "vision_startup.toml")
    procurement = ProcurementRequest("h100", acc_hours_per_month=1000)
    frameworks = FrameworkRequest("h100", 1e9)
    listing = OfferQuery(accelerators=("h100",))

    def warnings() -> list[list[str]]:
        return [
            _stale(estimate_training(train).provenance.warnings),
            _stale(plan(scenario).provenance.warnings),
            _stale(procure(procurement).provenance.warnings),
            _stale(compare_frameworks(frameworks).provenance.warnings),
            _stale(list_offers(listing).provenance.warnings),
        ]

    monkeypatch.delenv("TCO_PRICE_MAX_AGE_DAYS", raising=False)
    default = warnings()
    assert all(len(w) == 1 and w[0].startswith("prices older than 30 days (") for w in default), default
    monkeypatch.setenv("TCO_PRICE_MAX_AGE_DAYS", "100000")
    assert warnings() == [[], [], [], [], []]
    monkeypatch.setenv("TCO_PRICE_MAX_AGE_DAYS", "400")
    assert all(len(w) == 1 and "older than 400 days" in w[0] for w in warnings())
    monkeypatch.setenv("TCO_PRICE_MAX_AGE_DAYS", "soon")
    with pytest.raises(TcoError, match="TCO_PRICE_MAX_AGE_DAYS='soon' is not a number"):
        price_max_age_days()
    # an explicit limit wins over the environment
    quiet = list_offers(OfferQuery(accelerators=("h100",), max_age_days=1e6)).provenance.warnings
    assert not _stale(quiet)


def test_prices_carry_their_snapshot_source_and_date() -> None:
    estimate = estimate_training(
        TrainingRequest(
            TrainingWorkload(params=7e9, tokens=2e11), OfferQuery(accelerators=("h100",), providers=("aws",))
        )
    )
    (snapshot,) = estimate.provenance.prices
    assert snapshot.provider == "aws" and snapshot.label.startswith("embedded (as of 2025-06-05")
    assert snapshot.source.startswith("skypilot-catalog@") and snapshot.age_days is not None
    cloud = estimate.rows[estimate.rows["provider"].eq("aws")]
    assert len(cloud) and cloud["price_source"].str.startswith("skypilot-catalog").all()
    assert cloud["price_date"].eq("2025-06-05").all()
    override = estimate_training(
        TrainingRequest(
            TrainingWorkload(params=7e9, tokens=2e11),
            OfferQuery(accelerators=("h100",), price_usd_per_accelerator_hour=2.0),
        )
    )
    assert override.provenance.prices == () and override.provenance.price_override is not None


def test_a_catalog_handed_over_is_used_instead_of_the_store() -> None:
    """Sources(catalog=...): a notebook's own prices; nothing is read from the price store."""
    from pricing.catalog import Catalog

    offers = load_catalog().offers
    h100 = offers[offers["accelerator"].eq("H100-80GB") & offers["provider"].eq("aws")].copy()
    h100["price_usd_per_hour"] *= 0.5
    h100["price_usd_per_accelerator_hour"] *= 0.5
    cheap = Sources(catalog=Catalog(offers=h100))
    query = OfferQuery(accelerators=("h100",), pricing_models=("on_demand",))
    half = list_offers(query, cheap).offers["price_usd_per_accelerator_hour"].min()
    full = list_offers(OfferQuery(accelerators=("h100",), providers=("aws",), pricing_models=("on_demand",)))
    assert half == pytest.approx(full.offers["price_usd_per_accelerator_hour"].min() * 0.5)


def test_the_price_store_file_name_matches_pricing() -> None:
    from pricing.store import DB_FILENAME
    from tco.api.sources import PRICE_STORE_FILENAME

    assert PRICE_STORE_FILENAME == DB_FILENAME
