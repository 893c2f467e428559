"""Serving engines as a named dimension: TensorRT-LLM, vLLM and SGLang with their own defaults.

An engine decides how a replica schedules (docs/serving_model.md §0):

* **max running batch** - sequences decoding together (TensorRT-LLM ``max_batch_size``, vLLM
  ``max_num_seqs``, SGLang ``max_running_requests``);
* **token budget per step** - ``max_num_tokens`` / ``max_num_batched_tokens`` / ``chunked_prefill_size``;
* **chunked prefill** - on: a prompt longer than the step's free budget is split over several steps and
  shares them with decode (vLLM V1, SGLang); off: whole prompts only, up to the budget (TensorRT-LLM's
  default context scheduling);
* **memory** - the share of memory the KV cache gets: TensorRT-LLM ``free_gpu_memory_fraction`` of what the
  weights and runtime leave (basis ``free``); vLLM ``gpu_memory_utilization`` and SGLang
  ``mem_fraction_static`` of the whole device, weights included (basis ``total``);
* **paged block**, **output reservation** (TensorRT-LLM's GUARANTEED_NO_EVICT reserves the whole output at
  admission; vLLM and SGLang allocate as tokens are generated), **per-step overhead**;
* **efficiency** relative to the reference (TensorRT-LLM on NVIDIA, where the MBU and compute efficiency
  were tuned) on an accelerator, where published data separates them.

Defaults depend on the accelerator where the engine's own code does (vLLM's ``get_batch_defaults``:
1024 sequences and 8192 tokens per step on GPUs with at least 70 GiB other than A100, else 256 and 2048;
SGLang's ``chunked_prefill_size`` by memory; SGLang's ``mem_fraction_static`` by TP degree).

A ``--set`` override of ``max_running_batch``, ``max_num_tokens``, ``kv_cache_memory_fraction``,
``kv_block_tokens``, ``kv_reserved_output_fraction`` or ``step_overhead_s`` (an assumption sourced
``override``) replaces every engine's value. Pure: constants and numpy over arrays, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from tco.errors import TcoError
from tco.model.assumptions import Assumption

if TYPE_CHECKING:
    import numpy as np

    from tco.model.assumptions import ServingAssumptions

GIB: Final = float(2**30)

#: How an engine's memory fraction is meant (its code in the per-row ``memory_basis`` column).
BASES: Final = ("free", "total", "static")


def _given(value: float, unit: str, source: str) -> Assumption:
    return Assumption(value, value, value, unit, source)


@dataclass(frozen=True, slots=True)
class MemoryRule:
    """Defaults on accelerators with at least ``min_memory_gib`` (and not named in ``excludes``)."""

    min_memory_gib: float
    excludes: tuple[str, ...]
    max_running_batch: float | None
    max_num_tokens: float | None
    source: str


@dataclass(frozen=True, slots=True)
class EngineDefaults:
    """One serving engine's defaults, each a named assumption with its source."""

    name: str
    label: str
    version: str
    vendors: tuple[str, ...]
    chunked_prefill: bool
    chunked_prefill_source: str
    max_running_batch: Assumption
    max_num_tokens: Assumption
    memory_basis: str  # "free" | "total" | "static" (the fraction leaves activations outside)
    kv_cache_memory_fraction: Assumption
    kv_block_tokens: Assumption
    kv_reserved_output_fraction: Assumption
    step_overhead_s: Assumption
    memory_rules: tuple[MemoryRule, ...] = ()
    #: (TP degree at least, fraction) - SGLang's mem_fraction_static falls with TP (CUDA graphs, buffers)
    memory_fraction_by_tp: tuple[tuple[float, float], ...] = ()


_STEP_OVERHEAD_SOURCE = (
    "scheduling, sampling and kernel-launch time per engine step that neither bandwidth nor compute "
    "explain (CUDA graphs leave ~0.2-0.5 ms); tuned on the TensorRT-LLM tuning rows of "
    "tests/tco/model/data/serving_offline.csv. No published fixed-shape measurement separates vLLM's or "
    "SGLang's per-step overhead from TensorRT-LLM's on NVIDIA, so the same value applies (vLLM V1 and "
    "SGLang overlap scheduling with the GPU step, as TensorRT-LLM's executor does)"
)

TRTLLM: Final = EngineDefaults(
    name="trtllm",
    label="TensorRT-LLM",
    version="0.15-1.x (trtllm-serve / LLM API, PyTorch backend)",
    vendors=("NVIDIA",),
    chunked_prefill=False,
    chunked_prefill_source=(
        "TensorRT-LLM LLM API enable_chunked_prefill=False by default: context requests are scheduled whole, "
        "as many as fit max_num_tokens with the step's decode tokens (AIConfigurator 0.12 models the same: "
        "trtllm agg configs enable_chunked_prefill: false)"
    ),
    max_running_batch=Assumption(
        2048.0,
        256.0,
        2048.0,
        "sequences",
        "TensorRT-LLM max_batch_size: BuildConfig / trtllm-serve default 2048 (trtllm-bench tunes it per "
        "shape; NIM profiles use 256)",
    ),
    max_num_tokens=Assumption(
        8192.0,
        2048.0,
        16384.0,
        "tokens per step",
        "TensorRT-LLM max_num_tokens: BuildConfig default 8192 (AIConfigurator 0.12 "
        "TRTLLM_DEFAULT_MAX_NUM_TOKENS = 8192, 'BuildConfig.max_num_tokens')",
    ),
    memory_basis="free",
    kv_cache_memory_fraction=Assumption(
        0.9,
        0.85,
        0.95,
        "fraction of free memory",
        "TensorRT-LLM KvCacheConfig.free_gpu_memory_fraction 0.9 of the memory left after weights and "
        "activations (AIConfigurator 0.12 TRTLLM_DEFAULT_FREE_GPU_MEMORY_FRACTION = 0.9; NVIDIA's perf runs "
        "use 0.95)",
    ),
    kv_block_tokens=_given(
        32.0,
        "tokens per block",
        "TensorRT-LLM KvCacheConfig.tokens_per_block 32 (AIConfigurator 0.12 generated trtllm config "
        "tokens_per_block: 32; trtllm-build of 0.x used 64)",
    ),
    kv_reserved_output_fraction=_given(
        1.0,
        "fraction of output tokens",
        "TensorRT-LLM's default capacity scheduler GUARANTEED_NO_EVICT reserves a sequence's whole output "
        "(max_seq_len = isl + osl) in the KV cache at admission",
    ),
    step_overhead_s=Assumption(4e-4, 2e-4, 1e-3, "seconds per engine step", _STEP_OVERHEAD_SOURCE),
)

VLLM: Final = EngineDefaults(
    name="vllm",
    label="vLLM",
    version="V1 (0.8 and later)",
    vendors=("NVIDIA", "AMD", "Google", "AWS", "Intel"),  # CUDA, ROCm, TPU, Neuron, Gaudi backends
    chunked_prefill=True,
    chunked_prefill_source=(
        "vLLM V1 always schedules with chunked prefill (vllm/engine/arg_utils.py _set_default_args_v1: "
        "'V1 always uses chunked prefills')"
    ),
    max_running_batch=Assumption(
        256.0,
        128.0,
        1024.0,
        "sequences",
        "vLLM max_num_seqs: EngineArgs.get_batch_defaults gives the OpenAI server 256 (1024 on GPUs with "
        ">= 70 GiB other than A100, e.g. H100, H200, MI300X)",
    ),
    max_num_tokens=Assumption(
        2048.0,
        2048.0,
        16384.0,
        "tokens per step",
        "vLLM max_num_batched_tokens: EngineArgs.get_batch_defaults gives the OpenAI server 2048 (8192 on "
        "GPUs with >= 70 GiB other than A100; 'Setting large max_num_batched_tokens for A100 reduces "
        "throughput, PR #17885'); the offline LLM class uses 8192 / 16384",
    ),
    memory_basis="total",
    kv_cache_memory_fraction=Assumption(
        0.9,
        0.85,
        0.95,
        "fraction of device memory",
        "vLLM gpu_memory_utilization 0.9: weights, activations (profiled at max_num_batched_tokens) and KV "
        "cache together use 0.9 of the device's memory",
    ),
    kv_block_tokens=_given(16.0, "tokens per block", "vLLM block_size 16 (default)"),
    kv_reserved_output_fraction=_given(
        0.5,
        "fraction of output tokens",
        "vLLM allocates KV blocks as tokens are generated (preempting when the cache is full): a running "
        "sequence holds its prompt and, on average, half its output",
    ),
    step_overhead_s=Assumption(4e-4, 2e-4, 1e-3, "seconds per engine step", _STEP_OVERHEAD_SOURCE),
    memory_rules=(
        MemoryRule(
            70.0,
            ("A100",),
            1024.0,
            8192.0,
            "vLLM EngineArgs.get_batch_defaults: device memory >= 70 GiB and not an A100 ('For GPUs like "
            "H100 and MI300x, use larger default values'): OPENAI_API_SERVER max_num_batched_tokens 8192, "
            "max_num_seqs 1024",
        ),
    ),
)

SGLANG: Final = EngineDefaults(
    name="sglang",
    label="SGLang",
    version="0.4-0.5",
    vendors=("NVIDIA", "AMD"),
    chunked_prefill=True,
    chunked_prefill_source="SGLang sets chunked_prefill_size by default (server_args.py): prefill is chunked",
    max_running_batch=Assumption(
        4096.0,
        1024.0,
        4096.0,
        "sequences",
        "SGLang max_running_requests: by default the KV pool decides (max_total_num_tokens // 2, and the "
        "request pool of at most 4096 slots; scheduler.py)",
    ),
    max_num_tokens=Assumption(
        2048.0,
        2048.0,
        16384.0,
        "tokens per step",
        "SGLang chunked_prefill_size (server_args.py): 2048 below 35 GiB, 8192 below 160 GiB (H100, H200, "
        "A100), 16384 above (B200, MI300X)",
    ),
    memory_basis="static",
    kv_cache_memory_fraction=Assumption(
        0.88,
        0.79,
        0.88,
        "fraction of device memory",
        "SGLang mem_fraction_static (weights + KV pool share of the device): 0.88 at TP1, 0.87 TP2, 0.85 "
        "TP4, 0.81 TP8, 0.79 TP16 (server_args.py)",
    ),
    kv_block_tokens=_given(1.0, "tokens per block", "SGLang page_size 1 (token-granular KV pool, default)"),
    kv_reserved_output_fraction=_given(
        0.5,
        "fraction of output tokens",
        "SGLang allocates KV slots as tokens are generated (admission estimates the rest with a decaying "
        "new_token_ratio, retracting requests when the pool runs out): a running sequence holds its prompt "
        "and, on average, half its output",
    ),
    step_overhead_s=Assumption(4e-4, 2e-4, 1e-3, "seconds per engine step", _STEP_OVERHEAD_SOURCE),
    memory_rules=(
        MemoryRule(
            35.0, (), None, 8192.0, "SGLang chunked_prefill_size 8192 for 35-160 GiB (server_args.py)"
        ),
        MemoryRule(160.0, (), None, 16384.0, "SGLang chunked_prefill_size 16384 from 160 GiB (B200, MI300X)"),
    ),
    memory_fraction_by_tp=((1.0, 0.88), (2.0, 0.87), (4.0, 0.85), (8.0, 0.81), (16.0, 0.79)),
)

ENGINES: Final = {e.name: e for e in (TRTLLM, VLLM, SGLANG)}

#: Spellings accepted for an engine (case-insensitive), e.g. a validation table's "TensorRT-LLM 0.15".
ALIASES: Final = {
    "trtllm": "trtllm",
    "trt-llm": "trtllm",
    "tensorrt-llm": "trtllm",
    "tensorrt_llm": "trtllm",
    "nim": "trtllm",
    "vllm": "vllm",
    "sglang": "sglang",
}

#: The engine a replica runs when none is named: TensorRT-LLM on NVIDIA, vLLM elsewhere (ROCm, TPU).
DEFAULT_BY_VENDOR: Final = {"NVIDIA": "trtllm"}
DEFAULT_ENGINE: Final = "vllm"

#: Engine x accelerator efficiency relative to the reference (TensorRT-LLM on NVIDIA, where MBU and the
#: compute efficiency were tuned): multiplies both. Missing pairs are 1.0.
EFFICIENCY: Final = {
    ("vllm", "MI300X"): Assumption(
        0.45,
        0.4,
        0.68,
        "x reference efficiency",
        "vLLM on ROCm vs TensorRT-LLM on NVIDIA: tuned on AMD's vLLM 0.10.2 Llama-3.1-70B FP8 TP8 rows (the "
        "4 tuning rows of tests/tco/model/data/serving_offline.csv, median error 0.1%; amd.com ROCm "
        "performance results); "
        "high end 0.68 = MLPerf Inference v4.1 Llama2-70B Offline, 8x MI300X vLLM 23,514.8 vs 8x H200 "
        "TensorRT-LLM 31,302.7 tokens/s per TB/s of HBM (23514.8/31302.7 x 4.8/5.3)",
    ),
    ("sglang", "MI300X"): Assumption(
        0.45,
        0.4,
        0.68,
        "x reference efficiency",
        "no fixed-shape SGLang measurement on MI300X: taken equal to vLLM's (the same ROCm kernels, "
        "aiter/hipBLASLt)",
    ),
}


def canonical_engine(name: str) -> str:
    """``name`` as one of :data:`ENGINES` (aliases and a trailing version are accepted)."""
    key = str(name).strip().lower()
    if key in ENGINES or key == "auto":
        return key
    first = key.split()[0] if key else key
    if first in ALIASES:
        return ALIASES[first]
    raise TcoError(f"unknown serving engine {name!r}", hint=f"one of auto, {', '.join(ENGINES)}")


def vendor_of(accelerator: str) -> str:
    """The vendor of an accelerator by its canonical name (NVIDIA unless AMD, Google, AWS or Intel)."""
    name = accelerator.upper()
    if name.startswith("MI"):
        return "AMD"
    if name.startswith("TPU"):
        return "Google"
    if name.startswith(("TRAINIUM", "INFERENTIA")):
        return "AWS"
    if name.startswith("GAUDI"):
        return "Intel"
    return "NVIDIA"


def default_engine(accelerator: str) -> str:
    return DEFAULT_BY_VENDOR.get(vendor_of(accelerator), DEFAULT_ENGINE)


def _overridden(assumption: Assumption | None) -> bool:
    return assumption is not None and assumption.source == "override"


def resolve(
    engine: np.ndarray,
    accelerator: np.ndarray,
    memory_bytes: np.ndarray,
    tp: np.ndarray,
    params: ServingAssumptions,
) -> dict[str, np.ndarray]:
    """Per-row engine settings: float arrays (``engine_max_running_batch``, ``max_num_tokens``, ...,
    ``chunked_prefill`` 0/1, ``memory_basis`` 0 free / 1 total / 2 static, ``efficiency_factor``) and the
    text arrays ``engine_label`` and ``engine_reason`` (empty when the engine runs on the accelerator).

    Computed once per distinct (engine, accelerator, memory, TP) and spread to the rows."""
    import pandas as pd

    keys = pd.DataFrame({"e": engine, "a": accelerator, "m": memory_bytes, "t": tp})
    codes = keys.groupby(["e", "a", "m", "t"], sort=False, dropna=False).ngroup().to_numpy()
    table = keys.drop_duplicates()
    settings = _resolve_unique(
        table["e"].to_numpy(dtype=object),
        table["a"].to_numpy(dtype=object),
        table["m"].to_numpy(dtype="float64"),
        table["t"].to_numpy(dtype="float64"),
        params,
    )
    return {name: values[codes] for name, values in settings.items()}


def _resolve_unique(
    engine: np.ndarray,
    accelerator: np.ndarray,
    memory_bytes: np.ndarray,
    tp: np.ndarray,
    params: ServingAssumptions,
) -> dict[str, np.ndarray]:
    import numpy as np

    n = len(engine)
    fields = (
        "max_running_batch",
        "max_num_tokens",
        "kv_cache_memory_fraction",
        "kv_block_tokens",
        "kv_reserved_output_fraction",
        "step_overhead_s",
    )
    out = {name: np.full(n, np.nan) for name in (*fields, "chunked_prefill", "memory_basis")}
    label = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    gib = memory_bytes / GIB
    names = accelerator.astype(str)
    vendors = np.array([vendor_of(a) for a in names], dtype=object)
    for spec in ENGINES.values():
        rows = engine == spec.name
        if not rows.any():
            continue
        label[rows] = spec.label
        for field in fields:
            out[field][rows] = getattr(spec, field).value
        for rule in spec.memory_rules:
            hit = rows & (gib >= rule.min_memory_gib)
            for excluded in rule.excludes:
                hit &= ~np.char.startswith(names, excluded)
            if rule.max_running_batch is not None:
                out["max_running_batch"][hit] = rule.max_running_batch
            if rule.max_num_tokens is not None:
                out["max_num_tokens"][hit] = rule.max_num_tokens
        for at_least, fraction in spec.memory_fraction_by_tp:
            out["kv_cache_memory_fraction"][rows & (tp >= at_least)] = fraction
        out["chunked_prefill"][rows] = 1.0 if spec.chunked_prefill else 0.0
        out["memory_basis"][rows] = BASES.index(spec.memory_basis)
        unsupported = rows & ~np.isin(vendors, spec.vendors)
        reason[unsupported] = [f"{spec.label} does not run on {a}" for a in names[unsupported]]
    factor = np.ones(n)
    for (name, acc), assumption in EFFICIENCY.items():
        factor[(engine == name) & (names == acc)] = assumption.value
    for field in fields:
        given = getattr(params, field)
        if _overridden(given):
            out[field][:] = given.value
    out["engine_max_running_batch"] = out.pop("max_running_batch")
    return {**out, "efficiency_factor": factor, "engine_label": label, "engine_reason": reason}
