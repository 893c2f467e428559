"""What tracking costs a training loop: the tracker's time per step against a 10 ms step (aim: at most 1%).

    python benchmarks/track_overhead.py [--repeats 7] [--step-ms 10]

1. Bookkeeping per step: ``with tracker.step(): pass`` against a bare loop, 20,000 steps a repeat
   (min and median over repeats), with the run store on (default flush interval).
2. The clocked work, amortised: one flush of the run store (SQLite, 1,024 step times) every 30 s and one
   report (for the plain-loop ``on_report`` callback) every 30 s, as the defaults are.
3. A real step: a PyTorch MLP training step sized to about ``--step-ms`` on one CPU thread, timed in pairs
   without and with the tracker (median of the paired differences). On a shared machine the noise of a real
   step is larger than the tracker, so (1)+(2) is the figure; (3) shows nothing larger hides behind it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Any

STEPS = 20_000


def bookkeeping_s(repeats: int) -> tuple[list[float], list[float]]:
    """Per-step seconds of a bare loop and of a tracked empty step, one sample per repeat."""
    from tco.track import Tracker

    bare, tracked = [], []
    for _ in range(repeats):
        started = perf_counter()
        for _ in range(STEPS):
            pass
        bare.append((perf_counter() - started) / STEPS)
        tracker = Tracker(tokens_per_step=4096, usd_per_hour=98.32, target_tokens=1e12, budget_usd=1e9)
        started = perf_counter()
        for _ in range(STEPS):
            with tracker.step():
                pass
        tracked.append((perf_counter() - started) / STEPS)
        tracker.close()
    return bare, tracked


def clocked_work_s(repeats: int) -> tuple[float, float]:
    """Median seconds of one flush (full step-time window) and of one report."""
    from tco.track import Tracker

    tracker = Tracker(tokens_per_step=4096, usd_per_hour=98.32, target_tokens=1e12)
    for _ in range(2048):
        with tracker.step():
            pass
    flushes, reports = [], []
    for _ in range(repeats * 3):
        started = perf_counter()
        tracker.flush()
        flushes.append(perf_counter() - started)
        started = perf_counter()
        tracker.report()
        reports.append(perf_counter() - started)
    tracker.close()
    return statistics.median(flushes), statistics.median(reports)


def real_step(step_ms: float) -> Any:
    """A PyTorch MLP training step sized to take about ``step_ms`` milliseconds here."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    width = 256
    while True:
        model = torch.nn.Sequential(
            torch.nn.Linear(width, width), torch.nn.ReLU(), torch.nn.Linear(width, width)
        )
        optimiser = torch.optim.SGD(model.parameters(), lr=1e-3)
        data = torch.randn(64, width)

        def step(model: Any = model, optimiser: Any = optimiser, data: Any = data) -> None:
            model(data).square().mean().backward()
            optimiser.step()
            optimiser.zero_grad()

        for _ in range(3):
            step()
        started = perf_counter()
        for _ in range(10):
            step()
        took_ms = (perf_counter() - started) / 10 * 1e3
        if took_ms >= step_ms * 0.8 or width >= 4096:
            return step, took_ms, width
        width = int(width * (step_ms / took_ms) ** 0.5) + 32


def paired(step: Any, pairs: int) -> tuple[list[float], list[float]]:
    """Seconds of real steps, alternately without and with the tracker, one pair after another (paired
    differences cancel the drift of a shared machine)."""
    from tco.track import Tracker

    tracker = Tracker(tokens_per_step=4096, usd_per_hour=98.32, target_tokens=1e12)
    off, on = [], []
    for _ in range(pairs):
        started = perf_counter()
        step()
        off.append(perf_counter() - started)
        started = perf_counter()
        with tracker.step():
            step()
        on.append(perf_counter() - started)
    tracker.close()
    return off, on


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--step-ms", type=float, default=10.0)
    parser.add_argument("--pairs", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["TCO_HOME"] = str(Path(home))
        step_s = args.step_ms / 1e3
        bare, tracked = bookkeeping_s(args.repeats)
        extra = [t - b for t, b in zip(tracked, bare, strict=True)]
        flush_s, report_s = clocked_work_s(args.repeats)
        amortised = (flush_s + report_s) * step_s / 30.0
        med = statistics.median
        print(f"1. bookkeeping per step (n={args.repeats} x {STEPS:,} steps):")
        print(f"   tracked empty step {_us(min(tracked))} min, {_us(med(tracked))} median")
        print(f"   over a bare loop   {_us(min(extra))} min, {_us(med(extra))} median")
        print(f"2. one flush {flush_s * 1e3:.2f} ms, one report {_us(report_s)} (median); each every 30 s:")
        print(f"   {amortised * 1e9:.1f} ns per {args.step_ms:g} ms step")
        total = med(extra) + amortised
        worst = max(extra) + amortised
        share = total / step_s * 100
        print(
            f"=> overhead {_us(total)} per step = {share:.3f}% of a {args.step_ms:g} ms step "
            f"(worst repeat {worst / step_s * 100:.3f}%; aim <= 1%)"
        )
        step, took_ms, width = real_step(args.step_ms)
        off, on = paired(step, args.pairs)
        difference = med([b - a for a, b in zip(off, on, strict=True)])
        print(f"3. real step: torch MLP width {width} ({took_ms:.1f} ms), {args.pairs} pairs without/with:")
        print(f"   median without {med(off) * 1e3:.3f} ms, with {med(on) * 1e3:.3f} ms;")
        print(
            f"   median paired difference {difference * 1e6:+.1f} us = "
            f"{difference / med(off) * 100:+.2f}% (noise of a shared CPU)"
        )


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} us"


if __name__ == "__main__":
    main()
