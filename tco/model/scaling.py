"""Scaling efficiency from a communication model: how much of n accelerators' steady rate a job keeps.

For each configuration row the model lays the job out the way a practitioner would, picking the fastest
layout whose training state fits in memory (docs/projection_model.md §1.4, §4.1-4.2):

* **Layouts.** 3D parallelism with a distributed optimizer (ZeRO-1): tensor parallel ``t`` in {1, 2, 4, 8}
  inside one instance (``t <= accelerators_per_node``), pipeline parallel ``p`` in {1, 2, ..., 128}, data
  parallel ``d = n / (t p)``; or fully sharded data parallel (FSDP / ZeRO-3) over all n.
* **Memory per accelerator.** ZeRO-1: ``(4 + (S-4)/d) N / (t p)`` plus activations; FSDP: ``S N / n`` plus
  activations, with ``S`` = state bytes per parameter (16 for mixed-precision Adam). Activations with
  selective recompute, one sequence per micro-batch: ``s h L (10 + 24/t)`` bytes (Korthikanti et al. 2022,
  arXiv:2205.05198; the first pipeline stage holds L layers' worth). The layout must fit in
  ``memory_usable_fraction`` of the accelerator's memory.
* **Step time** ``t_step = t_compute + exposed_dp + t_tp + t_bubble`` with, per accelerator,

  - ``t_compute = flops_per_token * B / (n * R)`` (``B`` global batch tokens, ``R`` steady FLOP/s);
  - data parallel, ring all-reduce of the gradient shard (nccl-tests PERFORMANCE.md):
    ``t_dp = 2 (d-1)/d * g N/(t p) / BW`` with ``g`` gradient bytes per parameter, exposed
    ``max(0, t_dp - overlap * 2/3 t_compute)`` (the backward pass is 2/3 of the work);
    FSDP: ``3 (n-1)/n * 2N / BW`` (all-gather forward and backward, reduce-scatter), exposed
    ``max(0, t - overlap * t_compute)``;
  - tensor parallel, 4 all-reduces of ``tokens * h * 2`` bytes per layer per step (2 forward, 2 backward;
    llm-analysis): ``4 (L/p) 2 (t-1)/t (B/d) h 2 / BW_intra``, not overlapped;
  - pipeline bubble ``t_compute (p-1)/m`` with ``m = B/(d s)`` micro-batches (1F1B; Narayanan et al. 2021).
* **Bandwidth.** ``BW`` is the intra-node bus bandwidth (NVLink/PCIe unidirectional = bidirectional
  interconnect / 2, as llm-analysis) while the group fits in one instance, else the inter-node bandwidth per
  accelerator. A measured all-reduce bus bandwidth replaces the intra-node figure upstream.
* ``scaling_efficiency = t_compute / t_step`` (strong scaling at a fixed global batch). Samples workloads
  (CNNs) use plain data parallelism with a fixed per-accelerator batch (weak scaling).

Limits, stated: no MoE all-to-all, no pipeline point-to-point traffic, no sequence/context parallelism,
compute efficiency assumed independent of the layout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tco.model.assumptions import TrainingAssumptions

TP_SIZES: Final = (1, 2, 4, 8)
PP_SIZES: Final = (1, 2, 4, 8, 16, 32, 64, 128)
#: Bytes per element of activations exchanged by tensor parallelism (bf16).
ACTIVATION_BYTES: Final = 2.0
#: Bytes per parameter of the FSDP all-gathers (bf16 weights).
FSDP_PARAM_BYTES: Final = 2.0

CONFIG_COLUMNS: Final = (
    "kind",
    "accelerator_count",
    "accelerators_per_instance",
    "params",
    "active_params",
    "layers",
    "hidden",
    "heads",
    "seq_len",
    "global_batch_tokens",
    "flops_per_token",
    "achieved_tflop_per_s",
    "samples_per_s_per_accelerator",
    "batch_per_accelerator",
    "grad_bytes_per_param",
    "memory_bytes",
    "intra_node_gb_s",
    "inter_node_gb_s",
)


def _candidates() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import numpy as np

    tp = np.array([t for t in TP_SIZES for _ in PP_SIZES] + [1], dtype="float64")
    pp = np.array([p for _ in TP_SIZES for p in PP_SIZES] + [1], dtype="float64")
    fsdp = np.zeros(len(tp), dtype=bool)
    fsdp[-1] = True
    return tp, pp, fsdp


def infer_shape(params: pd.Series, aspect_ratio: float) -> tuple[pd.Series, pd.Series]:
    """Layers and hidden size from ``N = 12 L h^2`` with ``h = aspect_ratio * L`` (Kaplan 2020)."""
    import numpy as np

    layers = np.maximum(1.0, np.round(np.cbrt(params / (12.0 * aspect_ratio**2))))
    return layers, layers * aspect_ratio


def scaling_efficiency(configs: pd.DataFrame, assumptions: TrainingAssumptions) -> pd.DataFrame:
    """Add the chosen layout and its scaling efficiency (expected, low, high) to each configuration row.

    Input columns: :data:`CONFIG_COLUMNS` (NaN where unknown). Output adds ``tp, pp, dp, sharding,
    parallelism, memory_bytes_per_accelerator, fits_memory, step_s, compute_s, exposed_comm_s, bubble_s,
    scaling_efficiency, scaling_efficiency_low, scaling_efficiency_high, scaling_source``. The low/high
    values re-time the chosen layout with the overlap assumption's low and high ends.
    A layout that cannot hold the training state gives NaN efficiency and ``fits_memory = False``.
    """
    import numpy as np
    import pandas as pd

    out = configs.copy()
    rows = len(out)
    n = out["accelerator_count"].to_numpy(dtype="float64")
    g = np.minimum(out["accelerators_per_instance"].to_numpy(dtype="float64"), n)
    params = out["params"].to_numpy(dtype="float64")
    inferred_layers, inferred_hidden = infer_shape(out["params"], assumptions.aspect_ratio.value)
    layers = out["layers"].fillna(inferred_layers).to_numpy(dtype="float64")
    hidden = out["hidden"].fillna(inferred_hidden).to_numpy(dtype="float64")
    heads = out["heads"].to_numpy(dtype="float64")
    seq = out["seq_len"].fillna(assumptions.default_seq_len.value).to_numpy(dtype="float64")
    batch_tokens = (
        out["global_batch_tokens"].fillna(assumptions.global_batch_tokens.value).to_numpy(dtype="float64")
    )
    per_token = out["flops_per_token"].to_numpy(dtype="float64")
    rate = out["achieved_tflop_per_s"].to_numpy(dtype="float64") * 1e12
    grad_bytes = out["grad_bytes_per_param"].fillna(2.0).to_numpy(dtype="float64")
    memory = out["memory_bytes"].to_numpy(dtype="float64") * assumptions.memory_usable_fraction.value
    intra = out["intra_node_gb_s"].to_numpy(dtype="float64") * 1e9
    inter = out["inter_node_gb_s"].to_numpy(dtype="float64") * 1e9
    bw = np.where(n > g, inter, intra)
    state = assumptions.state_bytes_per_param.value
    overlap = assumptions.dp_overlap
    is_samples = (out["kind"] == "samples").to_numpy()

    # --- token workloads: every layout, shape (rows, candidates) ---
    tp, pp, fsdp = _candidates()
    col = (slice(None), None)
    width = tp[None, :] * pp[None, :]
    d = n[col] / width
    with np.errstate(divide="ignore", invalid="ignore"):
        valid = (tp[None, :] <= g[col]) & (width <= n[col]) & (np.mod(n[col], width) == 0)
        valid &= (pp[None, :] <= layers[col]) & ~((tp[None, :] > 1) & (np.mod(heads[col], tp[None, :]) > 0))
        tokens_per_replica = batch_tokens[col] / d
        microbatches = tokens_per_replica / seq[col]
        valid &= microbatches >= 1
        activations = seq[col] * hidden[col] * layers[col] * (10.0 + 24.0 / tp[None, :])
        zero1_memory = (4.0 + (state - 4.0) / d) * params[col] / width + activations
        fsdp_memory = state * params[col] / n[col] + activations
        mem = np.where(fsdp[None, :], fsdp_memory, zero1_memory)
        fits = mem <= memory[col]
        compute = per_token * batch_tokens / (n * rate)
        dp_time = 2.0 * (d - 1.0) / d * grad_bytes[col] * params[col] / width / bw[col]
        fsdp_time = 3.0 * (n[col] - 1.0) / n[col] * FSDP_PARAM_BYTES * params[col] / bw[col]
        tp_time = np.where(
            tp[None, :] > 1,
            4.0
            * (layers[col] / pp[None, :])
            * 2.0
            * (tp[None, :] - 1.0)
            / tp[None, :]
            * tokens_per_replica
            * hidden[col]
            * ACTIVATION_BYTES
            / intra[col],
            0.0,
        )
        bubble = compute[col] * (pp[None, :] - 1.0) / microbatches

        def step(overlap_fraction: float) -> np.ndarray:
            exposed_dp = np.maximum(0.0, dp_time - overlap_fraction * (2.0 / 3.0) * compute[col])
            exposed_fsdp = np.maximum(0.0, fsdp_time - overlap_fraction * compute[col])
            exposed = np.where(fsdp[None, :], exposed_fsdp, exposed_dp)
            exposed = np.where(n[col] > 1, exposed, 0.0)
            return np.asarray(compute[col] + exposed + tp_time + bubble)

        expected_step = step(overlap.value)
        ok = valid & fits & np.isfinite(expected_step)
        ranked = np.where(ok, expected_step + 1e-9 * width, np.inf)
        choice = np.argmin(ranked, axis=1)
        chosen_ok = ok[np.arange(rows), choice]
        pick = (np.arange(rows), choice)
        token_step = expected_step[pick]
        token_step_low = step(overlap.low)[pick]
        token_step_high = step(overlap.high)[pick]
        token_mem = mem[pick]

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

        compute_s = np.where(is_samples, sample_compute, compute)
        step_s = np.where(is_samples, sample_step(overlap.value), np.where(chosen_ok, token_step, np.nan))
        step_low = np.where(is_samples, sample_step(overlap.low), np.where(chosen_ok, token_step_low, np.nan))
        step_high = np.where(
            is_samples, sample_step(overlap.high), np.where(chosen_ok, token_step_high, np.nan)
        )
        efficiency = compute_s / step_s
        # More overlap -> shorter step -> higher efficiency: the "high" efficiency uses the high overlap.
        efficiency_low = compute_s / step_low
        efficiency_high = compute_s / step_high

    # A single accelerator needs no communication; its state must still fit.
    single = n == 1
    samples_or_fit = is_samples | chosen_ok
    no_params = np.isnan(params)
    efficiency = np.where(single & samples_or_fit, 1.0, efficiency)
    efficiency_low = np.where(single & samples_or_fit, 1.0, efficiency_low)
    efficiency_high = np.where(single & samples_or_fit, 1.0, efficiency_high)
    # Raw-FLOPs workloads without a parameter count: one accelerator is exact, more needs an override.
    efficiency = np.where(no_params & single, 1.0, efficiency)

    chosen_tp = np.where(is_samples, 1.0, tp[choice])
    chosen_pp = np.where(is_samples, 1.0, pp[choice])
    chosen_fsdp = np.where(is_samples, False, fsdp[choice])
    layout_known = is_samples | chosen_ok
    dp = np.where(layout_known, n / (chosen_tp * chosen_pp), np.nan)
    sharding = np.where(is_samples, "ddp", np.where(chosen_fsdp, "fsdp", "zero1"))
    where = np.where(n > g, "inter-node", "intra-node")
    out["tp"] = np.where(layout_known, chosen_tp, np.nan)
    out["pp"] = np.where(layout_known, chosen_pp, np.nan)
    out["dp"] = dp
    out["sharding"] = np.where(layout_known, sharding, "")
    tp_text = pd.Series(chosen_tp, index=out.index).astype(int).astype(str)
    pp_text = pd.Series(chosen_pp, index=out.index).astype(int).astype(str)
    dp_text = pd.Series(np.nan_to_num(dp), index=out.index).astype(int).astype(str)
    out["parallelism"] = np.where(
        no_params & ~is_samples,
        "unknown (no parameter count)",
        np.where(
            layout_known,
            "tp"
            + tp_text
            + " pp"
            + pp_text
            + " dp"
            + dp_text
            + " "
            + pd.Series(sharding, index=out.index).astype(str),
            "does not fit",
        ),
    )
    out["memory_bytes_per_accelerator"] = np.where(is_samples, np.nan, np.where(chosen_ok, token_mem, np.nan))
    # Without a parameter count the memory check cannot be made: unknown, not "does not fit".
    out["fits_memory"] = is_samples | chosen_ok | no_params
    out["compute_s"] = compute_s
    out["step_s"] = step_s
    out["exposed_comm_s"] = step_s - compute_s
    out["comm_bandwidth_gb_s"] = bw / 1e9
    out["comm_link"] = where
    out["scaling_efficiency"] = efficiency
    out["scaling_efficiency_low"] = efficiency_low
    out["scaling_efficiency_high"] = efficiency_high
    out["scaling_source"] = np.where(
        single,
        "single accelerator (no communication)",
        np.where(
            no_params,
            "unknown (no parameter count: pass --params or --scaling-efficiency)",
            "comm model ("
            + pd.Series(where, index=out.index).astype(str)
            + " "
            + pd.Series(bw / 1e9, index=out.index).round(1).astype(str)
            + " GB/s per accelerator)",
        ),
    )
    override = assumptions.scaling_efficiency_override
    if override is not None:
        for column in ("scaling_efficiency", "scaling_efficiency_low", "scaling_efficiency_high"):
            out[column] = np.where(out["fits_memory"] | no_params, override, np.nan)
        out["scaling_source"] = "override (--scaling-efficiency)"
    return out
