"""Kernel bookkeeping the three backends share: the matmul sweep policy, and turning timings into
:class:`~calibrate.results.Measurement` rows with throughput and model FLOP/s. No framework imports."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from calibrate.kernels import (
    INFER_CNN,
    TRAIN_CNN,
    CnnConfig,
    TransformerConfig,
    check_loss_falls,
    matmul_flops,
    membw_bytes,
)
from calibrate.profiles import Profile
from calibrate.results import Measurement, Task
from calibrate.system import PeakRss
from calibrate.timing import Timing


@dataclass(frozen=True, slots=True)
class Memory:
    """A peak-memory reading and where it came from."""

    peak_bytes: float
    source: str


def rss_memory(rss: PeakRss) -> Memory:
    """The worker's peak RSS as a :class:`Memory` (on a CPU, or a device that reports no peak)."""
    source = (
        "peak RSS of the worker (VmHWM, reset per kernel)"
        if rss.since_reset
        else "peak RSS of the worker process"
    )
    return Memory(rss.peak_bytes(), source)


@dataclass(frozen=True, slots=True)
class SizePoint:
    """One size of a matmul sweep: its timing and its check's relative error."""

    timing: Timing
    check_error: float


def matmul_sweep(
    task: Task, profile: Profile, run_size: Callable[[int], SizePoint], memory: Callable[[], Memory]
) -> Measurement:
    """Run ``run_size(n)`` for each sweep size (each allocates, times and checks an n x n x n product),
    stopping before a size whose single call would exceed the profile's limit; report the best size."""
    points: list[dict[str, Any]] = []
    best: tuple[float, int, Timing] | None = None
    best_rate = 0.0
    stopped = None
    for n in profile.matmul_sizes:
        flops = matmul_flops(n, n, n)
        if best_rate > 0 and flops / best_rate > profile.matmul_max_call_s:
            stopped = f"n={n} predicted {flops / best_rate:.2f} s per call > {profile.matmul_max_call_s} s"
            break
        point = run_size(n)
        rate = flops / point.timing.median_s
        points.append(
            {
                "n": n,
                "tflop_per_s": rate / 1e12,
                "median_s": point.timing.median_s,
                "p10_s": point.timing.p10_s,
                "p90_s": point.timing.p90_s,
                "repeats": point.timing.repeats,
                "inner": point.timing.inner,
                "first_call_s": point.timing.first_call_s,
                "check_error": point.check_error,
            }
        )
        best_rate = max(best_rate, flops / point.timing.p10_s, rate)
        if best is None or rate > best[0]:
            best = (rate, n, point.timing)
    if best is None:
        raise RuntimeError("the matmul sweep ran no size")
    rate, n, timing = best
    mem = memory()
    return Measurement(
        task=task,
        shape=f"m={n},n={n},k={n}",
        timing=timing,
        throughput=rate / 1e12,
        flop_per_s=rate,
        peak_memory_bytes=mem.peak_bytes,
        peak_memory_source=mem.source,
        details={"sweep": points, "stopped": stopped, "best_n": n},
    )


def membw_measurement(
    task: Task, op: str, elements: int, timing: Timing, check_error: float, mem: Memory
) -> Measurement:
    moved = membw_bytes(op, elements)
    return Measurement(
        task=task,
        shape=f"op={op},elements={elements},bytes_per_array={elements * 4}",
        timing=timing,
        throughput=moved / timing.median_s / 1e9,
        metric=op,
        peak_memory_bytes=mem.peak_bytes,
        peak_memory_source=mem.source,
        details={"bytes_moved": moved, "check_error": check_error},
    )


def train_measurement(
    task: Task,
    profile: Profile,
    timing: Timing,
    losses: Sequence[float],
    mem: Memory,
    compile_cache: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Measurement:
    """A training row: checks that the loss fell, then samples/s (CNN) or tokens/s (transformer)."""
    first, last = check_loss_falls(losses, model=task.kernel)
    if task.kernel == TRAIN_CNN:
        cnn: CnnConfig = profile.cnn
        batch = profile.cnn_batch
        samples_per_s = batch / timing.median_s
        throughput = samples_per_s
        flop_per_s = cnn.train_flops_per_sample() * samples_per_s
        shape = cnn.describe(batch)
        units: dict[str, Any] = {"samples_per_s": samples_per_s}
    else:
        tf: TransformerConfig = profile.transformer
        batch = profile.transformer_batch
        tokens_per_s = batch * tf.seq / timing.median_s
        throughput = tokens_per_s
        flop_per_s = tf.train_flops_per_token() * tokens_per_s
        shape = tf.describe(batch)
        units = {"samples_per_s": batch / timing.median_s, "tokens_per_s": tokens_per_s}
    return Measurement(
        task=task,
        shape=shape,
        timing=timing,
        throughput=throughput,
        flop_per_s=flop_per_s,
        compile_cache=compile_cache,
        peak_memory_bytes=mem.peak_bytes,
        peak_memory_source=mem.source,
        details={**units, "loss_first": first, "loss_last": last, "steps": len(losses), **(extra or {})},
    )


def infer_measurement(
    task: Task,
    profile: Profile,
    metric: str,
    batch: int,
    timing: Timing,
    check_error: float,
    mem: Memory,
    compile_cache: str | None = None,
) -> Measurement:
    """An inference row: ``metric`` is latency (batch 1) or throughput (the larger batch)."""
    if task.kernel == INFER_CNN:
        per_item = profile.cnn.forward_flops_per_sample()
        items = batch
        shape = profile.cnn.describe(batch)
    else:
        per_item = profile.transformer.forward_flops_per_token()
        items = batch * profile.transformer.seq
        shape = profile.transformer.describe(batch)
    rate = items / timing.median_s
    return Measurement(
        task=task,
        shape=f"metric={metric},{shape}",
        timing=timing,
        throughput=rate,
        metric=metric,
        flop_per_s=per_item * rate,
        compile_cache=compile_cache,
        peak_memory_bytes=mem.peak_bytes,
        peak_memory_source=mem.source,
        details={
            "batch": batch,
            "latency_p50_s": timing.median_s,
            "latency_p99_s": timing.p99_s,
            "check_error": check_error,
        },
    )


def best_allreduce(task: Task, result: dict[str, Any], shape_extra: str) -> Measurement:
    """The all-reduce row: the size with the highest bus bandwidth (per-size figures in ``details``)."""
    sizes = result["sizes"]
    best = max(sizes, key=lambda s: s["busbw_gb_per_s"])
    samples = tuple(best["samples_s"])
    timing = Timing(first_call_s=best["first_call_s"], samples_s=samples, inner=best["inner"])
    ranks = int(result["ranks"])
    return Measurement(
        task=task,
        shape=f"bytes={best['bytes']},ranks={ranks},{shape_extra}",
        timing=timing,
        throughput=best["busbw_gb_per_s"],
        metric="busbw",
        peak_memory_bytes=float(result.get("peak_memory_bytes", math.nan)),
        peak_memory_source=str(result.get("peak_memory_source", "")),
        details={
            "ranks": ranks,
            "check_error": result.get("check_error"),
            "sizes": [{k: v for k, v in s.items() if k != "samples_s"} for s in sizes],
        },
    )
