"""Serving memory in bytes: weights, KV cache, runtime reserve, and how many sequences fit.

All arrays are float64, one value per row (broadcastable). Formulas (docs/serving_model.md §1):

* weights ``W = (N - N_emb) * b_w * (1 + q) + N_emb * max(b_w, 2)``: ``b_w`` bytes per weight of the weight
  dtype, ``q`` the quantisation-scale overhead (int4: a 16-bit scale and zero per group of ``g`` weights,
  ``4 / (g * b_w)``; fp8/int8 per-channel scales are negligible), ``N_emb = 2 * vocab * hidden`` the input
  embedding and LM head, which serving stacks keep in 16 bits (ModelOpt/TensorRT-LLM and vLLM FP8
  checkpoints exclude ``lm_head``). Without a vocabulary, ``N_emb = 0``.
* weights read per decode step ``W_read = W - vocab * hidden * 2`` (the input embedding is gathered, not
  streamed); MoE: the experts a step's tokens touch (see :func:`moe_weight_bytes_read`).
* KV per token per accelerator ``kv = 2 * L * ceil(n_kv / t) * d_head * b_kv`` (GQA heads are split over the
  ``t`` tensor-parallel ranks; with fewer KV heads than ranks each rank keeps one copy).
* free memory per accelerator ``F = f_kv * (M - W / t - reserve)`` (TensorRT-LLM
  ``kv_cache_free_gpu_mem_fraction``; vLLM's ``gpu_memory_utilization`` is the same order).
* a running sequence holds ``ceil((s_in + r * s_out) / block) * block`` tokens (``r`` = 1 when the scheduler
  reserves the whole output, as TensorRT-LLM's GUARANTEED_NO_EVICT does); sequences that fit
  ``B_mem = floor(F / (tokens * kv))``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: Bytes of the 16-bit copy serving stacks keep of the embeddings and the LM head.
EMBEDDING_BYTES = 2.0


def embedding_params(vocab: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Input embedding plus LM head (untied, as every Llama/Mistral/Mixtral); 0 where vocab is unknown."""
    import numpy as np

    return np.where(np.isfinite(vocab), 2.0 * vocab * hidden, 0.0)


def quantisation_overhead(weight_bytes: np.ndarray, int4_group_size: float) -> np.ndarray:
    """Extra bytes per weight byte for scales: int4 (below one byte per weight) stores a 16-bit scale and a
    16-bit zero per group; 8-bit formats use per-channel/per-tensor scales (negligible)."""
    import numpy as np

    return np.where(weight_bytes < 1.0, 4.0 / (int4_group_size * weight_bytes), 0.0)


def weight_bytes(
    params: np.ndarray,
    weight_bytes_per_param: np.ndarray,
    vocab: np.ndarray,
    hidden: np.ndarray,
    int4_group_size: float,
) -> np.ndarray:
    """All weights of the model in memory (bytes, whole model)."""
    import numpy as np

    emb = np.minimum(embedding_params(vocab, hidden), params)
    body = (
        (params - emb)
        * weight_bytes_per_param
        * (1.0 + quantisation_overhead(weight_bytes_per_param, int4_group_size))
    )
    total: np.ndarray = body + emb * np.maximum(weight_bytes_per_param, EMBEDDING_BYTES)
    return total


def kv_bytes_per_token(
    layers: np.ndarray,
    kv_heads: np.ndarray,
    head_dim: np.ndarray,
    kv_bytes_per_element: np.ndarray,
    tp: np.ndarray | float = 1.0,
) -> np.ndarray:
    """KV cache of one token on one of ``tp`` accelerators (``tp=1``: the whole model's)."""
    import numpy as np

    heads_per_rank = np.ceil(kv_heads / tp)
    kv: np.ndarray = 2.0 * layers * heads_per_rank * head_dim * kv_bytes_per_element
    return kv


def moe_weight_bytes_read(
    weights: np.ndarray,
    params: np.ndarray,
    active_params: np.ndarray,
    experts: np.ndarray,
    experts_per_token: np.ndarray,
    tokens: np.ndarray,
) -> np.ndarray:
    """Weight bytes one step streams when ``tokens`` tokens pass a mixture of experts.

    Expert parameters (all layers) per expert ``P_e = (N - N_active) / (E - k)``; a step with ``n`` tokens
    touches ``E * (1 - (1 - k/E)^n)`` experts per layer on average (each token picks ``k`` of ``E``,
    independently); the rest of the model is always read. Dense rows (no experts) read ``weights``.
    """
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        moe = np.isfinite(experts) & (experts > experts_per_token) & (active_params < params)
        per_expert = (params - active_params) / (experts - experts_per_token)
        expert_params = experts * per_expert
        touched = experts * (1.0 - (1.0 - experts_per_token / experts) ** np.maximum(tokens, 1.0))
        bytes_per_param = weights / params
        read = weights - (expert_params - touched * per_expert) * bytes_per_param
    return np.where(moe, read, weights)


def kv_capacity_bytes(
    memory_bytes: np.ndarray,
    weights: np.ndarray,
    tp: np.ndarray,
    *,
    reserve_bytes: float,
    kv_fraction: float,
) -> np.ndarray:
    """KV-cache bytes per accelerator: the engine's share of what weights and the runtime reserve leave
    (negative: the weights do not fit)."""
    free = memory_bytes - weights / tp - reserve_bytes
    capacity: np.ndarray = free * kv_fraction
    return capacity


def tokens_held(
    prompt_tokens: np.ndarray,
    output_tokens: np.ndarray,
    *,
    reserved_output_fraction: np.ndarray | float,
    block_tokens: np.ndarray | float,
) -> np.ndarray:
    """KV tokens one running sequence holds, rounded up to whole paged blocks."""
    import numpy as np

    tokens = prompt_tokens + reserved_output_fraction * output_tokens
    return np.ceil(tokens / block_tokens) * block_tokens
