"""Serving projections: replicas, batch, latency and cost per token for an LLM at a request rate.

Per replica of ``t`` accelerators (tensor parallel inside one instance), for batch ``B`` and a request of
``s_in`` prompt and ``s_out`` output tokens (docs/projection_model.md §3.1, llm-analysis §1.5):

* weights ``W = N * weight_bytes``; KV cache per token ``kv = 2 * L * n_kv_heads * (h / heads) * kv_bytes``;
  memory ``W + B (s_in + s_out) kv <= usable * memory * t``.
* **decode** (memory-bandwidth bound, with a compute floor), mean context ``c = s_in + s_out / 2``::

      t_mem  = (W + B c kv) / t / (HBM_BW * MBU)
      t_comp = (2 N_active + 4 L c h) B / (t * peak * flops_eff)
      t_tp   = 2 L max(latency, 2 (t-1)/t * B h 2 / BW_intra)          (t > 1)
      TPOT   = max(t_mem, t_comp) + t_tp

* **prefill** (compute bound, with a weight-read floor), one request at a time::

      TTFT = max((2 N_active s_in + 4 L s_in^2 h) / (t peak flops_eff), W / t / (HBM_BW MBU))
             + 2 L max(latency, 2 (t-1)/t s_in h 2 / BW_intra)

* **continuous batching**: prefills interleave with decode steps, so the time between a user's tokens is
  ``TPOT_eff = TPOT + B * TTFT / s_out`` (B/s_out new requests arrive per step). A replica serves
  ``B / TPOT_eff`` output tokens/s. Queueing delay is not modelled.
* The **batch** is the one with the highest throughput among those meeting ``TTFT <= target``,
  ``TPOT_eff <= target`` and memory.
* **replicas** ``= ceil(rate * (1 + headroom) / requests_per_s_per_replica)``; instances hold
  ``accelerators_per_instance / t`` replicas each.
* **cost**: a month of ``hours_per_day * 730/24`` serving hours; on-demand/spot pay per hour served,
  commitments and owned hardware pay every hour. Per 1M output tokens, per 1M tokens (in + out), per 1k
  requests = monthly cost / monthly volume at the stated rate (so idle headroom is priced in).

Low/high costs re-solve everything with the efficiencies' high/low ends (MBU and prefill efficiency).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from tco.errors import TcoError
from tco.model.assumptions import ServingAssumptions
from tco.model.units import HOURS_PER_DAY

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tco.model.formula import Expr

#: Batch sizes tried (continuous batching: the number of requests decoding together).
BATCH_SIZES: Final = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)

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


def _solve(
    perf: pd.DataFrame,
    mbu: np.ndarray,
    flops_eff: np.ndarray,
    params: ServingAssumptions,
    batch_sizes: Sequence[int] = BATCH_SIZES,
) -> dict[str, np.ndarray]:
    """The best batch and its latencies and throughput per replica, for every row (vectorised over rows and
    candidate batch sizes)."""
    import numpy as np

    col = (slice(None), None)
    batch = np.asarray(batch_sizes, dtype="float64")[None, :]
    t = perf["accelerators_per_replica"].to_numpy(dtype="float64")
    n_active = perf["active_params"].to_numpy(dtype="float64")
    layers = perf["layers"].to_numpy(dtype="float64")
    hidden = perf["hidden"].to_numpy(dtype="float64")
    s_in = perf["prompt_tokens"].to_numpy(dtype="float64")
    s_out = perf["output_tokens"].to_numpy(dtype="float64")
    weights = perf["weights_bytes"].to_numpy(dtype="float64")
    kv = perf["kv_bytes_per_token"].to_numpy(dtype="float64")
    bw = perf["memory_bandwidth_tb_s"].to_numpy(dtype="float64") * 1e12
    peak = perf["peak_tflops"].to_numpy(dtype="float64") * 1e12
    intra = perf["interconnect_gb_s"].to_numpy(dtype="float64") / 2.0 * 1e9
    memory = perf["memory_bytes"].to_numpy(dtype="float64") * params.memory_usable_fraction.value * t
    latency = params.tp_latency_s.value
    context = s_in + s_out / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        tp_factor = np.where(t > 1, 2.0 * (t - 1.0) / t, 0.0)
        t_mem = (weights[col] + batch * context[col] * kv[col]) / t[col] / (bw[col] * mbu[col])
        t_comp = (2.0 * n_active + 4.0 * layers * context * hidden)[col] * batch / (t * peak * flops_eff)[col]
        t_tp = np.where(
            t[col] > 1,
            2.0 * layers[col] * np.maximum(latency, tp_factor[col] * batch * hidden[col] * 2.0 / intra[col]),
            0.0,
        )
        tpot = np.maximum(t_mem, t_comp) + t_tp
        prefill_compute = (2.0 * n_active * s_in + 4.0 * layers * s_in**2 * hidden) / (t * peak * flops_eff)
        weight_read = weights / t / (bw * mbu)
        prefill_tp = np.where(
            t > 1, 2.0 * layers * np.maximum(latency, tp_factor * s_in * hidden * 2.0 / intra), 0.0
        )
        ttft = np.maximum(prefill_compute, weight_read) + prefill_tp
        tpot_eff = tpot + batch * ttft[col] / s_out[col]
        fits = weights[col] + batch * (s_in + s_out)[col] * kv[col] <= memory[col]
        meets_ttft = (ttft <= perf["ttft_s"].to_numpy(dtype="float64"))[col]
        meets_tpot = tpot_eff <= perf["tpot_s"].to_numpy(dtype="float64")[col]
        ok = fits & meets_ttft & meets_tpot & np.isfinite(tpot_eff)
        throughput = np.where(ok, batch / tpot_eff, -np.inf)
    rows = np.arange(len(perf))
    choice = np.argmax(throughput, axis=1)
    feasible = ok[rows, choice]
    pick = (rows, choice)
    limit = np.select(
        [
            ~fits[:, 0],
            ~meets_ttft[:, 0],
            ~meets_tpot[:, 0],
            choice == batch.size - 1,
            ~fits[rows, np.minimum(choice + 1, batch.size - 1)],
        ],
        [
            "weights do not fit",
            "TTFT target unmet at batch 1",
            "TPOT target unmet at batch 1",
            "largest batch tried",
            "memory",
        ],
        default="TPOT target",
    )
    tokens_per_s = np.where(feasible, batch[0, choice] / tpot_eff[pick], np.nan)
    return {
        "batch_size": np.where(feasible, batch[0, choice], np.nan),
        "ttft_s": np.where(feasible, ttft, np.nan),
        "tpot_s": np.where(feasible, tpot_eff[pick], np.nan),
        "tokens_per_s_per_replica": tokens_per_s,
        "requests_per_s_per_replica": tokens_per_s / s_out,
        "feasible": feasible,
        "limit": limit,
        "kv_cache_gb": np.where(feasible, batch[0, choice] * (s_in + s_out) * kv / 1e9, np.nan),
    }


def _costs(joined: pd.DataFrame, solved: dict[str, np.ndarray], headroom: float) -> dict[str, np.ndarray]:
    """Replicas, held accelerators and the month's cost by the one definition of each
    (:mod:`tco.model.formulas`: ``REPLICAS``, ``FLEET_ACCELERATORS``, ``HELD_MONTH_COST``, ...)."""
    from tco.model import formulas as F

    names = (
        "requests_per_s", "accelerators_per_replica", "accelerators_per_instance", "hours_per_day",
        "fixed_usd_per_accelerator_year", "variable_usd_per_accelerator_hour", "prompt_tokens",
        "output_tokens",
    )  # fmt: skip
    column = {c: joined[c].to_numpy(dtype="float64") for c in names}
    rate, rps = column["requests_per_s"], solved["requests_per_s_per_replica"]
    replicas = F.REPLICAS.evaluate(
        min_replicas=1.0, requests_per_s=rate, headroom=headroom, requests_per_s_per_replica=rps
    )
    per_instance, per_replica = column["accelerators_per_instance"], column["accelerators_per_replica"]
    per_instance_replicas = F.REPLICAS_PER_INSTANCE.evaluate(
        accelerators_per_instance=per_instance, accelerators_per_replica=per_replica
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
        "requests_per_s": rate,
        "hours_per_month": hours,
        "prompt_tokens": column["prompt_tokens"],
        "output_tokens": column["output_tokens"],
    }

    def per(formula: Expr) -> np.ndarray:
        return formula.evaluate(**{name: volume[name] for name in formula.names})

    return {
        "replicas": replicas,
        "instances": instances,
        "utilisation": F.SERVING_UTILISATION.evaluate(
            requests_per_s=rate, replicas=replicas, requests_per_s_per_replica=rps
        ),
        "cost_usd_per_month": month,
        "cost_usd_per_year": F.COST_PER_YEAR.evaluate(cost_usd_per_month=month),
        "cost_usd_per_1m_output_tokens": per(F.COST_PER_1M_OUTPUT_TOKENS),
        "cost_usd_per_1m_tokens": per(F.COST_PER_1M_TOKENS),
        "cost_usd_per_1k_requests": per(F.COST_PER_1K_REQUESTS),
    }


def project_serving(
    workloads: pd.DataFrame,
    options: pd.DataFrame,
    hardware: pd.DataFrame,
    efficiencies: pd.DataFrame,
    *,
    replica_sizes: Sequence[int],
    assumptions: ServingAssumptions | None = None,
    batch_sizes: Sequence[int] = BATCH_SIZES,
) -> pd.DataFrame:
    """Serving cost for workloads x options x replica sizes x frameworks.

    ``efficiencies`` comes from :func:`tco.model.throughput.resolve_serving_efficiency`. A replica size is
    paired only with instances it divides (tensor parallelism stays inside an instance). Output columns:
    :data:`SERVING_OUTPUT`.
    """
    import numpy as np
    import pandas as pd

    params = assumptions or ServingAssumptions()
    frame = workloads.copy()
    frame["active_params"] = (
        frame["active_params"].fillna(frame["params"]) if "active_params" in frame else frame["params"]
    )
    frame["kv_heads"] = frame["kv_heads"].fillna(frame["heads"])
    frame["weights_bytes"] = frame["params"] * frame["weight_bytes_per_param"]
    frame["kv_bytes_per_token"] = (
        2.0
        * frame["layers"]
        * frame["kv_heads"]
        * frame["hidden"]
        / frame["heads"]
        * frame["kv_bytes_per_element"]
    )
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

    expected = _solve(
        perf,
        perf["mbu"].to_numpy(dtype="float64"),
        perf["prefill_flops_efficiency"].to_numpy(dtype="float64"),
        params,
        batch_sizes,
    )
    fast = _solve(
        perf,
        perf["mbu_high"].to_numpy(dtype="float64"),
        perf["prefill_flops_efficiency_high"].to_numpy(dtype="float64"),
        params,
        batch_sizes,
    )
    slow = _solve(
        perf,
        perf["mbu_low"].to_numpy(dtype="float64"),
        perf["prefill_flops_efficiency_low"].to_numpy(dtype="float64"),
        params,
        batch_sizes,
    )
    for name, values in expected.items():
        perf[name] = values
    perf["rps_fast"] = fast["requests_per_s_per_replica"]
    perf["rps_slow"] = slow["requests_per_s_per_replica"]
    missing_peak = perf["peak_tflops"].isna() | perf["memory_bandwidth_tb_s"].isna()
    perf["reason"] = np.where(
        missing_peak,
        "no peak FLOP/s or memory bandwidth for " + perf["accelerator"] + " " + perf["dtype"],
        np.where(perf["feasible"], "", perf["limit"]),
    )

    joined = perf.merge(options, on="accelerator", how="inner")
    per_instance = joined["accelerators_per_instance"]
    joined = joined[
        (joined["accelerators_per_replica"] <= per_instance)
        & (np.mod(per_instance, joined["accelerators_per_replica"]) == 0)
    ].reset_index(drop=True)
    headroom = params.headroom.value
    solved = {"requests_per_s_per_replica": joined["requests_per_s_per_replica"].to_numpy(dtype="float64")}
    costs = _costs(joined, solved, headroom)
    low = _costs(
        joined, {"requests_per_s_per_replica": joined["rps_fast"].to_numpy(dtype="float64")}, headroom
    )
    high = _costs(
        joined, {"requests_per_s_per_replica": joined["rps_slow"].to_numpy(dtype="float64")}, headroom
    )
    for name, values in costs.items():
        joined[name] = values
    joined["cost_usd_per_month_low"] = low["cost_usd_per_month"]
    joined["cost_usd_per_month_high"] = high["cost_usd_per_month"]
    joined["cost_usd_per_1m_output_tokens_low"] = low["cost_usd_per_1m_output_tokens"]
    joined["cost_usd_per_1m_output_tokens_high"] = high["cost_usd_per_1m_output_tokens"]
    joined["weights_gb"] = joined["weights_bytes"] / 1e9
    joined["headroom"] = headroom
    out: pd.DataFrame = joined[[c for c in SERVING_OUTPUT if c in joined.columns]]
    return out
