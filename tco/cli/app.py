"""The root command, its global options, and the single error boundary.

Domain errors (TcoError, PricingError, CalibrationError) print one line on stderr and exit 1; usage errors
exit 2; Ctrl-C exits 130; a stdout closed by its reader (``| head``) ends quietly with 141. ``--debug`` (or
``TCO_DEBUG=1``) shows the traceback instead. The files a command writes are put in place only when it
succeeded (:mod:`tco.cli.output`).
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import typer
from typer.exceptions import TyperException

from calibrate.errors import CalibrationError
from pricing.errors import PricingError
from tco import __version__
from tco.cli.lazy import LazyGroup
from tco.cli.options import environment
from tco.cli.output import command_outputs, guard_standard_streams, silence_stdout
from tco.cli.state import Format, State
from tco.errors import TcoError
from tco.export.base import OutputsInterrupted, printable

DOMAIN_ERRORS = (TcoError, PricingError, CalibrationError)
#: Errors of a write (a full disk, an I/O error): one line even where tco did not make the write itself.
OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG})


def _debug_requested(args: Sequence[str]) -> bool:
    return "--debug" in args or os.environ.get("TCO_DEBUG", "").lower() in {"1", "true", "yes", "on"}


def _color(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def error_line(message: str) -> None:
    """Write one ``error: ...`` line to stderr (red on a terminal unless NO_COLOR is set); the message's
    control characters are made visible and its line breaks spaces."""
    prefix = "\x1b[31merror:\x1b[0m" if _color(sys.stderr) else "error:"
    flat = " ".join(printable(str(message)).split())
    try:
        sys.stderr.write(f"{prefix} {flat}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass  # stderr full or closed: the exit status still says it


def _wrote(message: str) -> None:
    """A file is in place: say so on stderr (``wrote ... to FILE``)."""
    from tco.cli.render import note

    note(message)


class _StdoutGone(Exception):
    """A BrokenPipeError on stdout, carried past click (which would turn it into exit 1)."""


class TcoGroup(LazyGroup):
    """The root group: runs the command inside the one error boundary; subcommands load on demand."""

    lazy = MappingProxyType(
        {
            "prices": "tco.cli.prices:app",
            "calibrate": "tco.cli.calibrate:app",
            "estimate": "tco.cli.estimate:app",
            "plan": "tco.cli.plan:app",
            "compare": "tco.cli.compare:app",
            "runs": "tco.cli.runs:app",
        }
    )

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> NoReturn:
        argv = list(sys.argv[1:] if args is None else args)
        debug = _debug_requested(argv)
        guard_standard_streams()
        try:
            with command_outputs(_wrote) as commit:
                code = super().main(
                    args=argv,
                    prog_name=prog_name or "tco",
                    complete_var=complete_var,
                    standalone_mode=False,
                    windows_expand_args=windows_expand_args,
                    **extra,
                )
                if not code:
                    commit()
        except TyperException as exc:  # click's usage errors, vendored by typer
            code = self._usage_error(exc)
        except DOMAIN_ERRORS as exc:
            if debug:
                traceback.print_exc()
            error_line(str(exc))
            code = 1
        except OutputsInterrupted as exc:  # Ctrl-C while the files were put in place: all put back
            _wrote(exc.line(self.invoked))
            code = 130
        except (KeyboardInterrupt, typer.Abort):
            sys.stderr.write("\ninterrupted\n")
            code = 130
        except (BrokenPipeError, _StdoutGone):  # the reader of stdout left (`| head`): quietly, as `cat` does
            silence_stdout()
            code = 141
        except Exception as exc:
            if isinstance(exc, OSError) and exc.errno in OUTPUT_ERRNOS and not debug:
                # a write tco did not make itself (click's help or version text on a full stdout)
                silence_stdout()
                error_line(f"cannot write: {exc.strerror}")
            elif debug:
                traceback.print_exc()
            else:
                error_line(f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)")
            code = 1
        sys.exit(code if isinstance(code, int) else 0)

    #: The subcommand this run invoked (``plan``, ``estimate``...), named in an interrupted commit's line.
    invoked: str | None = None

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        self.invoked = name
        return name, command, rest

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _StdoutGone() from exc

    @staticmethod
    def _usage_error(exc: TyperException) -> int:
        name = type(exc).__name__
        if name == "NoArgsIsHelpError":
            ctx = getattr(exc, "ctx", None)
            sys.stdout.write((ctx.get_help() if ctx is not None else str(exc)) + "\n")
            return 0
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        ctx = getattr(exc, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        error_line(f"{message}{where}")
        return int(getattr(exc, "exit_code", 2))


app = typer.Typer(
    cls=TcoGroup,
    name="tco",
    help="What deep-learning training and serving will cost: real cloud prices, measured framework "
    "throughput, and projections with their sources.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"tco {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", envvar="TCO_DEBUG", help="Show tracebacks on errors."),
    home: Path | None = typer.Option(
        None,
        "--home",
        envvar="TCO_HOME",
        help="Directory for tco's databases (default: the user data dir).",
        show_default=False,
    ),
    fmt: Format | None = typer.Option(
        None,
        "--format",
        "-f",
        help="Output format for commands that return data (default: table).",
        show_default=False,
        case_sensitive=False,
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Write data to FILE instead of stdout (atomically, only on success).",
        show_default=False,
    ),
    price_book: bool = typer.Option(
        True,
        "--price-book/--no-price-book",
        envvar="TCO_PRICE_BOOK",
        help="Apply the newest imported price book (`tco prices import`) where it covers an offer; "
        "--no-price-book (or TCO_PRICE_BOOK=0): list prices only.",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    if not ctx.resilient_parsing:
        environment(home)
    ctx.obj = State(debug=debug, home=home, fmt=fmt, output=output, price_book=price_book)


def main() -> None:
    """Console-script entry point.

    Two start-up and shut-down costs are avoided for every command but ``calibrate`` (whose worker processes,
    stores and frameworks keep the interpreter's normal life cycle): tco's own arithmetic is elementwise, so
    numpy's BLAS gets one thread instead of a pool per core (unless ``OPENBLAS_NUM_THREADS`` is set); and
    once the output is written and flushed the process ends at once, skipping the interpreter's teardown of
    pandas' and numpy's objects, which takes longer than many commands. Nothing is left to it: files are
    written atomically and stores closed before a command returns.
    """
    if "calibrate" in sys.argv[1:]:
        app()
        return
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        app()
    except SystemExit as exc:
        _leave(exc.code)


def _leave(code: object) -> NoReturn:
    """Flush stdout and stderr, then end the process with ``code`` (no interpreter teardown)."""
    status = code if isinstance(code, int) else (0 if code is None else 1)
    if isinstance(code, str):
        error_line(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BrokenPipeError:  # a closed pipe: nothing more can be said
            status = status or 141
        except (OSError, ValueError) as exc:  # a full disk or a closed stream
            if stream is sys.stdout and not status:
                error_line(f"cannot write to standard output: {getattr(exc, 'strerror', None) or exc}")
            status = status or 1
    os._exit(status)
