"""Shared pieces of the tracker tests: a plain loop whose steps take a known minimum time."""

from __future__ import annotations

import time

from tco.track import Tracker


def sleep_loop(tracker: Tracker, steps: int, *, step_s: float = 0.004, data_s: float = 0.0) -> None:
    """``steps`` steps of at least ``step_s`` each, each after at least ``data_s`` of 'data loading'.
    Stops early when the tracker says so."""
    for _ in range(steps):
        if data_s:
            time.sleep(data_s)
        with tracker.step():
            time.sleep(step_s)
        if tracker.should_stop:
            break
