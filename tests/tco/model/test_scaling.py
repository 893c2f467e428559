"""Scaling efficiency from the communication model, checked against hand-computed step times."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tco.model.assumptions import TrainingAssumptions
from tco.model.scaling import scaling_efficiency


def _config(**changes: Any) -> pd.DataFrame:
    row: dict[str, Any] = {
        "kind": "tokens",
        "accelerator_count": 16.0,
        "accelerators_per_instance": 8.0,
        "params": 1e9,
        "active_params": 1e9,
        "layers": 24.0,
        "hidden": 2048.0,
        "heads": 16.0,
        "seq_len": 2048.0,
        "global_batch_tokens": 32768.0,
        "flops_per_token": 6e9,
        "achieved_tflop_per_s": 100.0,
        "samples_per_s_per_accelerator": math.nan,
        "batch_per_accelerator": math.nan,
        "grad_bytes_per_param": 2.0,
        "memory_bytes": 80.0 * 2**30,
        "intra_node_gb_s": 300.0,
        "inter_node_gb_s": 25.0,
    }
    row.update(changes)
    return pd.DataFrame([row])


def test_hybrid_sharding_by_hand() -> None:
    """1B parameters on two 8-GPU nodes: sharded inside each node, replicated across (HSDP) is fastest."""
    out = scaling_efficiency(_config(), TrainingAssumptions()).iloc[0]
    compute = 6e9 * 32768 / (16 * 100e12)  # 0.12288 s per step per accelerator
    alpha = 8e-6  # collective_hop_latency_s
    # One sequence per replica (32768 tokens / 2048 / 16). Inside the node (300 GB/s) the 8 shards all-gather
    # the weights twice and reduce-scatter the gradients, 2 B per parameter, (8-1)/8 of it each, plus 7 ring
    # steps of latency per collective and layer; across nodes the two replicas all-reduce their 1/8 gradient
    # shard (2 (2-1)/2 x 2 B x 1e9 / 8 at 25 GB/s) in 4 buckets of 40M parameters, 2 log2(2) steps each.
    gather = 3 * 7 / 8 * 2 * 1e9 / 300e9 + 3 * 24 * 7 * alpha
    cross = 2 * (2 - 1) / 2 * 2 * 1e9 / 8 / 25e9 + 2 * 4 * 2 * 1 * alpha
    assert out["parallelism"] == "tp1 pp1 dp16 hsdp m1"
    assert out["global_batch_tokens_used"] == 32768 and out["batch_source"] == "given"
    assert out["compute_s"] == pytest.approx(compute)
    assert out["step_s"] == pytest.approx(compute + max(0.0, gather + cross - 0.8 * compute))
    # Memory: 16 B x N / 8 shards, two gathered layers (2 B x N / 24 each), one sequence's activations.
    assert out["memory_bytes_per_accelerator"] == pytest.approx(
        16 * 1e9 / 8 + 2 * 2 * 1e9 / 24 + 34 * 2048 * 2048 * 24
    )
    # Low end: no overlap at all.
    assert out["scaling_efficiency_low"] == pytest.approx(compute / (compute + gather + cross))


def test_zero1_with_tensor_parallelism_by_hand() -> None:
    """The cost of one given layout (tp2 ZeRO-1 on the same two nodes), every term by hand."""
    from tco.model.layout import search_layouts

    out = search_layouts(
        _config(fast_domain=8.0), TrainingAssumptions(), only={"tp": 2, "pp": 1, "cp": 1, "sharding": "zero1"}
    )
    compute = 6e9 * 32768 / (16 * 100e12)
    alpha = 8e-6
    # Both replica sequences in one micro-batch (4096 tokens). Tensor parallel: 4 collectives per layer of
    # 4096 tokens x 2048 x 2 B, ring factor 2(2-1)/2, 300 GB/s, plus (2 - 1) ring steps of latency each.
    tp = 24 * 4 * 1.0 * 4096 * 2048 * 2 / 300e9 + 24 * 4 * 1 * alpha
    # Data parallel across nodes at 25 GB/s: the gradient shard 2 B x 1e9 / 2, plus 2 tree collectives of
    # 2 log2(8) steps per 40M-parameter bucket (13 buckets); hidden behind 0.8 of the one micro-batch.
    dp = 2 * (8 - 1) / 8 * (2 * 1e9 / 2) / 25e9 + 2 * 13 * 2 * 3 * alpha
    step = compute + max(0.0, dp - 0.8 * compute) + tp
    assert out["tp"][0] == 2 and out["dp"][0] == 8 and out["sharding"][0] == "zero1"
    assert out["microbatches"][0] == 1 and out["microbatch_sequences"][0] == 2
    assert out["compute_s"][0] == pytest.approx(compute)
    assert out["tensor_comm_s"][0] == pytest.approx(tp)
    assert out["step_s"][0] == pytest.approx(step)
    assert out["layout_efficiency"][0] == pytest.approx(compute / step)
    # Memory: ZeRO-1 (4 + 12/8) N / 2 + activations 34 s h / t per layer, 24 layers, 2 sequences.
    assert out["memory_bytes_per_accelerator"][0] == pytest.approx(
        (4 + 12 / 8) * 1e9 / 2 + 34 * 2048 * 2048 / 2 * 24 * 2
    )
    # Low/high: the same layout re-timed with no overlap and full overlap.
    assert out["step_s_low"][0] == pytest.approx(compute + dp + tp)
    assert out["step_s_high"][0] == pytest.approx(compute + tp)


def test_default_batch_grows_with_scale() -> None:
    """No batch given: GPT-3/LLaMA by size, at least 1,024 tokens per accelerator (Llama 3), at most 64M."""
    from tco.model.layout import default_global_batch

    params = TrainingAssumptions()
    sizes = np.array([125e6, 1.3e9, 70e9, 405e9, 405e9, 405e9, 7e9])
    counts = np.array([8.0, 8.0, 2048.0, 8192.0, 16384.0, 16384.0, 2**20])
    batch = default_global_batch(sizes, counts, params)
    assert batch[0] == 2**19 and batch[1] == 2**20 and batch[2] == 2**22
    assert batch[3] == 2**23 and batch[4] == 2**24  # grows with the count
    assert batch[6] == 2**26  # the ceiling
    out = scaling_efficiency(_config(global_batch_tokens=math.nan, accelerator_count=4096.0), params).iloc[0]
    assert out["batch_source"] == "rule" and out["global_batch_tokens_used"] == 4096 * 1024


def test_pipeline_bubble_and_interleaving() -> None:
    """A model too big for tensor parallelism alone pipelines; interleaving divides the bubble."""
    big = _config(
        params=70e9,
        layers=80.0,
        hidden=8192.0,
        heads=64.0,
        accelerator_count=64.0,
        global_batch_tokens=64 * 2048.0,
        flops_per_token=6 * 70e9,
        inter_node_gb_s=1.0,
    )
    out = scaling_efficiency(big, TrainingAssumptions()).iloc[0]
    assert out["pp"] > 1 and out["fits_memory"]
    m, p = out["microbatches"], out["pp"]
    v = 1 if out["schedule"] == "1f1b" else int(str(out["schedule"]).split("-")[1])
    assert out["bubble_s"] == pytest.approx(out["compute_s"] * (p - 1) / (v * m))


def test_full_recompute_when_only_it_fits() -> None:
    """One accelerator, 16 GB of state in 18 GB usable: one sequence's activations (3.4 GB) only fit when
    each layer keeps its input alone (full recompute: one more forward, 8/6 of the work)."""
    tight = _config(memory_bytes=20 * 2**30, accelerator_count=1.0, global_batch_tokens=8 * 2048.0)
    roomy = _config(accelerator_count=1.0, global_batch_tokens=8 * 2048.0)
    a = scaling_efficiency(tight, TrainingAssumptions()).iloc[0]
    b = scaling_efficiency(roomy, TrainingAssumptions()).iloc[0]
    assert b["recompute"] == "none" and b["scaling_efficiency"] == 1.0
    assert a["recompute"] == "full" and "recompute" in a["parallelism"]
    assert a["memory_bytes_per_accelerator"] <= 20 * 2**30 * 0.9
    assert a["scaling_efficiency"] == pytest.approx(6 / 8)


def test_fsdp_latency_rules_out_thousands_of_ranks() -> None:
    """Per-layer ring collectives over 2,048 ranks cost seconds: a 405B model pipelines instead."""
    huge = _config(
        params=405e9,
        layers=126.0,
        hidden=16384.0,
        heads=128.0,
        accelerator_count=16384.0,
        global_batch_tokens=2**24,
        seq_len=8192.0,
        flops_per_token=6 * 405e9,
        inter_node_gb_s=50.0,
        achieved_tflop_per_s=400.0,
    )
    out = scaling_efficiency(huge, TrainingAssumptions()).iloc[0]
    assert out["sharding"] == "zero1" and out["pp"] >= 8
    slow = TrainingAssumptions().with_overrides(collective_hop_latency_s=1e-3)
    assert scaling_efficiency(huge, slow).iloc[0]["scaling_efficiency"] < out["scaling_efficiency"]


def test_moe_all_to_all_costs_time_unless_overlapped() -> None:
    moe = _config(
        params=47e9,
        active_params=13e9,
        experts=8.0,
        experts_per_token=2.0,
        layers=32.0,
        hidden=4096.0,
        heads=32.0,
        accelerator_count=64.0,
        global_batch_tokens=2**22,
        flops_per_token=6 * 13e9,
    )
    hidden_a2a = scaling_efficiency(moe, TrainingAssumptions().with_overrides(moe_overlap=1.0)).iloc[0]
    exposed = scaling_efficiency(moe, TrainingAssumptions().with_overrides(moe_overlap=0.0)).iloc[0]
    assert hidden_a2a["fits_memory"] and exposed["fits_memory"]
    assert exposed["scaling_efficiency"] < hidden_a2a["scaling_efficiency"]
    assert hidden_a2a["ep"] > 1  # experts are spread when their traffic is free


def test_tpu_slice_is_one_fast_domain() -> None:
    """Inside a TPU slice every chip is on the ICI torus: tensor parallelism beyond 8 is allowed."""
    slice_ = _config(
        params=540e9,
        layers=118.0,
        hidden=18432.0,
        heads=48.0,
        accelerator_count=3072.0,
        accelerators_per_instance=3072.0,
        global_batch_tokens=2**22,
        flops_per_token=6 * 540e9,
        memory_bytes=32 * 2**30,
        intra_node_gb_s=268.6,
        inter_node_gb_s=3.1,
    )
    out = scaling_efficiency(slice_, TrainingAssumptions()).iloc[0]
    assert out["fits_memory"] and out["comm_link"] == "intra-node"
    nodes = scaling_efficiency(slice_.assign(accelerators_per_instance=8.0), TrainingAssumptions()).iloc[0]
    assert out["scaling_efficiency"] > nodes["scaling_efficiency"]


def test_one_accelerator_needs_no_communication_but_must_fit() -> None:
    fits = scaling_efficiency(_config(accelerator_count=1.0), TrainingAssumptions()).iloc[0]
    assert fits["scaling_efficiency"] == 1.0 and fits["fits_memory"]
    # 7B parameters x 16 B = 112 GB of training state cannot fit on one 80 GB accelerator.
    big = scaling_efficiency(_config(accelerator_count=1.0, params=7e9), TrainingAssumptions()).iloc[0]
    assert not big["fits_memory"] and math.isnan(big["scaling_efficiency"])


def test_slower_network_never_scales_better() -> None:
    fast = scaling_efficiency(_config(inter_node_gb_s=100.0), TrainingAssumptions()).iloc[0]
    slow = scaling_efficiency(_config(inter_node_gb_s=5.0), TrainingAssumptions()).iloc[0]
    assert slow["scaling_efficiency"] <= fast["scaling_efficiency"]


def test_inside_one_instance_traffic_uses_the_intra_node_link() -> None:
    out = scaling_efficiency(_config(accelerator_count=8.0), TrainingAssumptions()).iloc[0]
    assert out["comm_link"] == "intra-node" and out["comm_bandwidth_gb_s"] == 300.0


def test_batch_too_small_for_the_count_has_no_layout() -> None:
    # 4096 tokens = two sequences: 64 accelerators need at least 32-way model parallelism inside 8-GPU nodes.
    out = scaling_efficiency(
        _config(accelerator_count=64.0, global_batch_tokens=4096.0), TrainingAssumptions()
    )
    row = out.iloc[0]
    assert row["fits_memory"] and row["dp"] <= 2 and row["tp"] * row["pp"] >= 32
    none = scaling_efficiency(
        _config(accelerator_count=2048.0, global_batch_tokens=4096.0, layers=8.0), TrainingAssumptions()
    )
    assert math.isnan(none.iloc[0]["scaling_efficiency"])  # 2048 / 2 replicas > tp 8 x pp 8 can split


def test_samples_workloads_scale_data_parallel() -> None:
    cnn = _config(
        kind="samples",
        params=25.6e6,
        accelerator_count=8.0,
        samples_per_s_per_accelerator=2470.0,
        batch_per_accelerator=256.0,
        grad_bytes_per_param=4.0,
        layers=math.nan,
        hidden=math.nan,
        flops_per_token=math.nan,
    )
    out = scaling_efficiency(cnn, TrainingAssumptions()).iloc[0]
    compute = 256 / 2470
    allreduce = 2 * 7 / 8 * 4 * 25.6e6 / 300e9
    assert out["parallelism"] == "tp1 pp1 dp8 ddp"
    assert out["scaling_efficiency"] == pytest.approx(
        compute / (compute + max(0, allreduce - 0.8 * 2 / 3 * compute))
    )
    assert out["scaling_efficiency_low"] == pytest.approx(compute / (compute + allreduce))


def test_override_replaces_the_model() -> None:
    out = scaling_efficiency(_config(), TrainingAssumptions(scaling_efficiency_override=0.7)).iloc[0]
    assert out["scaling_efficiency"] == 0.7 and "override" in out["scaling_source"]


def test_shape_is_inferred_when_unknown() -> None:
    out = scaling_efficiency(_config(layers=math.nan, hidden=math.nan, heads=math.nan), TrainingAssumptions())
    assert out.iloc[0]["fits_memory"] and 0 < out.iloc[0]["scaling_efficiency"] <= 1


def test_any_stage_count_that_divides_the_width() -> None:
    """530B on 280 GPUs with one replica (Korthikanti et al. 2022): 8-way tensor x 35 stages."""
    config = _config(
        params=529.6e9,
        layers=105.0,
        hidden=20480.0,
        heads=128.0,
        accelerator_count=280.0,
        global_batch_tokens=280 * 2048.0,
        flops_per_token=6 * 529.6e9,
        vocab=51200.0,
    )
    out = scaling_efficiency(config, TrainingAssumptions()).iloc[0]
    assert out["fits_memory"] and out["pp"] == 35 and out["tp"] == 8 and out["dp"] == 1
    assert out["bubble_s"] == pytest.approx(out["compute_s"] * 34 / (2 * 280))  # interleaved-2, 280 micro


def test_pipeline_sends_one_tensor_parallel_slice_per_rank() -> None:
    """tp2 x pp2 on 2-GPU instances: tensor traffic on the fast link, the stage boundary across instances
    carries each rank's half of the activations, 0.2 of it exposed (overlap 0.8)."""
    from tco.model.layout import search_layouts

    config = _config(
        accelerator_count=4.0,
        accelerators_per_instance=2.0,
        fast_domain=2.0,
        global_batch_tokens=8 * 2048.0,
        inter_node_gb_s=1.0,
    )
    out = search_layouts(config, TrainingAssumptions(), only={"tp": 2, "pp": 2, "cp": 1})
    alpha = 8e-6
    assert out["schedule"][0] == "interleaved-8" and out["microbatches"][0] == 8
    tensor = 12 * 8 * 4 * 2 * (1 / 2) * 2048 * 2048 * 2 / 300e9 + 12 * 8 * 4 * 1 * alpha
    p2p = 2 * 8 * 8 * 2048 * 2048 * 2 / 2 / 1e9
    assert out["tensor_comm_s"][0] == pytest.approx(tensor)
    assert out["exposed_comm_s"][0] == pytest.approx(tensor + 0.2 * p2p)


def test_tensor_parallelism_stays_inside_the_fast_domain() -> None:
    """On single-GPU instances no layout splits a layer's matrices across the network."""
    from tco.model.layout import search_layouts

    single = _config(accelerators_per_instance=1.0, fast_domain=1.0)
    assert math.isnan(search_layouts(single, TrainingAssumptions(), only={"tp": 2})["step_s"][0])
    assert scaling_efficiency(single, TrainingAssumptions()).iloc[0]["tp"] == 1


def test_fsdp_by_hand() -> None:
    """FSDP over all 16 ranks (one layout's cost): state 16 B x N / 16 plus two gathered layers; weights
    all-gathered twice and gradients reduce-scattered once per micro-batch across the nodes (25 GB/s)."""
    from tco.model.layout import search_layouts

    out = search_layouts(
        _config(fast_domain=8.0), TrainingAssumptions(), only={"tp": 1, "cp": 1, "sharding": "fsdp"}
    )
    compute = 6e9 * 32768 / (16 * 100e12)
    gather = 3 * 15 / 16 * 2 * 1e9 / 25e9 + 3 * 24 * 15 * 8e-6
    assert out["sharding"][0] == "fsdp" and out["dp"][0] == 16
    assert out["memory_bytes_per_accelerator"][0] == pytest.approx(
        16 * 1e9 / 16 + 2 * 2 * 1e9 / 24 + 34 * 2048 * 2048 * 24
    )
    assert out["step_s"][0] == pytest.approx(compute + max(0.0, gather - 0.8 * compute))
    assert out["step_s_low"][0] == pytest.approx(compute + gather)
