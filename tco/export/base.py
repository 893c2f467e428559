"""What every exporter shares: one rule that makes text safe as data, and one way to write a file.

Text: :func:`neutralise` is applied by every writer (CSV, JSON, XLSX) to every text cell, header and key, and
:func:`printable` (its first half) by the terminal renderer, so that user, provider and calibration text is
shown as data: never run by a spreadsheet, never obeyed by a terminal.

Files: :func:`write_output` is the only way tco writes an output file. A regular file is written to a
temporary file beside its target and renamed over it only when complete (never a partial file; an existing
file keeps its permissions); a symbolic link keeps pointing where it did (its target is replaced); a device
or a pipe (``/dev/stdout``, a FIFO, ``/dev/null``) is written directly, never replaced by a file. While a
command runs (:func:`staged_outputs`), every write is prepared at once but put in place only when the whole
command succeeded: a failing command leaves every existing file as it was and no new one.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from tco.errors import TcoError
from tco.text import SHOWN_AS_SYMBOL

if TYPE_CHECKING:
    import pandas as pd

#: A cell starting with one of these is executed by spreadsheets (OWASP "CSV injection").
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
#: Control characters a terminal or a spreadsheet acts on: C0 but tab and newline, DEL, and C1.
_LINE_BREAK: Final = re.compile("\r\n?")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode control picture: ESC shows as ␛
    return "\u2421" if code == 0x7F else "\ufffd"


def printable(value: str) -> str:
    """``value`` with its control characters made harmless: a carriage return (alone or before a newline) is
    a line break; every other control character but tab and newline shows as a visible symbol (ESC as ␛),
    so that no escape sequence reaches a terminal and no reader splits a row where the text did not."""
    if not SHOWN_AS_SYMBOL.search(value):
        return value
    return SHOWN_AS_SYMBOL.sub(_visible, _LINE_BREAK.sub("\n", value))


def neutralise(value: str) -> str:
    """The one rule for every text cell, header and key tco writes: :func:`printable`, then a formula-like
    start (``=``, ``+``, ``-``, ``@``, tab) prefixed with ``'`` so that spreadsheets show it as text."""
    text = printable(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def neutral_names(names: Iterable[object]) -> list[str]:
    """Column names (CSV headers, JSON keys) through :func:`neutralise`, kept distinct: a name that would
    collide with an earlier one after neutralising gets `` (2)``, `` (3)``..."""
    seen: set[str] = set()
    out = []
    for name in names:
        text = neutralise(str(name))
        candidate, n = text, 1
        while candidate in seen:
            n += 1
            candidate = f"{text} ({n})"
        seen.add(candidate)
        out.append(candidate)
    return out


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot run as formulas nor carry control
    characters (:func:`neutralise`). Numeric columns are left alone."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or str(series.dtype).startswith("str"):
            text = series.map(lambda v: v if isinstance(v, str) else None)
            risky = text.str.contains(SHOWN_AS_SYMBOL, na=False) | text.str.startswith(
                FORMULA_PREFIXES, na=False
            )
            if risky.any():
                out[column] = series.where(~risky.astype(bool), text.map(neutralise, na_action="ignore"))
    out.columns = neutral_names(out.columns)
    return out


# --- writing files ----------------------------------------------------------------------------------------


@dataclass
class PreparedWrite:
    """A file write made ready: for a regular file, the complete temporary file beside its target; for a
    device or a pipe, the bytes to write at :meth:`commit`."""

    path: Path
    target: Path
    data: bytes | None = None
    tmp: Path | None = None
    mode: int | None = None

    def commit(self) -> None:
        if self.tmp is None:
            _write_direct(self.path, self.target, self.data or b"")
            return
        try:
            os.replace(self.tmp, self.target)
        except OSError as exc:
            self.discard()
            raise _cannot(self.path, exc) from exc
        self.tmp = None

    def discard(self) -> None:
        if self.tmp is not None:
            with suppress(OSError):
                self.tmp.unlink()
            self.tmp = None


def _cannot(path: Path, exc: OSError) -> TcoError:
    return TcoError(f"cannot write {path}: {exc.strerror or exc}", hint="nothing was written")


def _target_of(path: Path) -> tuple[Path, os.stat_result | None]:
    """Where bytes for ``path`` land (a link's final target), and what is there now (None: nothing)."""
    try:
        info = path.stat()  # follows links
    except FileNotFoundError:
        info = None
    except OSError as exc:  # a link loop, a name too long, a component not a directory
        raise _cannot(path, exc) from exc
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    return target, info


def check_target(path: Path) -> None:
    """Fail now, with one line, if ``path`` cannot be written (before any work is done)."""
    target, info = _target_of(path)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise TcoError(f"cannot write {path}: it is a directory", hint="give a file name")
    if info is not None and not stat.S_ISREG(info.st_mode):
        if not os.access(path, os.W_OK):
            raise TcoError(f"cannot write {path}: permission denied")
        return
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise TcoError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (info is not None and not os.access(target, os.W_OK)):
        raise TcoError(f"cannot write {path}: permission denied")


def prepare_write(path: Path, data: bytes) -> PreparedWrite:
    """Make a write of ``data`` to ``path`` ready (:class:`PreparedWrite`); nothing at ``path`` changes yet.
    A full disk or a missing directory fails here."""
    target, info = _target_of(path)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise TcoError(f"cannot write {path}: it is a directory", hint="give a file name")
    if info is not None and not stat.S_ISREG(info.st_mode):
        # opened by its own name: the kernel follows the link (/dev/stdout -> /proc/self/fd/1 -> a pipe)
        return PreparedWrite(path, path, data=data)
    directory = target.parent if str(target.parent) else Path(".")
    tmp = directory / f".{target.name[:200]}.{secrets.token_hex(4)}.tmp"
    mode = stat.S_IMODE(info.st_mode) if info is not None else None
    try:
        # 0o666 before the umask, as a file created by open() would have; an existing file's mode is kept
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        raise _cannot(path, exc) from exc
    prepared = PreparedWrite(path, target, tmp=tmp, mode=mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
    except OSError as exc:
        prepared.discard()
        raise _cannot(path, exc) from exc
    except BaseException:  # Ctrl-C while writing: no temporary file is left behind
        prepared.discard()
        raise
    return prepared


#: How long a FIFO is waited for a reader before the write fails (a shell's ``>`` would wait for ever).
FIFO_READER_WAIT_S: Final = 30.0


def _write_direct(path: Path, target: Path, data: bytes) -> None:
    """Write to a device or a pipe: opened in place (never replaced); a FIFO without a reader is waited for
    (:data:`FIFO_READER_WAIT_S`), then an error."""
    try:
        fd = _open_for_writing(target)
    except OSError as exc:
        raise _cannot(path, exc) from exc
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except BrokenPipeError as exc:
        raise TcoError(f"cannot write {path}: the reading end was closed before all was written") from exc
    except OSError as exc:
        raise _cannot(path, exc) from exc
    finally:
        os.close(fd)


def _open_for_writing(target: Path) -> int:
    flags = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    info = target.stat()
    if not stat.S_ISFIFO(info.st_mode):
        return os.open(target, flags)
    deadline = time.monotonic() + FIFO_READER_WAIT_S
    while True:
        try:
            fd = os.open(target, flags | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                if exc.errno == errno.ENXIO:
                    raise OSError(errno.ENXIO, "no process is reading the pipe") from exc
                raise
            time.sleep(0.05)
            continue
        os.set_blocking(fd, True)
        return fd


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` now (see the module docstring): all of it, or nothing changes."""
    prepared = prepare_write(path, data)
    try:
        prepared.commit()
    finally:
        prepared.discard()


class OutputsInterrupted(KeyboardInterrupt):
    """Ctrl-C while a command's files were being put in place: every regular file is as it was before the
    command (``paths``: the regular files it would have written, as the user named them)."""

    def __init__(self, paths: Iterable[Path]) -> None:
        super().__init__()
        self.paths = [str(p) for p in paths]

    def line(self, command: str | None) -> str:
        """``plan interrupted: nothing written (a.csv, b.png left as they were)``."""
        kept = ""
        if self.paths:
            kept = f" ({', '.join(self.paths)} left as {'it was' if len(self.paths) == 1 else 'they were'})"
        return f"{command + ' ' if command else ''}interrupted: nothing written{kept}"


class _CtrlCHeld:
    """SIGINT only noted (``interrupted``) while the block runs, in the main thread (the only one where a
    handler can be set); the previous handler is back when it ends (one installed outside Python reads as
    None: the default then)."""

    def __init__(self) -> None:
        self.interrupted = False
        self.previous: object = None
        self.holding = False

    def _note(self, signum: int, frame: object) -> None:
        self.interrupted = True

    def __enter__(self) -> _CtrlCHeld:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._note)
            self.holding = True
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        if self.holding:
            signal.signal(signal.SIGINT, self.previous or signal.SIG_DFL)  # type: ignore[arg-type]
            self.holding = False


def _keep(path: Path) -> Path | bytes:
    """A hard link to ``path`` beside it (its inode, untouched by the rename over it), else its bytes."""
    folder = path.parent if str(path.parent) else Path(".")
    for _ in range(10):
        name = folder / f".{path.name[:200]}.{secrets.token_hex(6)}.keep"
        try:
            os.link(path, name)
        except FileExistsError:
            continue
        except OSError:
            break
        return name
    return path.read_bytes()


def _put_back(undo: list[tuple[Path, Path | bytes | None]]) -> None:
    """Each file as it was before its rename, last first (a file that did not exist is removed)."""
    for path, kept in reversed(undo):
        if isinstance(kept, Path):
            os.replace(kept, path)
        elif isinstance(kept, bytes):
            write_atomic(path, kept)
        else:
            path.unlink(missing_ok=True)


@dataclass
class StagedOutputs:
    """The files a running command has written so far, each ready but not yet in place."""

    writes: list[tuple[PreparedWrite, str | None]] = field(default_factory=list)

    def add(self, path: Path, data: bytes, message: str | None) -> None:
        key = os.path.realpath(path)
        if any(os.path.realpath(p.path) == key for p, _ in self.writes):
            raise TcoError(f"cannot write {path} twice in one command", hint="give each output its own file")
        self.writes.append((prepare_write(path, data), message))

    def commit(self, report: Callable[[str], None] | None = None) -> None:
        """Put every file in place, all or none: devices and pipes first (written directly, what was sent
        cannot be taken back; Ctrl-C still interrupts them), then the renames of the regular files with
        Ctrl-C held. A failure or a Ctrl-C before the last rename puts every renamed file back as it was (an
        existing file is first kept under a hard link, or its bytes) and raises: the error, or
        :class:`OutputsInterrupted`. ``report`` gets each write's message once every file is in place."""
        direct = [(p, m) for p, m in self.writes if p.tmp is None]
        regular = [(p, m) for p, m in self.writes if p.tmp is not None]
        try:
            for prepared, _ in direct:
                prepared.commit()
            with _CtrlCHeld() as held:
                undo: list[tuple[Path, Path | bytes | None]] = []
                try:
                    for prepared, _ in regular:
                        exists = os.path.lexists(prepared.target)
                        undo.append((prepared.target, _keep(prepared.target) if exists else None))
                        prepared.commit()
                    if held.interrupted:
                        raise KeyboardInterrupt
                except BaseException:
                    _put_back(undo)
                    raise
                for _, kept in undo:
                    if isinstance(kept, Path):
                        kept.unlink(missing_ok=True)
        except KeyboardInterrupt:
            raise OutputsInterrupted(p.path for p, _ in regular) from None
        finally:
            self.discard()
        if report is not None:
            for _, message in direct + regular:
                if message:
                    report(message)

    def discard(self) -> None:
        for prepared, _ in self.writes:
            prepared.discard()
        self.writes.clear()


_STAGED: ContextVar[StagedOutputs | None] = ContextVar("tco_staged_outputs", default=None)


@contextmanager
def staged_outputs() -> Iterator[StagedOutputs]:
    """Within this block :func:`write_output` only prepares files; the caller commits them on success
    (:meth:`StagedOutputs.commit`). Whatever was not committed when the block ends is discarded."""
    staged = StagedOutputs()
    token = _STAGED.set(staged)
    try:
        yield staged
    finally:
        _STAGED.reset(token)
        staged.discard()


def write_output(path: Path, data: bytes, message: str | None = None) -> None:
    """Write an output file: staged inside :func:`staged_outputs` (in place only if the command succeeds;
    ``message`` is reported then), else at once with :func:`write_atomic`."""
    staged = _STAGED.get()
    if staged is None:
        write_atomic(path, data)
    else:
        staged.add(path, data, message)
