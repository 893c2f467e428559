"""Where a projection's speed comes from, named in every row.

For each (workload, accelerator, framework) the steady per-accelerator rate is taken from the first source
that applies, in this order (issue #5):

1. ``override (--mfu)``: the user's MFU times the dense peak for the workload's dtype.
2. ``given (--samples-per-s)``: a per-sample throughput the user measured (samples workloads).
3. ``calibration``: a calibration of this framework on this accelerator (``calibrate`` results:
   ``train_transformer`` gives achieved TFLOP/s, so its MFU; ``train_cnn``/``train_transformer`` rows whose
   ``variant`` matches the workload give samples/s).
4. ``calibration (transferred)``: the same framework measured on another accelerator, scaled by the ratio
   of dense peaks (training is compute-bound). For an MFU this means the measured fraction of peak carries
   over; for samples/s it is ``samples_per_s * peak_target / peak_source``.
5. ``assumed MFU``: the default for the accelerator and dtype (``tco/data/mfu_defaults.csv``,
docs/projection_model.md §8),
   each with its range and source; the ``*`` row applies where no figure is sourced.

When no framework has a calibration for an accelerator, the frameworks would all get the same assumed
rate: they collapse to one row with framework ``any``.

The same helpers resolve serving efficiencies: memory-bandwidth utilisation from ``membw`` calibrations and
prefill FLOP efficiency from ``matmul`` calibrations (both fractions of peak, so a transfer by the ratio of
bandwidths or peaks keeps the fraction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from calibrate.schema import COLUMNS as RESULT_COLUMNS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: The calibration result columns (``calibrate.store.ResultStore.results()``), from the contract's owner.
CALIBRATION_COLUMNS: Final = RESULT_COLUMNS

FRAMEWORKS: Final = ("torch", "jax", "tensorflow")
ANY_FRAMEWORK: Final = "any"

SOURCE_OVERRIDE: Final = "override (--mfu)"
SOURCE_GIVEN: Final = "given (--samples-per-s)"
SOURCE_CALIBRATION: Final = "calibration"
SOURCE_TRANSFERRED: Final = "calibration (transferred)"
SOURCE_ASSUMED: Final = "assumed MFU"
SOURCE_NONE: Final = "none"

CALIBRATED_SOURCES: Final = (SOURCE_CALIBRATION, SOURCE_TRANSFERRED)


def empty_calibrations() -> pd.DataFrame:
    """A calibration frame with no rows (the store does not exist yet)."""
    import pandas as pd

    return pd.DataFrame(columns=list(CALIBRATION_COLUMNS))


_NUMERIC: Final = frozenset(
    {
        "device_count",
        "compile_s",
        "median_s",
        "p10_s",
        "p90_s",
        "repeats",
        "throughput",
        "achieved_tflop_per_s",
        "utilisation",
        "peak_memory_bytes",
        "installed_bytes",
    }
)


def _usable(calibrations: pd.DataFrame) -> pd.DataFrame:
    """Successful calibration rows with every expected column, newest last."""
    import numpy as np

    frame = calibrations.copy()
    for column in CALIBRATION_COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan if column in _NUMERIC else ""
    frame = frame[frame["status"].fillna("ok").astype(str).eq("ok")]
    for column in _NUMERIC:
        frame[column] = frame[column].astype("float64")
    frame["device_count"] = frame["device_count"].fillna(1.0).clip(lower=1.0)
    frame["measured_at"] = frame["measured_at"].fillna("").astype(str)
    frame["variant"] = frame["variant"].fillna("").astype(str)
    frame["run_id"] = frame["run_id"].astype(str)
    # Spread of the measurement: p10/p90 step times -> high/low throughput relative to the median.
    ratio_low = (frame["median_s"] / frame["p90_s"]).where(lambda s: (s > 0) & (s <= 1), 1.0)
    ratio_high = (frame["median_s"] / frame["p10_s"]).where(lambda s: s >= 1, 1.0)
    frame["spread_low"] = ratio_low.fillna(1.0)
    frame["spread_high"] = ratio_high.fillna(1.0)
    return frame.sort_values("measured_at", kind="stable")


def lookup(table: pd.DataFrame, frame: pd.DataFrame, keys: list[str], column: str) -> np.ndarray:
    """``table[column]`` for each row of ``frame``, matched on ``keys`` (NaN where absent): a vectorised
    left join of one column without a merge."""
    import numpy as np
    import pandas as pd

    values = table[column].to_numpy()
    numeric = values.dtype.kind in "fiu"
    if len(table) == 0:  # nothing to match: missing everywhere
        return np.full(len(frame), np.nan, dtype=float if numeric else object)
    index = pd.MultiIndex.from_frame(table[keys]) if len(keys) > 1 else pd.Index(table[keys[0]])
    wanted = pd.MultiIndex.from_frame(frame[keys]) if len(keys) > 1 else pd.Index(frame[keys[0]])
    position = index.get_indexer(wanted)
    out = values[np.maximum(position, 0)]
    if (position < 0).any():
        out = out.astype(float if numeric else object)
        out[position < 0] = np.nan
    return np.asarray(out)


def numeric_hardware(hardware: pd.DataFrame) -> pd.DataFrame:
    """``hardware`` with every figure as float64 (text in a number column, or an integer too large for
    int64, is object dtype: it becomes NaN or a float, so that arithmetic and ``fillna`` stay numeric)."""
    import pandas as pd

    text = {"accelerator", "dtype"}
    numeric = [c for c in hardware.columns if c not in text and not str(c).endswith("source")]
    if all(hardware[c].dtype == "float64" for c in numeric):
        return hardware
    return hardware.assign(
        **{c: pd.to_numeric(hardware[c], errors="coerce").astype("float64") for c in numeric}
    )


def _peak_lookup(hardware: pd.DataFrame) -> pd.DataFrame:
    return hardware[["accelerator", "dtype", "peak_tflops"]].drop_duplicates(["accelerator", "dtype"])


def _mfu_defaults_for(keys: pd.DataFrame, mfu_defaults: pd.DataFrame) -> dict[str, np.ndarray]:
    """Default MFU, range, reference shape and source per (accelerator, dtype) key row: the exact row, else
    the dtype's ``*`` row (an FP8 default for any accelerator), else the ``*``/``*`` row."""
    import numpy as np
    import pandas as pd

    table = mfu_defaults.reset_index(drop=True)
    index = pd.MultiIndex.from_frame(table[["accelerator", "dtype"]])
    exact = index.get_indexer(pd.MultiIndex.from_frame(keys[["accelerator", "dtype"]]))
    any_accelerator = index.get_indexer(
        pd.MultiIndex.from_arrays([np.full(len(keys), "*", dtype=object), keys["dtype"].to_numpy()])
    )
    star = np.flatnonzero(table["accelerator"].eq("*").to_numpy() & table["dtype"].eq("*").to_numpy())
    position = np.where(exact >= 0, exact, np.where(any_accelerator >= 0, any_accelerator, -1))
    position = np.where(position < 0, star[0] if star.size else -1, position)
    # The shape the default was measured at (older tables without the columns: 7B-70B at sequence 2048).
    reference = {
        "reference_hidden": REFERENCE_HIDDEN,
        "reference_attention_share": REFERENCE_ATTENTION_SHARE,
    }
    for column, value in reference.items():
        if column not in table.columns:
            table[column] = value
    out: dict[str, np.ndarray] = {}
    if len(table) == 0:  # no defaults at all: missing stays missing
        position = np.full(len(keys), -1)
        table = pd.DataFrame({c: [np.nan] for c in table.columns}).astype(object)
    for column, name in (
        ("mfu", "default_mfu"),
        ("mfu_low", "default_mfu_low"),
        ("mfu_high", "default_mfu_high"),
        ("source", "default_mfu_source"),
        ("reference_hidden", "reference_hidden"),
        ("reference_attention_share", "reference_attention_share"),
    ):
        values = table[column].to_numpy()[np.maximum(position, 0)]
        if (position < 0).any():  # no exact row and no "*" row: missing stays missing
            values = values.astype(object if column == "source" else "float64")
            values[position < 0] = None if column == "source" else np.nan
        out[name] = values
    return out


def resolve_training_throughput(
    workloads: pd.DataFrame,
    accelerators: tuple[str, ...] | list[str],
    frameworks: tuple[str, ...] | list[str],
    hardware: pd.DataFrame,
    mfu_defaults: pd.DataFrame,
    calibrations: pd.DataFrame,
    *,
    mfu_override: float | None = None,
) -> pd.DataFrame:
    """One row per (workload, accelerator, framework) with its steady per-accelerator rate and its source.

    ``workloads`` is the output of :func:`tco.model.work.training_work`; ``hardware`` has ``accelerator,
    dtype, peak_tflops``; ``mfu_defaults`` has ``accelerator, dtype, mfu, mfu_low, mfu_high, source``;
    ``calibrations`` has :data:`CALIBRATION_COLUMNS` (may be empty).

    Output columns: ``workload, accelerator, framework, dtype, peak_tflops, achieved_tflop_per_s`` (and
    ``_low``/``_high``), ``samples_per_s_per_accelerator`` (and ``_low``/``_high``), ``mfu``,
    ``throughput_source``, ``throughput_detail``. A rate no source gives stays NaN with source ``none``.
    """
    import numpy as np
    import pandas as pd

    columns = [
        "workload",
        "kind",
        "dtype",
        "calibration_variant",
        "flops_per_sample",
        "samples_per_s_per_accelerator",
    ]
    # workloads x accelerators x frameworks, built by index arithmetic (no cross merges).
    n_work, n_acc, n_fw = len(workloads), len(accelerators), len(frameworks)
    base = workloads[columns].iloc[np.repeat(np.arange(n_work), n_acc * n_fw)].reset_index(drop=True)
    base = base.rename(columns={"samples_per_s_per_accelerator": "sps_given"})
    base["accelerator"] = np.tile(np.repeat(np.asarray(accelerators, dtype=object), n_fw), n_work)
    base["framework"] = np.tile(np.asarray(frameworks, dtype=object), n_work * n_acc)
    peaks = _peak_lookup(hardware)
    base["peak_tflops"] = lookup(peaks, base, ["accelerator", "dtype"], "peak_tflops")
    for column, values in _mfu_defaults_for(base[["accelerator", "dtype"]], mfu_defaults).items():
        base[column] = values

    base["_row"] = np.arange(len(base))
    base = _attach_calibrations(base, calibrations, peaks)

    def col(name: str) -> np.ndarray:
        return np.asarray(base[name], dtype="float64")

    direct = base["cal_accelerator"].eq(base["accelerator"]).to_numpy(dtype=bool)
    has_cal = base["cal_accelerator"].notna().to_numpy(dtype=bool)
    peak = col("peak_tflops")
    peak_ratio = peak / col("source_peak_tflops")
    # A transfer needs both peaks; without them the calibration cannot be carried over.
    transferred = (
        has_cal & ~direct & (~np.isnan(peak_ratio) | ~np.isnan(col("measured_mfu")) & ~np.isnan(peak))
    )
    is_samples = base["kind"].eq("samples").to_numpy(dtype=bool)

    cal_tflops = np.where(direct, col("measured_tflops"), col("measured_mfu") * peak)
    cal_sps = np.where(direct, col("measured_sps"), col("measured_sps") * peak_ratio)
    default_tflops = peak * col("default_mfu")

    override = np.full(len(base), mfu_override is not None)
    given = is_samples & ~np.isnan(col("sps_given"))
    calibrated = (direct | transferred) & ~override & ~given
    calibrated &= np.where(is_samples, ~np.isnan(cal_sps), ~np.isnan(cal_tflops))
    chosen = np.select(
        [override, given, calibrated & direct, calibrated & transferred],
        [SOURCE_OVERRIDE, SOURCE_GIVEN, SOURCE_CALIBRATION, SOURCE_TRANSFERRED],
        default=np.where(is_samples, SOURCE_NONE, SOURCE_ASSUMED),
    )
    # An assumption needs a peak and a default MFU (an empty or partial MFU table has none): no throughput.
    no_default = np.isnan(np.asarray(col("default_mfu"), dtype="float64"))
    chosen = np.where((chosen == SOURCE_ASSUMED) & (np.isnan(peak) | no_default), SOURCE_NONE, chosen)
    source = pd.Series(chosen, index=base.index)
    is_calibrated = np.isin(chosen, CALIBRATED_SOURCES)
    is_assumed = chosen == SOURCE_ASSUMED
    is_override = chosen == SOURCE_OVERRIDE

    mfu_value = float(mfu_override) if mfu_override is not None else np.nan
    tflops = np.select(
        [is_override, is_calibrated & ~is_samples, is_assumed],
        [peak * mfu_value, cal_tflops, default_tflops],
        default=np.nan,
    )
    low = np.select(
        [is_calibrated, is_assumed],
        [tflops * col("spread_low"), peak * col("default_mfu_low")],
        default=tflops,
    )
    high = np.select(
        [is_calibrated, is_assumed],
        [tflops * col("spread_high"), peak * col("default_mfu_high")],
        default=tflops,
    )
    per_sample = col("flops_per_sample")
    sps = np.select(
        [given, is_calibrated & is_samples, is_override & is_samples],
        [col("sps_given"), cal_sps, peak * 1e12 * mfu_value / per_sample],
        default=np.nan,
    )
    sps_spread = is_calibrated & is_samples
    sps_low = np.where(sps_spread, sps * col("spread_low"), sps)
    sps_high = np.where(sps_spread, sps * col("spread_high"), sps)
    # For samples workloads the FLOP rate (for MFU reporting) follows from the samples rate when the FLOPs
    # per sample are known.
    tflops = np.where(is_samples, sps * per_sample / 1e12, tflops)
    low = np.where(is_samples, sps_low * per_sample / 1e12, low)
    high = np.where(is_samples, sps_high * per_sample / 1e12, high)

    detail = _detail(base, source, pd.Series(peak_ratio, index=base.index))
    out = pd.DataFrame(
        {
            "workload": base["workload"],
            "accelerator": base["accelerator"],
            "framework": base["framework"],
            "dtype": base["dtype"],
            "peak_tflops": base["peak_tflops"],
            "achieved_tflop_per_s": tflops,
            "achieved_tflop_per_s_low": low,
            "achieved_tflop_per_s_high": high,
            "samples_per_s_per_accelerator": sps,
            "samples_per_s_per_accelerator_low": sps_low,
            "samples_per_s_per_accelerator_high": sps_high,
            "mfu": tflops / base["peak_tflops"],
            "mfu_low": low / base["peak_tflops"],
            "mfu_high": high / base["peak_tflops"],
            "throughput_source": source,
            "throughput_detail": detail,
            "reference_hidden": base["reference_hidden"],
            "reference_attention_share": base["reference_attention_share"],
        }
    )
    return _collapse_frameworks(out)


def _attach_calibrations(base: pd.DataFrame, calibrations: pd.DataFrame, peaks: pd.DataFrame) -> pd.DataFrame:
    """Join to each (workload, accelerator, framework) row the calibration it would use, if any."""
    import numpy as np
    import pandas as pd

    if calibrations.empty:  # the common case: no store yet
        for column in _PICKED_COLUMNS:
            base[column] = np.full(
                len(base),
                None if column in ("cal_accelerator", "run_id") else np.nan,
                dtype=object if column in ("cal_accelerator", "run_id") else "float64",
            )
        return base
    cal = _usable(calibrations)
    cal = cal.merge(
        peaks.rename(columns={"peak_tflops": "source_peak_tflops"}), on=["accelerator", "dtype"], how="left"
    )
    # Compute kernels run on one device (calibrate.kernels): their throughput is per device, whatever
    # device_count says (the devices visible on the host); only allreduce spans devices.
    per_device_tflops = cal["achieved_tflop_per_s"]
    cal["measured_mfu"] = cal["utilisation"].where(
        cal["utilisation"] > 0, per_device_tflops / cal["source_peak_tflops"]
    )
    cal["measured_tflops"] = per_device_tflops.fillna(cal["measured_mfu"] * cal["source_peak_tflops"])
    cal["measured_sps"] = cal["throughput"].where(cal["throughput_unit"] == "samples_per_s")

    # Transformer FLOP-rate calibrations (tokens and flops workloads): keyed by framework and dtype.
    # A measured FLOP rate is usable on its own accelerator even where no peak is known (no MFU then).
    flop_cal = cal[
        (cal["kernel"] == "train_transformer")
        & (cal["measured_mfu"].notna() | cal["measured_tflops"].notna())
    ]
    flop_cols = [
        "framework",
        "dtype",
        "accelerator",
        "run_id",
        "measured_mfu",
        "measured_tflops",
        "spread_low",
        "spread_high",
        "measured_at",
        "source_peak_tflops",
    ]
    flop_cal = flop_cal[flop_cols].rename(columns={"accelerator": "cal_accelerator"})
    # Per-sample calibrations (samples workloads): keyed by framework, dtype and the model variant.
    sample_cal = cal[cal["kernel"].isin(["train_cnn", "train_transformer"]) & cal["measured_sps"].notna()]
    sample_cols = [
        "framework",
        "dtype",
        "variant",
        "accelerator",
        "run_id",
        "measured_sps",
        "spread_low",
        "spread_high",
        "measured_at",
        "source_peak_tflops",
    ]
    sample_cal = sample_cal[sample_cols].rename(
        columns={"accelerator": "cal_accelerator", "variant": "calibration_variant"}
    )

    flop_pick = _pick_calibration(base[base["kind"] != "samples"], flop_cal, ["framework", "dtype"])
    sample_pick = _pick_calibration(
        base[base["kind"] == "samples"], sample_cal, ["framework", "dtype", "calibration_variant"]
    )
    picked = pd.concat([flop_pick, sample_pick], ignore_index=True)
    picked = picked.reindex(columns=["_row", *_PICKED_COLUMNS]).set_index("_row")
    base = base.join(picked, on="_row")
    for column in ("cal_accelerator", "run_id"):
        base[column] = base[column].astype(object)

    return base


_PICKED_COLUMNS: Final = (
    "cal_accelerator",
    "run_id",
    "measured_mfu",
    "measured_tflops",
    "measured_sps",
    "spread_low",
    "spread_high",
    "source_peak_tflops",
)


def _pick_calibration(targets: pd.DataFrame, calibrations: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """For each target row, the calibration to use: on the same accelerator if any (newest), else the newest
    on another accelerator. Returns ``_row`` plus the calibration columns; rows without one are absent."""
    import pandas as pd

    if targets.empty or calibrations.empty:
        kept = [c for c in calibrations.columns if c not in {*keys, "measured_at"}]
        return pd.DataFrame(
            {"_row": pd.Series(dtype="int64"), **{c: pd.Series(dtype=calibrations[c].dtype) for c in kept}}
        )
    pairs = targets[["_row", "accelerator", *keys]].merge(calibrations, on=keys, how="inner")
    pairs["_same"] = pairs["cal_accelerator"].eq(pairs["accelerator"])
    pairs = pairs.sort_values(["_row", "_same", "measured_at"], kind="stable")
    best = pairs.drop_duplicates("_row", keep="last")
    return best.drop(columns=["accelerator", *keys, "_same", "measured_at"])


def _detail(base: pd.DataFrame, source: pd.Series, peak_ratio: pd.Series) -> pd.Series:
    """A human line per row naming the exact input behind the rate (only the branches in use are built)."""
    import numpy as np
    import pandas as pd

    def fmt(values: pd.Series) -> pd.Series:
        # Text for provenance only, over the small resolver table (never the scenario grid).
        return values.astype("float64").map("{:.3g}".format).replace("nan", "n/a")

    def text(column: str) -> pd.Series:
        return base[column].fillna("").astype(str)

    def calibration(on: pd.Series, suffix: pd.Series | str) -> pd.Series:
        measured = pd.Series(
            np.where(
                base["kind"].eq("samples"),
                fmt(base["measured_sps"]) + " samples/s per accelerator",
                "MFU " + fmt(base["measured_mfu"]),
            ),
            index=base.index,
        ).astype(str)
        return (
            "calibration run "
            + text("run_id")
            + " ("
            + text("framework")
            + ") on "
            + on
            + ": "
            + measured
            + suffix
        )

    def none() -> pd.Series:
        variant = text("calibration_variant")
        return pd.Series(
            np.where(
                base["kind"].eq("samples"),
                "no per-sample throughput: no calibration of this model"
                + np.where(variant != "", " (variant " + variant + ")", "")
                + " and no --samples-per-s (measure one: `tco calibrate`, or pass --samples-per-s)",
                np.where(
                    base["peak_tflops"].isna().to_numpy(),
                    "no dense peak for "
                    + text("accelerator")
                    + " "
                    + text("dtype")
                    + " and no calibration (calibrate it with `tco calibrate`, or pass --peak-tflops)",
                    "no default MFU for "
                    + text("accelerator")
                    + " "
                    + text("dtype")
                    + " and no calibration (calibrate it with `tco calibrate`, or pass --mfu)",
                ),
            ),
            index=base.index,
        )

    branches = {
        SOURCE_OVERRIDE: lambda: pd.Series("MFU given with --mfu", index=base.index),
        SOURCE_GIVEN: lambda: (
            fmt(base["sps_given"]) + " samples/s per accelerator given with --samples-per-s"
        ),
        SOURCE_CALIBRATION: lambda: calibration(text("accelerator"), ""),
        SOURCE_TRANSFERRED: lambda: calibration(
            text("cal_accelerator"), ", scaled by the peak ratio " + fmt(peak_ratio) + " (compute-bound)"
        ),
        SOURCE_ASSUMED: lambda: (
            "MFU "
            + fmt(base["default_mfu"])
            + " (range "
            + fmt(base["default_mfu_low"])
            + "-"
            + fmt(base["default_mfu_high"])
            + "): "
            + text("default_mfu_source")
        ),
        SOURCE_NONE: none,
    }
    out = pd.Series("", index=base.index, dtype=object)
    for name, build in branches.items():
        rows = source.eq(name)
        if rows.any():
            out[rows] = build()[rows]
    return out


def _collapse_frameworks(frame: pd.DataFrame) -> pd.DataFrame:
    """Frameworks share one row named ``any`` on an accelerator where no framework has a calibration."""
    calibrated = frame["throughput_source"].isin(CALIBRATED_SOURCES)
    if not calibrated.any():
        out = frame.drop_duplicates(["workload", "accelerator"], keep="first").assign(framework=ANY_FRAMEWORK)
        return out.reset_index(drop=True)
    any_calibrated = calibrated.groupby([frame["workload"], frame["accelerator"]]).transform("any")
    keep = any_calibrated | ~frame.duplicated(["workload", "accelerator"], keep="first")
    out = frame[keep].copy()
    out.loc[~any_calibrated[keep], "framework"] = ANY_FRAMEWORK
    return out.reset_index(drop=True)


def resolve_serving_efficiency(
    accelerators: tuple[str, ...] | list[str],
    frameworks: tuple[str, ...] | list[str],
    hardware: pd.DataFrame,
    calibrations: pd.DataFrame,
    *,
    dtype: str,
    mbu_default: tuple[float, float, float, str],
    flops_default: tuple[float, float, float, str],
    mbu_override: float | None = None,
    flops_override: float | None = None,
) -> pd.DataFrame:
    """Per (accelerator, framework): MBU and prefill FLOP efficiency (value, low, high) and their sources.

    ``membw`` calibrations give MBU = achieved GB/s / peak bandwidth (``utilisation`` when recorded);
    ``matmul`` calibrations give the FLOP efficiency. A calibration on another accelerator carries its
    fraction over (a transfer by the ratio of bandwidths or peaks), labelled transferred. Defaults are
    ``(value, low, high, source)`` tuples.
    """
    import numpy as np
    import pandas as pd

    base = pd.DataFrame({"accelerator": list(accelerators)}).merge(
        pd.DataFrame({"framework": list(frameworks)}), how="cross"
    )
    base["_row"] = np.arange(len(base))
    base["dtype"] = dtype
    hw = hardware[["accelerator", "dtype", "peak_tflops", "memory_bandwidth_tb_s"]].drop_duplicates(
        ["accelerator", "dtype"]
    )
    cal = _usable(calibrations).merge(hw, on=["accelerator", "dtype"], how="left")
    bw_gb_s = cal["memory_bandwidth_tb_s"] * 1000.0
    membw = cal[cal["kernel"].eq("membw")].copy()
    membw["fraction"] = membw["utilisation"].where(
        membw["utilisation"] > 0, membw["throughput"] / bw_gb_s[membw.index]
    )
    matmul = cal[cal["kernel"].eq("matmul")].copy()
    matmul["fraction"] = matmul["utilisation"].where(
        matmul["utilisation"] > 0, matmul["achieved_tflop_per_s"] / matmul["peak_tflops"]
    )
    out = base.copy()
    for name, table, default, override in (
        ("mbu", membw, mbu_default, mbu_override),
        ("prefill_flops_efficiency", matmul, flops_default, flops_override),
    ):
        usable = table[table["fraction"].between(0, 1, inclusive="right")]
        # membw does not depend on dtype: match on framework only; matmul on framework and dtype.
        keys = ["framework"] if name == "mbu" else ["framework", "dtype"]
        cal_cols = usable[[*keys, "accelerator", "run_id", "fraction", "measured_at"]].rename(
            columns={"accelerator": "cal_accelerator"}
        )
        pick = _pick_calibration(base, cal_cols, keys).set_index("_row")
        joined = base.join(pick, on="_row")
        direct = joined["cal_accelerator"].eq(joined["accelerator"])
        has = joined["fraction"].notna()
        value, low, high, default_source = default
        src = np.where(has & direct, SOURCE_CALIBRATION, np.where(has, SOURCE_TRANSFERRED, "assumed"))
        detail = np.where(
            has,
            "calibration run "
            + joined["run_id"].astype(str)
            + " ("
            + joined["framework"].astype(str)
            + ") on "
            + joined["cal_accelerator"].astype(str)
            + ": "
            + joined["fraction"].round(3).astype(str)
            + np.where(direct, "", " (fraction carried over to " + joined["accelerator"].astype(str) + ")"),
            f"{value:g} (range {low:g}-{high:g}): {default_source}",
        )
        fraction = joined["fraction"].to_numpy(dtype="float64")
        out[name] = np.where(has, fraction, value)
        out[f"{name}_low"] = np.where(has, fraction, low)
        out[f"{name}_high"] = np.where(has, fraction, high)
        out[f"{name}_source"] = src
        out[f"{name}_detail"] = detail
        if override is not None:
            out[name] = out[f"{name}_low"] = out[f"{name}_high"] = float(override)
            out[f"{name}_source"] = "override"
            out[f"{name}_detail"] = f"{override:g} given on the command line"
    out["throughput_source"] = np.where(
        out["mbu_source"].eq(SOURCE_CALIBRATION)
        | out["prefill_flops_efficiency_source"].eq(SOURCE_CALIBRATION),
        SOURCE_CALIBRATION,
        np.where(
            out["mbu_source"].isin(CALIBRATED_SOURCES)
            | out["prefill_flops_efficiency_source"].isin(CALIBRATED_SOURCES),
            SOURCE_TRANSFERRED,
            np.where(
                out["mbu_source"].eq("override") | out["prefill_flops_efficiency_source"].eq("override"),
                "override",
                "assumed MBU/efficiency",
            ),
        ),
    )
    calibrated = out["throughput_source"].isin(CALIBRATED_SOURCES)
    any_calibrated = calibrated.groupby(out["accelerator"]).transform("any")
    keep = any_calibrated | ~out.duplicated(["accelerator"], keep="first")
    result = out[keep].drop(columns=["_row"]).copy()
    result.loc[~any_calibrated[keep], "framework"] = ANY_FRAMEWORK
    return result.reset_index(drop=True)


def matmul_knee_widths(calibrations: pd.DataFrame) -> pd.DataFrame:
    """The narrow-matrix knee ``c`` per (accelerator, dtype) fitted to measured matmul sweeps.

    Points are ``(n, TFLOP/s)`` of square ``n x n x n`` products: every ``matmul`` result row (its ``shape``
    ``m=n,n=n,k=n`` and rate) and the sweep it reports in ``details`` (``{"sweep": [{"n", "tflop_per_s"}]}``).
    The rate is taken to follow ``R(n) = R_max n / (n + c)``, i.e. ``1/R = 1/R_max + (c/R_max)/n``: a
    least-squares line in ``1/n`` gives ``c = slope / intercept``. Needs two sizes or more and a positive
    ``c``; otherwise the accelerator keeps the sourced curve (``narrow_matmul_knee x FLOP/byte ridge``).
    A square sweep shrinks all three dimensions, where a training GEMM keeps its token dimension large, so
    the fitted knee is a conservative (wide) one.

    Output columns: ``accelerator, dtype, matmul_knee_width, matmul_knee_source``.
    """
    import json

    import numpy as np
    import pandas as pd

    columns = ["accelerator", "dtype", "matmul_knee_width", "matmul_knee_source"]
    empty = pd.DataFrame(
        {c: pd.Series(dtype="float64" if c == "matmul_knee_width" else "object") for c in columns}
    )
    if calibrations.empty or "kernel" not in calibrations.columns:
        return empty
    rows = _usable(calibrations)
    rows = rows[rows["kernel"].eq("matmul") & rows["accelerator"].astype(bool)]
    if rows.empty:
        return empty
    size = pd.to_numeric(rows["shape"].astype(str).str.extract(r"n=(\d+)")[0], errors="coerce")
    points = [
        pd.DataFrame(
            {
                "accelerator": rows["accelerator"].to_numpy(),
                "dtype": rows["dtype"].to_numpy(),
                "run_id": rows["run_id"].to_numpy(),
                "n": size.to_numpy(dtype="float64"),
                "tflops": rows["achieved_tflop_per_s"].to_numpy(dtype="float64"),
            }
        )
    ]
    details = rows["details"] if "details" in rows.columns else pd.Series([], dtype=object)
    # The sweeps are small lists in a JSON column of the (small) calibration table.
    sweeps = [
        (acc, dtype, run, point)
        for acc, dtype, run, text in zip(
            rows["accelerator"], rows["dtype"], rows["run_id"], details, strict=False
        )
        if isinstance(text, str) and text
        for point in json.loads(text).get("sweep", [])
    ]
    if sweeps:
        points.append(
            pd.DataFrame(
                {
                    "accelerator": [a for a, _, _, _ in sweeps],
                    "dtype": [d for _, d, _, _ in sweeps],
                    "run_id": [r for _, _, r, _ in sweeps],
                    "n": [float(p.get("n", np.nan)) for _, _, _, p in sweeps],
                    "tflops": [float(p.get("tflop_per_s", np.nan)) for _, _, _, p in sweeps],
                }
            )
        )
    frame = pd.concat(points, ignore_index=True)
    frame = frame[(frame["n"] > 0) & (frame["tflops"] > 0)].drop_duplicates(
        ["accelerator", "dtype", "run_id", "n"]
    )
    frame = frame.assign(x=1.0 / frame["n"], y=1.0 / frame["tflops"])
    frame = frame.assign(xx=frame["x"] ** 2, xy=frame["x"] * frame["y"], one=1.0)
    grouped = frame.groupby(["accelerator", "dtype"])
    sums = grouped[["one", "x", "y", "xx", "xy"]].sum()
    sizes = grouped["n"].agg(["nunique", "min", "max"])
    runs = grouped["run_id"].agg(lambda ids: ", ".join(sorted(set(map(str, ids)))))
    k, sx, sy, sxx, sxy = (sums[c].to_numpy() for c in ("one", "x", "y", "xx", "xy"))
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (k * sxy - sx * sy) / (k * sxx - sx**2)
        intercept = (sy - slope * sx) / k
        knee = slope / intercept
    ok = (sizes["nunique"].to_numpy() >= 2) & np.isfinite(knee) & (knee > 0) & (intercept > 0)
    low, high, names = sizes["min"].to_numpy()[ok], sizes["max"].to_numpy()[ok], runs.to_numpy()[ok]
    out = pd.DataFrame(
        {
            "accelerator": sums.index.get_level_values(0)[ok],
            "dtype": sums.index.get_level_values(1)[ok],
            "matmul_knee_width": knee[ok],
            # One line per (accelerator, dtype) of the small calibration table.
            "matmul_knee_source": [
                f"narrow-matrix curve fitted to calibration run(s) {run} (matmul sweep n = {a:.0f}-{b:.0f}: "
                f"c = {c:.0f})"
                for run, a, b, c in zip(names, low, high, knee[ok], strict=True)
            ],
        }
    )
    return out


#: The shape the steady-MFU defaults were measured at when their table does not say: 7B-70B decoders at
#: sequence 2048 (docs/projection_model.md §8; llm-foundry's benchmarks): hidden 4096 and more, attention ~5%
#: of the FLOPs. ``tco/data/mfu_defaults.csv`` states it per row (``reference_hidden``,
#: ``reference_attention_share``).
REFERENCE_HIDDEN: Final = 4096.0
REFERENCE_ATTENTION_SHARE: Final = 0.05


def model_efficiency(
    hidden: np.ndarray,
    attention_share: np.ndarray,
    peak_tflops: np.ndarray,
    memory_bandwidth_tb_s: np.ndarray,
    *,
    knee: float,
    attention_efficiency: float,
    reference_hidden: np.ndarray | float = REFERENCE_HIDDEN,
    reference_attention_share: np.ndarray | float = REFERENCE_ATTENTION_SHARE,
    width_knee: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """How an assumed steady MFU carries over to another model shape: ``(matmul, attention)`` factors <= 1.

    * Narrow matrices: ``f = (h/(h+c)) / (h0/(h0+c))`` capped at 1, with ``c = knee * peak/bandwidth``
      (the accelerator's FLOP/byte ridge: a faster chip, or FP8 on the same chip, needs wider matrices to
      stay busy) and ``h0`` the hidden size the default was measured at.
    * Attention share ``a`` of the model FLOPs (``12 L h s`` of ``6N + 12 L h s``) runs at
      ``attention_efficiency`` of the matmul rate: ``(1 - a0 + a0/e) / (1 - a + a/e)``, capped at 1, with
      ``a0`` the reference share.

    ``width_knee`` (where finite) replaces ``c``: the knee fitted to a calibration's matmul sweep
    (:func:`matmul_knee_widths`). Unknown inputs give a factor of 1 (no adjustment).
    """
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        ridge = (
            np.asarray(peak_tflops, dtype="float64")
            * 1e12
            / (np.asarray(memory_bandwidth_tb_s, dtype="float64") * 1e12)
        )
        c = knee * ridge
        if width_knee is not None:
            measured = np.asarray(width_knee, dtype="float64")
            c = np.where(np.isfinite(measured), measured, c)
        h = np.asarray(hidden, dtype="float64")
        h0 = np.asarray(reference_hidden, dtype="float64")
        matmul = (h / (h + c)) / (h0 / (h0 + c))
        a = np.asarray(attention_share, dtype="float64")
        a0 = np.asarray(reference_attention_share, dtype="float64")
        e = attention_efficiency
        attention = (1.0 - a0 + a0 / e) / (1.0 - a + a / e)
    matmul = np.where(np.isfinite(matmul), np.minimum(matmul, 1.0), 1.0)
    attention = np.where(np.isfinite(attention), np.minimum(attention, 1.0), 1.0)
    return np.asarray(matmul), np.asarray(attention)
