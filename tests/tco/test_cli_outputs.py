"""Output never loses data, and strings are data everywhere (issue #15 items 3 and 4): one test per rule.

Files: written beside the target and renamed on success; a device or pipe written directly; a link keeps
pointing where it did; nothing partial on a full disk; a failing command leaves every file as it was.
Stdout: full or closed is one line and exit 1; a reader that leaves ends the command quietly (141).
Text: markup shown as written, control characters visible, formulas neutralised in cells, headers and keys.
No test touches a real device node: pipes are FIFOs made here, a full disk is simulated in-process, and
/dev/full is only ever a subprocess's stdout.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tco.export.base
from calibrate.schema import COLUMNS
from calibrate.store import ResultStore
from tco.export.base import neutralise, write_atomic
from tests.damage import reading_pipe

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "examples" / "llm_team.toml"
OLD = b"precious: an earlier result\n"
FORMULA = '=HYPERLINK("http://x.test","y")'


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def _run(*args: str, home: Path, stdout: Any = subprocess.PIPE, shell_prefix: str = "") -> Any:
    env = {**os.environ, "TCO_HOME": str(home), "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONUNBUFFERED", None)  # stdout buffered, as for a user
    command = [sys.executable, "-m", "tco", *args]
    if shell_prefix:  # e.g. closing stdout first, as `tco ... >&-` does
        command = ["/bin/sh", "-c", f'{shell_prefix}; exec "$@"', "sh", *command]
    return subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, env=env, timeout=120, check=False)


def _hostile_calibration(home: Path, **text: str) -> None:
    """Two measured rows whose text fields carry ``text`` (markup, formulas, control characters)."""
    rows = []
    for i, framework in enumerate(("torch", "jax")):
        row: dict[str, Any] = dict.fromkeys(COLUMNS)
        row.update(
            result_id=f"r{i}", run_id="run1", framework=framework, framework_version="1.0",
            device_kind="gpu", device_name="NVIDIA H100", accelerator="H100-80GB", device_count=1.0,
            kernel="train_transformer", variant="compiled", dtype="bf16", metric="throughput", median_s=0.1,
            throughput=1000.0 + i, throughput_unit="tokens_per_s", host="box",
            measured_at="2026-01-01T00:00:00Z", tool_version="0", profile="tiny", status="ok",
        )  # fmt: skip
        row.update(text)
        rows.append(row)
    ResultStore(home / ResultStore.DEFAULT_FILENAME).add_many(rows)


# --- files ------------------------------------------------------------------------------------------------


def test_an_output_replaces_the_file_whole_by_rename(cli: Any, tmp_path: Path) -> None:
    """A reader that had the old file open keeps reading the old file (a rename, not an overwrite in
    place); the mode of the file is kept, a new file gets the umask's (not a temporary file's 0600)."""
    out = tmp_path / "models.csv"
    out.write_bytes(OLD)
    out.chmod(0o640)
    with out.open("rb") as before:
        result = cli("estimate", "models", "-f", "csv", "-o", str(out))
        assert result.exit_code == 0, result.stderr
        assert before.read() == OLD
    assert out.read_text().startswith("name,")
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.csv"
    assert cli("estimate", "models", "-f", "csv", "-o", str(fresh)).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    assert _leftovers(tmp_path) == []
    assert f"wrote 22 rows to {out}" in result.stderr


def test_a_failing_command_leaves_every_output_as_it_was(cli: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """`plan -o b.csv --plot p.png` whose plot fails: b.csv keeps its old bytes and no p.png appears."""
    import tco.plot
    from tco.errors import TcoError

    def broken(*_: Any, **__: Any) -> None:
        raise TcoError("the plot failed")

    monkeypatch.setattr(tco.plot, "plan_picture", broken)
    table, plot = tmp_path / "b.csv", tmp_path / "p.png"
    table.write_bytes(OLD)
    result = cli("plan", str(SCENARIO), "-f", "csv", "-o", str(table), "--plot", str(plot))
    assert result.exit_code == 1 and "the plot failed" in result.stderr
    assert table.read_bytes() == OLD and not plot.exists()
    assert _leftovers(tmp_path) == [] and "wrote" not in result.stderr
    new = tmp_path / "new.csv"
    assert cli("plan", str(SCENARIO), "-f", "csv", "-o", str(new), "--plot", str(plot)).exit_code == 1
    assert not new.exists()


def test_an_export_of_an_unknown_run_leaves_the_file(cli: Any, tco_home: Path, tmp_path: Path) -> None:
    _hostile_calibration(tco_home)
    existing = tmp_path / "existing.json"
    existing.write_bytes(OLD)
    result = cli("calibrate", "export", str(existing), "--run", "nope")
    assert result.exit_code == 1 and existing.read_bytes() == OLD


def test_a_pipe_is_written_directly_not_replaced(cli: Any, tmp_path: Path) -> None:
    pipe, received = reading_pipe(tmp_path / "pipe")
    result = cli("estimate", "models", "-f", "csv", "-o", str(pipe))
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(pipe.lstat().st_mode)  # still the pipe, not a file that replaced it
    assert received().startswith(b"name,")


def test_a_link_keeps_pointing_where_it_did(cli: Any, tmp_path: Path) -> None:
    real, link = tmp_path / "real.csv", tmp_path / "link.csv"
    real.write_bytes(OLD)
    link.symlink_to(real.name)
    assert cli("estimate", "models", "-f", "csv", "-o", str(link)).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == real.name
    assert real.read_text().startswith("name,")
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to("made-through-the-link.csv")
    assert cli("estimate", "models", "-f", "csv", "-o", str(dangling)).exit_code == 0
    assert dangling.is_symlink() and (tmp_path / "made-through-the-link.csv").read_text().startswith("name,")
    assert _leftovers(tmp_path) == []


def test_a_full_disk_leaves_no_partial_file(cli: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """ENOSPC half-way through the write (simulated in-process): one line, exit 1, the old file intact and
    no temporary file left."""
    real_fdopen = os.fdopen

    class Full(io.RawIOBase):
        def __init__(self, fd: int) -> None:
            self.inner = real_fdopen(fd, "wb")

        def write(self, data: Any) -> int:
            self.inner.write(bytes(data)[:100])
            self.inner.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def fileno(self) -> int:
            return self.inner.fileno()

        def close(self) -> None:
            self.inner.close()

    monkeypatch.setattr(tco.export.base.os, "fdopen", lambda fd, mode: Full(fd))
    out = tmp_path / "models.csv"
    out.write_bytes(OLD)
    result = cli("estimate", "models", "-f", "csv", "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: cannot write {out}: No space left on device (nothing was written)"
    ]
    assert out.read_bytes() == OLD and _leftovers(tmp_path) == []


def test_the_same_file_twice_in_one_command_is_refused(cli: Any, tmp_path: Path) -> None:
    same = tmp_path / "same.png"
    result = cli("plan", str(SCENARIO), "-f", "csv", "-o", str(same), "--plot", str(same))
    assert result.exit_code == 1 and "twice in one command" in result.stderr and not same.exists()


def test_a_plot_of_an_unknown_picture_format_is_a_usage_error(cli: Any, tmp_path: Path) -> None:
    result = cli("plan", str(SCENARIO), "--plot", str(tmp_path / "budget.txt"))
    assert result.exit_code == 2 and "the suffix names the picture's format" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_through_a_link_to_stdout(tmp_path: Path) -> None:
    """What ``-o /dev/stdout`` is: a link to the writer's own stdout, written through, never replaced (a
    link made here, so that no real device node is at risk)."""
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    code = "import sys; from pathlib import Path; from tco.export.base import write_atomic; "
    code += f"write_atomic(Path({str(link)!r}), b'hi')"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"hi" and link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"


# --- stdout ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("estimate", "models", "-f", "csv"), ("calibrate", "show", "--all")])
def test_stdout_full_is_one_line_and_exit_1(tco_home: Path, args: tuple[str, ...]) -> None:
    """Also for `calibrate` (the one command that ends through the interpreter's own exit, whose last flush
    of a full stdout would add a second report and exit 120)."""
    _hostile_calibration(tco_home)
    with open("/dev/full", "wb") as full:  # the subprocess's stdout: never written by path, never replaced
        done = _run(*args, home=tco_home, stdout=full)
    assert done.returncode == 1
    assert done.stderr.decode().strip().splitlines() == [
        "error: cannot write to standard output: No space left on device (use --output FILE)"
    ]


def test_help_on_a_full_stdout_is_one_line_and_exit_1(tco_home: Path) -> None:
    with open("/dev/full", "wb") as full:  # the subprocess's stdout, as `tco --help > /dev/full`
        done = _run("--help", home=tco_home, stdout=full)
    assert done.returncode == 1
    assert done.stderr.decode().strip().splitlines() == ["error: cannot write: No space left on device"]


@pytest.mark.parametrize(
    "args",
    [("estimate", "models", "-f", "csv"), ("--help",), ("--version",), ("estimate", "--help"), ()],
    ids=["data", "help", "version", "command-help", "no-arguments"],
)
def test_stdout_closed_is_one_line_and_exit_1(tco_home: Path, args: tuple[str, ...]) -> None:
    """Data, help and version text alike: a closed stdout is the one line, never a silent exit 0."""
    done = _run(*args, home=tco_home, shell_prefix="exec 1>&-")
    assert done.returncode == 1
    assert done.stderr.decode().strip().splitlines() == [
        "error: cannot write to standard output: it is closed (use --output FILE)"
    ]


def test_a_reader_that_leaves_ends_the_command_quietly(tco_home: Path) -> None:
    """`tco prices list -f json | head -c1`: exit 141, nothing on stderr but the notes, no traceback."""
    env = {**os.environ, "TCO_HOME": str(tco_home), "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tco", "prices", "list", "-f", "json"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env, bufsize=0,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    assert os.read(process.stdout.fileno(), 1) == b"["
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert "Traceback" not in stderr and "error" not in stderr


# --- strings are data ---------------------------------------------------------------------------------------


def test_markup_in_stored_text_is_shown_as_written(cli: Any, tco_home: Path) -> None:
    _hostile_calibration(tco_home, framework_version="[/]", device_name="[b]H100[/b]")
    result = cli("calibrate", "show", "--detail")
    assert result.exit_code == 0, result.stderr
    shown = cli("calibrate", "show")
    assert shown.exit_code == 0, shown.stderr
    assert "[/]" in shown.stdout and "[b]H100[/b]" in shown.stdout


def test_formulas_are_neutralised_in_cells_headers_and_keys(cli: Any, tmp_path: Path) -> None:
    """Workload names from a scenario reach `tco plan`'s CSV headers and JSON keys as text, not formulas."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO.read_text().replace('"7B pretrain"', json.dumps(FORMULA)))
    out = cli("plan", str(scenario), "-f", "csv")
    assert out.exit_code == 0, out.stderr
    header = next(csv.reader(io.StringIO(out.stdout)))
    assert f"'{FORMULA}_usd" in header
    assert not [h for h in header if h.startswith(("=", "+", "-", "@"))]
    keys = cli("plan", str(scenario), "-f", "json").json()[0]
    assert f"'{FORMULA}_usd" in keys and f"{FORMULA}_usd" not in keys
    ranking = cli("plan", str(scenario), "-f", "json", "-o", str(tmp_path / "p.json"))
    assert ranking.exit_code == 0
    assert neutralise(FORMULA) == "'" + FORMULA  # the one function the writers share


def test_a_carriage_return_in_stored_text_never_splits_a_csv_row(cli: Any, tco_home: Path) -> None:
    """Calibration text after a bare CR reaches `calibrate show` and `compare frameworks` CSV inside its
    quoted cell, as a line break: no reader starts a row (and a formula) there."""
    _hostile_calibration(tco_home, framework_version="2.1\r=1+1", device_name="H100\r@SUM(1)")
    for args in (
        ("calibrate", "show", "-f", "csv"),
        ("compare", "frameworks", "-a", "H100-80GB", "--work", "1e9", "-f", "csv"),
    ):
        result = cli(*args)
        assert result.exit_code == 0, result.stderr
        assert "\r" not in result.stdout
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert "2.1\n=1+1" in {r["framework_version"] for r in rows}


def test_control_characters_never_reach_the_terminal_raw(cli: Any, tco_home: Path, tmp_path: Path) -> None:
    hostile = "H100 \x1b[2J\x1b]0;owned\x07\x9b31m"
    _hostile_calibration(tco_home, device_name=hostile, shape=hostile)
    for view in ("--detail", "--all"):
        table = cli("calibrate", "show", view)
        assert table.exit_code == 0, table.stderr
        assert "\x1b" not in table.stdout and "\x9b" not in table.stdout and "\x07" not in table.stdout
        assert "H100 \u241b[2J" in table.stdout  # shown, as ␛
    odd = tmp_path / "out\x1b[31m.csv"
    written = cli("estimate", "models", "-f", "csv", "-o", str(odd))  # refused, and the refusal shown safely
    assert written.exit_code == 2 and "\x1b" not in written.stderr and "control character" in written.stderr
    assert not odd.exists()


def test_bidirectional_controls_never_reach_the_terminal_raw(cli: Any, tco_home: Path) -> None:
    """A stored name holding a right-to-left override (shown reversed: "Trojan Source") or an isolate shows
    the control as a visible symbol, in tables and in CSV cells."""
    hostile = "H100 \u202edrah\u2066x\u2069"
    _hostile_calibration(tco_home, device_name=hostile, shape=hostile)
    table = cli("calibrate", "show", "--detail")
    assert table.exit_code == 0, table.stderr
    assert not any(ch in table.stdout for ch in "\u202e\u2066\u2069")
    assert "H100 \ufffddrah" in table.stdout
    exported = cli("calibrate", "show", "--detail", "-f", "csv")
    assert exported.exit_code == 0, exported.stderr
    assert "\u202e" not in exported.stdout and "H100 \ufffddrah" in exported.stdout


def test_write_atomic_refuses_a_directory_without_touching_it(tmp_path: Path) -> None:
    from tco.errors import TcoError

    (tmp_path / "dir").mkdir()
    with pytest.raises(TcoError, match="it is a directory"):
        write_atomic(tmp_path / "dir", b"x")
    assert list((tmp_path / "dir").iterdir()) == []


# --- the staging every command but `tco plan` writes through (plan commits its own files, Ctrl-C held) ---


def test_a_command_that_fails_after_writing_its_output_leaves_the_file(
    cli: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """`compare procurement -o t.csv --plot p.png` writes its table first, then draws: when drawing fails,
    the table staged before it is not put in place."""
    import tco.plot
    from tco.errors import TcoError

    def broken(*_: Any, **__: Any) -> None:
        raise TcoError("the plot failed")

    monkeypatch.setattr(tco.plot, "procurement_figure", broken)
    table, plot = tmp_path / "t.csv", tmp_path / "p.png"
    table.write_bytes(OLD)
    args = ("compare", "procurement", "-a", "h100", "--acc-hours", "10000", "-f", "csv")
    result = cli(*args, "-o", str(table), "--plot", str(plot))
    assert result.exit_code == 1 and "the plot failed" in result.stderr
    assert table.read_bytes() == OLD and not plot.exists() and _leftovers(tmp_path) == []
    monkeypatch.undo()
    assert cli(*args, "-o", str(table)).exit_code == 0 and table.read_bytes() != OLD  # the premise


def test_one_file_twice_through_the_staging_is_refused(cli: Any, tmp_path: Path) -> None:
    same = tmp_path / "same.png"
    args = ("compare", "procurement", "-a", "h100", "--acc-hours", "10000", "-f", "csv")
    result = cli(*args, "-o", str(same), "--plot", str(same))
    assert result.exit_code == 1 and "twice in one command" in result.stderr and not same.exists()


def test_notes_show_control_characters_as_symbols(capsys: Any) -> None:
    from tco.cli.render import note

    note("device \x1b[2J name\x07")
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "device \u241b[2J name" in err


# --- the commit: every command's files all or none --------------------------------------------------------

PROCUREMENT = ("compare", "procurement", "-a", "h100", "--acc-hours", "10000", "-f", "csv")


def _no_debris(directory: Path) -> None:
    """No temporary file and no kept copy of a replaced file is left beside the outputs."""
    assert sorted(p.name for p in directory.iterdir() if p.name.endswith((".tmp", ".keep"))) == []


def test_a_rename_that_fails_puts_the_files_renamed_before_it_back(
    cli: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """`compare procurement -o t.csv --plot p.png`: the table is renamed into place, then the figure's rename
    fails (a full disk): the table is put back as it was, the same file (its inode), and no figure appears."""
    table, plot = tmp_path / "t.csv", tmp_path / "p.png"
    table.write_bytes(OLD)
    inode = table.stat().st_ino
    real = os.replace

    def full_disk(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if Path(dst) == plot:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", full_disk)
    result = cli(*PROCUREMENT, "-o", str(table), "--plot", str(plot))
    assert result.exit_code == 1, result.stderr
    assert "p.png" in result.stderr and "No space left on device" in result.stderr
    assert "wrote" not in result.stderr  # nothing is reported in place when it is not
    assert table.read_bytes() == OLD and table.stat().st_ino == inode and not plot.exists()
    _no_debris(tmp_path)


def test_ctrl_c_while_a_command_puts_its_files_in_place_puts_them_back(
    cli: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """A real SIGINT right after the table's rename: held until the renames end, then every file is put back,
    the command exits 130 with one line naming the files, and Ctrl-C is Ctrl-C again."""
    import signal

    table, plot = tmp_path / "t.csv", tmp_path / "p.png"
    table.write_bytes(OLD)
    handler = signal.getsignal(signal.SIGINT)
    real = os.replace
    signalled: list[str] = []

    def replace_then_interrupt(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        real(src, dst, *args, **kwargs)
        if Path(dst) == table and not signalled:
            signalled.append(Path(dst).name)
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    result = cli(*PROCUREMENT, "-o", str(table), "--plot", str(plot))
    assert signalled == ["t.csv"]
    assert result.exit_code == 130, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"compare interrupted: nothing written ({table}, {plot} left as they were)"
    )
    assert table.read_bytes() == OLD and not plot.exists()
    assert signal.getsignal(signal.SIGINT) is handler
    _no_debris(tmp_path)


def test_ctrl_c_while_the_files_are_put_back_does_not_stop_it(
    cli: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """The figure's rename fails and, while the table is being put back, a real SIGINT comes: Ctrl-C is held
    until the table is back, so the command ends with the failure, and the table is as it was."""
    import signal

    table, plot = tmp_path / "t.csv", tmp_path / "p.png"
    table.write_bytes(OLD)
    real = os.replace
    signalled: list[str] = []

    def failing_then_interrupted(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if Path(dst) == plot:
            raise OSError(errno.ENOSPC, "No space left on device")
        if str(src).endswith(".keep") and not signalled:  # putting the table back
            signalled.append(Path(dst).name)
            signal.raise_signal(signal.SIGINT)
        real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing_then_interrupted)
    result = cli(*PROCUREMENT, "-o", str(table), "--plot", str(plot))
    assert signalled == ["t.csv"]
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    assert table.read_bytes() == OLD and not plot.exists()
    _no_debris(tmp_path)
