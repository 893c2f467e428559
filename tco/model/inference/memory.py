"""Serving memory in bytes: weights, KV cache, runtime reserve, and how many sequences fit.

All arrays are float64, one value per row (broadcastable). Formulas (docs/serving_model.md §1):

* weights ``W = (N - N_emb) * b_w * (1 + q) + N_emb * max(b_w, 2)``: ``b_w`` bytes per weight of the weight
  dtype, ``q`` the quantisation-scale overhead (int4: a 16-bit scale and zero per group of ``g`` weights,
  ``4 / (g * b_w)``; fp8/int8 per-channel scales are negligible), ``N_emb = 2 * vocab * hidden`` the input
  embedding and LM head, which serving stacks keep in 16 bits (ModelOpt/TensorRT-LLM and vLLM FP8
  checkpoints exclude ``lm_head``). Without a vocabulary, ``N_emb = 0``.
* weights read per decode step ``W_read = W - vocab * hidden * 2`` (the input embedding is gathered, not
  streamed); MoE: the experts a step's tokens touch (:mod:`tco.model.inference.step`).
* KV per token per accelerator ``kv = 2 * L * ceil(n_kv / t) * d_head * b_kv`` (GQA heads are split over the
  ``t`` tensor-parallel ranks; with fewer KV heads than ranks each rank keeps one copy).
* KV-cache bytes per accelerator ``F`` by the engine's memory basis (:func:`kv_capacity_bytes`):
  TensorRT-LLM ``f (M - W/t - reserve)``, vLLM ``f M - W/t - reserve``, SGLang ``f M - W/t``.
* a running sequence holds ``ceil((s_in + r * s_out) / block) * block`` tokens (``r`` = 1 when the scheduler
  reserves the whole output, as TensorRT-LLM's GUARANTEED_NO_EVICT does; 0.5 when blocks are allocated as
  tokens come, vLLM and SGLang); sequences that fit ``B_mem = floor(F / (tokens * kv))``.
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


def kv_capacity_bytes(
    memory_bytes: np.ndarray,
    weights: np.ndarray,
    tp: np.ndarray,
    *,
    reserve_bytes: float,
    kv_fraction: np.ndarray,
    basis: np.ndarray,
) -> np.ndarray:
    """KV-cache bytes per accelerator by the engine's memory basis (negative: the weights do not fit):

    * ``0`` free (TensorRT-LLM ``free_gpu_memory_fraction``): ``f (M - W/t - reserve)``;
    * ``1`` total (vLLM ``gpu_memory_utilization``, activations profiled inside it): ``f M - W/t - reserve``;
    * ``2`` static (SGLang ``mem_fraction_static``, activations outside it): ``f M - W/t``.
    """
    import numpy as np

    per_rank = weights / tp
    capacity: np.ndarray = np.select(
        [basis == 0.0, basis == 1.0],
        [
            kv_fraction * (memory_bytes - per_rank - reserve_bytes),
            kv_fraction * memory_bytes - per_rank - reserve_bytes,
        ],
        default=kv_fraction * memory_bytes - per_rank,
    )
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
