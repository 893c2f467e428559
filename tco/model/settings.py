"""``--set NAME=VALUE``: every named default of the projections, overridable by name.

The common inputs have their own command-line options (``--mfu``, ``--goodput``, ...); the long tail of
assumptions (spot interruptions, ownership costs, network bandwidth, non-compute line items, ...) is set by
name. :func:`registry` lists every name with its unit, what it changes and where its default comes from;
``tco estimate assumptions`` prints it. :func:`tco.api.inputs.settings` is the one parser of ``--set``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tco.model.assumptions import Assumption


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    group: str  # training | spot | hardware | ownership | procurement | line_items | serving
    unit: str
    meaning: str
    default: str  # the default value and its source, as text


def _from(assumption: Assumption) -> str:
    spread = f" (range {assumption.low:g}-{assumption.high:g})" if assumption.low != assumption.high else ""
    return f"{assumption.value:g}{spread}: {assumption.source}"


@cache
def registry() -> dict[str, Setting]:
    """Every settable name (built on first use: a command given no ``--set`` never needs it)."""
    from tco.model import assumptions as A
    from tco.model import overheads as L
    from tco.model import ownership as O

    settings = (
        Setting(
            "dp_overlap",
            "training",
            "fraction",
            "share of the backward pass hiding gradient traffic",
            _from(A.DP_OVERLAP),
        ),
        Setting(
            "global_batch_tokens",
            "training",
            "tokens",
            "tokens per optimizer step (sets step time, micro-batches and the pipeline bubble)",
            "the preset's batch, else " + _from(A.GLOBAL_BATCH_TOKENS),
        ),
        Setting(
            "flops_per_sample",
            "training",
            "FLOP",
            "forward+backward FLOPs per example (samples workloads; MFU reporting)",
            "the preset's figure",
        ),
        Setting(
            "state_bytes_per_param",
            "training",
            "bytes",
            "training state per parameter",
            _from(A.STATE_BYTES_PER_PARAM),
        ),
        Setting(
            "memory_usable_fraction",
            "training",
            "fraction",
            "share of accelerator memory usable",
            _from(A.MEMORY_USABLE_FRACTION),
        ),
        Setting(
            "tokens_per_accelerator",
            "training",
            "tokens",
            "the default batch is at least this many tokens per accelerator (when the workload names none)",
            _from(A.TOKENS_PER_ACCELERATOR),
        ),
        Setting(
            "max_global_batch_tokens",
            "training",
            "tokens",
            "ceiling of the default batch (when the workload names none)",
            _from(A.MAX_GLOBAL_BATCH_TOKENS),
        ),
        Setting(
            "moe_overlap",
            "training",
            "fraction",
            "share of the mixture-of-experts all-to-all hidden behind compute (1: DualPipe-style overlap)",
            _from(A.MOE_OVERLAP),
        ),
        Setting(
            "narrow_matmul_knee",
            "training",
            "x FLOP/byte ridge",
            "how fast matmul efficiency falls for narrow hidden sizes (assumed MFU only)",
            _from(A.NARROW_MATMUL_KNEE),
        ),
        Setting(
            "attention_efficiency",
            "training",
            "x matmul rate",
            "rate of attention (flash attention) relative to the matmuls (assumed MFU only)",
            _from(A.ATTENTION_EFFICIENCY),
        ),
        Setting(
            "collective_hop_latency_s",
            "training",
            "seconds",
            "latency of one ring step of a collective (tensor, FSDP, all-to-all, data parallel)",
            _from(A.COLLECTIVE_HOP_LATENCY_S),
        ),
        Setting(
            "default_seq_len",
            "training",
            "tokens",
            "sequence length for memory and communication when the workload names none",
            _from(A.DEFAULT_SEQ_LEN),
        ),
        Setting(
            "aspect_ratio",
            "training",
            "hidden per layer",
            "shape inferred from the parameter count when layers/hidden are not given",
            _from(A.ASPECT_RATIO),
        ),
        Setting(
            "spot_interruptions_per_day",
            "spot",
            "per instance-day",
            "spot/low-priority reclaims",
            "1 (range 0.25-4): " + A.SPOT_INTERRUPTIONS_PER_INSTANCE_HOUR.source,
        ),
        Setting(
            "checkpoint_interval_hours",
            "spot",
            "hours",
            "time between checkpoints",
            _from(A.CHECKPOINT_INTERVAL_HOURS),
        ),
        Setting(
            "restart_hours",
            "spot",
            "hours",
            "lost per interruption besides the work since the checkpoint",
            _from(A.RESTART_HOURS),
        ),
        Setting(
            "max_interruption_factor",
            "spot",
            "x wall time",
            "spot plans stretched more than this by interruptions are infeasible",
            _from(A.MAX_INTERRUPTION_FACTOR),
        ),
        Setting(
            "peak_tflops",
            "hardware",
            "TFLOP/s",
            "dense peak per accelerator for --dtype",
            "calibrate/data/accelerator_peaks.csv",
        ),
        Setting(
            "inter_node_gb_s",
            "hardware",
            "GB/s per accelerator",
            "bus bandwidth between instances",
            "tco/data/network_defaults.csv",
        ),
        Setting(
            "ethernet_gb_s_per_instance",
            "hardware",
            "GB/s per instance",
            "scale-out bandwidth of an instance sold without a cluster fabric (shared by its accelerators)",
            _from(A.ETHERNET_GB_S_PER_INSTANCE),
        ),
        Setting(
            "accelerators_per_instance",
            "hardware",
            "accelerators",
            "instance size for --price-usd-per-hour",
            "8 (llm-analysis NUM_GPUS_PER_NODE)",
        ),
        Setting(
            "capex_usd_per_accelerator",
            "ownership",
            "USD",
            "purchase price per accelerator incl. its host share",
            "tco/data/ownership_defaults.csv (H100 only)",
        ),
        Setting(
            "network_capex_fraction",
            "ownership",
            "fraction",
            "network capex on top",
            _from(O.NETWORK_CAPEX_FRACTION),
        ),
        Setting("life_years", "ownership", "years", "depreciation life", _from(O.LIFE_YEARS)),
        Setting(
            "residual_fraction",
            "ownership",
            "fraction",
            "resale value at end of life",
            _from(O.RESIDUAL_FRACTION),
        ),
        Setting(
            "discount_rate",
            "ownership",
            "per year",
            "cost of capital (0 = straight line)",
            _from(O.DISCOUNT_RATE),
        ),
        Setting("pue", "ownership", "ratio", "power usage effectiveness", _from(O.PUE)),
        Setting(
            "electricity_usd_per_kwh",
            "ownership",
            "USD/kWh",
            "energy price",
            _from(O.ELECTRICITY_USD_PER_KWH),
        ),
        Setting(
            "colocation_usd_per_kw_month",
            "ownership",
            "USD per kW-month",
            "colocation per contracted kW",
            _from(O.COLOCATION_USD_PER_KW_MONTH),
        ),
        Setting(
            "maintenance_fraction_per_year",
            "ownership",
            "fraction",
            "support contracts and spares",
            _from(O.MAINTENANCE_FRACTION_PER_YEAR),
        ),
        Setting(
            "staff_usd_per_accelerator_year",
            "ownership",
            "USD",
            "operations staff share",
            _from(O.STAFF_USD_PER_ACCELERATOR_YEAR),
        ),
        Setting(
            "idle_power_fraction",
            "ownership",
            "fraction",
            "idle draw / loaded draw",
            _from(O.IDLE_POWER_FRACTION),
        ),
        Setting("storage_tb", "line_items", "TB", "data and artefacts stored", "not budgeted"),
        Setting(
            "checkpoints_kept",
            "line_items",
            "checkpoints",
            "checkpoints stored (state bytes x parameters each)",
            "not budgeted",
        ),
        Setting(
            "storage_usd_per_tb_month",
            "line_items",
            "USD per TB-month",
            "storage price",
            _from(L.STORAGE_USD_PER_TB_MONTH),
        ),
        Setting("egress_tb_per_month", "line_items", "TB", "data transferred out", "not budgeted"),
        Setting("egress_usd_per_gb", "line_items", "USD per GB", "egress price", _from(L.EGRESS_USD_PER_GB)),
        Setting("mlops_usd_per_month", "line_items", "USD", "MLOps tooling", "not budgeted"),
        Setting("engineering_hours_per_month", "line_items", "hours", "engineering time", "not budgeted"),
        Setting("engineering_usd_per_hour", "line_items", "USD", "loaded engineering rate", "no default"),
        Setting(
            "utilisation",
            "procurement",
            "fraction of hours",
            "planned use of the capacity held (sizes commitments and the owned fleet)",
            _from(O.UTILISATION),
        ),
        Setting(
            "accelerators_per_server",
            "procurement",
            "accelerators",
            "accelerators per owned server",
            "tco/data/ownership_defaults.csv (accelerators_per_node), else 8",
        ),
        Setting(
            "headroom",
            "serving",
            "fraction",
            "spare replica capacity over the request rate",
            _from(A.HEADROOM),
        ),
        Setting("mbu", "serving", "fraction", "decode memory-bandwidth utilisation at TP1", _from(A.MBU)),
        Setting(
            "mbu_tp_doubling_factor",
            "serving",
            "x per TP doubling",
            "decode MBU multiplier per doubling of the tensor-parallel degree",
            _from(A.MBU_TP_DOUBLING_FACTOR),
        ),
        Setting(
            "prefill_flops_efficiency",
            "serving",
            "fraction",
            "share of the dense peak that prefill and large-batch decode reach",
            _from(A.PREFILL_FLOPS_EFFICIENCY),
        ),
        Setting(
            "tp_latency_s", "serving", "seconds", "NVLink/xGMI/ICI all-reduce latency", _from(A.TP_LATENCY_S)
        ),
        Setting(
            "pcie_tp_latency_s", "serving", "seconds", "PCIe all-reduce latency", _from(A.PCIE_TP_LATENCY_S)
        ),
        Setting(
            "allreduce_bus_efficiency",
            "serving",
            "fraction",
            "all-reduce bus bandwidth / link bandwidth",
            _from(A.ALLREDUCE_BUS_EFFICIENCY),
        ),
        Setting(
            "step_overhead_s", "serving", "seconds", "fixed time per engine step", _from(A.STEP_OVERHEAD_S)
        ),
        Setting(
            "max_running_batch",
            "serving",
            "sequences",
            "engine cap on sequences decoding together (max_num_seqs / max_batch_size)",
            _from(A.MAX_RUNNING_BATCH),
        ),
        Setting(
            "max_num_tokens",
            "serving",
            "tokens",
            "token budget of one step (chunked prefill)",
            _from(A.MAX_NUM_TOKENS),
        ),
        Setting(
            "kv_cache_memory_fraction",
            "serving",
            "fraction",
            "share of free memory given to the KV cache",
            _from(A.KV_CACHE_MEMORY_FRACTION),
        ),
        Setting(
            "runtime_reserve_gib",
            "serving",
            "GiB",
            "memory per accelerator kept from weights and KV",
            _from(A.RUNTIME_RESERVE_GIB),
        ),
        Setting("kv_block_tokens", "serving", "tokens", "paged KV block size", _from(A.KV_BLOCK_TOKENS)),
        Setting(
            "kv_reserved_output_fraction",
            "serving",
            "fraction",
            "share of the output length a running sequence reserves in the KV cache",
            _from(A.KV_RESERVED_OUTPUT_FRACTION),
        ),
        Setting(
            "int4_group_size",
            "serving",
            "weights",
            "int4 quantisation group (one 16-bit scale and zero each)",
            _from(A.INT4_GROUP_SIZE),
        ),
        Setting(
            "latency_quantile_z",
            "serving",
            "z",
            "latency quantile checked against the targets (2.326 = p99)",
            _from(A.PREFILL_INTERFERENCE_QUANTILE_Z),
        ),
        Setting(
            "request_overhead_s",
            "serving",
            "seconds",
            "time to first token outside the engine (HTTP, tokenisation, streaming)",
            _from(A.REQUEST_OVERHEAD_S),
        ),
        Setting(
            "kv_transfer_gb_s",
            "serving",
            "GB/s per accelerator",
            "disaggregated layout: KV transfer bandwidth prefill -> decode",
            _from(A.KV_TRANSFER_GB_S),
        ),
    )
    return {s.name: s for s in settings}


@dataclass(frozen=True, slots=True)
class Settings:
    """Parsed ``--set`` values, by group."""

    values: dict[str, float] = field(default_factory=dict)

    def group(self, name: str) -> dict[str, float]:
        if not self.values:
            return {}
        names = registry()
        return {k: v for k, v in self.values.items() if names[k].group == name}

    def get(self, name: str) -> float | None:
        return self.values.get(name)
