"""Scaling efficiency from the communication model, checked against hand-computed step times."""

from __future__ import annotations

import math
from typing import Any

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


def test_layout_and_efficiency_by_hand() -> None:
    out = scaling_efficiency(_config(), TrainingAssumptions()).iloc[0]
    compute = 6e9 * 32768 / (16 * 100e12)  # 0.12288 s per step per accelerator
    hidden_by_backward = 0.8 * (2 / 3) * compute
    # Best layout: tp2 pp1 dp8 (ZeRO-1). Gradient shard 2 B x 1e9 / 2 all-reduced across nodes at 25 GB/s:
    dp = 2 * (8 - 1) / 8 * (2 * 1e9 / 2) / 25e9
    # Tensor parallel: 4 all-reduces per layer of 4096 tokens x 2048 x 2 B, ring factor 2(2-1)/2, 300 GB/s:
    tp = 4 * 24 * 1.0 * 4096 * 2048 * 2 / 300e9
    step = compute + max(0.0, dp - hidden_by_backward) + tp
    assert out["parallelism"] == "tp2 pp1 dp8 zero1"
    assert out["compute_s"] == pytest.approx(compute)
    assert out["step_s"] == pytest.approx(step)
    assert out["scaling_efficiency"] == pytest.approx(compute / step)
    assert out["scaling_efficiency"] == pytest.approx(0.9259, abs=1e-4)
    # Memory: ZeRO-1 (4 + 12/8) N / 2 + activations s h L (10 + 24/2)
    assert out["memory_bytes_per_accelerator"] == pytest.approx(
        (4 + 12 / 8) * 1e9 / 2 + 2048 * 2048 * 24 * 22
    )
    # Low/high: the same layout re-timed with no overlap and full overlap.
    assert out["scaling_efficiency_low"] == pytest.approx(compute / (compute + dp + tp))
    assert out["scaling_efficiency_high"] == pytest.approx(compute / (compute + tp))


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
        _config(accelerator_count=512.0, global_batch_tokens=4096.0), TrainingAssumptions()
    )
    assert math.isnan(none.iloc[0]["scaling_efficiency"])  # 512 / 2 replicas > tp 8 x pp 128 can split


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
