"""Scaling efficiency: how much of n accelerators' steady rate a training step keeps.

Token workloads (transformers) are laid out by :func:`tco.model.layout.search_layouts`: the fastest layout
over tensor, pipeline, context, expert and data parallelism, micro-batching, the pipeline schedule,
activation recomputation and ZeRO-1/FSDP sharding whose state fits in memory (docs/projection_model.md
§1.4, §4.1-4.2; the formulas are in that module's docstring). ``scaling_efficiency`` is the layout
efficiency: the ideal compute time over the step time (bubble, exposed communication and recomputation
included), at a fixed global batch (strong scaling).

Samples workloads (CNNs) use plain data parallelism with a fixed per-accelerator batch (weak scaling)::

    t_step = batch / samples_per_s + max(0, 2 (n-1)/n g N / BW - overlap 2/3 t_compute)

**Bandwidth.** Inside one instance (a GPU node, or a TPU slice on its ICI torus: ``fast_domain``) the bus
bandwidth per accelerator is the measured all-reduce bandwidth, else the fast-link figure (NVLink
bidirectional / 2 as llm-analysis; the TPU all-reduce bandwidth per chip from Google's pod figures); across
instances the network bandwidth per accelerator (GPU NICs, or the TPU data-centre network).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tco.model.assumptions import TrainingAssumptions

CONFIG_COLUMNS: Final = (
    "kind",
    "accelerator_count",
    "accelerators_per_instance",
    "fast_domain",
    "params",
    "active_params",
    "experts",
    "experts_per_token",
    "layers",
    "hidden",
    "heads",
    "kv_heads",
    "vocab",
    "seq_len",
    "global_batch_tokens",
    "published_global_batch_tokens",
    "recompute",
    "flops_per_token",
    "attention_flops_per_token",
    "achieved_tflop_per_s",
    "peak_tflops",
    "memory_bandwidth_tb_s",
    "reference_hidden",
    "matmul_knee_width",
    "expert_ffn_hidden",
    "samples_per_s_per_accelerator",
    "batch_per_accelerator",
    "grad_bytes_per_param",
    "memory_bytes",
    "intra_node_gb_s",
    "inter_node_gb_s",
)


def infer_shape(params: pd.Series, aspect_ratio: float) -> tuple[pd.Series, pd.Series]:
    """Layers and hidden size from ``N = 12 L h^2`` with ``h = aspect_ratio * L`` (Kaplan 2020)."""
    import numpy as np

    layers = np.maximum(1.0, np.round(np.cbrt(params / (12.0 * aspect_ratio**2))))
    return layers, layers * aspect_ratio


def scaling_efficiency(configs: pd.DataFrame, assumptions: TrainingAssumptions) -> pd.DataFrame:
    """Add the chosen layout and its scaling efficiency (expected, low, high) to each configuration row.

    Input columns: :data:`CONFIG_COLUMNS` (NaN where unknown; ``fast_domain`` defaults to the instance
    size). Output adds :data:`tco.model.layout.LAYOUT_COLUMNS` and ``parallelism, scaling_efficiency,
    scaling_efficiency_low, scaling_efficiency_high, scaling_source, comm_bandwidth_gb_s, comm_link``. The
    low/high values re-time the chosen layout with the overlap assumption's low and high ends. A row with
    no layout that holds the training state gives NaN efficiency and ``fits_memory = False``.
    """
    import numpy as np
    import pandas as pd

    from tco.model.layout import search_layouts

    out = configs.copy()
    for column in CONFIG_COLUMNS:
        if column not in out.columns:
            out[column] = np.nan
    n = out["accelerator_count"].to_numpy(dtype="float64")
    per_instance = out["accelerators_per_instance"].to_numpy(dtype="float64")
    out["fast_domain"] = out["fast_domain"].fillna(out["accelerators_per_instance"])
    g = np.minimum(out["fast_domain"].to_numpy(dtype="float64"), n)
    params = out["params"].to_numpy(dtype="float64")
    inferred_layers, inferred_hidden = infer_shape(out["params"], assumptions.aspect_ratio.value)
    out["layers"] = out["layers"].fillna(inferred_layers)
    out["hidden"] = out["hidden"].fillna(inferred_hidden)
    out["seq_len"] = out["seq_len"].fillna(assumptions.default_seq_len.value)
    grad_bytes = out["grad_bytes_per_param"].fillna(2.0).to_numpy(dtype="float64")
    intra = out["intra_node_gb_s"].to_numpy(dtype="float64") * 1e9
    inter = out["inter_node_gb_s"].to_numpy(dtype="float64") * 1e9
    bw = np.where(n > g, inter, intra)
    overlap = assumptions.dp_overlap
    is_samples = (out["kind"] == "samples").to_numpy()
    no_params = np.isnan(params)
    single = n == 1

    layout = search_layouts(out, assumptions)
    found = ~np.isnan(layout["step_s"])

    # --- samples workloads: data parallel with a fixed batch per accelerator ---
    with np.errstate(divide="ignore", invalid="ignore"):
        sample_compute = out["batch_per_accelerator"].to_numpy(dtype="float64") / out[
            "samples_per_s_per_accelerator"
        ].to_numpy(dtype="float64")
        ddp = np.where(n > 1, 2.0 * (n - 1.0) / n * grad_bytes * params / bw, 0.0)

        def sample_step(overlap_fraction: float) -> np.ndarray:
            return np.asarray(
                sample_compute + np.maximum(0.0, ddp - overlap_fraction * (2.0 / 3.0) * sample_compute)
            )

        ideal = layout["step_s"] * layout["layout_efficiency"]
        compute_s = np.where(is_samples, sample_compute, layout["compute_s"])
        step_s = np.where(is_samples, sample_step(overlap.value), layout["step_s"])
        efficiency = np.where(is_samples, sample_compute / step_s, layout["layout_efficiency"])
        # More overlap -> shorter step -> higher efficiency: the "high" efficiency uses the high overlap.
        efficiency_low = np.where(
            is_samples, sample_compute / sample_step(overlap.low), ideal / layout["step_s_low"]
        )
        efficiency_high = np.where(
            is_samples, sample_compute / sample_step(overlap.high), ideal / layout["step_s_high"]
        )
    # Raw-FLOPs workloads without a parameter count: one accelerator is exact, more needs an override.
    raw_single = no_params & single & ~is_samples
    efficiency = np.where(raw_single, 1.0, efficiency)
    efficiency_low = np.where(raw_single, 1.0, efficiency_low)
    efficiency_high = np.where(raw_single, 1.0, efficiency_high)

    for name, values in layout.items():
        if name in ("step_s_low", "step_s_high"):
            continue
        if name in ("sharding", "recompute", "schedule", "batch_source"):
            out[name] = np.where(is_samples, "ddp" if name == "sharding" else "", values)
        elif name == "global_batch_tokens_used":
            out[name] = np.where(is_samples, np.nan, values)
        else:
            out[name] = values
    sample_cols: dict[str, np.ndarray | float] = {"tp": 1.0, "pp": 1.0, "cp": 1.0, "ep": 1.0, "dp": n}
    for name, value in sample_cols.items():
        out[name] = np.where(is_samples, value, out[name].to_numpy(dtype="float64"))
    out["memory_bytes_per_accelerator"] = np.where(is_samples, np.nan, out["memory_bytes_per_accelerator"])
    # Without a parameter count the memory check cannot be made: unknown, not "does not fit".
    out["fits_memory"] = is_samples | found | no_params | layout["fits_memory"]
    out["compute_s"] = compute_s
    out["step_s"] = step_s
    out["exposed_comm_s"] = np.where(is_samples, step_s - compute_s, layout["exposed_comm_s"])
    out["comm_bandwidth_gb_s"] = bw / 1e9
    where = np.where(n > g, "inter-node", "intra-node")
    out["comm_link"] = where
    out["scaling_efficiency"] = efficiency
    out["scaling_efficiency_low"] = efficiency_low
    out["scaling_efficiency_high"] = efficiency_high
    out["parallelism"] = _parallelism_text(out, is_samples, no_params, found)
    out["scaling_source"] = np.where(
        single & (is_samples | (found & (out["recompute"] != "full"))),
        "single accelerator (no communication)",
        np.where(
            no_params & ~is_samples,
            "unknown (no parameter count: pass --params or --scaling-efficiency)",
            "layout search (docs/projection_model.md §4; fast domain "
            + pd.Series(g, index=out.index).astype(int).astype(str)
            + " x "
            + pd.Series(intra / 1e9, index=out.index).round(1).astype(str)
            + " GB/s, network "
            + pd.Series(inter / 1e9, index=out.index).round(1).astype(str)
            + " GB/s per accelerator)",
        ),
    )
    override = assumptions.scaling_efficiency_override
    if override is not None:
        for column in ("scaling_efficiency", "scaling_efficiency_low", "scaling_efficiency_high"):
            out[column] = np.where(out["fits_memory"] | no_params, override, np.nan)
        out["scaling_source"] = "override (--scaling-efficiency)"
    del per_instance
    return out


def _parallelism_text(
    out: pd.DataFrame, is_samples: np.ndarray, no_params: np.ndarray, found: np.ndarray
) -> np.ndarray:
    """``tp8 pp16 dp128 zero1 interleaved-4 m16`` (plus ``cp``/``ep`` where used and ``recompute``)."""
    import numpy as np

    def num(name: str) -> np.ndarray:
        values: np.ndarray = np.nan_to_num(out[name].to_numpy(dtype="float64")).astype(int).astype(str)
        return values.astype(object)

    def text(name: str) -> np.ndarray:
        return np.asarray(out[name].astype(str).to_numpy(dtype=object))

    cp = out["cp"].to_numpy(dtype="float64")
    ep = out["ep"].to_numpy(dtype="float64")
    pp = out["pp"].to_numpy(dtype="float64")
    parts = "tp" + num("tp") + " pp" + num("pp")
    parts = parts + np.where(cp > 1, " cp" + num("cp"), "")
    parts = parts + np.where(ep > 1, " ep" + num("ep"), "")
    parts = parts + " dp" + num("dp") + " " + text("sharding")
    extra = np.where(pp > 1, " " + text("schedule"), "") + " m" + num("microbatches")
    extra = extra + np.where(
        text("recompute") == "full",
        " recompute",
        np.where(text("recompute") == "selective", " selective-recompute", ""),
    )
    parts = np.where(is_samples, parts, parts + extra)
    return np.asarray(
        np.where(
            no_params & ~is_samples,
            "unknown (no parameter count)",
            np.where(is_samples | found, parts, "does not fit"),
        )
    )
