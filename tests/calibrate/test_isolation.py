"""Failures stay local: a wrong kernel, a crashing worker, a missing framework, an interrupt."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from calibrate.errors import CalibrationError
from calibrate.runner import CalibrationInterrupted, Event, RunRequest, run_calibration
from calibrate.store import ResultStore
from tests.calibrate.helpers import REPO, block_imports, run_worker, subprocess_env

FAULTY_TORCH = """
import sys
import torch

_matmul = torch.matmul
torch.matmul = lambda a, b, out=None: _matmul(a, b.T.contiguous(), out=out)  # a wrong product
torch.optim.Adam.step = lambda self, closure=None: None  # an optimizer that does nothing
from calibrate.worker import main
sys.exit(main(sys.argv[1:]))
"""


def test_each_kernel_check_catches_a_wrong_framework_result() -> None:
    run = run_worker(
        "--framework",
        "torch",
        "--device",
        "cpu",
        "--profile",
        "tiny",
        "--kernels",
        "matmul,membw,train_cnn",
        python=[sys.executable, "-c", FAULTY_TORCH],
    )
    assert run.returncode == 0, run.stderr[-2000:]
    by_kernel = {(r["kernel"], r["dtype"]): r for r in run.rows}
    for dtype in ("fp32", "bf16", "fp16"):
        assert by_kernel[("matmul", dtype)]["status"] == "failed"
        assert "relative error" in by_kernel[("matmul", dtype)]["error"]
    assert by_kernel[("train_cnn", "fp32")]["status"] == "failed"
    assert "did not fall" in by_kernel[("train_cnn", "fp32")]["error"]
    assert by_kernel[("membw", "fp32")]["status"] == "ok"  # the rest continue


CRASHY = """
import os, signal, sys
args = sys.argv[1:]
assert args[:2] == ["-m", "calibrate.worker"], args
if "jax" in args:
    from calibrate.backends import jax as backend
    backend.JaxBackend._membw = lambda self, task, profile: os.kill(os.getpid(), signal.SIGSEGV)
from calibrate.worker import main
sys.exit(main(args[2:]))
"""


def test_a_crashing_worker_loses_one_task_and_the_rest_continue(tmp_path: Path) -> None:
    script = tmp_path / "crashy.py"
    script.write_text(CRASHY)
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    store = ResultStore(tmp_path / "c.sqlite")
    events: list[Event] = []
    request = RunRequest(
        frameworks=("jax", "torch"), device="cpu", kernels=("matmul", "membw", "infer_cnn"), profile="tiny"
    )
    summary = run_calibration(request, store, events.append, python=str(python))
    frame = store.results()
    jax = frame[frame["framework"] == "jax"]
    membw = jax[jax["kernel"] == "membw"].iloc[0]
    assert membw["status"] == "failed" and "signal 11" in membw["error"]
    assert membw["framework_version"] and membw["device_name"]  # filled in from the plan
    assert set(jax[jax["status"] == "ok"]["kernel"]) == {"matmul", "infer_cnn"}  # a new worker went on
    assert any(e.kind == "worker_restart" for e in events)
    torch = frame[frame["framework"] == "torch"]
    assert (torch["status"] == "ok").all() and set(torch["kernel"]) == {"matmul", "membw", "infer_cnn"}
    assert len(summary.failures) == 1


def test_an_unavailable_device_fails_that_framework_only(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "c.sqlite")
    events: list[Event] = []
    request = RunRequest(frameworks=("torch",), device="cuda", kernels=("matmul",), profile="tiny")
    summary = run_calibration(request, store, events.append)
    assert summary.failures == [
        "torch: no CUDA or ROCm device is visible to PyTorch "
        "(check nvidia-smi and CUDA_VISIBLE_DEVICES, or use --device cpu)"
    ]
    assert [e.kind for e in events] == ["framework_start", "framework_failed", "framework_done"]
    assert store.results().empty


def test_an_interrupt_keeps_every_finished_row(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "c.sqlite")
    seen: list[Event] = []

    def interrupt_after_two_rows(event: Event) -> None:
        seen.append(event)
        if sum(e.kind == "row" for e in seen) == 2:
            raise KeyboardInterrupt

    request = RunRequest(frameworks=("torch",), device="cpu", kernels=("matmul", "membw"), profile="tiny")
    with pytest.raises(CalibrationInterrupted) as caught:  # a KeyboardInterrupt: Ctrl-C handling holds
        run_calibration(request, store, interrupt_after_two_rows)
    assert len(store.results()) == 2  # stored before the interrupt; nothing after
    assert caught.value.rows_kept == 2 and caught.value.framework == "torch"
    assert str(caught.value) == (
        f"calibration interrupted during torch: 2 finished row(s) of run {caught.value.run_id} kept in "
        f"{store.path}, the task in progress stored nothing"
    )
    assert isinstance(caught.value, KeyboardInterrupt)


INTERRUPTED_WORKER = """
import sys
args = sys.argv[1:]
assert args[:2] == ["-m", "calibrate.worker"], args
import calibrate.results as results
real, calls = results.make_row, []


def make_row(*a, **k):  # Ctrl-C reaches the worker while it measures its second task
    calls.append(1)
    if len(calls) == 2:
        raise KeyboardInterrupt
    return real(*a, **k)


results.make_row = make_row
from calibrate.worker import main
sys.exit(main(args[2:]))
"""


def test_a_worker_stopped_by_ctrl_c_interrupts_the_run(tmp_path: Path) -> None:
    """Ctrl-C that reaches the worker first (exit 130) stops the run: no "worker died" row, no restart."""
    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED_WORKER)
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    store = ResultStore(tmp_path / "c.sqlite")
    events: list[Event] = []
    request = RunRequest(frameworks=("torch",), device="cpu", kernels=("matmul", "membw"), profile="tiny")
    with pytest.raises(CalibrationInterrupted) as caught:
        run_calibration(request, store, events.append, python=str(python))
    rows = store.results()
    assert caught.value.rows_kept == len(rows) == 1 and (rows["status"] == "ok").all()
    assert not any(e.kind == "worker_restart" for e in events)


def test_ctrl_c_during_a_calibration_run_keeps_only_complete_rows(tmp_path: Path) -> None:
    """SIGINT to `tco calibrate run` (and to its worker, as a terminal's Ctrl-C does) while it measures:
    exit 130, no traceback, and every row in the store is a complete row of a finished task."""
    home = tmp_path / "home"
    env = subprocess_env(TCO_HOME=str(home), NO_COLOR="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tco",
            "calibrate",
            "run",
            "--framework",
            "torch",
            "--device",
            "cpu",
            "--kernels",
            "matmul,membw,train_cnn,train_transformer",
            "--profile",
            "tiny",
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the signal goes to it and its worker, like Ctrl-C
    )
    store = ResultStore.in_home(home)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if store.path.exists() and store.count() >= 1:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, stderr.decode()
    assert "Traceback" not in stderr.decode()
    rows = store.results()
    assert len(rows) >= 1 and rows["status"].isin(["ok", "failed"]).all()
    ok = rows[rows["status"] == "ok"]
    assert ok[["median_s", "throughput", "measured_at", "kernel", "variant", "dtype"]].notna().all().all()
    assert not rows["error"].fillna("").str.contains("worker died|not run").any()  # no rows for the stop


def test_missing_framework_worker_says_how_to_install(tmp_path: Path) -> None:
    env = subprocess_env(block_imports(tmp_path, "jax"))
    run = run_worker("--framework", "jax", "--profile", "tiny", env=env)
    assert run.returncode == 3
    assert run.events == [
        {"event": "fatal", "message": "JAX is not installed: pip install 'tco[jax]'", "hint": None}
    ]


def _tco(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tco", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
        check=False,
    )


def test_missing_framework_cli_one_line(tmp_path: Path) -> None:
    env = subprocess_env(block_imports(tmp_path, "jax"), TCO_HOME=str(tmp_path / "home"), NO_COLOR="1")
    done = _tco("calibrate", "run", "--framework", "jax", "--profile", "tiny", env=env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == "error: JAX is not installed: pip install 'tco[jax]'"
    assert done.stdout == ""


def test_all_frameworks_skip_the_missing_ones(tmp_path: Path) -> None:
    env = subprocess_env(
        block_imports(tmp_path, "jax", "tensorflow"),
        TCO_HOME=str(tmp_path / "home"),
        NO_COLOR="1",
        COLUMNS="200",
    )
    done = _tco(
        "calibrate",
        "run",
        "--framework",
        "all",
        "--kernels",
        "membw",
        "--profile",
        "tiny",
        "--format",
        "json",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "JAX is not installed: pip install 'tco[jax]'" in done.stderr
    assert "TensorFlow is not installed: pip install 'tco[tensorflow]'" in done.stderr
    rows = json.loads(done.stdout)
    assert {r["framework"] for r in rows} == {"torch"} and all(r["status"] == "ok" for r in rows)


def test_explicitly_named_missing_framework_raises_before_work(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['tensorflow'] = None\n"
        "from pathlib import Path\n"
        "from calibrate.runner import RunRequest, run_calibration\n"
        "from calibrate.store import ResultStore\n"
        "from calibrate.errors import CalibrationError\n"
        "try:\n"
        "    request = RunRequest(frameworks=('tensorflow',), explicit=True)\n"
        f"    run_calibration(request, ResultStore(Path({str(tmp_path)!r}) / 'c'))\n"
        "except CalibrationError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
        check=False,
    )
    assert done.stdout.strip() == "TensorFlow is not installed: pip install 'tco[tensorflow]'"
    assert not (tmp_path / "c").exists()


def test_unknown_names_are_rejected_with_suggestions(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "c.sqlite")
    with pytest.raises(CalibrationError, match="did you mean 'tensorflow'"):
        run_calibration(RunRequest(frameworks=("tensorflw",)), store)
    with pytest.raises(CalibrationError, match="unknown kernel"):
        run_calibration(RunRequest(kernels=("conv",)), store)
    with pytest.raises(CalibrationError, match="unknown profile"):
        run_calibration(RunRequest(profile="huge"), store)
    assert os.listdir(tmp_path) == []
