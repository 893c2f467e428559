"""Where a command's results go, and when.

- Data on standard output is written as it comes, and any failure to write it is the command's failure: a
  full disk or a closed stdout is one ``error:`` line and exit 1; a reader that went away (``| head``) ends
  the command quietly with 141, as other command-line tools do.
- Files (``--output``, ``--plot``, exports, workbooks) go through :func:`tco.export.base.write_output`: the
  error boundary runs every command inside :func:`command_outputs`, which stages them and puts them in place
  only once the whole command succeeded and its stdout was flushed. A command that fails leaves every
  existing file as it was and creates none.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tco.errors import TcoError
from tco.export.base import check_target, staged_outputs

if TYPE_CHECKING:
    from rich.console import RenderableType

#: Standard streams that were closed when tco started (their descriptors now hold /dev/null).
_CLOSED: set[int] = set()


class _ClosedStdout(io.TextIOBase):
    """``sys.stdout`` when tco started with stdout closed (Python sets it to None, and ``print`` or click's
    help and version text then write nothing, silently): every write is the one-line error instead."""

    def write(self, text: str) -> int:
        raise _closed()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False


def _closed() -> TcoError:
    return TcoError("cannot write to standard output: it is closed", hint="use --output FILE")


def guard_standard_streams() -> None:
    """Give a closed stdin, stdout or stderr /dev/null, so that no file tco opens gets its descriptor (and
    data meant for the terminal never lands in a database); remember which were closed. A closed stdout
    also gets a ``sys.stdout`` whose writes fail with one line (help and version text included)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            _CLOSED.add(fd)
    if 1 in _CLOSED and sys.stdout is None:
        sys.stdout = _ClosedStdout()


def _stdout() -> TextIO:
    if 1 in _CLOSED or sys.stdout is None:
        raise _closed()
    return sys.stdout


def _failed(exc: OSError) -> TcoError:
    silence_stdout()  # what is still buffered would fail again at exit
    return TcoError(f"cannot write to standard output: {exc.strerror or exc}", hint="use --output FILE")


def write_stdout(data: bytes) -> None:
    """Write all of ``data`` to stdout now. (A pipe whose reader leaves mid-write takes part of a large
    write without an error; the rest is written until it fails, so that no data is dropped silently.)"""
    stream = _stdout()
    try:
        stream.flush()
        view = memoryview(data)
        while view:
            written = stream.buffer.write(view)
            if not written:
                raise BrokenPipeError(errno.EPIPE, "standard output took no more data")
            view = view[written:]
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _failed(exc) from exc


def print_stdout(renderable: RenderableType) -> None:
    """Draw a Rich renderable on stdout: on a terminal at its width; elsewhere 220 columns wide, so that a
    table is not cut to 80, and written whole through :func:`write_stdout`."""
    from io import StringIO

    from rich.console import Console

    stream = _stdout()
    if not stream.isatty():
        text = StringIO()
        Console(file=text, highlight=False, width=220, no_color=True).print(renderable)
        write_stdout(text.getvalue().encode(stream.encoding or "utf-8", "replace"))
        return
    try:
        Console(file=stream, highlight=False).print(renderable)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _failed(exc) from exc


def flush_stdout() -> None:
    """Flush stdout; a failure is the command's (a pipe closed by its reader stays a BrokenPipeError)."""
    if 1 in _CLOSED or sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise BrokenPipeError(*exc.args) from exc
        raise _failed(exc) from exc


def silence_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so that nothing more (the interpreter's last flush
    included) fails or prints a traceback."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass  # a captured stdout (tests) has no descriptor: nothing to silence


@contextmanager
def command_outputs(report: Callable[[str], None]) -> Iterator[Callable[[], None]]:
    """Run a command with its files staged; the callable it yields puts them in place (call it once the
    command succeeded: stdout is flushed first, so that a failure there writes no file). ``report`` gets
    each file's message (``wrote ... to FILE``) once it is in place."""
    with staged_outputs() as staged:

        def commit() -> None:
            flush_stdout()
            staged.commit(report)

        yield commit


def check_output(path: Path) -> None:
    """An output path that cannot be written fails here, before any work, with one line."""
    check_target(path)


def check_plot(path: Path, option: str = "--plot") -> None:
    """``--plot FILE``: writable, and a picture format matplotlib draws (from the suffix)."""
    from typer import _click as click

    from tco.plot import IMAGE_SUFFIXES

    suffix = path.suffix.lower()
    if suffix and suffix not in IMAGE_SUFFIXES and not _is_special(path):
        raise click.exceptions.BadParameter(
            f"{path}: {suffix} is not a picture format; use one of {', '.join(IMAGE_SUFFIXES)}",
            param_hint=f"'{option}'",
        )
    check_target(path)


def _is_special(path: Path) -> bool:
    """A device or a pipe (``/dev/stdout``): written directly, whatever its name."""
    import stat

    try:
        return not stat.S_ISREG(path.stat().st_mode) and not stat.S_ISDIR(path.stat().st_mode)
    except OSError:
        return False
