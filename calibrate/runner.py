"""Running a calibration: one worker process per framework, one after another, rows stored as they come.

:func:`run_calibration` starts ``python -m calibrate.worker`` for each framework in turn (never two at
once), reads its JSON-line events (see :mod:`calibrate.worker`) and stores every result row the moment it
arrives, so an interrupt or a crash loses nothing already finished. A worker that dies mid-task (a
segfault, the OOM killer) costs that task only: it is recorded as failed and a new worker continues with
the tasks left (up to ``max_restarts`` times). A framework that cannot start (not installed, no such
device) is reported and the others still run. Progress goes to an ``on_event`` callback; nothing prints.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Any, Final, Literal

from calibrate.backends.base import get_backend, is_installed, resolve_frameworks
from calibrate.errors import CalibrationError
from calibrate.kernels import resolve_kernels
from calibrate.profiles import PROFILES
from calibrate.results import Task, failed_row
from calibrate.store import ResultStore

EventKind = Literal[
    "framework_start",
    "plan",
    "task_start",
    "row",
    "task_end",
    "skipped",
    "framework_failed",
    "framework_missing",
    "worker_restart",
    "framework_done",
]
STDERR_TAIL_LINES: Final = 8
#: The worker's exit code after Ctrl-C (calibrate.worker returns 130 on KeyboardInterrupt).
WORKER_INTERRUPTED: Final = 130


@dataclass(frozen=True, slots=True)
class Event:
    """A progress event for the caller's progress bar; ``total`` is the framework's task count."""

    kind: EventKind
    framework: str
    task: str | None = None
    message: str | None = None
    row: dict[str, Any] | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What to calibrate. ``frameworks``/``kernels`` empty: all. ``explicit``: the frameworks were named
    by the user, so a missing one is an error rather than a note."""

    frameworks: tuple[str, ...] = ()
    device: str = "auto"
    kernels: tuple[str, ...] = ()
    profile: str = "standard"
    explicit: bool = False
    threads: int = 0
    host_devices: int = 0
    alternates: str = ""
    max_restarts: int = 2
    timeout_s: float | None = None  # per framework


@dataclass
class FrameworkOutcome:
    framework: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # the framework could not run at all
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failed_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("status") != "ok"]


@dataclass
class RunSummary:
    run_id: str
    outcomes: list[FrameworkOutcome] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # "PyTorch is not installed: pip install 'tco[torch]'"

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [r for o in self.outcomes for r in o.rows]

    @property
    def failures(self) -> list[str]:
        """One line per failed framework or task."""
        lines = [f"{o.framework}: {o.error}" for o in self.outcomes if o.error]
        lines += [
            f"{r['framework']} {r['kernel']}/{r['variant']}/{r['dtype']}: {r['error']}"
            for o in self.outcomes
            for r in o.failed_rows
        ]
        return lines


class CalibrationInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_calibration`. Every row stored before it is a complete row (one transaction
    each, written when its task finished); the task in progress stored nothing. ``str()`` says so in one
    line. A KeyboardInterrupt, so that whatever handles Ctrl-C (exit 130) still does."""

    def __init__(self, run_id: str, framework: str | None, rows_kept: int, store_path: str) -> None:
        self.run_id = run_id
        self.framework = framework
        self.rows_kept = rows_kept
        where = f" during {framework}" if framework else ""
        self.message = (
            f"calibration interrupted{where}: {rows_kept} finished row(s) of run {run_id} kept in "
            f"{store_path}, the task in progress stored nothing"
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def validate(request: RunRequest) -> RunRequest:
    """Check names up front (one line and exit 2-style errors before minutes of work)."""
    if request.profile not in PROFILES:
        raise CalibrationError(
            f"unknown profile {request.profile!r}", hint=f"choose one of {', '.join(PROFILES)}"
        )
    if request.device not in ("auto", "cpu", "cuda", "tpu"):
        raise CalibrationError(f"unknown device {request.device!r}", hint="choose auto, cpu, cuda or tpu")
    frameworks = resolve_frameworks(request.frameworks)
    kernels = resolve_kernels(request.kernels)
    return replace(request, frameworks=frameworks, kernels=kernels)


def run_calibration(
    request: RunRequest,
    store: ResultStore,
    on_event: Callable[[Event], None] | None = None,
    *,
    run_id: str | None = None,
    python: str = sys.executable,
) -> RunSummary:
    """Calibrate each framework of ``request`` in its own worker process, storing rows as they arrive."""
    request = validate(request)
    summary = RunSummary(run_id=run_id or new_run_id())
    notify = on_event or (lambda _event: None)
    runnable: list[str] = []
    for name in request.frameworks:
        info = get_backend(name).info
        if is_installed(info.module):
            runnable.append(name)
            continue
        message = str(info.missing())
        if request.explicit:
            raise CalibrationError(message)
        summary.missing.append(message)
        notify(Event("framework_missing", name, message=message))
    if not runnable:
        raise CalibrationError("no ML framework is installed", hint="pip install 'tco[all]'")
    for name in runnable:
        outcome = FrameworkOutcome(name)
        summary.outcomes.append(outcome)
        try:
            _run_framework(outcome, request, store, notify, summary.run_id, python)
        except KeyboardInterrupt as exc:
            try:  # what is stored, exactly (an interrupt can land between storing a row and counting it)
                kept = store.count(summary.run_id)
            except (CalibrationError, KeyboardInterrupt):
                kept = len(summary.rows)
            raise CalibrationInterrupted(summary.run_id, name, kept, str(store.path)) from exc
    return summary


def _worker_command(
    python: str, framework: str, request: RunRequest, run_id: str, skip: Sequence[str]
) -> list[str]:
    command = [
        python,
        "-m",
        "calibrate.worker",
        "--framework",
        framework,
        "--device",
        request.device,
        "--profile",
        request.profile,
        "--kernels",
        ",".join(request.kernels),
        "--run-id",
        run_id,
    ]
    if skip:
        command += ["--skip", ",".join(skip)]
    if request.threads:
        command += ["--threads", str(request.threads)]
    if request.host_devices:
        command += ["--host-devices", str(request.host_devices)]
    if request.alternates:
        command += ["--alternates", request.alternates]
    return command


def _tail(handle: IO[bytes]) -> str:
    handle.flush()
    handle.seek(0)
    text = handle.read().decode("utf-8", "replace")
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-STDERR_TAIL_LINES:])


def _run_framework(
    outcome: FrameworkOutcome,
    request: RunRequest,
    store: ResultStore,
    notify: Callable[[Event], None],
    run_id: str,
    python: str,
) -> FrameworkOutcome:
    """Run ``outcome.framework``'s tasks, adding each stored row to ``outcome`` as it is stored."""
    framework = outcome.framework
    notify(Event("framework_start", framework))
    finished: list[str] = []  # task ids with a stored row
    plan: list[str] | None = None
    plan_event: dict[str, Any] | None = None
    restarts = 0

    def record_failure(task_id: str, error: str) -> None:
        """Store and report a failed row for a task the worker did not finish."""
        row = failed_row(
            run_id=run_id, framework=framework, task=Task.parse(task_id), error=error, profile=request.profile
        )
        if plan_event is not None:
            _fill_from_plan(row, plan_event)
        store.add(row)
        outcome.rows.append(row)
        notify(Event("row", framework, task=task_id, row=row))

    while True:
        result = _run_worker(
            framework, request, store, notify, run_id, python, finished, outcome, plan is None
        )
        if result.plan is not None and plan is None:
            plan, plan_event = result.plan, result.plan_event
        if result.done:
            break
        if result.interrupted:  # Ctrl-C reached the worker (first): the run stops, nothing is recorded
            raise KeyboardInterrupt
        # The worker ended without "done": fatal before its plan, or died mid-task.
        if plan is None:
            outcome.error = result.error or "the worker exited before planning"
            notify(Event("framework_failed", framework, message=outcome.error))
            break
        if result.in_flight is not None and result.in_flight not in finished:
            record_failure(result.in_flight, f"worker died: {result.error}")
            finished.append(result.in_flight)
            notify(Event("task_end", framework, task=result.in_flight))
        left = [t for t in plan if t not in finished]
        if not left or restarts >= request.max_restarts:
            for task_id in left:
                record_failure(task_id, f"not run: the worker died ({result.error})")
            break
        restarts += 1
        notify(Event("worker_restart", framework, message=f"restarting after: {result.error}"))
    notify(Event("framework_done", framework))
    return outcome


def _fill_from_plan(row: dict[str, Any], plan_event: dict[str, Any]) -> None:
    device = plan_event.get("device") or {}
    row.update(
        {
            "framework_version": plan_event.get("framework_version"),
            "installed_bytes": plan_event.get("installed_bytes"),
            "device_kind": device.get("kind"),
            "device_name": device.get("name"),
            "accelerator": device.get("accelerator"),
            "device_count": None,
        }
    )


@dataclass
class _WorkerResult:
    done: bool = False
    plan: list[str] | None = None
    plan_event: dict[str, Any] | None = None
    in_flight: str | None = None
    error: str | None = None
    interrupted: bool = False  # the worker stopped on Ctrl-C (SIGINT): the run is interrupted, not failed


def _run_worker(
    framework: str,
    request: RunRequest,
    store: ResultStore,
    notify: Callable[[Event], None],
    run_id: str,
    python: str,
    finished: list[str],
    outcome: FrameworkOutcome,
    first: bool,
) -> _WorkerResult:
    result = _WorkerResult()
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    command = _worker_command(python, framework, request, run_id, finished)
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, env=env
        )
        assert process.stdout is not None  # Popen with stdout=PIPE always has it
        fatal: str | None = None
        timed_out = threading.Event()

        def kill_on_timeout() -> None:
            timed_out.set()
            process.kill()

        watchdog = threading.Timer(request.timeout_s, kill_on_timeout) if request.timeout_s else None
        if watchdog is not None:
            watchdog.daemon = True
            watchdog.start()
        try:
            for raw in process.stdout:
                try:
                    event = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                kind = event.get("event")
                if kind == "plan":
                    result.plan = list(event["tasks"])
                    result.plan_event = event
                    if first:
                        for kernel, reason in event.get("skipped", []):
                            outcome.skipped.append((kernel, reason))
                            notify(Event("skipped", framework, task=kernel, message=reason))
                    left = [t for t in result.plan if t not in finished]
                    notify(
                        Event(
                            "plan",
                            framework,
                            total=len(result.plan),
                            message=f"{event.get('framework_version')} on {event['device'].get('name')}"
                            + (
                                f" ({len(result.plan) - len(left)} done)"
                                if len(left) < len(result.plan)
                                else ""
                            ),
                        )
                    )
                elif kind == "start":
                    result.in_flight = event["task"]
                    notify(Event("task_start", framework, task=event["task"]))
                elif kind == "row":
                    row = event["row"]
                    store.add(row)
                    outcome.rows.append(row)
                    task_id = f"{row['kernel']}/{row['variant']}/{row['dtype']}"
                    notify(Event("row", framework, task=task_id, row=row))
                elif kind == "end":
                    finished.append(event["task"])
                    result.in_flight = None
                    notify(Event("task_end", framework, task=event["task"]))
                elif kind == "fatal":
                    fatal = event.get("message") or "fatal error"
                    if event.get("hint"):
                        fatal += f" ({event['hint']})"
                elif kind == "done":
                    result.done = True
            code = process.wait()
        except BaseException:  # KeyboardInterrupt: stop the worker, keep what is stored, re-raise
            process.kill()
            process.wait()
            raise
        finally:
            if watchdog is not None:
                watchdog.cancel()
        if timed_out.is_set() and not result.done:
            fatal = f"timed out after {request.timeout_s:.0f} s"
        if not result.done:
            if fatal is not None:
                result.error = fatal
            else:
                result.interrupted = code in (WORKER_INTERRUPTED, -signal.SIGINT)
                how = f"signal {-code}" if code < 0 else f"exit code {code}"
                tail = _tail(err)
                result.error = f"{how}" + (f": {tail}" if tail else "")
    return result
