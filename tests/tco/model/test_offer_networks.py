"""The network between instances comes from the offer (issue #14): instances sold with a cluster fabric get
its sourced figure, other GPU instances a named Ethernet assumption, and a training estimate across them says
so; owned hardware, user-given prices and TPU slices keep the accelerator's cluster default."""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd
import pytest

from pricing.catalog import load_embedded
from tco.api import OfferQuery, TrainingRequest, TrainingWorkload, estimate_training
from tco.api.estimate import Selection
from tco.model.assumptions import ETHERNET_GB_S_PER_INSTANCE
from tco.model.offers import offer_networks
from tco.model.settings import Settings
from tco.presets import load_instance_networks

GPUS = frozenset({"H100-80GB", "H100-NVL", "A100-40GB", "L40S"})


def options(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["provider", "instance_type", "accelerator"])


def networks(frame: pd.DataFrame, ethernet: float = 12.5) -> pd.DataFrame:
    return offer_networks(
        frame, load_instance_networks(), ethernet_gb_s_per_instance=ethernet, ethernet_source="assumed",
        fabric_accelerators=GPUS,
    )  # fmt: skip


def test_fabrics_ethernet_and_defaults() -> None:
    out = networks(
        options(
            ("aws", "p5.48xlarge", "H100-80GB"),
            ("aws", "p4d.24xlarge", "A100-40GB"),
            ("azure", "Standard_ND96isr_H100_v5", "H100-80GB"),
            ("azure", "Standard_NC40ads_H100_v5", "H100-NVL"),
            ("gcp", "a3-megagpu-8g", "H100-80GB"),
            ("nebius", "gpu-h100-sxm_8gpu-128vcpu-1600gb", "H100-80GB"),
            ("hyperbolic", "1x-H100-75-722", "H100-80GB"),
            ("lambda", "gpu_8x_h100_sxm5", "H100-80GB"),
            ("gcp", "tpu-v5litepod-8", "TPU-v5e"),
            ("owned", "H100-80GB x8 node", "H100-80GB"),
            ("custom", "H100-80GB x8", "H100-80GB"),
        )
    ).set_index("instance_type")
    gb_s = out["network_gb_s_per_instance"]
    assert gb_s["p5.48xlarge"] == 400.0 and out.loc["p5.48xlarge", "network_source"].startswith(
        "EFA 3200 Gb/s"
    )
    assert gb_s["p4d.24xlarge"] == 50.0  # 6.25 GB/s per A100: the figure the validation passes for AWS p4d
    assert (
        gb_s["Standard_ND96isr_H100_v5"] == 400.0
        and "InfiniBand" in out.loc["Standard_ND96isr_H100_v5", "network_source"]
    )
    assert gb_s["Standard_NC40ads_H100_v5"] == 5.0  # its own sourced Ethernet, not the assumption
    assert "(no cluster fabric)" in out.loc["Standard_NC40ads_H100_v5", "network_source"]
    assert gb_s["a3-megagpu-8g"] == 200.0 and gb_s["gpu-h100-sxm_8gpu-128vcpu-1600gb"] == 400.0
    for name in ("1x-H100-75-722", "gpu_8x_h100_sxm5"):
        assert gb_s[name] == 12.5
        assert out.loc[name, "network_source"].startswith(
            "Ethernet assumption 100 Gb/s per instance (no cluster"
        )
    for name in ("tpu-v5litepod-8", "H100-80GB x8 node", "H100-80GB x8"):
        assert math.isnan(gb_s[name]) and out.loc[name, "network_source"] == ""


def test_every_network_row_names_an_instance_type_of_the_catalog() -> None:
    """A pattern that matches nothing is a typo (or a type the catalog dropped): each must match."""
    offers = load_embedded()
    for rec in load_instance_networks().to_dict("records"):
        types = offers.loc[offers["provider"].eq(rec["provider"]), "instance_type"].astype(str)
        assert types.str.fullmatch(rec["instance_pattern"]).any(), rec["instance_pattern"]
        assert float(rec["gbps_per_instance"]) > 0 and rec["cluster_fabric"] in ("yes", "no")
        assert re.search(r"\w+\.\w+", str(rec["source"])), rec  # a named page or document


def request(**kwargs: Any) -> TrainingRequest:
    return TrainingRequest(
        TrainingWorkload(model="llama-2-7b"),
        OfferQuery(accelerators=("h100",), pricing_models=("on_demand",), providers=("hyperbolic", "aws")),
        counts=(1024,), frameworks=("torch",), selection=Selection(top=0, all_instances=True), **kwargs,
    )  # fmt: skip


def test_a_marketplace_vm_cluster_is_not_given_an_infiniband_fabric() -> None:
    estimate = estimate_training(request(explain=True))
    rows = estimate.rows.set_index("instance_type")
    two = rows.loc["2x-H100-149-1443"]
    assert two["network_gb_s_per_instance"] == ETHERNET_GB_S_PER_INSTANCE.value
    assert "network 6.2 GB/s per accelerator" in two["scaling_source"]  # 12.5 GB/s shared by 2 GPUs
    assert two["scaling_efficiency"] < 0.8
    assert "network: Ethernet assumption 100 Gb/s per instance" in two["explain"]
    p5 = rows.loc["p5.48xlarge"]
    assert p5["scaling_efficiency"] > two["scaling_efficiency"] and "network: EFA 3200" in p5["explain"]
    (notes,) = estimate.provenance.notes
    assert "train across instances sold without a cluster fabric (hyperbolic 2x-H100-149-1443" in notes
    # the old behaviour, for comparison: the accelerator's cluster default (50 GB/s per H100) everywhere
    given = estimate_training(request(settings=Settings({"inter_node_gb_s": 50.0}))).rows.set_index(
        "instance_type"
    )
    assert given.loc["2x-H100-149-1443", "scaling_efficiency"] > two["scaling_efficiency"]
    assert given.loc["2x-H100-149-1443", "network_source"] == "override (--set inter_node_gb_s)"
    # a measured or negotiated Ethernet figure is a setting
    faster = estimate_training(request(settings=Settings({"ethernet_gb_s_per_instance": 50.0}))).rows
    assert (
        faster.set_index("instance_type").loc["2x-H100-149-1443", "scaling_efficiency"]
        > two["scaling_efficiency"]
    )


def test_owned_and_user_priced_options_keep_the_cluster_default() -> None:
    owned = estimate_training(
        TrainingRequest(
            TrainingWorkload(model="llama-2-7b"),
            OfferQuery(accelerators=("h100",), pricing_models=("owned",)),
            counts=(1024,),
            frameworks=("torch",),
        )
    ).rows.iloc[0]
    assert math.isnan(owned["network_gb_s_per_instance"]) and owned["network_source"].startswith(
        "llm-analysis"
    )
    priced = estimate_training(
        TrainingRequest(
            TrainingWorkload(model="llama-2-7b"),
            OfferQuery(accelerators=("h100",), price_usd_per_accelerator_hour=2.0),
            counts=(1024,),
        )
    ).rows.iloc[0]
    assert priced["scaling_efficiency"] == pytest.approx(owned["scaling_efficiency"])
