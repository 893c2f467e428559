"""Published serving measurements against the model: the rows of a validation table in, predictions out.

A validation row names a model (a row of ``tco/data/serving_models.csv``), an accelerator, a tensor-parallel
degree, weight/KV/compute dtypes, fixed prompt and output lengths and the measured offline output tokens/s of
the whole replica (every slot busy, no latency target: trtllm-bench, vLLM benchmark_throughput). Used by
``benchmarks/serving_validation.py`` and ``tests/tco/model/test_serving_validation.py``. Pure (frames in,
frames out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from tco.model.units import DTYPE_BYTES

if TYPE_CHECKING:
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


def predict_offline(
    rows: pd.DataFrame, models: pd.DataFrame, hardware: pd.DataFrame, assumptions: ServingAssumptions
) -> pd.DataFrame:
    """``rows`` with ``predicted_tokens_per_s`` (offline output tokens/s per replica), ``error`` (predicted /
    measured - 1) and the model's memory figures (``max_running_batch``, ``limit``)."""
    import numpy as np
    import pandas as pd

    from tco.model.offers import override_options
    from tco.model.serving import project_serving

    shapes = models.set_index("name")[list(SHAPE_COLUMNS)]
    frame = rows.reset_index(drop=True).copy()
    frame["_row"] = np.arange(len(frame))
    work = frame.join(shapes, on="model")
    work = work.assign(
        workload=work["_row"].astype(str),
        requests_per_s=1.0,
        ttft_s=1e9,
        tpot_s=1e9,
        weight_bytes_per_param=work["weight_dtype"].map(DTYPE_BYTES),
        kv_bytes_per_element=work["kv_dtype"].map(DTYPE_BYTES),
        hours_per_day=24.0,
        dtype=work["compute_dtype"],
        workload_source="validation",
    )
    out = []
    for (accelerator, dtype), group in work.groupby(["accelerator", "compute_dtype"], sort=False):
        hw = hardware[(hardware["accelerator"] == accelerator) & (hardware["dtype"] == dtype)]
        options = override_options([str(accelerator)], 1.0, 8.0)
        result = project_serving(
            group.drop(columns=["accelerator", "tp"]),
            options,
            hw,
            efficiencies_from(assumptions, [str(accelerator)]),
            replica_sizes=sorted({int(v) for v in group["tp"]}),
            assumptions=assumptions,
        )
        result = result.assign(_row=result["workload"].astype(int))
        result = result.merge(group[["_row", "tp"]], on="_row")
        out.append(result[result["accelerators_per_replica"] == result["tp"]])
    predicted = pd.concat(out, ignore_index=True).set_index("_row")
    frame["predicted_tokens_per_s"] = (
        predicted["offline_tokens_per_s_per_replica"].reindex(frame["_row"]).to_numpy()
    )
    frame["max_running_batch"] = predicted["max_running_batch"].reindex(frame["_row"]).to_numpy()
    frame["limit"] = predicted["limit"].reindex(frame["_row"]).to_numpy()
    frame["error"] = frame["predicted_tokens_per_s"] / frame["output_tokens_per_s"] - 1.0
    return frame.drop(columns=["_row"])


def summary(frame: pd.DataFrame) -> dict[str, float]:
    """Median |error|, share within +-25% and the count, over the rows with a prediction."""
    import numpy as np

    errors = frame["error"].to_numpy(dtype="float64")
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


def predict_online(
    rows: pd.DataFrame, models: pd.DataFrame, hardware: pd.DataFrame, assumptions: ServingAssumptions
) -> pd.DataFrame:
    """``rows`` (each with a ``requests_per_s`` served by one replica) with the model's median TTFT and TPOT
    at that load: ``pred_ttft_ms``, ``pred_tpot_ms`` (no headroom: one replica carries the whole rate)."""
    import numpy as np
    import pandas as pd

    from tco.model.offers import override_options
    from tco.model.serving import project_serving

    params = assumptions.with_overrides(headroom=0.0)
    shapes = models.set_index("name")[list(SHAPE_COLUMNS)]
    frame = rows.reset_index(drop=True).copy()
    out_ttft = np.full(len(frame), np.nan)
    out_tpot = np.full(len(frame), np.nan)
    for i, row in frame.iterrows():
        work = (
            pd.DataFrame([row])
            .join(shapes, on="model")
            .assign(
                workload=str(i),
                ttft_s=1e9,
                tpot_s=1e9,
                weight_bytes_per_param=DTYPE_BYTES[str(row["weight_dtype"])],
                kv_bytes_per_element=DTYPE_BYTES[str(row["kv_dtype"])],
                hours_per_day=24.0,
                dtype=row["compute_dtype"],
                workload_source="validation",
            )
        )
        hw = hardware[
            (hardware["accelerator"] == row["accelerator"]) & (hardware["dtype"] == row["compute_dtype"])
        ]
        result = project_serving(
            work.drop(columns=["accelerator", "tp"]),
            override_options([str(row["accelerator"])], 1.0, 8.0),
            hw,
            efficiencies_from(params, [str(row["accelerator"])]),
            replica_sizes=[int(row["tp"])],
            assumptions=params,
        ).iloc[0]
        out_ttft[int(str(i))] = result["ttft_p50_s"] * 1e3
        out_tpot[int(str(i))] = result["tpot_p50_s"] * 1e3
    frame["pred_ttft_ms"] = out_ttft
    frame["pred_tpot_ms"] = out_tpot
    return frame
