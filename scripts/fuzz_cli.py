"""Generated hostile invocations of the ``tco`` CLI, run in subprocesses and classified (issue #15).

    python scripts/fuzz_cli.py [--count N] [--seed S] [-j JOBS] [--timeout S] [--json PATH] [--only CMD ...]
                               [--index I ...] [--keep]

``--count N``   how many invocations to generate and run (default 3000).
``--seed S``    the seed (default 15); invocation ``i`` of a seed is always the same (``--index i``).
``-j JOBS``     invocations run in parallel (default 2).
``--timeout S`` seconds before an invocation counts as a hang (default 60; ``calibrate run`` gets twice that).
``--json PATH`` where the details go (default ``fuzz_cli.json``).
``--only CMD``  only these commands (``"prices list"``, ``plan``, ...), repeatable.
``--keep``      keep each invocation's temporary directory (printed with each finding).

What it generates. The commands and their options are discovered from the Typer/Click app (``tco.cli.app``).
Each invocation starts from a valid base for its command (the required arguments) and sets one to four
options, each to a value drawn for the option's kind (numbers: empty, NaN, inf, huge, negative, unicode
digits; names: empty, unknown, unicode, Rich markup, spreadsheet formulas, control characters; lists:
empty items, duplicates; scenario files: broken, empty, binary, deeply nested, non-finite numbers, hostile
workload names; stores: corrupted or foreign SQLite files, a home that is a file; outputs: new and existing
files, symbolic links, dangling links, FIFOs with a reader, private device nodes (``mknod`` in the
invocation's own directory, when permitted: /dev is never named), a directory, a missing directory; standard
output: a pipe, ``/dev/full`` as the subprocess's stdout, closed, or a pipe closed after one byte).

Every generated value carries an explicit tag, decided by the generator from the option's kind (see
``values``): ``valid``, ``invalid`` (the command must fail: exit status not 0) or ``unknown`` (either answer
is defensible: zero where zero may mean "all", huge finite numbers, a duplicated single-valued option, a
corrupted store the command may not read). An invocation is invalid when any of its parts is invalid.

Each invocation runs in its own temporary directory (its cwd, its ``TCO_HOME``, ``HOME``), with proxies set
to a dead local port so that nothing reaches the network, and the checks are:

- ``traceback``: a Python traceback on stderr, or the error boundary's ``unexpected <Exception>`` catch-all,
  or an exit status outside 0, 1, 2, 130, 141 (a crash or a signal);
- ``exit0-invalid``: exit status 0 although a part of the invocation was tagged invalid;
- ``lost-file``: on failure, an existing output file (or a link's target) changed, or a new output file was
  left; at any time, an output link, FIFO or device replaced by a regular file, a temporary file left
  beside an output, or an input file changed;
- ``injection``: a CSV/JSON/XLSX cell, header or key (stdout or a written file) that a spreadsheet runs as
  a formula, a bare carriage return in CSV, a formula cell built from user text in a workbook, a raw escape
  sequence or carriage return on stdout or stderr, or Rich markup in user text interpreted (its marker
  printed without its brackets);
- ``stdout``: exit status 0 although standard output was full or closed and the command had data for it;
- ``hang``: the invocation ran past the timeout.

The summary table gives, per category, the findings and the distinct ones (by a signature: the exception
and its innermost tco frame, or the command and the option), and the JSON file every finding with its
argv, tags, setup and stderr tail. Exit status: 0 when nothing was found, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import random
import re
import select
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VALID, INVALID, UNKNOWN = "valid", "invalid", "unknown"

# --- hostile text -------------------------------------------------------------------------------------------
#: A formula marker (ZQX) and a markup marker (MKQ): each appears only inside its hostile construct, so that
#: seeing the marker without its construct means the construct was interpreted.
FORMULA = '=HYPERLINK("http://x.test","ZQX")'
MARKUP = "[b]MKQ[/b]"
BAD_MARKUP = "[/]MKQ"
CR_FORMULA = "ok\r=1+1 ZQX"
ESCAPE = "\x1b[31mESC\x1b[0m"
HOSTILE_TEXTS = [
    FORMULA,
    MARKUP,
    BAD_MARKUP,
    "[red]MKQ[/red]",
    "+1+1",
    "-1+1",
    "@SUM(1)",
    "\tx",
    CR_FORMULA,
    ESCAPE,
    "a\nb",
    "\u202eevil",
    "日本語",
    "🚀",
    "é" * 3,
    "x" * 5000,
]


@dataclass(frozen=True)
class Value:
    text: str
    tag: str
    why: str = ""


def v(text: str, tag: str, why: str = "") -> Value:
    return Value(text, tag, why)


def _common_bad() -> list[Value]:
    return [v("", INVALID, "empty"), v("   ", INVALID, "blank"), v(",", INVALID, "empty list item")]


def _names(valid: list[str], extra: list[Value] | None = None) -> list[Value]:
    """A name option: known names are valid; empty, unknown, markup, formula, control text invalid."""
    out = [v(x, VALID) for x in valid]
    out += _common_bad()
    out += [v("nope", INVALID, "unknown name"), v("nan", INVALID, "unknown name")]
    out += [v(t, INVALID, "unknown name (hostile text)") for t in HOSTILE_TEXTS]
    out += [
        v(f"{valid[0]},{valid[0]}", UNKNOWN, "duplicate in list"),
        v(f"{valid[0]},", UNKNOWN, "trailing comma"),
    ]
    return out + (extra or [])


def _float(valid: list[str], *, fraction: bool = False, zero: str = UNKNOWN) -> list[Value]:
    out = [v(x, VALID) for x in valid]
    out += _common_bad()
    out += [
        v("nan", INVALID, "NaN"),
        v("NaN", INVALID, "NaN"),
        v("inf", INVALID, "infinite"),
        v("-inf", INVALID, "infinite"),
        v("1e400", INVALID, "overflows to inf"),
        v("-1", INVALID, "negative"),
        v("abc", INVALID, "not a number"),
        v("1,5", INVALID, "not a number"),
        v("0", zero, "zero"),
        v("1e308", INVALID if fraction else UNKNOWN, "huge"),
        v("１２", UNKNOWN, "unicode digits"),
        v("1_000", UNKNOWN, "underscore digits"),
    ]
    if fraction:
        out += [v("1.5", INVALID, "fraction above 1")]
    return out


def _int(valid: list[str], *, zero: str = UNKNOWN, minimum: int = 0) -> list[Value]:
    out = [v(x, VALID) for x in valid]
    out += _common_bad()
    out += [
        v("nan", INVALID, "NaN"),
        v("inf", INVALID, "infinite"),
        v("1.5", INVALID, "not an integer"),
        v("-1", INVALID, "negative"),
        v("abc", INVALID, "not a number"),
        v("0", zero if minimum <= 0 else INVALID, "zero"),
        v("99999999999999999999", UNKNOWN, "huge"),
    ]
    return out


def _quantity() -> list[Value]:
    out = [v(x, VALID) for x in ("7e9", "7B", "100k", "2T", "1.5M")]
    out += _common_bad()
    out += [
        v("nan", INVALID, "NaN"),
        v("inf", INVALID, "infinite"),
        v("-5", INVALID, "negative"),
        v("abc", INVALID, "not a number"),
        v("1e400", INVALID, "overflows to inf"),
        v("7X", INVALID, "unknown suffix"),
        v("0", UNKNOWN, "zero"),
        v("1e308", UNKNOWN, "huge"),
    ]
    return out


def _list_of_numbers(valid: list[str]) -> list[Value]:
    out = [v(x, VALID) for x in valid]
    out += _common_bad()
    out += [
        v("nan", INVALID, "NaN"),
        v("inf", INVALID, "infinite"),
        v("-8", INVALID, "negative"),
        v("8,,x", INVALID, "not a number"),
        v("8,abc", INVALID, "not a number"),
        v("0", INVALID, "zero"),
        v("8,8", UNKNOWN, "duplicate in list"),
        v("1e308", UNKNOWN, "huge"),
    ]
    return out


def _setting(valid: list[str], name: str) -> list[Value]:
    out = [v(x, VALID) for x in valid]
    out += _common_bad()
    out += [
        v("=", INVALID, "no name"),
        v(name, INVALID, "no value"),
        v(f"{name}=nan", INVALID, "NaN"),
        v(f"{name}=inf", INVALID, "infinite"),
        v(f"{name}=-1", INVALID, "negative"),
        v(f"{name}=", INVALID, "empty value"),
        v("nope=1", INVALID, "unknown name"),
        v(f"{MARKUP}=1", INVALID, "unknown name (markup)"),
        v(f"{FORMULA}=1", INVALID, "unknown name (formula)"),
    ]
    return out


def _endpoint() -> list[Value]:
    return [
        v("http://127.0.0.1:9/", UNKNOWN, "dead local endpoint"),
        *_common_bad(),
        v("ftp://127.0.0.1/", INVALID, "not http(s)"),
        v("not a url", INVALID, "not a URL"),
        v("http://[::1", INVALID, "broken URL"),
        v("http://127.0.0.1:99999/", INVALID, "bad port"),
        v(FORMULA, INVALID, "not a URL"),
    ]


#: Option kinds by long name; ``(command, name)`` entries win over plain names.
KINDS: dict[Any, str] = {
    "--provider": "provider",
    "--region": "region",
    "--accelerator": "accelerator",
    "--min-count": "float",
    "--pricing-model": "pricing_model",
    "--limit": "int0",
    "--max-age-days": "float",
    "--seller": "seller",
    "--format": "format",
    "--output": "output",
    "--endpoint": "endpoint",
    "--timeout": "float_pos",
    "--max-attempts": "attempts",
    "--backoff": "float",
    "--remove": "book_id",
    "--framework": "framework",
    "--device": "device",
    "--kernels": "kernels",
    "--kernel": "kernel",
    "--profile": "profile",
    "--threads": "int0",
    "--run": "calib_run",
    ("runs export", "--run"): "track_run",
    "--from-run": "track_run",
    "--model": "model",
    "--params": "quantity",
    "--active-params": "quantity",
    "--tokens": "quantity",
    "--flops": "quantity",
    "--samples": "quantity",
    "--global-batch-tokens": "quantity",
    "--budget-usd": "quantity",
    "--epochs": "float_pos",
    "--samples-per-s": "float_pos",
    "--price-usd-per-hour": "float_pos",
    "--prompt-tokens": "float_pos",
    "--output-tokens": "float_pos",
    "--requests-per-s": "float_pos",
    "--ttft-s": "float_pos",
    "--tpot-s": "float_pos",
    "--hours-per-day": "hours",
    "--acc-hours": "float_pos",
    "--work": "float_pos",
    "--mfu": "fraction",
    "--goodput": "fraction",
    "--scaling-efficiency": "fraction",
    "--mbu": "fraction",
    "--prefill-efficiency": "fraction",
    "--layers": "int1",
    "--hidden": "int1",
    "--heads": "int1",
    "--kv-heads": "int1",
    "--head-dim": "int1",
    "--experts": "int1",
    "--experts-per-token": "int1",
    "--expert-ffn-hidden": "int1",
    "--seq-len": "int1",
    "--servers": "int1",
    "--top": "top",
    "--recompute": "recompute",
    "--dtype": "dtype",
    "--kv-dtype": "dtype",
    "--weight-dtype": "weight_dtype",
    "--count": "counts",
    "--runs-per-month": "runs_list",
    ("compare frameworks", "--runs-per-month"): "float",
    "--set": "set_estimate",
    ("compare procurement", "--set"): "set_ownership",
    "--sort": "sort",
    "--budget-per": "budget_per_run",
    ("plan", "--budget-per"): "budget_per_plan",
    "--engine": "engine",
    "--layout": "layout",
    "--plot": "plot",
    "--scenario": "scenario",
    "--assume-discount": "discount",
    "--home": "home",
    # arguments
    ("prices diff", "old"): "snapshot",
    ("prices diff", "new"): "snapshot",
    ("prices import", "file"): "book_file",
    ("calibrate export", "file"): "output",
    ("runs export", "file"): "output",
    ("calibrate import", "file"): "calib_file",
    ("runs import", "file"): "runs_file",
    ("runs show", "run_id"): "track_run",
    ("plan", "scenario"): "scenario",
}

#: Kinds whose values are files made in the invocation's directory (``@@kind:variant`` placeholders).
FILE_KINDS = {"output", "plot", "scenario", "book_file", "calib_file", "runs_file", "home"}
OUTPUT_TARGETS = {
    "new": VALID,
    "existing": VALID,
    "symlink": VALID,
    "dangling": VALID,
    "fifo": VALID,
    "device-null": VALID,
    "device-full": INVALID,
    "stdout-link": VALID,
    "directory": INVALID,
    "missing-dir": INVALID,
    "odd-name": VALID,
}
SCENARIOS = {
    "llm_team": VALID,
    "vision": VALID,
    "hostile-names": VALID,
    "duplicate-names": INVALID,
    "nan": INVALID,
    "inf": INVALID,
    "negative": INVALID,
    "huge": UNKNOWN,
    "zero-runs": UNKNOWN,
    "wrong-type": INVALID,
    "empty": INVALID,
    "binary": INVALID,
    "not-toml": INVALID,
    "deep": INVALID,
    "no-workloads": INVALID,
    "directory": INVALID,
    "missing": INVALID,
}
IMPORTS = {
    "good": VALID,
    "empty": INVALID,
    "garbage": INVALID,
    "deep": INVALID,
    "huge-number": INVALID,
    "not-utf8": INVALID,
    "wrong-format": INVALID,
    "directory": INVALID,
    "missing": INVALID,
}
BOOKS = {"good": VALID, "hostile": VALID, "empty": INVALID, "garbage": INVALID, "not-utf8": INVALID}
HOMES = {
    "populated": VALID,
    "fresh": VALID,
    "corrupt-prices": UNKNOWN,
    "corrupt-calibration": UNKNOWN,
    "corrupt-runs": UNKNOWN,
    "truncated-prices": UNKNOWN,
    "foreign-prices": UNKNOWN,
    "home-is-file": INVALID,
}


def values(kind: str, command: str) -> list[Value]:
    """Every value the generator may give an option of ``kind``, each tagged (the explicit rules)."""
    table: dict[str, Callable[[], list[Value]]] = {
        "provider": lambda: _names(["aws", "gcp", "azure", "lambda"]),
        "region": lambda: _names(["us-east-1", "us-central1"]),
        "accelerator": lambda: _names(["h100", "H100-80GB", "a100-80", "l4"]),
        "pricing_model": lambda: _names(["on_demand", "spot"]),
        "seller": lambda: _names(["hyperscaler", "gpu-cloud", "marketplace"]),
        "framework": lambda: _names(["torch", "all"] if command != "calibrate run" else ["torch"]),
        "kernels": lambda: _names(["matmul"]),
        "kernel": lambda: _names(["train_transformer"]),
        "profile": lambda: _names(["tiny"]),
        "device": lambda: _names(["cpu"]),
        "model": lambda: _names(["llama-2-7b"]),
        "recompute": lambda: _names(["none", "selective", "full"]),
        "dtype": lambda: _names(["bf16", "fp16"]),
        "weight_dtype": lambda: _names(["bf16", "int8"]),
        "sort": lambda: _names(["count", "cost", "time"]),
        "budget_per_run": lambda: _names(["run", "month"]),
        "budget_per_plan": lambda: _names(["month", "horizon"]),
        "engine": lambda: _names(["vllm", "auto"]),
        "layout": lambda: _names(["aggregated", "all"]),
        "book_id": lambda: _names(["all"]),
        "snapshot": lambda: _names(["embedded"]),
        "calib_run": lambda: _names(["fz1"]),
        "track_run": lambda: _names(["fzrun"]),
        "float": lambda: _float(["1", "0.5", "2.5"]),
        "float_pos": lambda: _float(["1", "0.5", "1e3"], zero=INVALID),
        "fraction": lambda: _float(["0.5", "0.9", "1"], fraction=True, zero=INVALID),
        "hours": lambda: [*_float(["24", "8"], zero=INVALID), v("25", INVALID, "more than 24 hours a day")],
        "int0": lambda: _int(["1", "5"]),
        "int1": lambda: _int(["2", "8", "32"], minimum=1),
        "attempts": lambda: _int(["1", "2"], minimum=1),
        "top": lambda: _int(["1", "3"]),
        "quantity": _quantity,
        "counts": lambda: _list_of_numbers(["8", "8,64", "1,2"]),
        "runs_list": lambda: _list_of_numbers(["1", "1,2", "0.5"]),
        "set_estimate": lambda: _setting(["goodput=0.9", "dp_overlap=0.5"], "goodput"),
        "set_ownership": lambda: _setting(["pue=1.4", "utilisation=0.8"], "pue"),
        "discount": lambda: _setting(["committed_1y=0.3"], "committed_1y"),
        "endpoint": _endpoint,
        "format": lambda: [
            *(v(f, VALID) for f in ("table", "csv", "json", "xlsx")),
            *(v("", INVALID, "empty"), v("CSV", UNKNOWN, "case"), v("xml", INVALID, "unknown format")),
        ],
        "output": lambda: [v(f"@@output:{t}", tag, t) for t, tag in OUTPUT_TARGETS.items()],
        "plot": lambda: (
            [v(f"@@plot:{t}", tag, t) for t, tag in OUTPUT_TARGETS.items()]
            + [v("@@plot:wrong-suffix", INVALID, "not an image suffix")]
        ),
        "scenario": lambda: [v(f"@@scenario:{s}", tag, s) for s, tag in SCENARIOS.items()],
        "calib_file": lambda: [v(f"@@calib_file:{s}", tag, s) for s, tag in IMPORTS.items()],
        "runs_file": lambda: [v(f"@@runs_file:{s}", tag, s) for s, tag in IMPORTS.items()],
        "book_file": lambda: [v(f"@@book_file:{s}", tag, s) for s, tag in BOOKS.items()],
        "home": lambda: [
            v("@@home:dir", VALID, "a directory"),
            v("", INVALID, "empty"),
            v("@@home:file", INVALID, "a file"),
            v("@@home:missing-parent", UNKNOWN, "created on demand"),
        ],
    }
    return table[kind]()


# --- the app's commands -------------------------------------------------------------------------------------


@dataclass
class Param:
    name: str  # the long option, or the argument's name
    kind: str
    is_argument: bool = False
    is_flag: bool = False
    multiple: bool = False
    secondary: str | None = None


@dataclass
class Command:
    path: list[str]
    params: list[Param]

    @property
    def name(self) -> str:
        return " ".join(self.path)


def discover() -> tuple[list[Command], list[Param]]:
    """Every leaf command of the app with its options (and the root's global options)."""
    sys.path.insert(0, str(ROOT))
    import typer.main
    from typer import _click as click

    from tco.cli.app import app

    root = typer.main.get_command(app)
    ctx = click.Context(root)
    found: list[Command] = []

    def params_of(cmd: Any, name: str) -> list[Param]:
        out = []
        for p in cmd.params:
            if p.name in ("version", "install_completion", "show_completion", "help"):
                continue
            is_argument = p.param_type_name == "argument"
            long = p.name if is_argument else next((o for o in p.opts if o.startswith("--")), p.opts[0])
            kind = KINDS.get((name, long)) or KINDS.get(long)
            if getattr(p, "is_flag", False):
                kind = "flag"
            if kind is None:
                raise SystemExit(f"fuzz_cli: no value kind for {name} {long}: add it to KINDS")
            out.append(
                Param(
                    long,
                    kind,
                    is_argument=is_argument,
                    is_flag=bool(getattr(p, "is_flag", False)),
                    multiple=bool(getattr(p, "multiple", False)),
                    secondary=(p.secondary_opts or [None])[0] if not is_argument else None,
                )
            )
        return out

    def walk(cmd: Any, path: list[str]) -> None:
        if hasattr(cmd, "list_commands"):
            for sub in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, sub), [*path, sub])
        else:
            found.append(Command(path, params_of(cmd, " ".join(path))))

    walk(root, [])
    return found, params_of(root, "")


#: A valid base per command (its required arguments, and a small, local, fast job).
BASES: dict[str, list[tuple[str, str]]] = {
    "prices list": [("--accelerator", "h100")],
    "prices pull": [
        ("--provider", "aws"),
        ("--endpoint", "http://127.0.0.1:9/"),
        ("--max-attempts", "1"),
        ("--timeout", "2"),
    ],
    "prices import": [("file", "@@book_file:good")],
    "calibrate run": [
        ("--profile", "tiny"),
        ("--device", "cpu"),
        ("--kernels", "matmul"),
        ("--framework", "torch"),
    ],
    "calibrate export": [("file", "@@output:new")],
    "calibrate import": [("file", "@@calib_file:good")],
    "estimate train": [("--model", "llama-2-7b"), ("--accelerator", "h100"), ("--provider", "aws")],
    "estimate serve": [("--model", "llama-2-7b"), ("--accelerator", "l4"), ("--provider", "aws")],
    "plan": [("scenario", "@@scenario:llm_team")],
    "compare procurement": [("--acc-hours", "10000")],
    "compare frameworks": [("--accelerator", "H100-80GB"), ("--work", "1e9")],
    "runs show": [("run_id", "fzrun")],
    "runs export": [("file", "@@output:new")],
    "runs import": [("file", "@@runs_file:good")],
}
#: Commands that write their data to stdout unless given an output file.
QUIET_COMMANDS = {"calibrate export", "calibrate import", "runs export", "runs import", "prices pull"}
#: Notes of a command that had no data for stdout (so exit 0 with stdout full or closed is right).
NOTHING_TO_SHOW = ("no tracked runs in",)
#: Commands that read no store: a broken home does not concern them.
HOME_FREE = {"estimate models", "estimate assumptions"}
#: Exports whose file argument is a portable document for `import` (kept exact: not checked for formulas).
PORTABLE_EXPORTS = {"calibrate export", "runs export"}
#: Relative weights (a calibration run takes seconds; every other command is cheap).
WEIGHTS = {"calibrate run": 0.15}


@dataclass
class Invocation:
    index: int
    command: str
    argv: list[str]
    parts: list[dict[str, str]]
    home: str
    stdout_mode: str
    tag: str
    timeout_s: float

    def invalid_parts(self) -> list[str]:
        return [f"{p['option']}={p['value']!r} ({p['why']})" for p in self.parts if p["tag"] == INVALID]


def generate(
    index: int, seed: int, commands: list[Command], root_params: list[Param], timeout: float
) -> Invocation:
    """Invocation ``index`` of ``seed`` (deterministic)."""
    rng = random.Random(f"{seed}:{index}")
    weights = [WEIGHTS.get(c.name, 1.0) for c in commands]
    command = rng.choices(commands, weights)[0]
    by_name = {p.name: p for p in command.params}
    chosen: dict[str, list[Value]] = {}
    parts: list[dict[str, str]] = []

    for name, text in BASES.get(command.name, []):
        chosen[name] = [Value(text, VALID, "base")]
    optional = [p for p in command.params if not p.is_argument or p.name not in chosen]
    roots = [
        p for p in root_params if p.name in ("--home", "--format", "--output", "--debug", "--price-book")
    ]
    for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
        pool = optional + roots if rng.random() < 0.85 else roots
        if not pool:
            break
        param = rng.choice(pool)
        if param.is_flag:
            value = Value("", VALID, "flag")
        else:
            catalog = values(param.kind, command.name)
            good = [x for x in catalog if x.tag == VALID]
            value = rng.choice(good) if good and rng.random() < 0.5 else rng.choice(catalog)
        key = ("root " if param in roots else "") + param.name
        if key in chosen and not param.is_argument and rng.random() < 0.5:
            dup = param.multiple or param.is_flag
            if not dup:  # click keeps the last value of a single-valued option: the earlier ones do not count
                chosen[key] = [Value(x.text, UNKNOWN, "overridden by a later value") for x in chosen[key]]
            chosen[key].append(Value(value.text, value.tag, value.why + " (duplicated option)"))
        else:
            chosen[key] = [value]

    home = rng.choices(list(HOMES), [6, 2, 1, 1, 1, 1, 1, 1])[0]
    argv: list[str] = []
    root_argv: list[str] = []
    positional: list[str] = []
    for key, picked in chosen.items():
        is_root = key.startswith("root ")
        name = key.removeprefix("root ")
        param = next((p for p in root_params if p.name == name), None) if is_root else by_name.get(name)
        if param is None:  # a base entry for an argument the app spells differently
            continue
        for value in picked:
            parts.append({"option": key, "value": value.text, "tag": value.tag, "why": value.why})
            target = root_argv if is_root else argv
            if param.is_argument:
                positional.append(value.text)
            elif param.is_flag:
                flag = param.secondary if param.secondary and rng.random() < 0.5 else param.name
                target.append(flag)
            else:
                target.append(f"{param.name}={value.text}")
    # an argument a prices diff would take
    stdout_mode = "pipe"
    has_output = any(p["option"].endswith("--output") for p in parts) or any(
        p["value"].startswith("@@output:") for p in parts
    )
    if command.name not in QUIET_COMMANDS and not has_output:
        stdout_mode = rng.choices(["pipe", "full", "closed", "broken"], [10, 1, 1, 1])[0]
    home_tag = HOMES[home]
    if HOMES[home] == INVALID and (command.name in HOME_FREE or "root --home" in chosen):
        home_tag = UNKNOWN  # a home the command does not read, or one --home replaces
    parts.append({"option": "home", "value": home, "tag": home_tag, "why": "home state"})
    fmt = next((p["value"] for p in reversed(parts) if p["option"].endswith("--format")), None)
    if command.name in QUIET_COMMANDS:  # they write no data: the global --format and --output do not apply
        for p in parts:
            if p["option"] in ("root --format", "root --output") and p["tag"] == INVALID:
                p["tag"], p["why"] = UNKNOWN, p["why"] + " (not used by this command)"
    elif fmt == "xlsx" and not has_output:
        parts.append({"option": "--format", "value": "xlsx", "tag": INVALID, "why": "xlsx without --output"})
    names = {p["option"].removeprefix("root ") for p in parts}
    if {"--quick", "--full"} <= names:
        parts.append({"option": "--quick --full", "value": "", "tag": INVALID, "why": "both"})
    tags = {p["tag"] for p in parts}
    tag = INVALID if INVALID in tags else UNKNOWN if UNKNOWN in tags else VALID
    full_argv = (
        [*root_argv, *command.path, *argv, "--", *positional]
        if positional
        else [*root_argv, *command.path, *argv]
    )
    slow = 2.0 if command.name == "calibrate run" else 1.0
    return Invocation(index, command.name, full_argv, parts, home, stdout_mode, tag, timeout * slow)


# --- fixtures: homes, scenarios, import files ---------------------------------------------------------------

TOML_STRING = json.dumps


def _scenario(variant: str) -> bytes | None:
    base = (ROOT / "examples" / "llm_team.toml").read_text()
    text: str | None
    if variant == "llm_team":
        text = base
    elif variant == "vision":
        text = (ROOT / "examples" / "vision_startup.toml").read_text()
    elif variant == "hostile-names":
        text = (
            base.replace('"7B pretrain"', TOML_STRING(FORMULA, ensure_ascii=False))
            .replace('"fine-tunes"', TOML_STRING(MARKUP + CR_FORMULA, ensure_ascii=False))
            .replace('"chat endpoint"', TOML_STRING("@SUM(1)" + ESCAPE + BAD_MARKUP, ensure_ascii=False))
            .replace(
                '"LLM team, next 12 months"', TOML_STRING("[red]MKQ[/red] " + FORMULA, ensure_ascii=False)
            )
        )
    elif variant == "duplicate-names":
        text = base.replace('"fine-tunes"', '"7B pretrain"')
    elif variant == "nan":
        text = base.replace("tokens = 2e11", "tokens = nan")
    elif variant == "inf":
        text = base.replace("requests_per_s = 20", "requests_per_s = inf")
    elif variant == "negative":
        text = base.replace("runs_per_month = 6", "runs_per_month = -6")
    elif variant == "huge":
        text = base.replace("storage_tb = 40", "storage_tb = 1e300")
    elif variant == "zero-runs":
        text = base.replace("runs_per_month = 6", "runs_per_month = 0")
    elif variant == "wrong-type":
        text = base.replace("horizon_months = 12", 'horizon_months = "twelve"')
    elif variant == "empty":
        text = ""
    elif variant == "binary":
        return bytes(range(256)) * 4
    elif variant == "not-toml":
        text = "[scenario\nname = \n"
    elif variant == "deep":
        text = "[scenario]\nname = " + "[" * 5000 + "]" * 5000 + "\n"
    elif variant == "no-workloads":
        text = '[scenario]\nname = "x"\nhorizon_months = 3\n'
    else:
        return None
    return text.encode("utf-8")


def _bad_json(variant: str, good: bytes) -> bytes | None:
    return {
        "good": good,
        "empty": b"",
        "garbage": b"\x00\x01garbage{",
        "deep": b"[" * 100_000 + b"]" * 100_000,
        "huge-number": good.replace(b'"rows": [', b'"rows": [1e999999, ', 1).replace(
            b'"runs": [', b'"runs": [1' + b"0" * 5000 + b", ", 1
        ),
        "not-utf8": b'{"format": "\xff\xfe"}',
        "wrong-format": b'{"format": "something-else", "version": 1}',
    }.get(variant)


class Fixtures:
    """Template homes and files, built once (through the library, in this process) and copied per run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.devices = self._can_mknod()
        self.homes: dict[str, Path] = {}
        self.calibration_export = b""
        self.runs_export = b""
        self.book = (ROOT / "examples" / "price_book.csv").read_bytes()
        self.hostile_book = self._hostile_book()

    def _can_mknod(self) -> bool:
        probe = self.root / "probe-device"
        try:
            os.mknod(probe, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        except (OSError, AttributeError):
            return False
        probe.unlink()
        return True

    @staticmethod
    def _hostile_book() -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                "kind", "provider", "instance_type", "region", "pricing_model", "price_usd_per_hour",
                "price_usd_per_accelerator_hour", "discount_pct", "term_months", "note",
            ]
        )  # fmt: skip
        writer.writerow(["discount", "aws", "*", "*", "on_demand", "", "", "12", "", MARKUP + " " + FORMULA])
        writer.writerow(
            [
                "price",
                "aws",
                "p5.48xlarge",
                "us-east-1",
                "on_demand",
                "38.50",
                "",
                "",
                "",
                "@SUM(1) " + ESCAPE,
            ]
        )
        return out.getvalue().encode("utf-8")

    def build(self) -> None:
        sys.path.insert(0, str(ROOT))
        populated = self.root / "home-populated"
        populated.mkdir()
        env_home = os.environ.get("TCO_HOME")
        os.environ["TCO_HOME"] = str(populated)
        try:
            self._calibration(populated)
            self._runs(populated)
            self._prices(populated)
        finally:
            if env_home is None:
                os.environ.pop("TCO_HOME", None)
            else:
                os.environ["TCO_HOME"] = env_home
        self.homes["populated"] = populated
        for name, damage in (
            ("corrupt-prices", ("prices.sqlite", "garbage")),
            ("corrupt-calibration", ("calibration.sqlite", "garbage")),
            ("corrupt-runs", ("runs.sqlite", "garbage")),
            ("truncated-prices", ("prices.sqlite", "truncate")),
            ("foreign-prices", ("prices.sqlite", "foreign")),
        ):
            home = self.root / f"home-{name}"
            shutil.copytree(populated, home)
            target = home / damage[0]
            for extra in home.glob(damage[0] + "-*"):
                extra.unlink()
            if damage[1] == "garbage":
                target.write_bytes(b"not a database\x00" * 300)
            elif damage[1] == "truncate":
                data = target.read_bytes() if target.exists() else b"SQLite format 3\x00" * 64
                target.write_bytes(data[: max(len(data) // 3, 100)])
            else:
                target.unlink(missing_ok=True)
                with contextlib.closing(sqlite3.connect(target)) as db:
                    db.execute("CREATE TABLE other (x INTEGER)")
                    db.commit()
            self.homes[name] = home

    def _calibration(self, home: Path) -> None:
        from calibrate.schema import COLUMNS
        from calibrate.store import ResultStore

        store = ResultStore(home / ResultStore.DEFAULT_FILENAME)
        rows = []
        for i, (framework, version) in enumerate(
            (("torch", MARKUP), ("jax", FORMULA), ("tensorflow", CR_FORMULA))
        ):
            row: dict[str, Any] = dict.fromkeys(COLUMNS)
            row.update(
                result_id=f"fz-{i}",
                run_id="fz1",
                framework=framework,
                framework_version=version,
                device_kind="gpu",
                device_name="NVIDIA H100 " + ESCAPE,
                accelerator="H100-80GB",
                device_count=1.0,
                kernel="train_transformer",
                variant="compiled",
                dtype="bf16",
                shape=BAD_MARKUP,
                metric="throughput",
                median_s=0.1,
                throughput=1000.0 + i,
                throughput_unit="tokens_per_s",
                host=FORMULA,
                measured_at="2026-01-01T00:00:00Z",
                tool_version="0",
                profile="tiny",
                status="ok" if i < 2 else "failed",
                error=None if i < 2 else CR_FORMULA + " " + BAD_MARKUP,
            )
            rows.append(row)
        store.add_many(rows)
        out = self.root / "calibration-export.json"
        store.export_file(out)
        self.calibration_export = out.read_bytes()

    def _runs(self, home: Path) -> None:
        from tco.track import RunStore, Tracker

        tracker = Tracker(
            run_id="fzrun", name=FORMULA + " " + MARKUP + CR_FORMULA, tokens_per_step=32, usd_per_hour=10.0,
            target_steps=10,
        )  # fmt: skip
        for _ in range(3):
            with tracker.step():
                time.sleep(0.002)
        tracker.close()
        out = self.root / "runs-export.json"
        RunStore.in_home(home).export_file(out)
        self.runs_export = out.read_bytes()

    def _prices(self, home: Path) -> None:
        book = self.root / "[b]MKQ book.csv"
        book.write_bytes(self.hostile_book)
        env = {**os.environ, "TCO_HOME": str(home), "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
        done = subprocess.run(
            [sys.executable, "-m", "tco", "prices", "import", str(book), "-f", "csv"],
            env=env, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            sys.stderr.write(f"fuzz_cli: the hostile price book did not import: {done.stderr}\n")

    # --- per invocation ------------------------------------------------------------------------------------

    def home(self, state: str, tmp: Path) -> Path | None:
        home = tmp / "home"
        if state == "fresh":
            return home
        if state == "home-is-file":
            home.write_text("not a directory\n")
            return home
        shutil.copytree(self.homes[state], home)
        return home

    def input_file(self, kind: str, variant: str, cwd: Path) -> Path:
        names = {"scenario": "scenario.toml", "calib_file": "calibration.json", "runs_file": "runs.json"}
        name = names.get(kind, "book.csv")
        if variant == "hostile" and kind == "book_file":
            name = "[b]MKQ book.csv"
        path = cwd / name
        if variant == "missing":
            return path
        if variant == "directory":
            path.mkdir()
            return path
        data: bytes | None
        if kind == "scenario":
            data = _scenario(variant)
        elif kind == "calib_file":
            data = _bad_json(variant, self.calibration_export)
        elif kind == "runs_file":
            data = _bad_json(variant, self.runs_export)
        else:
            data = {
                "good": self.book,
                "hostile": self.hostile_book,
                "empty": b"",
                "garbage": b"\x00\x01,,\n\xff",
                "not-utf8": b"kind,provider\n\xff\xfe,aws\n",
            }.get(variant)
        if data is None:
            raise ValueError(f"fuzz_cli: no {kind} variant {variant}")
        path.write_bytes(data)
        return path


# --- output targets -----------------------------------------------------------------------------------------


@dataclass
class Target:
    option: str
    variant: str
    path: Path
    before: dict[str, Any]
    reader: FifoReader | None = None


class FifoReader:
    """Reads a FIFO (opened non-blocking first, so that a writer never waits and the reader never blocks)."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.data = bytearray()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.fd, 1 << 16)
                except BlockingIOError:
                    chunk = b""
                if chunk:
                    if len(self.data) < 1 << 22:
                        self.data += chunk
                    continue
            if self.stop.is_set():
                return
            if not ready:
                continue
            time.sleep(0.02)  # EOF with no writer yet: poll

    def close(self) -> bytes:
        self.stop.set()
        self.thread.join(timeout=5)
        os.close(self.fd)
        return bytes(self.data)


EXISTING = b"precious: must survive a failed command\n"


def describe(path: Path) -> dict[str, Any]:
    """What is at ``path`` now (without following a final link)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return {"type": "absent"}
    if stat.S_ISLNK(info.st_mode):
        to = os.readlink(path)
        # a link to /proc/self/fd/1 is the writer's stdout: following it here would read this process's own
        return {
            "type": "link",
            "to": to,
            "target": None if to.startswith("/proc/") else describe_target(path),
        }
    if stat.S_ISFIFO(info.st_mode):
        return {"type": "fifo"}
    if stat.S_ISCHR(info.st_mode):
        return {"type": "chr", "rdev": info.st_rdev}
    if stat.S_ISDIR(info.st_mode):
        return {"type": "dir"}
    return {"type": "file", "data": path.read_bytes()[: 1 << 22], "mode": stat.S_IMODE(info.st_mode)}


def describe_target(path: Path) -> dict[str, Any]:
    try:
        return {"type": "file", "data": path.read_bytes()[: 1 << 22]}
    except FileNotFoundError:
        return {"type": "absent"}
    except OSError as exc:
        return {"type": "unreadable", "errno": exc.errno}


def make_target(option: str, variant: str, cwd: Path, devices: bool, suffix: str) -> Target | None:
    """An output target of ``variant`` in ``cwd`` (None: this variant cannot be made here)."""
    name = f"out-{option.strip('-')}{suffix}"
    path = cwd / name
    reader = None
    if variant == "existing":
        path.write_bytes(EXISTING)
    elif variant == "symlink":
        real = cwd / f"real-{name}"
        real.write_bytes(EXISTING)
        path.symlink_to(real.name)
    elif variant == "dangling":
        path.symlink_to(f"elsewhere-{name}")
    elif variant == "fifo":
        os.mkfifo(path)
        reader = FifoReader(path)
    elif variant in ("device-null", "device-full"):
        if not devices:
            return None
        minor = 3 if variant == "device-null" else 7
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    elif variant == "stdout-link":
        path.symlink_to("/proc/self/fd/1")
    elif variant == "directory":
        path.mkdir()
    elif variant == "missing-dir":
        path = cwd / "no-such-dir" / name
    elif variant == "odd-name":
        path = cwd / f"[b]MKQ =x\rodd-{option.strip('-')}{suffix}"
    elif variant == "wrong-suffix":
        path = cwd / "plot.txt"
    before = describe(path)
    return Target(option, variant, path, before, reader)


# --- running and checking -----------------------------------------------------------------------------------


@dataclass
class Finding:
    category: str
    signature: str
    detail: str


@dataclass
class Outcome:
    index: int
    command: str
    argv: list[str]
    tag: str
    parts: list[dict[str, str]]
    stdout_mode: str
    rc: int | None
    seconds: float
    stderr_tail: str
    findings: list[Finding] = field(default_factory=list)
    workdir: str = ""


SUFFIX = {"csv": ".csv", "json": ".json", "xlsx": ".xlsx", "table": ".txt"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TRACEBACK = "Traceback (most recent call last)"
UNEXPECTED = re.compile(r"error: unexpected (\w+)")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_csv(data: bytes) -> list[str]:
    problems = []
    if b"\r" in data:
        problems.append("bare carriage return in CSV")
    text = data.decode("utf-8", "replace")
    for i, row in enumerate(csv.reader(io.StringIO(text, newline=""))):
        for cell in row:
            if cell.startswith(FORMULA_START) and not _is_number(cell):
                problems.append(f"CSV {'header' if i == 0 else 'cell'} starts a formula: {cell[:40]!r}")
                break
    return problems


def check_json(data: bytes) -> list[str]:
    try:
        document = json.loads(data)
    except ValueError:
        return []
    problems: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.startswith(FORMULA_START):
                    problems.append(f"JSON key starts a formula: {key[:40]!r}")
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str) and node.startswith(FORMULA_START) and not _is_number(node):
            problems.append(f"JSON string starts a formula: {node[:40]!r}")

    walk(document)
    return problems[:3]


def check_xlsx(data: bytes) -> list[str]:
    try:
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(data))
    except Exception as exc:  # a damaged workbook is itself a finding for a successful command
        return [f"unreadable workbook ({type(exc).__name__})"]
    problems = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if not isinstance(value, str):
                    continue
                if cell.data_type == "f" and any(m in value for m in ("ZQX", "MKQ", "SUM(1)", "1+1")):
                    problems.append(
                        f"formula cell from user text {sheet.title}!{cell.coordinate}: {value[:40]!r}"
                    )
                elif cell.data_type != "f" and value.startswith(FORMULA_START):
                    problems.append(
                        f"text cell starts a formula {sheet.title}!{cell.coordinate}: {value[:40]!r}"
                    )
    return problems[:3]


def check_terminal(text: str, where: str) -> list[str]:
    problems = []
    if "\x1b" in text or "\x9b" in text:
        problems.append(f"raw escape sequence on {where}")
    if re.search(r"\r(?!\n)", text):
        problems.append(f"bare carriage return on {where}")
    for match in re.finditer("MKQ", text):
        before = text[max(0, match.start() - 1) : match.start()]
        if before != "]":
            problems.append(f"markup interpreted on {where}")
            break
    return problems


def check_data(data: bytes, fmt: str, where: str) -> list[str]:
    if not data:
        return []
    if data.startswith(b"PK"):
        return check_xlsx(data)
    if data.startswith((b"\x89PNG", b"%PDF", b"<?xml", b"\xff\xd8")):  # a picture (--plot)
        return []
    if fmt == "json" or data[:1] in (b"[", b"{"):
        return [*check_json(data), *check_terminal(data.decode("utf-8", "replace"), where)]
    if fmt == "csv":
        return [*check_csv(data), *check_terminal(data.decode("utf-8", "replace").replace("\r", ""), where)]
    return check_terminal(data.decode("utf-8", "replace"), where)


def _exception_line(stderr: str) -> str:
    """The exception line of the last traceback on stderr (``module.Error: message``)."""
    tail = stderr.rsplit(TRACEBACK, 1)[-1]
    lines = [ln for ln in tail.splitlines()[1:] if ln.strip()]
    return next((ln for ln in lines if not ln.startswith(" ") and not ln.startswith("^")), "?")


def _signature_of_traceback(stderr: str) -> str:
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\w+)', stderr)
    ours = [f for f in frames if "/tco/" in f[0] or "/pricing/" in f[0] or "/calibrate/" in f[0]]
    where = ours[-1] if ours else (frames[-1] if frames else ("?", "?", "?"))
    exc = _exception_line(stderr).split(":", 1)[0]
    short = where[0].split(str(ROOT) + "/")[-1]
    return f"{exc} at {short}:{where[1]} ({where[2]})"


class Runner:
    def __init__(self, fixtures: Fixtures, workroot: Path, keep: bool) -> None:
        self.fixtures = fixtures
        self.workroot = workroot
        self.keep = keep

    def env(self, home: Path | None, tmp: Path) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT),
            "HOME": str(tmp),
            "NO_COLOR": "1",
            "COLUMNS": "220",
            "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MPLCONFIGDIR": str(tmp / "mpl"),
            "HTTP_PROXY": "http://127.0.0.1:9",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "http_proxy": "http://127.0.0.1:9",
            "https_proxy": "http://127.0.0.1:9",
            "NO_PROXY": "",
            "TCO_AWS_PRICING_ENDPOINT": "http://127.0.0.1:9/",
            "TCO_GCP_BILLING_ENDPOINT": "http://127.0.0.1:9/",
            "TCO_AZURE_PRICES_ENDPOINT": "http://127.0.0.1:9/",
            "AWS_ACCESS_KEY_ID": "fuzz",
            "AWS_SECRET_ACCESS_KEY": "fuzz",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if home is not None:
            env["TCO_HOME"] = str(home)
        return env

    def run(self, inv: Invocation) -> Outcome:
        tmp = Path(tempfile.mkdtemp(prefix=f"fz{inv.index}-", dir=self.workroot))
        cwd = tmp / "cwd"
        cwd.mkdir()
        try:
            return self._run(inv, tmp, cwd)
        except Exception as exc:  # the harness's own failure: reported, never hidden
            outcome = Outcome(
                inv.index, inv.command, inv.argv, inv.tag, inv.parts, inv.stdout_mode, None, 0.0, ""
            )
            outcome.findings = [Finding("harness", f"{type(exc).__name__}: {exc}", "")]
            return outcome
        finally:
            if not self.keep:
                shutil.rmtree(tmp, ignore_errors=True)

    def _materialise(
        self, inv: Invocation, cwd: Path, tmp: Path
    ) -> tuple[list[str], list[Target], dict[Path, bytes]]:
        fmt = next((p["value"] for p in reversed(inv.parts) if p["option"].endswith("--format")), "table")
        suffix = SUFFIX.get(fmt.lower(), ".txt")
        targets: list[Target] = []
        inputs: dict[Path, bytes] = {}
        argv = []
        for arg in inv.argv:
            prefix, eq, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
            if not value.startswith("@@"):
                argv.append(arg)
                continue
            kind, _, variant = value[2:].partition(":")
            option = prefix or kind
            if kind in ("output", "plot"):
                label = f"{option}{len(targets)}"
                target = make_target(
                    label, variant, cwd, self.fixtures.devices, ".png" if kind == "plot" else suffix
                )
                if target is None:  # no device nodes here: a new file instead
                    target = make_target(label, "new", cwd, False, suffix)
                    assert target is not None
                targets.append(target)
                path = target.path
            elif kind == "home":
                n = len(argv)
                path = tmp / (f"explicit-home{n}" if variant != "missing-parent" else f"a{n}/b/home")
                if variant == "file":
                    path.write_text("a file\n")
                elif variant == "dir":
                    path.mkdir()
            else:
                path = self.fixtures.input_file(kind, variant, cwd)
                if path.is_file():
                    inputs[path] = path.read_bytes()
            argv.append(f"{prefix}{eq}{path}" if eq else str(path))
        return argv, targets, inputs

    def _run(self, inv: Invocation, tmp: Path, cwd: Path) -> Outcome:
        home = self.fixtures.home(inv.home, tmp)
        argv, targets, inputs = self._materialise(inv, cwd, tmp)
        cmd = [sys.executable, "-m", "tco", *argv]
        stdout_data = b""
        stderr_data = b""
        rc: int | None
        start = time.monotonic()
        stdout_arg: Any = subprocess.PIPE
        full = None
        if inv.stdout_mode == "full":
            full = open("/dev/full", "wb")  # noqa: SIM115 - the subprocess's stdout (never replaced)
            stdout_arg = full
        if inv.stdout_mode == "closed":  # the shell closes fd 1 (preexec_fn is not safe in threads)
            cmd = ["/bin/sh", "-c", 'exec 1>&-; exec "$@"', "sh", *cmd]
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=self.env(home, tmp), stdin=subprocess.DEVNULL, stdout=stdout_arg,
            stderr=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        try:
            if inv.stdout_mode == "broken" and proc.stdout is not None:
                err_box: list[bytes] = []
                reader = threading.Thread(
                    target=lambda: err_box.append(proc.stderr.read() if proc.stderr else b"")
                )
                reader.start()
                stdout_data = proc.stdout.read(1)
                proc.stdout.close()
                proc.wait(timeout=inv.timeout_s)
                reader.join(timeout=5)
                stderr_data = err_box[0] if err_box else b""
            else:
                out, err = proc.communicate(timeout=inv.timeout_s)
                stdout_data, stderr_data = out or b"", err or b""
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                proc.communicate(timeout=10)
            rc = None
        finally:
            if full is not None:
                full.close()
        seconds = time.monotonic() - start
        fifo_data = {t.option: t.reader.close() for t in targets if t.reader is not None}
        stderr = stderr_data.decode("utf-8", "replace")
        outcome = Outcome(
            inv.index, inv.command, inv.argv, inv.tag, inv.parts, inv.stdout_mode, rc, round(seconds, 2),
            stderr[-2000:], workdir=str(tmp) if self.keep else "",
        )  # fmt: skip
        outcome.findings = self.classify(inv, rc, stdout_data, stderr, targets, fifo_data, inputs, cwd)
        return outcome

    def classify(
        self,
        inv: Invocation,
        rc: int | None,
        stdout: bytes,
        stderr: str,
        targets: list[Target],
        fifo_data: dict[str, bytes],
        inputs: dict[Path, bytes],
        cwd: Path,
    ) -> list[Finding]:
        found: list[Finding] = []
        cmd = inv.command

        def add(category: str, signature: str, detail: str = "") -> None:
            found.append(Finding(category, signature, detail))

        if rc is None:
            add("hang", f"{cmd}: timeout", f"after {inv.timeout_s:.0f} s")
            return found
        debug = "--debug" in inv.argv
        domain = _exception_line(stderr).startswith(("tco.", "pricing.", "calibrate."))
        if TRACEBACK in stderr and not (debug and domain):  # --debug shows a domain error's traceback
            add("traceback", _signature_of_traceback(stderr), stderr[-600:])
        elif match := UNEXPECTED.search(stderr):
            add("traceback", f"unexpected {match.group(1)} in {cmd}", stderr.strip()[-300:])
        elif rc not in (0, 1, 2, 130, 141) and not (rc == -signal.SIGPIPE and inv.stdout_mode == "broken"):
            add("traceback", f"{cmd}: exit status {rc}", stderr[-300:])
        ok = rc == 0
        nothing = any(line in stderr for line in NOTHING_TO_SHOW)
        only_outputs = all(p["option"].endswith("--output") or p["value"].startswith("@@output:")
                           for p in inv.parts if p["tag"] == INVALID)  # fmt: skip
        if ok and inv.tag == INVALID and not (nothing and only_outputs):  # nothing shown: no file written
            bad = inv.invalid_parts()
            first = next(p for p in inv.parts if p["tag"] == INVALID)
            add("exit0-invalid", f"{cmd} {first['option']} {first['why']}", "; ".join(bad))
        quiet = cmd in QUIET_COMMANDS or "error" in stderr or inv.tag == INVALID or nothing
        if ok and inv.stdout_mode in ("full", "closed") and not quiet:
            add("stdout", f"{cmd}: exit 0 with stdout {inv.stdout_mode}")
        # files
        for target in targets:
            after = describe(target.path)
            before = target.before
            kind = before["type"]
            if kind in ("link", "fifo", "chr") and after["type"] != kind:
                add("lost-file", f"{cmd} {target.option}: {target.variant} replaced by {after['type']}")
            elif kind == "link" and after.get("to") != before.get("to"):
                add("lost-file", f"{cmd} {target.option}: link re-pointed")
            if not ok:
                if kind == "file" and after != before:
                    add("lost-file", f"{cmd} {target.option}: existing file changed on failure")
                elif kind == "link" and after.get("target") != before.get("target"):
                    add("lost-file", f"{cmd} {target.option}: link target changed on failure")
                elif kind == "absent" and after["type"] == "file":
                    add("lost-file", f"{cmd} {target.option}: file written on failure")
            else:
                fmt = next((p["value"] for p in reversed(inv.parts) if p["option"].endswith("--format")), "")
                if cmd in PORTABLE_EXPORTS and not target.option.startswith("--"):
                    continue  # a portable export is read back by `import`: kept exact, not a spreadsheet
                data = fifo_data.get(target.option)
                if data is None and target.variant != "stdout-link":  # that one is checked as stdout
                    real = target.path
                    with contextlib.suppress(OSError):
                        real = target.path.resolve()
                    if real.is_file():
                        data = real.read_bytes()
                for problem in check_data(data or b"", fmt.lower(), f"{target.option} file"):
                    add("injection", f"{cmd}: {problem.split(':')[0]}", problem)
        leftovers = [p.name for p in cwd.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".out-")]
        if leftovers:
            add("lost-file", f"{cmd}: temporary file left", ", ".join(leftovers[:3]))
        for path, data in inputs.items():
            if not path.is_file() or path.read_bytes() != data:
                add("lost-file", f"{cmd}: input file changed")
        # what reached the terminal
        through_stdout = any(t.variant == "stdout-link" for t in targets)  # stdout then carries a file
        if ok and not through_stdout:
            fmt = next((p["value"] for p in reversed(inv.parts) if p["option"].endswith("--format")), "")
            for problem in check_data(stdout, fmt.lower(), "stdout"):
                add("injection", f"{cmd}: {problem.split(':')[0]}", problem)
        for problem in check_terminal(stderr, "stderr"):
            add("injection", f"{cmd}: {problem}", stderr[-300:])
        return found


# --- main ---------------------------------------------------------------------------------------------------


def summarise(outcomes: list[Outcome], elapsed: float) -> str:
    categories = ["traceback", "exit0-invalid", "lost-file", "injection", "stdout", "hang", "harness"]
    counts: Counter[str] = Counter()
    distinct: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in outcomes:
        for f in outcome.findings:
            counts[f.category] += 1
            distinct[f.category][f.signature] += 1
    tags = Counter(o.tag for o in outcomes)
    lines = [
        f"{len(outcomes)} invocations in {elapsed:.0f} s ({tags[VALID]} valid, {tags[INVALID]} invalid, "
        f"{tags[UNKNOWN]} unknown); exit 0: {sum(o.rc == 0 for o in outcomes)}",
        f"{'category':<15}{'findings':>10}{'distinct':>10}",
    ]
    lines += [f"{c:<15}{counts[c]:>10}{len(distinct[c]):>10}" for c in categories]
    for c in categories:
        for signature, n in distinct[c].most_common(12):
            lines.append(f"  {c}: {n:>4} x {signature}")
        if len(distinct[c]) > 12:
            lines.append(f"  {c}: ... {len(distinct[c]) - 12} more distinct (see the JSON file)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000, help="invocations to run (default 3000)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--json", type=Path, default=Path("fuzz_cli.json"))
    parser.add_argument("--only", action="append", default=[], help="only this command (repeatable)")
    parser.add_argument("--index", type=int, action="append", default=[], help="replay invocation I")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = parser.parse_args(argv)

    commands, root_params = discover()
    if args.only:
        commands = [c for c in commands if c.name in args.only]
        if not commands:
            parser.error(f"no command among {args.only}")
    indexes = args.index or list(range(args.count))
    invocations = [generate(i, args.seed, commands, root_params, args.timeout) for i in indexes]
    workroot = Path(tempfile.mkdtemp(prefix="tco-fuzz-"))
    fixtures = Fixtures(workroot)
    fixtures.build()
    runner = Runner(fixtures, workroot, args.keep)
    outcomes: list[Outcome] = []
    start = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(runner.run, inv) for inv in invocations]
            for n, future in enumerate(as_completed(futures), start=1):
                outcome = future.result()
                outcomes.append(outcome)
                for f in outcome.findings:
                    sys.stderr.write(
                        f"[{outcome.index}] {f.category}: {f.signature}  ::  "
                        f"{' '.join(map(repr, outcome.argv))[:300]}\n"
                    )
                if n % 100 == 0:
                    sys.stderr.write(f"... {n}/{len(invocations)} in {time.monotonic() - start:.0f} s\n")
    finally:
        if not args.keep:
            shutil.rmtree(workroot, ignore_errors=True)
    elapsed = time.monotonic() - start
    outcomes.sort(key=lambda o: o.index)
    summary = summarise(outcomes, elapsed)
    print(summary)
    report = {
        "seed": args.seed,
        "count": len(outcomes),
        "elapsed_s": round(elapsed, 1),
        "devices": fixtures.devices,
        "summary": summary.splitlines(),
        "findings": [asdict(o) for o in outcomes if o.findings],
    }
    args.json.write_text(json.dumps(report, indent=1, default=str))
    print(f"details: {args.json}")
    return 1 if any(o.findings for o in outcomes) else 0


def _iter_all(outcomes: list[Outcome]) -> Iterator[Finding]:
    for outcome in outcomes:
        yield from outcome.findings


if __name__ == "__main__":
    sys.exit(main())
