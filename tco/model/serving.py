"""Serving projections: replicas, latency under load and cost per token for an LLM at a request rate.

The engine model lives in :mod:`tco.model.inference` (docs/serving_model.md): the serving engine
(TensorRT-LLM, vLLM, SGLang; :mod:`tco.model.inference.engines`) sets the scheduling limits and memory
rules; memory in bytes (weights by dtype, KV cache by KV dtype/GQA/head dim/paged blocks, runtime reserve)
gives the sequences that fit; the step time (weights and KV at a TP-dependent MBU, FLOPs at a compute
efficiency, all-reduces, MoE experts touched, step overhead) gives throughput; the load model (whole prompts
or chunks per step, queueing) gives TTFT and TPOT p50/p99 at a request rate.

Per row (workload x accelerator x replica size x framework x layout x engine):

* ``max_running_batch`` = min(sequences that fit, the engine's cap ``engine_max_running_batch``).
* ``requests_per_s_per_replica`` = the highest request rate at which p99 TTFT and p99 TPOT meet the targets
  (:func:`tco.model.inference.queueing.load_curve`); ``tokens_per_s_per_replica`` = that x output tokens;
  ``offline_tokens_per_s_per_replica`` = output tokens/s with every slot busy and no latency target (what
  offline benchmarks such as trtllm-bench measure).
* ``replicas = ceil(rate * (1 + headroom) / requests_per_s_per_replica)``; instances hold
  ``floor(accelerators_per_instance / t)`` replicas each. Disaggregated layout: prefill and decode replicas
  are sized separately, each pool by the same formula on its own capacity
  (``prefill_requests_per_s_per_replica``, ``decode_requests_per_s_per_replica``;
  :data:`tco.model.formulas.PREFILL_REPLICAS`, ``DECODE_REPLICAS``), ``replicas = prefill + decode`` and
  ``requests_per_s_per_replica`` is the pair's harmonic capacity.
* ``ttft_s``/``tpot_s`` are the p99 at each replica's share of the offered load (``rate / replicas``);
  ``ttft_p50_s``/``tpot_p50_s`` the medians.
* **cost**: a month of ``hours_per_day * 730/24`` serving hours; on-demand/spot pay per hour served,
  commitments and owned hardware pay every hour. Per 1M output tokens, per 1M tokens (in + out), per 1k
  requests = monthly cost / monthly volume at the stated rate (so idle headroom is priced in). Split prices:
  ``split_usd_per_1m_input_tokens`` = month x input share / input tokens, ``split_usd_per_1m_output_tokens``
  = month x (1 - input share) / output tokens, where the input share is the replica time prefill takes
  (aggregated: (step - decode-only step) / step at the offered load; disaggregated: prefill replicas /
  replicas).

Low/high costs re-solve the capacity (and the prefill share) with the efficiencies' high/low ends (MBU and
compute efficiency, times the engine's factor), on 9 candidate concurrencies instead of 12.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from tco.errors import TcoError
from tco.model.assumptions import ServingAssumptions
from tco.model.numeric import quiet_arithmetic
from tco.model.units import BYTES_PER_GIB, HOURS_PER_DAY

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tco.model.formula import Expr
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
    "engine",  # optional: trtllm, vllm, sglang or auto (blank = ServingAssumptions.engine)
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
    "engine",
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
    "prefill_requests_per_s_per_replica",
    "decode_requests_per_s_per_replica",
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
    "engine_label",
    "chunked_prefill",
    "max_num_tokens",
    "engine_max_running_batch",
    "kv_cache_memory_fraction",
    "kv_block_tokens",
    "kv_reserved_output_fraction",
    "step_overhead_s",
    "efficiency_factor",
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
    for column in (*required, "workload", "dtype"):
        if column not in workloads.columns or workloads[column].isna().any():
            raise TcoError(
                f"serving needs {column.replace('_', ' ')}",
                hint=f"pass --{column.replace('_', '-')} or a --model preset",
            )
    for column in required:
        try:
            values = workloads[column].to_numpy(dtype="float64")
        except (TypeError, ValueError) as exc:
            raise TcoError(f"{column.replace('_', ' ')} must be a number") from exc
        # An infinite latency target is no target (a plan's throughput-only workload); any other number
        # must be positive and finite.
        allowed = np.isposinf(values) if column in ("ttft_s", "tpot_s") else np.zeros(len(values), bool)
        bad = ~((np.isfinite(values) & (values > 0)) | allowed)
        if bad.any():
            raise TcoError(
                f"{column.replace('_', ' ')} must be positive and finite, got {values[bad][0]:g}",
                hint=f"check --{column.replace('_', '-')}",
            )
    if (workloads["hours_per_day"] > HOURS_PER_DAY).any():
        raise TcoError("hours per day must be at most 24")


def _positive_whole(values: Sequence[Any], what: str, *, empty_ok: bool = False) -> None:
    """Raise :class:`TcoError` unless ``values`` are whole numbers of at least 1 (and some, unless
    ``empty_ok``)."""
    if not values and not empty_ok:
        raise TcoError(f"no {what} given", hint=f"give at least one {what.rstrip('s')}")
    for value in values:
        number = not isinstance(value, bool) and isinstance(value, int | float)
        if not number or not math.isfinite(value) or value < 1 or value != int(value):
            raise TcoError(f"{what} must be whole numbers of at least 1, not {value!r}")


#: Links slower than this (GB/s, bidirectional per accelerator) are PCIe: all-reduces pay the PCIe latency.
PCIE_MAX_GB_S: Final = 200.0

#: Layouts :func:`project_serving` prices: one engine doing prefill and decode, or separate pools.
LAYOUTS: Final = ("aggregated", "disaggregated")

#: Rows solved together: the candidate arrays of a block stay in the processor's cache.
BLOCK_ROWS: Final = 2048

_RHO_GRID: Final = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.96)


def _engine(
    cols: dict[str, np.ndarray], mbu: np.ndarray, flops_eff: np.ndarray, params: ServingAssumptions
) -> tuple[Engine, dict[str, np.ndarray]]:
    """The step model's inputs per row (shape (rows, 1)) and the memory figures.

    KV-cache bytes per accelerator by the engine's memory basis: ``free`` (TensorRT-LLM)
    ``f (M - W/t - reserve)``; ``total`` (vLLM) ``f M - W/t - reserve``; ``static`` (SGLang)
    ``f M - W/t`` (its fraction leaves the rest to activations).
    """
    import numpy as np

    from tco.model.inference.memory import kv_bytes_per_token, kv_capacity_bytes, tokens_held, weight_bytes
    from tco.model.inference.step import Engine

    def col(name: str) -> np.ndarray:
        return cols[name][:, None]

    t = col("accelerators_per_replica")
    hidden = col("hidden")
    vocab = col("vocab")
    weights = weight_bytes(
        col("params"), col("weight_bytes_per_param"), vocab, hidden, params.int4_group_size.value
    )
    read = weights - np.where(np.isfinite(vocab), vocab * hidden * 2.0, 0.0)
    kv_acc = kv_bytes_per_token(
        col("layers"), col("kv_heads"), col("head_dim"), col("kv_bytes_per_element"), t
    )
    capacity = kv_capacity_bytes(
        col("memory_bytes"),
        weights,
        t,
        reserve_bytes=params.runtime_reserve_gib.value * BYTES_PER_GIB,
        kv_fraction=col("kv_cache_memory_fraction"),
        basis=col("memory_basis"),
    )
    held = tokens_held(
        col("prompt_tokens"),
        col("output_tokens"),
        reserved_output_fraction=col("kv_reserved_output_fraction"),
        block_tokens=col("kv_block_tokens"),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = np.floor(np.maximum(capacity, 0.0) / (held * kv_acc))
    link = col("interconnect_gb_s")
    latency = np.where(link < PCIE_MAX_GB_S, params.pcie_tp_latency_s.value, params.tp_latency_s.value)
    mbu_tp = mbu[:, None] * params.mbu_tp_doubling_factor.value ** np.log2(np.maximum(t, 1.0))
    engine = Engine(
        tp=t,
        params=col("params"),
        active_params=col("active_params"),
        experts=col("experts"),
        experts_per_token=col("experts_per_token"),
        layers=col("layers"),
        hidden=hidden,
        attention_width=col("heads") * col("head_dim"),
        prompt_tokens=col("prompt_tokens"),
        output_tokens=col("output_tokens"),
        weights_bytes=weights,
        weights_read_bytes=read,
        kv_bytes_per_token=kv_acc,
        bandwidth_bytes_s=col("memory_bandwidth_tb_s") * 1e12,
        mbu=mbu_tp,
        peak_flops=col("peak_tflops") * 1e12,
        flops_efficiency=flops_eff[:, None],
        link_bytes_s=link / 2.0 * 1e9,
        allreduce_latency_s=latency,
        allreduce_bus_efficiency=params.allreduce_bus_efficiency.value,
        step_overhead_s=col("step_overhead_s"),
    )
    figures = {
        "weights_bytes": weights[:, 0],
        "kv_capacity_bytes": capacity[:, 0],
        "tokens_held": held[:, 0],
        "kv_bytes_per_token_per_accelerator": kv_acc[:, 0],
        "sequences_fit": fit[:, 0],
        "mbu_at_tp": mbu_tp[:, 0],
    }
    return engine, figures


def _aggregated(
    cols: dict[str, np.ndarray],
    mbu: np.ndarray,
    flops_eff: np.ndarray,
    params: ServingAssumptions,
    batch_cap: float,
    *,
    full: bool,
) -> dict[str, Any]:
    """Capacity within the SLOs, offline throughput and the load curve of one engine doing both phases.

    ``full``: also the latencies and the step breakdown (the expected end); the fast/slow ends need only
    the capacity and the prefill share of replica time.
    """
    import numpy as np

    from tco.model.inference.queueing import COARSE_FRACTIONS, SLOT_FRACTIONS, capacity, load_curve

    engine, figures = _engine(cols, mbu, flops_eff, params)
    engine_cap = np.minimum(cols["engine_max_running_batch"], batch_cap)
    fit = figures["sequences_fit"]
    slots = np.minimum(fit, engine_cap)[:, None]
    usable = (slots >= 1.0) & cols["supported"][:, None]
    slots = np.where(usable, slots, 1.0)
    curve = load_curve(
        engine,
        slots,
        max_num_tokens=cols["max_num_tokens"][:, None],
        chunked=cols["chunked_prefill"][:, None],
        z=params.latency_quantile_z.value,
        request_overhead_s=params.request_overhead_s.value,
        full=full,
        fractions=SLOT_FRACTIONS if full else COARSE_FRACTIONS,
    )
    best = capacity(curve, cols["ttft_s"][:, None], cols["tpot_s"][:, None], usable)
    out = {
        **figures,
        "curve": curve,
        "slots": slots[:, 0],
        "capacity": best["rate"],
        "feasible": best["feasible"],
    }
    if not full:
        return out
    s_in, s_out = engine.prompt_tokens, engine.output_tokens
    offline_step = engine.step_s(slots, slots * s_in / s_out)
    rows = np.arange(len(fit))
    nxt = np.minimum(best["index"] + 1, curve["rate"].shape[1] - 1)
    prefill_bound = curve["prefill_utilisation"][rows, nxt] >= 1.0
    out["limit"] = np.select(
        [
            fit < 1.0,
            ~cols["supported"],
            ~best["ttft_ok_first"],
            ~best["tpot_ok_first"],
            best["last"] & (fit <= engine_cap),
            best["last"],
            ~np.isfinite(curve["ttft_p99_s"][rows, nxt]) & prefill_bound,
            ~np.isfinite(curve["ttft_p99_s"][rows, nxt]),
            best["ttft_binds"],
        ],
        [
            "weights do not fit",
            "engine not available",
            "TTFT target unmet at the lowest load",
            "TPOT target unmet at the lowest load",
            "memory (KV cache)",
            "max running batch",
            "prefill throughput (step token budget)",
            "queueing for a running slot",
            "TTFT target (p99)",
        ],
        default="TPOT target (p99)",
    )
    out["batch_at_capacity"] = np.where(best["feasible"], curve["batch"][rows, best["index"]], np.nan)
    out["offline_tokens_per_s"] = np.where(usable[:, 0], slots[:, 0] / offline_step[:, 0], np.nan)
    return out


def _disaggregated(
    cols: dict[str, np.ndarray],
    mbu: np.ndarray,
    flops_eff: np.ndarray,
    params: ServingAssumptions,
    batch_cap: float,
    *,
    full: bool,
) -> dict[str, Any]:
    """Separate prefill and decode replicas (same size): each pool's capacity within the SLOs.

    Prefill replicas run prefill only, full ``max_num_tokens`` steps when busy: an M/D/1 queue with service
    ``S = s_in * step(0, C) / C``; TTFT p99 = wait p99 + the request's own prefill + moving its KV
    (``s_in * kv / (kv_transfer_gb_s * t)``) + the request overhead + one decode step. Decode replicas run
    decode only (no prefill interference): the largest concurrency whose step meets the TPOT target.
    """
    import numpy as np

    from tco.model.inference.memory import kv_bytes_per_token
    from tco.model.inference.queueing import P50, P99, wait_quantile

    engine, figures = _engine(cols, mbu, flops_eff, params)
    engine_cap = np.minimum(cols["engine_max_running_batch"], batch_cap)
    chunk = cols["max_num_tokens"][:, None]
    s_in, s_out = engine.prompt_tokens, engine.output_tokens
    zero = 0.0 * s_in
    service = s_in * engine.step_s(zero, zero + chunk) / chunk
    single = engine.prefill_s(s_in, zero + chunk)
    kv_total = kv_bytes_per_token(
        cols["layers"][:, None],
        cols["kv_heads"][:, None],
        cols["head_dim"][:, None],
        cols["kv_bytes_per_element"][:, None],
    )
    transfer = (
        s_in * kv_total / (params.kv_transfer_gb_s.value * 1e9 * engine.tp) + params.request_overhead_s.value
    )
    slots = np.minimum(figures["sequences_fit"], engine_cap)[:, None]
    usable = (slots >= 1.0) & cols["supported"][:, None]
    fractions = np.asarray((*_RHO_GRID, 0.98), dtype="float64")[None, :]
    batch = np.maximum(np.where(usable, slots, 1.0) * fractions, 1.0)
    decode = engine.step_s(batch, 0.0 * batch)
    rho = np.asarray(_RHO_GRID, dtype="float64")[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = rho * service / (2.0 * (1.0 - rho))
        first = decode[:, :1]
        ttft99 = wait_quantile(wait, rho, P99) + single + transfer + first
        ttft50 = wait_quantile(wait, rho, P50) + single + transfer + 0.5 * first
        ok_p = ttft99 <= cols["ttft_s"][:, None]
        cap_p = np.max(np.where(ok_p, rho / service, -np.inf), axis=1)
        decode_rate = batch / (s_out * decode)
        ok_d = (decode <= cols["tpot_s"][:, None]) & usable
        cap_d = np.max(np.where(ok_d, decode_rate, -np.inf), axis=1)
    feasible = np.isfinite(cap_p) & np.isfinite(cap_d) & (cap_p > 0) & (cap_d > 0)
    limit = np.select(
        [figures["sequences_fit"] < 1.0, ~cols["supported"], ~np.isfinite(cap_p), ~np.isfinite(cap_d)],
        [
            "weights do not fit",
            "engine not available",
            "TTFT target unmet at the lowest load",
            "TPOT target unmet at the lowest load",
        ],
        default="prefill and decode pools sized separately",
    )
    return {
        **figures,
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
        values = frame[name].to_numpy(dtype="float64") if name in frame else np.full(len(frame), np.nan)
        frame[name] = values
    params = frame["params"].to_numpy(dtype="float64")
    heads = frame["heads"].to_numpy(dtype="float64")
    active = frame["active_params"].to_numpy()
    frame["active_params"] = np.where(np.isnan(active), params, active)
    kv = frame["kv_heads"].to_numpy()
    frame["kv_heads"] = np.where(np.isnan(kv), heads, kv)
    head_dim = frame["head_dim"].to_numpy()
    frame["head_dim"] = np.where(
        np.isnan(head_dim), frame["hidden"].to_numpy(dtype="float64") / heads, head_dim
    )
    moe = frame["active_params"].to_numpy() < params
    experts = frame["experts"].to_numpy()
    frame["experts"] = np.where(moe & np.isnan(experts), DEFAULT_EXPERTS, experts)
    per_token = frame["experts_per_token"].to_numpy()
    frame["experts_per_token"] = np.where(moe & np.isnan(per_token), DEFAULT_EXPERTS_PER_TOKEN, per_token)
    return frame


def _replicas(rate: np.ndarray, headroom: float, capacity: np.ndarray) -> np.ndarray:
    """Replicas for the rate with headroom (:data:`tco.model.formulas.REPLICAS`, at least one)."""
    from tco.model import formulas as F

    return F.REPLICAS.evaluate(
        min_replicas=1.0, requests_per_s=rate, headroom=headroom, requests_per_s_per_replica=capacity
    )


def _at_load(
    rate: np.ndarray, solved: dict[str, Any], headroom: float, *, full: bool
) -> dict[str, np.ndarray]:
    """Replicas for the rate and the latencies each replica sees at its share of the offered load."""
    import numpy as np

    from tco.model.inference.queueing import at_rate

    replicas = _replicas(rate, headroom, solved["capacity"])
    with np.errstate(divide="ignore", invalid="ignore"):
        offered = rate / replicas
    offered = np.where(np.isfinite(offered), offered, 0.0)
    curve = solved["curve"]
    wanted = curve if full else {name: curve[name] for name in ("rate", "step_s", "decode_step_s")}
    point = at_rate(wanted, offered)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (point["step_s"] - point["decode_step_s"]) / point["step_s"]
    ok = solved["feasible"]

    def keep(values: np.ndarray) -> np.ndarray:
        return np.where(ok, values, np.nan)

    out = {
        "replicas": keep(replicas),
        "input_cost_share": keep(np.clip(share, 0.0, 1.0)),
    }
    if not full:
        return out
    nan = np.full(len(rate), np.nan)
    return {
        **out,
        "prefill_replicas": nan,
        "decode_replicas": nan,
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
        "requests_per_s_per_replica": keep(solved["capacity"]),
        "prefill_requests_per_s_per_replica": nan,
        "decode_requests_per_s_per_replica": nan,
    }


def _disagg_at_load(
    rate: np.ndarray, solved: dict[str, Any], headroom: float, *, full: bool
) -> dict[str, np.ndarray]:
    """Both pools' replicas for the rate and the latencies at their share of the offered load."""
    import numpy as np

    from tco.model import formulas as F
    from tco.model.inference.queueing import P50, P99, wait_quantile

    cap_p, cap_d = solved["prefill_capacity"], solved["decode_capacity"]
    pools = {"requests_per_s": rate, "headroom": headroom}
    pre = F.PREFILL_REPLICAS.evaluate(**pools, prefill_requests_per_s_per_replica=cap_p)
    dec = F.DECODE_REPLICAS.evaluate(**pools, decode_requests_per_s_per_replica=cap_d)
    with np.errstate(divide="ignore", invalid="ignore"):
        service = solved["prefill_service_s"]
        rho = rate / pre * service
        wait = rho * service / (2.0 * (1.0 - rho))
        base = solved["prefill_single_s"] + solved["kv_transfer_s"]
        # decode concurrency at the decode pool's share of the load (interpolated on the rate curve)
        per_decode = rate / dec
        rates = solved["decode_rate"]
        steps = solved["decode_step"]
        rows = np.arange(len(rate))
        idx = np.clip((rates < per_decode[:, None]).sum(axis=1), 0, rates.shape[1] - 1)
        step = steps[rows, idx]
        ttft99 = wait_quantile(wait, rho, P99) + base + step
        ttft50 = wait_quantile(wait, rho, P50) + base + 0.5 * step
        per_pair = 1.0 / (1.0 / cap_p + 1.0 / cap_d)
    ok = solved["feasible"]

    def keep(values: np.ndarray) -> np.ndarray:
        return np.where(ok, values, np.nan)

    sizes = {"prefill_replicas": pre, "decode_replicas": dec}
    out = {
        "replicas": keep(F.POOL_REPLICAS.evaluate(**sizes)),
        "input_cost_share": keep(F.POOL_INPUT_COST_SHARE.evaluate(**sizes)),
    }
    if not full:
        return out
    nan = np.full(len(rate), np.nan)
    return {
        **out,
        "prefill_replicas": keep(pre),
        "decode_replicas": keep(dec),
        "running_batch": keep(per_decode * solved["output_tokens"] * step),
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
        "requests_per_s_per_replica": keep(per_pair),
        "prefill_requests_per_s_per_replica": keep(cap_p),
        "decode_requests_per_s_per_replica": keep(cap_d),
    }


#: Numeric per-row inputs of the solvers (taken out of the frame once).
_SOLVER_COLUMNS: Final = (
    "accelerators_per_replica",
    "params",
    "active_params",
    "layers",
    "hidden",
    "heads",
    "kv_heads",
    "head_dim",
    "vocab",
    "experts",
    "experts_per_token",
    "prompt_tokens",
    "output_tokens",
    "requests_per_s",
    "ttft_s",
    "tpot_s",
    "weight_bytes_per_param",
    "kv_bytes_per_element",
    "memory_bytes",
    "memory_bandwidth_tb_s",
    "interconnect_gb_s",
    "peak_tflops",
    "engine_max_running_batch",
    "max_num_tokens",
    "kv_cache_memory_fraction",
    "memory_basis",
    "kv_block_tokens",
    "kv_reserved_output_fraction",
    "step_overhead_s",
    "chunked_prefill",
)


def _solve_layout(
    cols: dict[str, np.ndarray],
    effs: dict[str, np.ndarray],
    layout: str,
    params: ServingAssumptions,
    batch_cap: float,
) -> dict[str, np.ndarray]:
    """One layout at the expected, fast (high efficiencies) and slow (low efficiencies) ends, in blocks of
    :data:`BLOCK_ROWS` rows; the per-row results (no frames)."""
    import numpy as np

    solve = _aggregated if layout == "aggregated" else _disaggregated
    at_load = _at_load if layout == "aggregated" else _disagg_at_load
    headroom = params.headroom.value
    n = len(cols["params"])
    # dense rows first: a block without MoE rows skips the experts-touched term
    moe = np.isfinite(cols["experts"]) & (cols["active_params"] < cols["params"])
    order = np.argsort(moe, kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    effs = {k: v[order] for k, v in effs.items()}
    pieces: list[dict[str, np.ndarray]] = []
    for start in range(0, max(n, 1), BLOCK_ROWS):
        part = {k: v[start : start + BLOCK_ROWS] for k, v in cols.items()}
        eff = {k: v[start : start + BLOCK_ROWS] for k, v in effs.items()}
        rate = part["requests_per_s"]
        solved = solve(part, eff["mbu"], eff["prefill_flops_efficiency"], params, batch_cap, full=True)
        solved["output_tokens"] = part["output_tokens"]
        result: dict[str, np.ndarray] = dict(at_load(rate, solved, headroom, full=True))
        for end, suffix in (("fast", "_high"), ("slow", "_low")):
            other = solve(
                part,
                eff[f"mbu{suffix}"],
                eff[f"prefill_flops_efficiency{suffix}"],
                params,
                batch_cap,
                full=False,
            )
            point = at_load(rate, other, headroom, full=False)
            result[f"replicas_{end}"] = point["replicas"]
            result[f"input_cost_share_{end}"] = point["input_cost_share"]
        result["feasible"] = solved["feasible"]
        result["limit"] = solved["limit"]
        result["max_running_batch"] = np.where(solved["slots"] >= 1, solved["slots"], np.nan)
        result["batch_size"] = solved.get("batch_at_capacity", result["max_running_batch"])
        result["offline_tokens_per_s_per_replica"] = solved.get(
            "offline_tokens_per_s", np.full(len(rate), np.nan)
        )
        for name in (
            "weights_bytes",
            "kv_capacity_bytes",
            "kv_bytes_per_token_per_accelerator",
            "tokens_held",
            "mbu_at_tp",
        ):
            result[name] = solved[name]
        pieces.append(result)
    back = np.empty_like(order)
    back[order] = np.arange(n)
    return {k: np.concatenate([p[k] for p in pieces])[back] for k in pieces[0]}


def _layout(
    perf: pd.DataFrame,
    cols: dict[str, np.ndarray],
    effs: dict[str, np.ndarray],
    layout: str,
    params: ServingAssumptions,
    batch_cap: float,
) -> pd.DataFrame:
    """One layout's solution joined to its rows."""
    import numpy as np
    import pandas as pd

    result = _solve_layout(cols, effs, layout, params, batch_cap)
    t = cols["accelerators_per_replica"]
    s_out = cols["output_tokens"]
    extra = {
        "layout": np.full(len(perf), layout, dtype=object),
        **result,
        "tokens_per_s_per_replica": result["requests_per_s_per_replica"] * s_out,
        "kv_capacity_gb": np.maximum(result["kv_capacity_bytes"], 0.0) * t / 1e9,
        "kv_tokens_per_sequence": result["tokens_held"],
    }
    extra["kv_cache_gb"] = np.where(
        result["feasible"],
        result["running_batch"]
        * result["tokens_held"]
        * result["kv_bytes_per_token_per_accelerator"]
        * t
        / 1e9,
        np.nan,
    )
    del extra["tokens_held"]
    base = perf.drop(columns=[name for name in extra if name in perf.columns]).reset_index(drop=True)
    return pd.concat([base, pd.DataFrame(extra)], axis=1)


def _engines_column(
    frame: pd.DataFrame, params: ServingAssumptions, engines: Sequence[str] | None
) -> pd.DataFrame:
    """The rows with an ``engine`` (canonical name): ``engines`` (a dimension: every row once per engine),
    else the workload's ``engine`` column, else :attr:`ServingAssumptions.engine`; ``auto`` = the
    accelerator's default (TensorRT-LLM on NVIDIA, vLLM elsewhere)."""
    import numpy as np
    import pandas as pd

    from tco.model.inference.engines import canonical_engine, default_engine

    if engines:
        names = [canonical_engine(e) for e in engines]
        frame = frame.drop(columns=["engine"], errors="ignore").merge(
            pd.DataFrame({"engine": list(dict.fromkeys(names))}), how="cross"
        )
    elif "engine" not in frame.columns:
        frame = frame.assign(engine=params.engine)
    given = frame["engine"].to_numpy(dtype=object)
    unique = {
        name: canonical_engine(params.engine if pd.isna(name) or not str(name).strip() else str(name))
        for name in pd.unique(given)
    }
    resolved = pd.Series(given, dtype=object).map(unique).to_numpy(dtype=object)
    auto = resolved == "auto"
    if auto.any():
        accelerators = frame["accelerator"].to_numpy(dtype=object)
        defaults = {a: default_engine(str(a)) for a in pd.unique(accelerators[auto])}
        resolved[auto] = [defaults[a] for a in accelerators[auto]]
    frame["engine"] = np.asarray(resolved, dtype=object)
    return frame


def _costs(joined: pd.DataFrame, replicas: np.ndarray, share: np.ndarray) -> dict[str, np.ndarray]:
    """Monthly cost of ``replicas`` on whole instances and what it comes to per token and request, by the one
    definition of each (:mod:`tco.model.formulas`: ``REPLICA_INSTANCES``, ``FLEET_ACCELERATORS``,
    ``HELD_MONTH_COST``, ``COST_PER_1M_OUTPUT_TOKENS``, ...).

    instances = ceil(replicas / floor(accelerators_per_instance / t)); month = instances x accelerators per
    instance x (fixed_usd_per_accelerator_year / 12 + variable_usd_per_accelerator_hour x hours_per_day x
    730 / 24); per 1M output tokens, per 1M tokens (in + out) and per 1k requests = month / the month's
    volume at the stated rate (idle headroom is priced in). Split prices: the input share of the month (the
    replica time prefill takes) over the input tokens, the rest over the output tokens.
    """
    from tco.model import formulas as F

    names = (
        "requests_per_s", "accelerators_per_replica", "accelerators_per_instance", "hours_per_day",
        "fixed_usd_per_accelerator_year", "variable_usd_per_accelerator_hour", "prompt_tokens",
        "output_tokens", "requests_per_s_per_replica",
    )  # fmt: skip
    column = {c: joined[c].to_numpy(dtype="float64") for c in names}
    per_instance = column["accelerators_per_instance"]
    per_instance_replicas = F.REPLICAS_PER_INSTANCE.evaluate(
        accelerators_per_instance=per_instance, accelerators_per_replica=column["accelerators_per_replica"]
    )
    instances = F.REPLICA_INSTANCES.evaluate(replicas=replicas, replicas_per_instance=per_instance_replicas)
    billed = F.FLEET_ACCELERATORS.evaluate(
        replicas=replicas, replicas_per_instance=per_instance_replicas, accelerators_per_instance=per_instance
    )
    hours = F.SERVING_HOURS_PER_MONTH.evaluate(hours_per_day=column["hours_per_day"])
    month = F.HELD_MONTH_COST.evaluate(
        billed_accelerators=billed,
        hours_per_month=hours,
        fixed_usd_per_accelerator_year=column["fixed_usd_per_accelerator_year"],
        variable_usd_per_accelerator_hour=column["variable_usd_per_accelerator_hour"],
    )
    volume = {
        "cost_usd_per_month": month,
        "requests_per_s": column["requests_per_s"],
        "hours_per_month": hours,
        "prompt_tokens": column["prompt_tokens"],
        "output_tokens": column["output_tokens"],
        "input_cost_share": share,
    }

    def per(formula: Expr) -> np.ndarray:
        return formula.evaluate(**{name: volume[name] for name in formula.names})

    return {
        "instances": instances,
        "utilisation": F.SERVING_UTILISATION.evaluate(
            requests_per_s=column["requests_per_s"],
            replicas=replicas,
            requests_per_s_per_replica=column["requests_per_s_per_replica"],
        ),
        "cost_usd_per_month": month,
        "cost_usd_per_year": F.COST_PER_YEAR.evaluate(cost_usd_per_month=month),
        "cost_usd_per_1m_output_tokens": per(F.COST_PER_1M_OUTPUT_TOKENS),
        "cost_usd_per_1m_tokens": per(F.COST_PER_1M_TOKENS),
        "cost_usd_per_1k_requests": per(F.COST_PER_1K_REQUESTS),
        "split_usd_per_1m_input_tokens": per(F.SPLIT_USD_PER_1M_INPUT_TOKENS),
        "split_usd_per_1m_output_tokens": per(F.SPLIT_USD_PER_1M_OUTPUT_TOKENS),
    }


def _rows(
    workloads: pd.DataFrame,
    hardware: pd.DataFrame,
    efficiencies: pd.DataFrame,
    replica_sizes: Sequence[int],
    params: ServingAssumptions,
    engines: Sequence[str] | None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """workloads x efficiencies x replica sizes (x engines) with the hardware and the engine's settings; the
    solvers' numeric columns; the efficiencies times the engine's factor on the accelerator."""
    import numpy as np
    import pandas as pd

    from tco.model.inference.engines import resolve

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
    ]
    perf = perf.merge(hw, on=["accelerator", "dtype"], how="left").reset_index(drop=True)
    perf = _engines_column(perf, params, engines)
    settings = resolve(
        perf["engine"].to_numpy(dtype=object),
        perf["accelerator"].to_numpy(dtype=object),
        perf["memory_bytes"].to_numpy(dtype="float64"),
        perf["accelerators_per_replica"].to_numpy(dtype="float64"),
        params,
    )
    for name, values in settings.items():
        perf[name] = values
    cols = {name: perf[name].to_numpy(dtype="float64") for name in _SOLVER_COLUMNS}
    cols["supported"] = settings["engine_reason"] == ""
    factor = settings["efficiency_factor"]
    effs = {
        name + suffix: perf[name + suffix].to_numpy(dtype="float64") * factor
        for name in ("mbu", "prefill_flops_efficiency")
        for suffix in ("", "_low", "_high")
    }
    for name, values in effs.items():
        perf[name] = values
    return perf, cols, effs


def load_curves(
    workloads: pd.DataFrame,
    hardware: pd.DataFrame,
    efficiencies: pd.DataFrame,
    *,
    replica_sizes: Sequence[int],
    assumptions: ServingAssumptions | None = None,
    engines: Sequence[str] | None = None,
    burst_requests: str | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The aggregated layout's load curve per row (workloads x efficiencies x replica sizes x engines), at
    the expected efficiencies: the rows and the curve's arrays (rows x candidates; see
    :func:`tco.model.inference.queueing.load_curve`), for checks against measured latency under load.
    ``burst_requests``: a workload column; adds ``burst_ttft_mean_s`` and ``burst_tpot_mean_s`` (rows, 1),
    the mean TTFT and TPOT when that many requests arrive at once
    (:func:`tco.model.inference.queueing.burst`)."""
    import numpy as np

    from tco.model.inference.queueing import burst

    params = assumptions or ServingAssumptions()
    perf, cols, effs = _rows(workloads, hardware, efficiencies, replica_sizes, params, engines)
    solved = _aggregated(cols, effs["mbu"], effs["prefill_flops_efficiency"], params, math.inf, full=True)
    curve: dict[str, np.ndarray] = dict(solved["curve"])
    if burst_requests is not None:
        engine, _ = _engine(cols, effs["mbu"], effs["prefill_flops_efficiency"], params)
        slots = np.maximum(solved["slots"], 1.0)[:, None]
        wave = burst(
            engine,
            slots,
            requests=perf[burst_requests].to_numpy(dtype="float64")[:, None],
            max_num_tokens=cols["max_num_tokens"][:, None],
            chunked=cols["chunked_prefill"][:, None],
            request_overhead_s=params.request_overhead_s.value,
        )
        curve["burst_ttft_mean_s"] = wave["ttft_mean_s"]
        curve["burst_tpot_mean_s"] = wave["tpot_mean_s"]
    return perf, curve


def _usable(values: pd.Series) -> np.ndarray:
    """Where a hardware figure is a positive finite number (NaN, zero, negative or infinite: unusable)."""
    import numpy as np

    array = values.to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        return np.asarray(np.isfinite(array) & (array > 0), dtype=bool)


@quiet_arithmetic
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
    engines: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Serving cost for workloads x options x replica sizes x frameworks (x layouts x engines).

    ``efficiencies`` comes from :func:`tco.model.throughput.resolve_serving_efficiency` (decode MBU at TP1
    and the compute efficiency, with their ranges and sources). A replica size is paired only with instances
    it divides (tensor parallelism stays inside an instance). ``batch_sizes``: when given, the running batch
    is capped at its largest value (besides memory and the engine's max running batch). ``layouts``: any of
    :data:`LAYOUTS`. ``engines``: serving engines to compare (``trtllm``, ``vllm``, ``sglang``, ``auto``);
    None: the workload's ``engine`` column, else ``assumptions.engine`` (``auto``: TensorRT-LLM on NVIDIA,
    vLLM elsewhere). Output columns: :data:`SERVING_OUTPUT`.
    """
    import numpy as np
    import pandas as pd

    from tco.model.throughput import numeric_hardware

    params = assumptions or ServingAssumptions()
    validate_serving_workloads(workloads)
    hardware = numeric_hardware(hardware)
    _positive_whole(list(replica_sizes), "replica sizes")
    if batch_sizes is not None:
        _positive_whole(list(batch_sizes), "batch sizes")
    unknown = [name for name in layouts if name not in LAYOUTS]
    if unknown or not layouts:
        raise TcoError(
            f"unknown serving layout {unknown[0] if unknown else '(none)'!r}",
            hint=f"one of {', '.join(LAYOUTS)}",
        )
    batch_cap = float(max(batch_sizes)) if batch_sizes else math.inf
    perf, cols, effs = _rows(workloads, hardware, efficiencies, replica_sizes, params, engines)
    solved = pd.concat(
        [_layout(perf, cols, effs, layout, params, batch_cap) for layout in layouts], ignore_index=True
    )
    missing_peak = ~_usable(solved["peak_tflops"]) | ~_usable(solved["memory_bandwidth_tb_s"])
    feasible = solved["feasible"].to_numpy(dtype=bool) & ~missing_peak
    solved["feasible"] = feasible
    engine_reason = solved["engine_reason"].to_numpy(dtype=object)
    reason = np.where(feasible, "", solved["limit"].to_numpy(dtype=object))
    reason = np.where(engine_reason != "", engine_reason, reason)
    if missing_peak.any():
        missing = solved.loc[missing_peak, ["accelerator", "dtype"]].astype(str)
        reason[missing_peak] = (
            "no peak FLOP/s or memory bandwidth for " + missing["accelerator"] + " " + missing["dtype"]
        ).to_numpy(dtype=object)
    solved["reason"] = reason

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
    # A rate whose fleet's cost overflows is no option to buy (a missing price stays NaN, not this).
    overflow = joined["feasible"].to_numpy(dtype=bool) & np.isinf(costs["cost_usd_per_month"])
    if overflow.any():
        joined.loc[overflow, "feasible"] = False
        joined.loc[overflow, "reason"] = "the fleet's cost is beyond any number (request rate too high?)"
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
