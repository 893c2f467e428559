"""Facts about the host process: peak resident memory, installed size of a framework, versions, time."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import socket
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import metadata


def utc_now() -> str:
    """Now, ISO 8601 in UTC with seconds (``2026-11-25T02:33:44Z``)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def host_name() -> str:
    return socket.gethostname()


@cache
def tool_version() -> str:
    """The installed tco distribution's version (read from metadata; ``calibrate`` never imports tco)."""
    try:
        return metadata.version("tco")
    except metadata.PackageNotFoundError:
        return "unknown"


def usable_cpus() -> int:
    """CPUs this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# --- peak resident memory -------------------------------------------------------------------------------

_STATUS = "/proc/self/status"


def _status_kib(field: str) -> int | None:
    try:
        with open(_STATUS, encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class PeakRss:
    """Peak resident set size of this process over a stretch of work.

    On Linux the high-water mark (``VmHWM``) is reset to the current RSS at :meth:`reset` (writing ``5`` to
    ``/proc/self/clear_refs``), so the peak belongs to the kernel just run. Where that is not possible the
    peak is the process's lifetime maximum (``getrusage``), and :attr:`since_reset` says so.
    """

    def __init__(self) -> None:
        self.since_reset = False

    def reset(self) -> None:
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
                f.write("5")
            self.since_reset = True
        except OSError:
            self.since_reset = False

    def peak_bytes(self) -> float:
        hwm = _status_kib("VmHWM")
        if hwm is not None:
            return float(hwm) * 1024.0
        try:
            import resource

            scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
            return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale)
        except (ImportError, OSError):
            return math.nan


# --- installed size -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstalledSize:
    """Bytes on disk of a framework's own distributions (``core_bytes``) and of everything they require,
    transitively (``total_bytes``: what installing the framework puts on disk, shared packages included)."""

    core_bytes: float
    total_bytes: float
    distributions: tuple[str, ...]


def _distribution_bytes(dist: metadata.Distribution) -> int:
    total = 0
    for file in dist.files or ():
        try:
            total += os.stat(str(file.locate())).st_size
        except OSError:
            continue
    return total


def _requirements(dist: metadata.Distribution) -> list[str]:
    names: list[str] = []
    for spec in dist.requires or ():
        try:
            from packaging.requirements import Requirement

            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            names.append(req.name)
        except ImportError:  # packaging absent: skip extras, keep unconditional requirements
            if ";" in spec:
                continue
            match = re.match(r"[A-Za-z0-9_.\-]+", spec)
            if match:
                names.append(match.group(0))
        except Exception:  # an unparsable requirement is skipped, not fatal
            continue
    return names


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_size(names: Iterable[str]) -> InstalledSize:
    """Installed bytes of the distributions ``names`` that exist, and of their requirement closure."""
    core: list[metadata.Distribution] = []
    for name in names:
        try:
            core.append(metadata.distribution(name))
        except metadata.PackageNotFoundError:
            continue
    seen: dict[str, metadata.Distribution] = {}
    stack = list(core)
    while stack:
        dist = stack.pop()
        key = _key(dist.metadata["Name"] or "")
        if key in seen:
            continue
        seen[key] = dist
        for requirement in _requirements(dist):
            if _key(requirement) in seen:
                continue
            try:
                stack.append(metadata.distribution(requirement))
            except metadata.PackageNotFoundError:
                continue
    if not core:
        return InstalledSize(math.nan, math.nan, ())
    core_bytes = float(sum(_distribution_bytes(d) for d in core))
    total_bytes = float(sum(_distribution_bytes(d) for d in seen.values()))
    return InstalledSize(core_bytes, total_bytes, tuple(sorted(seen)))
