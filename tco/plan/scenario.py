"""Scenario files: a team's plan as TOML, parsed with :mod:`tomllib` and validated with precise messages.

Every error is one line naming the file, the line, the key and what was expected, e.g.::

    team.toml:14: training[2].runs_per_month: expected a number >= 0, got -1

tomllib reports no positions for valid-but-wrong values, so :func:`locate` finds the key's line in the raw
text (tables, arrays of tables and dotted keys are tracked; inline tables fall back to their parent's line).

Hostile files are refused the same way: more than :data:`MAX_SCENARIO_BYTES` (a device such as
``/dev/zero`` is read up to it) or :data:`MAX_WORKLOADS` workloads, tables and arrays nested deeper than
:data:`MAX_DEPTH` (or too deep for tomllib's recursion), numbers that are not finite (``inf``, ``nan``, an
integer beyond any float), counts above :data:`MAX_COUNT`, empty lists where leaving the key out means
"every" or the default, blank entries, text with control characters, a workload named like one of the
budget's own items (:data:`RESERVED_NAMES`); a wrong value is shown cut to :data:`SHOWN_CHARACTERS`.

Format (see ``examples/*.toml``)::

    [scenario]   name, horizon_months, growth_per_month, start (optional "YYYY-MM"),
                 budget_usd (optional: a budget in dollars), budget_per ("month", the default: budget_usd
                 per month; or "horizon": budget_usd for the whole horizon)
    [[training]] name, model (a preset of `tco estimate models`: its shape, published batch and experts) or
                 parameters, tokens, accelerators, accelerator_count, runs_per_month,
                 framework (torch, jax or tensorflow), dtype, mfu (optional), max_days (optional),
                 interruptible (spot allowed), recompute (optional: none, selective or full; else the
                 layout search decides), global_batch_tokens (optional: else the preset's or the scale rule)
    [[serving]]  name, model (a preset of `tco estimate models`) or parameters, requests_per_s,
                 output_tokens_per_request, accelerators,
                 latency_ms_per_token (optional: the TPOT target), prompt_tokens_per_request (512),
                 ttft_s (1.0), hours_per_month, interruptible, min_replicas,
                 flops_efficiency, bandwidth_efficiency (optional: else calibrations or the model's defaults)
    [costs]      storage_tb, storage_usd_per_tb_month, egress_tb_per_month, egress_usd_per_gb,
                 tooling_usd_per_month, people_fte, usd_per_fte_year
    [options]    providers, regions, pricing_models, owned
    [ownership]  any field of tco.model.ownership.OwnershipParams (or accelerators_per_server) shared by
                 every server; per accelerator: [ownership.H100-80GB] pue = 1.3 (defaults: tco.presets)
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final

from pricing.schema import PRICING_MODELS, PROVIDERS
from tco.errors import TcoError
from tco.model.ownership import OwnedServer
from tco.text import CONTROL
from tco.vocabulary import framework

DTYPES: Final = ("bf16", "fp16", "fp8", "tf32", "fp32")
#: The budget's fixed items (a month's ``{item}_usd`` column beside each workload's).
FIXED_ITEMS: Final = ("storage", "egress", "tooling", "people")
#: Names a workload cannot take: the budget's own columns (``storage_usd``, ..., ``total_usd``).
RESERVED_NAMES: Final = (*FIXED_ITEMS, "total")
#: A scenario file is read up to this size (a scenario of 10,000 workloads is about 2 MiB).
MAX_SCENARIO_BYTES: Final = 32 * 2**20
#: Workloads in one scenario at most (benchmarks/plan_scale.py: 10,000 take under 10 s and 2 GiB).
MAX_WORKLOADS: Final = 20_000
#: Tables and arrays inside each other, at most (the format itself needs 4).
MAX_DEPTH: Final = 8
#: Accelerators of a training run, replicas of an endpoint: at most.
MAX_COUNT: Final = 10**6
#: Characters of a wrong value shown in an error.
SHOWN_CHARACTERS: Final = 80


@dataclass(frozen=True, slots=True)
class Training:
    """A training workload: ``runs_per_month`` runs of ``parameters`` x ``tokens`` (6·N·D FLOPs each)."""

    name: str
    parameters: float
    tokens: float
    accelerators: tuple[str, ...]
    accelerator_count: int
    runs_per_month: float
    framework: str = "torch"
    dtype: str = "bf16"
    mfu: float | None = None
    max_days: float | None = None
    interruptible: bool = True
    #: a model preset (``tco/data/models.csv``) giving the shape, batch and experts; None: ``parameters`` only
    model: str | None = None
    #: none, selective or full activation recomputation; None: the layout search decides
    recompute: str | None = None
    #: tokens per optimizer step; None: the preset's published batch, else the scale rule
    global_batch_tokens: float | None = None


@dataclass(frozen=True, slots=True)
class Serving:
    """A serving endpoint: decode traffic, a per-token latency target, replicas of the model weights."""

    name: str
    parameters: float
    requests_per_s: float
    output_tokens_per_request: float
    accelerators: tuple[str, ...]
    latency_ms_per_token: float | None = None
    hours_per_month: float = 730.0
    interruptible: bool = False
    min_replicas: int = 1
    dtype: str = "bf16"
    #: None: a calibration, else the model's default (tco.model.assumptions PREFILL_FLOPS_EFFICIENCY, MBU)
    flops_efficiency: float | None = None
    bandwidth_efficiency: float | None = None
    #: as ``tco estimate serve``'s defaults (--prompt-tokens, --ttft-s)
    prompt_tokens_per_request: float = 512.0
    ttft_s: float = 1.0
    #: a model preset (``tco/data/models.csv``) giving the shape; None: inferred from ``parameters``
    model: str | None = None


#: The keys a [[training]] and a [[serving]] table may have.
TRAINING_KEYS: Final = frozenset(f.name for f in fields(Training))
SERVING_KEYS: Final = frozenset(f.name for f in fields(Serving))


@dataclass(frozen=True, slots=True)
class Costs:
    """Costs that do not depend on the compute option (storage and egress grow with the plan)."""

    storage_tb: float = 0.0
    storage_usd_per_tb_month: float = 0.0
    egress_tb_per_month: float = 0.0
    egress_usd_per_gb: float = 0.0
    tooling_usd_per_month: float = 0.0
    people_fte: float = 0.0
    usd_per_fte_year: float = 0.0


@dataclass(frozen=True, slots=True)
class Options:
    providers: tuple[str, ...] = PROVIDERS
    regions: tuple[str, ...] = ()
    pricing_models: tuple[str, ...] = ("on_demand", "spot")
    owned: bool = False


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    path: Path
    horizon_months: int
    growth_per_month: float
    training: tuple[Training, ...]
    serving: tuple[Serving, ...]
    costs: Costs = field(default_factory=Costs)
    options: Options = field(default_factory=Options)
    ownership: Mapping[str, OwnedServer] = field(default_factory=dict)
    start: str | None = None
    #: a budget in dollars (None: none) per month, or for the whole horizon (``budget_per``)
    budget_usd: float | None = None
    budget_per: str = "month"
    #: the file's text, to say where a key is (:func:`located`)
    text: str = field(default="", repr=False, compare=False)

    @property
    def workloads(self) -> tuple[str, ...]:
        return tuple(w.name for w in self.training) + tuple(w.name for w in self.serving)


def located(s: Scenario, table: str, key: str, problem: str) -> TcoError:
    """An error about ``[table] key`` of the scenario's file, naming its file and line."""
    line = locate(s.text, table, None, key)
    return TcoError(f"{s.path.name}:{line if line is not None else '?'}: {table}.{key}: {problem}")


def unknown(item: str, known: Collection[str], what: str) -> str | None:
    """``unknown <what> 'x' (did you mean ...?)`` unless ``item`` is known."""
    if item in known:
        return None
    close = difflib.get_close_matches(item, sorted(known), n=2, cutoff=0.4)
    hint = f"did you mean {' or '.join(close)}?" if close else f"known: {', '.join(sorted(known))}"
    return f"unknown {what} {item!r} ({hint})"


def _shown(value: Any) -> str:
    """A wrong value as an error shows it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 3] + "..."


# --------------------------------------------------------------------------------------------- locating


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


def _norm(key: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in key.split("."))


def locate(text: str, table: str | None, index: int | None, key: str | None) -> int | None:
    """1-based line of ``key`` in ``[table]`` (or the ``index``-th ``[[table]]``); else the table's line."""
    counts: dict[str, int] = {}
    current: str | None = None
    current_index: int | None = None
    table_line: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            name = _norm(header.group(2))
            if header.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                current, current_index = name, counts[name]
            else:
                current, current_index = name, None
            if current == table and (index is None or current_index == index):
                table_line = number
            continue
        in_table = current == table and (index is None or current_index == index)
        if table is None and current is not None:
            in_table = False
        if not in_table:
            # a dotted key at top level: options.owned = true
            if current is None and table is not None and key is not None:
                match = _KEY.match(line)
                if match and _norm(match.group(1)) == f"{table}.{key}":
                    return number
            continue
        if key is None:
            continue
        match = _KEY.match(line)
        if match and _norm(match.group(1)) == key:
            return number
    return table_line


# --------------------------------------------------------------------------------------------- checking


class _Reader:
    """Reads one table of the parsed document and raises one precise line on the first problem."""

    def __init__(self, path: Path, text: str, data: Mapping[str, Any], table: str | None, index: int | None):
        self.path, self.text, self.data, self.table, self.index = path, text, data, table, index

    def where(self, key: str | None) -> str:
        line = locate(self.text, self.table, self.index, key)
        label = self.table or ""
        if self.index is not None:
            label += f"[{self.index + 1}]"
        if key is not None:
            label = f"{label}.{key}" if label else key
        return f"{self.path.name}:{line if line is not None else '?'}: {label}"

    def fail(self, key: str | None, expected: str, got: Any = None, *, show_got: bool = True) -> TcoError:
        shown = f", got {_shown(got)}" if show_got else ""
        return TcoError(f"{self.where(key)}: {expected}{shown}")

    def unknown_keys(self, allowed: Collection[str]) -> None:
        for key in self.data:
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = (
                    f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(allowed))})"
                )
                raise self.fail(key, f"unknown key{hint}", show_got=False)

    def _get(self, key: str, required: bool) -> Any:
        if key not in self.data:
            if required:
                raise TcoError(f"{self.where(None)}: missing required key {key!r}")
            return None
        return self.data[key]

    def number(
        self,
        key: str,
        *,
        required: bool = True,
        default: float | None = None,
        minimum: float = 0.0,
        strict_min: bool = False,
        maximum: float | None = None,
        integer: bool = False,
    ) -> Any:
        value = self._get(key, required)
        if value is None:
            return default
        kind = "an integer" if integer else "a number"
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (integer and isinstance(value, float))
        ):
            raise self.fail(key, f"expected {kind}", value)
        try:
            finite = math.isfinite(float(value))
        except OverflowError:  # an integer beyond any float
            finite = False
        if not finite:
            raise self.fail(key, f"expected a finite number, not {_shown(value)}", show_got=False)
        if (value <= minimum) if strict_min else (value < minimum):
            raise self.fail(key, f"expected {kind} {'>' if strict_min else '>='} {minimum:g}", value)
        if maximum is not None and value > maximum:
            raise self.fail(key, f"expected {kind} <= {maximum:g}", value)
        return int(value) if integer else float(value)

    def string(
        self, key: str, *, required: bool = True, default: str | None = None, choices: Collection[str] = ()
    ) -> Any:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "expected a non-empty string", value)
        if CONTROL.search(value):
            raise self.fail(key, "expected text without control characters (line breaks, escapes)", value)
        if choices and value not in choices:
            close = difflib.get_close_matches(value, list(choices), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.fail(key, f"expected one of {', '.join(choices)}{hint}", value)
        return value

    def framework(self, key: str) -> str:
        """A framework in tco's vocabulary (:data:`tco.vocabulary.FRAMEWORKS`; default torch)."""
        value = self.string(key, required=False, default="torch")
        try:
            return framework(str(value))
        except TcoError as exc:
            raise self.fail(key, str(exc), show_got=False) from None

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, "expected true or false", value)
        return value

    def strings(
        self,
        key: str,
        *,
        required: bool = True,
        default: tuple[str, ...] = (),
        check: Callable[[str], str | None] | None = None,
    ) -> tuple[str, ...]:
        value = self._get(key, required)
        if value is None:
            return default
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, "expected a list of non-empty strings", value)
        if not value:
            left_out = "" if required else f" (leave {key} out for {self.defaults.get(key, 'the default')})"
            raise self.fail(key, f"expected at least one entry{left_out}", show_got=False)
        for item in value:
            if CONTROL.search(item):
                raise self.fail(key, "expected text without control characters (line breaks, escapes)", item)
        if check is not None:
            for item in value:
                problem = check(item)
                if problem is not None:
                    raise self.fail(key, problem, show_got=False)
        return tuple(dict.fromkeys(value))

    #: what an optional list means when it is left out (said when it is given empty)
    defaults: Final = {
        "providers": "every provider",
        "regions": "every region",
        "pricing_models": "on_demand and spot",
    }


def _tables(reader_path: Path, text: str, data: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = data.get(name, [])
    if isinstance(value, dict):
        line = locate(text, name, None, None)
        raise TcoError(
            f"{reader_path.name}:{line}: {name}: expected [[{name}]] (an array of tables), got [{name}]"
        )
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        line = locate(text, None, None, name)
        raise TcoError(f"{reader_path.name}:{line}: {name}: expected an array of tables [[{name}]]")
    return value


def _checker(known: Collection[str], what: str) -> Callable[[str], str | None]:
    def check(item: str) -> str | None:
        return unknown(item, known, what)

    return check


def _too_deep(data: Any) -> str | None:
    """The path of the first value nested more than :data:`MAX_DEPTH` deep (tables and arrays), if any."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return where
        if isinstance(value, dict):
            stack += [(v, f"{where}.{k}" if where else str(k), depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, f"{where}[{i + 1}]", depth + 1) for i, v in enumerate(value)]
    return None


def load_scenario(
    path: Path,
    *,
    accelerators: Collection[str],
    providers: Collection[str] = PROVIDERS,
) -> Scenario:
    """Parse and validate ``path``. ``accelerators``: the canonical names tco knows a peak for."""
    try:
        with path.open("rb") as handle:  # a device or a pipe is read up to the limit too
            raw = handle.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise TcoError(f"cannot read scenario {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_SCENARIO_BYTES:
        raise TcoError(
            f"{path.name}: more than {MAX_SCENARIO_BYTES // 2**20} MiB, too large for a scenario file "
            "(10,000 workloads take about 2 MiB)"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TcoError(f"{path.name}: not UTF-8 text (byte {exc.start})") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TcoError(f"{path.name}: invalid TOML: {exc}") from exc
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise TcoError(
            f"{path.name}: arrays or inline tables nested too deeply to be a scenario "
            f"({MAX_DEPTH} levels at most)"
        ) from None
    return parse_scenario(path, text, data, accelerators=accelerators, providers=providers)


def parse_scenario(
    path: Path,
    text: str,
    data: Mapping[str, Any],
    *,
    accelerators: Collection[str],
    providers: Collection[str] = PROVIDERS,
) -> Scenario:
    deep = _too_deep(data)
    if deep is not None:
        raise TcoError(f"{path.name}: {deep}: nested more than {MAX_DEPTH} levels deep (tables and arrays)")
    top = _Reader(path, text, data, None, None)
    top.unknown_keys({"scenario", "training", "serving", "costs", "options", "ownership"})
    if not isinstance(data.get("scenario"), dict):
        raise TcoError(
            f"{path.name}:1: missing required table [scenario] (name, horizon_months, growth_per_month)"
        )
    head = _Reader(path, text, data["scenario"], "scenario", None)
    head.unknown_keys({"name", "horizon_months", "growth_per_month", "start", "budget_usd", "budget_per"})
    name = head.string("name")
    horizon = head.number("horizon_months", integer=True, minimum=1, maximum=120)
    growth = head.number("growth_per_month", required=False, default=0.0, minimum=-0.5, maximum=1.0)
    start = head.string("start", required=False)
    if start is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", start):
        raise head.fail("start", 'expected "YYYY-MM"', start)
    budget = head.number("budget_usd", required=False, strict_min=True)
    budget_per = head.string("budget_per", required=False, default="month", choices=("month", "horizon"))

    accel_check = _checker(accelerators, "accelerator")
    names: set[str] = set()
    presets: dict[str, dict[str, Any]] = {}

    def unique(reader: _Reader, workload: str) -> str:
        if workload in names:
            raise reader.fail("name", "expected a workload name not used before", workload)
        if workload in RESERVED_NAMES:
            raise reader.fail(
                "name",
                f"expected a name other than {', '.join(RESERVED_NAMES)} (the budget's own items)",
                workload,
            )
        names.add(workload)
        return workload

    counted = [data.get(kind) for kind in ("training", "serving")]
    total = sum(len(tables) for tables in counted if isinstance(tables, list))
    if total > MAX_WORKLOADS:
        raise TcoError(
            f"{path.name}: {total:,} workloads, more than one plan takes ({MAX_WORKLOADS:,}): "
            "split the scenario"
        )

    training: list[Training] = []
    for i, table in enumerate(_tables(path, text, data, "training")):
        r = _Reader(path, text, table, "training", i)
        r.unknown_keys(TRAINING_KEYS)
        model = _preset(
            r, r.string("model", required=False), ("decoder", "moe", "encoder"), "a transformer", presets
        )
        if model is not None and "parameters" in table:
            raise r.fail(
                "parameters", f"give model or parameters, not both (model {model[0]!r})", show_got=False
            )
        training.append(
            Training(
                name=unique(r, r.string("name")),
                parameters=model[1] if model else r.number("parameters", strict_min=True),
                model=model[0] if model else None,
                recompute=r.string("recompute", required=False, choices=("none", "selective", "full")),
                global_batch_tokens=r.number("global_batch_tokens", required=False, strict_min=True),
                tokens=r.number("tokens", strict_min=True),
                accelerators=r.strings("accelerators", check=accel_check),
                accelerator_count=r.number("accelerator_count", integer=True, minimum=1, maximum=MAX_COUNT),
                runs_per_month=r.number("runs_per_month"),
                framework=r.framework("framework"),
                dtype=r.string("dtype", required=False, default="bf16", choices=DTYPES),
                mfu=r.number("mfu", required=False, strict_min=True, maximum=1.0),
                max_days=r.number("max_days", required=False, strict_min=True),
                interruptible=r.boolean("interruptible", True),
            )
        )
    serving: list[Serving] = []
    for i, table in enumerate(_tables(path, text, data, "serving")):
        r = _Reader(path, text, table, "serving", i)
        r.unknown_keys(SERVING_KEYS)
        model = _preset(
            r, r.string("model", required=False), ("decoder", "moe"), "a generative (decoder)", presets
        )
        if model is not None and "parameters" in table:
            raise r.fail(
                "parameters", f"give model or parameters, not both (model {model[0]!r})", show_got=False
            )
        serving.append(
            Serving(
                name=unique(r, r.string("name")),
                parameters=model[1] if model else r.number("parameters", strict_min=True),
                model=model[0] if model else None,
                requests_per_s=r.number("requests_per_s"),
                output_tokens_per_request=r.number("output_tokens_per_request", strict_min=True),
                accelerators=r.strings("accelerators", check=accel_check),
                latency_ms_per_token=r.number("latency_ms_per_token", required=False, strict_min=True),
                hours_per_month=r.number("hours_per_month", required=False, default=730.0, maximum=744.0),
                interruptible=r.boolean("interruptible", False),
                min_replicas=r.number(
                    "min_replicas", required=False, default=1, integer=True, minimum=1, maximum=MAX_COUNT
                ),
                dtype=r.string("dtype", required=False, default="bf16", choices=("bf16", "fp16", "fp8")),
                flops_efficiency=r.number("flops_efficiency", required=False, strict_min=True, maximum=1.0),
                bandwidth_efficiency=r.number(
                    "bandwidth_efficiency", required=False, strict_min=True, maximum=1.0
                ),
                prompt_tokens_per_request=r.number(
                    "prompt_tokens_per_request", required=False, default=512.0, strict_min=True
                ),
                ttft_s=r.number("ttft_s", required=False, default=1.0, strict_min=True),
            )
        )
    if not training and not serving:
        raise TcoError(f"{path.name}:1: expected at least one [[training]] or [[serving]] workload")

    costs = Costs()
    if "costs" in data:
        if not isinstance(data["costs"], dict):
            raise top.fail("costs", "expected a table [costs]", data["costs"])
        r = _Reader(path, text, data["costs"], "costs", None)
        r.unknown_keys({f.name for f in fields(Costs)})
        costs = Costs(**{f.name: r.number(f.name, required=False, default=0.0) for f in fields(Costs)})

    options = Options()
    if "options" in data:
        if not isinstance(data["options"], dict):
            raise top.fail("options", "expected a table [options]", data["options"])
        r = _Reader(path, text, data["options"], "options", None)
        r.unknown_keys({f.name for f in fields(Options)})
        options = Options(
            providers=r.strings(
                "providers",
                required=False,
                default=PROVIDERS,
                check=_checker(providers, "provider"),
            ),
            regions=r.strings("regions", required=False, default=()),
            pricing_models=r.strings(
                "pricing_models",
                required=False,
                default=("on_demand", "spot"),
                check=_checker(PRICING_MODELS, "pricing model"),
            ),
            owned=r.boolean("owned", False),
        )

    ownership = _ownership(path, text, data.get("ownership"), accelerators, accel_check)
    if options.owned:
        wanted = {a for w in training for a in w.accelerators} | {a for w in serving for a in w.accelerators}
        if not wanted & set(ownership):
            line = locate(text, "options", None, "owned")
            raise TcoError(
                f"{path.name}:{line}: options.owned: true, but no [ownership.<accelerator>] table prices a "
                f"server for any of the workloads' accelerators ({', '.join(sorted(wanted))})"
            )
    return Scenario(
        text=text,
        name=name,
        path=path,
        horizon_months=horizon,
        growth_per_month=growth,
        training=tuple(training),
        serving=tuple(serving),
        costs=costs,
        options=options,
        ownership=ownership,
        start=start,
        budget_usd=budget,
        budget_per=budget_per or "month",
    )


def _preset(
    r: _Reader, name: str | None, families: Collection[str], what: str, found: dict[str, dict[str, Any]]
) -> tuple[str, float] | None:
    """``model = "<preset>"``: the preset's name and parameter count (presets of ``families`` only);
    ``found``: the presets looked up so far, by the name given."""
    from tco.presets import find_model

    if name is None:
        return None
    try:
        record = found[name] if name in found else found.setdefault(name, find_model(name))
    except TcoError as exc:
        raise TcoError(f"{r.where('model')}: {exc}") from exc
    if record["family"] not in families:
        raise r.fail(
            "model", f"expected {what} model preset, {record['name']} is {record['family']}", show_got=False
        )
    return str(record["name"]), float(record["params"])


def _ownership(
    path: Path,
    text: str,
    value: Any,
    accelerators: Collection[str],
    accel_check: Callable[[str], str | None],
) -> dict[str, OwnedServer]:
    """``[ownership]`` shared overrides plus ``[ownership.<accelerator>]`` servers (the ownership model's
    defaults from :func:`tco.presets.owned_server`, overridden by name)."""
    from tco.model.ownership import OwnershipParams
    from tco.presets import SERVER_KEYS, owned_server

    if value is None:
        return {}
    r = _Reader(path, text, value if isinstance(value, dict) else {}, "ownership", None)
    if not isinstance(value, dict):
        raise TcoError(f"{path.name}: ownership: expected a table [ownership]")
    scalar_fields = [f.name for f in fields(OwnershipParams)] + list(SERVER_KEYS)
    shared: dict[str, float] = {}
    servers: dict[str, dict[str, Any]] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            problem = accel_check(key)
            if problem is not None:
                raise TcoError(f"{r.where(None)}.{key}: {problem}")
            servers[key] = item
        elif key in scalar_fields:
            shared[key] = r.number(key)
        else:
            r.unknown_keys(scalar_fields)
    out: dict[str, OwnedServer] = {}
    for accelerator, table in servers.items():
        sr = _Reader(path, text, table, f"ownership.{accelerator}", None)
        sr.unknown_keys(scalar_fields)
        given = {k: sr.number(k) for k in table}
        try:
            out[accelerator] = owned_server(accelerator, {**shared, **given})
        except TcoError as exc:
            raise TcoError(f"{sr.where(None)}: {exc}") from exc
    return out
