"""Layout search: the fastest way to lay a transformer's training step out on n accelerators.

For every configuration row (a workload on ``n`` accelerators of one kind, in instances or TPU slices of
``g`` accelerators joined by the fast links) the search evaluates every candidate layout at once (numpy over
the valid (row, candidate) pairs only, found once per distinct key in two stages, so a million-row sweep
stays cheap) and keeps the one with the shortest step whose training state fits in memory. Sources:
docs/projection_model.md §1.4, §2.1, §4.1-4.2.

**Global batch** ``B``: the workload's own (``global_batch_tokens``: ``--set global_batch_tokens``), else the
batch its authors published (``published_global_batch_tokens``, from the preset), else the rule of
:func:`default_global_batch`; ``batch_source`` says which (given, published, rule).

**Candidates.** Tensor parallel ``t`` in {1, 2, 4, 8, 16, 32} (``t <= g``: inside the NVLink node or the TPU
slice, ``t`` divides the heads); pipeline ``p`` any count up to 128 that divides ``n/(t c)`` (``p <= L``:
MT-NLG ran 35 stages); context parallel ``c`` in {1, 2, 4, 8, 16} (only for sequences of 8k and more, each
rank keeping at least 4k tokens: Llama 3 Table 4 used ``c = 16`` at 131k and ``c = 1`` at 8k); expert
parallel ``e`` (MoE: divides the experts and the ``d c`` data-parallel ranks it is carved from,
Megatron-Core's convention); data parallel ``d = n/(t p c)``; sharding ZeRO-1 (distributed optimizer), FSDP/
ZeRO-3 (``p = 1``) or hybrid sharding, HSDP (``p = 1``, no experts: the state sharded over the ``g/(t c)``
data-parallel ranks inside one fast domain and replicated across domains, PaLM's layout on two TPU pods and
PyTorch's HYBRID_SHARD). For each candidate the search also picks, elementwise, activation recomputation
(none, else full when only that fits; a workload's ``recompute`` forces none, selective or full), the
pipeline schedule (1F1B, or interleaved with ``v`` in {2, 4, 8} virtual stages where there are at least
``p v`` layers and ``p`` micro-batches; uneven chunks allowed, as Llama 3 ran 126 layers on 16 stages) and,
without a pipeline, the largest micro-batch that fits (fewest accumulation steps).

**Memory per accelerator** (bytes). State ``S`` bytes per parameter (16: bf16 weights and gradients, fp32
master, m, v). ZeRO-1: ``(4 + (S-4)/(d c)) N_dense/(t p) + (4 + (S-4)/(d c/e)) N_expert/(t p e)``; FSDP:
``S N/(t d c)`` plus two gathered layers; HSDP: ``S N/(t r_in)`` with ``r_in = g/(t c)`` ranks per domain.
Activations (Korthikanti et al. 2022, arXiv:2205.05198, with flash attention and sequence parallelism):
``34 s b h / t`` per layer without recompute or with selective recompute (flash attention stores no
scores), ``2 s b h / t`` per layer plus one layer's working set with full recompute; the first 1F1B stage
keeps ``L`` layers' worth (``x (1 + (p-1)/(p v))`` interleaved); logits ``s b V 4 / t`` on the last stage.
The layout must fit in ``memory_usable_fraction`` of the accelerator's memory.

**Step time** per accelerator, ``B`` tokens per optimizer step, ``m`` micro-batches of ``b`` sequences::

    compute  = F B / (n R) x recompute x experts
               recompute: 4/3 full (one more forward), 1 + a/3 selective (the attention forward again,
               a = attention share of the FLOPs), 1 none
               experts: (1 - a_e) + a_e / f_e, the routed-expert GEMMs' share a_e at their efficiency f_e
               (:func:`_expert_gemm_slowdown`: tokens per expert k e s b / E, expert width)
    bubble   = compute (p-1) / (v m)                                   (Narayanan et al. 2021)
    tensor   = (L/p) m (4 (+2 recompute)) 2(t-1)/t s b h 2 / BW_fast   (not overlapped)
    data     = 2(dc-1)/(dc) g_bytes N/(t p) / BW, exposed beyond overlap x compute/m (the last micro-batch)
    fsdp     = 3 m (r-1)/r 2 N/t / BW over the r shard ranks (HSDP: inside the domain), plus HSDP's
               2(q-1)/q g_bytes N/(t r) / BW_network across its q replicas; exposed beyond overlap x compute
    context  = 3 (c-1) (L/p) m KV_chunk / BW, exposed beyond overlap x attention compute
    experts  = 4 k (L/p) m s b h 2 (e-1)/(e t) / BW, exposed (1 - moe_overlap)  (llm-analysis: 2 per layer)
    pipeline = 2 v m s b h 2 / t / BW (each tensor-parallel rank sends its slice of the activations and
               their gradients: Megatron's scatter/gather), exposed (1 - overlap)

plus ``(ranks - 1) x collective_hop_latency_s`` per ring collective call, per layer and micro-batch, for
tensor parallelism, FSDP and the all-to-all; ``2 log2(ranks)`` steps (NCCL's tree) per 40M-parameter
gradient bucket for ZeRO-1's reduce-scatter and all-gather and HSDP's cross-replica all-reduce.

``BW`` is the fast-domain bus bandwidth while a group fits inside one instance or slice, else the network
bandwidth per accelerator (data-parallel groups are outermost). ``layout_efficiency = F B / (n R) / step``.

Limits, stated: uniform layers (no dense first layers in MoE models), no ZeRO-2, micro-batch of one sequence
with a pipeline, no optimizer-step time, bandwidths are bus bandwidths without per-message latency, no MoE
routing imbalance or token permutation cost.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tco.model.assumptions import TrainingAssumptions

TP_SIZES: Final = (1, 2, 4, 8, 16, 32)
#: Every stage count up to 128 (a count must divide the data-parallel width: MT-NLG ran 35 stages on 280
#: nodes, Megatron's 1T model 64); ``p <= L``, uneven stages allowed.
PP_SIZES: Final = tuple(range(1, 129))
CP_SIZES: Final = (1, 2, 4, 8, 16)
EP_SIZES: Final = (1, 2, 4, 8, 16, 32, 64, 128, 256)
INTERLEAVE: Final = (2, 4, 8)
#: Context parallelism only for long sequences, each rank keeping at least this many tokens.
CP_MIN_TOKENS_PER_RANK: Final = 4096.0
CP_MIN_SEQ: Final = 8192.0
#: Bytes per element of activations and of the parameters FSDP gathers (bf16).
ACTIVATION_BYTES: Final = 2.0
PARAM_BYTES: Final = 2.0
#: Activation bytes per token per hidden unit per layer with flash attention and sequence parallelism
#: (Korthikanti et al. 2022 eq. 2 without the 5as/h score term that flash attention never stores).
ACT_NO_RECOMPUTE: Final = 34.0
#: With full recompute only each layer's input is kept (2 bytes per element).
ACT_FULL_RECOMPUTE: Final = 2.0
#: Full recompute adds one forward pass: 8 passes of work instead of 6 (docs/projection_model.md §0).
FULL_RECOMPUTE_FACTOR: Final = 8.0 / 6.0
#: Gradient buckets of the data-parallel reduce-scatter/all-gather (Megatron-Core's default 40M parameters).
DP_BUCKET_PARAMS: Final = 40e6
#: The hidden size the steady-MFU defaults were measured at where the configuration does not say.
REFERENCE_WIDTH: Final = 4096.0
#: Logits are materialised in fp32 for the loss on the last stage.
LOGIT_BYTES: Final = 4.0

#: Activation recomputation per row: the search decides, or the workload forces one.
AUTO: Final = 0
NONE: Final = 1
SELECTIVE: Final = 2
FULL: Final = 3
_MODE_CODES: Final = {"": AUTO, "auto": AUTO, "none": NONE, "selective": SELECTIVE, "full": FULL}

#: Output columns added to each configuration row.
LAYOUT_COLUMNS: Final = (
    "global_batch_tokens_used",
    "batch_source",
    "tp",
    "pp",
    "dp",
    "cp",
    "ep",
    "sharding",
    "recompute",
    "schedule",
    "microbatches",
    "microbatch_sequences",
    "memory_bytes_per_accelerator",
    "fits_memory",
    "compute_s",
    "bubble_s",
    "tensor_comm_s",
    "exposed_comm_s",
    "step_s",
    "layout_efficiency",
)


ZERO1: Final = 0
FSDP: Final = 1
HSDP: Final = 2
SHARDING_NAMES: Final = ("zero1", "fsdp", "hsdp")


@cache
def _base_candidates() -> dict[str, np.ndarray]:
    """Every (tp, cp, ep, sharding) combination: ZeRO-1 and FSDP with any expert parallelism, hybrid
    sharding (HSDP: sharded inside the fast domain, replicated across) without. ZeRO-1 candidates are then
    combined with every pipeline size; FSDP and HSDP run without a pipeline."""
    import numpy as np

    grid = np.array(
        [
            (t, c, e, f)
            for t in TP_SIZES
            for c in CP_SIZES
            for e in EP_SIZES
            for f in (ZERO1, FSDP, HSDP)
            if not (f == HSDP and e > 1)
        ],
        dtype="float64",
    )
    return {"tp": grid[:, 0], "cp": grid[:, 1], "ep": grid[:, 2], "sharding": grid[:, 3].astype("int8")}


def default_global_batch(
    params: np.ndarray, accelerators: np.ndarray, assumptions: TrainingAssumptions
) -> np.ndarray:
    """Tokens per optimizer step when the workload names none: practitioners' batch for the model size,
    grown with the accelerator count, within a ceiling.

    * by size (GPT-3 Table 2.1: 0.5M tokens up to 760M parameters, 1M at 1.3B-2.7B; LLaMA, Llama 2, BLOOM,
      MT-NLG, PaLM's final batch: 4M from about 7B), interpolated in log N between those points;
    * by scale: at least ``tokens_per_accelerator`` per accelerator (Llama 3 Table 4: 16M tokens on 16,384
      GPUs = 1,024 per GPU, the same 16M on 8,192), so data-parallel replicas keep whole sequences and
      pipelines keep enough micro-batches;
    * at most ``max_global_batch_tokens`` (DeepSeek-V3's final batch: 15,360 x 4,096 = 63M tokens).
    """
    import numpy as np

    base = assumptions.global_batch_tokens.value
    points_n = np.log(np.array([760e6, 1.3e9, 2.7e9, 6.7e9]))
    points_b = np.log(np.array([base / 8.0, base / 4.0, base / 4.0, base]))
    with np.errstate(invalid="ignore", divide="ignore"):
        by_size = np.exp(np.interp(np.log(params), points_n, points_b))
    by_size = np.where(np.isnan(params), base, np.round(by_size))
    by_scale = accelerators * assumptions.tokens_per_accelerator.value
    return np.asarray(np.minimum(np.maximum(by_size, by_scale), assumptions.max_global_batch_tokens.value))


def recompute_modes(configs: pd.DataFrame) -> np.ndarray:
    """The recomputation each row asks for (:data:`AUTO`, :data:`NONE`, :data:`SELECTIVE`, :data:`FULL`)
    from its ``recompute`` column (missing or empty: the search decides)."""
    import numpy as np
    import pandas as pd

    if "recompute" not in configs.columns:
        return np.zeros(len(configs), dtype="int8")
    text = configs["recompute"].astype(object).fillna("").astype(str).str.strip().str.lower()
    codes, uniques = pd.factorize(text)
    table = np.array([_MODE_CODES.get(u, AUTO) for u in uniques] or [AUTO], dtype="int8")
    return np.asarray(table[np.maximum(codes, 0)])


def _valid_pairs(
    key_ids: np.ndarray,
    base: dict[str, np.ndarray],
    pp_sizes: np.ndarray,
    n: np.ndarray,
    fast_domain: np.ndarray,
    heads: np.ndarray,
    layers: np.ndarray,
    seq: np.ndarray,
    experts: np.ndarray,
    batch: np.ndarray,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The valid layouts of each key in ``key_ids``: key index per layout and the layouts' ``tp, pp, cp,
    ep, sharding``, sorted by key, then tp, pp, cp, ep, sharding.

    Two stages keep it cheap: the constraints that do not involve the pipeline are checked on
    keys x (tp, cp, ep, sharding); only the survivors are expanded over the stage counts (ZeRO-1) that
    divide the remaining width.
    """
    import numpy as np

    tp, cp, ep = (base[c][None, :] for c in ("tp", "cp", "ep"))
    c_ = (key_ids, None)
    nr, sr = n[c_], seq[c_]
    with np.errstate(divide="ignore", invalid="ignore"):
        mask = (np.mod(nr, tp * cp) == 0) & (tp <= fast_domain[c_])
        mask &= ~((tp > 1) & (np.mod(heads[c_], tp) > 0))
        mask &= (cp == 1) | ((sr >= CP_MIN_SEQ) & (sr / cp >= CP_MIN_TOKENS_PER_RANK))
        mask &= (ep == 1) | (np.mod(experts[c_], ep) == 0)
    kk, bb = np.nonzero(mask)
    # Expand: ZeRO-1 over the stage counts that divide its remaining width (a divisor table per distinct
    # width), FSDP/HSDP with one stage.
    zero = base["sharding"][bb] == ZERO1
    zero_ids = np.flatnonzero(zero)
    other_ids = np.flatnonzero(~zero)
    remaining = n[key_ids[kk[zero_ids]]] / (base["tp"][bb[zero_ids]] * base["cp"][bb[zero_ids]])
    widths, of_width = np.unique(remaining, return_inverse=True)
    width_row, stage = np.nonzero(np.mod(widths[:, None], pp_sizes[None, :]) == 0)
    from tco.model.training import join_indices

    left, right = join_indices(of_width.reshape(-1), width_row)
    which = np.concatenate([zero_ids[left], other_ids])
    pp = np.concatenate([pp_sizes[stage[right]], np.ones(len(other_ids))])
    keys = key_ids[kk[which]]
    b = bb[which]
    t, c, e, f = base["tp"][b], base["cp"][b], base["ep"][b], base["sharding"][b]
    with np.errstate(divide="ignore", invalid="ignore"):
        width = n[keys] / (t * c)
        dp = width / pp
        shard = hsdp_shard(fast_domain[keys], t, c)
        ok = (np.mod(width, pp) == 0) & (pp <= layers[keys])
        ok &= (e == 1) | (np.mod(dp * c, e) == 0)
        ok &= batch[keys] / (seq[keys] * dp) >= 1.0  # every replica gets at least one whole sequence
        ok &= (f != HSDP) | ((np.mod(dp * c, shard) == 0) & (shard > 1) & (shard < dp * c))
    keys, t, pp, c, e, f = keys[ok], t[ok], pp[ok], c[ok], e[ok], f[ok]
    order = np.lexsort((f, e, c, pp, t, keys))
    return keys[order], {
        "tp": t[order],
        "pp": pp[order],
        "cp": c[order],
        "ep": e[order],
        "sharding": f[order],
    }


def hsdp_shard(fast_domain: np.ndarray, tp: np.ndarray, cp: np.ndarray) -> np.ndarray:
    """Ranks that shard the state under hybrid sharding: the data-parallel ranks inside one fast domain."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.floor(fast_domain / (tp * cp)))


def _expert_gemm_slowdown(
    tokens_per_expert: np.ndarray,
    expert_width: np.ndarray,
    *,
    hidden: np.ndarray,
    knee: np.ndarray,
    reference: np.ndarray,
    share: np.ndarray,
) -> np.ndarray:
    """How much longer the routed-expert GEMMs take than the dense rate assumed for them (>= 1).

    An expert multiplies the ``M`` tokens routed to it (``tokens_mb k e / E`` per micro-batch: the
    micro-batch's tokens, ``k`` routes each, gathered from the ``e`` expert-parallel ranks onto their
    ``E/e`` local experts) by ``h x f`` weights: its arithmetic intensity is about ``min(M, f, h)``, so
    its efficiency follows the same ``w / (w + c)`` curve as narrow hidden sizes
    (:func:`tco.model.throughput.model_efficiency`, ``c = knee x FLOP/byte ridge``), relative to the
    ``min(h, h0)`` the dense rate already accounts for. Fine-grained experts on few expert-parallel ranks
    (small ``M``) are slow; large expert parallelism buys efficiency with all-to-all traffic.
    """
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.fmin(np.fmin(tokens_per_expert, expert_width), hidden)
        dense = np.fmin(hidden, reference)
        relative = (width / (width + knee)) / (dense / (dense + knee))
        relative = np.where(np.isfinite(relative), np.minimum(relative, 1.0), 1.0)
        slowdown = (1.0 - share) + share / relative
    return np.asarray(np.where(np.isfinite(slowdown) & (share > 0), slowdown, 1.0))


def _bus(group: np.ndarray, inside: np.ndarray, fast: np.ndarray, slow: np.ndarray) -> np.ndarray:
    """Fast-domain bandwidth where the group fits inside one instance/slice, else the network's."""
    import numpy as np

    return np.asarray(np.where(group <= inside, fast, slow))


def search_layouts(
    configs: pd.DataFrame,
    assumptions: TrainingAssumptions,
    *,
    only: dict[str, float | str] | None = None,
) -> dict[str, np.ndarray]:
    """The chosen layout per row of ``configs`` (token workloads), as arrays (NaN / "" where none fits).

    ``only`` restricts the search to candidates with these values (``tp``, ``pp``, ``cp``, ``ep``,
    ``sharding`` = zero1 | fsdp | hsdp): the cost of one given layout.

    Input columns: ``accelerator_count, fast_domain, params, active_params, experts, experts_per_token,
    layers, hidden, heads, kv_heads, vocab, seq_len, global_batch_tokens, flops_per_token,
    attention_flops_per_token, achieved_tflop_per_s, grad_bytes_per_param, memory_bytes, intra_node_gb_s,
    inter_node_gb_s`` (NaN where unknown; layers and hidden already inferred). Output: :data:`LAYOUT_COLUMNS`
    plus ``step_s_low``/``step_s_high`` (the chosen layout re-timed at the overlap range's ends).
    """
    import numpy as np

    def col(name: str, default: float = np.nan) -> np.ndarray:
        if name not in configs.columns:
            return np.full(len(configs), default)
        return np.asarray(configs[name].to_numpy(dtype="float64"))

    rows = len(configs)
    n = col("accelerator_count")
    fast_domain = np.minimum(col("fast_domain"), n)
    params = col("params")
    experts = np.nan_to_num(col("experts"), nan=1.0)
    topk = np.where(experts > 1, np.nan_to_num(col("experts_per_token"), nan=1.0), 1.0)
    active = np.where(np.isnan(col("active_params")), params, col("active_params"))
    # Dense and expert parameters from N = dense + expert and N_active = dense + expert k/E.
    share = np.where(experts > 1, topk / experts, 0.0)
    expert_params = np.where(experts > 1, np.clip((params - active) / (1.0 - share), 0.0, params), 0.0)
    dense_params = params - expert_params
    layers, hidden, heads = col("layers"), col("hidden"), col("heads")
    kv_heads = np.where(np.isnan(col("kv_heads")), heads, col("kv_heads"))
    kv_width = np.where(np.isnan(heads), hidden, hidden * kv_heads / heads)
    vocab = np.nan_to_num(col("vocab"), nan=0.0)
    seq = col("seq_len")
    given_batch = col("global_batch_tokens")
    published_batch = col("published_global_batch_tokens")
    named_batch = np.where(np.isnan(given_batch), published_batch, given_batch)
    batch = np.where(np.isnan(named_batch), default_global_batch(params, n, assumptions), named_batch)
    mode = recompute_modes(configs)
    per_token = col("flops_per_token")
    attention_share = np.nan_to_num(col("attention_flops_per_token"), nan=0.0) / per_token
    # Routed-expert GEMMs: their share of the FLOPs, their width and the accelerator's FLOP/byte knee.
    expert_share = np.where(experts > 1, 6.0 * expert_params * topk / experts / per_token, 0.0)
    expert_width = np.fmin(col("expert_ffn_hidden"), col("hidden"))
    with np.errstate(divide="ignore", invalid="ignore"):
        # The narrow-matrix knee: fitted to a calibration's matmul sweep where one exists, else the sourced
        # curve (knee x FLOP/byte ridge; TFLOP/s over TB/s).
        sourced = assumptions.narrow_matmul_knee.value * col("peak_tflops") / col("memory_bandwidth_tb_s")
        knee = np.where(np.isfinite(col("matmul_knee_width")), col("matmul_knee_width"), sourced)
    reference_width = np.nan_to_num(col("reference_hidden"), nan=REFERENCE_WIDTH)
    rate = col("achieved_tflop_per_s") * 1e12
    grad_bytes = np.nan_to_num(col("grad_bytes_per_param"), nan=2.0)
    memory = col("memory_bytes") * assumptions.memory_usable_fraction.value
    fast = col("intra_node_gb_s") * 1e9
    slow = col("inter_node_gb_s") * 1e9
    state = assumptions.state_bytes_per_param.value
    ideal = per_token * batch / (n * rate)

    base = _base_candidates()
    pp_sizes = np.asarray(PP_SIZES, dtype="float64")
    if only:
        keep = np.ones(len(base["tp"]), dtype=bool)
        for name, value in only.items():
            if name == "pp":
                pp_sizes = pp_sizes[pp_sizes == float(value)]
                keep &= (base["sharding"] == ZERO1) | (float(value) == 1.0)
            else:
                wanted = SHARDING_NAMES.index(str(value)) if name == "sharding" else float(value)
                keep &= base[name] == wanted
        base = {name: values[keep] for name, values in base.items()}
    # Which layouts are valid depends on a few columns only: find them once per distinct key, then expand
    # to the rows (a sweep has thousands of rows per key: accelerators x instance sizes).
    keys = np.column_stack([n, fast_domain, heads, layers, seq, experts, batch])
    unique, inverse = np.unique(np.nan_to_num(keys, nan=-1.0), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    u_n, u_g, u_heads, u_layers, u_seq, u_experts, u_batch = (
        np.where(unique[:, i] == -1.0, np.nan, unique[:, i]) for i in range(unique.shape[1])
    )
    dense_base = {name: values[base["ep"] == 1] for name, values in base.items()}
    moe_base = {name: values[base["ep"] > 1] for name, values in base.items()}
    moe_keys = np.flatnonzero(u_experts > 1)
    args = (u_n, u_g, u_heads, u_layers, u_seq, u_experts, u_batch)
    found = [_valid_pairs(np.arange(len(unique)), dense_base, pp_sizes, *args)]
    if moe_keys.size:
        found.append(_valid_pairs(moe_keys, moe_base, pp_sizes, *args))
    key_of_pair = np.concatenate([f[0] for f in found])
    cand = {name: np.concatenate([f[1][name] for f in found]) for name in found[0][1]}
    tp, pp, cp, ep, sharding_code = cand["tp"], cand["pp"], cand["cp"], cand["ep"], cand["sharding"]
    width = tp * pp * cp
    from tco.model.training import join_indices

    r, k = join_indices(inverse, key_of_pair)
    usable = np.isfinite(ideal[r]) & np.isfinite(params[r])
    r, k = r[usable], k[usable]
    dp = n[r] / width[k]
    out = _evaluate(
        r,
        k,
        cand,
        n=n,
        fast_domain=fast_domain,
        params=params,
        dense_params=dense_params,
        expert_params=expert_params,
        topk=topk,
        experts_total=experts,
        layers=layers,
        hidden=hidden,
        kv_width=kv_width,
        vocab=vocab,
        seq=seq,
        batch=batch,
        attention_share=attention_share,
        ideal=ideal,
        grad_bytes=grad_bytes,
        memory=memory,
        fast=fast,
        slow=slow,
        state=state,
        mode=mode,
        expert_share=expert_share,
        expert_width=expert_width,
        knee=knee,
        reference_width=reference_width,
        assumptions=assumptions,
    )
    # The fastest fitting candidate per row (ties: the narrowest model-parallel width, then the earliest).
    ranked = np.where(out["fits"], out["step"] * (1.0 + 1e-9 * width[k]), np.inf)
    order = np.lexsort((ranked, r))
    first = np.ones(len(order), dtype=bool)
    first[1:] = r[order][1:] != r[order][:-1]
    best = order[first]
    best = best[np.isfinite(ranked[best])]
    chosen_rows = r[best]

    # Whether any candidate holds the training state, timed or not: a row whose every fitting candidate has
    # no finite step time (a zero interconnect, an unknown rate) fits in memory but has no layout.
    holds = np.zeros(rows, dtype=bool)
    holds[r[np.asarray(out["fits"], dtype=bool)]] = True
    candidates = np.bincount(r, minlength=rows).astype("float64")

    def place(values: np.ndarray, fill: object = np.nan, dtype: str = "float64") -> np.ndarray:
        arr = np.full(rows, fill, dtype=dtype)
        arr[chosen_rows] = values[best]
        return arr

    text = np.empty(rows, dtype=object)
    text[:] = ""
    sharding = text.copy()
    sharding[chosen_rows] = np.asarray(SHARDING_NAMES, dtype=object)[sharding_code[k[best]]]
    recompute = text.copy()
    recompute[chosen_rows] = np.where(
        out["full"][best], "full", np.where(mode[chosen_rows] == SELECTIVE, "selective", "none")
    )
    schedule = text.copy()
    v = out["virtual"][best]
    schedule[chosen_rows] = np.where(
        pp[k[best]] <= 1, "-", np.where(v > 1, "interleaved-" + v.astype(int).astype(str), "1f1b")
    )
    batch_source = np.where(
        ~np.isnan(given_batch), "given", np.where(~np.isnan(published_batch), "published", "rule")
    )
    return {
        "global_batch_tokens_used": batch,
        "batch_source": batch_source,
        "tp": place(tp[k]),
        "pp": place(pp[k]),
        "dp": place(dp),
        "cp": place(cp[k]),
        "ep": place(ep[k]),
        "sharding": sharding,
        "recompute": recompute,
        "schedule": schedule,
        "microbatches": place(out["m"]),
        "microbatch_sequences": place(out["b"]),
        "memory_bytes_per_accelerator": place(out["memory"]),
        "fits_memory": holds,
        "layout_candidates": candidates,
        "compute_s": place(out["compute"]),
        "bubble_s": place(out["bubble"]),
        "tensor_comm_s": place(out["tensor"]),
        "exposed_comm_s": place(out["step"] - out["compute"] - out["bubble"]),
        "step_s": place(out["step"]),
        "step_s_low": place(out["step_low"]),
        "step_s_high": place(out["step_high"]),
        "layout_efficiency": place(ideal[r] / out["step"]),
    }


def _evaluate(
    r: np.ndarray,
    k: np.ndarray,
    cand: dict[str, np.ndarray],
    *,
    n: np.ndarray,
    fast_domain: np.ndarray,
    params: np.ndarray,
    dense_params: np.ndarray,
    expert_params: np.ndarray,
    topk: np.ndarray,
    experts_total: np.ndarray,
    layers: np.ndarray,
    hidden: np.ndarray,
    kv_width: np.ndarray,
    vocab: np.ndarray,
    seq: np.ndarray,
    batch: np.ndarray,
    attention_share: np.ndarray,
    ideal: np.ndarray,
    grad_bytes: np.ndarray,
    memory: np.ndarray,
    fast: np.ndarray,
    slow: np.ndarray,
    state: float,
    mode: np.ndarray,
    expert_share: np.ndarray,
    expert_width: np.ndarray,
    knee: np.ndarray,
    reference_width: np.ndarray,
    assumptions: TrainingAssumptions,
) -> dict[str, np.ndarray]:
    """Memory and step time of each valid (row, candidate) pair (flat arrays of equal length)."""
    import numpy as np

    tp, pp, cp, ep = cand["tp"][k], cand["pp"][k], cand["cp"][k], cand["ep"][k]
    code = cand["sharding"][k]
    hsdp = code == HSDP
    sharded_ranks = code != ZERO1
    N, Nd, Ne = params[r], dense_params[r], expert_params[r]
    L, h, s = layers[r], hidden[r], seq[r]
    nn, g = n[r], fast_domain[r]
    d = nn / (tp * pp * cp)
    dc = d * cp  # ranks that share a gradient (data x context)
    s_loc = s / cp
    sequences = batch[r] / (s * d)  # per replica per step
    ffast, fslow = fast[r], slow[r]
    mem_cap = memory[r]

    # --- state ---
    zero1 = (4.0 + (state - 4.0) / dc) * Nd / (tp * pp) + (4.0 + (state - 4.0) / (dc / ep)) * Ne / (
        tp * pp * ep
    )
    # FSDP shards over every data-parallel rank, HSDP over those inside one fast domain (replicated across).
    shard = np.where(hsdp, hsdp_shard(g, tp, cp), dc)
    replicas = dc / shard
    sharded = state * N / (tp * shard) + 2.0 * PARAM_BYTES * N / (L * tp)
    state_bytes = np.where(sharded_ranks, sharded, zero1)

    # --- activations per sequence of one micro-batch, per layer ---
    act_none = ACT_NO_RECOMPUTE * s_loc * h / tp
    act_full = ACT_FULL_RECOMPUTE * s_loc * h / tp
    logits = s_loc * vocab[r] * LOGIT_BYTES / tp
    free = mem_cap - state_bytes

    # Pipeline: one sequence per micro-batch; the schedule interleaves where the layers divide evenly.
    with np.errstate(divide="ignore", invalid="ignore"):
        virtual = np.ones_like(pp)
        for v in INTERLEAVE:
            ok = (pp > 1) & (pp * v <= L) & (sequences >= pp)
            virtual = np.where(ok, v, virtual)
        in_flight = np.where(pp > 1, L * (1.0 + (pp - 1.0) / (pp * virtual)), L)
        # Without a pipeline: the largest micro-batch that fits (fewest accumulation steps).
        per_seq_none = in_flight * act_none + logits
        per_seq_full = in_flight * act_full + act_none + logits
        fit_none = np.floor(free / per_seq_none)
        fit_full = np.floor(free / per_seq_full)
        b_none = np.where(pp > 1, 1.0, np.clip(fit_none, 1.0, np.maximum(1.0, np.floor(sequences))))
        b_full = np.where(pp > 1, 1.0, np.clip(fit_full, 1.0, np.maximum(1.0, np.floor(sequences))))
        fits_none = (free >= b_none * per_seq_none) & (free > 0)
        fits_full = (free >= b_full * per_seq_full) & (free > 0)
    # Recomputation: the search keeps every activation where they fit, else recomputes everything; a
    # workload may force full or selective recomputation (selective keeps the memory of "none" here, since
    # flash attention never stores the scores, and re-runs the attention forward: a third of its FLOPs).
    wanted = mode[r]
    full = np.where(wanted == AUTO, ~fits_none, wanted == FULL)
    fits = np.where(wanted == AUTO, fits_none | fits_full, np.where(full, fits_full, fits_none))
    b = np.where(full, b_full, b_none)
    m = np.maximum(1.0, np.ceil(sequences / b))
    memory_bytes = state_bytes + b * np.where(full, per_seq_full, per_seq_none)

    # --- time ---
    selective = np.where(wanted == SELECTIVE, 1.0 + attention_share[r] / 3.0, 1.0)
    tokens_mb = s_loc * b
    experts_slowdown = _expert_gemm_slowdown(
        tokens_mb * topk[r] * ep / np.maximum(experts_total[r], 1.0),
        expert_width[r],
        hidden=h,
        knee=knee[r],
        reference=reference_width[r],
        share=expert_share[r],
    )
    compute = ideal[r] * np.where(full, FULL_RECOMPUTE_FACTOR, selective) * experts_slowdown
    bubble = compute * (pp - 1.0) / (virtual * m)
    tensor = np.where(
        tp > 1,
        (L / pp)
        * m
        * np.where(full, 6.0, 4.0)
        * 2.0
        * (tp - 1.0)
        / tp
        * tokens_mb
        * h
        * ACTIVATION_BYTES
        / ffast,
        0.0,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        dp_bw = _bus(nn, g, ffast, fslow)
        data = (
            np.where(
                dc > 1,
                2.0 * (dc - 1.0) / dc * grad_bytes[r] * (Nd / (tp * pp))
                + 2.0 * (dc / ep - 1.0) / np.maximum(dc / ep, 1.0) * grad_bytes[r] * Ne / (tp * pp * ep),
                0.0,
            )
            / dp_bw
        )
        # FSDP/HSDP: all-gather weights for forward and backward, reduce-scatter gradients, per micro-batch,
        # over the shard group (HSDP: inside the fast domain); HSDP adds an all-reduce of the gradient shards
        # across the replicas (slow network).
        gather_bw = np.where(hsdp, ffast, dp_bw)
        gather = np.where(shard > 1, 3.0 * m * (shard - 1.0) / shard * PARAM_BYTES * N / tp, 0.0) / gather_bw
        cross = (
            np.where(
                replicas > 1,
                2.0 * (replicas - 1.0) / replicas * grad_bytes[r] * N / (tp * shard),
                0.0,
            )
            / fslow
        )
        kv_chunk = 2.0 * tokens_mb * kv_width[r] * ACTIVATION_BYTES / tp
        context = np.where(cp > 1, 3.0 * (cp - 1.0) * (L / pp) * m * kv_chunk, 0.0) / _bus(
            tp * cp, g, ffast, fslow
        )
        a2a = np.where(
            ep > 1,
            4.0 * topk[r] * (L / pp) * m * tokens_mb * h * ACTIVATION_BYTES * (ep - 1.0) / ep / tp,
            0.0,
        ) / _bus(tp * ep, g, ffast, fslow)
        # Each tensor-parallel rank sends its 1/t slice of the boundary activations (Megatron's scatter/gather
        # optimisation, Narayanan et al. 2021 §4.1; sequence parallelism keeps them sharded anyway).
        p2p = np.where(pp > 1, 2.0 * virtual * m * tokens_mb * h * ACTIVATION_BYTES / tp, 0.0) / _bus(
            tp * cp * pp, g, ffast, fslow
        )
    # Per-call latency of ring collectives: (ranks - 1) steps each.
    alpha = assumptions.collective_hop_latency_s.value
    calls_per_layer = (L / pp) * m
    tensor = tensor + np.where(tp > 1, calls_per_layer * np.where(full, 6.0, 4.0) * (tp - 1.0) * alpha, 0.0)
    buckets = np.ceil(N / (tp * pp) / DP_BUCKET_PARAMS)
    data = data + np.where(dc > 1, 2.0 * buckets * 2.0 * np.log2(np.maximum(dc, 1.0)) * alpha, 0.0)
    gather = gather + np.where(shard > 1, 3.0 * calls_per_layer * (shard - 1.0) * alpha, 0.0)
    cross_buckets = np.ceil(N / (tp * shard) / DP_BUCKET_PARAMS)
    cross = cross + np.where(
        replicas > 1, 2.0 * cross_buckets * 2.0 * np.log2(np.maximum(replicas, 1.0)) * alpha, 0.0
    )
    gather = gather + cross
    a2a = a2a + np.where(ep > 1, 4.0 * calls_per_layer * (ep - 1.0) * alpha, 0.0)
    moe_exposed = (1.0 - assumptions.moe_overlap.value) * a2a

    def step(overlap: float) -> np.ndarray:
        hidden_dp = overlap * compute / m
        exposed_dp = np.where(
            sharded_ranks, np.maximum(0.0, gather - overlap * compute), np.maximum(0.0, data - hidden_dp)
        )
        exposed_cp = np.maximum(0.0, context - overlap * compute * attention_share[r])
        return np.asarray(
            compute + bubble + tensor + exposed_dp + exposed_cp + moe_exposed + (1.0 - overlap) * p2p
        )

    overlap = assumptions.dp_overlap
    return {
        "fits": fits,
        "full": full,
        "virtual": virtual,
        "m": m,
        "b": b,
        "memory": memory_bytes,
        "compute": compute,
        "bubble": bubble,
        "tensor": tensor,
        "step": step(overlap.value),
        "step_low": step(overlap.low),
        "step_high": step(overlap.high),
    }
