"""The tracker: times a training loop's steps, prices them, and keeps the run record.

Two lines in a plain loop::

    tracker = Tracker(tokens_per_step=batch * seq_len, usd_per_hour=98.32, target_tokens=2e9)
    for batch in loader:
        with tracker.step():
            train_step(batch)

Where the time goes: from the tracker's creation to the first step is start-up (restart in a resumed
process); inside ``step()`` is productive (the device is synchronised at the end of each step: ``sync``);
between steps is data waiting, unless it is inside ``evaluation()`` or ``checkpoint()``. Everything is
billed: dollars = elapsed hours x the job's $/h. Every ``flush_every_s`` the segment is written to
``<home>/runs.sqlite``; a process that crashes loses only the time since its last flush, which the next
process that attaches to the same run id (``run_id=`` or ``$TCO_RUN_ID``) counts as restart time.

Library code: the tracker never prints. It hands a :class:`~tco.track.report.Report` to ``on_report`` every
``report_every_s`` seconds (or ``report_every_steps`` steps), warns with :class:`BudgetWarning` (and the
``tco.track`` logger), and with ``on_budget="stop"`` sets :attr:`Tracker.should_stop` (``"raise"``: raises
:class:`BudgetExceeded` from the step that spent the budget).

Cost per step: two ``perf_counter`` calls, a dozen float additions and a deque append; reports, budget
checks and flushes run on a clock (benchmarks/track_overhead.py).
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import socket
import time
import uuid
import warnings
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from itertools import islice
from pathlib import Path
from time import perf_counter
from typing import Any, Final

from tco import __version__
from tco.home import resolve_home
from tco.track.accounting import Resumption, Totals, resumption, totals
from tco.track.device import DeviceSpec
from tco.track.flops import flops_per_token_from_params
from tco.track.offers import Offer, Price, resolve_offer
from tco.track.report import BudgetExceeded, BudgetWarning, Report, TrackError, make_report
from tco.track.schema import ON_BUDGET, RUNS_FILENAME, TARGET_KINDS
from tco.track.store import RunStore, samples_counted, tokens_counted, utc_iso, utc_now

logger = logging.getLogger("tco.track")

#: How many recent step times a segment keeps (for the quantiles of its calibration row).
RECENT_STEPS: Final = 1024
#: How many of them a report's median step time looks at.
MEDIAN_STEPS: Final = 256
RUN_ID_ENV: Final = "TCO_RUN_ID"

_NAN = math.nan


def _positive(name: str, value: float | None, *, allow_zero: bool = False) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise TrackError(f"{name} must be a number, got {value!r}") from exc
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise TrackError(f"{name} must be a positive number, got {value!r}")
    return number


@dataclass(frozen=True, slots=True)
class RunConfig:
    """What a run is: model, work, target, price and budget (None: not given)."""

    name: str | None = None
    tokens_per_step: float | None = None
    samples_per_step: float | None = None
    flops_per_token: float | None = None
    flops_per_sample: float | None = None
    flops_source: str | None = None
    params: float | None = None
    layers: float | None = None
    hidden: float | None = None
    heads: float | None = None
    seq_len: float | None = None
    target_kind: str | None = None
    target_value: float | None = None
    steps_per_epoch: float | None = None
    usd_per_hour: float | None = None  # the whole job
    price_source: str | None = None
    provider: str | None = None
    instance_type: str | None = None
    region: str | None = None
    pricing_model: str | None = None
    instances: float | None = None
    budget_usd: float | None = None
    on_budget: str | None = None


_NUMERIC_CONFIG: Final = (
    "tokens_per_step",
    "samples_per_step",
    "flops_per_token",
    "flops_per_sample",
    "params",
    "layers",
    "hidden",
    "heads",
    "seq_len",
    "steps_per_epoch",
    "target_value",
    "usd_per_hour",
    "instances",
    "budget_usd",
)


def _target(
    tokens: float | None, samples: float | None, steps: float | None, epochs: float | None
) -> tuple[str | None, float | None]:
    given = [
        (k, v) for k, v in zip(TARGET_KINDS, (tokens, samples, steps, epochs), strict=True) if v is not None
    ]
    if len(given) > 1:
        raise TrackError(f"give one target, not {' and '.join('target_' + k for k, _ in given)}")
    if not given:
        return None, None
    kind, value = given[0]
    return kind, _positive(f"target_{kind}", value)


class _StepContext:
    __slots__ = ("_tracker",)

    def __init__(self, tracker: Tracker) -> None:
        self._tracker = tracker

    def __enter__(self) -> Tracker:
        self._tracker.begin()
        return self._tracker

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        tracker = self._tracker
        if exc_type is None:
            tracker.end(tracker._pending_tokens, tracker._pending_samples)
        else:
            tracker.abandon()


class _Phase:
    __slots__ = ("_bucket", "_tracker")

    def __init__(self, tracker: Tracker, bucket: str) -> None:
        self._tracker = tracker
        self._bucket = bucket

    def __enter__(self) -> Tracker:
        self._tracker.phase_begin(self._bucket)
        return self._tracker

    def __exit__(self, *exc: object) -> None:
        self._tracker.phase_end()


class Tracker:
    """Tracks one process's part of a training run; see the module docstring.

    Work: ``tokens_per_step``/``samples_per_step`` (the whole job's, all devices; or per step with
    ``step(tokens=...)``). FLOPs: ``flops_per_token``/``flops_per_sample`` given, else counted by an adapter,
    else ``6N (+12 L h s)`` from ``params`` (and ``layers``, ``hidden``, ``seq_len``). Target: one of
    ``target_tokens``, ``target_samples``, ``target_steps``, ``target_epochs`` (with ``steps_per_epoch``).
    Price: ``usd_per_hour`` (the whole job) or ``offer`` (``"aws:p5.48xlarge:spot"`` or :class:`Offer`)
    times ``instances``. ``device``: what the job computes on, for MFU (default: the host CPU: no peak).
    ``sync``: called at the end of every step before the clock is read (``torch.cuda.synchronize``).
    ``warmup_steps``: the first steps of each process left out of the steady rate (compilation).
    ``resume_step``: the step a resumed process restarts from (its checkpoint); work recorded past it is lost.
    ``persist``: keep the run record in ``<home>/runs.sqlite`` (default: unless ``$RANK`` names a rank other
    than 0, so that one process of a distributed job writes it).
    """

    def __init__(
        self,
        *,
        run_id: str | None = None,
        name: str | None = None,
        tokens_per_step: float | None = None,
        samples_per_step: float | None = None,
        flops_per_token: float | None = None,
        flops_per_sample: float | None = None,
        params: float | None = None,
        layers: float | None = None,
        hidden: float | None = None,
        heads: float | None = None,
        seq_len: float | None = None,
        target_tokens: float | None = None,
        target_samples: float | None = None,
        target_steps: float | None = None,
        target_epochs: float | None = None,
        steps_per_epoch: float | None = None,
        usd_per_hour: float | None = None,
        offer: Offer | str | None = None,
        instances: float | None = None,
        budget_usd: float | None = None,
        on_budget: str | None = None,
        device: DeviceSpec | None = None,
        sync: Callable[[], object] | None = None,
        warmup_steps: int = 1,
        resume_step: float | None = None,
        on_report: Callable[[Report], object] | None = None,
        report_every_s: float | None = 30.0,
        report_every_steps: int | None = None,
        flush_every_s: float = 30.0,
        max_restart_gap_s: float = 3600.0,
        home: Path | str | None = None,
        persist: bool | None = None,
        adapter: str = "plain",
        details: dict[str, Any] | None = None,
        clock: tuple[float, float] | None = None,
    ) -> None:
        # ``clock``: (time.time(), perf_counter()) when the job started, if before the tracker was made
        # (a framework callback made early and attached once the framework has set up).
        self._started_unix, self._t0 = clock if clock is not None else (time.time(), perf_counter())
        if usd_per_hour is not None and offer is not None:
            raise TrackError("give usd_per_hour or offer, not both")
        if on_budget is not None and on_budget not in ON_BUDGET:
            raise TrackError(f"on_budget must be one of {', '.join(ON_BUDGET)}, got {on_budget!r}")
        if warmup_steps < 0:
            raise TrackError(f"warmup_steps must be 0 or more, got {warmup_steps}")
        _positive("flush_every_s", flush_every_s)
        _positive("report_every_s", report_every_s)
        _positive("max_restart_gap_s", max_restart_gap_s, allow_zero=True)
        if report_every_steps is not None and report_every_steps < 1:
            raise TrackError(f"report_every_steps must be at least 1, got {report_every_steps}")
        kind, value = _target(target_tokens, target_samples, target_steps, target_epochs)
        price: Price | None = None
        if usd_per_hour is not None:
            price = Price.given(usd_per_hour)
        elif offer is not None:
            price = resolve_offer(offer, None if home is None else Path(home))
        given: dict[str, Any] = {
            "name": name,
            "tokens_per_step": _positive("tokens_per_step", tokens_per_step),
            "samples_per_step": _positive("samples_per_step", samples_per_step),
            "flops_per_token": _positive("flops_per_token", flops_per_token),
            "flops_per_sample": _positive("flops_per_sample", flops_per_sample),
            "params": _positive("params", params),
            "layers": _positive("layers", layers),
            "hidden": _positive("hidden", hidden),
            "heads": _positive("heads", heads),
            "seq_len": _positive("seq_len", seq_len),
            "target_kind": kind,
            "target_value": value,
            "steps_per_epoch": _positive("steps_per_epoch", steps_per_epoch),
            "instances": _positive("instances", instances),
            "budget_usd": _positive("budget_usd", budget_usd),
            "on_budget": on_budget,
        }
        if flops_per_token is not None or flops_per_sample is not None:
            given["flops_source"] = "given"
        self.run_id = str(run_id or os.environ.get(RUN_ID_ENV) or uuid.uuid4().hex[:12])
        self._home = resolve_home(home)
        if persist is None:  # one writer per job: under torchrun & co. only rank 0 keeps the record
            persist = os.environ.get("RANK", "0") == "0"
        self._store = RunStore(self._home / RUNS_FILENAME) if persist else None
        self._adapter = adapter
        self._details: dict[str, Any] = dict(details or {})
        self._device = device or DeviceSpec.host()
        self._device_given = device is not None
        self._sync = sync
        self._warmup = int(warmup_steps)
        self._on_report = on_report
        self._report_every_s = report_every_s
        self._report_every_steps = report_every_steps
        self._flush_every_s = float(flush_every_s)
        self._max_gap_s = float(max_restart_gap_s)
        self.should_stop = False
        self._closed = False
        self._final: Report | None = None
        self._status = "running"

        # --- the run so far (other processes), and this process's place in it
        stored = self._store.run(self.run_id) if self._store is not None else None
        previous = self._store.segments(self.run_id) if stored is not None and self._store else []
        self._created_at = stored["created_at"] if stored else utc_now()
        self._previous_segments = previous
        config = RunConfig()
        if stored is not None:  # inherit what this process does not say again
            config = replace(
                config,
                **{f.name: stored.get(f.name) for f in fields(RunConfig) if stored.get(f.name) is not None},
            )
            if not self._device_given and stored.get("device_kind"):
                self._device = DeviceSpec(
                    str(stored.get("framework") or "none"),
                    stored.get("framework_version"),
                    str(stored["device_kind"]),
                    str(stored.get("device_name") or ""),
                    int(float(stored.get("device_count") or 1)),
                    str(stored.get("dtype") or "fp32"),
                    "stored with the run",
                )
            old = json.loads(stored["details"]) if stored.get("details") else {}
            self._details = {**old, **self._details}
        config = replace(config, **{k: v for k, v in given.items() if v is not None})
        if price is not None:
            config = self._with_price(config, price)
        elif config.usd_per_hour is not None and instances is not None and stored is not None:
            per_instance = float(config.usd_per_hour) / float(stored.get("instances") or 1.0)
            config = replace(config, usd_per_hour=per_instance * float(instances))
        self._price = price
        self.config = config
        self._tokens_seen = bool(self._details.get("tokens_given"))
        self._samples_seen = bool(self._details.get("samples_given"))

        self._seq = len(previous)
        self._previous_run = stored
        self._previous = self._previous_totals()
        last_seen = max((float(s.get("last_seen_unix") or _NAN) for s in previous), default=_NAN)
        self._resumption = (
            resumption(
                self._previous,
                last_seen_unix=last_seen,
                now_unix=self._started_unix,
                resume_step=resume_step,
                max_restart_gap_s=self._max_gap_s,
            )
            if previous
            else Resumption(0.0, 0.0, 0.0 if resume_step is None else float(resume_step), 0.0, 0.0, 0.0, 0.0)
        )
        self._segment_id = uuid.uuid4().hex
        # --- this segment's counters (the hot path touches only these)
        self._mark = self._t0
        self._step_start = _NAN
        self._in_step = False
        self._phase: str | None = None
        self._phase_start = _NAN
        self._steps = 0
        self._tokens = 0.0
        self._samples = 0.0
        self._epochs = 0.0
        self._productive = 0.0
        self._data_wait = 0.0
        self._eval = 0.0
        self._checkpoint = 0.0
        self._startup = 0.0
        self._tracker_s = 0.0
        self._steady_steps = 0
        self._steady_s = 0.0
        self._steady_tokens = 0.0
        self._steady_samples = 0.0
        self._first_step_s = _NAN
        self._times: deque[float] = deque(maxlen=RECENT_STEPS)
        self._pending_tokens: float | None = None
        self._pending_samples: float | None = None
        self._context: Any = _StepContext(self)
        self._tokens_default = 0.0
        self._samples_default = 0.0
        self._warned_projected = False
        self._warned_spent = False
        self._next_flush = self._t0 + self._flush_every_s
        self._next_report = self._t0 + report_every_s if report_every_s else math.inf
        self._next_report_step = report_every_steps or 0
        self._budget_deadline = math.inf
        self._next_check = math.inf
        self._apply_config()
        self._flush(run=True)
        atexit.register(_close_at_exit, weakref.ref(self))

    # --- configuration ------------------------------------------------------------------------------------

    @staticmethod
    def _with_price(config: RunConfig, price: Price) -> RunConfig:
        instances = config.instances or 1.0
        return replace(
            config,
            usd_per_hour=price.usd_per_hour * instances,
            price_source=price.source if instances == 1 else f"{price.source} x {instances:g} instances",
            provider=price.provider,
            instance_type=price.instance_type,
            region=price.region,
            pricing_model=price.pricing_model,
            instances=instances,
        )

    def update(
        self,
        *,
        device: DeviceSpec | None = None,
        sync: Callable[[], object] | None = None,
        only_missing: bool = False,
        **changes: Any,
    ) -> None:
        """Tell the tracker more about the run once it is known (adapters call this when the framework has
        set up: the device, the model's parameters, steps per epoch, a default target). Keys are the fields
        of :class:`RunConfig`; None values are ignored; ``only_missing``: set only what is not set yet (what
        the user gave wins over what an adapter finds)."""
        unknown = sorted(set(changes) - {f.name for f in fields(RunConfig)})
        if unknown:
            raise TrackError(f"unknown run setting {unknown[0]!r}")
        for key in _NUMERIC_CONFIG:
            if changes.get(key) is not None:
                changes[key] = _positive(key, changes[key])
        values = {k: v for k, v in changes.items() if v is not None}
        if only_missing:
            values = {k: v for k, v in values.items() if getattr(self.config, k) is None}
            if "target_value" in changes and self.config.target_kind is not None:
                values.pop("target_kind", None)
                values.pop("target_value", None)
        if values:
            self.config = replace(self.config, **values)
        if device is not None and not (only_missing and self._device_given):
            self._device = device
        if sync is not None:
            self._sync = sync
        self._apply_config()
        self._flush(run=True)

    def details(self, **extra: Any) -> None:
        """Add facts to the run record's ``details`` (JSON): how the device and FLOPs were found, ..."""
        self._details.update(extra)

    def record_counted_flops(
        self, flops_per_step: float, tokens: float | None, samples: float | None, how: str
    ) -> None:
        """A framework counted ``flops_per_step`` model FLOPs in a step of ``tokens``/``samples`` (None: the
        configured per-step figures): record FLOPs per token and per sample, and where they come from."""
        tokens = tokens if tokens is not None else self.config.tokens_per_step
        samples = samples if samples is not None else self.config.samples_per_step
        if not (flops_per_step > 0 and math.isfinite(flops_per_step)):
            self.details(flops_counted=f"{how}: no FLOPs counted")
            return
        self.details(flops_per_step_counted=flops_per_step)
        self.update(
            flops_per_token=flops_per_step / tokens if tokens else None,
            flops_per_sample=flops_per_step / samples if samples else None,
            flops_source=f"{how} (counted in step 1)",
        )

    def resume_from(self, step: float) -> None:
        """The step this process restarts from (its checkpoint), when it is known only after attaching
        (Lightning and Keras know it once they have restored the checkpoint). Call before the first step."""
        if self._steps:
            raise TrackError("resume_from() must come before the first step")
        if not self._previous_segments:
            self._resumption = replace(self._resumption, start_step=float(step))
            return
        last_seen = max(float(s.get("last_seen_unix") or _NAN) for s in self._previous_segments)
        fresh = resumption(
            self._previous,
            last_seen_unix=last_seen,
            now_unix=self._started_unix,
            resume_step=step,
            max_restart_gap_s=self._max_gap_s,
        )
        self._resumption = fresh

    def _previous_totals(self) -> Totals:
        run = self._run_record()
        return totals(
            self._previous_segments, tokens_counted=tokens_counted(run), samples_counted=samples_counted(run)
        )

    def _resolved_flops(self) -> tuple[float | None, float | None, str | None]:
        c = self.config
        if c.flops_per_token is not None or c.flops_per_sample is not None:
            per_sample = c.flops_per_sample
            if per_sample is None and c.flops_per_token and c.tokens_per_step and c.samples_per_step:
                per_sample = c.flops_per_token * c.tokens_per_step / c.samples_per_step
            return c.flops_per_token, per_sample, c.flops_source or "given"
        if c.params is not None:
            per_token = flops_per_token_from_params(c.params, c.layers, c.hidden, c.seq_len)
            shape = " + 12 L h s" if c.layers and c.hidden and c.seq_len else ""
            how = self._details.get("params_source", "parameters given")
            per_sample = (
                per_token * c.tokens_per_step / c.samples_per_step
                if c.tokens_per_step and c.samples_per_step
                else None
            )
            return per_token, per_sample, f"6N{shape} ({how})"
        return None, None, None

    def _apply_config(self) -> None:
        c = self.config
        self._tokens_default = c.tokens_per_step or 0.0
        self._samples_default = c.samples_per_step or 0.0
        if c.tokens_per_step is not None:
            self._tokens_seen = True
        if c.samples_per_step is not None:
            self._samples_seen = True
        if c.budget_usd is not None and c.usd_per_hour:
            billed_before = self._previous.elapsed_s + self._resumption.restart_gap_s
            seconds = c.budget_usd / c.usd_per_hour * 3600.0 - billed_before
            self._budget_deadline = self._t0 + seconds
        else:
            self._budget_deadline = math.inf
        self._reschedule()

    def _reschedule(self) -> None:
        self._next_check = min(self._next_flush, self._next_report, self._budget_deadline)

    # --- the step API (hot path) --------------------------------------------------------------------------

    def step(self, tokens: float | None = None, samples: float | None = None) -> Any:
        """``with tracker.step(): ...`` times one training step; ``tokens``/``samples``: this step's
        (default: ``tokens_per_step``/``samples_per_step``)."""
        self._pending_tokens = tokens
        self._pending_samples = samples
        return self._context

    def begin(self) -> None:
        """A step starts (the time since the last step ended was spent waiting for data)."""
        now = perf_counter()
        if self._steps:
            self._data_wait += now - self._mark
        else:
            self._startup += now - self._mark
        self._step_start = now
        self._in_step = True

    def end(self, tokens: float | None = None, samples: float | None = None) -> None:
        """The step ends: synchronise the device, read the clock, count the work."""
        if self._sync is not None:
            self._sync()
        now = perf_counter()
        took = now - self._step_start
        self._mark = now
        self._in_step = False
        self._steps += 1
        self._productive += took
        if tokens is None:
            tokens = self._tokens_default
        else:
            self._tokens_seen = True
        if samples is None:
            samples = self._samples_default
        else:
            self._samples_seen = True
        self._tokens += tokens
        self._samples += samples
        if self._steps > self._warmup:
            self._steady_steps += 1
            self._steady_s += took
            self._steady_tokens += tokens
            self._steady_samples += samples
            self._times.append(took)
        elif self._steps == 1:
            self._first_step_s = took
        if now >= self._next_check or self._steps == self._next_report_step:
            self._check(now)

    def abandon(self) -> None:
        """The step raised: its time counts as neither progress nor waiting (it stays unclassified: other),
        and it counts no work."""
        self._in_step = False
        self._mark = perf_counter()

    def epoch_end(self) -> None:
        self._epochs += 1.0

    def phase_begin(self, bucket: str) -> None:
        """Evaluation (``"eval"``) or checkpointing (``"checkpoint"``) starts."""
        if bucket not in ("eval", "checkpoint"):
            raise TrackError(f"unknown phase {bucket!r}: eval or checkpoint")
        now = perf_counter()
        if self._phase is not None or self._in_step:  # nested: the outer phase or the step keeps the time
            return
        if self._steps:
            self._data_wait += now - self._mark
        else:
            self._startup += now - self._mark
        self._phase = bucket
        self._phase_start = now

    def phase_end(self) -> None:
        if self._phase is None:
            return
        now = perf_counter()
        if self._phase == "eval":
            self._eval += now - self._phase_start
        else:
            self._checkpoint += now - self._phase_start
        self._phase = None
        self._mark = now

    def evaluation(self) -> _Phase:
        """``with tracker.evaluation(): validate()``: the time counts as evaluation, not progress."""
        return _Phase(self, "eval")

    def checkpoint(self) -> _Phase:
        """``with tracker.checkpoint(): save()``: the time counts as checkpointing."""
        return _Phase(self, "checkpoint")

    # --- reports, budget, persistence (on a clock) -------------------------------------------------------

    def _check(self, now: float) -> None:
        report: Report | None = None
        if now >= self._next_flush:
            self._flush()
            self._next_flush = now + self._flush_every_s
        if now >= self._next_report or self._steps == self._next_report_step:
            report = self.report()
            if self._report_every_s:
                self._next_report = now + self._report_every_s
            if self._report_every_steps:
                self._next_report_step = self._steps + self._report_every_steps
            if self._on_report is not None:
                self._on_report(report)
        self._reschedule()
        if self.config.budget_usd is not None:
            report = report or self.report()
            self._budget(report, now)

    def _budget(self, report: Report, now: float) -> None:
        budget = self.config.budget_usd
        if report.budget_state == "projected_over" and not self._warned_projected:
            self._warned_projected = True
            self._warn(
                f"run {self.run_id}: projected cost ${report.projected_cost_usd:,.2f} exceeds the budget "
                f"${budget:,.2f} (${report.cost_usd:,.2f} spent, {report.progress * 100:.0f}% done)"
            )
        if report.budget_state != "spent":
            return
        policy = self.config.on_budget or "warn"
        # "raise" raises from every later step too; "warn" and "stop" have said it once.
        self._budget_deadline = now if policy == "raise" else math.inf
        self._reschedule()
        message = f"run {self.run_id}: spent ${report.cost_usd:,.2f} of its ${budget:,.2f} budget"
        if not self._warned_spent:
            self._warned_spent = True
            action = {"warn": "", "stop": "; stopping", "raise": "; stopping"}[policy]
            self._warn(message + action)
        if policy in ("stop", "raise"):
            self.should_stop = True
            self._status = "stopped"
        if policy == "raise":
            self._flush(run=True)
            raise BudgetExceeded(message, report)

    @staticmethod
    def _warn(message: str) -> None:
        logger.warning(message)
        warnings.warn(message, BudgetWarning, stacklevel=4)

    def report(self) -> Report:
        """The run so far (this and earlier processes) and what finishing it costs (after :meth:`close`:
        the final report)."""
        if self._final is not None:
            return self._final
        return self._report_at(perf_counter())

    def _report_at(self, now: float) -> Report:
        segments = [*self._previous_segments, self._segment_record(now)]
        run = self._run_record()
        total = totals(segments, tokens_counted=self._tokens_seen, samples_counted=self._samples_seen)
        times = sorted(islice(reversed(self._times), MEDIAN_STEPS))
        median = (
            _NAN
            if not times
            else times[len(times) // 2]
            if len(times) % 2
            else 0.5 * (times[len(times) // 2 - 1] + times[len(times) // 2])
        )
        return make_report(run, total, step_time_s=median)

    def flush(self) -> None:
        """Write this segment (and the run) to the run store now."""
        self._flush(run=True)

    def _flush(self, *, run: bool = False, ended: str | None = None, now: float | None = None) -> None:
        if self._store is None:
            return
        started = perf_counter()
        segment = self._segment_record(started if now is None else now, ended=ended, times=True)
        self._store.write(self._run_record() if run or ended else None, segment)
        spent = perf_counter() - started
        self._tracker_s += spent
        if not self._in_step and self._phase is None:
            self._mark += spent  # the write is the tracker's time, not a data wait

    def close(self, status: str | None = None) -> Report:
        """End this process's segment (``status``: finished | stopped | failed | detached; default: finished
        when the target is reached, stopped after a budget stop, else detached). Returns the final report."""
        if self._final is not None:
            return self._final
        now = perf_counter()
        report = self._report_at(now)
        if status is None:
            if self._status == "stopped":
                status = "stopped"
            elif report.progress == report.progress and report.progress >= 1.0:
                status = "finished"
            else:
                status = "detached"
        self._status = status
        self._flush(run=True, ended=status, now=now)
        self._closed = True
        self._final = report
        return report

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is BudgetExceeded:
            self.close("stopped")
        else:
            self.close("failed" if exc_type is not None else None)

    # --- records ------------------------------------------------------------------------------------------

    @property
    def device(self) -> DeviceSpec:
        return self._device

    @property
    def steps(self) -> int:
        """Steps this process has run."""
        return self._steps

    def _segment_record(self, now: float, ended: str | None = None, *, times: bool = False) -> dict[str, Any]:
        r = self._resumption
        now_unix = self._started_unix + (now - self._t0)
        return {
            "segment_id": self._segment_id,
            "run_id": self.run_id,
            "seq": self._seq,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": utc_iso(self._started_unix),
            "started_unix": self._started_unix,
            "last_seen_at": utc_iso(now_unix),
            "last_seen_unix": now_unix,
            "ended_at": utc_iso(now_unix) if ended else None,
            "end_reason": ended,
            "start_step": r.start_step,
            "steps": self._steps,
            "tokens": self._tokens if self._tokens_seen else None,
            "samples": self._samples if self._samples_seen else None,
            "epochs": self._epochs,
            "warmup_steps": self._warmup,
            "steady_steps": self._steady_steps,
            "steady_s": self._steady_s,
            "steady_tokens": self._steady_tokens if self._tokens_seen else None,
            "steady_samples": self._steady_samples if self._samples_seen else None,
            "first_step_s": self._first_step_s,
            "step_times_s": json.dumps([round(t, 9) for t in self._times]) if times else None,
            "elapsed_s": now - self._t0,
            "productive_s": self._productive,
            "data_wait_s": self._data_wait,
            "eval_s": self._eval,
            "checkpoint_s": self._checkpoint,
            "startup_s": self._startup,
            "tracker_s": self._tracker_s,
            "restart_gap_s": r.restart_gap_s,
            "paused_s": r.paused_s,
            "lost_steps": r.lost_steps,
            "lost_tokens": r.lost_tokens,
            "lost_samples": r.lost_samples,
            "lost_progress_s": r.lost_progress_s,
        }

    def _run_record(self) -> dict[str, Any]:
        c = self.config
        d = self._device
        per_token, per_sample, source = self._resolved_flops()
        details = {
            **self._details,
            "tokens_given": self._tokens_seen,
            "samples_given": self._samples_seen,
            "device_source": d.source,
            "warmup_steps": self._warmup,
        }
        return {
            "run_id": self.run_id,
            "name": c.name,
            "adapter": self._adapter,
            "status": self._status,
            "created_at": self._created_at,
            "updated_at": utc_now(),
            "host": socket.gethostname(),
            "tool_version": __version__,
            "framework": d.framework,
            "framework_version": d.framework_version,
            "device_kind": d.kind,
            "device_name": d.name,
            "accelerator": d.accelerator,
            "peak_key": d.peak_key,
            "device_count": d.count,
            "dtype": d.dtype,
            "peak_tflops": d.peak_tflops,
            "params": c.params,
            "layers": c.layers,
            "hidden": c.hidden,
            "heads": c.heads,
            "seq_len": c.seq_len,
            "flops_per_token": per_token,
            "flops_per_sample": per_sample,
            "flops_source": source,
            "tokens_per_step": c.tokens_per_step,
            "samples_per_step": c.samples_per_step,
            "steps_per_epoch": c.steps_per_epoch,
            "target_kind": c.target_kind,
            "target_value": c.target_value,
            "usd_per_hour": c.usd_per_hour,
            "price_source": c.price_source,
            "provider": c.provider,
            "instance_type": c.instance_type,
            "region": c.region,
            "pricing_model": c.pricing_model,
            "instances": c.instances,
            "budget_usd": c.budget_usd,
            "on_budget": c.on_budget,
            "details": json.dumps(details, sort_keys=True, default=str),
        }


def _close_at_exit(ref: weakref.ref[Tracker]) -> None:
    """At interpreter exit, a tracker nobody closed ends its segment (a crash never gets here)."""
    tracker = ref()
    store = tracker._store if tracker is not None else None
    if store is not None and not store.path.parent.is_dir():  # its home is gone (a temporary directory)
        return
    if tracker is not None and not tracker._closed:
        try:
            tracker.close()
        except Exception:  # the store may be gone at exit; the last flush stands
            logger.debug("closing tracker %s at exit failed", tracker.run_id, exc_info=True)
