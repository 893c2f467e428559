"""Serving projections: replicas, latency under load and cost per token for an LLM at a request rate.

The engine model lives in :mod:`tco.model.inference` (docs/serving_model.md): memory in bytes (weights by
dtype, KV cache by KV dtype/GQA/head dim/paged blocks, runtime reserve) gives the sequences that fit; the
step time (weights and KV at a TP-dependent MBU, FLOPs at a compute efficiency, all-reduces, MoE experts
touched, step overhead) gives throughput; a queueing model gives TTFT and TPOT p50/p99 at a request rate.

Per row (workload x accelerator x replica size x framework x layout):

* ``max_running_batch`` = min(sequences that fit, the engine's cap ``max_running_batch``).
* ``requests_per_s_per_replica`` = the highest request rate at which p99 TTFT and p99 TPOT meet the targets
  (:func:`tco.model.inference.queueing.load_curve`); ``tokens_per_s_per_replica`` = that x output tokens;
  ``offline_tokens_per_s_per_replica`` = output tokens/s with every slot busy and no latency target (what
  offline benchmarks such as trtllm-bench measure).
* ``replicas = ceil(rate * (1 + headroom) / requests_per_s_per_replica)``; instances hold
  ``floor(accelerators_per_instance / t)`` replicas each. Disaggregated layout: prefill and decode replicas
  are sized separately (``prefill_replicas + decode_replicas``).
* ``ttft_s``/``tpot_s`` are the p99 at each replica's share of the offered load (``rate / replicas``);
  ``ttft_p50_s``/``tpot_p50_s`` the medians.
* **cost**: a month of ``hours_per_day * 730/24`` serving hours; on-demand/spot pay per hour served,
  commitments and owned hardware pay every hour. Per 1M output tokens, per 1M tokens (in + out), per 1k
  requests = monthly cost / monthly volume at the stated rate (so idle headroom is priced in). Split prices:
  ``split_usd_per_1m_input_tokens`` = month x input share / input tokens, ``split_usd_per_1m_output_tokens``
  = month x (1 - input share) / output tokens, where the input share is the replica time prefill takes
  (aggregated: (step - decode-only step) / step at the offered load; disaggregated: prefill replicas /
  replicas).

Low/high costs re-solve everything with the efficiencies' high/low ends (MBU and compute efficiency).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from tco.errors import TcoError
from tco.model.assumptions import ServingAssumptions
from tco.model.units import BYTES_PER_GIB, HOURS_PER_DAY, HOURS_PER_MONTH, MONTHS_PER_YEAR, SECONDS_PER_HOUR

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tco.model.inference.step import Engine

#: Kept for callers that pass ``batch_sizes``: the running batch is capped at the largest value given.
BATCH_SIZES: Final = (
    1,
    2,
    3,
    4,
    6,
    8,
    12,
    16,
    24,
    32,
    48,
    64,
    96,
    128,
    192,
    256,
    384,
    512,
    768,
    1024,
    2048,
    4096,
)

#: Optional workload columns (NaN or absent = unknown): head dim (default hidden / heads), vocabulary (for
#: 16-bit embeddings), MoE experts and experts per token.
OPTIONAL_COLUMNS: Final = ("active_params", "kv_heads", "head_dim", "vocab", "experts", "experts_per_token")

#: An MoE workload (active < total parameters) that names no experts: Mixtral's top-2 of 8 (the MoE preset).
DEFAULT_EXPERTS: Final = 8.0
DEFAULT_EXPERTS_PER_TOKEN: Final = 2.0

#: A serving workload row.
SERVING_COLUMNS: Final = (
    "workload",
    "params",
    "active_params",
    "layers",
    "hidden",
    "heads",
    "kv_heads",
    "prompt_tokens",
    "output_tokens",
    "requests_per_s",
    "ttft_s",
    "tpot_s",
    "weight_bytes_per_param",
    "kv_bytes_per_element",
    "hours_per_day",
    "dtype",
    "workload_source",
    "head_dim",
    "vocab",
    "experts",
    "experts_per_token",
)

SERVING_OUTPUT: Final = (
    "workload",
    "accelerator",
    "accelerators_per_replica",
    "replicas",
    "instances",
    "accelerators_per_instance",
    "provider",
    "region",
    "instance_type",
    "pricing_model",
    "billing",
    "framework",
    "throughput_source",
    "batch_size",
    "ttft_s",
    "tpot_s",
    "tokens_per_s_per_replica",
    "requests_per_s_per_replica",
    "utilisation",
    "price_usd_per_hour",
    "price_usd_per_accelerator_hour",
    "cost_usd_per_month",
    "cost_usd_per_year",
    "cost_usd_per_1m_output_tokens",
    "cost_usd_per_1m_tokens",
    "cost_usd_per_1k_requests",
    "cost_usd_per_month_low",
    "cost_usd_per_month_high",
    "cost_usd_per_1m_output_tokens_low",
    "cost_usd_per_1m_output_tokens_high",
    "split_usd_per_1m_input_tokens",
    "split_usd_per_1m_output_tokens",
    "input_cost_share",
    "layout",
    "prefill_replicas",
    "decode_replicas",
    "ttft_p50_s",
    "tpot_p50_s",
    "queue_wait_p99_s",
    "prefill_s",
    "step_s",
    "step_weights_s",
    "step_kv_s",
    "step_compute_s",
    "step_comm_s",
    "running_batch",
    "max_running_batch",
    "offline_tokens_per_s_per_replica",
    "kv_capacity_gb",
    "kv_tokens_per_sequence",
    "mbu_at_tp",
    "price_source",
    "price_date",
    "feasible",
    "reason",
    "limit",
    "weights_gb",
    "kv_cache_gb",
    "kv_bytes_per_token",
    "mbu",
    "mbu_source",
    "mbu_detail",
    "prefill_flops_efficiency",
    "prefill_flops_efficiency_source",
    "prefill_flops_efficiency_detail",
    "peak_tflops",
    "memory_bandwidth_tb_s",
    "memory_bytes",
    "headroom",
    "hours_per_day",
    "requests_per_s",
    "prompt_tokens",
    "output_tokens",
    "interruptible",
    "peak_source",
    "workload_source",
)


def validate_serving_workloads(workloads: pd.DataFrame) -> None:
    """Raise :class:`TcoError` for a serving workload that cannot be projected."""
    import numpy as np

    required = (
        "params",
        "layers",
        "hidden",
        "heads",
        "prompt_tokens",
        "output_tokens",
        "requests_per_s",
        "ttft_s",
        "tpot_s",
        "weight_bytes_per_param",
        "kv_bytes_per_element",
        "hours_per_day",
    )
    for column in required:
        if column not in workloads.columns or workloads[column].isna().any():
            raise TcoError(
                f"serving needs {column.replace('_', ' ')}",
                hint=f"pass --{column.replace('_', '-')} or a --model preset",
            )
        values = workloads[column].to_numpy(dtype="float64")
        if not (np.isfinite(values) & (values > 0)).all():
            raise TcoError(f"{column.replace('_', ' ')} must be positive, got {values[~(values > 0)][0]:g}")
    if (workloads["hours_per_day"] > HOURS_PER_DAY).any():
        raise TcoError("hours per day must be at most 24")


#: Links slower than this (GB/s, bidirectional per accelerator) are PCIe: all-reduces pay the PCIe latency.
PCIE_MAX_GB_S: Final = 200.0

#: Layouts :func:`project_serving` prices: one engine doing prefill and decode, or separate pools.
LAYOUTS: Final = ("aggregated", "disaggregated")

_RHO_GRID: Final = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.96)


def _col(perf: pd.DataFrame, name: str) -> np.ndarray:
    return perf[name].to_numpy(dtype="float64")[:, None]


def _engine(
    perf: pd.DataFrame, mbu: np.ndarray, flops_eff: np.ndarray, params: ServingAssumptions
) -> tuple[Engine, dict[str, np.ndarray]]:
    """The step model's inputs per row (shape (rows, 1)) and the memory figures."""
    import numpy as np

    from tco.model.inference.memory import (
        kv_bytes_per_token,
        kv_capacity_bytes,
        tokens_held,
        weight_bytes,
    )
    from tco.model.inference.step import Engine

    t = _col(perf, "accelerators_per_replica")
    hidden = _col(perf, "hidden")
    vocab = _col(perf, "vocab")
    weights = weight_bytes(
        _col(perf, "params"),
        _col(perf, "weight_bytes_per_param"),
        vocab,
        hidden,
        params.int4_group_size.value,
    )
    read = weights - np.where(np.isfinite(vocab), vocab * hidden * 2.0, 0.0)
    kv_acc = kv_bytes_per_token(
        _col(perf, "layers"),
        _col(perf, "kv_heads"),
        _col(perf, "head_dim"),
        _col(perf, "kv_bytes_per_element"),
        t,
    )
    capacity = kv_capacity_bytes(
        _col(perf, "memory_bytes"),
        weights,
        t,
        reserve_bytes=params.runtime_reserve_gib.value * BYTES_PER_GIB,
        kv_fraction=params.kv_cache_memory_fraction.value,
    )
    held = tokens_held(
        _col(perf, "prompt_tokens"),
        _col(perf, "output_tokens"),
        reserved_output_fraction=params.kv_reserved_output_fraction.value,
        block_tokens=params.kv_block_tokens.value,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = np.floor(np.maximum(capacity, 0.0) / (held * kv_acc))
    link = _col(perf, "interconnect_gb_s")
    latency = np.where(link < PCIE_MAX_GB_S, params.pcie_tp_latency_s.value, params.tp_latency_s.value)
    mbu_tp = mbu[:, None] * params.mbu_tp_doubling_factor.value ** np.log2(np.maximum(t, 1.0))
    engine = Engine(
        tp=t,
        params=_col(perf, "params"),
        active_params=_col(perf, "active_params"),
        experts=_col(perf, "experts"),
        experts_per_token=_col(perf, "experts_per_token"),
        layers=_col(perf, "layers"),
        hidden=hidden,
        attention_width=_col(perf, "heads") * _col(perf, "head_dim"),
        prompt_tokens=_col(perf, "prompt_tokens"),
        output_tokens=_col(perf, "output_tokens"),
        weights_bytes=weights,
        weights_read_bytes=read,
        kv_bytes_per_token=kv_acc,
        bandwidth_bytes_s=_col(perf, "memory_bandwidth_tb_s") * 1e12,
        mbu=mbu_tp,
        peak_flops=_col(perf, "peak_tflops") * 1e12,
        flops_efficiency=flops_eff[:, None],
        link_bytes_s=link / 2.0 * 1e9,
        allreduce_latency_s=latency,
        allreduce_bus_efficiency=params.allreduce_bus_efficiency.value,
        step_overhead_s=params.step_overhead_s.value,
    )
    memory = {
        "weights_bytes": weights[:, 0],
        "kv_capacity_bytes": capacity[:, 0],
        "tokens_held": held[:, 0],
        "kv_bytes_per_token_per_accelerator": kv_acc[:, 0],
        "sequences_fit": fit[:, 0],
        "mbu_at_tp": mbu_tp[:, 0],
    }
    return engine, memory


def _aggregated(
    perf: pd.DataFrame,
    mbu: np.ndarray,
    flops_eff: np.ndarray,
    params: ServingAssumptions,
    batch_cap: float,
) -> dict[str, np.ndarray]:
    """Capacity within the SLOs, offline throughput and the load curve of one engine doing both phases."""
    import numpy as np

    from tco.model.inference.queueing import load_curve

    engine, memory = _engine(perf, mbu, flops_eff, params)
    engine_cap = min(params.max_running_batch.value, batch_cap)
    slots = np.minimum(memory["sequences_fit"], engine_cap)[:, None]
    usable = slots >= 1.0
    slots = np.where(usable, slots, 1.0)
    s_in, s_out = engine.prompt_tokens, engine.output_tokens
    offline_step = engine.step_s(slots, slots * s_in / s_out)
    curve = load_curve(
        engine, slots, max_num_tokens=params.max_num_tokens.value, z=params.latency_quantile_z.value
    )
    meets_ttft = curve["ttft_p99_s"] <= _col(perf, "ttft_s")
    meets_tpot = curve["tpot_p99_s"] <= _col(perf, "tpot_s")
    ok = meets_ttft & meets_tpot & usable & np.isfinite(curve["rate"])
    rate = np.where(ok, curve["rate"], -np.inf)
    rows = np.arange(len(perf))
    pick = np.argmax(rate, axis=1)
    feasible = ok[rows, pick]
    last = rate.shape[1] - 1
    nxt = np.minimum(pick + 1, last)
    fit = memory["sequences_fit"]
    limit = np.select(
        [
            fit < 1.0,
            ~meets_ttft[:, 0],
            ~meets_tpot[:, 0],
            (pick == last) & (fit <= engine_cap),
            pick == last,
            ~meets_ttft[rows, nxt],
        ],
        [
            "weights do not fit",
            "TTFT target unmet at the lowest load",
            "TPOT target unmet at the lowest load",
            "memory (KV cache)",
            "max running batch",
            "TTFT target (p99)",
        ],
        default="TPOT target (p99)",
    )
    capacity = np.where(feasible, curve["rate"][rows, pick], np.nan)
    return {
        **memory,
        "curve": curve,
        "slots": slots[:, 0],
        "capacity": capacity,
        "batch_at_capacity": np.where(feasible, curve["batch"][rows, pick], np.nan),
        "offline_tokens_per_s": np.where(usable[:, 0], slots[:, 0] / offline_step[:, 0], np.nan),
        "feasible": feasible,
        "limit": limit,
    }


def _disaggregated(
    perf: pd.DataFrame,
    mbu: np.ndarray,
    flops_eff: np.ndarray,
    params: ServingAssumptions,
    batch_cap: float,
) -> dict[str, np.ndarray]:
    """Separate prefill and decode replicas (same size): each pool's capacity within the SLOs.

    Prefill replicas run prefill only, full ``max_num_tokens`` chunks when busy: an M/D/1 queue with service
    ``S = s_in * step(0, C) / C``; TTFT p99 = wait p99 + the request's own prefill + moving its KV
    (``s_in * kv / (kv_transfer_gb_s * t)``) + one decode step. Decode replicas run decode only (no prefill
    interference): the largest concurrency whose step meets the TPOT target.
    """
    import numpy as np

    from tco.model.inference.memory import kv_bytes_per_token
    from tco.model.inference.queueing import P50, P99, wait_quantile

    engine, memory = _engine(perf, mbu, flops_eff, params)
    engine_cap = min(params.max_running_batch.value, batch_cap)
    chunk = params.max_num_tokens.value
    s_in, s_out = engine.prompt_tokens, engine.output_tokens
    zero = 0.0 * s_in
    service = s_in * engine.step_s(zero, zero + chunk) / chunk
    single = engine.prefill_s(s_in, zero + chunk)
    kv_total = kv_bytes_per_token(
        _col(perf, "layers"),
        _col(perf, "kv_heads"),
        _col(perf, "head_dim"),
        _col(perf, "kv_bytes_per_element"),
    )
    transfer = s_in * kv_total / (params.kv_transfer_gb_s.value * 1e9 * engine.tp)
    slots = np.minimum(memory["sequences_fit"], engine_cap)[:, None]
    usable = slots >= 1.0
    fractions = np.asarray((*_RHO_GRID, 0.98), dtype="float64")[None, :]
    batch = np.maximum(np.where(usable, slots, 1.0) * fractions, 1.0)
    decode = engine.step_s(batch, 0.0 * batch)
    rho = np.asarray(_RHO_GRID, dtype="float64")[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = rho * service / (2.0 * (1.0 - rho))
        first = decode[:, :1]
        ttft99 = wait_quantile(wait, rho, P99) + single + transfer + first
        ttft50 = wait_quantile(wait, rho, P50) + single + transfer + 0.5 * first
        ok_p = ttft99 <= _col(perf, "ttft_s")
        cap_p = np.max(np.where(ok_p, rho / service, -np.inf), axis=1)
        decode_rate = batch / (s_out * decode)
        ok_d = (decode <= _col(perf, "tpot_s")) & usable
        cap_d = np.max(np.where(ok_d, decode_rate, -np.inf), axis=1)
    feasible = np.isfinite(cap_p) & np.isfinite(cap_d) & (cap_p > 0) & (cap_d > 0)
    limit = np.select(
        [memory["sequences_fit"] < 1.0, ~np.isfinite(cap_p), ~np.isfinite(cap_d)],
        [
            "weights do not fit",
            "TTFT target unmet at the lowest load",
            "TPOT target unmet at the lowest load",
        ],
        default="prefill and decode pools sized separately",
    )
    return {
        **memory,
        "slots": slots[:, 0],
        "prefill_capacity": np.where(feasible, cap_p, np.nan),
        "decode_capacity": np.where(feasible, cap_d, np.nan),
        "prefill_service_s": service[:, 0],
        "prefill_single_s": single[:, 0],
        "kv_transfer_s": transfer[:, 0],
        "decode_rate": decode_rate,
        "decode_step": decode,
        "ttft50_rho": ttft50,
        "ttft99_rho": ttft99,
        "feasible": feasible,
        "limit": limit,
    }


def _prepare(workloads: pd.DataFrame) -> pd.DataFrame:
    """The workload frame with the optional shape columns filled: active parameters (dense = all), KV heads
    (MHA = heads), head dim (hidden / heads), vocabulary and experts (unknown = NaN)."""
    import numpy as np

    frame = workloads.copy()
    for name in OPTIONAL_COLUMNS:
        if name not in frame:
            frame[name] = np.nan
        frame[name] = frame[name].astype("float64")
    frame["active_params"] = frame["active_params"].fillna(frame["params"])
    frame["kv_heads"] = frame["kv_heads"].fillna(frame["heads"])
    frame["head_dim"] = frame["head_dim"].fillna(frame["hidden"] / frame["heads"])
    moe = frame["active_params"] < frame["params"]
    frame.loc[moe & frame["experts"].isna(), "experts"] = DEFAULT_EXPERTS
    frame.loc[moe & frame["experts_per_token"].isna(), "experts_per_token"] = DEFAULT_EXPERTS_PER_TOKEN
    return frame


def _at_load(perf: pd.DataFrame, solved: dict[str, Any], headroom: float) -> dict[str, np.ndarray]:
    """Replicas for the rate and the latencies each replica sees at its share of the offered load."""
    import numpy as np

    from tco.model.inference.queueing import at_rate

    rate = perf["requests_per_s"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        replicas = np.ceil(rate * (1.0 + headroom) / solved["capacity"])
        offered = rate / replicas
    point = at_rate(solved["curve"], np.where(np.isfinite(offered), offered, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (point["step_s"] - point["decode_step_s"]) / point["step_s"]
    ok = solved["feasible"]

    def keep(values: np.ndarray) -> np.ndarray:
        return np.where(ok, values, np.nan)

    return {
        "replicas": keep(replicas),
        "prefill_replicas": np.full(len(perf), np.nan),
        "decode_replicas": np.full(len(perf), np.nan),
        "running_batch": keep(point["batch"]),
        "ttft_s": keep(point["ttft_p99_s"]),
        "ttft_p50_s": keep(point["ttft_p50_s"]),
        "tpot_s": keep(point["tpot_p99_s"]),
        "tpot_p50_s": keep(point["tpot_p50_s"]),
        "queue_wait_p99_s": keep(point["queue_wait_p99_s"]),
        "prefill_s": keep(point["prefill_service_s"]),
        "step_weights_s": keep(point["weights_s"]),
        "step_kv_s": keep(point["kv_s"]),
        "step_compute_s": keep(point["compute_s"]),
        "step_comm_s": keep(point["comm_s"]),
        "step_s": keep(point["step_s"]),
        "input_cost_share": keep(np.clip(share, 0.0, 1.0)),
        "requests_per_s_per_replica": keep(solved["capacity"]),
    }


def _disagg_at_load(perf: pd.DataFrame, solved: dict[str, Any], headroom: float) -> dict[str, np.ndarray]:
    """Both pools' replicas for the rate and the latencies at their share of the offered load."""
    import numpy as np

    from tco.model.inference.queueing import P50, P99, wait_quantile

    rate = perf["requests_per_s"].to_numpy(dtype="float64")
    cap_p, cap_d = solved["prefill_capacity"], solved["decode_capacity"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pre = np.ceil(rate * (1.0 + headroom) / cap_p)
        dec = np.ceil(rate * (1.0 + headroom) / cap_d)
        service = solved["prefill_service_s"]
        rho = rate / pre * service
        wait = rho * service / (2.0 * (1.0 - rho))
        base = solved["prefill_single_s"] + solved["kv_transfer_s"]
        # decode concurrency at the decode pool's share of the load (interpolated on the rate curve)
        per_decode = rate / dec
        rates = solved["decode_rate"]
        steps = solved["decode_step"]
        rows = np.arange(len(perf))
        idx = np.clip((rates < per_decode[:, None]).sum(axis=1), 0, rates.shape[1] - 1)
        step = steps[rows, idx]
        ttft99 = wait_quantile(wait, rho, P99) + base + step
        ttft50 = wait_quantile(wait, rho, P50) + base + 0.5 * step
        per_pair = 1.0 / (1.0 / cap_p + 1.0 / cap_d)
    ok = solved["feasible"]

    def keep(values: np.ndarray) -> np.ndarray:
        return np.where(ok, values, np.nan)

    nan = np.full(len(perf), np.nan)
    return {
        "replicas": keep(pre + dec),
        "prefill_replicas": keep(pre),
        "decode_replicas": keep(dec),
        "running_batch": keep(per_decode * perf["output_tokens"].to_numpy(dtype="float64") * step),
        "ttft_s": keep(ttft99),
        "ttft_p50_s": keep(ttft50),
        "tpot_s": keep(step),
        "tpot_p50_s": keep(step),
        "queue_wait_p99_s": keep(wait_quantile(wait, rho, P99)),
        "prefill_s": keep(solved["prefill_single_s"]),
        "step_weights_s": nan,
        "step_kv_s": nan,
        "step_compute_s": nan,
        "step_comm_s": nan,
        "step_s": keep(step),
        "input_cost_share": keep(pre / (pre + dec)),
        "requests_per_s_per_replica": keep(per_pair),
    }


def _layout(
    perf: pd.DataFrame,
    layout: str,
    params: ServingAssumptions,
    batch_cap: float,
) -> pd.DataFrame:
    """Solve one layout at the expected, fast (high efficiencies) and slow (low efficiencies) ends."""
    import numpy as np

    solve = _aggregated if layout == "aggregated" else _disaggregated
    at_load = _at_load if layout == "aggregated" else _disagg_at_load
    headroom = params.headroom.value
    ends = {}
    for end, suffix in (("expected", ""), ("fast", "_high"), ("slow", "_low")):
        ends[end] = solve(
            perf,
            perf[f"mbu{suffix}"].to_numpy(dtype="float64"),
            perf[f"prefill_flops_efficiency{suffix}"].to_numpy(dtype="float64"),
            params,
            batch_cap,
        )
    solved = ends["expected"]
    out = perf.copy()
    out["layout"] = layout
    for name, values in at_load(perf, solved, headroom).items():
        out[name] = values
    for end in ("fast", "slow"):
        point = at_load(perf, ends[end], headroom)
        out[f"replicas_{end}"] = point["replicas"]
        out[f"input_cost_share_{end}"] = point["input_cost_share"]
    s_out = perf["output_tokens"].to_numpy(dtype="float64")
    out["tokens_per_s_per_replica"] = out["requests_per_s_per_replica"] * s_out
    out["feasible"] = solved["feasible"]
    out["limit"] = solved["limit"]
    out["max_running_batch"] = np.where(solved["slots"] >= 1, solved["slots"], np.nan)
    out["batch_size"] = solved.get("batch_at_capacity", out["max_running_batch"])
    out["offline_tokens_per_s_per_replica"] = solved.get("offline_tokens_per_s", np.full(len(perf), np.nan))
    out["weights_bytes"] = solved["weights_bytes"]
    out["kv_capacity_gb"] = (
        np.maximum(solved["kv_capacity_bytes"], 0.0) * perf["accelerators_per_replica"] / 1e9
    )
    out["kv_bytes_per_token_per_accelerator"] = solved["kv_bytes_per_token_per_accelerator"]
    out["kv_tokens_per_sequence"] = solved["tokens_held"]
    out["mbu_at_tp"] = solved["mbu_at_tp"]
    out["kv_cache_gb"] = np.where(
        out["feasible"],
        out["running_batch"]
        * out["kv_tokens_per_sequence"]
        * out["kv_bytes_per_token_per_accelerator"]
        * out["accelerators_per_replica"]
        / 1e9,
        np.nan,
    )
    return out


def _costs(joined: pd.DataFrame, replicas: np.ndarray, share: np.ndarray) -> dict[str, np.ndarray]:
    """Monthly cost of ``replicas`` on whole instances and what it comes to per token and request.

    instances = ceil(replicas / floor(accelerators_per_instance / t)); month = instances x accelerators per
    instance x (fixed_usd_per_accelerator_year / 12 + variable_usd_per_accelerator_hour x hours_per_day x
    730 / 24); per 1M output tokens, per 1M tokens (in + out) and per 1k requests = month / the month's
    volume at the stated rate (idle headroom is priced in). Split prices: the input share of the month (the
    replica time prefill takes) over the input tokens, the rest over the output tokens.
    """
    import numpy as np

    rate = joined["requests_per_s"].to_numpy(dtype="float64")
    t = joined["accelerators_per_replica"].to_numpy(dtype="float64")
    per_instance = joined["accelerators_per_instance"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        instances = np.ceil(replicas / np.floor(per_instance / t))
    billed = instances * per_instance
    hours = joined["hours_per_day"].to_numpy(dtype="float64") * HOURS_PER_MONTH / HOURS_PER_DAY
    fixed = joined["fixed_usd_per_accelerator_year"].to_numpy(dtype="float64")
    variable = joined["variable_usd_per_accelerator_hour"].to_numpy(dtype="float64")
    month = billed * (fixed / MONTHS_PER_YEAR + variable * hours)
    seconds = hours * SECONDS_PER_HOUR
    s_in = joined["prompt_tokens"].to_numpy(dtype="float64")
    s_out = joined["output_tokens"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        requests = rate * seconds
        capacity = joined["requests_per_s_per_replica"].to_numpy(dtype="float64")
        return {
            "instances": instances,
            "utilisation": rate / (replicas * capacity),
            "cost_usd_per_month": month,
            "cost_usd_per_year": month * MONTHS_PER_YEAR,
            "cost_usd_per_1m_output_tokens": month / (requests * s_out) * 1e6,
            "cost_usd_per_1m_tokens": month / (requests * (s_in + s_out)) * 1e6,
            "cost_usd_per_1k_requests": month / requests * 1e3,
            "split_usd_per_1m_input_tokens": month * share / (requests * s_in) * 1e6,
            "split_usd_per_1m_output_tokens": month * (1.0 - share) / (requests * s_out) * 1e6,
        }


def project_serving(
    workloads: pd.DataFrame,
    options: pd.DataFrame,
    hardware: pd.DataFrame,
    efficiencies: pd.DataFrame,
    *,
    replica_sizes: Sequence[int],
    assumptions: ServingAssumptions | None = None,
    batch_sizes: Sequence[int] | None = None,
    layouts: Sequence[str] = ("aggregated",),
) -> pd.DataFrame:
    """Serving cost for workloads x options x replica sizes x frameworks (x layouts).

    ``efficiencies`` comes from :func:`tco.model.throughput.resolve_serving_efficiency` (decode MBU at TP1
    and the compute efficiency, with their ranges and sources). A replica size is paired only with instances
    it divides (tensor parallelism stays inside an instance). ``batch_sizes``: when given, the running batch
    is capped at its largest value (besides memory and ``max_running_batch``). ``layouts``: any of
    :data:`LAYOUTS`. Output columns: :data:`SERVING_OUTPUT`.
    """
    import numpy as np
    import pandas as pd

    params = assumptions or ServingAssumptions()
    unknown = [name for name in layouts if name not in LAYOUTS]
    if unknown or not layouts:
        raise TcoError(
            f"unknown serving layout {unknown[0] if unknown else '(none)'!r}",
            hint=f"one of {', '.join(LAYOUTS)}",
        )
    batch_cap = float(max(batch_sizes)) if batch_sizes else math.inf
    frame = _prepare(workloads)
    sizes = pd.DataFrame({"accelerators_per_replica": np.asarray(replica_sizes, dtype="float64")})
    perf = frame.merge(efficiencies.drop(columns=["dtype"]), how="cross").merge(sizes, how="cross")
    hw = hardware[
        [
            "accelerator",
            "dtype",
            "peak_tflops",
            "memory_bytes",
            "memory_bandwidth_tb_s",
            "interconnect_gb_s",
            "peak_source",
        ]
    ].assign(serving_efficiency_factor=hardware.get("serving_efficiency_factor", 1.0))
    perf = perf.merge(hw, on=["accelerator", "dtype"], how="left").reset_index(drop=True)
    factor = perf["serving_efficiency_factor"].fillna(1.0)
    for name in ("mbu", "prefill_flops_efficiency"):
        for suffix in ("", "_low", "_high"):
            perf[name + suffix] = perf[name + suffix] * factor
    solved = pd.concat([_layout(perf, layout, params, batch_cap) for layout in layouts], ignore_index=True)
    missing_peak = solved["peak_tflops"].isna() | solved["memory_bandwidth_tb_s"].isna()
    solved["feasible"] = solved["feasible"] & ~missing_peak
    solved["reason"] = np.where(
        missing_peak,
        "no peak FLOP/s or memory bandwidth for " + solved["accelerator"] + " " + solved["dtype"],
        np.where(solved["feasible"], "", solved["limit"]),
    )

    joined = solved.merge(options, on="accelerator", how="inner")
    per_instance = joined["accelerators_per_instance"]
    joined = joined[
        (joined["accelerators_per_replica"] <= per_instance)
        & (np.mod(per_instance, joined["accelerators_per_replica"]) == 0)
    ].reset_index(drop=True)
    costs = _costs(
        joined,
        joined["replicas"].to_numpy(dtype="float64"),
        joined["input_cost_share"].to_numpy(dtype="float64"),
    )
    for name, values in costs.items():
        joined[name] = values
    for end, bound in (("fast", "low"), ("slow", "high")):
        other = _costs(
            joined,
            joined[f"replicas_{end}"].to_numpy(dtype="float64"),
            joined[f"input_cost_share_{end}"].to_numpy(dtype="float64"),
        )
        joined[f"cost_usd_per_month_{bound}"] = other["cost_usd_per_month"]
        joined[f"cost_usd_per_1m_output_tokens_{bound}"] = other["cost_usd_per_1m_output_tokens"]
    joined["weights_gb"] = joined["weights_bytes"] / 1e9
    joined["kv_bytes_per_token"] = (
        joined["kv_bytes_per_token_per_accelerator"] * joined["accelerators_per_replica"]
    )
    joined["headroom"] = params.headroom.value
    out: pd.DataFrame = joined[[c for c in SERVING_OUTPUT if c in joined.columns]]
    return out
