"""The calibration kernels, declared once: what each computes, its FLOP and byte counts, and its own checks.

Every backend implements these kernels in its framework's idiomatic fast path; the counts and the checks
live here so that the three frameworks are measured against the same definitions.

Kernels (the ``kernel`` column of a result row):

``matmul``
    ``C = A @ B`` with ``A: m x k``, ``B: k x n``, all in ``dtype``; ``2*m*n*k`` FLOPs. A size sweep per
    dtype; the row reports the best size (``shape``) and its TFLOP/s. Checked against a float64 numpy
    product of the same (dtype-rounded) random inputs on a random subset of rows.
``membw``
    STREAM-style memory bandwidth over arrays far larger than the caches, one row per op (``metric``):
    ``scale``: ``b = s * a`` (read n, write n; STREAM's copy with a runtime scalar, so that no compiler can
    elide it) and ``triad``: ``a = b + s * c`` (read 2n, write n). GB/s of bytes moved (1 GB = 1e9 B).
    Checked element-wise on a random sample.
``train_cnn`` / ``train_transformer``
    Steady-state optimizer steps of :class:`CnnConfig` (conv, pool, dense, cross-entropy, Adam) and
    :class:`TransformerConfig` (pre-LayerNorm decoder blocks: causal self-attention + GELU MLP, next-token
    cross-entropy, AdamW), on one fixed random batch. Throughput in samples/s (CNN) or tokens/s
    (transformer); model FLOP/s counts ``3 x`` the forward FLOPs (forward + backward) and ignores the
    optimizer and element-wise work (the usual MFU convention). Checked: the loss falls.
``infer_cnn`` / ``infer_transformer``
    Forward passes of the same models without gradients, two rows per variant: ``metric=latency`` at
    batch 1 (``median_s`` is p50, ``p99_s`` is p99) and ``metric=throughput`` at a larger batch. The
    transformer's forward pass is a full prompt of ``seq`` tokens (prefill), so its throughput is tokens/s.
    Checked: the compiled output equals the framework's uncompiled output of the same weights.
``allreduce``
    All-reduce of a float32 buffer across devices or processes (``torch.distributed`` under ``torchrun``,
    ``jax.lax.psum`` across local devices). Bus bandwidth as defined by nccl-tests:
    ``busbw = (bytes / time) * 2 * (n - 1) / n``. Checked: every rank holds the exact sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from calibrate.errors import CalibrationError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MATMUL: Final = "matmul"
MEMBW: Final = "membw"
TRAIN_CNN: Final = "train_cnn"
TRAIN_TRANSFORMER: Final = "train_transformer"
INFER_CNN: Final = "infer_cnn"
INFER_TRANSFORMER: Final = "infer_transformer"
ALLREDUCE: Final = "allreduce"

TFLOP_PER_S: Final = "tflop_per_s"
GB_PER_S: Final = "gb_per_s"
SAMPLES_PER_S: Final = "samples_per_s"
TOKENS_PER_S: Final = "tokens_per_s"

#: Bytes per element of each dtype name used in result rows.
DTYPE_BYTES: Final = {"fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2}


@dataclass(frozen=True, slots=True)
class KernelSpec:
    """A kernel's name, what it computes, the unit of its throughput, and whether it counts FLOPs."""

    name: str
    computes: str
    throughput_unit: str
    counts_flops: bool


KERNELS: Final[dict[str, KernelSpec]] = {
    k.name: k
    for k in (
        KernelSpec(MATMUL, "C = A @ B, square, size sweep per dtype", TFLOP_PER_S, True),
        KernelSpec(MEMBW, "STREAM scale (b = s*a) and triad (a = b + s*c)", GB_PER_S, False),
        KernelSpec(
            TRAIN_CNN, "CNN training steps: conv, pool, dense, cross-entropy, Adam", SAMPLES_PER_S, True
        ),
        KernelSpec(
            TRAIN_TRANSFORMER,
            "decoder-only transformer training steps, causal attention, AdamW",
            TOKENS_PER_S,
            True,
        ),
        KernelSpec(INFER_CNN, "CNN forward: batch-1 latency and batched throughput", SAMPLES_PER_S, True),
        KernelSpec(
            INFER_TRANSFORMER,
            "transformer prefill: batch-1 latency and batched throughput",
            TOKENS_PER_S,
            True,
        ),
        KernelSpec(ALLREDUCE, "all-reduce bus bandwidth (nccl-tests busbw)", GB_PER_S, False),
    )
}

#: Kernel names in the order they run.
KERNEL_NAMES: Final = tuple(KERNELS)


def resolve_kernels(names: Sequence[str] | None) -> tuple[str, ...]:
    """Validate kernel names (``None`` or ``["all"]``: every kernel), in run order."""
    import difflib

    if not names or list(names) == ["all"]:
        return KERNEL_NAMES
    unknown = [n for n in names if n not in KERNELS]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, KERNEL_NAMES, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known kernels: {', '.join(KERNEL_NAMES)}"
        raise CalibrationError(f"unknown kernel {name!r}", hint=hint)
    return tuple(k for k in KERNEL_NAMES if k in names)


# --- FLOP and byte counts -----------------------------------------------------------------------------


def matmul_flops(m: int, n: int, k: int) -> float:
    """FLOPs of one ``m x k`` by ``k x n`` product (a multiply and an add per term)."""
    return 2.0 * m * n * k


MEMBW_OPS: Final = ("scale", "triad")


def membw_bytes(op: str, elements: int, dtype: str = "fp32") -> float:
    """Bytes one STREAM ``op`` moves over ``elements`` elements (scale: 2 arrays, triad: 3)."""
    arrays = {"scale": 2, "triad": 3}[op]
    return float(arrays * elements * DTYPE_BYTES[dtype])


def allreduce_bus_gb_per_s(size_bytes: float, seconds: float, ranks: int) -> float:
    """nccl-tests bus bandwidth: ``algbw * 2 (n - 1) / n`` with ``algbw = bytes / time``, in GB/s."""
    if ranks < 2 or seconds <= 0:
        return math.nan
    return size_bytes / seconds * 2.0 * (ranks - 1) / ranks / 1e9


@dataclass(frozen=True, slots=True)
class CnnConfig:
    """A small image classifier of the seed's kind: two conv+ReLU+2x2-max-pool stages, two dense layers."""

    image: int = 32
    channels: int = 3
    conv1: int = 32
    conv2: int = 64
    hidden: int = 128
    classes: int = 10
    kernel: int = 3

    def __post_init__(self) -> None:
        if self.image % 4:
            raise CalibrationError(f"CNN image size {self.image} is not a multiple of 4 (two 2x2 pools)")

    @property
    def flat(self) -> int:
        return (self.image // 4) ** 2 * self.conv2

    def forward_flops_per_sample(self) -> float:
        """Multiply-adds x 2 of the two convolutions ("same" padding) and the two dense layers."""
        kk = self.kernel * self.kernel
        conv1 = 2.0 * kk * self.channels * self.conv1 * self.image**2
        conv2 = 2.0 * kk * self.conv1 * self.conv2 * (self.image // 2) ** 2
        dense = 2.0 * self.flat * self.hidden + 2.0 * self.hidden * self.classes
        return conv1 + conv2 + dense

    def train_flops_per_sample(self) -> float:
        return 3.0 * self.forward_flops_per_sample()

    def describe(self, batch: int) -> str:
        return (
            f"batch={batch},image={self.image}x{self.image}x{self.channels},conv={self.conv1}/{self.conv2},"
            f"hidden={self.hidden},classes={self.classes}"
        )


@dataclass(frozen=True, slots=True)
class TransformerConfig:
    """A GPT-style decoder: token + learned position embeddings, pre-LN blocks, an untied LM head."""

    vocab: int = 2048
    d_model: int = 128
    heads: int = 4
    layers: int = 2
    seq: int = 128
    mlp_ratio: int = 4

    def __post_init__(self) -> None:
        if self.d_model % self.heads:
            raise CalibrationError(f"d_model {self.d_model} is not divisible by heads {self.heads}")

    def forward_flops_per_token(self) -> float:
        """Per token: QKV + output projections ``8 d^2``, MLP ``4 r d^2`` (r = mlp_ratio), attention scores
        and values ``4 T d`` per layer (full T x T, not halved for the causal mask, as in PaLM's MFU), and
        the LM head ``2 d V``. Embedding lookups, norms and softmax are not counted.
        """
        d, t = self.d_model, self.seq
        per_layer = 8.0 * d * d + 4.0 * self.mlp_ratio * d * d + 4.0 * t * d
        return self.layers * per_layer + 2.0 * d * self.vocab

    def train_flops_per_token(self) -> float:
        return 3.0 * self.forward_flops_per_token()

    def describe(self, batch: int) -> str:
        return (
            f"batch={batch},seq={self.seq},d_model={self.d_model},heads={self.heads},"
            f"layers={self.layers},vocab={self.vocab}"
        )


# --- checks: every kernel checks its own result ---------------------------------------------------------

#: Relative Frobenius error allowed for a matmul in each dtype against float64 of the rounded inputs.
MATMUL_TOLERANCE: Final = {"fp32": 1e-4, "tf32": 1e-2, "bf16": 3e-2, "fp16": 1e-2}


def sample_rows(m: int, count: int, seed: int) -> npt.NDArray[np.int64]:
    import numpy as np

    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(m, size=min(m, count), replace=False)).astype(np.int64)


def check_matmul(a_rows: npt.ArrayLike, b_cols: npt.ArrayLike, c_block: npt.ArrayLike, dtype: str) -> float:
    """Check a sampled block of ``C = A @ B``: ``a_rows`` (r x k) are rows of A, ``b_cols`` (k x c) columns
    of B, ``c_block`` (r x c) the same rows and columns of the device's C.

    The inputs must be as the device saw them (already rounded to ``dtype``). Returns the relative
    Frobenius error; raises :class:`CalibrationError` past the dtype's tolerance.
    """
    import numpy as np

    a64 = np.asarray(a_rows, dtype=np.float64)
    b64 = np.asarray(b_cols, dtype=np.float64)
    got = np.asarray(c_block, dtype=np.float64)
    want = a64 @ b64
    if got.shape != want.shape:
        raise CalibrationError(f"matmul {dtype}: result rows have shape {got.shape}, expected {want.shape}")
    scale = float(np.linalg.norm(want))
    if not np.all(np.isfinite(got)) or scale == 0.0:
        raise CalibrationError(f"matmul {dtype}: result is not finite or the reference is zero")
    error = float(np.linalg.norm(got - want)) / scale
    if not error <= MATMUL_TOLERANCE[dtype]:
        raise CalibrationError(
            f"matmul {dtype}: relative error {error:.2e} against numpy exceeds {MATMUL_TOLERANCE[dtype]:.0e}"
        )
    return error


def check_membw(op: str, scalar: float, inputs: Sequence[npt.ArrayLike], output: npt.ArrayLike) -> float:
    """Check sampled elements of a STREAM op: scale ``out = s * a``; triad ``out = b + s * c``."""
    import numpy as np

    arrays = [np.asarray(x, dtype=np.float64) for x in inputs]
    got = np.asarray(output, dtype=np.float64)
    want = scalar * arrays[0] if op == "scale" else arrays[0] + scalar * arrays[1]
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    if not np.all(np.isfinite(got)) or scale == 0.0:
        raise CalibrationError(f"membw {op}: result is not finite or the reference is zero")
    error = float(np.max(np.abs(got - want))) / scale
    if not error <= 1e-6:
        raise CalibrationError(
            f"membw {op}: result differs from the reference (max relative error {error:.2e})"
        )
    return error


def check_loss_falls(losses: Sequence[float], *, model: str, min_drop: float = 0.02) -> tuple[float, float]:
    """The training loss must be finite and fall: the mean of the last quarter at least ``min_drop``
    (relative) below the first loss. Returns (first, last-quarter mean)."""
    values = [float(x) for x in losses]
    if len(values) < 4:
        raise CalibrationError(f"{model}: {len(values)} losses recorded, need at least 4 to check training")
    if not all(math.isfinite(v) for v in values):
        raise CalibrationError(f"{model}: the training loss is not finite ({values[-1]})")
    first = values[0]
    tail = values[-max(1, len(values) // 4) :]
    last = sum(tail) / len(tail)
    if not last <= first * (1.0 - min_drop):
        raise CalibrationError(
            f"{model}: the training loss did not fall ({first:.4f} -> {last:.4f} over {len(values)} steps)"
        )
    return first, last


def check_close(got: npt.ArrayLike, want: npt.ArrayLike, *, what: str, rtol: float) -> float:
    """Two model outputs agree: relative Frobenius error within ``rtol``, both finite and not constant."""
    import numpy as np

    g = np.asarray(got, dtype=np.float64)
    w = np.asarray(want, dtype=np.float64)
    if g.shape != w.shape:
        raise CalibrationError(f"{what}: output shape {g.shape} differs from the reference {w.shape}")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(w))):
        raise CalibrationError(f"{what}: output is not finite")
    if float(np.std(w)) == 0.0:
        raise CalibrationError(f"{what}: the reference output is constant; the model is degenerate")
    error = float(np.linalg.norm(g - w)) / float(np.linalg.norm(w))
    if not error <= rtol:
        raise CalibrationError(
            f"{what}: output differs from the reference (relative error {error:.2e} > {rtol:.0e})"
        )
    return error


def check_allreduce(got: npt.ArrayLike, base: npt.ArrayLike, ranks: int) -> float:
    """After all-reducing ``(rank + 1) * base`` over ``ranks`` ranks, every element is ``base * n(n+1)/2``."""
    import numpy as np

    want = np.asarray(base, dtype=np.float64) * (ranks * (ranks + 1) / 2)
    g = np.asarray(got, dtype=np.float64)
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    if g.shape != want.shape or scale == 0.0:
        raise CalibrationError(f"allreduce: result shape {g.shape} or reference is wrong")
    error = float(np.max(np.abs(g - want))) / scale
    if not error <= 1e-5:
        raise CalibrationError(f"allreduce: the reduced values are wrong (max relative error {error:.2e})")
    return error
