"""The measured comparison: one line per framework and device, from the stored result rows. Pure pandas.

:func:`latest` keeps, for each (framework, host, device), the rows of its most recent run.
:func:`comparison` condenses them into the figures the seed page quotes without measuring: build time,
runtime throughput, installed size, peak memory, training throughput and inference latency.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pandas as pd

#: The framework's compiled fast path and its plain path, for build time and the compile speed-up.
COMPILED_VARIANT: Final = {"torch": "compile", "jax": "jit", "tensorflow": "xla"}
PLAIN_VARIANT: Final = {"torch": "eager", "tensorflow": "function"}

GROUP: Final = ["framework", "host", "device_name"]

COMPARISON_COLUMNS: Final = (
    "framework",
    "framework_version",
    "device_kind",
    "device_name",
    "accelerator",
    "host",
    "measured_at",
    "run_id",
    "profile",
    "installed_bytes",
    "import_s",
    "build_s",
    "build_variant",
    "compile_cache",
    "matmul_fp32_tflop_per_s",
    "matmul_fp32_tflop_per_s_low",
    "matmul_fp32_tflop_per_s_high",
    "matmul_bf16_tflop_per_s",
    "matmul_fp32_utilisation",
    "membw_triad_gb_per_s",
    "membw_utilisation",
    "train_cnn_samples_per_s",
    "train_cnn_samples_per_s_low",
    "train_cnn_samples_per_s_high",
    "train_cnn_variant",
    "train_transformer_tokens_per_s",
    "train_transformer_tokens_per_s_low",
    "train_transformer_tokens_per_s_high",
    "train_transformer_variant",
    "train_transformer_mfu",
    "compile_speedup",
    "infer_latency_p50_s",
    "infer_latency_p99_s",
    "infer_latency_variant",
    "infer_tokens_per_s",
    "peak_memory_bytes",
    "allreduce_busbw_gb_per_s",
    "ok_rows",
    "failed_rows",
)


def latest(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the most recent run for each (framework, host, device_name).

    A run's time is its latest ``measured_at``; a run without one is older than any dated run. Groups and
    runs are integer ids (``ngroup``), so a key column that is all null (all-NaN: float64) or mixed joins
    nothing by mistake and fails nothing.
    """
    import numpy as np
    import pandas as pd

    if frame.empty:
        return frame
    keyed = frame.assign(device_name=_text_or_blank(frame["device_name"]), host=_text_or_blank(frame["host"]))
    measured = keyed["measured_at"]
    is_text = np.array([type(v) is str for v in measured.to_numpy(dtype=object)], dtype=bool)
    measured = measured.where(is_text)  # text timestamps only (ISO 8601 sorts as time)
    group = keyed.groupby(GROUP, dropna=False, sort=False).ngroup()
    run = keyed.groupby([*GROUP, "run_id"], dropna=False, sort=False).ngroup()
    run_time = measured.groupby(run).transform("max")
    order = pd.DataFrame({"group": group, "run": run, "time": run_time}).sort_values(
        "time", kind="stable", na_position="first"
    )
    chosen = order.drop_duplicates("group", keep="last")["run"]
    return keyed[run.isin(chosen)].reset_index(drop=True)


def _text_or_blank(column: pd.Series) -> pd.Series:
    values = column.astype(object)
    return values.where(values.notna(), "")


def _best(rows: pd.DataFrame, column: str = "throughput") -> pd.DataFrame:
    """Per group, the row with the highest ``column``."""
    ranked = rows.dropna(subset=[column]).sort_values(column, ascending=False)
    return ranked.drop_duplicates(GROUP, keep="first").set_index(GROUP)


def comparison(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (framework, host, device) of the latest runs; missing figures are NaN."""
    import pandas as pd

    rows = latest(frame)
    if rows.empty:
        return pd.DataFrame(columns=list(COMPARISON_COLUMNS))
    ok = rows[rows["status"] == "ok"]
    meta = (
        rows.sort_values("measured_at")
        .groupby(GROUP, dropna=False)
        .agg(
            framework_version=(
                "framework_version",
                lambda s: s.dropna().iloc[-1] if s.notna().any() else None,
            ),
            device_kind=("device_kind", "last"),
            accelerator=("accelerator", "last"),
            measured_at=("measured_at", "max"),
            run_id=("run_id", "last"),
            profile=("profile", "last"),
            installed_bytes=("installed_bytes", "max"),
            ok_rows=("status", lambda s: int((s == "ok").sum())),
            failed_rows=("status", lambda s: int((s != "ok").sum())),
            details=("details", "last"),
        )
    )
    out = meta.copy()
    out["import_s"] = out.pop("details").map(_import_s)

    def pick(mask: pd.Series, column: str = "throughput", by: str = "throughput") -> pd.Series:
        return _best(ok[mask], by)[column] if mask.any() else pd.Series(dtype="float64")

    def spread(mask: pd.Series, name: str) -> None:
        """``name``_low/_high: the throughput at the p90 and p10 step times of the picked row."""
        if not mask.any():
            return
        best = _best(ok[mask])
        out[f"{name}_low"] = best["throughput"] * best["median_s"] / best["p90_s"]
        out[f"{name}_high"] = best["throughput"] * best["median_s"] / best["p10_s"]

    out["matmul_fp32_tflop_per_s"] = pick((ok["kernel"] == "matmul") & (ok["dtype"] == "fp32"))
    spread((ok["kernel"] == "matmul") & (ok["dtype"] == "fp32"), "matmul_fp32_tflop_per_s")
    out["matmul_fp32_utilisation"] = pick((ok["kernel"] == "matmul") & (ok["dtype"] == "fp32"), "utilisation")
    out["matmul_bf16_tflop_per_s"] = pick((ok["kernel"] == "matmul") & (ok["dtype"] == "bf16"))
    triad = (ok["kernel"] == "membw") & (ok["metric"] == "triad")
    out["membw_triad_gb_per_s"] = pick(triad)
    out["membw_utilisation"] = pick(triad, "utilisation")
    cnn = ok["kernel"] == "train_cnn"
    out["train_cnn_samples_per_s"] = pick(cnn)
    spread(cnn, "train_cnn_samples_per_s")
    out["train_cnn_variant"] = pick(cnn, "variant")
    gpt = ok["kernel"] == "train_transformer"
    out["train_transformer_tokens_per_s"] = pick(gpt)
    spread(gpt, "train_transformer_tokens_per_s")
    out["train_transformer_variant"] = pick(gpt, "variant")
    out["train_transformer_mfu"] = pick(gpt, "utilisation")

    compiled_variant = ok["framework"].map(COMPILED_VARIANT)
    plain_variant = ok["framework"].map(PLAIN_VARIANT)
    build = ok[gpt & (ok["variant"] == compiled_variant)]
    build_rows = build.drop_duplicates(GROUP, keep="last").set_index(GROUP)
    out["build_s"] = build_rows["compile_s"]
    out["build_variant"] = build_rows["variant"]
    out["compile_cache"] = build_rows["compile_cache"]
    plain = ok[gpt & (ok["variant"] == plain_variant)].drop_duplicates(GROUP, keep="last").set_index(GROUP)
    out["compile_speedup"] = plain["median_s"] / build_rows["median_s"]

    latency = (ok["kernel"] == "infer_transformer") & (ok["metric"] == "latency")
    lat = ok[latency].sort_values("median_s").drop_duplicates(GROUP, keep="first").set_index(GROUP)
    out["infer_latency_p50_s"] = lat["median_s"]
    out["infer_latency_p99_s"] = lat["p99_s"]
    out["infer_latency_variant"] = lat["variant"]
    out["infer_tokens_per_s"] = pick((ok["kernel"] == "infer_transformer") & (ok["metric"] == "throughput"))
    training = ok["kernel"].isin(["train_cnn", "train_transformer"])
    out["peak_memory_bytes"] = ok[training].groupby(GROUP)["peak_memory_bytes"].max()
    out["allreduce_busbw_gb_per_s"] = pick(ok["kernel"] == "allreduce")
    result = out.reset_index()
    for column in COMPARISON_COLUMNS:
        if column not in result.columns:
            result[column] = None
    return result[list(COMPARISON_COLUMNS)].sort_values(["device_name", "framework"]).reset_index(drop=True)


def _import_s(details: object) -> float:
    try:
        value = json.loads(str(details)).get("framework_import_s")
        return float(value) if value is not None else float("nan")
    except (ValueError, TypeError, AttributeError):
        return float("nan")
