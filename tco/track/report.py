"""A live report of a tracked run: the numbers the host framework logs (the tracker never prints).

:meth:`Report.metrics` is a flat ``{name: float}`` for Lightning's ``log_dict``, Keras ``logs`` or any
logger (missing values are left out, never logged as 0); :meth:`Report.line` is one progress line for a
plain loop's own ``print`` or logger.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from tco.errors import TcoError
from tco.track.accounting import Totals

#: Metrics a report exposes, in order, with the unit each is in.
METRICS: Final = (
    "step",
    "epoch",
    "tokens",
    "samples",
    "step_time_s",
    "tokens_per_s",
    "samples_per_s",
    "tflop_per_s",
    "mfu",
    "goodput",
    "elapsed_s",
    "usd_per_hour",
    "cost_usd",
    "progress",
    "eta_s",
    "projected_cost_usd",
    "budget_usd",
    "startup_s",
    "restart_s",
    "data_wait_s",
    "eval_s",
    "checkpoint_s",
    "lost_progress_s",
)


class TrackError(TcoError):
    """A tracker that cannot be set up as asked (bad arguments, unknown offer, unreadable run store)."""


class BudgetWarning(UserWarning):
    """A tracked run's spending reached (or is projected to pass) its budget."""


class BudgetExceeded(TrackError):
    """Raised from a step of a run whose budget is spent, with ``on_budget="raise"``."""

    def __init__(self, message: str, report: Report) -> None:
        super().__init__(message, hint="raise budget_usd, or resume the run with a new budget")
        self.report = report


@dataclass(frozen=True, slots=True)
class Report:
    """The run so far and what finishing it costs. Floats are NaN where unknown (no price, no target, no
    sourced peak): missing stays missing."""

    run_id: str
    step: float
    epoch: float
    tokens: float
    samples: float
    step_time_s: float  # median of the recent steps
    tokens_per_s: float  # steady: step time only, the warm-up steps of each process excluded
    samples_per_s: float
    tflop_per_s: float  # model FLOP/s of the whole job
    mfu: float  # model FLOPs / (peak of one device x devices); NaN without a sourced peak (any CPU)
    goodput: float  # share of the billed time that made progress that was kept
    elapsed_s: float  # billed wall clock, restarts included
    usd_per_hour: float
    cost_usd: float  # elapsed hours x usd_per_hour
    target_kind: str | None
    target_value: float
    progress: float  # share of the target done
    eta_s: float  # to the target, at the steady rate and this run's in-loop overheads
    projected_cost_usd: float  # cost so far + eta hours x usd_per_hour
    budget_usd: float
    budget_state: str  # none | ok | projected_over | spent
    startup_s: float
    restart_s: float
    data_wait_s: float
    eval_s: float
    checkpoint_s: float
    lost_progress_s: float
    price_source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def metrics(self, prefix: str = "tco/") -> dict[str, float]:
        """Every known numeric metric as ``{prefix + name: value}``; NaN ones are left out."""
        values = self.as_dict()
        return {
            f"{prefix}{name}": float(values[name])
            for name in METRICS
            if isinstance(values[name], int | float) and math.isfinite(values[name])
        }

    def line(self) -> str:
        """One progress line: ``run a1b2 step 120 | 3.2k tok/s | MFU 41% | goodput 93% | $1.23 so far |
        $45.60 at the end (ETA 3h12m) | budget $50``."""
        parts = [f"run {self.run_id} step {_count(self.step)}"]
        if math.isfinite(self.tokens_per_s):
            parts.append(f"{_si(self.tokens_per_s)} tok/s")
        elif math.isfinite(self.samples_per_s):
            parts.append(f"{_si(self.samples_per_s)} samples/s")
        if math.isfinite(self.mfu):
            parts.append(f"MFU {self.mfu * 100:.1f}%")
        if math.isfinite(self.goodput):
            parts.append(f"goodput {self.goodput * 100:.0f}%")
        parts.append(f"{_usd(self.cost_usd)} so far" if math.isfinite(self.cost_usd) else "no price")
        if math.isfinite(self.eta_s):
            end = f"{_usd(self.projected_cost_usd)} at the end, " if math.isfinite(self.cost_usd) else ""
            parts.append(f"{end}ETA {duration(self.eta_s)} ({self.progress * 100:.0f}% done)")
        if math.isfinite(self.budget_usd):
            state = {"spent": " SPENT", "projected_over": " (projected over)"}.get(self.budget_state, "")
            parts.append(f"budget {_usd(self.budget_usd)}{state}")
        return " | ".join(parts)


def duration(seconds: float) -> str:
    """``3h12m``, ``4m05s``, ``12.3s``; n/a for NaN."""
    if not math.isfinite(seconds):
        return "n/a"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"


def _usd(value: float) -> str:
    if abs(value) < 0.01:
        return f"${value:.2g}"
    return f"${value:,.2f}" if abs(value) < 1e6 else f"${value:,.0f}"


def _count(value: float) -> str:
    return f"{value:.0f}" if math.isfinite(value) else "n/a"


def _si(value: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _finite(value: Any) -> float:
    """A stored number as float, NaN when missing."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def make_report(run: Mapping[str, Any], totals: Totals, *, step_time_s: float) -> Report:
    """The report of a run (a mapping with the columns of :data:`tco.track.schema.RUN_COLUMNS`) at
    ``totals``.

    - cost: ``elapsed_s / 3600 * usd_per_hour`` (elapsed: billed wall clock, restarts included).
    - throughput: steady tokens (samples) per second of step time; model FLOP/s = tokens/s x FLOPs per
      token (else samples/s x FLOPs per sample); MFU = FLOP/s / (peak per device x devices).
    - ETA: the work left to the target at the steady step rate, stretched by this run's in-loop overheads
      (``in_loop_s / productive_s``: data waits, evaluation, checkpoints); no further restarts assumed.
    - projected cost: cost so far + ETA hours x usd_per_hour.
    """
    usd_per_hour = _finite(run.get("usd_per_hour"))
    cost = totals.elapsed_s / 3600.0 * usd_per_hour
    tokens_per_s = totals.tokens_per_s
    samples_per_s = totals.samples_per_s
    flops_per_token = _finite(run.get("flops_per_token"))
    flops_per_sample = _finite(run.get("flops_per_sample"))
    tflop_per_s = tokens_per_s * flops_per_token / 1e12
    if not math.isfinite(tflop_per_s):
        tflop_per_s = samples_per_s * flops_per_sample / 1e12
    peak = _finite(run.get("peak_tflops")) * _finite(run.get("device_count"))
    mfu = tflop_per_s / peak if peak > 0 else math.nan

    kind = run.get("target_kind")
    target = _finite(run.get("target_value"))
    steps_per_epoch = _finite(run.get("steps_per_epoch"))
    step_s = totals.steady_step_s
    if kind == "tokens":
        done, goal, per_s = totals.tokens, target, tokens_per_s
    elif kind == "samples":
        done, goal, per_s = totals.samples, target, samples_per_s
    elif kind == "steps":
        done, goal, per_s = totals.step, target, 1.0 / step_s
    elif kind == "epochs" and steps_per_epoch > 0:
        done, goal, per_s = totals.step, target * steps_per_epoch, 1.0 / step_s
    elif kind == "epochs":
        done, goal, per_s = totals.epochs, target, math.nan
    else:
        done, goal, per_s = math.nan, math.nan, math.nan
    loop_factor = totals.in_loop_s / totals.productive_s if totals.productive_s > 0 else math.nan
    eta = max(goal - done, 0.0) / per_s * loop_factor if per_s > 0 else math.nan
    if not math.isnan(goal) and done >= goal:
        eta = 0.0
    projected = cost + eta / 3600.0 * usd_per_hour
    budget = _finite(run.get("budget_usd"))
    if math.isnan(budget):
        state = "none"
    elif cost >= budget:
        state = "spent"
    elif projected > budget:
        state = "projected_over"
    else:
        state = "ok"
    epoch = totals.step / steps_per_epoch if steps_per_epoch > 0 else totals.epochs
    return Report(
        run_id=str(run.get("run_id")),
        step=totals.step,
        epoch=epoch,
        tokens=totals.tokens,
        samples=totals.samples,
        step_time_s=step_time_s,
        tokens_per_s=tokens_per_s,
        samples_per_s=samples_per_s,
        tflop_per_s=tflop_per_s,
        mfu=mfu,
        goodput=totals.goodput,
        elapsed_s=totals.elapsed_s,
        usd_per_hour=usd_per_hour,
        cost_usd=cost,
        target_kind=str(kind) if kind else None,
        target_value=target,
        progress=done / goal if goal > 0 else math.nan,
        eta_s=eta,
        projected_cost_usd=projected,
        budget_usd=budget,
        budget_state=state,
        startup_s=totals.startup_s,
        restart_s=totals.restart_s,
        data_wait_s=totals.data_wait_s,
        eval_s=totals.eval_s,
        checkpoint_s=totals.checkpoint_s,
        lost_progress_s=totals.lost_progress_s,
        price_source=run.get("price_source"),
    )
