"""Named assumptions: every default the model uses, with its range and its source.

An :class:`Assumption` is a value, the low and high ends of its plausible range (the spread that drives the
low/expected/high cost band) and a source. Parameters are frozen dataclasses validated on construction with
real exceptions (:class:`tco.errors.TcoError`), never ``assert``. A user override replaces the value and
collapses its range (the user states what they know) and names itself as the source.

Sources are the research notes in ``docs/projection_model.md`` (cited as "docs/projection_model.md §N") and
the documents they quote.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Final, TypeVar

from tco.errors import TcoError

if TYPE_CHECKING:
    import pandas as pd

    from tco.model.ownership import OwnershipParams


@dataclass(frozen=True, slots=True)
class Assumption:
    """A value with its plausible range and where it comes from."""

    value: float
    low: float
    high: float
    unit: str
    source: str

    def __post_init__(self) -> None:
        for name in ("value", "low", "high"):
            number = getattr(self, name)
            if not isinstance(number, int | float) or math.isnan(number):
                raise TcoError(f"assumption {self.source!r}: {name} must be a number, got {number!r}")
        if not self.low <= self.value <= self.high:
            raise TcoError(
                f"assumption {self.source!r}: expected low <= value <= high, got {self.low} <= {self.value} "
                f"<= "
                f"{self.high}"
            )

    @classmethod
    def given(cls, value: float, unit: str, source: str) -> Assumption:
        """A value the user stated: no spread."""
        return cls(float(value), float(value), float(value), unit, source)


def as_default(assumption: Assumption) -> tuple[float, float, float, str]:
    """``(value, low, high, source)``: an assumption as the throughput resolvers take a default."""
    return assumption.value, assumption.low, assumption.high, assumption.source


def check_fraction(name: str, value: float | None, *, allow_zero: bool = False) -> None:
    """Raise unless ``value`` is in (0, 1] (or [0, 1] with ``allow_zero``); None passes (not set)."""
    if value is None:
        return
    if not isinstance(value, int | float) or math.isnan(value):
        raise TcoError(f"{name} must be a number, got {value!r}")
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value <= 1):
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise TcoError(
            f"{name} must be in {interval}, got {value:g}", hint="it is a fraction, e.g. 0.4 for 40%"
        )


def check_positive(name: str, value: float | None) -> None:
    if value is None:
        return
    if not isinstance(value, int | float) or math.isnan(value) or not value > 0 or math.isinf(value):
        raise TcoError(f"{name} must be a positive number, got {value!r}")


# --- training -------------------------------------------------------------------------------------------

GOODPUT: Final = Assumption(
    0.85,
    0.45,
    0.95,
    "fraction",
    "docs/projection_model.md §8 end-to-end goodput default 0.85 (restarts, failures, evals, "
    "stragglers); range 0.45-0.95: "
    "OPT ~0.44 of steady state, Llama 3 405B '>90% effective training time' (docs/projection_model.md §4.4)",
)
DP_OVERLAP: Final = Assumption(
    0.8,
    0.0,
    1.0,
    "fraction of backward",
    "docs/projection_model.md §8: data-parallel gradient communication overlaps 0.8 of the backward "
    "pass (0 = no overlap)",
)
GLOBAL_BATCH_TOKENS: Final = Assumption(
    4194304.0,
    4194304.0,
    4194304.0,
    "tokens",
    "tokens per optimizer step for models of about 7B parameters and more when the workload names none "
    "(LLaMA and Llama 2 papers, BLOOM 2048 x 2048, MT-NLG 1920 x 2048, PaLM's final 2048 x 2048; "
    "docs/projection_model.md §1.7); smaller models follow GPT-3 Table 2.1 (0.5M tokens up to 760M, "
    "1M at 1.3B-2.7B), and the batch grows with the accelerator count (tokens_per_accelerator)",
)
TOKENS_PER_ACCELERATOR: Final = Assumption(
    1024.0,
    1024.0,
    1024.0,
    "tokens per accelerator per step",
    "the default batch is at least this many tokens per accelerator: Llama 3 (Dubey et al. 2024) Table 4 "
    "ran 16M tokens per step on 16,384 H100s (1,024 per GPU) and on 8,192 (2,048); PaLM 540B 4M on 6,144 "
    "TPU v4 chips (683); Megatron-LM's 1T run 6.3M on 3,072 A100s (2,048)",
)
MAX_GLOBAL_BATCH_TOKENS: Final = Assumption(
    67108864.0,
    67108864.0,
    67108864.0,
    "tokens",
    "ceiling of the default batch: 64M tokens, about DeepSeek-V3's final 15,360 sequences x 4,096 tokens "
    "(DeepSeek-V3 technical report, arXiv:2412.19437 §4.2); larger batches cost convergence",
)
MOE_OVERLAP: Final = Assumption(
    0.5,
    0.0,
    1.0,
    "fraction of the all-to-all",
    "share of the mixture-of-experts all-to-all hidden behind compute: 0 in Megatron-Core's default "
    "schedule, about all of it with DeepSeek-V3's DualPipe (arXiv:2412.19437 §3.2.1); 0.5 between them",
)
NARROW_MATMUL_KNEE: Final = Assumption(
    1.65,
    1.3,
    2.0,
    "x the accelerator's FLOP/byte ridge",
    "matrix-multiply efficiency falls for narrow hidden sizes h as h / (h + c) with c = knee x peak FLOP/s / "
    "memory bytes/s, relative to h = 4096 (never above): fitted to llm-foundry's MPT sweep at sequence 2048 "
    "(scripts/train/benchmarking/README.md: A100-80GB MFU 44.8% at h 768, 56.9% at 1536, 59.9% at 2048, "
    "64.2% at 4096; H100 37.6% at 1536, 41.8% at 2048, 46.4% at 4096) after the attention share's own "
    "effect (attention_efficiency) is taken out: c = 250 on A100-80GB (ridge 153 FLOP/B), 500 on H100 (295); "
    "a calibration's matmul sweep, where one exists, replaces c by its fitted knee "
    "(tco.model.throughput.matmul_knee_widths); routed-expert GEMMs use the same curve",
)
ATTENTION_EFFICIENCY: Final = Assumption(
    0.75,
    0.69,
    0.88,
    "x the matrix-multiply rate",
    "attention (flash attention, forward and backward) runs at this fraction of the matrix-multiply rate: "
    "llm-foundry's 1B sweep without activation checkpointing (scripts/train/benchmarking/README.md) falls "
    "from 59.9% MFU at sequence 2048 to 55.5% at 32768 on A100-80GB (0.88) and from 41.8% to 33.5% on H100 "
    "(0.69) while the attention share of the FLOPs rises from 13% to 71%; the steady-MFU defaults hold at "
    "the reference share (5%)",
)
COLLECTIVE_HOP_LATENCY_S: Final = Assumption(
    8e-6,
    5e-6,
    20e-6,
    "seconds per ring step",
    "latency of one step of a ring collective (all-gather, reduce-scatter, all-to-all: ranks - 1 steps per "
    "call): llm-analysis intra_node_min_message_latency 8 us (docs/projection_model.md §1.1); it is what "
    "makes per-layer collectives over thousands of ranks (FSDP at 16k GPUs) slow",
)
STATE_BYTES_PER_PARAM: Final = Assumption(
    16.0,
    16.0,
    16.0,
    "bytes",
    "mixed-precision Adam: 2 (bf16 weights) + 2 (bf16 grads) + 12 (fp32 master, m, v) bytes per parameter "
    "(ZeRO paper, Transformer Math 101; docs/projection_model.md §1.4, §2.1)",
)
MEMORY_USABLE_FRACTION: Final = Assumption(
    0.9,
    0.9,
    0.9,
    "fraction of accelerator memory",
    "0.9 of HBM usable for weights, state and activations (docs/projection_model.md §3.1 "
    "SLO-constrained batch rule)",
)
DEFAULT_SEQ_LEN: Final = Assumption(
    2048.0,
    2048.0,
    2048.0,
    "tokens",
    "sequence length for memory and communication when the workload names none: GPT-3 and LLaMA context "
    "(docs/projection_model.md §1.7); the FLOP count never uses it",
)
ASPECT_RATIO: Final = Assumption(
    128.0,
    128.0,
    128.0,
    "hidden per layer",
    "shape inferred from the parameter count when layers/hidden are not given: N = 12*L*h^2 (Kaplan 2020, "
    "docs/projection_model.md §2.2) with h/L = 128 (LLaMA-7B 4096/32); used only for memory and "
    "communication",
)
SPOT_INTERRUPTIONS_PER_INSTANCE_HOUR: Final = Assumption(
    1.0 / 24.0,
    1.0 / 96.0,
    1.0 / 6.0,
    "interruptions per instance-hour",
    "tco assumption: one reclaim per instance-day (range one per 4 days to one per 6 h). GCP preemptible VMs "
    "stop after at most 24 h; AWS and Azure publish only bucketed monthly interruption frequencies. "
    "Measure yours and override (--spot-interruptions-per-day)",
)
CHECKPOINT_INTERVAL_HOURS: Final = Assumption(
    1.0,
    1.0,
    1.0,
    "hours",
    "tco assumption: a checkpoint every hour of training (override --checkpoint-interval-hours)",
)
MAX_INTERRUPTION_FACTOR: Final = Assumption(
    3.0,
    3.0,
    3.0,
    "x uninterrupted wall time",
    "tco assumption: a spot/low-priority plan whose expected interruptions stretch the run more than 3x is "
    "reported infeasible (checkpoint more often or use fewer instances)",
)
ETHERNET_GB_S_PER_INSTANCE: Final = Assumption(
    12.5,
    2.5,
    25.0,
    "GB/s per instance",
    "tco assumption for an instance sold without a cluster fabric (no EFA, InfiniBand, GPUDirect or RDMA "
    "network listed for it in tco/data/instance_networks.csv): 100 Gb/s (12.5 GB/s) of Ethernet per "
    "instance, shared by its accelerators - the top of what such GPU VMs list (Azure NCads H100 v5: 40-80 "
    "Gb/s, learn.microsoft.com; GCP A2: up to 100 Gb/s; Scaleway H100-SXM: 20 Gb/s internet, scaleway "
    "docs); range 20-200 Gb/s. NCCL over TCP reaches less than line rate, so this is optimistic for such "
    "VMs; measure with nccl-tests and --set ethernet_gb_s_per_instance",
)
RESTART_HOURS: Final = Assumption(
    0.25,
    0.25,
    0.25,
    "hours",
    "tco assumption: 15 minutes to get capacity back, reload the last checkpoint and warm up after an "
    "interruption (override --restart-hours)",
)


@dataclass(frozen=True, slots=True)
class TrainingAssumptions:
    """Everything the training projection assumes beyond its inputs. Defaults are named and sourced."""

    goodput: Assumption = GOODPUT
    dp_overlap: Assumption = DP_OVERLAP
    global_batch_tokens: Assumption = GLOBAL_BATCH_TOKENS
    tokens_per_accelerator: Assumption = TOKENS_PER_ACCELERATOR
    max_global_batch_tokens: Assumption = MAX_GLOBAL_BATCH_TOKENS
    moe_overlap: Assumption = MOE_OVERLAP
    narrow_matmul_knee: Assumption = NARROW_MATMUL_KNEE
    attention_efficiency: Assumption = ATTENTION_EFFICIENCY
    collective_hop_latency_s: Assumption = COLLECTIVE_HOP_LATENCY_S
    state_bytes_per_param: Assumption = STATE_BYTES_PER_PARAM
    memory_usable_fraction: Assumption = MEMORY_USABLE_FRACTION
    aspect_ratio: Assumption = ASPECT_RATIO
    default_seq_len: Assumption = DEFAULT_SEQ_LEN
    spot_interruptions_per_instance_hour: Assumption = SPOT_INTERRUPTIONS_PER_INSTANCE_HOUR
    checkpoint_interval_hours: Assumption = CHECKPOINT_INTERVAL_HOURS
    restart_hours: Assumption = RESTART_HOURS
    max_interruption_factor: Assumption = MAX_INTERRUPTION_FACTOR
    #: --mfu: replaces every throughput source (steady model-FLOPs utilisation, a fraction of the dense peak).
    mfu_override: float | None = None
    #: --scaling-efficiency: replaces the communication model.
    scaling_efficiency_override: float | None = None

    def __post_init__(self) -> None:
        check_fraction("goodput", self.goodput.value)
        check_fraction("goodput (low)", self.goodput.low)
        check_fraction("data-parallel overlap", self.dp_overlap.value, allow_zero=True)
        check_fraction("data-parallel overlap (low)", self.dp_overlap.low, allow_zero=True)
        check_fraction("data-parallel overlap (high)", self.dp_overlap.high, allow_zero=True)
        check_fraction("MFU", self.mfu_override)
        check_fraction("scaling efficiency", self.scaling_efficiency_override)
        check_fraction("usable memory fraction", self.memory_usable_fraction.value)
        check_fraction("MoE all-to-all overlap", self.moe_overlap.value, allow_zero=True)
        check_fraction("attention efficiency", self.attention_efficiency.value)
        for name in (
            "global_batch_tokens",
            "tokens_per_accelerator",
            "max_global_batch_tokens",
            "narrow_matmul_knee",
            "state_bytes_per_param",
            "aspect_ratio",
            "default_seq_len",
            "checkpoint_interval_hours",
        ):
            check_positive(name.replace("_", " "), getattr(self, name).value)
        if self.spot_interruptions_per_instance_hour.low < 0 or self.restart_hours.value < 0:
            raise TcoError("spot interruption rate and restart time must not be negative")

    def items(self) -> Iterator[tuple[str, Assumption]]:
        """(name, assumption) for every named assumption, in declaration order."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Assumption):
                yield f.name, value

    def with_overrides(self, **values: float | None) -> TrainingAssumptions:
        """A copy where each given (non-None) value replaces an assumption, sourced as a user override."""
        return _override(self, values)


# --- serving --------------------------------------------------------------------------------------------
# The serving engine model (tco.model.inference) and its sources: docs/serving_model.md.

PREFILL_FLOPS_EFFICIENCY: Final = Assumption(
    0.55,
    0.4,
    0.7,
    "fraction of dense peak",
    "share of the dense peak (of the compute dtype) that prefill and large-batch decode GEMMs reach in "
    "serving engines; tuned on the tuning rows of tests/tco/model/data/serving_offline.csv (TensorRT-LLM "
    "0.15 perf tables); range 0.4 (training-like) to 0.7 (llm-analysis 'up to 0.7 for inference', "
    "docs/projection_model.md §8)",
)
MBU: Final = Assumption(
    0.62,
    0.5,
    0.75,
    "fraction of HBM bandwidth",
    "decode memory-bandwidth utilisation at tensor-parallel degree 1: engines stream weights and KV at "
    "55-65% of peak on small-batch decode (TensorRT-LLM 0.14 online tables: Llama-3.1-8B H100 ITL 8 ms "
    "= 0.60 of 3.35 TB/s; NIM Llama-3.3-70B FP8 TP2 ITL 18.6 ms = 0.57); tuned on the tuning rows",
)
MBU_TP_DOUBLING_FACTOR: Final = Assumption(
    0.87,
    0.8,
    1.0,
    "x per doubling of TP",
    "decode MBU falls with tensor-parallel degree: MBU(tp) = MBU(1) x factor^log2(tp), i.e. 0.62, 0.54, "
    "0.47, 0.41 at TP1/2/4/8 (published decode reaches ~55-60% at TP1-2 and 40-50% at TP4-8: "
    "TensorRT-LLM 0.14 Llama-3.1-70B TP4 ITL 21 ms on H100, 18 ms on H200 = 0.50 and 0.41)",
)
HEADROOM: Final = Assumption(
    0.2,
    0.2,
    0.2,
    "fraction",
    "tco assumption: replicas sized for 1.2x the stated request rate (burst headroom; override --headroom)",
)
TP_LATENCY_S: Final = Assumption(
    8e-6,
    5e-6,
    20e-6,
    "seconds",
    "latency of one small tensor-parallel all-reduce over NVLink/xGMI/ICI (llm-analysis "
    "intra_node_min_message_latency 8 us, docs/projection_model.md §1.1; TensorRT-LLM custom one-shot "
    "all-reduce 5-10 us, NCCL ring ~20 us)",
)
PCIE_TP_LATENCY_S: Final = Assumption(
    30e-6,
    20e-6,
    50e-6,
    "seconds",
    "latency of one tensor-parallel all-reduce over PCIe (no NVLink: L4, L40S, A10G, PCIe cards; "
    "NCCL through host bridges, nccl-tests small-message all-reduce 20-50 us)",
)
ALLREDUCE_BUS_EFFICIENCY: Final = Assumption(
    0.7,
    0.5,
    0.85,
    "fraction of link bandwidth",
    "all-reduce bus bandwidth / unidirectional link bandwidth (nccl-tests busbw on NVLink4 ~360 of 450 "
    "GB/s; docs/projection_model.md §1.1)",
)
STEP_OVERHEAD_S: Final = Assumption(
    4e-4,
    2e-4,
    1e-3,
    "seconds per engine step",
    "per engine (tco/model/inference/engines.py; 0.4 ms for TensorRT-LLM, vLLM and SGLang): scheduling, "
    "sampling and kernel-launch time per step that neither bandwidth nor compute explain; tuned on the "
    "tuning rows. --set replaces every engine's value",
)
MAX_RUNNING_BATCH: Final = Assumption(
    2048.0,
    256.0,
    4096.0,
    "sequences",
    "per engine (tco/model/inference/engines.py): TensorRT-LLM max_batch_size 2048, vLLM max_num_seqs 256 "
    "(1024 on >= 70 GiB GPUs other than A100), SGLang max_running_requests up to 4096 (memory decides). "
    "--set replaces every engine's value",
)
MAX_NUM_TOKENS: Final = Assumption(
    8192.0,
    2048.0,
    16384.0,
    "tokens per step",
    "per engine (tco/model/inference/engines.py): TensorRT-LLM max_num_tokens 8192, vLLM "
    "max_num_batched_tokens 2048 (8192 on >= 70 GiB GPUs other than A100), SGLang chunked_prefill_size "
    "2048/8192/16384 by memory. --set replaces every engine's value",
)
KV_CACHE_MEMORY_FRACTION: Final = Assumption(
    0.9,
    0.85,
    0.95,
    "fraction of free memory",
    "per engine (tco/model/inference/engines.py): TensorRT-LLM free_gpu_memory_fraction 0.9 of what weights "
    "and the runtime leave; vLLM gpu_memory_utilization 0.9 and SGLang mem_fraction_static 0.88-0.79 (by "
    "TP) of the whole device, weights included. --set replaces every engine's value",
)
RUNTIME_RESERVE_GIB: Final = Assumption(
    2.0,
    1.0,
    4.0,
    "GiB per accelerator",
    "memory neither weights nor KV may use: CUDA/ROCm context (~0.5 GiB), NCCL and cuBLAS workspaces, "
    "CUDA graphs and peak activations of a max_num_tokens step (vLLM profiles it at start-up; 1-4 GiB "
    "on 8B-70B models)",
)
KV_BLOCK_TOKENS: Final = Assumption(
    32.0,
    1.0,
    64.0,
    "tokens per block",
    "per engine (tco/model/inference/engines.py): paged KV-cache block, TensorRT-LLM tokens_per_block 32, "
    "vLLM block_size 16, SGLang page_size 1; a sequence holds whole blocks. --set replaces every engine's "
    "value",
)
KV_RESERVED_OUTPUT_FRACTION: Final = Assumption(
    1.0,
    0.5,
    1.0,
    "fraction of output tokens",
    "per engine (tco/model/inference/engines.py): KV a running sequence holds for its output, TensorRT-LLM's "
    "GUARANTEED_NO_EVICT scheduler reserves the whole output at admission (1.0); vLLM and SGLang allocate "
    "as tokens are generated (0.5 on average). --set replaces every engine's value",
)
INT4_GROUP_SIZE: Final = Assumption(
    128.0,
    64.0,
    128.0,
    "weights per scale",
    "int4 weight-only quantisation (GPTQ/AWQ) stores a 16-bit scale and zero per group of 128 weights: "
    "+4 bytes per 128 weights (AWQ and GPTQ defaults)",
)
PREFILL_INTERFERENCE_QUANTILE_Z: Final = Assumption(
    2.326,
    2.326,
    2.326,
    "standard normal quantile",
    "p99 (z = 2.326) as MLPerf Inference checks its server latency constraints (TTFT and TPOT at the 99th "
    "percentile, Llama-2-70B: 2 s and 200 ms)",
)
REQUEST_OVERHEAD_S: Final = Assumption(
    0.005,
    0.0,
    0.015,
    "seconds per request",
    "time to first token outside the engine's steps: HTTP, tokenisation, scheduling the request and "
    "streaming the first token back. Tuned on the NIM 1.8 Llama-3.1-8B concurrency-1 rows with prompts <= "
    "1000 tokens (measured - modelled TTFT 5.8, 5.3 and 3.0 ms; "
    "tests/tco/model/data/serving_concurrency.csv); TensorRT-LLM 0.14's Triton rows at 2 req/s leave 5-11 ms",
)
KV_TRANSFER_GB_S: Final = Assumption(
    50.0,
    12.5,
    450.0,
    "GB/s per accelerator",
    "disaggregated serving: KV moves from a prefill to a decode replica over the inter-node network "
    "(400 Gb/s per GPU on HGX H100 = 50 GB/s, docs/projection_model.md §4.2; NVLink 450 GB/s inside a node)",
)


@dataclass(frozen=True, slots=True)
class ServingAssumptions:
    """What the serving projection assumes beyond its inputs (tco.model.inference; docs/serving_model.md)."""

    prefill_flops_efficiency: Assumption = PREFILL_FLOPS_EFFICIENCY
    mbu: Assumption = MBU
    mbu_tp_doubling_factor: Assumption = MBU_TP_DOUBLING_FACTOR
    headroom: Assumption = HEADROOM
    memory_usable_fraction: Assumption = MEMORY_USABLE_FRACTION
    tp_latency_s: Assumption = TP_LATENCY_S
    pcie_tp_latency_s: Assumption = PCIE_TP_LATENCY_S
    allreduce_bus_efficiency: Assumption = ALLREDUCE_BUS_EFFICIENCY
    step_overhead_s: Assumption = STEP_OVERHEAD_S
    max_running_batch: Assumption = MAX_RUNNING_BATCH
    max_num_tokens: Assumption = MAX_NUM_TOKENS
    kv_cache_memory_fraction: Assumption = KV_CACHE_MEMORY_FRACTION
    runtime_reserve_gib: Assumption = RUNTIME_RESERVE_GIB
    kv_block_tokens: Assumption = KV_BLOCK_TOKENS
    kv_reserved_output_fraction: Assumption = KV_RESERVED_OUTPUT_FRACTION
    int4_group_size: Assumption = INT4_GROUP_SIZE
    latency_quantile_z: Assumption = PREFILL_INTERFERENCE_QUANTILE_Z
    kv_transfer_gb_s: Assumption = KV_TRANSFER_GB_S
    request_overhead_s: Assumption = REQUEST_OVERHEAD_S
    #: The serving engine (tco/model/inference/engines.py): trtllm, vllm, sglang, or auto (TensorRT-LLM on
    #: NVIDIA, vLLM elsewhere). A workload's ``engine`` column takes precedence.
    engine: str = "auto"

    def __post_init__(self) -> None:
        check_fraction("prefill flops efficiency", self.prefill_flops_efficiency.value)
        check_fraction("prefill flops efficiency (low)", self.prefill_flops_efficiency.low)
        check_fraction("MBU", self.mbu.value)
        check_fraction("MBU (low)", self.mbu.low)
        check_fraction("MBU TP doubling factor", self.mbu_tp_doubling_factor.value)
        check_fraction("usable memory fraction", self.memory_usable_fraction.value)
        check_fraction("KV cache memory fraction", self.kv_cache_memory_fraction.value)
        check_fraction("all-reduce bus efficiency", self.allreduce_bus_efficiency.value)
        check_fraction("KV reserved output fraction", self.kv_reserved_output_fraction.value)
        if not self.headroom.value >= 0:
            raise TcoError(f"headroom must be >= 0, got {self.headroom.value:g}")
        for name in ("max_running_batch", "max_num_tokens", "kv_block_tokens", "int4_group_size"):
            if getattr(self, name).value < 1:
                raise TcoError(
                    f"{name.replace('_', ' ')} must be at least 1, got {getattr(self, name).value:g}"
                )
        for name in (
            "tp_latency_s",
            "pcie_tp_latency_s",
            "step_overhead_s",
            "runtime_reserve_gib",
            "kv_transfer_gb_s",
            "latency_quantile_z",
            "request_overhead_s",
        ):
            if getattr(self, name).value < 0:
                raise TcoError(f"{name.replace('_', ' ')} must not be negative")
        if self.kv_transfer_gb_s.value <= 0:
            raise TcoError("kv transfer GB/s must be positive")
        from tco.model.inference.engines import canonical_engine

        object.__setattr__(self, "engine", canonical_engine(self.engine))

    def items(self) -> Iterator[tuple[str, Assumption]]:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Assumption):
                yield f.name, value

    def with_overrides(self, **values: float | str | None) -> ServingAssumptions:
        """A copy with the given values (numbers for assumptions, a name for ``engine``) as overrides."""
        return _override(self, values)


_Params = TypeVar("_Params", TrainingAssumptions, ServingAssumptions)


def _override(params: _Params, values: Mapping[str, float | str | None]) -> _Params:
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        current = getattr(params, name, None)
        if isinstance(current, Assumption):
            if isinstance(value, float | int) and not math.isnan(value):
                changes[name] = Assumption.given(float(value), current.unit, "override")
            else:
                raise TcoError(f"{name.replace('_', ' ')} must be a number, got {value!r}")
        elif name in {f.name for f in fields(params)}:
            changes[name] = value
        else:
            raise TcoError(f"unknown assumption {name!r}")
    return replace(params, **changes)


def network_tag(rec: Mapping[str, Any]) -> str:
    """A workbook key's suffix for a row whose offer has its own network between instances (``.net50`` for
    50 GB/s per instance): rows that differ only in it have different scaling efficiencies and wall times."""
    value = rec.get("network_gb_s_per_instance")
    if value is None or math.isnan(float(value)):
        return ""
    return f".net{float(value):g}"


class AssumptionRows:
    """The rows of an Assumptions sheet being built (plan or estimate workbook): one row per key, first
    writer wins. ``add`` returns the key, or its ``{key}`` placeholder when ``braced``."""

    def __init__(self, *, braced: bool = False) -> None:
        self.rows: list[dict[str, Any]] = []
        self.seen: set[str] = set()
        self.braced = braced

    def add(
        self,
        key: str,
        section: str,
        description: str,
        value: Any,
        unit: str,
        source: str,
        formula: str | None = None,
    ) -> str:
        """Add an input (or a derived row with ``formula``)."""
        if key not in self.seen:
            self.seen.add(key)
            self.rows.append(
                {
                    "key": key,
                    "section": section,
                    "description": description,
                    "value": value,
                    "unit": unit,
                    "source": source,
                    "formula": formula,
                }
            )
        return "{" + key + "}" if self.braced else key

    def wall_hours_inputs(
        self, rec: Mapping[str, Any], *, prefix: str = "", section: str | None = None
    ) -> dict[str, str]:
        """Rows for the inputs of a training row's wall hours (:data:`tco.model.formulas.WALL_HOURS` at
        :data:`tco.model.formulas.FLOP_RATE`): the workload's FLOPs, the dense peak, the MFU and the scaling
        efficiency, each with its source. Keys start with ``prefix`` (a plan's workload, ``t1``); rows go to
        ``section`` (default: Workload, Accelerators, Efficiency). Returns each formula variable's key (its
        ``{key}`` placeholder when ``braced``)."""
        acc, n = str(rec["accelerator"]), float(rec["accelerator_count"])
        per = rec["accelerators_per_instance"]
        dtype, framework, workload = rec["dtype"], rec["framework"], rec["workload"]
        lead = f"{prefix}." if prefix else ""
        return {
            "work": self.add(
                f"{prefix or workload}.train_flops", section or "Workload",
                f"training FLOPs per run ({workload})", float(rec["train_flops"]), "FLOP",
                f"{rec['work_formula']} ({rec['workload_source']})",
            ),
            "peak_tflops": self.add(
                f"peak.{acc}.{dtype}", "Accelerators", f"{acc} dense {dtype} peak", float(rec["peak_tflops"]),
                "TFLOP/s", str(rec["peak_source"]),
            ),
            "mfu": self.add(
                f"{lead}mfu.{acc}.{framework}", section or "Efficiency",
                f"model FLOPs utilisation on {acc} ({framework})", float(rec["mfu"]), "fraction",
                f"{rec['throughput_source']}: {rec['throughput_detail']}",
            ),
            "scaling_efficiency": self.add(
                f"{lead}scaling.{acc}.n{n:g}.x{per:g}{network_tag(rec)}", section or "Efficiency",
                f"scaling efficiency at {n:g} x {acc} (x{per:g} instances; {rec['parallelism']})",
                float(rec["scaling_efficiency"]), "fraction", str(rec["scaling_source"]),
            ),
        }  # fmt: skip

    def owned_prices(
        self,
        accelerator: str,
        params: OwnershipParams,
        *,
        fixed: float = math.nan,
        variable: float = math.nan,
    ) -> tuple[str, str]:
        """Rows for owned hardware: every ownership input but the stated utilisation (the capacity held and
        the hours used decide the cost), and the fixed ($/acc-year) and variable ($/acc-h) prices as live
        formulas over them (:mod:`tco.model.formulas`; ``fixed``/``variable``: tco's values, shown where the
        sheet keeps them). Returns the ``{key}`` references of the two prices."""
        from tco.model import formulas as F

        def ref(key: str) -> str:
            return key if self.braced else "{" + key + "}"

        base = f"own.{accelerator}"
        refs: dict[str, str] = {}
        for name, a in params.items():
            if name != "utilisation":
                label = f"{accelerator}: {name.replace('_', ' ')}"
                refs[name] = ref(
                    self.add(f"{base}.{name}", "Owned hardware", label, a.value, a.unit, a.source)
                )
        derived = "derived: tco.model.formulas (docs/projection_model.md §5.1)"
        fixed_key = self.add(
            f"{base}.fixed_usd_per_accelerator_year", "Owned hardware",
            f"owned {accelerator}: paid per held accelerator-year whether used or not (capex, idle power, "
            "colocation, maintenance, staff)", fixed, "$/acc-year", derived,
            F.OWNED_FIXED_USD_PER_ACCELERATOR_YEAR.excel(**refs),
        )  # fmt: skip
        variable_key = self.add(
            f"{base}.variable_usd_per_accelerator_hour", "Owned hardware",
            f"owned {accelerator}: power above idle per used accelerator-hour", variable, "$/acc-h", derived,
            F.OWNED_VARIABLE_USD_PER_ACCELERATOR_HOUR.excel(**refs),
        )  # fmt: skip
        return ref(fixed_key), ref(variable_key)

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            self.rows, columns=["key", "section", "description", "value", "unit", "source", "formula"]
        )
