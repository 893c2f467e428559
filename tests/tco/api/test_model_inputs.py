"""What the serving engine model (issue #10) and the training layout search (issue #11) take reaches them
through the library layer and the CLI: every named setting, the presets' serving shape, engines and layouts
as dimensions, recomputation, head width and mixture-of-experts widths."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tco.api import (
    OfferQuery,
    Selection,
    ServingRequest,
    ServingWorkload,
    TrainingRequest,
    TrainingWorkload,
    estimate_serving,
    estimate_training,
)
from tco.api import inputs as read
from tco.api.estimate import training_assumptions
from tco.api.reference import ESTIMATE_GROUPS
from tco.errors import TcoError
from tco.model.assumptions import ServingAssumptions, TrainingAssumptions
from tco.model.settings import Settings, registry

H100 = OfferQuery(accelerators=("h100",), providers=("aws",), pricing_models=("on_demand",))
#: Workload inputs set by name (they are not assumptions) and the spot rate given per day.
WORKLOAD_SETTINGS = {"global_batch_tokens", "flops_per_sample", "spot_interruptions_per_day"}


def _same_value(group: str) -> dict[str, float]:
    """Every setting of ``group`` at its default value: overriding changes no number, only the source."""
    defaults = (
        dict(TrainingAssumptions().items()) if group != "serving" else dict(ServingAssumptions().items())
    )
    names = [s.name for s in registry().values() if s.group == group and s.name not in WORKLOAD_SETTINGS]
    return {name: defaults[name].value for name in names}


def test_every_training_and_serving_setting_is_read_by_the_estimates() -> None:
    """Each Setting the model engineers added is a ``--set`` name of ``tco estimate`` and reaches its
    assumption through the library layer (checked by the assumptions in force, marked ``override``)."""
    names = {s.name for s in registry().values() if s.group in ESTIMATE_GROUPS}
    assert {"max_running_batch", "kv_block_tokens", "request_overhead_s", "moe_overlap", "narrow_matmul_knee",
            "tokens_per_accelerator", "attention_efficiency"} <= names  # fmt: skip
    for name in names:
        assert read.settings([f"{name}=1"], groups=ESTIMATE_GROUPS).get(name) == 1.0
    training = {**_same_value("training"), **_same_value("spot")}
    request = TrainingRequest(TrainingWorkload(model="llama-2-7b"), H100, settings=Settings(training))
    forced = dict(training_assumptions(request).items())
    assert {name for name in training if forced[name].source != "override"} == set()
    serving = _same_value("serving")
    assert len(serving) >= 15
    estimate = estimate_serving(
        ServingRequest(ServingWorkload(model="llama-2-7b"), H100, settings=Settings(serving))
    )
    used = dict(estimate.provenance.assumptions)
    assert {name for name in serving if used[name].source != "override"} == set()


def test_a_serving_setting_changes_the_estimate() -> None:
    """``--set max_running_batch=4`` caps the engine's running batch: capacity per replica falls."""
    workload = ServingWorkload(model="llama-2-7b", requests_per_s=20.0)
    base = estimate_serving(ServingRequest(workload, H100, replica_sizes=(1,))).rows.iloc[0]
    capped = estimate_serving(
        ServingRequest(workload, H100, replica_sizes=(1,), settings=Settings({"max_running_batch": 4.0}))
    ).rows.iloc[0]
    assert capped["max_running_batch"] == 4 and capped["engine_max_running_batch"] == 4
    assert capped["requests_per_s_per_replica"] < base["requests_per_s_per_replica"]


def test_presets_carry_their_serving_shape_and_given_numbers_replace_it() -> None:
    mixtral = ServingWorkload(model="mixtral-8x7b").row()
    assert (mixtral["experts"], mixtral["experts_per_token"], mixtral["head_dim"]) == (8.0, 2.0, 128.0)
    assert mixtral["vocab"] == 32000.0 and mixtral["active_params"] < mixtral["params"]
    llama = ServingWorkload(model="llama-2-7b", head_dim=64).row()
    assert llama["head_dim"] == 64.0 and llama["vocab"] == 32000.0 and math.isnan(llama["experts"])
    custom = ServingWorkload(params=7e9, layers=32, hidden=4096, heads=32).row()
    assert math.isnan(custom["vocab"]) and math.isnan(custom["head_dim"])


def test_engines_and_layouts_are_dimensions_of_the_serving_estimate() -> None:
    request = ServingRequest(
        ServingWorkload(model="llama-2-70b", requests_per_s=10.0), H100, replica_sizes=(8,),
        engines=("trtllm", "vLLM"), layouts=("aggregated", "disaggregated"), selection=Selection(top=0),
    )  # fmt: skip
    rows = estimate_serving(request).rows
    pairs = {(r["engine"], r["layout"]) for r in rows.to_dict("records")}
    assert pairs == {(e, x) for e in ("trtllm", "vllm") for x in ("aggregated", "disaggregated")}
    pooled = rows[rows["layout"] == "disaggregated"]
    assert (pooled["replicas"] == pooled["prefill_replicas"] + pooled["decode_replicas"]).all()
    assert pooled["prefill_requests_per_s_per_replica"].gt(0).all()
    assert rows.loc[rows["layout"] == "aggregated", "prefill_replicas"].isna().all()
    with pytest.raises(TcoError, match="unknown serving engine 'tgi'"):
        ServingRequest(ServingWorkload(model="llama-2-7b"), engines=("tgi",))
    with pytest.raises(TcoError, match="unknown serving layout 'split'"):
        ServingRequest(ServingWorkload(model="llama-2-7b"), layouts=("split",))


def test_training_workload_inputs_reach_the_layout_search() -> None:
    def row(**given: Any) -> dict[str, Any]:
        request = TrainingRequest(TrainingWorkload(**given), H100, counts=(64,), frameworks=("torch",))
        return dict(estimate_training(request).rows.iloc[0])

    free = row(model="llama-2-70b")
    full = row(model="llama-2-70b", recompute="full")
    assert full["recompute"] == "full" and free["recompute"] != "full"
    assert full["compute_s"] > free["compute_s"], "full recomputation re-runs the forward pass"
    assert "overridden: recompute" in full["workload_source"]
    assert free["batch_source"] == "published"  # the preset's published batch (4M tokens)
    shape = {"params": 47e9, "active_params": 13e9, "tokens": 1e11, "layers": 32, "hidden": 4096, "heads": 32,
             "seq_len": 4096}  # fmt: skip
    moe = row(**shape, experts=8, experts_per_token=2, expert_ffn_hidden=14336)
    dense = row(**shape)
    assert moe["step_s"] != pytest.approx(dense["step_s"]), "routed experts change the step"
    wide = row(**shape, head_dim=256)
    assert wide["train_flops"] > dense["train_flops"], "wider heads: more attention FLOPs"
    with pytest.raises(TcoError, match="--recompute: expected none, selective or full"):
        read.recompute("some")
    assert read.recompute("auto") is None and read.layouts("all") == ("aggregated", "disaggregated")
