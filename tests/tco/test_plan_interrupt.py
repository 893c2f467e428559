"""Ctrl-C and failures in `tco plan`: exit 130 (or 1) with one line, and no file written or changed.

The subprocess tests never race the clock: the plan is held at a known point by a FIFO (its scenario, which
it waits to read; or its --output, which it cannot finish writing while the test does not read) and the
SIGINT is sent while it is held there. A plan still running after the signal fails the test; it does not
hang it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
VISION = ROOT / "examples" / "vision_startup.toml"
DEADLINE_S = 120.0


def _start(tmp_path: Path, tco_home: Path, *args: str) -> subprocess.Popen[bytes]:
    # PYTHONFAULTHANDLER: a plan that outlives its Ctrl-C is stopped with SIGABRT and prints where it was
    env = {**os.environ, "TCO_HOME": str(tco_home), "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    env["PYTHONFAULTHANDLER"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "tco", "plan", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _interrupt(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    """Send SIGINT; the plan must end within the deadline. Its stdout and stderr."""
    proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # the fault handler prints every thread's stack to stderr
        try:
            _, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
        pytest.fail(
            f"tco plan still running {DEADLINE_S:g} s after Ctrl-C; where it was:\n{stderr.decode()[-4000:]}"
        )
    return stdout.decode(), stderr.decode()


def _blocked_in(proc: subprocess.Popen[bytes], kernel_wait: str) -> None:
    """Wait until the plan sleeps in the kernel at ``kernel_wait`` (``pipe_read``, ``pipe_write``), read from
    /proc/PID/wchan. A signal that comes while a blocking call is in progress interrupts it; one that comes
    the instant before the call starts is only seen when the call returns (Python checks for signals after a
    system call, not before it), so a test that signals the moment the pipe is ready can hang the plan."""
    wchan = Path(f"/proc/{proc.pid}/wchan")
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            where = wchan.read_text()
        except FileNotFoundError:
            where = "(gone)"
        if where.endswith(kernel_wait):
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(
                f"the plan never blocked in {kernel_wait} (last: {where}): {proc.communicate()[1].decode()}"
            )
        time.sleep(0.01)


def _existing(tmp_path: Path) -> dict[str, bytes]:
    """Outputs from an earlier run, which an interrupted plan must leave as they are."""
    files = {"budget.csv": b"month,old_usd\n1,1\n", "budget.png": b"an earlier figure"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return files


def _unchanged(tmp_path: Path, before: dict[str, bytes], *others: str) -> None:
    assert {p.name for p in tmp_path.iterdir()} == {*before, *others}, "a file was added or removed"
    for name, data in before.items():
        assert (tmp_path / name).read_bytes() == data, f"{name} was changed"


def test_ctrl_c_while_the_plan_reads_its_scenario_writes_nothing(tmp_path: Path, tco_home: Path) -> None:
    """The scenario is a FIFO: opening its write end returns only once the plan has opened it to read, and
    the plan then waits for the text, which never comes before the signal."""
    before = _existing(tmp_path)
    os.mkfifo(tmp_path / "team.toml")
    proc = _start(tmp_path, tco_home, "team.toml", "-f", "csv", "-o", "budget.csv", "--plot", "budget.png")
    deadline = time.monotonic() + DEADLINE_S
    writer = None
    try:
        while writer is None:
            try:
                writer = os.open(tmp_path / "team.toml", os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:  # ENXIO: no reader yet
                assert exc.errno == errno.ENXIO, exc
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail(f"the plan never opened its scenario: {proc.communicate()[1].decode()}")
                time.sleep(0.02)
        _blocked_in(proc, "pipe_read")  # reading the scenario, which never comes
        stdout, stderr = _interrupt(proc)
    finally:
        if writer is not None:
            os.close(writer)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines() == [
        "plan interrupted: nothing written (budget.csv, budget.png left as they were)"
    ]
    assert stdout == ""
    _unchanged(tmp_path, before, "team.toml")


def _wide_budget(path: Path) -> None:
    """A scenario whose JSON budget is ~170 kB (36 months x 16 endpoints with 270-character names) and whose
    figure is quick to draw."""
    lines = ["[scenario]", 'name = "long names"', "horizon_months = 36", ""]
    for i in range(16):
        lines += [
            "[[serving]]",
            f'name = "endpoint {i:03d} {"with a long name " * 15}"',
            "parameters = 1e9",
            f"requests_per_s = {1 + i}",
            "output_tokens_per_request = 100",
            'accelerators = ["L4"]',
            "",
        ]
    lines += ["[options]", 'providers = ["aws"]', 'pricing_models = ["on_demand"]', ""]
    path.write_text("\n".join(lines))


def test_ctrl_c_while_the_plan_writes_its_output_leaves_the_other_files(
    tmp_path: Path, tco_home: Path
) -> None:
    """--output is a FIFO the test opens but reads only one byte of: the plan's JSON (~170 kB) cannot fit in
    the pipe (64 kB), so the plan is still writing it when the signal comes. Its figure, written after the
    output, must not be touched, and no temporary file may be left."""
    before = _existing(tmp_path)
    _wide_budget(tmp_path / "team.toml")
    os.mkfifo(tmp_path / "out.json")
    reader = os.open(tmp_path / "out.json", os.O_RDONLY | os.O_NONBLOCK)
    try:
        pipe_bytes = fcntl.fcntl(reader, 1032)  # F_GETPIPE_SZ
        assert pipe_bytes <= 100_000, "the premise: the plan's output does not fit in the pipe"
        proc = _start(tmp_path, tco_home, "team.toml", "-f", "json", "-o", "out.json", "--plot", "budget.png")
        ready, _, _ = select.select([reader], [], [], DEADLINE_S)
        if not ready:
            proc.kill()
            pytest.fail(f"the plan never wrote its output: {proc.communicate()[1].decode()}")
        assert os.read(reader, 1) == b"["
        _blocked_in(proc, "pipe_write")  # the rest does not fit
        _, stderr = _interrupt(proc)
    finally:
        os.close(reader)
    assert proc.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert lines[-1] == "plan interrupted: nothing written (budget.png left as it was)", stderr
    assert "Traceback" not in stderr and not any(line.startswith("wrote") for line in lines)
    _unchanged(tmp_path, before, "team.toml", "out.json")


# ---------------------------------------------------------------------------------- in-process: the commit


def _plan(cli: Any, tmp_path: Path) -> Any:
    return cli(
        "plan",
        str(VISION),
        "-f",
        "csv",
        "-o",
        str(tmp_path / "budget.csv"),
        "--plot",
        str(tmp_path / "budget.png"),
    )


def test_ctrl_c_while_the_files_are_renamed_puts_them_back(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real SIGINT the moment the output is renamed into place (before the figure is): the plan exits 130
    and every file is as it was (the same file, not a copy of it); the figure is not created."""
    (tmp_path / "budget.csv").write_text("month,old_usd\n1,1\n")
    inode = (tmp_path / "budget.csv").stat().st_ino
    handler = signal.getsignal(signal.SIGINT)
    real = os.replace
    renamed: list[str] = []

    def replace_then_interrupt(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        real(src, dst, *args, **kwargs)
        if Path(dst).parent == tmp_path and not renamed:
            renamed.append(Path(dst).name)
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    result = _plan(cli, tmp_path)
    assert renamed == ["budget.csv"]
    assert result.exit_code == 130, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"plan interrupted: nothing written ({tmp_path / 'budget.csv'}, {tmp_path / 'budget.png'} left as "
        "they were)"
    )
    assert (tmp_path / "budget.csv").read_text() == "month,old_usd\n1,1\n"
    assert (tmp_path / "budget.csv").stat().st_ino == inode
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "tco-home") == ["budget.csv"]
    assert signal.getsignal(signal.SIGINT) is handler  # Ctrl-C is Ctrl-C again


def test_a_failing_write_puts_the_written_files_back(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The figure cannot be put in place (a full disk): the output put in place just before it is put
    back as it was."""
    import errno

    (tmp_path / "budget.csv").write_text("month,old_usd\n1,1\n")
    handler = signal.getsignal(signal.SIGINT)
    real = os.replace

    def full_disk(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if Path(dst) == tmp_path / "budget.png":
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", full_disk)
    result = _plan(cli, tmp_path)
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "budget.png" in last and "No space left on device" in last
    assert (tmp_path / "budget.csv").read_text() == "month,old_usd\n1,1\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "tco-home") == ["budget.csv"]
    assert signal.getsignal(signal.SIGINT) is handler  # Ctrl-C is Ctrl-C again


def test_a_figure_that_fails_writes_no_output(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The figure is drawn before anything is written: when it fails, the output is not written either."""
    import tco.plot
    from tco.errors import TcoError

    def broken(*args: object, **kwargs: object) -> None:
        raise TcoError("cannot draw the figure")

    monkeypatch.setattr(tco.plot, "plan_picture", broken)
    result = _plan(cli, tmp_path)
    assert result.exit_code == 1 and "cannot draw the figure" in result.stderr
    assert not (tmp_path / "budget.csv").exists() and not (tmp_path / "budget.png").exists()


def test_ctrl_c_while_planning_says_so_in_one_line(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tco.plan.budget

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(tco.plan.budget, "build_plan", interrupted)
    result = cli("plan", str(VISION), "-f", "csv")
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines() == ["plan interrupted: nothing written"]
    assert result.stdout == ""
