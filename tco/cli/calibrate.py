"""`tco calibrate ...`: measure PyTorch, JAX and TensorFlow throughput on this machine (issue #4).

Thin commands: parse, call :mod:`calibrate`, render. Each framework runs in its own worker process; the
results are stored in ``<home>/calibration.sqlite`` as each kernel finishes.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tco.cli import options
from tco.cli.lazy import group
from tco.cli.state import FORMAT_OPTION, OUTPUT_OPTION, Format, Target, output_target, state

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from calibrate.runner import Event
    from calibrate.store import ResultStore


class Device(StrEnum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    tpu = "tpu"


app = group(
    "calibrate",
    "Measure PyTorch, JAX and TensorFlow throughput on this machine.",
    {
        "run": "tco.cli.calibrate:run_app",
        "show": "tco.cli.calibrate:show_app",
        "export": "tco.cli.calibrate:export_app",
        "import": "tco.cli.calibrate:import_app",
    },
)
run_app = typer.Typer(add_completion=False)
show_app = typer.Typer(add_completion=False)
export_app = typer.Typer(add_completion=False)
import_app = typer.Typer(add_completion=False)


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def result_store(ctx: typer.Context) -> ResultStore:
    from calibrate.store import ResultStore

    return ResultStore(state(ctx).home_dir / ResultStore.DEFAULT_FILENAME)


def _mb(value: Any) -> str:
    from tco.cli.render import number

    return number(float(value) / 1e6 if value is not None else None, 0)


def _ms(value: Any) -> str:
    from tco.cli.render import number

    return number(float(value) * 1e3 if value is not None else None, 2)


def _pct(value: Any) -> str:
    from tco.cli.render import NA

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NA
    return f"{float(value) * 100:.0f}%"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _rate(r: dict[str, Any], name: str, scale: float = 1.0, digits: int = 0) -> str:
    """A throughput with its p90..p10 range where known: ``212 (162-215)``."""
    from tco.cli.render import number

    value, low, high = (_scaled(r.get(f"{name}{end}"), scale) for end in ("", "_low", "_high"))
    text = number(value, digits)
    if value is not None and low is not None and high is not None:
        text += f" ({number(low, digits)}-{number(high, digits)})"
    return text


def _comparison_table(summary: pd.DataFrame, title: str) -> Table:
    """The seed page's comparison, measured: one column per framework and device, one row per figure."""
    from tco.cli.render import NA, number, table

    def build(r: dict[str, Any]) -> str:
        if _missing(r["build_s"]):
            return NA
        cache = f", {r['compile_cache']} cache" if isinstance(r["compile_cache"], str) else ""
        return f"{r['build_s']:.1f} s ({r['build_variant']}{cache})"

    def speedup(r: dict[str, Any]) -> str:
        text = number(r["compile_speedup"], 2)
        return f"{text}x" if text != NA else NA

    def gpt(r: dict[str, Any]) -> str:
        mfu = _pct(r["train_transformer_mfu"])
        return _rate(r, "train_transformer_tokens_per_s") + (f", {mfu} MFU" if mfu != NA else "")

    def matmul(r: dict[str, Any]) -> str:
        util = _pct(r["matmul_fp32_utilisation"])
        return _rate(r, "matmul_fp32_tflop_per_s", 1e3) + (f", {util} of peak" if util != NA else "")

    def membw(r: dict[str, Any]) -> str:
        util = _pct(r["membw_utilisation"])
        return number(r["membw_triad_gb_per_s"], 1) + (f", {util} of peak" if util != NA else "")

    lines: list[tuple[str, Any]] = [
        ("Device", lambda r: f"{r['accelerator'] or r['device_kind']}: {r['device_name']}"),
        ("Version", lambda r: str(r["framework_version"] or NA)),
        ("Installed size MB", lambda r: _mb(r["installed_bytes"])),
        ("Import s", lambda r: number(r["import_s"], 1)),
        ("Build: 1st compiled step", build),
        ("Compiled vs plain step", speedup),
        ("matmul fp32 GFLOP/s", matmul),
        ("matmul bf16 GFLOP/s", lambda r: number(_scaled(r["matmul_bf16_tflop_per_s"], 1e3), 0)),
        ("Memory triad GB/s", membw),
        ("CNN training samples/s", lambda r: _rate(r, "train_cnn_samples_per_s")),
        ("Transformer training tokens/s", gpt),
        (
            "Inference p50 / p99 ms (batch 1)",
            lambda r: f"{_ms(r['infer_latency_p50_s'])} / {_ms(r['infer_latency_p99_s'])}",
        ),
        ("Inference tokens/s (batched)", lambda r: number(r["infer_tokens_per_s"], 0)),
        ("Peak memory MB (training)", lambda r: _mb(r["peak_memory_bytes"])),
        ("All-reduce bus GB/s", lambda r: number(r["allreduce_busbw_gb_per_s"], 2)),
        ("Rows ok / failed", lambda r: f"{r['ok_rows']} / {r['failed_rows']}"),
        ("Measured", lambda r: f"{r['measured_at']} on {r['host']} ({r['profile']})"),
    ]
    records = summary.to_dict("records")
    columns = [("", "left")] + [(str(r["framework"]), "right") for r in records]
    rows = [[label, *(str(render(r)) for r in records)] for label, render in lines]
    caption = (
        "Build: the transformer's first training step in the framework's compiled variant (torch.compile "
        "with its cache cold or warm, jax.jit, TensorFlow XLA); compiled vs plain: eager or tf.function step "
        "time over the compiled one; ranges: throughput at the p90-p10 step times; matmul: the best size of "
        "the sweep; inference: transformer prefill; peak memory: the worker's RSS on CPU, the allocator's "
        "peak on accelerators; n/a: not measured (a CPU has no sourced peak). Every row: --format json."
    )
    return table(title, columns, rows, caption)


def _scaled(value: Any, scale: float) -> float | None:
    return None if _missing(value) else float(value) * scale


def _detail_table(frame: pd.DataFrame, title: str) -> Table:
    from tco.cli.render import number, table

    rows = []
    for r in frame.to_dict("records"):
        ok = r["status"] == "ok"
        spread = f"{_ms(r['p10_s'])}-{_ms(r['p90_s'])}" if ok else ""
        rows.append(
            [
                str(r["framework"]),
                str(r["kernel"]),
                str(r["variant"]),
                str(r["dtype"]),
                str(r["shape"] or ""),
                number(r["compile_s"], 3),
                _ms(r["median_s"]),
                spread,
                number(r["throughput"], 3 if r["throughput_unit"] == "tflop_per_s" else 1),
                str(r["throughput_unit"] or ""),
                _pct(r["utilisation"]),
                _mb(r["peak_memory_bytes"]),
                "ok" if ok else f"failed: {r['error']}",
            ]
        )
    columns = [
        ("Framework", "left"),
        ("Kernel", "left"),
        ("Variant", "left"),
        ("dtype", "left"),
        ("Shape", "left"),
        ("1st call s", "right"),
        ("Median ms", "right"),
        ("p10-p90 ms", "right"),
        ("Throughput", "right"),
        ("Unit", "left"),
        ("Of peak", "right"),
        ("Peak MB", "right"),
        ("Status", "left"),
    ]
    return table(title, columns, rows)


class _Progress:
    """Adapts the runner's events to a Rich progress bar on stderr (one bar per framework)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True, highlight=False)
        self.progress = Progress(
            TextColumn("{task.fields[name]:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=self.console,
            transient=False,
        )
        self.bars: dict[str, Any] = {}

    def __enter__(self) -> _Progress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def __call__(self, event: Event) -> None:
        from rich.markup import escape

        from tco.cli.render import styled
        from tco.export.base import printable

        def text(value: object) -> str:  # a progress column's text is markup: escaped, controls visible
            return escape(printable(str(value or "")))

        name = event.framework
        console = self.progress.console
        if event.kind == "framework_start":
            self.bars[name] = self.progress.add_task("starting", name=text(name), total=None)
        elif event.kind == "plan" and name in self.bars:
            self.progress.update(self.bars[name], total=event.total, description=text(event.message))
        elif event.kind == "task_start" and name in self.bars:
            self.progress.update(self.bars[name], description=text(event.task))
        elif event.kind == "task_end" and name in self.bars:
            self.progress.advance(self.bars[name])
        elif event.kind == "row" and event.row is not None and event.row.get("status") != "ok":
            error = event.row.get("error")
            console.print(styled("yellow", "failed:", f" {name} {event.task or ''}: {error}"))
        elif event.kind in ("framework_failed", "framework_missing"):
            console.print(styled("yellow", "warning:", f" {event.message or name}"))
            if name in self.bars:
                self.progress.update(self.bars[name], description="failed", total=0)
        elif event.kind == "skipped":
            console.print(styled("dim", f"{name} {event.task or ''} skipped: {event.message or ''}", ""))
        elif event.kind == "worker_restart":
            console.print(styled("yellow", "warning:", f" {name}: {event.message or ''}"))
        elif event.kind == "framework_done" and name in self.bars:
            self.progress.update(self.bars[name], description="done")


FRAMEWORK = typer.Option(
    None, "--framework", "-F", help="torch, jax, tensorflow or all (repeat or comma-separate; default all).",
    callback=options.calibration_frameworks,
)  # fmt: skip
DEVICE = typer.Option(
    Device.auto, "--device", "-d", help="auto, cpu, cuda (NVIDIA or ROCm) or tpu.", case_sensitive=False
)
KERNELS = typer.Option(
    None,
    "--kernels",
    "-k",
    help="matmul, membw, train_cnn, train_transformer, infer_cnn, infer_transformer, allreduce "
    "(default all).",
    callback=options.kernels,
)
QUICK = typer.Option(
    False, "--quick", help="Small sizes, short budgets (well under a minute per framework on a laptop CPU)."
)
FULL = typer.Option(False, "--full", help="Large sizes that fill an accelerator.")
PROFILE = typer.Option(
    None, "--profile", hidden=True, help="tiny, quick, standard or full.", callback=options.profile
)
THREADS = typer.Option(0, "--threads", min=0, max=4096, help="Framework CPU threads (0: every usable CPU).")
TIMEOUT = typer.Option(
    0, "--timeout", min=0, max=7 * 86400, help="Give up on a framework after S seconds (0: never)."
)


@run_app.command("run")
def run(
    ctx: typer.Context,
    framework: list[str] | None = FRAMEWORK,
    device: Device = DEVICE,
    kernels: list[str] | None = KERNELS,
    quick: bool = QUICK,
    full: bool = FULL,
    profile: str | None = PROFILE,
    threads: int = THREADS,
    timeout: float = TIMEOUT,
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Run the calibration kernels, one framework at a time, and print the measured comparison."""
    from calibrate.errors import CalibrationError
    from calibrate.report import comparison
    from calibrate.runner import RunRequest, run_calibration
    from tco.cli.render import emit, note, warn

    if quick and full:
        raise typer.BadParameter("choose one of --quick and --full")
    target = output_target(ctx, fmt, output)
    names = _split(framework)
    request = RunRequest(
        frameworks=tuple(names),
        device=device.value,
        kernels=tuple(_split(kernels)),
        profile=profile or ("quick" if quick else "full" if full else "standard"),
        explicit=bool(names) and "all" not in [n.lower() for n in names],
        threads=threads,
        timeout_s=timeout or None,
    )
    store = result_store(ctx)
    with _Progress() as progress:
        summary = run_calibration(request, store, progress)
    frame = store.results()
    rows = frame[frame["run_id"] == summary.run_id]
    if target.fmt is Format.table:
        emit(target, rows, lambda: _comparison_table(comparison(rows), f"Calibration run {summary.run_id}"))
    else:
        emit(target, rows)
    note(
        f"stored {len(rows)} rows in {store.path} (run {summary.run_id}); "
        "`tco calibrate show --detail` lists them"
    )
    for message in summary.missing:
        warn(message)
    failures = summary.failures
    if failures:
        for line in failures:
            warn(line)
        ok = int((rows["status"] == "ok").sum())
        raise CalibrationError(
            f"{len(failures)} calibration failure(s), {ok} results stored",
            hint="the warnings above say which and why" + _not_written(target, summary.run_id),
        )


def _not_written(target: Target, run_id: str) -> str:
    """A failed run writes no --output file: how to write its stored rows anyway."""
    if target.path is None:
        return ""
    return f"; nothing written to {target.path}: `tco calibrate show --run {run_id} -o FILE` writes the rows"


@show_app.command("show")
def show(
    ctx: typer.Context,
    run_id: str | None = typer.Option(
        None, "--run", help="Only this run (default: the latest run of each framework and device)."
    ),
    all_rows: bool = typer.Option(False, "--all", help="Every stored row, not only the latest runs."),
    detail: bool = typer.Option(False, "--detail", help="A table of every row instead of the comparison."),
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """The measured comparison per framework (CSV/JSON: the result rows behind it)."""
    from calibrate.report import comparison, latest
    from tco.cli.render import emit
    from tco.errors import TcoError

    target = output_target(ctx, fmt, output)
    store = result_store(ctx)
    frame = store.results()
    if run_id is not None:
        frame = frame[frame["run_id"] == run_id]
    elif not all_rows:
        frame = latest(frame)
    if frame.empty:
        raise TcoError(
            "no calibration results" + (f" for run {run_id}" if run_id else ""),
            hint="run `tco calibrate run --quick`, or `tco calibrate import FILE`",
        )
    if target.fmt is not Format.table:
        emit(target, frame)
    elif detail:
        emit(target, frame, lambda: _detail_table(frame, f"Calibration results ({len(frame)} rows)"))
    else:
        emit(target, frame, lambda: _comparison_table(comparison(frame), "Measured framework comparison"))


@export_app.command("export")
def export(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="JSON file to write (portable: host, device, time, versions kept)."
    ),
    run_id: list[str] | None = typer.Option(None, "--run", help="Only these runs (default: every row)."),
) -> None:
    """Write the stored results to a portable JSON file (measure on the GPU box, project on a laptop)."""
    from tco.cli.state import check_writable
    from tco.export.base import write_output

    check_writable(file)
    data, count = result_store(ctx).export_document(_split(run_id) or None)
    write_output(file, data, f"exported {count} rows to {file}")


@import_app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="A `tco calibrate export` file."
    ),
) -> None:
    """Add the results of an export file to this machine's store (rows already present are skipped)."""
    from tco.cli.render import note

    store = result_store(ctx)
    added = store.import_file(file)
    note(f"imported {added} new rows from {file} into {store.path}")
