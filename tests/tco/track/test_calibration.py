"""A tracked run as the projection's throughput source: ``from_run`` -> tco.model, "measured on your job".

The runs here are real tracked loops; where a GPU is needed for the peak, the device is described (a
:class:`DeviceSpec` is data: the tracker reads its name and peak) while the steps run on this CPU.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from calibrate.peaks import load_peaks
from calibrate.schema import COLUMNS
from tco.model.throughput import SOURCE_CALIBRATION, SOURCE_TRANSFERRED, resolve_training_throughput
from tco.model.work import training_work, validate_training_workloads
from tco.presets import hardware_table, load_mfu_defaults
from tco.track import DeviceSpec, Tracker, TrackError
from tco.track.calibration import MEASURED_ON_YOUR_JOB, MeasuredRun, from_run, label_measured

from .helpers import sleep_loop

A100 = DeviceSpec("torch", "2.13.0", "cuda", "NVIDIA A100-SXM4-80GB", 8, "bf16", "described for the test")


def _resolve(measured: MeasuredRun, accelerators: list[str]) -> pd.DataFrame:
    workloads = training_work(pd.DataFrame([measured.workload]))
    return resolve_training_throughput(
        workloads,
        accelerators,
        [measured.framework],
        hardware_table(accelerators),
        load_mfu_defaults(),
        measured.calibrations,
    )


def test_a_cpu_run_reprojects_its_own_measured_rate() -> None:
    tracker = Tracker(
        run_id="cpu-job", tokens_per_step=512, params=2e6, layers=2, hidden=128, seq_len=64, target_tokens=1e6
    )
    sleep_loop(tracker, 6, step_s=0.003)
    report = tracker.close()
    measured = from_run("cpu-job")

    assert list(measured.calibrations.columns) == list(COLUMNS)
    (row,) = measured.calibrations.to_dict("records")
    assert row["kernel"] == "train_transformer" and row["profile"] == MEASURED_ON_YOUR_JOB
    assert row["accelerator"] == "CPU" and math.isnan(row["utilisation"])  # no peak: missing, not 0
    assert measured.workload["kind"] == "tokens" and measured.workload["tokens"] == 1e6
    assert measured.workload["workload_source"].startswith(MEASURED_ON_YOUR_JOB)
    validate_training_workloads(pd.DataFrame([measured.workload]))

    out = _resolve(measured, ["CPU"])
    (cpu,) = out.to_dict("records")
    assert cpu["throughput_source"] == SOURCE_CALIBRATION
    per_token = 6 * 2e6 + 12 * 2 * 128 * 64
    assert cpu["achieved_tflop_per_s"] * 1e12 / per_token == pytest.approx(report.tokens_per_s, rel=1e-9)


def test_a_gpu_run_transfers_to_another_accelerator_by_its_fraction_of_peak() -> None:
    tracker = Tracker(
        run_id="a100-job", tokens_per_step=8 * 4096, params=7e9, device=A100, target_tokens=2e12
    )
    sleep_loop(tracker, 6, step_s=0.003)
    report = tracker.close()
    measured = from_run("a100-job")
    (row,) = measured.calibrations.to_dict("records")
    peak_a100 = load_peaks()["A100-80GB"].tflops_for("bf16")
    assert row["accelerator"] == "A100-80GB" and row["device_count"] == 8
    assert row["throughput"] == pytest.approx(report.tokens_per_s / 8, rel=1e-12)  # per device
    assert row["utilisation"] == pytest.approx(row["achieved_tflop_per_s"] / peak_a100, rel=1e-12)
    assert row["utilisation"] == pytest.approx(report.mfu, rel=1e-9)

    out = _resolve(measured, ["A100-80GB", "H100-80GB"]).set_index("accelerator")
    assert out.loc["A100-80GB", "throughput_source"] == SOURCE_CALIBRATION
    assert out.loc["H100-80GB", "throughput_source"] == SOURCE_TRANSFERRED
    assert out.loc["H100-80GB", "mfu"] == pytest.approx(row["utilisation"], rel=1e-9)
    assert out.loc["A100-80GB", "achieved_tflop_per_s"] == pytest.approx(
        row["achieved_tflop_per_s"], rel=1e-12
    )

    labelled = label_measured(out.reset_index(), measured).set_index("accelerator")
    assert labelled.loc["A100-80GB", "throughput_source"] == MEASURED_ON_YOUR_JOB
    assert labelled.loc["H100-80GB", "throughput_source"] == f"{MEASURED_ON_YOUR_JOB} (transferred)"
    assert f"{MEASURED_ON_YOUR_JOB}: run a100-job" in labelled.loc["H100-80GB", "throughput_detail"]


def test_a_run_prices_the_whole_job_on_other_offers() -> None:
    """What ``tco estimate train --from-run`` will do: the job, re-projected on catalog offers."""
    from pricing.catalog import OfferFilter, filter_offers, load_catalog
    from tco.model.offers import cheapest_regions, purchase_options
    from tco.model.training import project_training

    tracker = Tracker(
        run_id="priced-job", tokens_per_step=8 * 4096, params=7e9, device=A100, target_tokens=1e11
    )
    sleep_loop(tracker, 5, step_s=0.002)
    tracker.close()
    measured = from_run("priced-job")
    spec = OfferFilter(providers=("aws",), accelerators=("H100-80GB",), pricing_models=("on_demand",))
    options = cheapest_regions(purchase_options(filter_offers(load_catalog(None, ("aws",)).offers, spec)))
    frame = project_training(
        pd.DataFrame([measured.workload]),
        options,
        hardware_table(["H100-80GB"]),
        counts=[8, 64],
        frameworks=[measured.framework],
        mfu_defaults=load_mfu_defaults(),
        calibrations=measured.calibrations,
    )
    frame = label_measured(frame, measured)
    assert not frame.empty
    assert set(frame["throughput_source"]) == {f"{MEASURED_ON_YOUR_JOB} (transferred)"}
    assert (frame["cost_usd_per_run"] > 0).all()


def test_a_samples_run_is_a_per_sample_calibration() -> None:
    tracker = Tracker(run_id="cnn-job", samples_per_step=64, target_epochs=3, steps_per_epoch=100)
    sleep_loop(tracker, 5, step_s=0.003)
    report = tracker.close()
    measured = from_run("cnn-job")
    assert measured.workload["kind"] == "samples"
    assert measured.workload["samples"] == 100 * 64 and measured.workload["epochs"] == 3
    assert measured.workload["calibration_variant"] == "run:cnn-job"
    (row,) = measured.calibrations.to_dict("records")
    assert row["throughput_unit"] == "samples_per_s" and row["variant"] == "run:cnn-job"
    (cpu,) = _resolve(measured, ["CPU"]).to_dict("records")
    assert cpu["throughput_source"] == SOURCE_CALIBRATION
    assert cpu["samples_per_s_per_accelerator"] == pytest.approx(report.samples_per_s, rel=1e-12)


def test_a_run_with_only_counted_flops_is_a_flops_workload() -> None:
    tracker = Tracker(run_id="flops-job", tokens_per_step=100, flops_per_token=1e6, target_steps=50)
    sleep_loop(tracker, 4, step_s=0.002)
    tracker.close()
    measured = from_run("flops-job")
    assert measured.workload["kind"] == "flops"
    assert measured.workload["train_flops"] == pytest.approx(1e6 * 50 * 100, rel=1e-12)


def test_a_run_that_cannot_be_a_calibration_says_why() -> None:
    warm_only = Tracker(run_id="too-short", tokens_per_step=10, params=1e6)
    sleep_loop(warm_only, 1)
    warm_only.close()
    with pytest.raises(TrackError, match="no steady steps"):
        from_run("too-short")
    uncounted = Tracker(run_id="uncounted")
    sleep_loop(uncounted, 3)
    uncounted.close()
    with pytest.raises(TrackError, match="neither tokens"):
        from_run("uncounted")
    with pytest.raises(TrackError, match="no tracked run"):
        from_run("missing")
