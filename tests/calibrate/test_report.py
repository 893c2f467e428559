"""The measured comparison built from result rows: latest run per framework and device, figures per column."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from calibrate.devices import DeviceInfo
from calibrate.report import comparison, latest
from calibrate.results import COLUMNS, Measurement, RunContext, Task, failed_row, make_row
from calibrate.timing import Timing


def row(
    framework: str,
    kernel: str,
    variant: str,
    *,
    run_id: str = "r1",
    median_s: float = 0.01,
    throughput: float = 1.0,
    metric: str = "best",
    dtype: str = "fp32",
    when: str = "2026-01-01T00:00:00Z",
    compile_s: float = 2.0,
    cache: str | None = None,
) -> dict[str, object]:
    ctx = RunContext(
        run_id=run_id,
        framework=framework,
        framework_version="1.0",
        installed_bytes=1e9,
        device=DeviceInfo.make("cpu", "Test CPU", 1),
        profile="tiny",
        extra={"framework_import_s": 1.25},
    )
    timing = Timing(first_call_s=compile_s, samples_s=(median_s, median_s, median_s), inner=1)
    m = Measurement(
        task=Task(kernel, variant, dtype),
        shape="s",
        timing=timing,
        throughput=throughput,
        metric=metric,
        flop_per_s=throughput * 1e12,
        compile_cache=cache,
        peak_memory_bytes=5e8,
    )
    out = make_row(ctx, m)
    out["measured_at"] = when
    return out


def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=list(COLUMNS))


def test_latest_keeps_the_newest_run_per_framework_and_device() -> None:
    rows = [
        row("torch", "matmul", "eager", run_id="old", throughput=1.0, when="2026-01-01T00:00:00Z"),
        row("torch", "matmul", "eager", run_id="new", throughput=2.0, when="2026-01-02T00:00:00Z"),
        row("jax", "matmul", "jit", run_id="old", throughput=3.0, when="2026-01-01T00:00:00Z"),
    ]
    kept = latest(frame(rows))
    assert sorted(zip(kept["framework"], kept["run_id"], strict=True)) == [("jax", "old"), ("torch", "new")]


def test_comparison_figures() -> None:
    rows = [
        row("torch", "matmul", "eager", throughput=0.2),
        row("torch", "matmul", "eager", dtype="bf16", throughput=0.4),
        row("torch", "membw", "eager", throughput=30.0, metric="triad"),
        row("torch", "membw", "eager", throughput=25.0, metric="scale"),
        row("torch", "train_transformer", "eager", median_s=0.02, throughput=1000.0),
        row(
            "torch",
            "train_transformer",
            "compile",
            median_s=0.01,
            throughput=2000.0,
            compile_s=15.0,
            cache="cold",
        ),
        row("torch", "infer_transformer", "eager", median_s=0.003, metric="latency"),
        row("torch", "infer_transformer", "eager", median_s=0.01, throughput=5e4, metric="throughput"),
        row("torch", "allreduce", "eager", throughput=1.5, metric="busbw"),
        row("jax", "matmul", "jit", throughput=0.45),
        failed_row(run_id="r1", framework="jax", task=Task("membw", "jit", "fp32"), error="x"),
    ]
    rows[-1]["device_name"] = "Test CPU"
    rows[-1]["measured_at"] = "2026-01-01T00:00:00Z"
    table = comparison(frame(rows)).set_index("framework")
    torch = table.loc["torch"]
    assert torch["matmul_fp32_tflop_per_s"] == 0.2
    assert torch["matmul_bf16_tflop_per_s"] == 0.4
    assert torch["membw_triad_gb_per_s"] == 30.0
    assert (
        torch["build_s"] == 15.0 and torch["build_variant"] == "compile" and torch["compile_cache"] == "cold"
    )
    assert torch["compile_speedup"] == pytest.approx(2.0)
    assert torch["train_transformer_tokens_per_s"] == 2000.0
    assert torch["train_transformer_variant"] == "compile"
    assert torch["infer_latency_p50_s"] == pytest.approx(0.003)
    assert torch["infer_tokens_per_s"] == 5e4
    assert torch["allreduce_busbw_gb_per_s"] == 1.5
    assert torch["import_s"] == 1.25
    assert torch["installed_bytes"] == 1e9
    jax = table.loc["jax"]
    assert jax["matmul_fp32_tflop_per_s"] == 0.45
    assert jax["failed_rows"] == 1 and jax["ok_rows"] == 1
    for missing in ("membw_triad_gb_per_s", "build_s", "train_cnn_samples_per_s", "allreduce_busbw_gb_per_s"):
        assert jax[missing] is None or math.isnan(jax[missing])  # not measured: NaN, never 0


def test_comparison_of_nothing() -> None:
    assert comparison(frame([])).empty


def test_latest_and_comparison_with_key_columns_all_null() -> None:
    """A key column that is all null is float64 NaN in a frame: it once made ``latest`` merge text with
    float64 (ValueError). Rows without a framework, host or device still group, and the newest run wins."""
    rows = [
        row("torch", "matmul", "eager", run_id="old", throughput=1.0, when="2026-01-01T00:00:00Z"),
        row("torch", "matmul", "eager", run_id="new", throughput=2.0, when="2026-01-02T00:00:00Z"),
        row("torch", "matmul", "eager", run_id="undated", throughput=9.0, when="2026-01-03T00:00:00Z"),
    ]
    rows[2]["measured_at"] = None  # a run without a time is older than any dated one
    data = frame(rows)
    for column in ("framework", "host", "device_name", "run_id"):
        data[column] = float("nan")
    kept = latest(data)
    assert len(kept) == 3  # one group, one run (all run ids null)
    data = frame(rows)
    data["framework"] = float("nan")  # no framework (never stored: the store requires one)
    assert list(latest(data)["run_id"]) == ["new"] and len(comparison(data)) == 1
    data = frame(rows)
    data["host"] = data["device_name"] = float("nan")
    table = comparison(data)
    assert len(table) == 1 and table.loc[0, "matmul_fp32_tflop_per_s"] == 2.0
