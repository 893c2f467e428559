"""Every command and option of the tco CLI, discovered from its click tree; a home seeded so that every
command has something to work on; a valid invocation of each; the kind of value each option takes and the
values wrong for each kind; and a runner that reports what an invocation did to the files it was given.

Shared by the property tests (tests/tco/test_cli_properties.py) and the option probe::

    PYTHONPATH=. python -m tests.tco.cli_tree [OUT.json]

which runs every option of every command with each bad value of its kind (and the environment variables
tco reads with bad values), one invocation each, and counts how each failed.

Nothing here reaches the internet or runs a framework: :func:`stub_work` replaces the long work of two
commands (``prices pull``'s HTTP, ``calibrate run``'s worker processes) by stubs that still check what they
are handed as the real work does first (each provider's endpoint; the calibration request).
"""

from __future__ import annotations

import os
import shutil
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer.main
from typer._click.core import Command, Context, Parameter
from typer.core import TyperArgument, TyperGroup
from typer.testing import CliRunner

from tco.cli import app

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "examples" / "llm_team.toml"
PRICE_BOOK = ROOT / "examples" / "price_book.csv"
RUN_ID = "probe-run-0001"
CALIBRATION_RUN = "probe-calibration"
#: Files every invocation finds in its output folder, and their bytes: a failing command leaves them so.
PRECIOUS = b"precious: a failing command must leave this file as it was\n"
OUTPUT_FILES = (
    "existing.csv", "existing.json", "existing.xlsx", "existing.png", "calibration-export.json",
    "runs-export.json",
)  # fmt: skip


@dataclass(frozen=True)
class Leaf:
    """One command: its words (``("estimate", "train")``) and its click command."""

    path: tuple[str, ...]
    command: Command

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def params(self) -> list[Parameter]:
        return [p for p in self.command.params if p.name != "help"]


def root_command() -> Command:
    return typer.main.get_command(app)


def leaves() -> list[Leaf]:
    """Every command of the tree (each lazy group loads its own)."""
    root = root_command()
    found: list[Leaf] = []

    def walk(command: Command, path: tuple[str, ...], ctx: Context) -> None:
        if isinstance(command, TyperGroup):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                walk(sub, (*path, name), Context(sub, parent=ctx, info_name=name))
        else:
            found.append(Leaf(path, command))

    walk(root, (), Context(root, info_name="tco"))
    return found


def root_params() -> list[Parameter]:
    """The root command's options (the shell-completion ones left out)."""
    return [p for p in root_command().params if p.name not in {"install_completion", "show_completion"}]


# --- the kind of value each option takes -----------------------------------------------------------------
#: Options given as text that are numbers > 0 (``7e9``, ``6.7B``): tco's quantity reader reads them.
QUANTITIES = frozenset(
    {"params", "active_params", "tokens", "flops", "samples", "global_batch_tokens", "budget_usd"}
)
#: Lists of numbers given as text: accelerator counts, replica sizes, runs per month.
NUMBER_LISTS = frozenset({"count", "runs_per_month"})
#: Text options that name something from a known set (an unknown name is an error with suggestions).
NAMES = frozenset(
    {
        "provider", "accelerator", "pricing_model", "seller", "framework", "kernels", "kernel", "model",
        "recompute", "dtype", "weight_dtype", "kv_dtype", "engine", "layout", "sort", "budget_per",
        "profile", "sets", "discounts",
    }
)  # fmt: skip
#: Text options that are free (ids, regions, URLs): only empty, blank and control characters are wrong.
FREE_TEXT = frozenset({"region", "endpoint", "remove", "run_id", "from_run", "old", "new"})
#: Path options and arguments.
PATHS = frozenset({"output", "plot", "scenario", "file", "home"})


def kind(param: Parameter) -> str:
    """``flag``, ``choice``, ``int``, ``float``, ``quantity``, ``numbers``, ``name``, ``text`` or ``path``:
    by what the option means where it is listed above, else by its click type (an option added later gets
    the rules of its type; :func:`unclassified` names a text option that is in no list)."""
    type_name = getattr(param.type, "name", "")
    if type_name == "boolean":
        return "flag"
    if type_name == "str" and param.name in QUANTITIES:
        return "quantity"
    if type_name == "str" and param.name in NUMBER_LISTS:
        return "numbers"
    if type_name == "str" and param.name in NAMES:
        return "name"
    if type_name == "choice":
        return "choice"
    if type_name.startswith("int"):
        return "int"
    if type_name.startswith("float"):
        return "float"
    if type_name in {"path", "file"} or param.name in PATHS:
        return "path"
    return "text"


def unclassified(param: Parameter) -> bool:
    """A text option in no list above: its meaning (a name, a number, free text) is not known here."""
    return kind(param) == "text" and param.name not in FREE_TEXT


def flag(param: Parameter) -> str | None:
    """The option's long spelling (None for an argument)."""
    if isinstance(param, TyperArgument):
        return None
    longs = [o for o in param.opts if o.startswith("--")]
    return longs[0] if longs else param.opts[0]


def multiple(param: Parameter) -> bool:
    return bool(getattr(param, "multiple", False))


# --- a valid invocation of every command, in a seeded home ----------------------------------------------
#: Arguments that make each command succeed (exit 0) in a home made by :func:`seed_home`; ``{home}`` and
#: ``{out}`` stand for the home and the output folder.
BASE: dict[str, tuple[str, ...]] = {
    "prices list": ("-a", "h100", "-p", "aws", "-n", "3"),
    "prices accelerators": (),
    "prices pull": ("-p", "aws"),
    "prices snapshots": (),
    "prices diff": ("--book", "-n", "3"),
    "prices import": ("{home}/price_book.csv",),
    "prices books": (),
    "calibrate run": ("-F", "torch", "-k", "matmul", "--quick", "-d", "cpu"),
    "calibrate show": (),
    "calibrate export": ("{out}/calibration-export.json",),
    "calibrate import": ("{home}/calibration-export.json",),
    "estimate train": ("--model", "llama-2-7b", "-a", "h100", "-n", "64", "-p", "aws", "--top", "2"),
    "estimate serve": ("--model", "llama-2-7b", "-a", "h100", "-p", "aws", "--top", "2"),
    "estimate models": (),
    "estimate assumptions": (),
    "plan": ("{home}/llm_team.toml",),
    "compare procurement": ("--acc-hours", "5000", "-a", "h100", "-p", "aws"),
    "compare frameworks": ("-a", "h100", "--work", "1e12", "-p", "aws"),
    "runs list": (),
    "runs show": (RUN_ID,),
    "runs export": ("{out}/runs-export.json",),
    "runs import": ("{home}/runs-export.json",),
}

#: A second valid invocation of some commands, broader (every accelerator, provider and count): drawn
#: sometimes instead of :data:`BASE`, whose filters would hide what only the whole catalog shows.
BROAD: dict[str, tuple[str, ...]] = {
    "estimate train": ("--model", "llama-2-7b"),
    "estimate serve": ("--model", "llama-2-7b"),
    "compare procurement": ("--acc-hours", "1000"),
    "compare frameworks": ("-a", "h100", "--work", "1e9"),
}

#: Valid values of the name options, by option name (a name given twice is taken once).
VALID_NAMES: dict[str, tuple[str, ...]] = {
    "provider": ("aws", "gcp", "azure"),
    "accelerator": ("h100", "H100-80GB", "a100-80", "l4"),
    "pricing_model": ("on_demand", "spot"),
    "seller": ("hyperscaler", "gpu-cloud"),
    "framework": ("torch", "jax", "all"),
    "kernels": ("matmul", "membw"),
    "kernel": ("train_transformer",),
    "model": ("llama-2-7b", "gpt2"),
    "recompute": ("none", "selective", "full"),
    "dtype": ("bf16", "fp16"),
    "weight_dtype": ("bf16", "int8"),
    "kv_dtype": ("bf16", "fp8"),
    "engine": ("vllm", "trtllm"),
    "layout": ("aggregated", "all"),
    "sort": ("count", "cost", "time"),
    "budget_per": ("month",),
    "profile": ("tiny", "quick"),
    "sets": ("pue=1.3", "utilisation=0.8"),
    "discounts": ("committed_1y=0.3",),
}


def seed_home(home: Path) -> None:
    """A home with a price book, a calibration run of three frameworks and a tracked run, and export files
    of both (for the import commands)."""
    from calibrate.store import ResultStore
    from tco.api import Sources
    from tco.api.prices import import_book
    from tco.track import DeviceSpec, Tracker
    from tco.track.store import RunStore

    home.mkdir(parents=True, exist_ok=True)
    for example in (PRICE_BOOK, SCENARIO):  # copies: a command may write where it is pointed
        shutil.copyfile(example, home / example.name)
    import_book(home / PRICE_BOOK.name, Sources(home=home))
    store = ResultStore.in_home(home)
    store.add_many(
        {
            "result_id": f"{CALIBRATION_RUN}-{framework}", "run_id": CALIBRATION_RUN, "framework": framework,
            "framework_version": "1.0", "device_kind": "cuda", "device_name": "NVIDIA H100 80GB HBM3",
            "accelerator": "H100-80GB", "device_count": 1, "kernel": "train_transformer", "variant": "small",
            "dtype": "bf16", "median_s": 1.0, "p10_s": 0.95, "p90_s": 1.1, "throughput": rate,
            "throughput_unit": "tokens_per_s", "utilisation": 0.5, "measured_at": "2026-01-02T03:04:05Z",
            "host": "probe", "profile": "quick", "status": "ok",
        }
        for framework, rate in (("torch", 5e4), ("jax", 4e4), ("tensorflow", 3e4))
    )  # fmt: skip
    store.export_file(home / "calibration-export.json")
    device = DeviceSpec("torch", "2.13.0", "cuda", "NVIDIA H100 80GB HBM3", 8, "bf16", "probe")
    tracker = Tracker(
        run_id=RUN_ID, name="probe", tokens_per_step=4096, params=7e9, device=device, target_tokens=1e9,
        usd_per_hour=32.0, home=home, persist=True,
    )  # fmt: skip
    for _ in range(4):
        with tracker.step():
            pass
    tracker.close()
    RunStore.in_home(home).export_file(home / "runs-export.json")


def stub_work(monkeypatch: Any) -> None:
    """``prices pull`` and ``calibrate run`` without the network or worker processes.

    The pull stub asks the client options for each provider's endpoint (which checks it, the environment
    included) and pulls nothing; the calibration stub validates the request as the runner does and returns
    the seeded calibration run."""
    from calibrate.runner import RunSummary, validate

    def pull(providers: tuple[str, ...], *, options: Any, **_: Any) -> list[Any]:
        for provider in providers:
            options.endpoint_for(provider)
        return []

    def run_calibration(request: Any, store: Any, on_event: Any = None, **_: Any) -> RunSummary:
        validate(request)
        return RunSummary(run_id=CALIBRATION_RUN)

    monkeypatch.setattr("tco.api.prices.pull", pull)
    monkeypatch.setattr("calibrate.runner.run_calibration", run_calibration)


# --- running one invocation ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    """Where one invocation runs: a fresh copy of the seeded home and an output folder of precious files."""

    home: Path
    out: Path

    @classmethod
    def fresh(cls, template: Path, work: Path) -> Place:
        shutil.rmtree(work, ignore_errors=True)
        home, out = work / "home", work / "out"
        shutil.copytree(template, home)
        out.mkdir(parents=True)
        for name in OUTPUT_FILES:
            (out / name).write_bytes(PRECIOUS)
        return cls(home, out)

    def fill(self, words: Iterator[str] | tuple[str, ...] | list[str]) -> list[str]:
        return [w.replace("{home}", str(self.home)).replace("{out}", str(self.out)) for w in words]

    def snapshot(self) -> dict[str, bytes | None]:
        """Every file and folder under the output folder, and each file's bytes."""
        return {
            str(p.relative_to(self.out)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(self.out.rglob("*"))
        }


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str
    #: the traceback of an exception that escaped the CLI's error boundary
    escaped: str | None

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def unexpected(self) -> bool:
        """An exception the boundary caught but no check expected (``error: unexpected ValueError``)."""
        return "error: unexpected " in self.stderr or "Traceback (most recent call last)" in self.stderr


def invoke(args: list[str], place: Place, env: dict[str, str | None] | None = None) -> Outcome:
    """``tco ARGS`` in-process with ``TCO_HOME`` at the place's home (``env`` may override or unset it),
    in the output folder (a relative path lands there, where the snapshot sees it)."""
    base: dict[str, str | None] = {"TCO_HOME": str(place.home), "NO_COLOR": "1", "COLUMNS": "200"}
    for variable in ("TCO_DEBUG", "TCO_PRICE_MAX_AGE_DAYS", "TCO_PRICE_BOOK"):
        base[variable] = None
    cwd = os.getcwd()
    os.chdir(place.out)
    try:
        result = CliRunner().invoke(app, args, env={**base, **(env or {})})
    finally:
        os.chdir(cwd)
    escaped = None
    if result.exc_info is not None and not issubclass(result.exc_info[0], SystemExit):
        escaped = "".join(traceback.format_exception(*result.exc_info))
    return Outcome(result.exit_code, result.stdout, result.stderr, escaped)


# --- bad values of each kind -----------------------------------------------------------------------------
#: (label, value): values wrong for every option of a kind (the first two for every kind but flags).
BAD: dict[str, tuple[tuple[str, str], ...]] = {
    "common": (("empty", ""), ("blank", "  "), ("control character", "a\x00b")),
    "float": (
        ("nan", "nan"), ("inf", "inf"), ("-inf", "-inf"), ("negative", "-1"), ("overflow", "1e400"),
        ("above the maximum", "1e308"), ("not a number", "abc"),
    ),
    "int": (
        ("negative", "-1"), ("huge", str(10**30)), ("not a number", "abc"), ("nan", "nan"),
        ("fraction", "1.5"),
    ),
    "quantity": (
        ("nan", "nan"), ("inf", "inf"), ("overflow", "1e999"), ("negative", "-5"), ("not a number", "abc"),
        ("zero", "0"),
    ),
    "numbers": (
        ("nan", "nan"), ("inf", "inf"), ("negative", "-1"), ("not a number", "abc"), ("only a comma", ","),
        ("empty item", "8,,64"),
    ),
    "name": (("unknown", "zz-unknown"), ("only a comma", ",")),
    "choice": (("unknown", "zz-unknown"),),
}  # fmt: skip


def bad_values(param: Parameter) -> tuple[tuple[str, str], ...]:
    k = kind(param)
    return () if k == "flag" else (*BAD["common"], *BAD.get(k, ()))


def option_args(leaf: Leaf, param: Parameter, value: str) -> list[str]:
    """The command's valid invocation with ``param`` given ``value`` (an argument replaces the base's
    positional value)."""
    base = BASE[leaf.name]
    name = flag(param)
    if name is not None:
        return [*leaf.path, *base, name, value]
    if base and not base[0].startswith("-"):
        return [*leaf.path, value, *base[1:]]
    return [*leaf.path, *base, value]


#: Environment variables tco reads, with values wrong for each, and whether the root command checks it
#: (every command refuses it) or only ``prices pull`` (where a provider's endpoint is read).
BAD_ENV: dict[str, tuple[tuple[str, ...], bool]] = {
    "TCO_HOME": (("", "  ", "{home}/prices.sqlite"), True),
    "TCO_PRICE_MAX_AGE_DAYS": (("", "abc", "nan", "inf", "-1", "1e400"), True),
    "TCO_PRICE_BOOK": (("", "maybe"), True),
    "TCO_DEBUG": (("", "maybe"), True),
    "TCO_AWS_PRICING_ENDPOINT": (("", "not a url"), False),
}
ENV_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("prices", "list", "-a", "h100", "-n", "2"), ("estimate", "models"), ("prices", "pull", "-p", "aws"),
)  # fmt: skip


# --- the probe ---------------------------------------------------------------------------------------------
@dataclass
class Probe:
    command: str
    option: str
    label: str
    value: str
    #: False where the value may be fine (an endpoint variable for a command that reads no endpoint)
    must_fail: bool
    outcome: Outcome
    changed: bool

    @property
    def verdict(self) -> str:
        o = self.outcome
        if o.escaped is not None:
            return "traceback"
        if o.unexpected:
            return "unexpected exception"
        if self.must_fail and o.exit_code == 0:
            return "exit 0 on bad input"
        if o.exit_code != 0 and self.changed:
            return "file changed on failure"
        if o.exit_code == 2 and len(o.error_lines) != 1:
            return "usage error not one line"
        return "ok"


def probe(template: Path, work: Path) -> Iterator[Probe]:
    """Every option of every command with each bad value of its kind; the root options; the environment."""
    for leaf in leaves():
        for param in leaf.params():
            for label, value in bad_values(param):
                yield _one(template, work, leaf.name, flag(param) or str(param.name), label, value,
                           option_args(leaf, param, value))  # fmt: skip
    for param in root_params():
        for label, value in bad_values(param):
            yield _one(template, work, "(root)", str(flag(param)), label, value,
                       [str(flag(param)), value, "estimate", "models"])  # fmt: skip
    for variable, (values, everywhere) in BAD_ENV.items():
        for value in values:
            for command in ENV_COMMANDS:
                must_fail = everywhere or command[:2] == ("prices", "pull")
                yield _one(template, work, " ".join(command[:2]), f"${variable}", "environment", value,
                           list(command), {variable: value}, must_fail)  # fmt: skip


def _one(
    template: Path, work: Path, command: str, option: str, label: str, value: str, args: list[str],
    env: dict[str, str] | None = None, must_fail: bool = True,
) -> Probe:  # fmt: skip
    place = Place.fresh(template, work)
    before = place.snapshot()
    filled_env = {k: v.replace("{home}", str(place.home)) for k, v in (env or {}).items()}
    outcome = invoke(place.fill(args), place, filled_env)
    return Probe(command, option, label, value, must_fail, outcome, place.snapshot() != before)


def main() -> None:  # pragma: no cover - the probe's report
    import collections
    import json
    import sys
    import tempfile
    import time

    import pytest

    started = time.perf_counter()
    monkeypatch = pytest.MonkeyPatch()
    stub_work(monkeypatch)
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template"
        seed_home(template)
        probes = list(probe(template, Path(tmp) / "work"))
    verdicts = collections.Counter(p.verdict for p in probes)
    codes = collections.Counter(p.outcome.exit_code for p in probes if p.must_fail)
    options = {(p.command, p.option) for p in probes}
    seconds = time.perf_counter() - started
    print(
        f"{len(options)} options, arguments and variables; {len(probes)} bad invocations in {seconds:.0f} s; "
        f"exit codes where it must fail: {dict(sorted(codes.items()))}"
    )
    for verdict, count in verdicts.most_common():
        print(f"  {verdict}: {count}")
    for p in probes:
        if p.verdict != "ok":
            o = p.outcome
            last = o.escaped.strip().splitlines()[-1] if o.escaped else (o.error_lines or [""])[-1][:200]
            print(f"{p.verdict:24} tco {p.command} {p.option} {p.value!r} -> {o.exit_code}: {last}")
    if len(sys.argv) > 1:
        rows = [{**p.__dict__, "outcome": p.outcome.__dict__, "verdict": p.verdict} for p in probes]
        Path(sys.argv[1]).write_text(json.dumps(rows, indent=1, default=str))
    monkeypatch.undo()


if __name__ == "__main__":  # pragma: no cover
    main()
