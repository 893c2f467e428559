"""The backend interface, its registry, and what the backends share.

A backend wraps one framework. It imports the framework inside its methods only, so importing a backend
module (or :mod:`calibrate`) never loads PyTorch, JAX or TensorFlow. The registry maps a name to
``"module:attr"`` and imports on lookup.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Protocol

from calibrate.errors import CalibrationError

if TYPE_CHECKING:
    from types import ModuleType

    from calibrate.devices import DeviceInfo
    from calibrate.profiles import Profile
    from calibrate.results import Measurement, Task


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """Static facts about a backend: names, the install extra, the distributions that make its size."""

    name: str  # registry key and the ``framework`` column: torch, jax, tensorflow
    display_name: str  # PyTorch, JAX, TensorFlow
    module: str  # the top-level import that must exist
    extra: str  # pip install 'tco[<extra>]'
    distributions: tuple[str, ...]  # whose installed size is the framework's "bundle size"

    @property
    def install_hint(self) -> str:
        return f"pip install 'tco[{self.extra}]'"

    def missing(self, reason: str = "") -> CalibrationError:
        detail = f" ({reason})" if reason else ""
        return CalibrationError(f"{self.display_name} is not installed{detail}: {self.install_hint}")


@dataclass(frozen=True, slots=True)
class Plan:
    """The tasks a backend will run on a device, and the kernels it skips with the reason."""

    tasks: tuple[Task, ...]
    skipped: tuple[tuple[str, str], ...] = field(default=())


class Backend(Protocol):
    """One framework's calibration. Every method but :attr:`info` may import the framework."""

    @property
    def info(self) -> BackendInfo: ...

    def setup(self, requested: str, threads: int) -> DeviceInfo:
        """Import the framework, set its thread pools to ``threads``, and pick the device: ``requested`` is
        auto | cpu | cuda | tpu. Raises :class:`CalibrationError` when the device is not available."""
        ...

    def version(self) -> str: ...

    def plan(self, kernels: Sequence[str], profile: Profile, device: DeviceInfo) -> Plan:
        """The (kernel, variant, dtype) tasks to run, in order, for the requested kernels."""
        ...

    def run(self, task: Task, profile: Profile, device: DeviceInfo) -> list[Measurement]:
        """Run, time and check one task; raises on failure (the caller records it and goes on)."""
        ...


#: Framework name -> "module:attr" of its backend. Imported on lookup.
BACKENDS: Final = {
    "torch": "calibrate.backends.torch:BACKEND",
    "jax": "calibrate.backends.jax:BACKEND",
    "tensorflow": "calibrate.backends.tensorflow:BACKEND",
}
ALIASES: Final = {"pytorch": "torch", "tf": "tensorflow"}


def canonical_framework(name: str) -> str:
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in BACKENDS:
        close = difflib.get_close_matches(key, [*BACKENDS, *ALIASES], n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known frameworks: {', '.join(BACKENDS)}"
        raise CalibrationError(f"unknown framework {name!r}", hint=hint)
    return key


def resolve_frameworks(names: Sequence[str] | None) -> tuple[str, ...]:
    """Framework names (aliases allowed; ``all`` or nothing: every registered one), deduplicated."""
    if not names or any(n.strip().lower() == "all" for n in names):
        return tuple(BACKENDS)
    return tuple(dict.fromkeys(canonical_framework(n) for n in names))


def get_backend(name: str) -> Backend:
    """The backend registered as ``name`` (its module is imported; its framework is not)."""
    module_name, _, attr = BACKENDS[canonical_framework(name)].partition(":")
    backend: Backend = getattr(importlib.import_module(module_name), attr)
    return backend


def is_installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def import_framework(info: BackendInfo, module: str | None = None) -> ModuleType:
    """Import the framework (or one of its modules); a missing or broken install becomes a one-line
    :class:`CalibrationError` naming the install extra."""
    name = module or info.module
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = (exc.name or "").split(".")[0]
        if top == info.module or top == name.split(".")[0]:
            raise info.missing() from exc
        raise info.missing(f"importing {name} failed: {exc}") from exc


def variant_plan(
    kernels: Sequence[str],
    profile: Profile,
    *,
    primary: str,
    alternate: str | None,
    matmul_dtypes: Sequence[str],
    train_dtype: str,
    allreduce: str | None,
) -> Plan:
    """The usual plan: matmul per dtype, membw, each model kernel in the primary variant (and the alternate
    where the profile asks for it), and the all-reduce when ``allreduce`` is not a reason to skip it."""
    from calibrate.results import Task

    tasks: list[Task] = []
    skipped: list[tuple[str, str]] = []
    for kernel in kernels:
        if kernel == "matmul":
            tasks.extend(Task(kernel, primary, dtype) for dtype in matmul_dtypes)
        elif kernel == "membw":
            tasks.append(Task(kernel, primary, "fp32"))
        elif kernel == "allreduce":
            if allreduce is None:
                tasks.append(Task(kernel, primary, "fp32"))
            else:
                skipped.append((kernel, allreduce))
        else:
            tasks.append(Task(kernel, primary, train_dtype))
            if alternate is not None and kernel in profile.alternates:
                tasks.append(Task(kernel, alternate, train_dtype))
    return Plan(tuple(tasks), tuple(skipped))


def seed() -> int:
    """A fresh random seed (inputs are never the same twice, never zeros)."""
    import os

    return int.from_bytes(os.urandom(4), "little")
