"""Every kernel of every framework on this CPU, at tiny sizes: one worker subprocess per framework.

The rows must be complete and plausible, every variant must run (torch eager and torch.compile, jax.jit,
TensorFlow XLA and plain tf.function), every check must have passed (a failed check is a failed row), and
all-reduce must run for real: two gloo processes under torchrun, and psum across two XLA host devices.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from calibrate.backends.base import BACKENDS
from calibrate.kernels import KERNEL_NAMES
from tests.calibrate.helpers import WorkerRun, run_worker

FRAMEWORKS = ("torch", "jax", "tensorflow")
VARIANTS = {"torch": {"eager", "compile"}, "jax": {"jit"}, "tensorflow": {"xla", "function"}}
ALTERNATES = "train_transformer,infer_cnn"


def test_every_registered_backend_is_exercised() -> None:
    assert set(FRAMEWORKS) == set(BACKENDS)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_kernel_on_cpu(framework: str) -> None:
    """One worker per framework (one subprocess each, also under pytest-xdist); every check below."""
    args = [
        "--framework",
        framework,
        "--device",
        "cpu",
        "--profile",
        "tiny",
        "--run-id",
        "test",
        "--alternates",
        ALTERNATES,
    ]
    if framework == "jax":
        args += ["--host-devices", "2"]  # two XLA CPU devices, so that psum really runs
    run = run_worker(*args, timeout=600)
    check_worker_finishes_and_every_task_is_ok(run)
    check_rows_carry_versions_device_and_positive_figures(run)
    check_every_variant_runs(run)
    check_matmul_sweeps_dtypes_and_checks_each_size(run)
    check_memory_bandwidth_scale_and_triad(run)
    check_training_loss_fell_and_units(run)
    check_inference_latency_and_throughput_rows(run)
    check_allreduce_is_real(run)


def _details(row: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = json.loads(row["details"])
    return details


def check_worker_finishes_and_every_task_is_ok(run: WorkerRun) -> None:
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.events[-1] == {"event": "done"}
    failed = [(r["kernel"], r["variant"], r["dtype"], r["error"]) for r in run.rows if r["status"] != "ok"]
    assert failed == []
    ran = {r["kernel"] for r in run.rows}
    framework = run.plan["framework"]
    expected = set(KERNEL_NAMES) - ({"allreduce"} if framework == "tensorflow" else set())
    assert ran == expected
    if framework == "tensorflow":
        assert [k for k, _ in run.plan["skipped"]] == ["allreduce"]


def check_rows_carry_versions_device_and_positive_figures(run: WorkerRun) -> None:
    for row in run.rows:
        assert row["framework_version"]
        assert row["device_kind"] == "cpu" and row["accelerator"] == "CPU" and row["device_name"]
        assert row["throughput"] > 0 and math.isfinite(row["throughput"])
        assert row["median_s"] > 0 and row["repeats"] >= 3
        assert row["p10_s"] <= row["median_s"] <= row["p90_s"] <= row["p99_s"]
        assert row["compile_s"] > 0
        assert row["peak_memory_bytes"] > 10e6  # the worker's peak RSS: a framework is loaded
        assert row["installed_bytes"] > 50e6
        assert row["utilisation"] is None  # no sourced CPU peak: missing stays missing
        assert row["host"] and row["measured_at"].endswith("Z") and row["tool_version"]
        assert row["run_id"] == "test" and row["profile"] == "tiny"
        assert _details(row)["framework_import_s"] > 0


def check_every_variant_runs(run: WorkerRun) -> None:
    framework = run.plan["framework"]
    assert {r["variant"] for r in run.rows} == VARIANTS[framework]
    for kernel in ALTERNATES.split(","):
        assert {r["variant"] for r in run.ok(kernel)} == VARIANTS[framework]
    if framework == "torch":
        compiled = [r for r in run.rows if r["variant"] == "compile"]
        assert compiled and all(r["compile_cache"] in ("cold", "warm", "partial") for r in compiled)


def check_matmul_sweeps_dtypes_and_checks_each_size(run: WorkerRun) -> None:
    rows = run.ok("matmul")
    assert {r["dtype"] for r in rows} == {"fp32", "bf16", "fp16"}
    for row in rows:
        details = _details(row)
        assert [p["n"] for p in details["sweep"]] == [64, 128][: len(details["sweep"])]
        assert all(p["check_error"] < 0.05 for p in details["sweep"])
        assert row["achieved_tflop_per_s"] == pytest.approx(row["throughput"])
        assert row["shape"] == f"m={details['best_n']},n={details['best_n']},k={details['best_n']}"


def check_memory_bandwidth_scale_and_triad(run: WorkerRun) -> None:
    rows = run.ok("membw")
    assert sorted(r["metric"] for r in rows) == ["scale", "triad"]
    assert all(r["throughput_unit"] == "gb_per_s" and r["achieved_tflop_per_s"] is None for r in rows)


def check_training_loss_fell_and_units(run: WorkerRun) -> None:
    for kernel, unit in (("train_cnn", "samples_per_s"), ("train_transformer", "tokens_per_s")):
        for row in run.ok(kernel):
            details = _details(row)
            assert details["loss_last"] < details["loss_first"]
            assert row["throughput_unit"] == unit
            assert row["achieved_tflop_per_s"] > 0
    gpt = run.ok("train_transformer")[0]
    assert _details(gpt)["tokens_per_s"] == pytest.approx(_details(gpt)["samples_per_s"] * 16)


def check_inference_latency_and_throughput_rows(run: WorkerRun) -> None:
    for kernel in ("infer_cnn", "infer_transformer"):
        rows = run.ok(kernel)
        assert {r["metric"] for r in rows} == {"latency", "throughput"}
        latency = next(r for r in rows if r["metric"] == "latency")
        assert "batch=1," in latency["shape"]
        assert _details(latency)["latency_p99_s"] == latency["p99_s"]
        assert all(_details(r)["check_error"] < 5e-3 for r in rows)


def check_allreduce_is_real(run: WorkerRun) -> None:
    if run.plan["framework"] == "tensorflow":
        assert not run.ok("allreduce")  # TensorFlow does not measure all-reduce (torch and jax do)
        return
    (row,) = run.ok("allreduce")
    assert row["device_count"] == 2
    assert row["metric"] == "busbw" and row["throughput_unit"] == "gb_per_s"
    details = _details(row)
    assert details["ranks"] == 2 and details["check_error"] < 1e-5
    assert len(details["sizes"]) == 2
    expected = "backend=gloo" if run.plan["framework"] == "torch" else "backend=psum/cpu"
    assert expected in row["shape"]
