"""On an NVIDIA GPU: the device is named canonically, figures are a plausible fraction of the sourced peak.

Marked ``gpu`` and skipped where no GPU is visible (``nvidia-smi``), so CPU machines and CI skip them.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from calibrate.devices import CANONICAL
from tests.calibrate.helpers import run_worker


def _gpus() -> int:
    if shutil.which("nvidia-smi") is None:
        return 0
    done = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return sum(line.startswith("GPU ") for line in done.stdout.splitlines()) if done.returncode == 0 else 0


pytestmark = [pytest.mark.gpu, pytest.mark.skipif(_gpus() == 0, reason="needs an NVIDIA GPU")]


@pytest.mark.parametrize("framework", ["torch", "jax", "tensorflow"])
def test_quick_calibration_on_the_gpu(framework: str) -> None:
    run = run_worker(
        "--framework",
        framework,
        "--device",
        "cuda",
        "--profile",
        "quick",
        "--kernels",
        "matmul,membw,train_transformer",
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert all(r["status"] == "ok" for r in run.rows), [r["error"] for r in run.rows]
    for row in run.rows:
        assert row["device_kind"] == "cuda"
        if row["accelerator"] is not None:
            assert row["accelerator"] in CANONICAL
            if row["utilisation"] is not None:
                assert 0.01 < row["utilisation"] < 1.2  # above 1: the timing (or the peak table) is wrong
    bf16 = next(r for r in run.rows if r["kernel"] == "matmul" and r["dtype"] == "bf16")
    assert bf16["throughput"] > 10  # TFLOP/s: any tensor-core GPU


@pytest.mark.skipif(_gpus() < 2, reason="needs two GPUs")
def test_nccl_allreduce_across_gpus() -> None:
    run = run_worker(
        "--framework",
        "torch",
        "--device",
        "cuda",
        "--profile",
        "quick",
        "--kernels",
        "allreduce",
        timeout=900,
    )
    (row,) = run.rows
    assert row["status"] == "ok" and "backend=nccl" in row["shape"]
    assert row["throughput"] > 1  # GB/s bus bandwidth
