"""The library's estimates as a notebook calls them: typed requests checked on construction, results with
the shown rows, the grid, the assumptions in force and the provenance; throughput evidence passed in."""

from __future__ import annotations

import pandas as pd
import pytest

from tco.api import (
    OfferQuery,
    Selection,
    ServingRequest,
    ServingWorkload,
    TrainingRequest,
    TrainingWorkload,
    estimate_serving,
    estimate_training,
)
from tco.errors import TcoError
from tco.model.settings import Settings

H100 = OfferQuery(accelerators=("h100",), providers=("aws",), pricing_models=("on_demand",))


def test_training_estimate_by_hand() -> None:
    """6 x 1e9 x 1e11 FLOP on 8 x 989 TFLOP/s at MFU 0.5, scaling 1, goodput 1, $2 per accelerator-hour."""
    request = TrainingRequest(
        TrainingWorkload(params=1e9, tokens=1e11),
        OfferQuery(accelerators=("h100",), price_usd_per_accelerator_hour=2.0),
        counts=(8,), mfu=0.5, goodput=1.0, scaling_efficiency=1.0, runs_per_month=(2.0,),
    )  # fmt: skip
    estimate = estimate_training(request)
    (row,) = estimate.rows.to_dict("records")
    wall = 6 * 1e9 * 1e11 / (8 * 989e12 * 0.5) / 3600
    assert row["wall_hours"] == pytest.approx(wall)
    assert row["cost_usd_per_month"] == pytest.approx(2 * 8 * 2 * wall)
    assert estimate.runs_per_month == (2.0,)
    names = dict(estimate.provenance.assumptions)
    assert names["goodput"].value == 1.0 and names["goodput"].source == "override"


def test_requests_are_checked_on_construction() -> None:
    workload = TrainingWorkload(params=7e9, tokens=2e11)
    with pytest.raises(TcoError, match="--sort must be count, cost or time"):
        TrainingRequest(workload, sort="price")
    with pytest.raises(TcoError, match="unknown framework 'pytorch'"):
        TrainingRequest(workload, frameworks=("pytorch",))
    with pytest.raises(TcoError, match="counts must be whole numbers"):
        TrainingRequest(workload, counts=(0,))
    with pytest.raises(TcoError, match="top must be >= 0"):
        Selection(top=-1)
    with pytest.raises(TcoError, match="MBU must be in"):
        ServingRequest(ServingWorkload(model="llama-2-7b"), mbu=1.5)
    with pytest.raises(TcoError, match="nothing to estimate"):
        estimate_training(TrainingRequest(TrainingWorkload(), H100))


def test_selection_notes_say_what_was_left_out_and_the_grid_keeps_it() -> None:
    request = TrainingRequest(
        TrainingWorkload(model="llama-2-7b"), OfferQuery(accelerators=("h100",)), counts=(1024,),
        selection=Selection(top=2),
    )  # fmt: skip
    estimate = estimate_training(request)
    assert len(estimate.rows) == 2 and len(estimate.grid) > 2
    (notes,) = estimate.provenance.notes
    assert "cheapest instance type per provider" in notes and "showing 2 of" in notes
    assert "infeasible option(s) left out" in notes  # spot at 1024 GPUs stretches past the limit
    assert estimate.rows["feasible"].all() and not estimate.grid["feasible"].all()


def test_a_measured_run_passed_in_is_the_throughput_source() -> None:
    """Throughput evidence handed to the request (e.g. a tracked run) is used as a calibration."""
    measured = pd.DataFrame(
        [
            {
                "run_id": "run-7", "framework": "torch", "accelerator": "H100-80GB", "device_count": 8,
                "kernel": "train_transformer", "variant": "small", "dtype": "bf16", "median_s": 1.0,
                "p10_s": 0.95, "p90_s": 1.05, "throughput": 1e5, "throughput_unit": "tokens_per_s",
                "achieved_tflop_per_s": 989.0 * 0.55, "utilisation": 0.55,
                "measured_at": "2026-01-02T03:04:05Z", "status": "ok",
            }
        ]
    )  # fmt: skip
    request = TrainingRequest(
        TrainingWorkload(model="llama-2-7b"), H100, counts=(64,), frameworks=("torch",), calibrations=measured
    )
    (row,) = estimate_training(request).rows.to_dict("records")
    assert row["throughput_source"] == "calibration" and row["mfu"] == pytest.approx(0.55)
    assert "run run-7" in row["throughput_detail"]


def test_global_batch_tokens_is_an_input_of_the_workload() -> None:
    """``--global-batch-tokens`` (or ``--set global_batch_tokens``) sets the optimizer step the scaling model
    times: a small batch on many accelerators exposes more communication per step."""
    shape = {"params": 7e9, "tokens": 2e11, "layers": 32, "hidden": 4096, "seq_len": 4096}
    assert (
        TrainingWorkload(**shape, global_batch_tokens=2**20).row(Settings())["global_batch_tokens"] == 2**20
    )
    assert (
        TrainingWorkload(**shape).row(Settings({"global_batch_tokens": 2.0**21}))["global_batch_tokens"]
        == 2**21
    )

    def step_s(batch: float) -> tuple[float, float]:
        workload = TrainingWorkload(**shape, global_batch_tokens=batch)
        rows = estimate_training(TrainingRequest(workload, H100, counts=(512,), frameworks=("torch",))).rows
        return float(rows["step_s"].iloc[0]), float(rows["scaling_efficiency"].iloc[0])

    (small_step, small_eff), (large_step, large_eff) = step_s(2**20), step_s(2**24)
    assert small_step < large_step and small_eff < large_eff


def test_serving_estimate_holds_the_workload_and_only_asked_for_spot() -> None:
    request = ServingRequest(
        ServingWorkload(model="llama-2-7b", requests_per_s=5.0), OfferQuery(accelerators=("h100",)),
        selection=Selection(top=0),
    )  # fmt: skip
    estimate = estimate_serving(request)
    assert estimate.workload["workload"] == "llama-2-7b" and estimate.workload["requests_per_s"] == 5.0
    assert not estimate.grid["pricing_model"].eq("spot").any(), "an endpoint on spot is a choice"
    assert (estimate.rows["replicas"] >= 1).all()
    names = dict(estimate.provenance.assumptions)
    assert names["headroom"].value == pytest.approx(0.2)
    spot = estimate_serving(
        ServingRequest(
            ServingWorkload(model="llama-2-7b"), OfferQuery(accelerators=("h100",), pricing_models=("spot",))
        )
    )
    assert spot.rows["pricing_model"].eq("spot").all()
