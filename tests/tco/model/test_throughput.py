"""Throughput sources in order: override, given, calibration, transferred calibration, assumed MFU."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from tco.model.throughput import empty_calibrations, resolve_serving_efficiency, resolve_training_throughput
from tco.model.work import training_work

from .conftest import mfu_defaults


def _hardware() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"accelerator": "A", "dtype": "bf16", "peak_tflops": 100.0, "memory_bandwidth_tb_s": 2.0},
            {"accelerator": "B", "dtype": "bf16", "peak_tflops": 400.0, "memory_bandwidth_tb_s": 4.0},
            {
                "accelerator": "NOPEAK",
                "dtype": "bf16",
                "peak_tflops": math.nan,
                "memory_bandwidth_tb_s": math.nan,
            },
        ]
    )


def _calibration(**row: Any) -> dict[str, Any]:
    base = {
        "run_id": "r1",
        "framework": "torch",
        "accelerator": "A",
        "device_count": 1,
        "kernel": "train_transformer",
        "variant": "small",
        "dtype": "bf16",
        "median_s": 1.0,
        "p10_s": 0.9,
        "p90_s": 1.25,
        "throughput": 1000.0,
        "throughput_unit": "tokens_per_s",
        "achieved_tflop_per_s": 30.0,
        "utilisation": 0.3,
        "measured_at": "2026-01-01T00:00:00Z",
        "status": "ok",
    }
    base.update(row)
    return base


def _work(kind: str = "tokens", **extra: Any) -> pd.DataFrame:
    row: dict[str, Any] = {"workload": "w", "kind": kind, "params": 1e9, "tokens": 1e10, "dtype": "bf16"}
    row.update(extra)
    return training_work(pd.DataFrame([row]))


def _resolve(
    calibrations: list[dict[str, Any]],
    accelerators: tuple[str, ...] = ("A", "B"),
    frameworks: tuple[str, ...] = ("torch", "jax"),
    work: pd.DataFrame | None = None,
    mfu: float | None = None,
) -> pd.DataFrame:
    cal = pd.DataFrame(calibrations) if calibrations else empty_calibrations()
    out = resolve_training_throughput(
        _work() if work is None else work,
        accelerators,
        frameworks,
        _hardware(),
        mfu_defaults("A"),
        cal,
        mfu_override=mfu,
    )
    return out.set_index(["accelerator", "framework"])


def test_without_calibrations_frameworks_collapse_to_any_with_the_assumed_default() -> None:
    out = _resolve([])
    assert list(out.index) == [("A", "any"), ("B", "any")]
    a, b = out.loc[("A", "any")], out.loc[("B", "any")]
    assert a["throughput_source"] == "assumed MFU" and a["mfu"] == 0.5 and a["achieved_tflop_per_s"] == 50.0
    assert (a["mfu_low"], a["mfu_high"]) == (0.4, 0.6)
    assert "test default" in a["throughput_detail"]
    assert b["mfu"] == 0.3 and "generic" in b["throughput_detail"]  # the "*" row


def test_direct_calibration_wins_and_transfers_by_peak_ratio() -> None:
    out = _resolve([_calibration()])
    direct, transferred, other = out.loc[("A", "torch")], out.loc[("B", "torch")], out.loc[("A", "jax")]
    assert direct["throughput_source"] == "calibration"
    assert direct["achieved_tflop_per_s"] == 30.0 and direct["mfu"] == pytest.approx(0.3)
    assert direct["achieved_tflop_per_s_low"] == pytest.approx(30.0 / 1.25)  # p90 step time
    assert direct["achieved_tflop_per_s_high"] == pytest.approx(30.0 / 0.9)  # p10 step time
    assert transferred["throughput_source"] == "calibration (transferred)"
    assert transferred["achieved_tflop_per_s"] == pytest.approx(0.3 * 400)  # same fraction of a 4x peak
    assert "peak ratio 4" in transferred["throughput_detail"] and "on A" in transferred["throughput_detail"]
    assert other["throughput_source"] == "assumed MFU"  # a torch calibration says nothing about jax


def test_newest_calibration_on_the_same_accelerator_is_used() -> None:
    rows = [
        _calibration(run_id="old", utilisation=0.2, achieved_tflop_per_s=20.0, measured_at="2025-01-01"),
        _calibration(run_id="new", utilisation=0.35, achieved_tflop_per_s=35.0, measured_at="2026-06-01"),
        _calibration(
            run_id="other",
            accelerator="B",
            utilisation=0.9,
            achieved_tflop_per_s=360.0,
            measured_at="2027-01-01",
        ),
    ]
    out = _resolve(rows, accelerators=("A",), frameworks=("torch",))
    assert out.loc[("A", "torch")]["achieved_tflop_per_s"] == 35.0
    assert "run new" in out.loc[("A", "torch")]["throughput_detail"]


def test_failed_rows_and_other_dtypes_are_ignored() -> None:
    out = _resolve([_calibration(status="failed"), _calibration(dtype="fp32")], accelerators=("A",))
    assert (out["throughput_source"] == "assumed MFU").all()


def test_override_beats_calibration() -> None:
    out = _resolve([_calibration()], mfu=0.45)
    assert (out["throughput_source"] == "override (--mfu)").all()
    assert out.loc[("B", "any")]["achieved_tflop_per_s"] == pytest.approx(180.0)  # same for every framework


def test_no_peak_and_no_calibration_is_named() -> None:
    out = _resolve([], accelerators=("NOPEAK",))
    row = out.iloc[0]
    assert row["throughput_source"] == "none" and math.isnan(row["achieved_tflop_per_s"])
    assert "no dense peak" in row["throughput_detail"] and "--peak-tflops" in row["throughput_detail"]
    # A calibration on the accelerator itself needs no peak.
    measured = _resolve([_calibration(accelerator="NOPEAK", utilisation=math.nan)], accelerators=("NOPEAK",))
    assert measured.iloc[0]["throughput_source"] == "calibration"
    assert measured.iloc[0]["achieved_tflop_per_s"] == 30.0


def test_samples_workloads_need_a_measured_rate() -> None:
    work = _work("samples", samples=1000.0, epochs=1.0, flops_per_sample=3e9, calibration_variant="resnet50")
    none = _resolve([], accelerators=("A",), work=work).iloc[0]
    assert none["throughput_source"] == "none" and "--samples-per-s" in none["throughput_detail"]
    cal = _calibration(
        kernel="train_cnn", variant="resnet50", throughput=500.0, throughput_unit="samples_per_s"
    )
    out = _resolve([cal], work=work)
    assert out.loc[("A", "torch")]["samples_per_s_per_accelerator"] == 500.0
    assert out.loc[("B", "torch")]["samples_per_s_per_accelerator"] == pytest.approx(2000.0)  # peak ratio 4
    assert out.loc[("A", "torch")]["achieved_tflop_per_s"] == pytest.approx(500 * 3e9 / 1e12)
    given = _resolve(
        [cal], work=_work("samples", samples=1e3, epochs=1.0, samples_per_s_per_accelerator=42.0)
    )
    assert (given["throughput_source"] == "given (--samples-per-s)").all()
    assert (given["samples_per_s_per_accelerator"] == 42.0).all()


def test_serving_efficiencies_from_membw_and_matmul() -> None:
    cal = pd.DataFrame(
        [
            _calibration(
                kernel="membw",
                throughput=1600.0,
                throughput_unit="gb_per_s",
                utilisation=math.nan,
                achieved_tflop_per_s=math.nan,
            ),
            _calibration(
                kernel="matmul",
                throughput=60.0,
                throughput_unit="tflop_per_s",
                utilisation=0.6,
                achieved_tflop_per_s=60.0,
            ),
        ]
    )
    out = resolve_serving_efficiency(
        ["A", "B"],
        ["torch"],
        _hardware(),
        cal,
        dtype="bf16",
        mbu_default=(0.8, 0.6, 0.9, "d"),
        flops_default=(0.7, 0.5, 0.7, "d"),
    )
    out = out.set_index("accelerator")
    assert out.loc["A", "mbu"] == pytest.approx(1600 / 2000) and out.loc["A", "mbu_source"] == "calibration"
    assert (
        out.loc["B", "mbu"] == pytest.approx(0.8)
        and out.loc["B", "mbu_source"] == "calibration (transferred)"
    )
    assert out.loc["A", "prefill_flops_efficiency"] == pytest.approx(0.6)
    empty = resolve_serving_efficiency(
        ["A"],
        ["torch", "jax"],
        _hardware(),
        empty_calibrations(),
        dtype="bf16",
        mbu_default=(0.8, 0.6, 0.9, "d"),
        flops_default=(0.7, 0.5, 0.7, "d"),
    )
    assert list(empty["framework"]) == ["any"] and empty.iloc[0]["mbu_low"] == 0.6
