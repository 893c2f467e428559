"""Timing a device computation correctly: first call (build time), warm-up, synchronised repeats, spread.

``step()`` launches one unit of work and returns whatever must be waited on; ``sync(outputs)`` blocks
until the device has finished all of them (``torch.cuda.synchronize``, ``jax.block_until_ready``,
``tf.test.experimental.sync_devices``). Each sample times ``inner`` back-to-back steps and one final
sync, so that fast kernels are not dominated by the timer or the launch overhead; the per-step time is
the sample divided by ``inner``. Clock: :func:`time.perf_counter`.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

#: Target length of one timed sample when ``inner`` is chosen automatically.
DEFAULT_SAMPLE_S: Final = 0.02


@dataclass(frozen=True, slots=True)
class Timing:
    """Per-step seconds of the repeats, and the first call's time (compile + first run)."""

    first_call_s: float
    samples_s: tuple[float, ...]
    inner: int

    @property
    def repeats(self) -> int:
        return len(self.samples_s)

    @property
    def median_s(self) -> float:
        return statistics.median(self.samples_s) if self.samples_s else math.nan

    def quantile_s(self, q: float) -> float:
        """Linear-interpolated quantile of the samples (``q`` in [0, 1]); NaN without samples."""
        if not self.samples_s:
            return math.nan
        ordered = sorted(self.samples_s)
        position = q * (len(ordered) - 1)
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    @property
    def p10_s(self) -> float:
        return self.quantile_s(0.10)

    @property
    def p90_s(self) -> float:
        return self.quantile_s(0.90)

    @property
    def p99_s(self) -> float:
        return self.quantile_s(0.99)


@dataclass(frozen=True, slots=True)
class Budget:
    """How long to measure: ``warmup`` untimed steps after the first call, then samples until both
    ``min_repeats`` and ``budget_s`` are reached (or ``max_repeats``)."""

    warmup: int = 2
    min_repeats: int = 5
    max_repeats: int = 200
    budget_s: float = 1.0
    sample_s: float = DEFAULT_SAMPLE_S


def measure(
    step: Callable[[], Any],
    sync: Callable[[Sequence[Any]], None],
    budget: Budget,
    *,
    inner: int | None = None,
    on_output: Callable[[Any], None] | None = None,
) -> Timing:
    """Time ``step`` as described in the module docstring. ``inner=None`` picks it from the warm-up so
    that a sample lasts about ``budget.sample_s``; ``on_output`` sees every synchronised output (used to
    record training losses)."""
    started = time.perf_counter()
    out = step()
    sync([out])
    first_call_s = time.perf_counter() - started
    if on_output is not None:
        on_output(out)

    single_s = first_call_s
    for _ in range(budget.warmup):
        t0 = time.perf_counter()
        out = step()
        sync([out])
        single_s = time.perf_counter() - t0
        if on_output is not None:
            on_output(out)
    if inner is None:
        inner = max(1, min(1000, math.ceil(budget.sample_s / max(single_s, 1e-7))))

    samples: list[float] = []
    deadline = time.perf_counter() + budget.budget_s
    while len(samples) < budget.max_repeats:
        if len(samples) >= budget.min_repeats and time.perf_counter() >= deadline:
            break
        t0 = time.perf_counter()
        outputs = [step() for _ in range(inner)]
        sync(outputs)
        samples.append((time.perf_counter() - t0) / inner)
        if on_output is not None:
            for item in outputs:
                on_output(item)
    return Timing(first_call_s=first_call_s, samples_s=tuple(samples), inner=inner)
