"""Training work: 6ND plus the attention term, MoE active parameters, samples, raw FLOPs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tco.errors import TcoError
from tco.model.work import training_work, validate_training_workloads
from tco.presets import preset_workload


def test_llama_7b_flops_by_hand() -> None:
    work = training_work(pd.DataFrame([preset_workload("llama-7b")])).iloc[0]
    # 6 N + 12 L h s with N = 6.7e9, L = 32, h = 4096, s = 2048, over D = 1e12 tokens.
    per_token = 6 * 6.7e9 + 12 * 32 * 4096 * 2048
    assert work["flops_per_token"] == pytest.approx(per_token)
    assert work["train_flops"] == pytest.approx(per_token * 1e12)
    assert work["train_flops"] == pytest.approx(4.342e22, rel=1e-3)
    assert "12*L*h*s" in work["work_formula"]


def test_without_shape_it_is_6nd_and_says_so() -> None:
    work = training_work(
        pd.DataFrame([{"workload": "w", "kind": "tokens", "params": 2e9, "tokens": 3e10}])
    ).iloc[0]
    assert work["train_flops"] == pytest.approx(6 * 2e9 * 3e10)
    assert "no attention term" in work["work_formula"]


def test_moe_uses_active_parameters() -> None:
    work = training_work(pd.DataFrame([preset_workload("mixtral-8x7b") | {"tokens": 1e12}])).iloc[0]
    assert work["flops_per_token"] == pytest.approx(6 * 12.9e9 + 12 * 32 * 4096 * 32768)


def test_samples_and_raw_flops() -> None:
    frame = pd.DataFrame(
        [
            {"workload": "cnn", "kind": "samples", "samples": 1000.0, "epochs": 3.0, "flops_per_sample": 2e9},
            {"workload": "raw", "kind": "flops", "train_flops": 5e20},
        ]
    )
    work = training_work(frame).set_index("workload")
    assert work.loc["cnn", "total_samples"] == 3000
    assert work.loc["cnn", "train_flops"] == pytest.approx(6e12)
    assert work.loc["raw", "train_flops"] == 5e20
    assert math.isnan(work.loc["raw", "flops_per_token"])


@given(st.floats(1e6, 1e12), st.floats(1e6, 1e13), st.floats(1.01, 10.0))
@settings(max_examples=40, deadline=None)
def test_work_is_linear_in_tokens_and_monotone_in_params(params: float, tokens: float, factor: float) -> None:
    frame = pd.DataFrame(
        [
            {
                "workload": "w",
                "kind": "tokens",
                "params": params,
                "tokens": tokens,
                "layers": 12.0,
                "hidden": 768.0,
                "seq_len": 1024.0,
            }
        ]
    )
    base = training_work(frame)["train_flops"].iloc[0]
    more_tokens = training_work(frame.assign(tokens=tokens * factor))["train_flops"].iloc[0]
    more_params = training_work(frame.assign(params=params * factor))["train_flops"].iloc[0]
    assert more_tokens == pytest.approx(base * factor)
    assert more_params > base > 0


def test_nan_in_nan_out() -> None:
    frame = pd.DataFrame(
        [
            {"workload": "w", "kind": "tokens", "params": np.nan, "tokens": 1e12},
            {"workload": "v", "kind": "tokens", "params": 1e9, "tokens": np.nan},
        ]
    )
    assert training_work(frame)["train_flops"].isna().all()


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("tokens", 0.0, "tokens must be positive"),
        ("tokens", -5.0, "tokens must be positive"),
        ("params", 0.0, "params must be positive"),
        ("tokens", np.nan, "needs tokens"),
    ],
)
def test_invalid_workloads_raise_one_clear_error(column: str, value: float, message: str) -> None:
    frame = pd.DataFrame([{"workload": "w", "kind": "tokens", "params": 1e9, "tokens": 1e12}]).assign(
        **{column: value}
    )
    with pytest.raises(TcoError, match=message):
        validate_training_workloads(frame)


def test_active_params_above_total_is_an_error() -> None:
    frame = pd.DataFrame(
        [{"workload": "w", "kind": "tokens", "params": 1e9, "active_params": 2e9, "tokens": 1e9}]
    )
    with pytest.raises(TcoError, match="active parameters exceed"):
        validate_training_workloads(frame)
