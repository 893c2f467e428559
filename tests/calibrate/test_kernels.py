"""Kernel declarations: FLOP/byte counts by hand, and every check catches a wrong result."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibrate.errors import CalibrationError
from calibrate.kernels import (
    KERNEL_NAMES,
    KERNELS,
    CnnConfig,
    TransformerConfig,
    allreduce_bus_gb_per_s,
    check_allreduce,
    check_close,
    check_loss_falls,
    check_matmul,
    check_membw,
    matmul_flops,
    membw_bytes,
    resolve_kernels,
    sample_rows,
)


def test_kernel_names_are_the_contract() -> None:
    assert KERNEL_NAMES == (
        "matmul",
        "membw",
        "train_cnn",
        "train_transformer",
        "infer_cnn",
        "infer_transformer",
        "allreduce",
    )
    assert {k.throughput_unit for k in KERNELS.values()} <= {
        "tflop_per_s",
        "gb_per_s",
        "samples_per_s",
        "tokens_per_s",
    }


def test_resolve_kernels_orders_and_suggests() -> None:
    assert resolve_kernels(None) == KERNEL_NAMES
    assert resolve_kernels(["all"]) == KERNEL_NAMES
    assert resolve_kernels(["allreduce", "matmul"]) == ("matmul", "allreduce")
    with pytest.raises(CalibrationError, match="did you mean 'matmul'"):
        resolve_kernels(["matmull"])


def test_flop_and_byte_counts_by_hand() -> None:
    assert matmul_flops(2, 3, 4) == 48
    assert membw_bytes("scale", 10) == 80
    assert membw_bytes("triad", 10) == 120
    # nccl-tests: 8 ranks, 1 GB in 10 ms -> algbw 100 GB/s, busbw 100 * 2 * 7 / 8 = 175 GB/s
    assert allreduce_bus_gb_per_s(1e9, 0.01, 8) == pytest.approx(175.0)
    assert math.isnan(allreduce_bus_gb_per_s(1e9, 0.01, 1))


def test_cnn_flops_by_hand() -> None:
    cfg = CnnConfig(image=8, channels=1, conv1=2, conv2=4, hidden=5, classes=3, kernel=3)
    conv1 = 2 * 9 * 1 * 2 * 64
    conv2 = 2 * 9 * 2 * 4 * 16
    dense = 2 * (4 * 4) * 5 + 2 * 5 * 3
    assert cfg.flat == 16
    assert cfg.forward_flops_per_sample() == conv1 + conv2 + dense
    assert cfg.train_flops_per_sample() == 3 * (conv1 + conv2 + dense)


def test_transformer_flops_by_hand() -> None:
    cfg = TransformerConfig(vocab=10, d_model=4, heads=2, layers=3, seq=6, mlp_ratio=4)
    per_layer = 8 * 16 + 16 * 16 + 4 * 6 * 4
    assert cfg.forward_flops_per_token() == 3 * per_layer + 2 * 4 * 10
    with pytest.raises(CalibrationError):
        TransformerConfig(d_model=10, heads=3)
    with pytest.raises(CalibrationError):
        CnnConfig(image=10)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 512), st.integers(1, 512), st.integers(1, 512))
def test_matmul_flops_is_twice_the_multiply_adds(m: int, n: int, k: int) -> None:
    assert matmul_flops(m, n, k) == 2 * m * n * k


def _matmul_case(dtype: str, n: int = 96) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    bfloat16 = pytest.importorskip("ml_dtypes").bfloat16 if dtype == "bf16" else None  # ships with jax and TF
    np_dtype = {"fp32": np.float32, "bf16": bfloat16, "fp16": np.float16, "tf32": np.float32}[dtype]
    a = rng.standard_normal((n, n)).astype(np_dtype)
    b = rng.standard_normal((n, n)).astype(np_dtype)
    c = (a.astype(np.float32) @ b.astype(np.float32)).astype(np_dtype)
    return a, b, c


@pytest.mark.parametrize("dtype", ["fp32", "bf16", "fp16"])
def test_matmul_check_accepts_a_right_result_in_its_dtype(dtype: str) -> None:
    a, b, c = _matmul_case(dtype)
    rows, cols = sample_rows(96, 16, 2), sample_rows(96, 16, 3)
    error = check_matmul(a[rows], b[:, cols], c[rows][:, cols], dtype)
    assert 0 <= error < 0.01


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda c, a, b: np.zeros_like(c),
        lambda c, a, b: (a.astype(np.float32) @ b.astype(np.float32).T).astype(c.dtype),  # B transposed
        lambda c, a, b: c * 1.01,  # 1% off: beyond the fp32 tolerance
        lambda c, a, b: np.where(np.arange(c.size).reshape(c.shape) == 5, np.nan, c).astype(c.dtype),
    ],
    ids=["zeros", "transposed", "one-percent", "nan"],
)
def test_matmul_check_catches_a_wrong_result(corrupt: object) -> None:
    a, b, c = _matmul_case("fp32")
    wrong = corrupt(c, a, b)  # type: ignore[operator]
    with pytest.raises(CalibrationError, match="matmul fp32"):
        check_matmul(a, b, wrong, "fp32")


def test_matmul_check_catches_a_wrong_shape() -> None:
    a, b, c = _matmul_case("fp32")
    with pytest.raises(CalibrationError, match="shape"):
        check_matmul(a, b, c[:, :-1], "fp32")


def test_membw_check() -> None:
    rng = np.random.default_rng(4)
    a, c = rng.standard_normal(100).astype(np.float32), rng.standard_normal(100).astype(np.float32)
    assert check_membw("scale", 1.5, [a], np.float32(1.5) * a) < 1e-6
    assert check_membw("triad", 0.7, [a, c], a + np.float32(0.7) * c) < 1e-6
    with pytest.raises(CalibrationError, match="scale"):
        check_membw("scale", 1.5, [a], a)  # a copy, not the scaled array
    with pytest.raises(CalibrationError, match="triad"):
        check_membw("triad", 0.7, [a, c], a + c)
    with pytest.raises(CalibrationError, match="not finite or the reference is zero"):
        check_membw("scale", 1.5, [np.zeros(4)], np.zeros(4))


def test_loss_must_fall() -> None:
    assert check_loss_falls([2.3, 2.2, 2.0, 1.8, 1.5, 1.2, 1.0, 0.9], model="m") == (2.3, pytest.approx(0.95))
    with pytest.raises(CalibrationError, match="did not fall"):
        check_loss_falls([2.3] * 8, model="m")  # e.g. the optimizer step does nothing
    with pytest.raises(CalibrationError, match="did not fall"):
        check_loss_falls([2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0], model="m")
    with pytest.raises(CalibrationError, match="not finite"):
        check_loss_falls([2.3, 2.0, float("nan"), 1.0], model="m")
    with pytest.raises(CalibrationError, match="at least 4"):
        check_loss_falls([2.3, 1.0], model="m")


def test_check_close() -> None:
    rng = np.random.default_rng(5)
    want = rng.standard_normal((2, 10))
    assert check_close(want + 1e-7, want, what="x", rtol=1e-4) < 1e-4
    with pytest.raises(CalibrationError, match="differs"):
        check_close(want[:, ::-1], want, what="x", rtol=1e-2)
    with pytest.raises(CalibrationError, match="shape"):
        check_close(want[:1], want, what="x", rtol=1e-2)
    with pytest.raises(CalibrationError, match="constant"):
        check_close(np.ones((2, 3)), np.ones((2, 3)), what="x", rtol=1e-2)


def test_allreduce_check() -> None:
    base = np.random.default_rng(6).standard_normal(64).astype(np.float32)
    assert check_allreduce(base * 3, base, 2) < 1e-6  # (1 + 2) * base
    assert check_allreduce(base * 10, base, 4) < 1e-6
    with pytest.raises(CalibrationError, match="wrong"):
        check_allreduce(base * 2, base, 2)  # a broadcast, not a sum
