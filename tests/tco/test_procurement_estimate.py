"""One model of held capacity: `tco compare procurement` charges a commitment and owned servers exactly as
`tco estimate train` does for the same held cluster (whole units held for the month, the fixed price for every
held accelerator, the variable price for every used accelerator-hour)."""

from __future__ import annotations

import pandas as pd
import pytest

from pricing.catalog import OfferFilter, filter_offers
from tco.model.assumptions import TrainingAssumptions
from tco.model.offers import owned_options, purchase_options
from tco.model.ownership import ownership_costs
from tco.model.training import project_training
from tco.presets import hardware_table, load_mfu_defaults, owned_server
from tco.procurement import cloud_offers, compare_procurement
from tests.tco.test_plan_estimate import committed_offers

#: Runs per month of a 7B model on one 8-GPU instance: ~0.8, ~1.6 and ~3.2 clusters' worth of hours.
RUNS = (1.0, 2.0, 4.0)


def _estimate(options: pd.DataFrame) -> pd.DataFrame:
    workload = pd.DataFrame(
        [{"workload": "7B", "kind": "tokens", "params": 7e9, "tokens": 2e11, "dtype": "bf16",
          "workload_source": "test"}]
    )  # fmt: skip
    rows = project_training(
        workload,
        options,
        hardware_table(["H100-80GB"]),
        counts=[8],
        frameworks=["torch"],
        mfu_defaults=load_mfu_defaults(),
        runs_per_month=list(RUNS),
        assumptions=TrainingAssumptions(),
    )
    return rows.set_index("runs_per_month").loc[list(RUNS)]


def test_procurement_charges_a_commitment_as_estimate_does_for_the_same_held_cluster() -> None:
    offers, committed = committed_offers()
    rows = _estimate(purchase_options(committed))
    assert len(set(rows["clusters_held"])) == len(RUNS), "the case must change the clusters held"
    # a planned utilisation of 1: procurement holds what the demand needs, as the estimate's month does
    server = owned_server("H100-80GB", {"utilisation": 1.0})
    spec = OfferFilter(
        providers=("aws",), regions=tuple(committed["region"]), accelerators=("H100-80GB",),
        pricing_models=("committed_1y",),
    )  # fmt: skip
    cloud, _ = cloud_offers(filter_offers(offers, spec), "H100-80GB")
    cloud = cloud[cloud["instance_type"].eq("p5.48xlarge")]
    assert len(cloud) == 1
    for runs, row in rows.iterrows():
        demand = float(row["accelerator_hours"]) * float(runs)
        result = compare_procurement(cloud, demand, server)
        commitment = result.ranking[result.ranking["kind"].eq("commitment")].iloc[0]
        assert commitment["accelerators_held"] == row["clusters_held"] * 8
        assert commitment["cost_usd_per_month"] == pytest.approx(row["cost_usd_per_month"], rel=1e-12)
        assert commitment["effective_usd_per_accelerator_hour"] == pytest.approx(
            row["effective_usd_per_accelerator_hour"], rel=1e-12
        )


def test_procurement_charges_owned_servers_as_estimate_does_for_the_same_held_cluster() -> None:
    server = owned_server("H100-80GB", {"utilisation": 1.0})
    costs = ownership_costs(server.params.to_frame()).assign(
        accelerator="H100-80GB",
        accelerators_per_instance=server.accelerators_per_server,
        ownership_source="t",
    )
    rows = _estimate(owned_options(costs))
    assert len(set(rows["clusters_held"])) == len(RUNS), "the case must change the servers held"
    cloud = pd.DataFrame(
        [{"provider": "x", "region": "r", "pricing_model": "on_demand", "instance_type": "i",
          "accelerators_per_instance": 8.0, "price_usd_per_accelerator_hour": 9.0, "source": "t",
          "assumed": False}]
    )  # fmt: skip
    for runs, row in rows.iterrows():
        demand = float(row["accelerator_hours"]) * float(runs)
        result = compare_procurement(cloud, demand, server)
        owned = result.ranking[result.ranking["kind"].eq("owned")].iloc[0]
        assert result.servers == row["clusters_held"]
        assert owned["cost_usd_per_month"] == pytest.approx(row["cost_usd_per_month"], rel=1e-12)


def test_through_the_library_procure_and_estimate_agree_on_a_committed_cluster() -> None:
    """The same check through :mod:`tco.api`, as `tco estimate train --pricing-model committed_1y` and
    `tco compare procurement --set utilisation=1` price it from one catalog."""
    from pricing.catalog import Catalog
    from tco.api import (
        OfferQuery,
        ProcurementRequest,
        Selection,
        Sources,
        TrainingRequest,
        TrainingWorkload,
        estimate_training,
        procure,
    )
    from tco.model.settings import Settings

    offers, committed = committed_offers()
    sources = Sources(catalog=Catalog(offers=offers))
    region = str(committed["region"].iloc[0])
    query = OfferQuery(
        accelerators=("h100",), providers=("aws",), regions=(region,), pricing_models=("committed_1y",)
    )
    request = TrainingRequest(
        TrainingWorkload(params=7e9, tokens=2e11), query, counts=(8,), frameworks=("torch",),
        runs_per_month=RUNS, selection=Selection(top=0, all_instances=True),
    )  # fmt: skip
    rows = estimate_training(request, sources).rows
    rows = rows[rows["instance_type"].eq("p5.48xlarge")].set_index("runs_per_month")
    assert sorted(rows.index) == list(RUNS) and len(set(rows["clusters_held"])) == len(RUNS)
    for runs, row in rows.iterrows():
        demand = float(row["accelerator_hours"]) * float(runs)
        asked = ProcurementRequest(
            "h100", acc_hours_per_month=demand, providers=("aws",), regions=(region,),
            settings=Settings({"utilisation": 1.0}),
        )  # fmt: skip
        ranking = procure(asked, sources).comparison.ranking
        commitment = ranking[
            ranking["kind"].eq("commitment") & ranking["instance_type"].eq("p5.48xlarge")
        ].iloc[0]
        assert commitment["cost_usd_per_month"] == pytest.approx(row["cost_usd_per_month"], rel=1e-12)
