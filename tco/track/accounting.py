"""A run's totals over its segments: progress, where the wall-clock time went, and goodput.

Pure functions over segment records (mappings with the columns of :data:`tco.track.schema.SEGMENT_COLUMNS`);
the live tracker and the stored record use the same arithmetic, so a report and ``tco runs show`` agree.

Time categories (seconds of wall clock, all billed)::

    elapsed = startup + restart + productive + data_wait + eval + checkpoint + tracker + other

``startup`` is the first process's time from attaching to its first step; ``restart`` is every later
process's gap since the previous one's last flush plus its own time to its first step; ``other`` is what no
category claims (after the last step, or not yet classified in a live report). ``goodput`` is the share of
the elapsed time that made progress that was kept::

    goodput = (productive - lost_progress) / elapsed

(``lost_progress``: step time spent on steps a restart had to redo, docs in :mod:`tco.track.schema`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NAN = math.nan


def number(value: Any) -> float:
    """A stored number as float; None (NULL) is NaN."""
    if value is None:
        return NAN
    return float(value)


def _sum(segments: Sequence[Mapping[str, Any]], column: str) -> float:
    """Sum of a column over segments; NULLs count as nothing measured (0 seconds, 0 steps)."""
    return math.fsum(0.0 if math.isnan(v := number(s.get(column))) else v for s in segments)


@dataclass(frozen=True, slots=True)
class Totals:
    """A run's totals over its segments (seconds of wall clock; counts of the whole job)."""

    segments: int
    step: float  # the global step position (last segment's start step + its steps)
    steps_run: float  # steps executed, lost ones included
    tokens: float  # progress kept: tokens of every step minus the lost ones (NaN: tokens not counted)
    samples: float
    epochs: float
    elapsed_s: float
    productive_s: float
    lost_progress_s: float
    data_wait_s: float
    eval_s: float
    checkpoint_s: float
    startup_s: float
    restart_s: float
    tracker_s: float
    paused_s: float
    steady_steps: float
    steady_s: float
    steady_tokens: float
    steady_samples: float

    @property
    def other_s(self) -> float:
        claimed = (
            self.startup_s
            + self.restart_s
            + self.productive_s
            + self.data_wait_s
            + self.eval_s
            + self.checkpoint_s
            + self.tracker_s
        )
        return max(self.elapsed_s - claimed, 0.0)

    @property
    def in_loop_s(self) -> float:
        """Time in the training loop: steps and what happens between them (no start-up, no restarts)."""
        return self.productive_s + self.data_wait_s + self.eval_s + self.checkpoint_s + self.tracker_s

    @property
    def goodput(self) -> float:
        """Share of the elapsed (billed) time spent on steps whose progress was kept; NaN before any time."""
        if not self.elapsed_s > 0:
            return NAN
        return max(self.productive_s - self.lost_progress_s, 0.0) / self.elapsed_s

    @property
    def steady_step_s(self) -> float:
        """Mean time of a steady step (after the warm-up steps of each segment); NaN before one."""
        return self.steady_s / self.steady_steps if self.steady_steps > 0 else NAN

    @property
    def tokens_per_s(self) -> float:
        """Steady tokens per second of step time (the job's, all devices); NaN when not counted."""
        if not self.steady_s > 0 or math.isnan(self.steady_tokens):
            return NAN
        return self.steady_tokens / self.steady_s

    @property
    def samples_per_s(self) -> float:
        if not self.steady_s > 0 or math.isnan(self.steady_samples):
            return NAN
        return self.steady_samples / self.steady_s


def totals(segments: Sequence[Mapping[str, Any]], *, tokens_counted: bool, samples_counted: bool) -> Totals:
    """The totals of a run's segments (in ``seq`` order). ``tokens_counted``/``samples_counted``: whether the
    job says how many tokens/samples a step has (else those totals are NaN, not 0)."""
    ordered = sorted(segments, key=lambda s: number(s.get("seq")))
    last = ordered[-1] if ordered else {}
    first_startup = number(ordered[0].get("startup_s")) if ordered else 0.0
    later = ordered[1:]
    restart_s = _sum(later, "restart_gap_s") + _sum(later, "startup_s")
    tokens = _sum(ordered, "tokens") - _sum(ordered, "lost_tokens") if tokens_counted else NAN
    samples = _sum(ordered, "samples") - _sum(ordered, "lost_samples") if samples_counted else NAN
    position = number(last.get("start_step")) + number(last.get("steps")) if ordered else 0.0
    return Totals(
        segments=len(ordered),
        step=0.0 if math.isnan(position) else position,
        steps_run=_sum(ordered, "steps"),
        tokens=tokens,
        samples=samples,
        epochs=_sum(ordered, "epochs"),
        elapsed_s=_sum(ordered, "elapsed_s") + _sum(ordered, "restart_gap_s"),
        productive_s=_sum(ordered, "productive_s"),
        lost_progress_s=_sum(ordered, "lost_progress_s"),
        data_wait_s=_sum(ordered, "data_wait_s"),
        eval_s=_sum(ordered, "eval_s"),
        checkpoint_s=_sum(ordered, "checkpoint_s"),
        startup_s=0.0 if math.isnan(first_startup) else first_startup,
        restart_s=restart_s,
        tracker_s=_sum(ordered, "tracker_s"),
        paused_s=_sum(ordered, "paused_s"),
        steady_steps=_sum(ordered, "steady_steps"),
        steady_s=_sum(ordered, "steady_s"),
        steady_tokens=_sum(ordered, "steady_tokens") if tokens_counted else NAN,
        steady_samples=_sum(ordered, "steady_samples") if samples_counted else NAN,
    )


@dataclass(frozen=True, slots=True)
class Resumption:
    """What a process that re-attaches to a run inherits: the gap it was away and the work it must redo."""

    restart_gap_s: float
    paused_s: float
    start_step: float
    lost_steps: float
    lost_tokens: float
    lost_samples: float
    lost_progress_s: float


def resumption(
    previous: Totals,
    *,
    last_seen_unix: float,
    now_unix: float,
    resume_step: float | None,
    max_restart_gap_s: float,
) -> Resumption:
    """How a new segment continues ``previous``.

    The gap since the previous process's last flush is restart time (billed and lost) up to
    ``max_restart_gap_s``; a longer gap is a pause (the job was not running: neither billed nor lost).
    ``resume_step`` is the step the new process restarts from (its checkpoint); None means where the record
    ends. Steps recorded beyond it are lost: their tokens leave the progress and their step time (at the
    run's mean productive time per executed step) leaves the goodput. A checkpoint ahead of the record
    (steps done after the last flush) credits those steps' tokens back at the mean tokens per step.
    """
    gap = 0.0 if math.isnan(last_seen_unix) else max(now_unix - last_seen_unix, 0.0)
    restart_gap, paused = (gap, 0.0) if gap <= max_restart_gap_s else (0.0, gap)
    start = previous.step if resume_step is None else float(resume_step)
    lost = previous.step - start
    per_step_tokens = previous.tokens / previous.step if previous.step > 0 else NAN
    per_step_samples = previous.samples / previous.step if previous.step > 0 else NAN
    per_step_s = previous.productive_s / previous.steps_run if previous.steps_run > 0 else 0.0

    def scaled(per_step: float) -> float:
        if lost == 0 or math.isnan(per_step):
            return 0.0
        return lost * per_step

    return Resumption(
        restart_gap_s=restart_gap,
        paused_s=paused,
        start_step=start,
        lost_steps=lost,
        lost_tokens=scaled(per_step_tokens),
        lost_samples=scaled(per_step_samples),
        lost_progress_s=max(lost, 0.0) * per_step_s,
    )
