"""Training work: how many floating-point operations a run needs.

A workload is one row of a frame (:data:`WORKLOAD_COLUMNS`). Three kinds:

``tokens``
    A transformer from its parameters and tokens. Model FLOPs per token (PaLM, arXiv:2204.02311 App. B;
    torchtitan ``get_num_flop_per_token``; llm-foundry's ``mfu`` formula, docs/projection_model.md §2.4-2.5)::

        flops_per_token = 6 * N_active + 12 * L * H * Q * s      (H * Q = h unless the heads' width is given)

    ``6N`` is forward (2N) plus backward (4N) (Kaplan 2020; Transformer Math 101); the attention term
    (``QK^T`` and ``AV``, forward and backward, no causal discount, no recompute) is added when the layers
    ``L``, hidden size ``h`` and sequence length ``s`` are all known. For mixture-of-experts models ``N`` is
    the *active* parameter count. This is the MFU convention: the efficiency defaults
    (docs/projection_model.md §8) were
    measured against the same count, so recompute cost lives in the efficiency, not in the work.
``samples``
    ``samples * epochs`` examples at a measured per-sample throughput (a CNN, or any model you have timed).
    ``flops_per_sample`` (forward + backward) is optional and used only for MFU reporting.
``flops``
    Raw training FLOPs, given.

What a user knows about how the run is trained travels with the workload too: ``global_batch_tokens``
(given) or ``published_global_batch_tokens`` (the preset's paper figure), ``dtype`` (``fp8`` selects the FP8
peak and MFU default), ``recompute`` (force none, selective or full activation recomputation; empty: the
layout search decides), ``head_dim`` (the heads' width where it is not ``h / heads``: multi-head latent
attention) and ``expert_ffn_hidden`` (routed experts' width). The layout search
(:mod:`tco.model.layout`) reads them.

Missing values stay NaN and propagate; invalid ones (zero or negative, an unknown recompute mode) raise in
:func:`validate_training_workloads`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from tco.errors import TcoError

if TYPE_CHECKING:
    import pandas as pd

KINDS: Final = ("tokens", "samples", "flops")

#: The workload contract: one row per workload. Only ``workload`` and ``kind`` are required; a missing
#: numeric column is read as NaN.
WORKLOAD_COLUMNS: Final = (
    "workload",  # a name for the row
    "kind",  # tokens | samples | flops
    "params",  # total parameters N
    "active_params",  # parameters active per token (MoE); NaN = params
    "experts",  # MoE: routed experts per layer (NaN or 1 = dense)
    "experts_per_token",  # MoE: experts each token is routed to (top-k)
    "vocab",  # vocabulary (logits memory)
    "tokens",  # training tokens D
    "layers",  # L
    "hidden",  # h (d_model)
    "heads",
    "kv_heads",
    "head_dim",  # Q: width per head of Q.K^T and A.V (mean of the two for MLA); NaN = hidden / heads
    "expert_ffn_hidden",  # MoE: width of each routed expert's feed-forward layer (NaN = unknown)
    "seq_len",  # s
    "train_flops",  # kind == flops
    "samples",  # kind == samples: examples per epoch
    "epochs",
    "flops_per_sample",  # forward + backward FLOPs per example (optional)
    "samples_per_s_per_accelerator",  # measured per-sample throughput given by the user (optional)
    "global_batch_tokens",  # tokens per optimizer step the user gives (NaN = none given)
    "published_global_batch_tokens",  # the batch the model's authors used (presets; NaN = not published)
    "batch_per_accelerator",  # kind == samples: examples per accelerator per step
    "grad_bytes_per_param",  # gradient bytes communicated per parameter (2 bf16, 4 fp32)
    "dtype",  # compute precision: bf16 | fp16 | fp8 | tf32 | fp32
    "recompute",  # activation recomputation: "" (the layout search decides) | none | selective | full
    "calibration_variant",  # which calibrated model a samples workload matches (e.g. resnet50)
    "workload_source",  # where the shape and counts come from
)

NUMERIC_COLUMNS: Final = (
    "params",
    "active_params",
    "experts",
    "experts_per_token",
    "vocab",
    "tokens",
    "layers",
    "hidden",
    "heads",
    "kv_heads",
    "head_dim",
    "expert_ffn_hidden",
    "seq_len",
    "train_flops",
    "samples",
    "epochs",
    "flops_per_sample",
    "samples_per_s_per_accelerator",
    "global_batch_tokens",
    "published_global_batch_tokens",
    "batch_per_accelerator",
    "grad_bytes_per_param",
)

#: Activation recomputation a workload may ask for ("" or "auto": the layout search decides).
RECOMPUTE_MODES: Final = ("", "auto", "none", "selective", "full")


def complete_workloads(workloads: pd.DataFrame) -> pd.DataFrame:
    """The workload frame with every contract column present (missing numbers NaN, missing text empty)."""
    extra = [c for c in workloads.columns if c not in WORKLOAD_COLUMNS]
    out = workloads.reindex(columns=[*WORKLOAD_COLUMNS, *extra])
    out = out.astype(dict.fromkeys(NUMERIC_COLUMNS, "float64"))
    text = [c for c in WORKLOAD_COLUMNS if c not in NUMERIC_COLUMNS]
    out[text] = out[text].astype(object).fillna("")
    out["dtype"] = out["dtype"].where(out["dtype"].astype(bool), "bf16")
    out["recompute"] = out["recompute"].astype(str).str.strip().str.lower().replace("auto", "")
    return out


def validate_training_workloads(workloads: pd.DataFrame) -> None:
    """Raise :class:`TcoError` (one line) for a workload no projection can be made of: an impossible value
    (:func:`check_training_values`) or a missing one its kind needs (tokens need params and tokens, ...)."""
    frame = check_training_values(workloads)
    needs = {"tokens": ("params", "tokens"), "samples": ("samples", "epochs"), "flops": ("train_flops",)}
    for kind, columns in needs.items():
        rows = frame[frame["kind"] == kind]
        for column in columns:
            missing = rows[column].isna()
            if missing.any():
                name = rows.loc[missing, "workload"].iloc[0]
                raise TcoError(
                    f"{name}: a {kind} workload needs {column.replace('_', ' ')}",
                    hint=f"pass --{column.replace('_', '-')}",
                )


def check_training_values(workloads: pd.DataFrame) -> pd.DataFrame:
    """Raise :class:`TcoError` (one line) for a value no workload can have: an unknown kind or activation
    recomputation, a number that is zero, negative or infinite, more active than total parameters. Missing
    values (NaN) pass: missing stays missing, and the projection's row says what it lacks. Returns the
    completed frame (:func:`complete_workloads`)."""
    import numpy as np

    frame = complete_workloads(workloads)
    unknown = sorted(set(frame["kind"]) - set(KINDS))
    if unknown:
        raise TcoError(f"unknown workload kind {unknown[0]!r}", hint=f"one of {', '.join(KINDS)}")
    for column in NUMERIC_COLUMNS:
        values = frame[column].to_numpy(dtype="float64")
        bad = ~np.isnan(values) & ~(values > 0)
        if bad.any():
            row = frame.loc[bad, "workload"].iloc[0]
            label = column.replace("_", " ")
            raise TcoError(
                f"{row}: {label} must be positive, got {values[bad][0]:g}",
                hint=f"check --{column.replace('_', '-')}",
            )
        if np.isinf(values).any():
            raise TcoError(f"{column.replace('_', ' ')} must be finite")
    bad_mode = ~frame["recompute"].isin(RECOMPUTE_MODES)
    if bad_mode.any():
        raise TcoError(
            f"{frame.loc[bad_mode, 'workload'].iloc[0]}: unknown activation recomputation "
            f"{frame.loc[bad_mode, 'recompute'].iloc[0]!r}",
            hint="one of none, selective, full (or leave it empty: the layout search decides)",
        )
    too_many = frame["active_params"] > frame["params"]
    if too_many.any():
        raise TcoError(
            f"{frame.loc[too_many, 'workload'].iloc[0]}: active parameters exceed total parameters"
        )
    return frame


def attention_flops_per_token(
    layers: pd.Series,
    hidden: pd.Series,
    seq_len: pd.Series,
    heads: pd.Series | None = None,
    head_dim: pd.Series | None = None,
) -> pd.Series:
    """``12 * L * H * Q * s``: attention score and value FLOPs per token, forward and backward (PaLM App. B),
    with ``H * Q = h`` unless the heads' width is given (multi-head latent attention: DeepSeek-V3's 128
    heads of 192 (Q.K) and 128 (A.V) dimensions are 2.9x its hidden size of 7,168)."""
    width = hidden
    if heads is not None and head_dim is not None:
        width = (heads * head_dim).fillna(hidden)
    return 12.0 * layers * width * seq_len


def training_work(workloads: pd.DataFrame) -> pd.DataFrame:
    """Add ``flops_per_token``, ``train_flops``, ``total_samples`` and ``work_formula`` to the workloads.

    Vectorised over rows; NaN inputs give NaN work. The attention term is omitted (and the formula says so)
    where the shape is unknown.
    """
    import numpy as np

    frame = complete_workloads(workloads)
    active = frame["active_params"].fillna(frame["params"])
    attention = attention_flops_per_token(
        frame["layers"], frame["hidden"], frame["seq_len"], frame["heads"], frame["head_dim"]
    )
    has_attention = attention.notna()
    per_token = 6.0 * active + attention.fillna(0.0)
    kind = frame["kind"].to_numpy()
    is_tokens = kind == "tokens"
    is_samples = kind == "samples"
    total_samples = frame["samples"] * frame["epochs"]
    train_flops = np.where(
        is_tokens,
        per_token * frame["tokens"],
        np.where(is_samples, total_samples * frame["flops_per_sample"], frame["train_flops"]),
    )
    formula = np.where(
        is_tokens,
        np.where(
            has_attention, "(6*N_active + 12*L*h*s) * D", "6*N_active * D (shape unknown: no attention term)"
        ),
        np.where(is_samples, "samples * epochs * flops_per_sample", "given"),
    )
    return frame.assign(
        active_params=active,
        attention_flops_per_token=attention.where(is_tokens),
        flops_per_token=per_token.where(is_tokens),
        train_flops=train_flops,
        total_samples=total_samples.where(is_samples),
        work_formula=formula,
    )
