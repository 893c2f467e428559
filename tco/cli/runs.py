"""`tco runs list|show|export|import`: the training runs :mod:`tco.track` measured (``<home>/runs.sqlite``).

Thin commands: parse, call :class:`tco.track.store.RunStore`, render. A run's numbers are as its tracker
last wrote them (every flush, and when it ended).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tco.cli.state import FORMAT_OPTION, OUTPUT_OPTION, Format, output_target, state

if TYPE_CHECKING:
    from rich.table import Table

    from tco.track.store import RunStore

app = typer.Typer(
    help="Training runs measured by tco.track: cost so far, throughput, MFU, goodput.", no_args_is_help=True
)


def run_store(ctx: typer.Context) -> RunStore:
    from tco.track.store import RunStore

    return RunStore.in_home(state(ctx).home_dir)


def _usd(value: Any) -> str:
    """Dollars with cents; a short test run's fraction of a cent keeps two significant digits."""
    from tco.cli.render import number

    if not _missing(value) and 0 < abs(float(value)) < 0.01:
        return f"${float(value):.2g}"
    return number(value, 2, prefix="$")


def _pct(value: Any) -> str:
    from tco.cli.render import NA

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NA
    return f"{float(value) * 100:.1f}%"


def _rate(r: dict[str, Any]) -> str:
    from tco.cli.render import NA, number

    if not _missing(r.get("tokens_per_s")):
        return f"{number(r['tokens_per_s'], 0)} tok/s"
    if not _missing(r.get("samples_per_s")):
        return f"{number(r['samples_per_s'], 1)} samples/s"
    return NA


def _ms(value: Any) -> str:
    from tco.cli.render import number

    return number(None if _missing(value) else float(value) * 1e3, 2)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _duration(value: Any) -> str:
    from tco.cli.render import NA
    from tco.track.report import duration

    return NA if _missing(value) else duration(float(value))


def _device(r: dict[str, Any]) -> str:
    count = r.get("device_count")
    prefix = "" if count is None or _missing(count) else f"{float(count):g} x "
    return f"{prefix}{r.get('accelerator') or 'unknown'} {r.get('dtype') or ''}".strip()


def _list_table(records: list[dict[str, Any]]) -> Table:
    from tco.cli.render import number, table

    columns = [
        ("Run", "left"),
        ("Name", "left"),
        ("Adapter", "left"),
        ("Device", "left"),
        ("Status", "left"),
        ("Step", "right"),
        ("Throughput", "right"),
        ("MFU", "right"),
        ("Goodput", "right"),
        ("$ so far", "right"),
        ("$ at end", "right"),
        ("ETA", "right"),
        ("Updated", "left"),
    ]
    rows = [
        [
            str(r["run_id"]),
            str(r.get("name") or ""),
            str(r.get("adapter") or ""),
            _device(r),
            str(r.get("status") or ""),
            number(r.get("step"), 0),
            _rate(r),
            _pct(r.get("mfu")),
            _pct(r.get("goodput")),
            _usd(r.get("cost_usd")),
            _usd(r.get("projected_cost_usd")),
            _duration(r.get("eta_s")),
            str(r.get("updated_at") or ""),
        ]
        for r in records
    ]
    caption = (
        "Throughput: steady (warm-up steps excluded), the whole job; MFU: model FLOPs over the dense peak "
        "(n/a: no sourced peak, e.g. a CPU); goodput: share of the billed time that made progress that was "
        "kept; $ at end: so far + ETA at the steady rate. Every column: --format json."
    )
    return table(f"Tracked runs ({len(records)})", columns, rows, caption)


def _show_tables(run: dict[str, Any], report: dict[str, Any], segments: list[dict[str, Any]]) -> list[Table]:
    """``tco runs show``: the run's facts, where its billed time went, and its processes."""
    return [_facts_table(run, report, segments), _time_table(report), _process_table(segments)]


def _facts_table(run: dict[str, Any], report: dict[str, Any], segments: list[dict[str, Any]]) -> Table:
    from tco.cli.render import NA, count, number, table

    on_budget = run.get("on_budget") or "warn"
    target = (
        f"{count(run.get('target_value'))} {run.get('target_kind')}"
        if run.get("target_kind")
        else "none given"
    )
    facts = [
        ("Run", f"{run['run_id']} {run.get('name') or ''}".strip()),
        ("Status", f"{run.get('status')} ({len(segments)} process(es); updated {run.get('updated_at')})"),
        (
            "Adapter, framework",
            f"{run.get('adapter')}, {run.get('framework')} {run.get('framework_version') or ''}",
        ),
        (
            "Device",
            f"{_device(run)} ({run.get('device_name')}); peak {number(run.get('peak_tflops'), 1)} TFLOP/s",
        ),
        ("Model", _model(run)),
        ("FLOPs", f"{number(run.get('flops_per_token'), 0)} per token ({run.get('flops_source') or NA})"),
        ("Price", f"{_usd(run.get('usd_per_hour'))}/h ({run.get('price_source') or 'no price given'})"),
        ("Target", target),
        (
            "Step, tokens, samples",
            f"{number(report['step'], 0)}, {number(report['tokens'], 0)}, {number(report['samples'], 0)}",
        ),
        ("Throughput", f"{_rate(report)}; median step {_ms(report['step_time_s'])} ms"),
        ("MFU", f"{_pct(report['mfu'])} ({number(report['tflop_per_s'], 3)} TFLOP/s)"),
        ("Goodput", _pct(report["goodput"])),
        ("Cost so far", f"{_usd(report['cost_usd'])} for {_duration(report['elapsed_s'])} billed"),
        (
            "To the target",
            f"{_usd(report['projected_cost_usd'])} in all, ETA {_duration(report['eta_s'])}, "
            f"{_pct(report['progress'])} done",
        ),
        ("Budget", f"{_usd(report['budget_usd'])} ({report['budget_state']}; on budget: {on_budget})"),
    ]
    return table(f"Run {run['run_id']}", [("", "left"), ("", "left")], [[k, v] for k, v in facts])


def _time_table(report: dict[str, Any]) -> Table:
    from tco.cli.render import NA, table

    elapsed = report.get("elapsed_s") or 0.0

    def share(value: Any) -> str:
        return _pct(float(value) / elapsed) if elapsed and not _missing(value) else NA

    lost = [
        ("Steps", report.get("productive_s")),
        ("Start-up", report["startup_s"]),
        ("Restarts", report["restart_s"]),
        ("Data waiting", report["data_wait_s"]),
        ("Evaluation", report["eval_s"]),
        ("Checkpoints", report["checkpoint_s"]),
        ("Lost progress (redone steps)", report["lost_progress_s"]),
    ]
    return table(
        "Where the time went",
        [("", "left"), ("Time", "right"), ("Of billed", "right")],
        [[k, _duration(v), share(v)] for k, v in lost],
        "Steps include the lost progress; goodput = (steps - lost progress) / billed.",
    )


def _process_table(segments: list[dict[str, Any]]) -> Table:
    from tco.cli.render import count, table

    columns = [
        ("#", "right"), ("Host", "left"), ("Started", "left"), ("Ended", "left"), ("From step", "right"),
        ("Steps", "right"), ("Billed", "right"), ("Gap before", "right"), ("Lost steps", "right"),
    ]  # fmt: skip
    rows = [
        [
            count(s.get("seq")), str(s.get("host") or ""), str(s.get("started_at") or ""),
            str(s.get("ended_at") or f"last seen {s.get('last_seen_at')}"), count(s.get("start_step")),
            count(s.get("steps")), _duration(s.get("elapsed_s")), _duration(s.get("restart_gap_s")),
            count(s.get("lost_steps")),
        ]
        for s in segments
    ]  # fmt: skip
    return table("Processes", columns, rows)


def _model(run: dict[str, Any]) -> str:
    from tco.cli.render import NA

    parts = [
        f"{name} {float(run[name]):,.0f}"
        for name in ("params", "layers", "hidden", "heads", "seq_len")
        if not _missing(run.get(name))
    ]
    return ", ".join(parts) or NA


@app.command("list")
def list_(
    ctx: typer.Context, fmt: Format | None = FORMAT_OPTION, output: Path | None = OUTPUT_OPTION
) -> None:
    """Every tracked run, most recently updated first."""
    from tco.cli.render import emit, note

    target = output_target(ctx, fmt, output)
    store = run_store(ctx)
    frame = store.summaries()
    if frame.empty:
        note(f"no tracked runs in {store.path} (track one with tco.track, or `tco runs import FILE`)")
        if target.fmt is Format.table:
            return
    records = [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
    emit(target, frame, lambda: _list_table(records))


@app.command("show")
def show(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="A run id (or a unique prefix of one)."),
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """One run: its device, model, price, throughput, MFU, goodput, cost and processes."""
    import pandas as pd

    from tco.cli.render import emit
    from tco.track.store import median_step_s, run_totals

    target = output_target(ctx, fmt, output)
    store = run_store(ctx)
    found = store.find(run_id)
    report = store.report(found)
    run = store.run(found) or {}
    segments = store.segments(found)
    totals = run_totals(run, segments)
    values = report.as_dict()
    values["productive_s"] = totals.productive_s
    values["median_step_s"] = median_step_s(segments)
    row = {**run, **{f"report_{k}" if k in run else k: v for k, v in values.items()}}
    row["segments"] = json.dumps(segments, default=str)
    frame = pd.DataFrame([row])
    emit(target, frame, lambda: _stacked(_show_tables(run, values, segments)))


def _stacked(tables: list[Table]) -> Table:
    from rich.table import Table

    grid = Table.grid(padding=(0, 0, 1, 0))
    for part in tables:
        grid.add_row(part)
    return grid


@app.command("export")
def export(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="JSON file to write (portable: runs with their processes)."),
    run_id: list[str] | None = typer.Option(None, "--run", help="Only these runs (default: every run)."),
) -> None:
    """Write tracked runs to a portable JSON file (track on the GPU box, project on a laptop)."""
    from tco.cli.state import check_writable
    from tco.export.base import write_output

    check_writable(file)
    ids = [part.strip() for value in run_id or [] for part in value.split(",") if part.strip()]
    data, count = run_store(ctx).export_document(ids or None)
    write_output(file, data, f"exported {count} run(s) to {file}")


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="A `tco runs export` file."
    ),
) -> None:
    """Add the runs of an export file to this machine's store (the newer copy of each run is kept)."""
    from tco.cli.render import note

    store = run_store(ctx)
    runs, segments = store.import_file(file)
    note(
        f"imported {runs} new or updated run(s) ({segments} process record(s)) from {file} into {store.path}"
    )
