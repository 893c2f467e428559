"""The calibration worker: one framework, one process. ``python -m calibrate.worker --framework torch ...``

The parent (:mod:`calibrate.runner`) starts one worker per framework, never two at once, so that the
frameworks' thread pools, ``XLA_FLAGS`` and GPU memory reservations never meet. The worker speaks JSON
lines on its original stdout, one event per line, flushed as each happens:

- ``{"event": "plan", "framework", "framework_version", "device", "tasks": [ids], "skipped": [[kernel,
  reason]], "import_s", "installed_bytes"}``
- ``{"event": "start", "task": id}`` before a task, ``{"event": "row", "row": {...}}`` per result row
  (a failed task gives one ``status: failed`` row), ``{"event": "end", "task": id}`` after it
- ``{"event": "fatal", "message", "hint"}`` when the framework or the device is unavailable (exit 3)
- ``{"event": "done"}`` at the end (exit 0)

Anything the frameworks print to stdout is redirected to stderr, so it cannot corrupt the protocol.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import IO, Any, Final

from calibrate.errors import CalibrationError

EXIT_FATAL: Final = 3


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m calibrate.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--framework", required=True)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "tpu"))
    parser.add_argument("--profile", default="standard", choices=("tiny", "quick", "standard", "full"))
    parser.add_argument("--kernels", default="all", help="comma-separated kernel names, or all")
    parser.add_argument("--run-id", default="")
    parser.add_argument("--skip", default="", help="comma-separated task ids already done")
    parser.add_argument("--threads", type=int, default=0, help="framework threads (0: every usable CPU)")
    parser.add_argument(
        "--host-devices",
        type=int,
        default=0,
        help="JAX on CPU: expose N host devices (XLA_FLAGS), e.g. to exercise psum",
    )
    parser.add_argument(
        "--alternates",
        default="",
        help="kernels that also run the second variant: comma-separated, all, none "
        "(default: the profile's choice)",
    )
    parser.add_argument("--dtypes", default="", help="only the tasks in these dtypes (comma-separated)")
    return parser.parse_args(argv)


def _open_protocol() -> IO[str]:
    """A private handle on the original stdout; fd 1 (and print) now go to stderr."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    return protocol


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    protocol = _open_protocol()

    def emit(event: dict[str, Any]) -> None:
        protocol.write(json.dumps(event, default=str) + "\n")
        protocol.flush()

    if args.host_devices > 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (
            f"{flags} --xla_force_host_platform_device_count={args.host_devices}".strip()
        )
    try:
        return _run(args, emit)
    except CalibrationError as exc:
        emit({"event": "fatal", "message": exc.message, "hint": exc.hint})
        return EXIT_FATAL
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, emit: Callable[[dict[str, Any]], None]) -> int:
    from calibrate.backends.base import get_backend
    from calibrate.kernels import KERNEL_NAMES, resolve_kernels
    from calibrate.profiles import profile_for
    from calibrate.results import RunContext, failed_row, make_row
    from calibrate.system import installed_size, usable_cpus

    backend = get_backend(args.framework)
    kernels = resolve_kernels([k for k in args.kernels.split(",") if k])
    threads = args.threads or usable_cpus()
    if threads < usable_cpus() and hasattr(os, "sched_setaffinity"):
        # Pin to that many CPUs too: JAX's XLA:CPU has no thread-count setting, but follows the affinity.
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:threads])
    started = time.perf_counter()
    try:
        device = backend.setup(args.device, threads)
    except CalibrationError:
        raise
    except Exception as exc:  # a framework that fails to initialise is this framework's failure only
        raise CalibrationError(
            f"{backend.info.display_name} failed to start: {type(exc).__name__}: {exc}"
        ) from exc
    import_s = time.perf_counter() - started
    version = backend.version()
    size = installed_size(backend.info.distributions)
    profile = profile_for(args.profile, device.kind)
    if args.alternates:
        chosen = {"all": frozenset(KERNEL_NAMES), "none": frozenset()}.get(args.alternates)
        profile = profile.with_alternates(
            chosen if chosen is not None else frozenset(resolve_kernels(args.alternates.split(",")))
        )
    plan = backend.plan(kernels, profile, device)
    if args.dtypes:
        wanted = {d for d in args.dtypes.split(",") if d}
        plan = replace(plan, tasks=tuple(t for t in plan.tasks if t.dtype in wanted))
    ctx = RunContext(
        run_id=args.run_id,
        framework=backend.info.name,
        framework_version=version,
        installed_bytes=size.total_bytes,
        device=device,
        profile=profile.name,
        extra={
            "framework_import_s": import_s,
            "installed_core_bytes": size.core_bytes,
            "device_detail": device.detail,
            "devices_visible": device.count,
        },
    )
    skip = {s for s in args.skip.split(",") if s}
    emit(
        {
            "event": "plan",
            "framework": backend.info.name,
            "framework_version": version,
            "device": device.as_dict(),
            "tasks": [t.id for t in plan.tasks],
            "skipped": [list(s) for s in plan.skipped],
            "import_s": import_s,
            "installed_bytes": size.total_bytes,
            "profile": profile.name,
        }
    )
    for task in plan.tasks:
        if task.id in skip:
            continue
        emit({"event": "start", "task": task.id})
        try:
            for measurement in backend.run(task, profile, device):
                emit({"event": "row", "row": make_row(ctx, measurement)})
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # one failing kernel is recorded and the rest continue
            message = str(exc) if isinstance(exc, CalibrationError) else f"{type(exc).__name__}: {exc}"
            if os.environ.get("TCO_DEBUG"):
                traceback.print_exc()
            emit(
                {
                    "event": "row",
                    "row": failed_row(
                        run_id=args.run_id, framework=backend.info.name, task=task, error=message, ctx=ctx
                    ),
                }
            )
        finally:
            gc.collect()
        emit({"event": "end", "task": task.id})
    emit({"event": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
