"""The tracker core on plain loops: where the time goes, dollars, ETA, MFU, resumed runs, budgets, prices.

Steps sleep for a known minimum time, so every timing assertion is a bound that a loaded machine cannot
break (sleeps overshoot, never undershoot); exact assertions are about arithmetic, not about the clock.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from time import perf_counter

import pytest

from calibrate.peaks import load_peaks
from tco.track import BudgetExceeded, BudgetWarning, DeviceSpec, Tracker, TrackError
from tco.track.store import RunStore

from .helpers import sleep_loop


def test_time_goes_to_startup_steps_data_eval_and_checkpoints() -> None:
    started = perf_counter()
    tracker = Tracker(tokens_per_step=100, samples_per_step=4, usd_per_hour=36.0)
    time.sleep(0.02)  # model set-up: start-up
    sleep_loop(tracker, 8, step_s=0.01, data_s=0.005)
    with tracker.evaluation():
        time.sleep(0.03)
    with tracker.checkpoint():
        time.sleep(0.02)
    report = tracker.close()
    wall = perf_counter() - started

    assert report.step == 8 and report.tokens == 800 and report.samples == 32
    assert report.startup_s >= 0.02 + 0.005  # the first data wait comes before any step
    assert report.data_wait_s >= 7 * 0.005
    assert report.eval_s >= 0.03
    assert report.checkpoint_s >= 0.02
    productive = report.goodput * report.elapsed_s
    assert productive >= 8 * 0.01
    claimed = productive + report.startup_s + report.data_wait_s + report.eval_s + report.checkpoint_s
    assert claimed <= report.elapsed_s + 1e-9
    assert 0.02 + 8 * 0.015 + 0.05 <= report.elapsed_s <= wall
    # data waits, evaluation and checkpoints are not progress: goodput leaves them out
    assert report.goodput <= 1 - (report.data_wait_s + report.eval_s + report.checkpoint_s) / report.elapsed_s


def test_dollars_are_billed_hours_times_the_price() -> None:
    tracker = Tracker(tokens_per_step=10, usd_per_hour=98.32)
    sleep_loop(tracker, 5)
    live = tracker.report()
    assert live.cost_usd == live.elapsed_s / 3600.0 * 98.32
    final = tracker.close()
    assert final.cost_usd == final.elapsed_s / 3600.0 * 98.32
    again = _store().report(tracker.run_id)
    assert again.cost_usd == final.cost_usd
    assert again.elapsed_s == final.elapsed_s


def _store() -> RunStore:
    from tco.home import resolve_home

    return RunStore.in_home(resolve_home())


def test_without_a_price_there_are_no_dollars() -> None:
    tracker = Tracker(tokens_per_step=10)
    sleep_loop(tracker, 3)
    report = tracker.close()
    assert math.isnan(report.cost_usd) and math.isnan(report.projected_cost_usd)
    assert "tco/cost_usd" not in report.metrics()
    assert "no price" in report.line()


def test_a_cpu_has_no_peak_so_mfu_is_missing_not_zero() -> None:
    tracker = Tracker(tokens_per_step=64, params=1e6, usd_per_hour=1.0)
    sleep_loop(tracker, 4)
    report = tracker.close()
    assert report.tflop_per_s > 0
    assert math.isnan(report.mfu)
    assert "tco/mfu" not in report.metrics() and "tco/tflop_per_s" in report.metrics()
    assert "MFU" not in report.line()


def test_mfu_is_model_flops_over_the_peak_of_every_device() -> None:
    device = DeviceSpec("torch", "2.13.0", "cuda", "NVIDIA H100 80GB HBM3", 2, "bf16", "test")
    tracker = Tracker(tokens_per_step=4096, flops_per_token=3e9, device=device)
    sleep_loop(tracker, 5, step_s=0.002)
    report = tracker.close()
    peak = load_peaks()["H100-80GB"].tflops_for("bf16")
    assert peak is not None and peak > 0
    assert report.tflop_per_s == pytest.approx(report.tokens_per_s * 3e9 / 1e12, rel=1e-12)
    assert report.mfu == pytest.approx(report.tflop_per_s / (peak * 2), rel=1e-12)


def test_flops_from_parameters_add_the_attention_term_when_the_shape_is_known() -> None:
    plain = Tracker(tokens_per_step=8, params=1e6, persist=False)
    shaped = Tracker(tokens_per_step=8, params=1e6, layers=4, hidden=256, seq_len=128, persist=False)
    assert plain._run_record()["flops_per_token"] == 6e6
    assert shaped._run_record()["flops_per_token"] == 6e6 + 12 * 4 * 256 * 128
    given = Tracker(tokens_per_step=8, params=1e6, flops_per_token=5e6, persist=False)
    assert given._run_record()["flops_per_token"] == 5e6
    assert given._run_record()["flops_source"] == "given"


def test_eta_and_projected_cost_to_a_step_target() -> None:
    tracker = Tracker(tokens_per_step=10, usd_per_hour=7200.0, target_steps=20)
    sleep_loop(tracker, 10, step_s=0.01)
    report = tracker.report()
    assert report.progress == 0.5
    # ten steps left at no less than 10 ms each
    assert report.eta_s >= 10 * 0.01
    assert report.eta_s <= 10 * report.elapsed_s  # the same order as the ten steps already run
    assert report.projected_cost_usd == report.cost_usd + report.eta_s / 3600.0 * 7200.0
    sleep_loop(tracker, 10, step_s=0.01)
    done = tracker.close()
    assert done.progress == 1.0 and done.eta_s == 0.0
    assert _store().run(tracker.run_id)["status"] == "finished"  # type: ignore[index]


def test_epoch_target_counts_steps_per_epoch() -> None:
    tracker = Tracker(samples_per_step=8, target_epochs=2, steps_per_epoch=5, persist=False)
    sleep_loop(tracker, 5, step_s=0.001)
    tracker.epoch_end()
    report = tracker.report()
    assert report.epoch == 1.0 and report.progress == 0.5
    assert math.isfinite(report.eta_s)


def test_a_new_tracker_on_the_same_run_id_keeps_the_goodput_accounting() -> None:
    first = Tracker(run_id="resumed-run", tokens_per_step=10, usd_per_hour=3600.0)
    sleep_loop(first, 6, step_s=0.005)
    first.close()
    time.sleep(0.05)  # the job restarts
    second = Tracker(run_id="resumed-run", resume_step=4)  # price and tokens per step come from the record
    sleep_loop(second, 3, step_s=0.005)
    report = second.close()

    segments = _store().segments("resumed-run")
    assert [s["seq"] for s in segments] == [0, 1]
    a, b = segments
    assert b["start_step"] == 4 and b["lost_steps"] == 2
    assert report.step == 7
    assert report.tokens == (6 + 3 - 2) * 10
    assert b["restart_gap_s"] >= 0.05
    assert report.restart_s == pytest.approx(b["restart_gap_s"] + b["startup_s"], rel=1e-12)
    per_step = a["productive_s"] / a["steps"]
    assert report.lost_progress_s == pytest.approx(2 * per_step, rel=1e-12)
    elapsed = a["elapsed_s"] + b["restart_gap_s"] + b["elapsed_s"]
    assert report.elapsed_s == pytest.approx(elapsed, rel=1e-12)
    assert report.cost_usd == pytest.approx(elapsed, rel=1e-12)  # $3600/h: one dollar a second
    productive = a["productive_s"] + b["productive_s"]
    assert report.goodput == pytest.approx((productive - 2 * per_step) / elapsed, rel=1e-12)


CRASHING_JOB = """
import os, sys, time
from tco.track import Tracker
tracker = Tracker(run_id="crashed-run", tokens_per_step=10, usd_per_hour=3600.0, flush_every_s=0.001)
for _ in range(6):
    with tracker.step():
        time.sleep(0.005)
tracker.flush()
sys.stdout.write(repr(time.time()))
sys.stdout.flush()
os._exit(0)  # no close, no atexit: a crash after the last flush
"""


def test_a_process_that_crashed_is_resumed_by_the_next_one(tco_home: Path) -> None:
    import os

    env = {**os.environ, "TCO_HOME": str(tco_home)}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASHING_JOB)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    crashed_at = float(out.stdout)
    time.sleep(0.05)
    before = time.time()
    resumed = Tracker(run_id="crashed-run", resume_step=5)
    sleep_loop(resumed, 4, step_s=0.005)
    report = resumed.close()

    a, b = _store().segments("crashed-run")
    assert a["ended_at"] is None and a["steps"] == 6  # the crashed process never ended its segment
    assert b["restart_gap_s"] >= before - crashed_at >= 0.05
    assert report.step == 9 and report.tokens == (6 + 4 - 1) * 10
    assert report.restart_s >= 0.05
    assert report.goodput * report.elapsed_s >= (6 + 4) * 0.005 - report.lost_progress_s - 1e-9
    assert report.cost_usd == pytest.approx(a["elapsed_s"] + b["restart_gap_s"] + b["elapsed_s"], rel=1e-12)


def test_a_gap_longer_than_the_restart_limit_is_a_pause_neither_billed_nor_lost() -> None:
    first = Tracker(run_id="paused-run", tokens_per_step=1, usd_per_hour=3600.0)
    sleep_loop(first, 3)
    first.close()
    time.sleep(0.05)
    second = Tracker(run_id="paused-run", max_restart_gap_s=0.01)
    sleep_loop(second, 3)
    report = second.close()
    a, b = _store().segments("paused-run")
    assert b["paused_s"] >= 0.05 and b["restart_gap_s"] == 0
    assert report.elapsed_s == pytest.approx(a["elapsed_s"] + b["elapsed_s"], rel=1e-12)


# --- budgets ------------------------------------------------------------------------------------------------

EXPENSIVE = 3.6e6  # dollars per hour: one dollar a millisecond


def test_a_spent_budget_warns_once_and_the_run_goes_on() -> None:
    tracker = Tracker(tokens_per_step=1, usd_per_hour=EXPENSIVE, budget_usd=20.0)
    with pytest.warns(BudgetWarning, match="spent") as caught:
        sleep_loop(tracker, 15, step_s=0.003)
    assert len([w for w in caught if "spent" in str(w.message)]) == 1
    assert not tracker.should_stop
    assert tracker.steps == 15
    assert tracker.close().budget_state == "spent"


def test_a_spent_budget_stops_the_run_with_on_budget_stop() -> None:
    tracker = Tracker(tokens_per_step=1, usd_per_hour=EXPENSIVE, budget_usd=20.0, on_budget="stop")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BudgetWarning)
        sleep_loop(tracker, 200, step_s=0.003)
    assert tracker.should_stop
    assert tracker.steps < 200
    report = tracker.close()
    assert report.cost_usd >= 20.0
    assert _store().run(tracker.run_id)["status"] == "stopped"  # type: ignore[index]


def test_a_spent_budget_raises_with_on_budget_raise() -> None:
    tracker = Tracker(tokens_per_step=1, usd_per_hour=EXPENSIVE, budget_usd=20.0, on_budget="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BudgetWarning)
        with pytest.raises(BudgetExceeded) as raised:
            sleep_loop(tracker, 200, step_s=0.003)
    assert raised.value.report.cost_usd >= 20.0
    assert tracker.steps < 200


def test_a_projection_over_budget_warns_before_the_money_is_spent() -> None:
    tracker = Tracker(
        tokens_per_step=1, usd_per_hour=3600.0, budget_usd=1.0, target_steps=1000, report_every_steps=5
    )
    with pytest.warns(BudgetWarning, match="projected"):
        sleep_loop(tracker, 5, step_s=0.005)
    report = tracker.report()
    assert report.budget_state == "projected_over"
    assert report.cost_usd < 1.0 < report.projected_cost_usd


def test_reports_reach_the_callback_on_their_cadence() -> None:
    seen = []
    tracker = Tracker(tokens_per_step=1, report_every_steps=3, on_report=seen.append, persist=False)
    sleep_loop(tracker, 10, step_s=0.001)
    assert [r.step for r in seen] == [3, 6, 9]
    assert all(r.run_id == tracker.run_id for r in seen)


# --- prices from the catalog --------------------------------------------------------------------------------


def test_an_offer_is_priced_from_the_catalog() -> None:
    from pricing.catalog import load_embedded

    offers = load_embedded()
    row = offers[
        offers["provider"].eq("aws")
        & offers["instance_type"].eq("p5.48xlarge")
        & offers["pricing_model"].eq("on_demand")
        & offers["region"].eq("us-east-1")
    ]
    assert len(row) == 1
    price = float(row["price_usd_per_hour"].iloc[0])
    tracker = Tracker(offer="aws:p5.48xlarge:on_demand:us-east-1", instances=2, tokens_per_step=1)
    assert tracker.config.usd_per_hour == price * 2
    assert "embedded" in (tracker.config.price_source or "")
    sleep_loop(tracker, 2)
    report = tracker.close()
    assert report.cost_usd == report.elapsed_s / 3600.0 * price * 2


def test_an_offer_without_a_region_takes_the_cheapest_region() -> None:
    from pricing.catalog import load_embedded

    offers = load_embedded()
    rows = offers[
        offers["provider"].eq("aws")
        & offers["instance_type"].eq("p5.48xlarge")
        & offers["pricing_model"].eq("spot")
        & offers["price_usd_per_hour"].notna()
    ]
    tracker = Tracker(offer="aws:p5.48xlarge:spot", persist=False)
    assert tracker.config.usd_per_hour == float(rows["price_usd_per_hour"].min())


@pytest.mark.parametrize(
    ("offer", "message"),
    [
        ("aws:p5.48xlarg", "did you mean p5.48xlarge"),
        ("awz:p5.48xlarge", "unknown provider"),
        ("aws:p5.48xlarge:on_demand:mars-north-1", "no on_demand price"),
        ("aws", "cannot read the offer"),
    ],
)
def test_a_bad_offer_says_what_is_wrong(offer: str, message: str) -> None:
    with pytest.raises(TrackError, match=message):
        Tracker(offer=offer, persist=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"usd_per_hour": 1.0, "offer": "aws:p5.48xlarge"}, "not both"),
        ({"target_steps": 10, "target_tokens": 5}, "one target"),
        ({"on_budget": "panic"}, "on_budget"),
        ({"usd_per_hour": 0}, "positive"),
        ({"tokens_per_step": -3}, "positive"),
        ({"warmup_steps": -1}, "warmup_steps"),
    ],
)
def test_bad_arguments_are_one_clear_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TrackError, match=message):
        Tracker(persist=False, **kwargs)  # type: ignore[arg-type]


def test_importing_the_tracker_loads_no_framework() -> None:
    code = (
        "import sys\nimport tco.track\nfrom tco.track import Tracker\n"
        "t = Tracker(tokens_per_step=1, usd_per_hour=1.0, persist=False)\n"
        "with t.step():\n    pass\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout.split()
    )
    heavy = {"torch", "jax", "tensorflow", "keras", "lightning", "pytorch_lightning", "pandas"}
    assert not heavy & loaded, heavy & loaded


def test_the_record_is_written_while_the_run_goes_on() -> None:
    tracker = Tracker(tokens_per_step=5, flush_every_s=0.001)
    sleep_loop(tracker, 4)
    (segment,) = _store().segments(tracker.run_id)
    assert segment["steps"] >= 3 and segment["ended_at"] is None
    assert json.loads(segment["step_times_s"])
    tracker.close()
    (segment,) = _store().segments(tracker.run_id)
    assert segment["steps"] == 4 and segment["end_reason"] == "detached"


def test_only_rank_zero_of_a_distributed_job_writes_the_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "1")
    other = Tracker(run_id="ddp-run", tokens_per_step=1)
    sleep_loop(other, 2)
    other.close()
    assert _store().run("ddp-run") is None
    monkeypatch.setenv("RANK", "0")
    first = Tracker(run_id="ddp-run", tokens_per_step=1)
    sleep_loop(first, 2)
    first.close()
    assert len(_store().segments("ddp-run")) == 1
