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
    assumptions: ServingAssumptions | None = None,
    layouts: tuple[str, ...] = ("aggregated",),
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
        assumptions=assumptions or ServingAssumptions(),
        layouts=layouts,
        **kwargs,
    )


def test_single_stream_decode_matches_llm_analysis() -> None:
    """Reference §1.7: llm-analysis (HBM eff 0.9) gives 25.6 tokens/s for Llama-2-70B on 2x A100-80GB at
    batch 1, 128 prompt and 242 output tokens. With the same MBU at every TP degree (factor 1), tco's
    single-stream step (weights / (2 x 2.039 TB/s x 0.9) + 160 all-reduces of 8 us + 0.4 ms step overhead)
    agrees within 8%."""
    flat = ServingAssumptions().with_overrides(mbu_tp_doubling_factor=1.0)
    row = _serve(
        _workload(requests_per_s=0.001, ttft_s=1e9, tpot_s=1e9), batches=(1,), assumptions=flat
    ).iloc[0]
    assert row["feasible"]
    assert 1.0 / row["tpot_p50_s"] == pytest.approx(25.6, rel=0.08)
    weights_only = 69.0e9 * 2 / (2 * 2.039e12 * 0.9)
    assert row["tpot_p50_s"] > weights_only


def test_mbu_falls_with_tensor_parallel_degree() -> None:
    """MBU(tp) = MBU(1) x factor^log2(tp): the named factor (0.87) lowers TP8's decode bandwidth to 0.66 of
    TP1's; with the factor at 1, TP8 decodes faster."""
    rows = _serve(_workload(requests_per_s=0.001), sizes=(8,), per_instance=8.0).iloc[0]
    flat = _serve(
        _workload(requests_per_s=0.001),
        sizes=(8,),
        per_instance=8.0,
        assumptions=ServingAssumptions().with_overrides(mbu_tp_doubling_factor=1.0),
    ).iloc[0]
    assert rows["mbu_at_tp"] == pytest.approx(0.9 * 0.87**3)
    assert flat["mbu_at_tp"] == pytest.approx(0.9)
    assert rows["tpot_p50_s"] > flat["tpot_p50_s"] * 1.2


def test_replicas_and_costs_by_hand() -> None:
    row = _serve(_workload(requests_per_s=2.0)).iloc[0]
    rps = row["requests_per_s_per_replica"]
    assert row["replicas"] == math.ceil(2.0 * 1.2 / rps)  # 20% headroom (named assumption)
    # exactly 5 replicas' worth of traffic needs 6 with the headroom, 5 without
    full = _serve(_workload(requests_per_s=5.0 * rps * 0.999)).iloc[0]
    assert full["replicas"] == 6
    bare = _serve(
        _workload(requests_per_s=5.0 * rps * 0.999),
        assumptions=ServingAssumptions().with_overrides(headroom=0.0),
    ).iloc[0]
    assert bare["replicas"] == 5
    assert row["instances"] == row["replicas"]  # one 2-accelerator replica per 2-accelerator instance
    month = row["replicas"] * 2 * 2.21 * 730
    assert row["cost_usd_per_month"] == pytest.approx(month)
    seconds = 730 * 3600
    assert row["cost_usd_per_1m_output_tokens"] == pytest.approx(month / (2.0 * seconds * 242) * 1e6)
    assert row["cost_usd_per_1m_tokens"] == pytest.approx(month / (2.0 * seconds * 370) * 1e6)
    assert row["cost_usd_per_1k_requests"] == pytest.approx(month / (2.0 * seconds) * 1e3)
    assert row["utilisation"] == pytest.approx(2.0 / (row["replicas"] * rps))
    # split prices recover the month: input tokens pay the prefill share, output tokens the rest
    share = row["input_cost_share"]
    assert 0.0 < share < 0.5
    recovered = (
        row["split_usd_per_1m_input_tokens"] * 128 + row["split_usd_per_1m_output_tokens"] * 242
    ) / 1e6
    assert recovered * 2.0 * seconds == pytest.approx(month)


def test_batch_grows_until_a_target_or_memory_binds() -> None:
    relaxed = _serve(_workload(tpot_s=0.2, ttft_s=1e9)).iloc[0]
    strict = _serve(_workload(tpot_s=0.05)).iloc[0]
    assert relaxed["batch_size"] > strict["batch_size"] >= 1
    assert strict["tpot_s"] <= 0.05 and relaxed["tpot_s"] <= 0.2
    assert relaxed["tokens_per_s_per_replica"] > strict["tokens_per_s_per_replica"]
    assert strict["limit"] == "TPOT target (p99)"
    assert relaxed["limit"] == "memory (KV cache)"
    capped = _serve(
        _workload(tpot_s=0.2, ttft_s=1e9),
        assumptions=ServingAssumptions().with_overrides(max_running_batch=16),
    )
    assert capped.iloc[0]["max_running_batch"] == 16 and capped.iloc[0]["limit"] == "max running batch"


def test_infeasible_rows_say_why() -> None:
    too_big = _serve(sizes=(1,), per_instance=1.0).iloc[0]
    assert not too_big["feasible"] and too_big["reason"] == "weights do not fit"
    too_fast = _serve(_workload(tpot_s=0.01)).iloc[0]
    assert not too_fast["feasible"] and too_fast["reason"] == "TPOT target unmet at the lowest load"
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
    row = _serve(
        _workload(requests_per_s=60.0, tpot_s=0.08, output_tokens=1024.0), mbu=0.8, mbu_range=(0.6, 0.9)
    ).iloc[0]
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


def test_memory_in_bytes() -> None:
    """KV per token: 2 x 80 layers x 8 KV heads x 128 x 2 bytes = 327,680 B for Llama-2-70B; split over TP8
    ranks (one KV head each) and kept whole per rank beyond 8 ranks (GQA heads cannot be split). Weights:
    int4 pays 4 bytes of scale and zero per 128 weights; embeddings and LM head stay 16-bit."""
    import numpy as np

    from tco.model.inference.memory import kv_bytes_per_token, tokens_held, weight_bytes

    one = np.array([1.0])
    kv = kv_bytes_per_token(80 * one, 8 * one, 128 * one, 2 * one, 1.0)
    assert kv[0] == 327_680
    assert kv_bytes_per_token(80 * one, 8 * one, 128 * one, 2 * one, 8.0)[0] == 40_960
    assert kv_bytes_per_token(80 * one, 8 * one, 128 * one, 2 * one, 16.0)[0] == 40_960
    assert weight_bytes(7e9 * one, 0.5 * one, np.array([np.nan]), 4096 * one, 128.0)[0] == pytest.approx(
        7e9 * (0.5 + 4 / 128)
    )
    fp8 = weight_bytes(8.03e9 * one, 1.0 * one, 128256 * one, 4096 * one, 128.0)[0]
    embeddings = 2 * 128256 * 4096
    assert fp8 == pytest.approx((8.03e9 - embeddings) * 1.0 + embeddings * 2.0)
    assert tokens_held(1000 * one, 1000 * one, reserved_output_fraction=1.0, block_tokens=16.0)[0] == 2000
    assert tokens_held(1001 * one, 0 * one, reserved_output_fraction=1.0, block_tokens=16.0)[0] == 1008


def _engine_rows(workload: pd.DataFrame, t: int, accelerator: str = "A100-80GB") -> Any:
    """The step model of one serving row (the solver's own Engine), with MBU 0.9 and compute 0.7."""
    import numpy as np

    from tco.model.inference.engines import resolve
    from tco.model.serving import _SOLVER_COLUMNS, _engine, _prepare

    a = ServingAssumptions()
    hw = hardware_table([accelerator])
    row = _prepare(workload).assign(accelerator=accelerator, accelerators_per_replica=float(t))
    row = row.merge(hw[hw["dtype"] == "bf16"].drop(columns=["dtype"]), on="accelerator")
    settings = resolve(
        np.array(["trtllm"], dtype=object),
        np.array([accelerator], dtype=object),
        row["memory_bytes"].to_numpy(dtype="float64"),
        np.array([float(t)]),
        a,
    )
    for name, values in settings.items():
        row[name] = values
    cols = {name: row[name].to_numpy(dtype="float64") for name in _SOLVER_COLUMNS}
    engine, _ = _engine(cols, np.array([0.9]), np.array([0.7]), a)
    return engine


def test_moe_reads_the_experts_a_step_touches() -> None:
    """Mixtral (8 experts, top 2): one token streams the active parameters, a large step every expert;
    n tokens touch E (1 - (1 - k/E)^n) experts per layer (the rest of the model is always read)."""
    import numpy as np

    m = find_model("mixtral-8x7b")
    workload = _workload(
        params=m["params"], active_params=m["active_params"], layers=m["layers"], hidden=m["hidden"],
        heads=m["heads"], kv_heads=m["kv_heads"], experts=8.0, experts_per_token=2.0,
    )  # fmt: skip
    engine = _engine_rows(workload, 2)
    rate = 2.039e12 * 0.9 * 0.87  # A100-80GB bandwidth x MBU at TP2
    per_expert = (46.7e9 - 12.9e9) / 6 * 2.0 / 2  # bytes per expert on each of 2 ranks

    def weights_s(tokens: float) -> float:
        parts = engine.parts(np.array([[tokens]]), np.array([[0.0]]))
        return float(parts["weights_s"][0, 0])

    whole = 46.7e9 * 2.0 / 2 / rate
    assert weights_s(1.0) == pytest.approx(whole - 6 * per_expert / rate)  # 2 of 8 experts
    assert weights_s(4.0) == pytest.approx(whole - 8 * 0.75**4 * per_expert / rate)
    assert weights_s(1000.0) == pytest.approx(whole, rel=1e-6)


def test_tensor_parallel_all_reduces() -> None:
    """Two all-reduces per layer on the critical path: 2 L (latency + 2 (t-1)/t x tokens x hidden x 2 bytes /
    (link/2 x bus efficiency)); NVLink latency 8 us, PCIe 30 us; none at TP1."""
    import numpy as np

    workload = _workload()
    one = np.array([[1.0]])
    zero = np.array([[0.0]])
    nvlink = _engine_rows(workload, 2).parts(64 * one, zero)["comm_s"][0, 0]
    bytes_s = 600e9 / 2 * 0.7
    assert nvlink == pytest.approx(2 * 80 * (8e-6 + 2 * 0.5 * 64 * 8192 * 2 / bytes_s))
    pcie = _engine_rows(workload, 2, "A100-80GB-PCIe").parts(64 * one, zero)["comm_s"][0, 0]
    assert pcie > nvlink
    assert pcie == pytest.approx(2 * 80 * (30e-6 + 2 * 0.5 * 64 * 8192 * 2 / (64e9 / 2 * 0.7)))
    assert _engine_rows(workload, 1).parts(64 * one, zero)["comm_s"][0, 0] == 0.0


def test_ttft_grows_with_load_and_meets_the_target() -> None:
    """Queueing: TTFT p99 >= p50, both grow with the rate a replica carries; at the reported capacity the
    p99s meet the targets (MLPerf checks p99)."""
    light = _serve(_workload(requests_per_s=0.5, ttft_s=2.0, tpot_s=0.1), assumptions=_no_headroom()).iloc[0]
    heavy = _serve(_workload(requests_per_s=4.0, ttft_s=2.0, tpot_s=0.1), assumptions=_no_headroom()).iloc[0]
    assert light["replicas"] == heavy["replicas"] == 1
    assert heavy["ttft_s"] > light["ttft_s"] >= light["ttft_p50_s"] > 0
    assert heavy["tpot_s"] > light["tpot_s"]
    assert heavy["ttft_s"] <= 2.0 and heavy["tpot_s"] <= 0.1
    assert heavy["queue_wait_p99_s"] > light["queue_wait_p99_s"] >= 0


def _no_headroom() -> ServingAssumptions:
    return ServingAssumptions().with_overrides(headroom=0.0)


def test_disaggregated_layout_sizes_two_pools() -> None:
    both = _serve(_workload(requests_per_s=20.0), layouts=("aggregated", "disaggregated"), sizes=(2,))
    agg = both[both["layout"] == "aggregated"].iloc[0]
    dis = both[both["layout"] == "disaggregated"].iloc[0]
    assert dis["replicas"] == dis["prefill_replicas"] + dis["decode_replicas"]
    assert dis["input_cost_share"] == pytest.approx(dis["prefill_replicas"] / dis["replicas"])
    assert math.isnan(agg["prefill_replicas"])
    assert dis["tpot_s"] <= 1.0 and dis["ttft_s"] <= 10.0
    with pytest.raises(TcoError, match="unknown serving layout"):
        _serve(layouts=("split",))


def test_every_serving_setting_reaches_an_assumption() -> None:
    from tco.model.settings import registry

    names = [s.name for s in registry().values() if s.group == "serving"]
    assert len(names) >= 15
    fields = dict(ServingAssumptions().items())
    for name in names:
        value = fields[name].value
        changed = ServingAssumptions().with_overrides(**{name: value * 0.5 if value <= 1 else value * 2})
        assert dict(changed.items())[name] != fields[name], name
