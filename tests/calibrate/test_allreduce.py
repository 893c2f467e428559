"""All-reduce across two real gloo processes launched by torchrun (the CPU path of the NCCL benchmark)."""

from __future__ import annotations

import pytest

from calibrate.backends.torch import run_torchrun_allreduce
from calibrate.errors import CalibrationError
from calibrate.timing import Budget

BUDGET = Budget(warmup=1, min_repeats=3, max_repeats=5, budget_s=0.01, sample_s=0.002)


def test_two_process_gloo_allreduce_under_torchrun() -> None:
    result = run_torchrun_allreduce(ranks=2, device="cpu", sizes=(4096, 1 << 20), budget=BUDGET)
    assert result["ranks"] == 2 and result["backend"] == "gloo"
    assert result["check_error"] < 1e-5  # every rank held the exact sum before anything was timed
    assert [s["bytes"] for s in result["sizes"]] == [4096, 1 << 20]
    for size in result["sizes"]:
        assert 3 <= size["repeats"] <= 5 and len(size["samples_s"]) == size["repeats"]
        assert size["busbw_gb_per_s"] > 0
        # nccl-tests: busbw = algbw * 2 (n - 1) / n, which is algbw itself for two ranks
        assert size["busbw_gb_per_s"] == pytest.approx(size["algbw_gb_per_s"])
    assert result["peak_memory_bytes"] > 0


def test_torchrun_failure_is_reported_with_its_output() -> None:
    with pytest.raises(CalibrationError, match="torchrun all-reduce failed"):
        run_torchrun_allreduce(ranks=2, device="cuda", sizes=(4096,), budget=BUDGET, timeout_s=120)
