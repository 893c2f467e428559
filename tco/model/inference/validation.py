"""Published serving measurements against the model: the rows of a validation table in, predictions out.

A validation row names a model (a row of ``tco/data/serving_models.csv``), an accelerator, a tensor-parallel
degree, weight/KV/compute dtypes, fixed prompt and output lengths, the engine that was measured (``engine``:
"TensorRT-LLM 0.15", "vLLM 0.10.2", ...; the model runs that engine's defaults) and one of:

* offline output tokens/s of the whole replica (every slot busy, no latency target: trtllm-bench, vLLM
  benchmark_throughput) - :func:`predict_offline`;
* TTFT and TPOT at a request rate (Poisson arrivals) - :func:`predict_online`;
* TTFT and TPOT with a fixed number of requests in flight (a closed-loop benchmark client: genai-perf,
  NIM's concurrency sweeps) - :func:`predict_concurrency`.

Used by ``benchmarks/serving_validation.py`` and ``tests/tco/model/test_serving_validation.py``. Pure (frames
in, frames out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from tco.model.units import DTYPE_BYTES

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tco.model.assumptions import ServingAssumptions

SHAPE_COLUMNS: Final = (
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
)


def efficiencies_from(assumptions: ServingAssumptions, accelerators: list[str]) -> pd.DataFrame:
    """The efficiency frame :func:`tco.model.serving.project_serving` takes, from the named defaults alone."""
    import pandas as pd

    a = assumptions
    return pd.DataFrame(
        {
            "accelerator": accelerators,
            "framework": "any",
            "dtype": "",
            "mbu": a.mbu.value,
            "mbu_low": a.mbu.low,
            "mbu_high": a.mbu.high,
            "mbu_source": "assumed",
            "mbu_detail": a.mbu.source,
            "prefill_flops_efficiency": a.prefill_flops_efficiency.value,
            "prefill_flops_efficiency_low": a.prefill_flops_efficiency.low,
            "prefill_flops_efficiency_high": a.prefill_flops_efficiency.high,
            "prefill_flops_efficiency_source": "assumed",
            "prefill_flops_efficiency_detail": a.prefill_flops_efficiency.source,
            "throughput_source": "assumed MBU/efficiency",
        }
    )


def _workloads(rows: pd.DataFrame, models: pd.DataFrame, **targets: float) -> pd.DataFrame:
    """The validation rows as serving workloads (one per row, named by its position ``_row``)."""
    import numpy as np

    from tco.model.inference.engines import canonical_engine

    shapes = models.set_index("name")[list(SHAPE_COLUMNS)]
    frame = rows.reset_index(drop=True).copy()
    frame["_row"] = np.arange(len(frame))
    work = frame.join(shapes, on="model")
    engine = work.get("engine", "auto")
    return work.assign(
        workload=work["_row"].astype(str),
        requests_per_s=work.get("requests_per_s", 1.0),
        ttft_s=targets.get("ttft_s", 1e9),
        tpot_s=targets.get("tpot_s", 1e9),
        weight_bytes_per_param=work["weight_dtype"].map(DTYPE_BYTES),
        kv_bytes_per_element=work["kv_dtype"].map(DTYPE_BYTES),
        hours_per_day=24.0,
        dtype=work["compute_dtype"],
        workload_source="validation",
        engine=[
            canonical_engine(str(e)) for e in np.broadcast_to(np.asarray(engine, dtype=object), len(work))
        ],
    )


def _groups(work: pd.DataFrame) -> list[tuple[str, str, int, pd.DataFrame]]:
    return [
        (str(acc), str(dtype), int(float(str(tp))), group)
        for (acc, dtype, tp), group in work.groupby(["accelerator", "compute_dtype", "tp"], sort=False)
    ]


def predict_offline(
    rows: pd.DataFrame, models: pd.DataFrame, hardware: pd.DataFrame, assumptions: ServingAssumptions
) -> pd.DataFrame:
    """``rows`` with ``predicted_tokens_per_s`` (offline output tokens/s per replica), ``error`` (predicted /
    measured - 1) and the model's memory figures (``max_running_batch``, ``limit``)."""
    import numpy as np
    import pandas as pd

    from tco.model.offers import override_options
    from tco.model.serving import project_serving

    work = _workloads(rows, models)
    out = []
    for accelerator, dtype, tp, group in _groups(work):
        hw = hardware[(hardware["accelerator"] == accelerator) & (hardware["dtype"] == dtype)]
        result = project_serving(
            group.drop(columns=["accelerator", "tp"]),
            override_options([accelerator], 1.0, 8.0),
            hw,
            efficiencies_from(assumptions, [accelerator]),
            replica_sizes=[tp],
            assumptions=assumptions,
        )
        out.append(result.assign(_row=result["workload"].astype(int)))
    predicted = pd.concat(out, ignore_index=True).set_index("_row")
    frame = rows.reset_index(drop=True).copy()
    index = np.arange(len(frame))
    frame["predicted_tokens_per_s"] = predicted["offline_tokens_per_s_per_replica"].reindex(index).to_numpy()
    frame["max_running_batch"] = predicted["max_running_batch"].reindex(index).to_numpy()
    frame["limit"] = predicted["limit"].reindex(index).to_numpy()
    frame["error"] = frame["predicted_tokens_per_s"] / frame["output_tokens_per_s"] - 1.0
    return frame


def summary(frame: pd.DataFrame, column: str = "error") -> dict[str, float]:
    """Median |error|, share within +-25% and the count, over the rows with a prediction."""
    import numpy as np

    errors = frame[column].to_numpy(dtype="float64")
    errors = errors[np.isfinite(errors)]
    if errors.size == 0:
        return {
            "rows": 0.0,
            "median_abs_error": float("nan"),
            "within_25": float("nan"),
            "median_error": float("nan"),
        }
    return {
        "rows": float(errors.size),
        "median_abs_error": float(np.median(np.abs(errors))),
        "within_25": float(np.mean(np.abs(errors) <= 0.25)),
        "median_error": float(np.median(errors)),
    }


def _curves(
    work: pd.DataFrame, hardware: pd.DataFrame, assumptions: ServingAssumptions, burst: str | None = None
) -> list[tuple[pd.DataFrame, dict[str, np.ndarray]]]:
    """Each (accelerator, dtype, TP) group's rows and load curves (aggregated, expected efficiencies)."""
    from tco.model.serving import load_curves

    out = []
    for accelerator, dtype, tp, group in _groups(work):
        hw = hardware[(hardware["accelerator"] == accelerator) & (hardware["dtype"] == dtype)]
        perf, curve = load_curves(
            group.drop(columns=["accelerator", "tp"]),
            hw,
            efficiencies_from(assumptions, [accelerator]),
            replica_sizes=[tp],
            assumptions=assumptions,
            burst_requests=burst,
        )
        out.append((perf, curve))
    return out


def predict_online(
    rows: pd.DataFrame, models: pd.DataFrame, hardware: pd.DataFrame, assumptions: ServingAssumptions
) -> pd.DataFrame:
    """``rows`` with the model's mean TTFT and TPOT (``pred_ttft_ms``, ``pred_tpot_ms``) and p99 TTFT
    (``pred_ttft_p99_ms``): at the ``requests_per_s`` one replica serves (Poisson arrivals), or, where
    ``burst_requests`` is given, for that many requests arriving at once (a "QPS inf" run)."""
    import numpy as np

    from tco.model.inference.queueing import at_rate

    frame = rows.reset_index(drop=True).copy()
    if "burst_requests" not in frame:
        frame["burst_requests"] = np.nan
    burst = frame["burst_requests"].notna().to_numpy()
    frame["requests_per_s"] = frame["requests_per_s"].where(~burst, 1.0)
    work = _workloads(frame.assign(burst_requests=frame["burst_requests"].fillna(1.0)), models)
    for name in ("pred_ttft_ms", "pred_tpot_ms", "pred_ttft_p99_ms"):
        frame[name] = np.nan
    for perf, curve in _curves(work, hardware, assumptions, burst="burst_requests"):
        arrays = {k: v for k, v in curve.items() if v.shape[1] > 1}
        rates = perf["requests_per_s"].to_numpy(dtype="float64")
        point = at_rate(arrays, rates)
        index = perf["workload"].astype(int).to_numpy()
        is_burst = burst[index]
        bursty = np.asarray(curve["burst_ttft_mean_s"])[:, 0]
        bursty_tpot = np.asarray(curve["burst_tpot_mean_s"])[:, 0]
        frame.loc[index, "pred_ttft_ms"] = np.where(is_burst, bursty, point["ttft_mean_s"]) * 1e3
        frame.loc[index, "pred_tpot_ms"] = np.where(is_burst, bursty_tpot, point["tpot_p50_s"]) * 1e3
        frame.loc[index, "pred_ttft_p99_ms"] = np.where(is_burst, np.nan, point["ttft_p99_s"]) * 1e3
    return frame


def predict_concurrency(
    rows: pd.DataFrame, models: pd.DataFrame, hardware: pd.DataFrame, assumptions: ServingAssumptions
) -> pd.DataFrame:
    """``rows`` (each with ``concurrency`` requests kept in flight by the client) with the model's mean TTFT
    and TPOT (``pred_ttft_ms``, ``pred_tpot_ms``; requests arriving independently in steady state), the
    rate (``pred_requests_per_s``), whether the engine is saturated there, the mean TTFT of the first wave
    (``pred_ttft_burst_ms``: all ``concurrency`` requests sent at once) and the errors ``ttft_error`` /
    ``tpot_error`` / ``ttft_burst_error`` (predicted / measured - 1)."""
    import numpy as np

    from tco.model.inference.queueing import closed_loop

    work = _workloads(rows, models)
    frame = rows.reset_index(drop=True).copy()
    for name in ("pred_ttft_ms", "pred_tpot_ms", "pred_requests_per_s", "pred_ttft_burst_ms"):
        frame[name] = np.nan
    frame["saturated"] = False
    for perf, curve in _curves(work, hardware, assumptions, burst="concurrency"):
        arrays = {k: v for k, v in curve.items() if v.shape[1] > 1}
        result = closed_loop(
            arrays,
            perf["concurrency"].to_numpy(dtype="float64"),
            perf["output_tokens"].to_numpy(dtype="float64")[:, None],
        )
        index = perf["workload"].astype(int).to_numpy()
        frame.loc[index, "pred_ttft_ms"] = result["ttft_s"] * 1e3
        frame.loc[index, "pred_tpot_ms"] = result["tpot_s"] * 1e3
        frame.loc[index, "pred_requests_per_s"] = result["rate"]
        frame.loc[index, "saturated"] = result["saturated"]
        frame.loc[index, "pred_ttft_burst_ms"] = np.asarray(curve["burst_ttft_mean_s"])[:, 0] * 1e3
    frame["ttft_error"] = frame["pred_ttft_ms"] / frame["ttft_ms"] - 1.0
    frame["ttft_burst_error"] = frame["pred_ttft_burst_ms"] / frame["ttft_ms"] - 1.0
    frame["tpot_error"] = frame["pred_tpot_ms"] / frame["tpot_ms"] - 1.0
    return frame
