"""How big and how long: problem sizes and time budgets per profile and device.

``tiny`` is for tests (seconds per framework), ``quick`` for a first look (well under a minute per framework
on a 2-core CPU), ``standard`` (the default) for a proper measurement, ``full`` to fill an accelerator.
On accelerators every size grows; a matmul sweep stops early where the next size would take too long.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from calibrate.errors import CalibrationError
from calibrate.kernels import (
    INFER_CNN,
    INFER_TRANSFORMER,
    TRAIN_CNN,
    TRAIN_TRANSFORMER,
    CnnConfig,
    TransformerConfig,
)
from calibrate.timing import Budget

PROFILES: Final = ("tiny", "quick", "standard", "full")
MIB: Final = 1 << 20
GIB: Final = 1 << 30

_MODEL_KERNELS: Final = frozenset({TRAIN_CNN, TRAIN_TRANSFORMER, INFER_CNN, INFER_TRANSFORMER})


@dataclass(frozen=True, slots=True)
class Profile:
    """Sizes and budgets of one calibration run on one kind of device."""

    name: str
    matmul_sizes: tuple[int, ...]
    matmul_max_call_s: float  # stop the sweep when the next size's single call would exceed this
    matmul_budget: Budget
    membw_bytes: int  # bytes per array (well above the last-level cache)
    membw_budget: Budget
    cnn: CnnConfig
    cnn_batch: int
    cnn_infer_batch: int
    transformer: TransformerConfig
    transformer_batch: int
    transformer_infer_batch: int
    train_budget: Budget
    latency_budget: Budget
    throughput_budget: Budget
    allreduce_bytes: tuple[int, ...]
    allreduce_budget: Budget
    cpu_ranks: int  # gloo processes for a CPU all-reduce
    alternates: frozenset[str]  # kernels that also run the framework's second variant (torch.compile, ...)

    def with_alternates(self, kernels: frozenset[str]) -> Profile:
        return replace(self, alternates=kernels)


def _cpu(name: str) -> Profile:
    if name == "tiny":
        return Profile(
            name=name,
            matmul_sizes=(64, 128),
            matmul_max_call_s=0.2,
            matmul_budget=Budget(warmup=1, min_repeats=3, max_repeats=20, budget_s=0.02, sample_s=0.002),
            membw_bytes=4 * MIB,
            membw_budget=Budget(warmup=1, min_repeats=3, max_repeats=20, budget_s=0.02, sample_s=0.002),
            cnn=CnnConfig(image=16, conv1=8, conv2=16, hidden=32),
            cnn_batch=16,
            cnn_infer_batch=8,
            transformer=TransformerConfig(vocab=128, d_model=32, heads=2, layers=1, seq=16),
            transformer_batch=8,
            transformer_infer_batch=4,
            train_budget=Budget(warmup=1, min_repeats=8, max_repeats=8, budget_s=0.0, sample_s=0.0),
            latency_budget=Budget(warmup=1, min_repeats=5, max_repeats=20, budget_s=0.02, sample_s=0.0),
            throughput_budget=Budget(warmup=1, min_repeats=3, max_repeats=10, budget_s=0.02, sample_s=0.0),
            allreduce_bytes=(64 * 1024, 1 * MIB),
            allreduce_budget=Budget(warmup=1, min_repeats=3, max_repeats=10, budget_s=0.02, sample_s=0.002),
            cpu_ranks=2,
            alternates=frozenset({TRAIN_TRANSFORMER}),
        )
    if name == "quick":
        return Profile(
            name=name,
            matmul_sizes=(256, 512, 1024, 2048),
            matmul_max_call_s=0.25,
            matmul_budget=Budget(warmup=1, min_repeats=5, max_repeats=100, budget_s=0.25, sample_s=0.01),
            membw_bytes=128 * MIB,
            membw_budget=Budget(warmup=1, min_repeats=5, max_repeats=100, budget_s=0.3, sample_s=0.0),
            cnn=CnnConfig(),
            cnn_batch=64,
            cnn_infer_batch=64,
            transformer=TransformerConfig(),
            transformer_batch=8,
            transformer_infer_batch=8,
            train_budget=Budget(warmup=2, min_repeats=10, max_repeats=60, budget_s=0.6, sample_s=0.0),
            latency_budget=Budget(warmup=2, min_repeats=20, max_repeats=500, budget_s=0.3, sample_s=0.0),
            throughput_budget=Budget(warmup=1, min_repeats=5, max_repeats=100, budget_s=0.3, sample_s=0.0),
            allreduce_bytes=(1 * MIB, 16 * MIB),
            allreduce_budget=Budget(warmup=2, min_repeats=5, max_repeats=50, budget_s=0.3, sample_s=0.02),
            cpu_ranks=2,
            alternates=frozenset({TRAIN_TRANSFORMER}),
        )
    if name in ("standard", "full"):
        scale = 2.0 if name == "full" else 1.0
        return Profile(
            name=name,
            matmul_sizes=(256, 512, 1024, 2048, 4096),
            matmul_max_call_s=1.0 * scale,
            matmul_budget=Budget(
                warmup=2, min_repeats=7, max_repeats=200, budget_s=0.75 * scale, sample_s=0.02
            ),
            membw_bytes=256 * MIB,
            membw_budget=Budget(warmup=2, min_repeats=10, max_repeats=200, budget_s=0.75 * scale),
            cnn=CnnConfig(),
            cnn_batch=128,
            cnn_infer_batch=128,
            transformer=TransformerConfig(vocab=8192, d_model=256, heads=4, layers=4, seq=256),
            transformer_batch=8,
            transformer_infer_batch=8,
            train_budget=Budget(
                warmup=3, min_repeats=15, max_repeats=200, budget_s=2.0 * scale, sample_s=0.0
            ),
            latency_budget=Budget(
                warmup=3, min_repeats=100, max_repeats=2000, budget_s=1.0 * scale, sample_s=0.0
            ),
            throughput_budget=Budget(
                warmup=2, min_repeats=10, max_repeats=200, budget_s=1.0 * scale, sample_s=0.0
            ),
            allreduce_bytes=(1 * MIB, 16 * MIB, 64 * MIB),
            allreduce_budget=Budget(
                warmup=3, min_repeats=10, max_repeats=100, budget_s=0.75 * scale, sample_s=0.05
            ),
            cpu_ranks=2,
            alternates=_MODEL_KERNELS,
        )
    raise CalibrationError(f"unknown profile {name!r}", hint=f"choose one of {', '.join(PROFILES)}")


def _accelerator(name: str) -> Profile:
    base = _cpu(name)
    if name == "tiny":
        return base
    if name == "quick":
        return replace(
            base,
            matmul_sizes=(1024, 2048, 4096, 8192),
            matmul_max_call_s=0.5,
            membw_bytes=1 * GIB,
            cnn=CnnConfig(conv1=64, conv2=128, hidden=256),
            cnn_batch=256,
            cnn_infer_batch=256,
            transformer=TransformerConfig(vocab=8192, d_model=512, heads=8, layers=4, seq=512),
            transformer_batch=8,
            transformer_infer_batch=16,
            allreduce_bytes=(16 * MIB, 256 * MIB),
        )
    full = name == "full"
    return replace(
        base,
        matmul_sizes=(1024, 2048, 4096, 8192, 16384) if full else (1024, 2048, 4096, 8192),
        matmul_max_call_s=5.0 if full else 1.0,
        membw_bytes=(2 if full else 1) * GIB,
        cnn=CnnConfig(conv1=64, conv2=128, hidden=512),
        cnn_batch=512 if full else 256,
        cnn_infer_batch=1024 if full else 256,
        transformer=(
            TransformerConfig(vocab=32768, d_model=1024, heads=16, layers=8, seq=1024)
            if full
            else TransformerConfig(vocab=16384, d_model=768, heads=12, layers=6, seq=512)
        ),
        transformer_batch=8,
        transformer_infer_batch=32 if full else 16,
        allreduce_bytes=(16 * MIB, 256 * MIB, 1 * GIB) if full else (16 * MIB, 256 * MIB),
    )


def profile_for(name: str, device_kind: str) -> Profile:
    """The profile ``name`` (tiny, quick, standard, full) sized for ``device_kind`` (cpu, cuda, rocm, tpu)."""
    return _cpu(name) if device_kind == "cpu" else _accelerator(name)
