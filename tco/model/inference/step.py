"""The time of one engine step (continuous batching), split into its parts (docs/serving_model.md §2).

A step carries ``B`` decoding sequences (one token each, mean context ``c``) and ``p`` prefill tokens
(whole prompts, or chunks of them with chunked prefill). Per accelerator of a ``t``-way tensor-parallel
replica::

    t_weights = W_read(B + p) / t / (BW * MBU(t))                   MBU(t) = MBU(1) * f^log2(t)
    t_kv      = (B c + p) kv / (BW * MBU(t))                        (KV read by decode, KV written by prefill)
    t_gemm    = max(t_weights, (B + p) 2 N_active / t / (peak * eff))
    t_attn    = max(t_kv, (B 4 L H d c + p 4 L H d s_in / 2) / t / (peak * eff))
    t_comm    = 2 L (lat + 2 (t-1)/t * (B + p) h * 2 bytes / (link * bus_eff))   (t > 1; 2 all-reduces/layer)
    step      = t_gemm + t_attn + t_comm + overhead

``H d`` is the attention width (query heads x head dim), ``c`` the mean context of a decoding sequence
(``s_in + s_out / 2``), ``s_in / 2`` the mean causal context of a prefill token. Each kernel class has its
own roofline: the linear layers stream the weights while they compute (so weight reads and GEMM FLOPs
overlap, and prefill tokens ride on decode's weight reads), but attention is a separate kernel that reads
the KV cache after them, and the all-reduces sit in the critical path (TensorRT-LLM and vLLM do not overlap
them). MoE rows read only the experts the step's tokens touch: ``W_read(n) = W - E P_e (1 - k/E)^n``
bytes (``E`` experts of ``P_e`` bytes, ``k`` per token), i.e. ``E (1 - (1 - k/E)^n)`` experts per layer.

The per-row constants are computed once (:class:`Engine` construction); a step is then ~15 array
operations per candidate, which is what the serving sweep's speed rests on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Engine:
    """One replica configuration per row (arrays of shape (rows, 1) so that candidates broadcast)."""

    tp: np.ndarray
    params: np.ndarray
    active_params: np.ndarray
    experts: np.ndarray
    experts_per_token: np.ndarray
    layers: np.ndarray
    hidden: np.ndarray
    attention_width: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    weights_bytes: np.ndarray  # whole model, in memory
    weights_read_bytes: np.ndarray  # whole model, streamed per dense step (no input embedding)
    kv_bytes_per_token: np.ndarray  # per accelerator
    bandwidth_bytes_s: np.ndarray  # HBM, per accelerator
    mbu: np.ndarray  # at this TP degree
    peak_flops: np.ndarray  # per accelerator, compute dtype
    flops_efficiency: np.ndarray
    link_bytes_s: np.ndarray  # unidirectional, per accelerator
    allreduce_latency_s: np.ndarray
    allreduce_bus_efficiency: float
    step_overhead_s: np.ndarray | float
    k: dict[str, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "k", self._coefficients())

    def _coefficients(self) -> dict[str, np.ndarray]:
        """Per-row constants (shape (rows, 1)) so that a step is a few operations per candidate."""
        import numpy as np

        t = self.tp
        context = self.prompt_tokens + self.output_tokens / 2.0
        rate = self.bandwidth_bytes_s * self.mbu
        flop_rate = self.peak_flops * self.flops_efficiency
        width = self.layers * self.attention_width
        with np.errstate(divide="ignore", invalid="ignore"):
            ring = (
                2.0 * (t - 1.0) / t * self.hidden * 2.0 / (self.link_bytes_s * self.allreduce_bus_efficiency)
            )
            moe = (
                np.isfinite(self.experts)
                & (self.experts > self.experts_per_token)
                & (self.active_params < self.params)
            )
            # expert bytes per expert (all layers), streamed at the step's bandwidth
            per_expert = (self.params - self.active_params) / (self.experts - self.experts_per_token)
            bytes_per_param = self.weights_read_bytes / self.params
            experts_s = np.where(moe, self.experts * per_expert * bytes_per_param / t / rate, 0.0)
            log_miss = np.where(moe, np.log1p(-self.experts_per_token / self.experts), 0.0)
        multi = t > 1
        return {
            "rate": rate,
            "weights_s": self.weights_read_bytes / t / rate,
            "experts_s": experts_s,
            "log_miss": log_miss,
            "any_moe": np.asarray(bool(moe.any())),
            "kv_decode_s": context * self.kv_bytes_per_token / rate,
            "kv_prefill_s": self.kv_bytes_per_token / rate,
            "gemm_s": 2.0 * self.active_params / t / flop_rate,
            "attn_decode_s": 4.0 * width * context / t / flop_rate,
            "attn_prefill_s": 2.0 * width * self.prompt_tokens / t / flop_rate,
            "comm_fixed_s": np.where(multi, 2.0 * self.layers * self.allreduce_latency_s, 0.0)
            + self.step_overhead_s,
            "comm_token_s": np.where(multi, 2.0 * self.layers * ring, 0.0),
        }

    def _weights_s(self, tokens: np.ndarray) -> np.ndarray:
        """Weight-streaming time; MoE rows read only the experts ``tokens`` touch."""
        import numpy as np

        k = self.k
        if not bool(k["any_moe"]):
            return np.broadcast_to(k["weights_s"], np.broadcast_shapes(tokens.shape, k["weights_s"].shape))
        untouched = k["experts_s"] * np.exp(np.maximum(tokens, 1.0) * k["log_miss"])
        read: np.ndarray = k["weights_s"] - untouched
        return read

    def step_s(self, batch: np.ndarray, prefill_tokens: np.ndarray) -> np.ndarray:
        """Seconds per step (the total only; :meth:`parts` gives the breakdown)."""
        import numpy as np

        k = self.k
        tokens = batch + prefill_tokens
        linear = np.maximum(self._weights_s(tokens), tokens * k["gemm_s"])
        attention = np.maximum(
            batch * k["kv_decode_s"] + prefill_tokens * k["kv_prefill_s"],
            batch * k["attn_decode_s"] + prefill_tokens * k["attn_prefill_s"],
        )
        total: np.ndarray = linear + attention + k["comm_fixed_s"] + tokens * k["comm_token_s"]
        return total

    def parts(self, batch: np.ndarray, prefill_tokens: np.ndarray) -> dict[str, np.ndarray]:
        """Seconds per step by part: weights, kv, compute, communication (all-reduces, without the fixed
        step overhead) and the total."""
        import numpy as np

        k = self.k
        tokens = batch + prefill_tokens
        weights_s = self._weights_s(tokens)
        kv_s = batch * k["kv_decode_s"] + prefill_tokens * k["kv_prefill_s"]
        gemm = tokens * k["gemm_s"]
        attention = batch * k["attn_decode_s"] + prefill_tokens * k["attn_prefill_s"]
        comm_s = k["comm_fixed_s"] - self.step_overhead_s + tokens * k["comm_token_s"]
        total = np.maximum(weights_s, gemm) + np.maximum(kv_s, attention) + comm_s + self.step_overhead_s
        return {
            "weights_s": weights_s + 0.0 * total,
            "kv_s": kv_s + 0.0 * total,
            "compute_s": gemm + attention,
            "comm_s": comm_s + 0.0 * total,
            "step_s": total,
        }

    def prefill_s(self, tokens: np.ndarray, chunk_tokens: np.ndarray) -> np.ndarray:
        """One request's prefill alone: ``ceil(s_in / chunk)`` steps, each reading the weights once."""
        import numpy as np

        chunks = np.maximum(np.ceil(tokens / chunk_tokens), 1.0)
        per_chunk = tokens / chunks
        seconds: np.ndarray = chunks * self.step_s(0.0 * per_chunk, per_chunk)
        return seconds
