"""One result row per measured (kernel, variant, dtype, shape): the schema shared by store, export and tco.

Columns (units in the names; NaN or null where a value is unknown, never 0):

- identity: ``result_id`` (unique, makes imports idempotent), ``run_id``
- framework: ``framework`` (torch | jax | tensorflow), ``framework_version``, ``installed_bytes``
  (the framework's requirement closure on disk: the seed page's "bundle size")
- device: ``device_kind`` (cpu | cuda | rocm | tpu), ``device_name`` (as the framework reports it),
  ``accelerator`` (canonical name, ``CPU`` for the host, null when unknown), ``device_count`` (devices or
  processes the measurement used: 1 for every single-device kernel, the ranks of an all-reduce; how many
  were visible is in ``details``)
- what: ``kernel`` (see :mod:`calibrate.kernels`), ``variant`` (eager | compile | jit | xla | function),
  ``dtype``, ``shape`` (``key=value`` list; inference rows carry ``metric=latency`` at batch 1 or
  ``metric=throughput`` at the larger batch), ``metric``
- timing: ``compile_s`` (first call: compile/trace + first run, the "build time"), ``compile_cache``
  (cold | warm | partial for torch.compile, else null), ``median_s``, ``p10_s``, ``p90_s``, ``p99_s`` (per
  step or call, after warm-up, device synchronised), ``repeats``
- throughput: ``throughput`` in ``throughput_unit`` (tflop_per_s | gb_per_s | samples_per_s | tokens_per_s),
  ``achieved_tflop_per_s`` (model FLOP/s where the kernel counts FLOPs, else NaN), ``utilisation``
  (throughput over the device's sourced peak: TFLOP/s for FLOP kernels (MFU for models), memory bandwidth
  for ``membw``; NaN when the peak is unknown, e.g. any CPU), ``peak_value`` (that peak)
- memory: ``peak_memory_bytes`` (device allocator peak on accelerators; the worker's peak RSS on CPU),
  ``peak_memory_source``
- provenance: ``host``, ``measured_at`` (ISO UTC), ``tool_version``, ``profile``, ``status`` (ok | failed),
  ``error``, ``details`` (JSON: sweep points, losses, per-size bandwidths, ...)
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from calibrate.devices import DeviceInfo
from calibrate.kernels import KERNELS
from calibrate.peaks import load_peaks
from calibrate.schema import COLUMNS
from calibrate.system import host_name, tool_version, utc_now
from calibrate.timing import Timing


@dataclass(frozen=True, slots=True)
class Task:
    """One unit a worker runs: a kernel in one variant and dtype. Its id names it across processes."""

    kernel: str
    variant: str
    dtype: str

    @property
    def id(self) -> str:
        return f"{self.kernel}/{self.variant}/{self.dtype}"

    @classmethod
    def parse(cls, text: str) -> Task:
        kernel, variant, dtype = text.split("/")
        return cls(kernel, variant, dtype)


@dataclass(frozen=True, slots=True)
class Measurement:
    """What a backend measured for one task (one of possibly several rows, e.g. latency and throughput)."""

    task: Task
    shape: str
    timing: Timing
    throughput: float
    metric: str = "best"
    flop_per_s: float = math.nan  # model FLOP/s, NaN for kernels without a FLOP count
    compile_cache: str | None = None
    peak_memory_bytes: float = math.nan
    peak_memory_source: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every row of one worker shares."""

    run_id: str
    framework: str
    framework_version: str
    installed_bytes: float
    device: DeviceInfo
    profile: str
    extra: dict[str, Any] = field(default_factory=dict)  # merged into every row's details


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def peak_for(device: DeviceInfo, kernel: str, dtype: str) -> float:
    """The sourced peak that a kernel's throughput is a fraction of (TFLOP/s or GB/s), NaN when unknown."""
    if device.peak_key is None:
        return math.nan
    peak = load_peaks().get(device.peak_key)
    if peak is None:
        return math.nan
    spec = KERNELS[kernel]
    if kernel == "membw":
        value = peak.memory_bandwidth_tb_s
        return value * 1000.0 if value is not None else math.nan
    if spec.counts_flops:  # a single-device kernel: the peak of one device in the kernel's dtype
        flops = peak.tflops_for(dtype)
        return flops if flops is not None else math.nan
    return math.nan  # allreduce: interconnect peaks are quoted inconsistently (uni/bidirectional)


def make_row(ctx: RunContext, m: Measurement) -> dict[str, Any]:
    """A complete ``ok`` result row (JSON-ready: NaN becomes null)."""
    spec = KERNELS[m.task.kernel]
    peak = peak_for(ctx.device, m.task.kernel, m.task.dtype)
    measured = m.flop_per_s / 1e12 if spec.counts_flops else m.throughput
    utilisation = (
        measured / peak if math.isfinite(peak) and peak > 0 and math.isfinite(measured) else math.nan
    )
    row: dict[str, Any] = {
        "result_id": uuid.uuid4().hex,
        "run_id": ctx.run_id,
        "framework": ctx.framework,
        "framework_version": ctx.framework_version,
        "device_kind": ctx.device.kind,
        "device_name": ctx.device.name,
        "accelerator": ctx.device.accelerator,
        "device_count": m.details.get("ranks", 1),  # devices the measurement used
        "kernel": m.task.kernel,
        "variant": m.task.variant,
        "dtype": m.task.dtype,
        "shape": m.shape,
        "metric": m.metric,
        "compile_s": m.timing.first_call_s,
        "compile_cache": m.compile_cache,
        "median_s": m.timing.median_s,
        "p10_s": m.timing.p10_s,
        "p90_s": m.timing.p90_s,
        "p99_s": m.timing.p99_s,
        "repeats": m.timing.repeats,
        "throughput": m.throughput,
        "throughput_unit": spec.throughput_unit,
        "achieved_tflop_per_s": m.flop_per_s / 1e12 if spec.counts_flops else math.nan,
        "utilisation": utilisation,
        "peak_value": peak,
        "peak_memory_bytes": m.peak_memory_bytes,
        "peak_memory_source": m.peak_memory_source or None,
        "installed_bytes": ctx.installed_bytes,
        "host": host_name(),
        "measured_at": utc_now(),
        "tool_version": tool_version(),
        "profile": ctx.profile,
        "status": "ok",
        "error": None,
        "details": json.dumps({**ctx.extra, **m.details}, sort_keys=True, default=str),
    }
    return {k: _nan_to_none(v) for k, v in row.items()}


def failed_row(
    *, run_id: str, framework: str, task: Task, error: str, ctx: RunContext | None = None, profile: str = ""
) -> dict[str, Any]:
    """A ``failed`` row: what was attempted and why it failed; every measurement stays null."""
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(
        {
            "result_id": uuid.uuid4().hex,
            "run_id": run_id,
            "framework": framework,
            "kernel": task.kernel,
            "variant": task.variant,
            "dtype": task.dtype,
            "throughput_unit": KERNELS[task.kernel].throughput_unit,
            "host": host_name(),
            "measured_at": utc_now(),
            "tool_version": tool_version(),
            "profile": profile or None,
            "status": "failed",
            "error": " ".join(error.split())[:2000],
        }
    )
    if ctx is not None:
        row.update(
            {
                "framework_version": ctx.framework_version,
                "installed_bytes": _nan_to_none(ctx.installed_bytes),
                "device_kind": ctx.device.kind,
                "device_name": ctx.device.name,
                "accelerator": ctx.device.accelerator,
                "device_count": None,
                "profile": ctx.profile,
            }
        )
    return row
