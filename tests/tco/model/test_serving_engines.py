"""Serving engines (TensorRT-LLM, vLLM, SGLang) and how they schedule: defaults, memory, whole prompts vs
chunked prefill, queueing, bursts and closed loops."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tco.errors import TcoError
from tco.model.assumptions import ServingAssumptions
from tco.model.inference.queueing import burst, closed_loop, load_curve
from tco.model.inference.step import Engine
from tco.model.inference.validation import efficiencies_from
from tco.model.offers import override_options
from tco.model.serving import project_serving
from tco.presets import find_model, hardware_table, serving_shape

GIB = 2.0**30


def _workload(model: str = "llama-3-8b", **changes: Any) -> pd.DataFrame:
    m = find_model(model)
    row = {
        "workload": model,
        **{k: m[k] for k in ("params", "active_params", "layers", "hidden", "heads", "kv_heads")},
        **serving_shape(model),
        "prompt_tokens": 1000.0,
        "output_tokens": 300.0,
        "requests_per_s": 1.0,
        "ttft_s": 1e9,
        "tpot_s": 1e9,
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
    accelerator: str = "H100-80GB",
    sizes: tuple[int, ...] = (1,),
    assumptions: ServingAssumptions | None = None,
    engines: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    a = assumptions or ServingAssumptions()
    return project_serving(
        _workload() if workload is None else workload,
        override_options([accelerator], 2.0, 8.0),
        hardware_table([accelerator]),
        efficiencies_from(a, [accelerator]),
        replica_sizes=sizes,
        assumptions=a,
        engines=engines,
    )


def test_default_engine_is_named_per_accelerator() -> None:
    assert _serve(accelerator="H100-80GB").iloc[0]["engine"] == "trtllm"
    assert _serve(accelerator="MI300X").iloc[0]["engine"] == "vllm"
    assert _serve(accelerator="TPU-v5p", sizes=(4,)).iloc[0]["engine"] == "vllm"


def test_engine_is_a_dimension_a_workload_column_and_a_setting() -> None:
    rows = _serve(engines=("trtllm", "vllm", "sglang"))
    assert sorted(rows["engine"]) == ["sglang", "trtllm", "vllm"]
    assert set(rows["engine_label"]) == {"TensorRT-LLM", "vLLM", "SGLang"}
    assert _serve(_workload(engine="vLLM 0.10.2")).iloc[0]["engine"] == "vllm"
    setting = ServingAssumptions().with_overrides(engine="SGLang")
    assert _serve(assumptions=setting).iloc[0]["engine"] == "sglang"
    # the workload's column wins over the setting; a blank cell falls back to it
    assert _serve(_workload(engine="trtllm"), assumptions=setting).iloc[0]["engine"] == "trtllm"
    assert _serve(_workload(engine=""), assumptions=setting).iloc[0]["engine"] == "sglang"
    with pytest.raises(TcoError, match="unknown serving engine"):
        _serve(engines=("tgi",))
    with pytest.raises(TcoError, match="unknown serving engine"):
        ServingAssumptions().with_overrides(engine="deepspeed")


def test_tensorrt_llm_runs_on_nvidia_only() -> None:
    row = _serve(accelerator="MI300X", engines=("trtllm",)).iloc[0]
    assert not row["feasible"]
    assert row["reason"] == "TensorRT-LLM does not run on MI300X"
    assert math.isnan(row["cost_usd_per_month"])


def test_engine_limits_follow_the_engines_own_rules() -> None:
    """TensorRT-LLM 2048 sequences / 8192 tokens; vLLM 256 / 2048, 1024 / 8192 on >= 70 GiB other than A100;
    SGLang 4096 sequences, chunked_prefill_size 8192 below 160 GiB, 16384 above (MI300X: 192 GiB)."""
    engines = ("trtllm", "vllm", "sglang")

    def limits(accelerator: str) -> dict[str, tuple[float, float]]:
        rows = _serve(accelerator=accelerator, engines=engines)
        return {
            r["engine"]: (r["engine_max_running_batch"], r["max_num_tokens"]) for r in rows.to_dict("records")
        }

    h100 = limits("H100-80GB")
    assert h100 == {"trtllm": (2048, 8192), "vllm": (1024, 8192), "sglang": (4096, 8192)}
    a100 = limits("A100-80GB")
    assert a100["vllm"] == (256, 2048)  # vLLM excludes A100 from its large-GPU defaults
    l4 = limits("L4")
    assert l4["vllm"] == (256, 2048) and l4["sglang"] == (4096, 2048)
    assert limits("MI300X")["sglang"] == (4096, 16384)
    capped = _serve(engines=engines, assumptions=ServingAssumptions().with_overrides(max_running_batch=64))
    assert set(capped["engine_max_running_batch"]) == {64}
    assert set(capped["max_running_batch"]) == {64}  # memory holds more: the engine's cap binds
    chunked = _serve(engines=engines).set_index("engine")["chunked_prefill"]
    assert chunked.to_dict() == {"trtllm": 0.0, "vllm": 1.0, "sglang": 1.0}


def test_kv_capacity_by_the_engines_memory_basis() -> None:
    """Llama-3.1-8B bf16 on one H100 (80 GiB): weights W = (8.03e9 - 2 x 128256 x 4096) x 2 + embeddings x 2;
    TensorRT-LLM 0.9 x (M - W - 2 GiB), vLLM 0.9 x M - W - 2 GiB, SGLang 0.88 x M - W."""
    rows = _serve(engines=("trtllm", "vllm", "sglang")).set_index("engine")
    memory = 80 * GIB
    weights = 8.03e9 * 2.0
    reserve = 2 * GIB
    expected = {
        "trtllm": 0.9 * (memory - weights - reserve),
        "vllm": 0.9 * memory - weights - reserve,
        "sglang": 0.88 * memory - weights,
    }
    for engine, capacity in expected.items():
        assert rows.loc[engine, "kv_capacity_gb"] == pytest.approx(capacity / 1e9, rel=1e-9), engine
    # SGLang's fraction falls with TP (CUDA graphs and buffers per rank)
    tp8 = _serve(_workload("llama-3-70b"), sizes=(8,), engines=("sglang",)).iloc[0]
    assert tp8["kv_cache_memory_fraction"] == 0.81


def test_blocks_and_output_reservation_per_engine() -> None:
    """A running sequence holds its prompt plus the reserved share of its output, in whole blocks:
    TensorRT-LLM 1300 -> 1312 (32-token blocks), vLLM 1000 + 150 -> 1152 (16), SGLang 1150 (1)."""
    rows = _serve(engines=("trtllm", "vllm", "sglang")).set_index("engine")
    assert rows["kv_tokens_per_sequence"].to_dict() == {"trtllm": 1312.0, "vllm": 1152.0, "sglang": 1150.0}
    kv = 2 * 32 * 8 * 128 * 2
    for engine in rows.index:
        r = rows.loc[engine]
        fit = math.floor(r["kv_capacity_gb"] * 1e9 / (r["kv_tokens_per_sequence"] * kv))
        assert r["max_running_batch"] == min(fit, r["engine_max_running_batch"]), engine


def test_engine_efficiency_on_an_accelerator(monkeypatch: pytest.MonkeyPatch) -> None:
    """vLLM on MI300X runs at 0.45 of the reference efficiency (tuned on AMD's 70B rows): MBU and compute
    efficiency both scale, and the offline throughput with them."""
    from tco.model.assumptions import Assumption
    from tco.model.inference import engines

    workload = _workload("llama-3-70b", weight_bytes_per_param=1.0, kv_bytes_per_element=1.0, dtype="fp8")
    row = _serve(workload, accelerator="MI300X", sizes=(8,)).iloc[0]
    a = ServingAssumptions()
    assert row["efficiency_factor"] == 0.45
    assert row["mbu"] == pytest.approx(0.45 * a.mbu.value)
    assert row["prefill_flops_efficiency"] == pytest.approx(0.45 * a.prefill_flops_efficiency.value)
    monkeypatch.setitem(engines.EFFICIENCY, ("vllm", "MI300X"), Assumption(1.0, 1.0, 1.0, "x", "test"))
    reference = _serve(workload, accelerator="MI300X", sizes=(8,)).iloc[0]
    ratio = row["offline_tokens_per_s_per_replica"] / reference["offline_tokens_per_s_per_replica"]
    assert 0.45 < ratio < 0.7  # step overhead and all-reduce latency do not scale


# --- scheduling: a hand-sized engine -------------------------------------------------------------------


def _toy(s_in: float = 200.0, s_out: float = 100.0) -> Engine:
    """One row: weights stream in 10 ms, each token costs 0.1 ms of GEMM, nothing else (T(B, p) =
    max(10 ms, (B + p) 0.1 ms))."""
    one = np.ones((1, 1))
    return Engine(
        tp=one,
        params=1e9 * one,
        active_params=1e9 * one,
        experts=np.full((1, 1), np.nan),
        experts_per_token=np.full((1, 1), np.nan),
        layers=one,
        hidden=one,
        attention_width=0.0 * one,
        prompt_tokens=s_in * one,
        output_tokens=s_out * one,
        weights_bytes=1e9 * one,
        weights_read_bytes=1e9 * one,
        kv_bytes_per_token=0.0 * one,
        bandwidth_bytes_s=1e11 * one,
        mbu=one,
        peak_flops=2e13 * one,
        flops_efficiency=one,
        link_bytes_s=one,
        allreduce_latency_s=0.0 * one,
        allreduce_bus_efficiency=1.0,
        step_overhead_s=0.0,
    )


def test_toy_step() -> None:
    engine = _toy()
    assert engine.step_s(np.array([[1.0]]), np.array([[0.0]]))[0, 0] == pytest.approx(0.01)
    assert engine.step_s(np.array([[10.0]]), np.array([[200.0]]))[0, 0] == pytest.approx(0.021)


def _curve(engine: Engine, slots: float, chunked: float, budget: float = 8192.0) -> dict[str, np.ndarray]:
    one = np.ones((1, 1))
    return load_curve(engine, slots * one, max_num_tokens=budget * one, chunked=chunked * one, z=2.326)


def test_prompts_arrive_whole_and_stall_decode() -> None:
    """A step carries k ~ Poisson(B / s_out) whole prompts: at B = 10 (0.1 prompts per step) the mean step is
    e^-0.1 x 10 ms + 0.1 e^-0.1 x T(10, 200) + ..., well above the 10 ms a smooth spread of the same prefill
    tokens (20 per step, hidden under the weight reads) would give."""
    curve = _curve(_toy(), slots=1000.0, chunked=0.0)
    batch = curve["batch"][0]
    j = int(np.argmin(np.abs(batch - 10.0)))
    b = batch[j]
    m = b / 100.0
    p0, p1 = math.exp(-m), m * math.exp(-m)
    p2 = 1 - p0 - p1
    k2 = (m - p1) / p2
    t = [max(0.01, (b + k * 200.0) * 1e-4) for k in (0.0, 1.0, k2)]
    mean = p0 * t[0] + p1 * t[1] + p2 * t[2]
    assert curve["step_s"][0, j] == pytest.approx(mean, rel=1e-9)
    assert curve["step_s"][0, j] > max(0.01, (b + m * 200.0) * 1e-4) * 1.05
    assert curve["rate"][0, j] == pytest.approx(b / (100.0 * mean))


def test_chunked_prefill_bounds_the_steps_a_long_prompt_stalls() -> None:
    """A 20,000-token prompt: whole (TensorRT-LLM default) it stalls every decoding sequence for one 2 s step;
    chunked at the budget (8192 - B tokens a step) the same work comes in ~0.8 s pieces, so the p99 TPOT
    over a request's steps is lower while the mean step is about the same."""
    engine = _toy(s_in=20000.0, s_out=1000.0)
    whole = _curve(engine, slots=200.0, chunked=0.0)
    split = _curve(engine, slots=200.0, chunked=1.0)
    j = 6  # a moderate load
    assert split["step_s"][0, j] == pytest.approx(whole["step_s"][0, j], rel=0.1)
    assert split["tpot_p99_s"][0, j] < whole["tpot_p99_s"][0, j] * 0.9
    # light load: whole = one step of the prompt, chunked = ceil(20000 / (8192 - B)) steps
    light = whole["prefill_service_s"][0, 0], split["prefill_service_s"][0, 0]
    assert light[0] == pytest.approx(2.0, rel=0.01)
    assert light[1] == pytest.approx(20000 / 8192 * 0.8192, rel=0.01)


def test_queueing_for_slots_and_for_the_step_budget() -> None:
    """Slots: with 4 running sequences at most, TTFT p99 near saturation is queueing, not prefill (rule:
    G/G/c wait). Budget: when prompts arrive as fast as steps take them, the curve stops (unstable)."""
    engine = _toy()
    curve = _curve(engine, slots=4.0, chunked=0.0)
    heavy = curve["ttft_p99_s"][0, -1]
    assert heavy > 10.0 * curve["prefill_service_s"][0, -1]
    assert curve["ttft_p99_s"][0, 0] < 0.1
    assert np.all(np.diff(curve["ttft_p99_s"][0]) >= 0)
    # one-token outputs: every step admits B prompts of 1000 tokens; 8 fit the 8192-token budget
    flood = _curve(_toy(s_in=1000.0, s_out=1.0), slots=10.0, chunked=0.0)
    unstable = flood["prefill_utilisation"][0] >= 1.0
    assert unstable.any() and not unstable.all()
    assert np.isinf(flood["ttft_p99_s"][0][unstable]).all()
    assert np.isfinite(flood["ttft_p99_s"][0][:3]).all()


def test_burst_of_requests_sent_at_once() -> None:
    """100 prompts of 200 tokens at once: 40 per 8192-token step, 3 steps (0.8, 0.804, 0.808 s): mean TTFT =
    (40 x 0.8 + 40 x 1.604 + 20 x 2.412) / 100 ~ a(n + 1)/2 + b(n^2 - 1)/6 with the wave's mean weighting."""
    engine = _toy()
    one = np.ones((1, 1))
    out = burst(engine, 1000 * one, requests=100 * one, max_num_tokens=8192 * one, chunked=0 * one)
    a, b, n = 0.8, 0.004, 3
    assert out["steps"][0, 0] == n
    assert out["ttft_mean_s"][0, 0] == pytest.approx(a * (n + 1) / 2 + b * (n * n - 1) / 6)
    # 50 slots: two waves; the second waits for the first's prefill (1.604 s) and 100 decode steps (1 s)
    capped = burst(engine, 50 * one, requests=100 * one, max_num_tokens=8192 * one, chunked=0 * one)
    first_wave = 0.8 * 1.5 + 0.004 * 3 / 6
    assert capped["ttft_mean_s"][0, 0] == pytest.approx(first_wave + 0.5 * (1.604 + 1.0))


def test_closed_loop_in_flight_and_past_capacity() -> None:
    """N in flight = B + lambda TTFT; past the last stable point the rate stays at its maximum and the extra
    requests wait: TTFT = N / lambda_max - s_out T."""
    curve = {
        "batch": np.array([[1.0, 10.0, 50.0]]),
        "rate": np.array([[0.1, 0.9, 4.0]]),
        "ttft_mean_s": np.array([[0.1, 0.2, 0.5]]),
        "tpot_p50_s": np.array([[0.010, 0.011, 0.0125]]),
    }
    s_out = np.array([[100.0]])
    inside = closed_loop(curve, np.array([10.0 + 0.9 * 0.2]), s_out)
    assert inside["ttft_s"][0] == pytest.approx(0.2) and not inside["saturated"][0]
    past = closed_loop(curve, np.array([100.0]), s_out)
    assert past["saturated"][0]
    assert past["ttft_s"][0] == pytest.approx(100.0 / 4.0 - 100.0 * 0.0125)


def test_request_overhead_adds_to_every_ttft() -> None:
    """HTTP, tokenisation and streaming the first token: request_overhead_s (5 ms) on TTFT, not on TPOT."""
    light = _workload(requests_per_s=0.01)
    with_it = _serve(light).iloc[0]
    without = _serve(light, assumptions=ServingAssumptions().with_overrides(request_overhead_s=0.0)).iloc[0]
    assert with_it["ttft_p50_s"] - without["ttft_p50_s"] == pytest.approx(0.005)
    assert with_it["ttft_s"] - without["ttft_s"] == pytest.approx(0.005)
    assert with_it["tpot_p50_s"] == pytest.approx(without["tpot_p50_s"])
