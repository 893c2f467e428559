"""A tracked run as a calibration: the throughput source for re-projecting the job ("measured on your job").

:func:`from_run` reads a run from the store and returns a :class:`MeasuredRun`:

- ``workload``: one row of :data:`tco.model.work.WORKLOAD_COLUMNS` describing the whole job (the model's
  shape, the target's tokens or samples, the precision), so that the projection re-prices it at other
  scales, counts, accelerators and purchase options;
- ``calibrations``: rows in the calibration-results schema (:data:`calibrate.schema.COLUMNS`) that
  :func:`tco.model.throughput.resolve_training_throughput` takes as they are: a ``train_transformer`` row
  (tokens per second per device, model TFLOP/s per device in the workload's own FLOP convention, and the
  fraction of the dense peak) for a job that counts tokens, and a per-sample row (``variant`` =
  ``run:<id>``, matched by the workload's ``calibration_variant``) for a job that counts samples.

On the run's own accelerator the projection then reproduces the measured rate; on another accelerator the
measured fraction of peak carries over (the resolver's transfer by the ratio of dense peaks). A run on a
CPU has no sourced peak, so it transfers nowhere (the other accelerators keep their assumed MFU).
:func:`label_measured` renames the projection's throughput source of the rows that used the run to
"measured on your job".
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tco.home import resolve_home
from tco.track.accounting import Totals
from tco.track.report import Report, TrackError, make_report
from tco.track.schema import RUNS_FILENAME
from tco.track.store import RunStore, median_step_s, run_totals

if TYPE_CHECKING:
    import pandas as pd

MEASURED_ON_YOUR_JOB: Final = "measured on your job"


@dataclass(frozen=True)
class MeasuredRun:
    """What ``tco estimate train --from-run ID`` needs (see the module docstring)."""

    run_id: str
    framework: str  # the compute framework the calibration rows are keyed on (torch | jax | tensorflow)
    workload: dict[str, Any]
    calibrations: pd.DataFrame
    report: Report
    label: str  # "measured on your job: run ... (...)"
    notes: tuple[str, ...] = field(default_factory=tuple)


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _known(value: float) -> bool:
    return math.isfinite(value) and value > 0


def _step_times(segments: list[dict[str, Any]]) -> list[float]:
    times: list[float] = []
    for segment in segments:
        text = segment.get("step_times_s")
        if isinstance(text, str) and text:
            times.extend(float(t) for t in json.loads(text))
    return times


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return math.nan
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _target_work(run: Mapping[str, Any], total: Totals) -> tuple[float, float, str]:
    """(tokens, samples) of the whole job from its target, and how they were derived."""
    kind = run.get("target_kind")
    value = _number(run.get("target_value"))
    per_step_tokens = total.tokens / total.step if total.step > 0 else _number(run.get("tokens_per_step"))
    per_step_samples = total.samples / total.step if total.step > 0 else _number(run.get("samples_per_step"))
    spe = _number(run.get("steps_per_epoch"))
    if kind == "tokens":
        samples = value / per_step_tokens * per_step_samples if per_step_tokens > 0 else math.nan
        return value, samples, f"target {value:.4g} tokens"
    if kind == "samples":
        tokens = value / per_step_samples * per_step_tokens if per_step_samples > 0 else math.nan
        return tokens, value, f"target {value:.4g} samples"
    steps = value if kind == "steps" else value * spe if kind == "epochs" and _known(spe) else math.nan
    if _known(steps):
        how = f"target {value:g} {kind}" + (f" of {spe:g} steps" if kind == "epochs" else "")
        return steps * per_step_tokens, steps * per_step_samples, how
    return total.tokens, total.samples, "no target: the work done so far"


def _workload_flops_per_token(workload: Mapping[str, Any]) -> float:
    """FLOPs per token in the projection's own convention (:func:`tco.model.work.training_work`)."""
    import pandas as pd

    from tco.model.work import training_work

    return float(training_work(pd.DataFrame([dict(workload)]))["flops_per_token"].iloc[0])


def from_run(run_id: str, *, home: Path | None = None) -> MeasuredRun:
    """The workload and calibration rows of a tracked run (``run_id``: the id or a unique prefix), from the
    run store under ``home`` (default: tco's home, ``$TCO_HOME``)."""
    store = RunStore(resolve_home(home) / RUNS_FILENAME)
    found = store.find(run_id)
    run = store.run(found)
    if run is None:  # removed between the two reads
        raise TrackError(f"no tracked run {run_id!r}")
    segments = store.segments(found)
    total = run_totals(run, segments)
    report = make_report(run, total, step_time_s=median_step_s(segments))
    if not total.steady_steps > 0:
        raise TrackError(
            f"run {found} has no steady steps to measure (only its warm-up steps ran)",
            hint="let it run a few more steps",
        )
    devices = max(_number(run.get("device_count")), 1.0) if _known(_number(run.get("device_count"))) else 1.0
    accelerator = run.get("accelerator")
    framework = str(run.get("framework") or "none")
    dtype = str(run.get("dtype") or "fp32")
    tokens_total, samples_total, work_how = _target_work(run, total)
    params = _number(run.get("params"))
    flops_per_token = _number(run.get("flops_per_token"))
    description = (
        f"run {found} ({run.get('adapter')}, {framework} on {devices:g} x {accelerator or 'unknown device'}, "
        f"{dtype}, {total.steady_steps:g} steady steps)"
    )
    label = f"{MEASURED_ON_YOUR_JOB}: {description}"
    notes: list[str] = [f"work: {work_how}"]
    workload: dict[str, Any] = {
        "workload": str(run.get("name") or f"run {found}"),
        "dtype": dtype,
        "workload_source": label,
        "params": params if _known(params) else math.nan,
        "layers": _number(run.get("layers")),
        "hidden": _number(run.get("hidden")),
        "heads": _number(run.get("heads")),
        "seq_len": _number(run.get("seq_len")),
        "global_batch_tokens": _number(run.get("tokens_per_step")),
    }
    counts_tokens = math.isfinite(total.tokens_per_s)
    counts_samples = math.isfinite(total.samples_per_s)
    if counts_tokens and _known(params):
        workload.update(kind="tokens", tokens=tokens_total)
        workload_fpt = _workload_flops_per_token(workload)
        if _known(flops_per_token) and abs(workload_fpt / flops_per_token - 1.0) > 0.01:
            notes.append(
                f"the run counted {flops_per_token:.4g} FLOPs per token ({run.get('flops_source')}); the "
                f"projection counts {workload_fpt:.4g} from the parameters: the calibration is in the "
                "projection's count, so the measured tokens/s is reproduced"
            )
    elif counts_tokens and _known(flops_per_token):
        workload.update(kind="flops", train_flops=flops_per_token * tokens_total)
        workload_fpt = flops_per_token
        notes.append(f"no parameter count: the work is FLOPs, {run.get('flops_source')}")
    elif counts_samples:
        spe = _number(run.get("steps_per_epoch"))
        per_step = total.samples / total.step if total.step > 0 else _number(run.get("samples_per_step"))
        epochs = _number(run.get("target_value")) if run.get("target_kind") == "epochs" else math.nan
        if _known(epochs) and _known(spe) and _known(per_step):
            workload.update(samples=spe * per_step, epochs=epochs)
        else:
            workload.update(samples=samples_total, epochs=1.0)
        workload.update(
            kind="samples",
            calibration_variant=f"run:{found}",
            flops_per_sample=_number(run.get("flops_per_sample")),
            batch_per_accelerator=per_step / devices if _known(per_step) else math.nan,
        )
        workload_fpt = math.nan
    else:
        raise TrackError(
            f"run {found} counted neither tokens (with a parameter or FLOP count) nor samples",
            hint="track with tokens_per_step and params (or flops_per_token), or samples_per_step",
        )
    if not _known(_number(run.get("peak_tflops"))):
        notes.append(
            f"{accelerator or 'the device'} has no sourced {dtype} peak: the measurement re-projects only "
            "onto the same accelerator; others keep their assumed MFU"
        )
    frame = run_calibrations(run, segments, total, workload_flops_per_token=workload_fpt)
    return MeasuredRun(
        run_id=found,
        framework=framework,
        workload=workload,
        calibrations=frame,
        report=report,
        label=label,
        notes=tuple(notes),
    )


def run_calibrations(
    run: Mapping[str, Any],
    segments: list[dict[str, Any]],
    total: Totals | None = None,
    *,
    workload_flops_per_token: float = math.nan,
) -> pd.DataFrame:
    """Calibration-result rows (:data:`calibrate.schema.COLUMNS`) for a run: a tokens row when it counts
    tokens, a samples row when it counts samples. ``workload_flops_per_token``: FLOPs per token in the
    projection's convention (default: the run's own count)."""
    import pandas as pd

    from calibrate.schema import COLUMNS

    total = total or run_totals(run, segments)
    run_id = str(run["run_id"])
    devices = _number(run.get("device_count"))
    devices = devices if _known(devices) else 1.0
    peak = _number(run.get("peak_tflops"))
    fpt = (
        workload_flops_per_token if _known(workload_flops_per_token) else _number(run.get("flops_per_token"))
    )
    times = sorted(_step_times(segments))
    first = min(segments, key=lambda s: _number(s.get("seq"))) if segments else {}
    shape = ",".join(
        f"{name}={_number(run.get(name)):g}"
        for name in ("params", "layers", "hidden", "heads", "seq_len", "tokens_per_step", "samples_per_step")
        if _known(_number(run.get(name)))
    )
    base: dict[str, Any] = dict.fromkeys(COLUMNS)
    base.update(
        run_id=run_id,
        framework=run.get("framework"),
        framework_version=run.get("framework_version"),
        device_kind=run.get("device_kind"),
        device_name=run.get("device_name"),
        accelerator=run.get("accelerator"),
        device_count=devices,
        dtype=run.get("dtype"),
        shape=shape or None,
        metric="measured",
        compile_s=_number(first.get("first_step_s")),
        median_s=statistics.median(times) if times else math.nan,
        p10_s=_quantile(times, 0.10),
        p90_s=_quantile(times, 0.90),
        p99_s=_quantile(times, 0.99),
        repeats=total.steady_steps,
        peak_value=peak,
        peak_memory_bytes=math.nan,
        installed_bytes=math.nan,
        host=run.get("host"),
        measured_at=run.get("updated_at"),
        tool_version=run.get("tool_version"),
        profile=MEASURED_ON_YOUR_JOB,
        status="ok",
    )
    rows: list[dict[str, Any]] = []
    details = {
        "source": MEASURED_ON_YOUR_JOB,
        "run_name": run.get("name"),
        "adapter": run.get("adapter"),
        "flops_source": run.get("flops_source"),
        "goodput": total.goodput,
        "devices": devices,
        "note": "throughput per device: the job's steady rate over its devices",
    }
    if math.isfinite(total.tokens_per_s):
        per_device = total.tokens_per_s / devices
        tflops = per_device * fpt / 1e12 if _known(fpt) else math.nan
        rows.append(
            {
                **base,
                "result_id": f"run-{run_id}-tokens",
                "kernel": "train_transformer",
                "variant": f"run:{run_id}",
                "throughput": per_device,
                "throughput_unit": "tokens_per_s",
                "achieved_tflop_per_s": tflops,
                "utilisation": tflops / peak if _known(peak) else math.nan,
                "details": json.dumps({**details, "flops_per_token": fpt}, sort_keys=True, default=str),
            }
        )
    if math.isfinite(total.samples_per_s):
        rows.append(
            {
                **base,
                "result_id": f"run-{run_id}-samples",
                "kernel": "train_cnn",
                "variant": f"run:{run_id}",
                "throughput": total.samples_per_s / devices,
                "throughput_unit": "samples_per_s",
                "achieved_tflop_per_s": math.nan,
                "utilisation": math.nan,
                "details": json.dumps(details, sort_keys=True, default=str),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def label_measured(frame: pd.DataFrame, measured: MeasuredRun) -> pd.DataFrame:
    """The projection's rows whose rate came from ``measured``'s calibration rows, with their throughput
    source renamed ``measured on your job`` (``... (transferred)`` on another accelerator) and the detail
    naming the run. Other rows are unchanged."""
    if "throughput_detail" not in frame or "throughput_source" not in frame:
        return frame
    out = frame.copy()
    marker = f"calibration run {measured.run_id} "
    detail = out["throughput_detail"].fillna("").astype(str)
    used = detail.str.startswith(marker)
    transferred = used & out["throughput_source"].astype(str).str.contains("transferred", regex=False)
    out.loc[used, "throughput_source"] = MEASURED_ON_YOUR_JOB
    out.loc[transferred, "throughput_source"] = f"{MEASURED_ON_YOUR_JOB} (transferred)"
    out.loc[used, "throughput_detail"] = detail[used].str.replace(
        marker, f"{MEASURED_ON_YOUR_JOB}: run {measured.run_id} ", n=1, regex=False
    )
    return out
