"""Serving: decode roofline, prefill, batch under latency targets and memory, replicas, cost per token."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tco.errors import TcoError
from tco.model.assumptions import ServingAssumptions
from tco.model.offers import override_options
from tco.model.serving import project_serving, validate_serving_workloads
from tco.model.throughput import empty_calibrations, resolve_serving_efficiency
from tco.presets import find_model, hardware_table


def _workload(**changes: Any) -> pd.DataFrame:
    m = find_model("llama-2-70b")
    row = {
        "workload": "llama-2-70b",
        "params": m["params"],
        "active_params": math.nan,
        "layers": m["layers"],
        "hidden": m["hidden"],
        "heads": m["heads"],
        "kv_heads": m["kv_heads"],
        "prompt_tokens": 128.0,
        "output_tokens": 242.0,
        "requests_per_s": 1.0,
        "ttft_s": 10.0,
        "tpot_s": 1.0,
        "weight_bytes_per_param": 2.0,
        "kv_bytes_per_element": 2.0,
        "hours_per_day": 24.0,
        "dtype": "bf16",
        "workload_source": "test",
    }
    row.update(changes)
    return pd.DataFrame([row])


def _serve(
    workload: pd.DataFrame | None = None,
    *,
    mbu: float = 0.9,
    flops: float = 0.7,
    sizes: tuple[int, ...] = (2,),
    batches: tuple[int, ...] | None = None,
    price: float = 2.21,
    per_instance: float = 2.0,
    options: pd.DataFrame | None = None,
    mbu_range: tuple[float, float] | None = None,
) -> pd.DataFrame:
    hardware = hardware_table(["A100-80GB"])
    low, high = mbu_range or (mbu, mbu)
    efficiencies = resolve_serving_efficiency(
        ["A100-80GB"],
        ["torch"],
        hardware,
        empty_calibrations(),
        dtype="bf16",
        mbu_default=(mbu, low, high, "test"),
        flops_default=(flops, flops, flops, "test"),
    )
    opts = override_options(["A100-80GB"], price, per_instance) if options is None else options
    kwargs: dict[str, Any] = {} if batches is None else {"batch_sizes": batches}
    return project_serving(
        _workload() if workload is None else workload,
        opts,
        hardware,
        efficiencies,
        replica_sizes=sizes,
        assumptions=ServingAssumptions(),
        **kwargs,
    )


def test_llama2_70b_on_two_a100_matches_llm_analysis() -> None:
    """Reference §1.7: llm-analysis (flops eff 0.7, HBM eff 0.9) gives 25.6 tokens/s and a 0.040 s TTFT for
    Llama-2-70B on 2x A100-80GB at batch 1, 128 prompt and 242 output tokens. Both models share the roofline
    (weights / (2 x 2.039 TB/s x 0.9) plus 8 us all-reduce floors), so they agree within 2%."""
    row = _serve(batches=(1,)).iloc[0]
    assert row["feasible"]
    assert row["tokens_per_s_per_replica"] == pytest.approx(25.6, rel=0.02)
    assert row["ttft_s"] == pytest.approx(0.040, rel=0.10)


def test_decode_lower_bound_at_full_bandwidth() -> None:
    """Reference §3.1: 140 GB / (2 x 2.039 TB/s) = 34 ms/token at batch 1 is the floor."""
    row = _serve(mbu=1.0, batches=(1,)).iloc[0]
    weights_only = 69.0e9 * 2 / (2 * 2.039e12)
    assert row["tpot_s"] > weights_only
    assert row["tpot_s"] == pytest.approx(0.034, rel=0.10)


def test_replicas_and_costs_by_hand() -> None:
    row = _serve(_workload(requests_per_s=2.0)).iloc[0]
    rps = row["requests_per_s_per_replica"]
    assert row["replicas"] == math.ceil(2.0 * 1.2 / rps)  # 20% headroom (named assumption)
    assert row["instances"] == row["replicas"]  # one 2-accelerator replica per 2-accelerator instance
    month = row["replicas"] * 2 * 2.21 * 730
    assert row["cost_usd_per_month"] == pytest.approx(month)
    seconds = 730 * 3600
    assert row["cost_usd_per_1m_output_tokens"] == pytest.approx(month / (2.0 * seconds * 242) * 1e6)
    assert row["cost_usd_per_1m_tokens"] == pytest.approx(month / (2.0 * seconds * 370) * 1e6)
    assert row["cost_usd_per_1k_requests"] == pytest.approx(month / (2.0 * seconds) * 1e3)
    assert row["utilisation"] == pytest.approx(2.0 / (row["replicas"] * rps))


def test_batch_grows_until_a_target_or_memory_binds() -> None:
    relaxed = _serve(_workload(tpot_s=0.2)).iloc[0]
    strict = _serve(_workload(tpot_s=0.045)).iloc[0]
    assert relaxed["batch_size"] > strict["batch_size"] >= 1
    assert strict["tpot_s"] <= 0.045 and relaxed["tpot_s"] <= 0.2
    assert relaxed["tokens_per_s_per_replica"] > strict["tokens_per_s_per_replica"]


def test_infeasible_rows_say_why() -> None:
    too_big = _serve(sizes=(1,), per_instance=1.0).iloc[0]
    assert not too_big["feasible"] and too_big["reason"] == "weights do not fit"
    too_fast = _serve(_workload(tpot_s=0.01)).iloc[0]
    assert not too_fast["feasible"] and "TPOT" in too_fast["reason"]
    assert math.isnan(too_fast["cost_usd_per_month"])


def test_serving_hours_matter_for_on_demand_not_for_commitments() -> None:
    base = override_options(["A100-80GB"], 2.21, 2.0)
    reserved = base.assign(
        pricing_model="reserved_1y",
        billing="commitment",
        variable_usd_per_accelerator_hour=0.0,
        fixed_usd_per_accelerator_year=2.21 * 8760,
    )
    opts = pd.concat([base, reserved], ignore_index=True)
    full = _serve(options=opts).set_index("pricing_model")
    half = _serve(_workload(hours_per_day=12.0), options=opts).set_index("pricing_model")
    assert half.loc["on_demand", "cost_usd_per_month"] == pytest.approx(
        full.loc["on_demand", "cost_usd_per_month"] / 2
    )
    assert half.loc["reserved_1y", "cost_usd_per_month"] == pytest.approx(
        full.loc["reserved_1y", "cost_usd_per_month"]
    )


def test_range_from_mbu() -> None:
    row = _serve(_workload(requests_per_s=20.0), mbu=0.8, mbu_range=(0.6, 0.9)).iloc[0]
    assert row["cost_usd_per_month_low"] <= row["cost_usd_per_month"] <= row["cost_usd_per_month_high"]
    assert row["cost_usd_per_month_low"] < row["cost_usd_per_month_high"]


@given(st.floats(0.1, 50.0), st.floats(1.1, 5.0))
@settings(max_examples=15, deadline=None)
def test_more_traffic_never_needs_fewer_replicas(rate: float, factor: float) -> None:
    low = _serve(_workload(requests_per_s=rate)).iloc[0]
    high = _serve(_workload(requests_per_s=rate * factor)).iloc[0]
    assert high["replicas"] >= low["replicas"]
    assert high["cost_usd_per_month"] >= low["cost_usd_per_month"] >= 0


def test_validation() -> None:
    with pytest.raises(TcoError, match="output tokens must be positive"):
        validate_serving_workloads(_workload(output_tokens=0.0))
    with pytest.raises(TcoError, match="hours per day"):
        validate_serving_workloads(_workload(hours_per_day=25.0))
    with pytest.raises(TcoError, match="serving needs layers"):
        validate_serving_workloads(_workload(layers=math.nan))
