"""The timing harness: first call apart, warm-up untimed, the device's completion inside the timed span."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from calibrate.timing import Budget, Timing, measure


class FakeAsyncDevice:
    """Like JAX or CUDA: a launch returns at once, the work completes later on another thread."""

    def __init__(self, work_s: float, first_extra_s: float = 0.0) -> None:
        self.work_s = work_s
        self.first_extra_s = first_extra_s
        self.launches = 0
        self.queue: list[threading.Event] = []
        self._busy_until = 0.0
        self._lock = threading.Lock()

    def launch(self) -> threading.Event:
        done = threading.Event()
        with self._lock:
            extra = self.first_extra_s if self.launches == 0 else 0.0
            start = max(time.perf_counter(), self._busy_until)
            self._busy_until = start + self.work_s + extra
            finish = self._busy_until
        self.launches += 1
        threading.Timer(max(0.0, finish - time.perf_counter()), done.set).start()
        return done

    @staticmethod
    def sync(outputs: Sequence[Any]) -> None:
        for event in outputs:
            event.wait()


def test_synchronised_timing_sees_the_device_work() -> None:
    device = FakeAsyncDevice(work_s=0.004, first_extra_s=0.05)
    timing = measure(
        device.launch, device.sync, Budget(warmup=1, min_repeats=5, max_repeats=5, budget_s=0), inner=1
    )
    assert timing.repeats == 5
    assert timing.first_call_s >= 0.05  # "compile" is the first call, kept apart
    assert 0.0035 <= timing.median_s < 0.05  # the work, not the launch (which takes microseconds)


def test_without_sync_an_async_device_looks_impossibly_fast() -> None:
    # The work is long (0.2 s) so that a loaded machine's slow thread start-up (milliseconds) cannot reach it.
    device = FakeAsyncDevice(work_s=0.2)
    timing = measure(
        device.launch,
        lambda _outputs: None,
        Budget(warmup=0, min_repeats=5, max_repeats=5, budget_s=0),
        inner=1,
    )
    assert timing.median_s < 0.05  # the bug the harness exists to avoid: a quarter of the work at most


def test_inner_batches_fast_steps_and_divides() -> None:
    calls = []

    def step() -> int:
        calls.append(1)
        time.sleep(0.001)
        return 1

    timing = measure(
        step, lambda _o: None, Budget(warmup=1, min_repeats=3, max_repeats=3, budget_s=0, sample_s=0.01)
    )
    assert timing.inner >= 3
    assert len(calls) == 1 + 1 + 3 * timing.inner
    assert 0.0009 <= timing.median_s < 0.01


def test_budget_bounds_the_repeats() -> None:
    timing = measure(
        lambda: None, lambda _o: None, Budget(warmup=0, min_repeats=4, max_repeats=9, budget_s=10), inner=1
    )
    assert timing.repeats == 9
    start = time.perf_counter()
    timing = measure(
        lambda: time.sleep(0.002),
        lambda _o: None,
        Budget(warmup=0, min_repeats=3, max_repeats=10_000, budget_s=0.05),
        inner=1,
    )
    assert 3 <= timing.repeats < 60
    assert time.perf_counter() - start < 1.0


def test_on_output_sees_every_step() -> None:
    seen: list[int] = []
    counter = iter(range(1000))
    timing = measure(
        lambda: next(counter),
        lambda _o: None,
        Budget(warmup=2, min_repeats=4, max_repeats=4, budget_s=0),
        inner=1,
        on_output=seen.append,
    )
    assert seen == list(range(1 + 2 + timing.repeats))


def test_quantiles() -> None:
    timing = Timing(first_call_s=1.0, samples_s=tuple(float(x) for x in range(1, 11)), inner=1)
    assert timing.median_s == statistics.median(range(1, 11))
    assert timing.p10_s == pytest.approx(1.9)
    assert timing.p90_s == pytest.approx(9.1)
    assert timing.p99_s == pytest.approx(9.91)
    empty = Timing(first_call_s=1.0, samples_s=(), inner=1)
    assert empty.repeats == 0
    assert empty.median_s != empty.median_s  # NaN: missing stays missing
