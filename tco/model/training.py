"""Training projections: workloads x purchase options x accelerator counts x frequencies x frameworks.

One vectorised pass, in two stages so that a sweep of millions of scenarios stays cheap:

1. :func:`training_performance` - per (workload, accelerator, framework, instance size, count): the steady
   per-accelerator rate and its source (:mod:`tco.model.throughput`), the layout and scaling efficiency
   (:mod:`tco.model.scaling`), goodput, and the wall time::

       rate       = n * R * scaling_efficiency * goodput       (R: steady FLOP/s per accelerator)
       wall_hours = train_flops / rate / 3600       (samples: samples*epochs / (n * samples_per_s ...))

   The low/high wall times combine the ranges of the independent efficiency assumptions (steady rate,
   scaling efficiency via the overlap range, goodput) in quadrature in log space:
   ``wall_high = wall * exp(sqrt(sum(ln(x / x_low)^2)))`` and
   ``wall_low = wall * exp(-sqrt(sum(ln(x_high / x)^2)))``.
   Extremes are not stacked: the band is the spread of the stated ranges, not a worst case.
2. :func:`training_costs` - joins the performance rows to every purchase option with the same accelerator
   and instance size, crosses them with the run frequencies and prices each scenario
   (:func:`tco.model.purchase.run_costs`); low/high costs use the low/high wall times (and the spot
   interruption range).

:func:`project_training` runs both. No I/O, no printing; every number carries its source in a column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from tco.errors import TcoError
from tco.model.assumptions import TrainingAssumptions
from tco.model.formulas import WALL_HOURS
from tco.model.numeric import quiet_arithmetic
from tco.model.units import FLOP_PER_TFLOP, SECONDS_PER_HOUR

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tco.model.overheads import LineItems

#: Hardware frame contract (one row per accelerator and dtype), built from calibrate's sourced peaks.
HARDWARE_COLUMNS: Final = (
    "accelerator",
    "dtype",
    "peak_tflops",
    "memory_bytes",
    "memory_bandwidth_tb_s",
    "interconnect_gb_s",
    "inter_node_gb_s_per_accelerator",
    "inter_node_gb_s_per_instance",
    "intra_node_gb_s_per_accelerator",  # fast-domain bus bandwidth where sourced (TPU ICI); else NaN
    "max_fast_domain",  # largest group on the fast links (TPU: the largest slice); NaN = the instance
    "accelerators_per_host",
    "tdp_w",
    "peak_source",
    "network_source",
)

#: The columns of a training projection row, in output order.
TRAINING_COLUMNS: Final = (
    "workload",
    "accelerator",
    "accelerator_count",
    "instances",
    "accelerators_per_instance",
    "provider",
    "region",
    "instance_type",
    "pricing_model",
    "billing",
    "framework",
    "dtype",
    "throughput_source",
    "mfu",
    "scaling_efficiency",
    "goodput",
    "wall_hours",
    "wall_hours_low",
    "wall_hours_high",
    "accelerator_hours",
    "price_usd_per_hour",
    "price_usd_per_accelerator_hour",
    "effective_usd_per_accelerator_hour",
    "utilisation",
    "cost_usd_per_run",
    "cost_usd_low",
    "cost_usd_high",
    "runs_per_month",
    "cost_usd_per_month",
    "cost_usd_per_year",
    "cost_usd_per_month_low",
    "cost_usd_per_month_high",
    "price_source",
    "price_date",
    "feasible",
    "reason",
    "train_flops",
    "work_formula",
    "flops_per_token",
    "tokens_per_s",
    "peak_tflops",
    "achieved_tflop_per_s",
    "mfu_low",
    "mfu_high",
    "throughput_detail",
    "scaling_efficiency_low",
    "scaling_efficiency_high",
    "scaling_source",
    "parallelism",
    "memory_bytes_per_accelerator",
    "step_s",
    "exposed_comm_s",
    "tensor_comm_s",
    "bubble_s",
    "compute_s",
    "tp",
    "pp",
    "dp",
    "cp",
    "ep",
    "sharding",
    "recompute",
    "schedule",
    "microbatches",
    "global_batch_tokens_used",
    "batch_source",
    "model_efficiency",
    "high_case_feasible",
    "range_note",
    "goodput_low",
    "goodput_high",
    "goodput_source",
    "uninterrupted_wall_hours",
    "interruption_factor",
    "clusters_held",
    "peak_source",
    "network_source",
    "network_gb_s_per_instance",
    "workload_source",
)


#: The purchase options' network bandwidth between instances (tco.model.offers.NETWORK_COLUMNS): a key of the
#: performance stage beside the accelerator and the instance size (NaN: the accelerator's cluster default).
NETWORK: Final = "network_gb_s_per_instance"


def network_sizes(options: pd.DataFrame) -> pd.DataFrame:
    """The distinct (accelerator, accelerators per instance, offer network) of purchase options; options
    without the network column get NaN (the accelerator's cluster default)."""
    import numpy as np

    frame = options if NETWORK in options else options.assign(**{NETWORK: np.nan})
    return frame[["accelerator", "accelerators_per_instance", NETWORK]].drop_duplicates()


def _join_key(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns performance rows and options join on (a missing offer network as -1)."""
    import numpy as np

    network = frame[NETWORK].to_numpy(dtype="float64") if NETWORK in frame else np.full(len(frame), np.nan)
    return frame[["accelerator", "accelerators_per_instance"]].assign(
        accelerators_per_instance=frame["accelerators_per_instance"].astype("float64"),
        **{NETWORK: np.nan_to_num(network, nan=-1.0)},
    )


def measured_bus_bandwidth(calibrations: pd.DataFrame) -> pd.DataFrame:
    """Measured all-reduce bus bandwidth per accelerator (newest run with the most devices).

    Calibration rows with ``kernel == "allreduce"`` and ``throughput_unit == "gb_per_s"`` report nccl-tests
    style ``busbw``; they replace the intra-node figure derived from the interconnect peak.
    """
    import pandas as pd

    columns = ["accelerator", "measured_busbw_gb_s", "allreduce_run"]
    if calibrations.empty or "kernel" not in calibrations.columns:
        return pd.DataFrame(
            {c: pd.Series(dtype="float64" if c == "measured_busbw_gb_s" else "object") for c in columns}
        )
    ok = calibrations["status"].fillna("ok").eq("ok") if "status" in calibrations.columns else True
    rows = calibrations[
        ok
        & calibrations["kernel"].eq("allreduce")
        & calibrations["throughput_unit"].eq("gb_per_s")
        & (calibrations["device_count"].astype("float64") > 1)
    ]
    rows = rows.sort_values(["accelerator", "device_count", "measured_at"], kind="stable")
    best = rows.drop_duplicates("accelerator", keep="last")
    return pd.DataFrame(
        {
            "accelerator": best["accelerator"].to_numpy(),
            "measured_busbw_gb_s": best["throughput"].astype("float64").to_numpy(),
            "allreduce_run": (
                "calibration run "
                + best["run_id"].astype(str)
                + " ("
                + best["framework"].astype(str)
                + ", "
                + best["device_count"].astype(int).astype(str)
                + " devices)"
            ).to_numpy(),
        }
    )


@quiet_arithmetic
def training_performance(
    workloads: pd.DataFrame,
    node_sizes: pd.DataFrame,
    hardware: pd.DataFrame,
    *,
    counts: Sequence[int],
    frameworks: Sequence[str],
    mfu_defaults: pd.DataFrame,
    calibrations: pd.DataFrame | None = None,
    assumptions: TrainingAssumptions | None = None,
) -> pd.DataFrame:
    """Wall time per (workload, accelerator, framework, accelerators_per_instance, accelerator_count).

    ``node_sizes`` has ``accelerator, accelerators_per_instance`` (from the purchase options): the count of
    accelerators in one instance bounds tensor parallelism and decides which traffic crosses instances. A
    count is paired only with instance sizes that divide it (whole instances, none idle).
    """
    import numpy as np
    import pandas as pd

    from tco.model.scaling import infer_shape, scaling_efficiency
    from tco.model.throughput import (
        SOURCE_ASSUMED,
        SOURCE_NONE,
        empty_calibrations,
        matmul_knee_widths,
        model_efficiency,
        numeric_hardware,
        resolve_training_throughput,
    )
    from tco.model.work import training_work

    params = assumptions or TrainingAssumptions()
    check_counts(counts, frameworks)
    hardware = numeric_hardware(hardware)
    cal = empty_calibrations() if calibrations is None else calibrations
    work = training_work(workloads)
    accelerators = list(dict.fromkeys(node_sizes["accelerator"]))
    rates = resolve_training_throughput(
        work, accelerators, list(frameworks), hardware, mfu_defaults, cal, mfu_override=params.mfu_override
    )
    # The resolved rate replaces the user's samples/s (the resolver consumed it and names it as the source).
    perf = work.drop(columns=["samples_per_s_per_accelerator"]).merge(
        rates.drop(columns=["dtype"]), on="workload", how="inner"
    )
    # (accelerator, instance size, offer network, count) where the count fills whole instances.
    sizes = network_sizes(node_sizes)
    count_values = np.asarray(counts, dtype="float64")
    per_instance = np.repeat(sizes["accelerators_per_instance"].to_numpy(dtype="float64"), count_values.size)
    tiled = np.tile(count_values, len(sizes))
    whole = np.mod(tiled, per_instance) == 0
    scales = pd.DataFrame(
        {
            "accelerator": np.repeat(sizes["accelerator"].to_numpy(), count_values.size)[whole],
            "accelerators_per_instance": per_instance[whole],
            NETWORK: np.repeat(sizes[NETWORK].to_numpy(dtype="float64"), count_values.size)[whole],
            "accelerator_count": tiled[whole],
        }
    )
    perf = perf.merge(scales, on="accelerator")
    hw = hardware.drop(columns=["peak_tflops"]).drop_duplicates(["accelerator", "dtype"])
    hw = hw.reindex(columns=[c for c in HARDWARE_COLUMNS if c != "peak_tflops"])
    perf = perf.merge(hw, on=["accelerator", "dtype"], how="left")
    if not cal.empty:
        perf = perf.merge(measured_bus_bandwidth(cal), on="accelerator", how="left")
        perf = perf.merge(matmul_knee_widths(cal), on=["accelerator", "dtype"], how="left")
    else:
        perf = perf.assign(
            measured_busbw_gb_s=np.nan, allreduce_run=None, matmul_knee_width=np.nan, matmul_knee_source=None
        )
    # Unidirectional link bandwidth = the bidirectional interconnect peak / 2 (llm-analysis convention),
    # unless the hardware frame sources the fast domain's bus bandwidth itself (TPU ICI).
    peak_intra = perf["intra_node_gb_s_per_accelerator"].fillna(perf["interconnect_gb_s"] / 2.0)
    perf["intra_node_gb_s"] = perf["measured_busbw_gb_s"].fillna(peak_intra)
    cluster_default = perf["inter_node_gb_s_per_accelerator"].fillna(
        perf["inter_node_gb_s_per_instance"] / perf["accelerators_per_instance"]
    )
    # An offer's own network (tco.model.offers.offer_networks), shared by the instance's accelerators,
    # replaces the accelerator's cluster default: a marketplace VM is not on an InfiniBand cluster because
    # its GPU model usually is.
    offer = perf[NETWORK]
    perf["inter_node_gb_s"] = (offer / perf["accelerators_per_instance"]).where(
        offer.notna(), cluster_default
    )
    perf["network_source"] = perf["network_source"].where(
        offer.isna(), "the offer's network, " + (offer * 8.0).round(3).astype(str) + " Gb/s per instance"
    )
    perf["fast_domain"] = np.minimum(
        perf["accelerators_per_instance"], perf["max_fast_domain"].fillna(np.inf)
    )
    # An assumed MFU holds for the shape it was measured at; narrow matrices and long sequences lower it.
    assumed = perf["throughput_source"].eq(SOURCE_ASSUMED).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        attention_share = perf["attention_flops_per_token"] / perf["flops_per_token"]
    inferred_hidden = pd.Series(
        np.asarray(infer_shape(perf["params"], params.aspect_ratio.value)[1], dtype="float64"),
        index=perf.index,
    )
    hidden = perf["hidden"].fillna(inferred_hidden)
    matmul, attention = model_efficiency(
        hidden.to_numpy(dtype="float64"),
        attention_share.fillna(0.0).to_numpy(dtype="float64"),
        perf["peak_tflops"].to_numpy(dtype="float64"),
        perf["memory_bandwidth_tb_s"].to_numpy(dtype="float64"),
        knee=params.narrow_matmul_knee.value,
        attention_efficiency=params.attention_efficiency.value,
        reference_hidden=perf["reference_hidden"].to_numpy(dtype="float64"),
        reference_attention_share=perf["reference_attention_share"].to_numpy(dtype="float64"),
        width_knee=perf["matmul_knee_width"].to_numpy(dtype="float64"),
    )
    # The knee the layout's expert GEMMs use too: measured where a matmul sweep exists, else sourced.
    with np.errstate(divide="ignore", invalid="ignore"):
        sourced_knee = params.narrow_matmul_knee.value * perf["peak_tflops"] / perf["memory_bandwidth_tb_s"]
    perf["matmul_knee_width"] = perf["matmul_knee_width"].fillna(sourced_knee)
    factor = np.where(assumed & perf["kind"].eq("tokens").to_numpy(), matmul * attention, 1.0)
    perf["model_efficiency"] = factor
    for column in (
        "achieved_tflop_per_s",
        "achieved_tflop_per_s_low",
        "achieved_tflop_per_s_high",
        "mfu",
        "mfu_low",
        "mfu_high",
    ):
        perf[column] = perf[column] * factor
    adjusted = factor < 1.0
    if adjusted.any():
        perf.loc[adjusted, "throughput_detail"] = (
            perf.loc[adjusted, "throughput_detail"].astype(str)
            + "; x "
            + pd.Series(factor[adjusted], index=perf.index[adjusted]).round(3).astype(str)
            + " for this shape (narrow matmuls x"
            + pd.Series(matmul[adjusted], index=perf.index[adjusted]).round(3).astype(str)
            + ", attention share x"
            + pd.Series(attention[adjusted], index=perf.index[adjusted]).round(3).astype(str)
            + ")"
            + np.where(
                perf.loc[adjusted, "matmul_knee_source"].notna(),
                "; " + perf.loc[adjusted, "matmul_knee_source"].fillna("").astype(str),
                "",
            )
        )
    perf = scaling_efficiency(perf.reset_index(drop=True), params)
    measured = perf["allreduce_run"].notna()
    perf["scaling_source"] = perf["scaling_source"].where(
        ~measured, perf["scaling_source"] + "; intra-node busbw measured: " + perf["allreduce_run"].fillna("")
    )

    goodput = params.goodput
    n = perf["accelerator_count"]
    is_samples = perf["kind"].eq("samples")
    eff = perf["scaling_efficiency"]
    with np.errstate(divide="ignore", invalid="ignore"):
        amount = np.where(is_samples, perf["total_samples"], perf["train_flops"])
        per_accelerator = np.where(
            is_samples, perf["samples_per_s_per_accelerator"], perf["achieved_tflop_per_s"] * FLOP_PER_TFLOP
        )
        wall = WALL_HOURS.evaluate(
            work=amount, accelerators=n, rate_per_accelerator=per_accelerator, scaling_efficiency=eff,
            goodput=goodput.value,
        )  # fmt: skip
        rate = np.where(is_samples, perf["samples_per_s_per_accelerator"], perf["achieved_tflop_per_s"])
        rate_low = np.where(
            is_samples, perf["samples_per_s_per_accelerator_low"], perf["achieved_tflop_per_s_low"]
        )
        rate_high = np.where(
            is_samples, perf["samples_per_s_per_accelerator_high"], perf["achieved_tflop_per_s_high"]
        )
        slower = np.sqrt(
            _log_ratio(rate, rate_low) ** 2
            + _log_ratio(eff, perf["scaling_efficiency_low"]) ** 2
            + _log_ratio(goodput.value, goodput.low) ** 2
        )
        faster = np.sqrt(
            _log_ratio(rate_high, rate) ** 2
            + _log_ratio(perf["scaling_efficiency_high"], eff) ** 2
            + _log_ratio(goodput.high, goodput.value) ** 2
        )
        tokens_per_s = perf["tokens"] / (wall * SECONDS_PER_HOUR)
    no_rate = perf["throughput_source"].eq(SOURCE_NONE)
    bandwidth = perf["memory_bandwidth_tb_s"]
    unusable = ~(_usable(perf["peak_tflops"]) & _usable(perf["memory_bytes"])) | (
        bandwidth.notna().to_numpy() & ~_usable(bandwidth)
    )
    no_layout = (
        perf["layout_candidates"].eq(0).to_numpy() & perf["kind"].ne("samples").to_numpy()
        if "layout_candidates" in perf.columns
        else np.zeros(len(perf), dtype=bool)
    )
    no_work = np.isnan(np.where(is_samples, perf["total_samples"], perf["train_flops"]).astype("float64"))
    fits = perf["fits_memory"].astype(bool).to_numpy()
    reason = np.select(
        [no_work, no_rate, unusable, no_layout & ~fits, ~fits, pd.isna(eff), ~np.isfinite(wall)],
        [
            "the workload's amount of work is unknown: give params and tokens, samples and epochs, or "
            "train FLOPs",
            "no throughput: " + perf["throughput_detail"].astype(str),
            "no usable peak FLOP/s, memory size or bandwidth for "
            + perf["accelerator"].astype(str)
            + " "
            + perf["dtype"].astype(str)
            + " in the hardware table",
            "no parallel layout splits this workload over "
            + perf["accelerator_count"].map("{:,.0f}".format).astype(str)
            + " accelerators (its global batch or its model is too small for so many: use fewer)",
            "training state does not fit in "
            + (perf["memory_bytes"] / 2**30).round(1).astype(str)
            + " GiB per accelerator at this count (more accelerators, or more memory)",
            "scaling efficiency unknown: " + perf["scaling_source"].astype(str),
            "no finite run time from these figures (an overflow or a zero rate): check the workload and "
            "hardware numbers",
        ],
        default="",
    )
    # A row with a reason has no run time (a time from unusable hardware figures is no time).
    wall = np.where(reason != "", np.nan, wall)
    return perf.assign(
        goodput=goodput.value,
        goodput_low=goodput.low,
        goodput_high=goodput.high,
        goodput_source=goodput.source,
        uninterrupted_wall_hours=wall,
        uninterrupted_wall_hours_low=wall * np.exp(-faster),
        uninterrupted_wall_hours_high=wall * np.exp(slower),
        tokens_per_s=np.where(perf["kind"].eq("tokens"), tokens_per_s, np.nan),
        reason=reason,
    )


def check_counts(counts: Sequence[Any], frameworks: Sequence[str]) -> None:
    """Raise :class:`TcoError` unless ``counts`` are whole numbers of accelerators (at least 1, some given)
    and ``frameworks`` names at least one framework."""
    if not list(counts):
        raise TcoError("no accelerator counts given", hint="e.g. --count 8,64")
    for count in counts:
        number = not isinstance(count, bool) and isinstance(count, int | float)
        if not number or not math.isfinite(count) or count < 1 or count != int(count):
            raise TcoError(f"accelerator counts must be whole numbers of at least 1, not {count!r}")
    if not list(frameworks) or not all(isinstance(f, str) and f for f in frameworks):
        raise TcoError("no frameworks given", hint="e.g. torch, jax, tensorflow or any")


def _usable(values: pd.Series) -> np.ndarray:
    """Where a hardware figure is a positive finite number (NaN, zero, negative or infinite: unusable)."""
    import numpy as np

    array = values.to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        return np.asarray(np.isfinite(array) & (array > 0), dtype=bool)


def _log_ratio(numerator: object, denominator: object) -> np.ndarray:
    """``ln(a/b)`` where both are positive and finite, else 0 (no spread known)."""
    import numpy as np

    a = np.asarray(numerator, dtype="float64")
    b = np.asarray(denominator, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(a / b)
    return np.asarray(np.where(np.isfinite(out), out, 0.0))


def join_indices(left_keys: np.ndarray, right_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the inner many-to-many join of two integer key arrays (left order kept)."""
    import numpy as np

    order = np.argsort(right_keys, kind="stable")
    sorted_keys = right_keys[order]
    start = np.searchsorted(sorted_keys, left_keys, side="left")
    stop = np.searchsorted(sorted_keys, left_keys, side="right")
    lengths = stop - start
    left = np.repeat(np.arange(len(left_keys)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    right = order[np.repeat(start, lengths) + offsets]
    return left, right


def _take(frame: pd.DataFrame, index: np.ndarray) -> dict[str, object]:
    """Columns of ``frame`` at ``index`` as arrays; in large grids text columns become categoricals (cheap
    to copy, categories sorted so that the output does not depend on the input's row order)."""
    import numpy as np
    import pandas as pd

    out: dict[str, object] = {}
    small = len(index) < 50_000
    for column in frame.columns:
        series = frame[column]
        if small:
            out[column] = series.to_numpy()[index]
        elif series.dtype == object or isinstance(series.dtype, pd.StringDtype):
            # Sorted categories: the output does not depend on the order of the input rows. The codes are
            # narrowed to the categorical's own integer width before the gather (1-2 bytes a row, not 8),
            # and they are valid by construction (factorize made them).
            codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
            width = np.int8 if len(uniques) < 127 else np.int16 if len(uniques) < 32767 else np.int32
            out[column] = pd.Categorical.from_codes(
                codes.astype(width)[index], categories=pd.Index(uniques).astype(object), validate=False
            )
        else:
            out[column] = series.to_numpy()[index]
    return out


_PERF_COLUMNS: Final = (
    "workload",
    "accelerator",
    "accelerators_per_instance",
    "accelerator_count",
    "framework",
    "dtype",
    "throughput_source",
    "mfu",
    "mfu_low",
    "mfu_high",
    "peak_tflops",
    "achieved_tflop_per_s",
    "throughput_detail",
    "scaling_efficiency",
    "scaling_efficiency_low",
    "scaling_efficiency_high",
    "scaling_source",
    "parallelism",
    "memory_bytes_per_accelerator",
    "step_s",
    "exposed_comm_s",
    "tensor_comm_s",
    "bubble_s",
    "compute_s",
    "tp",
    "pp",
    "dp",
    "cp",
    "ep",
    "sharding",
    "recompute",
    "schedule",
    "microbatches",
    "global_batch_tokens_used",
    "batch_source",
    "model_efficiency",
    "goodput",
    "goodput_low",
    "goodput_high",
    "goodput_source",
    "train_flops",
    "work_formula",
    "flops_per_token",
    "tokens_per_s",
    "uninterrupted_wall_hours",
    "uninterrupted_wall_hours_low",
    "uninterrupted_wall_hours_high",
    "reason",
    "peak_source",
    "network_source",
    "network_gb_s_per_instance",
    "workload_source",
    "params",
)
_OPTION_COLUMNS: Final = (
    "provider",
    "region",
    "instance_type",
    "pricing_model",
    "billing",
    "interruptible",
    "price_usd_per_hour",
    "price_usd_per_accelerator_hour",
    "fixed_usd_per_accelerator_year",
    "variable_usd_per_accelerator_hour",
    "price_source",
    "price_date",
)


@quiet_arithmetic
def training_costs(
    performance: pd.DataFrame,
    options: pd.DataFrame,
    *,
    runs_per_month: Sequence[float],
    assumptions: TrainingAssumptions | None = None,
    line_items: LineItems | None = None,
) -> pd.DataFrame:
    """Price every performance row under every option with its accelerator and instance size, for every
    frequency. Output columns: :data:`TRAINING_COLUMNS` (plus line items when budgeted)."""
    import numpy as np
    import pandas as pd

    from tco.errors import TcoError
    from tco.model.purchase import run_costs

    params = assumptions or TrainingAssumptions()
    runs = np.asarray(runs_per_month, dtype="float64")
    if runs.size == 0 or not (runs > 0).all() or not np.isfinite(runs).all():
        raise TcoError("runs per month must be positive numbers", hint="e.g. --runs-per-month 1 or 0.25")
    perf = performance.reset_index(drop=True)
    opts = options.reset_index(drop=True)
    key_frame = pd.concat([_join_key(perf), _join_key(opts)], ignore_index=True)
    keys, _ = pd.MultiIndex.from_frame(key_frame).factorize()
    left, right = join_indices(keys[: len(perf)], keys[len(perf) :])
    # Cross with the frequencies: each joined row repeated once per runs-per-month value.
    left = np.repeat(left, runs.size)
    right = np.repeat(right, runs.size)
    freq = np.tile(runs, len(left) // runs.size if runs.size else 0)

    def perf_col(name: str) -> np.ndarray:
        return np.asarray(perf[name].to_numpy(dtype="float64")[left])

    def option_col(name: str, dtype: str = "float64") -> np.ndarray:
        return np.asarray(opts[name].to_numpy(dtype=dtype)[right])

    n = perf_col("accelerator_count")
    per_instance = perf_col("accelerators_per_instance")
    fixed = option_col("fixed_usd_per_accelerator_year")
    variable = option_col("variable_usd_per_accelerator_hour")
    interruptible = option_col("interruptible", "bool")
    rate = params.spot_interruptions_per_instance_hour
    spot = {
        "checkpoint_interval_hours": params.checkpoint_interval_hours.value,
        "restart_hours": params.restart_hours.value,
    }
    priced: dict[str, np.ndarray] = {}
    for label, wall_column, interruptions in (
        ("low", "uninterrupted_wall_hours_low", rate.low),
        ("high", "uninterrupted_wall_hours_high", rate.high),
        ("expected", "uninterrupted_wall_hours", rate.value),
    ):
        costs = run_costs(
            perf_col(wall_column),
            n,
            per_instance,
            fixed,
            variable,
            interruptible,
            freq,
            interruptions_per_instance_hour=interruptions,
            **spot,
        )
        if label == "expected":
            priced.update(costs)
        else:  # keep only what the output reports; the rest is freed at once
            priced[f"wall_hours_{label}"] = costs["paid_wall_hours"]
            priced[f"cost_usd_{label}"] = costs["cost_usd_per_run"]
            priced[f"cost_usd_per_month_{label}"] = costs["cost_usd_per_month"]
            priced[f"interruption_factor_{label}"] = costs["interruption_factor"]
        del costs
    del fixed, variable, interruptible
    priced.pop("interruption_factor_low")
    wall = priced.pop("paid_wall_hours")
    # Interruptions that stretch a run beyond the named limit make the spot plan infeasible (not just slow).
    limit = params.max_interruption_factor.value
    stalled = priced["interruption_factor"] > limit
    # The high case (slow run, frequent reclaims) crossing that limit is no upper bound but an infeasible
    # plan: its cost is not printed as a number (NaN) and the row says why.
    high_stalled = priced.pop("interruption_factor_high") > limit
    for name in ("wall_hours_high", "cost_usd_high", "cost_usd_per_month_high"):
        priced[name] = np.where(high_stalled, np.nan, priced[name])
    note = (
        f"high case infeasible: at the high interruption rate ({rate.high * 24:g} per instance-day) "
        f"reclaims stretch the run more than {limit:g}x"
    )
    # A categorical: one string shared by a million rows, not a million copies.
    range_note = pd.Categorical.from_codes(
        (high_stalled & ~stalled).astype("int8"), categories=pd.Index(["", note]), validate=False
    )
    computed: dict[str, object] = {
        **priced,
        "accelerator_count": n,
        "accelerators_per_instance": per_instance,
        "wall_hours": wall,
        "runs_per_month": freq,
        "feasible": ~np.isnan(wall) & ~stalled,
        "high_case_feasible": ~high_stalled,
        "range_note": range_note,
    }
    wanted = set(TRAINING_COLUMNS) | ({"params"} if line_items is not None and line_items.any else set())
    gathered_perf = [c for c in _PERF_COLUMNS if c in perf.columns and c in wanted and c not in computed]
    gathered_options = [c for c in _OPTION_COLUMNS if c in wanted and c not in computed]
    perf_taken = _take(perf[gathered_perf], left)
    option_taken = _take(opts[gathered_options], right)
    if "network_source" in opts and "network_source" in perf_taken:  # the offer names its own network
        offered = np.asarray(opts["network_source"].fillna("").astype(str).to_numpy(dtype=object)[right])
        modelled = np.asarray(perf_taken["network_source"], dtype=object)
        perf_taken["network_source"] = np.where(offered != "", offered, modelled)
    columns: dict[str, object] = {}
    for name in TRAINING_COLUMNS:
        for source in (computed, perf_taken, option_taken):
            if name in source:
                columns[name] = source[name]
                break
    if stalled.any():
        reason = np.asarray(columns["reason"], dtype=object)
        reason[stalled] = (
            f"spot: expected interruptions stretch the run more than {limit:g}x "
            "(--set checkpoint_interval_hours or fewer instances)"
        )
        columns["reason"] = reason
    # One frame over the arrays as they are (no consolidation copy of a million-row grid).
    frame = pd.DataFrame(columns, copy=False)
    params_col = np.asarray(perf_taken.get("params", np.full(len(left), np.nan)), dtype="float64")
    if line_items is not None and line_items.any:
        from tco.model.overheads import line_items as compute_line_items

        items = compute_line_items(
            params_col, line_items, state_bytes_per_param=params.state_bytes_per_param.value
        )
        for name, values in items.items():
            frame[name] = values
        frame["total_usd_per_month"] = frame["cost_usd_per_month"] + frame["other_usd_per_month"].fillna(0.0)
    return frame


@quiet_arithmetic
def project_training(
    workloads: pd.DataFrame,
    options: pd.DataFrame,
    hardware: pd.DataFrame,
    *,
    counts: Sequence[int],
    frameworks: Sequence[str],
    mfu_defaults: pd.DataFrame,
    runs_per_month: Sequence[float] = (1.0,),
    calibrations: pd.DataFrame | None = None,
    assumptions: TrainingAssumptions | None = None,
    line_items: LineItems | None = None,
) -> pd.DataFrame:
    """The whole grid: workloads x options x counts x frequencies x frameworks, one row per scenario.

    Raises :class:`TcoError` for a value no workload can have (:func:`tco.model.work.check_training_values`:
    zero, negative, infinite, unknown names), for counts that are not whole numbers of at least 1 and for no
    frameworks. A missing value stays missing (NaN): its rows, and any scenario that cannot run (does not
    fit, no throughput, no usable hardware figures), have ``feasible`` False and a ``reason``.
    """
    from tco.model.work import check_training_values

    check_training_values(workloads)
    node_sizes = network_sizes(options)
    performance = training_performance(
        workloads,
        node_sizes,
        hardware,
        counts=counts,
        frameworks=frameworks,
        mfu_defaults=mfu_defaults,
        calibrations=calibrations,
        assumptions=assumptions,
    )
    return training_costs(
        performance, options, runs_per_month=runs_per_month, assumptions=assumptions, line_items=line_items
    )
