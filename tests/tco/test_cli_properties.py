"""The whole command line as a hostile user drives it (issue 15, item 8), in-process.

Every command's options are discovered from the click tree (tests/tco/cli_tree.py), so an option added
later is driven without a line here; ``tco plan`` also reads generated scenario files. Each invocation runs
in a fresh copy of a seeded home with an output folder of files that already exist, and must:

* raise nothing past the CLI's error boundary, and print no traceback or "unexpected" error;
* exit 0, 1 (a domain error) or 2 (a usage error: one ``error:`` line on stderr);
* exit 2 when a value the strategy tags wrong was given to an option (or to a variable tco reads), and
  non-zero for a scenario file the strategy broke;
* leave every file in the output folder as it was when it fails.

Deterministic (``derandomize``) and bounded: the figures (examples, time) are in the module's budget
below; the whole module runs in well under a minute with ``pytest -n 2`` on two cores.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from tests.tco import cli_tree as tree
from tests.tco.cli_tree import Leaf, Outcome, Place

LEAVES = tree.leaves()
LEAF_IDS = [leaf.name.replace(" ", "-") for leaf in LEAVES]

#: Examples per command (22 commands), per scenario test and per environment test; ``TCO_PROPERTY_SCALE``
#: multiplies them for a deeper search by hand (``TCO_PROPERTY_SCALE=10 pytest tests/tco/...``).
SCALE = max(1, int(os.environ.get("TCO_PROPERTY_SCALE", "1") or "1"))
EXAMPLES_PER_COMMAND = 30 * SCALE
SCENARIO_EXAMPLES = 25 * SCALE
BROKEN_SCENARIO_EXAMPLES = 50 * SCALE
ENVIRONMENT_EXAMPLES = 50 * SCALE

PROPERTY = settings(
    derandomize=True,  # the same examples on every run and machine: a failure reproduces
    database=None,
    deadline=None,  # one example is a whole CLI invocation; its time depends on the machine's load
    suppress_health_check=[
        # each example runs a whole command in-process (0.02-0.5 s): slower than Hypothesis expects of a
        # data-generation step by design
        HealthCheck.too_slow,
        # the autouse home fixture (tests/conftest.py) is not used: each example makes its own home and
        # output folder, so nothing carries over between examples
        HealthCheck.function_scoped_fixture,
    ],
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cli-properties") / "template"
    tree.seed_home(home)
    return home


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-properties-work")


@pytest.fixture(scope="module", autouse=True)
def _no_network_no_workers() -> Iterator[None]:
    patch = pytest.MonkeyPatch()
    tree.stub_work(patch)
    yield
    patch.undo()


# --- the contract ----------------------------------------------------------------------------------------
@dataclass
class Case:
    args: list[str]
    #: why the invocation is wrong (empty: it may be right)
    wrong: list[str] = field(default_factory=list)
    env: dict[str, str | None] = field(default_factory=dict)
    #: the wrong value is refused as a usage error (2); else any non-zero exit (a scenario file: 1)
    usage: bool = True
    scenario: bytes | None = field(default=None, repr=False)


def run(case: Case, template: Path, work: Path) -> Outcome:
    """Run ``case`` in a fresh place and check the contract (module docstring)."""
    place = Place.fresh(template, work)
    args = place.fill(case.args)
    if case.scenario is not None:
        (place.out / "scenario.toml").write_bytes(case.scenario)
    before = place.snapshot()
    env = {k: (None if v is None else v.replace("{home}", str(place.home))) for k, v in case.env.items()}
    outcome = tree.invoke(args, place, env)
    if currently_in_test_context():  # the figures of --hypothesis-show-statistics
        event(f"exit {outcome.exit_code}" + (" (wrong value given)" if case.wrong else ""))
    shown = f"tco {' '.join(map(repr, args))} (env {env}) -> {outcome.exit_code}\n{outcome.stderr[-2000:]}"
    assert outcome.escaped is None, shown + outcome.escaped
    assert not outcome.unexpected, shown
    assert outcome.exit_code in (0, 1, 2), shown
    if case.wrong:
        assert outcome.exit_code != 0, f"exit 0 although {case.wrong}: {shown}"
        if case.usage:
            assert outcome.exit_code == 2, f"not a usage error although {case.wrong}: {shown}"
    if outcome.exit_code == 2:
        assert len(outcome.error_lines) == 1 and outcome.error_lines[0].startswith("error: "), shown
    if outcome.exit_code != 0:
        assert any(line.startswith("error: ") for line in outcome.error_lines), shown
        assert place.snapshot() == before, f"a file in the output folder changed on failure: {shown}"
    return outcome


# --- values ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Value:
    text: str
    #: why it is wrong (None: it may be right)
    wrong: str | None = None


PATHS = (
    "{out}/existing.csv", "{out}/existing.json", "{out}/existing.xlsx", "{out}/existing.png", "{out}/new.csv",
    "{out}/new.json", "{out}/new.xlsx", "{out}/new.png", "{out}", "{out}/missing/x.csv",
    "{home}/calibration-export.json", "{home}/runs-export.json", "{home}/llm_team.toml",
    "{home}/price_book.csv",
)  # fmt: skip
FREE_TEXT = ("us-east-1", "all", "1", "2", tree.RUN_ID, "probe", "embedded", "http://127.0.0.1:9", "-x")
printable = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=16
).filter(str.strip)


def plausible(param: Any) -> st.SearchStrategy[str]:
    """Values of the option's kind that may be right (or wrong in ways only the command can tell)."""
    kind = tree.kind(param)
    if kind == "float":
        return st.one_of(
            st.sampled_from(("0", "0.5", "1", "24", "1000", "1e-3")),
            st.floats(min_value=1e-6, max_value=1e6).map(lambda x: f"{x:g}"),
        )
    if kind == "int":
        return st.one_of(st.sampled_from(("0", "1", "2", "8", "50")), st.integers(0, 10**5).map(str))
    if kind == "quantity":
        return st.one_of(
            st.sampled_from(("7e9", "6.7B", "2T", "500M", "100k", "1_000")),
            st.floats(min_value=1e-3, max_value=1e15).map(lambda x: f"{x:g}"),
        )
    if kind == "numbers":
        return st.lists(st.integers(1, 4096), min_size=1, max_size=3).map(lambda xs: ",".join(map(str, xs)))
    if kind == "name":
        names = tree.VALID_NAMES.get(str(param.name), ())
        one = st.sampled_from(names) if names else printable
        return st.lists(one, min_size=1, max_size=3).map(",".join) if tree.multiple(param) else one
    if kind == "choice":
        return st.sampled_from([str(getattr(c, "value", c)) for c in param.type.choices])
    if kind == "path":
        return st.sampled_from(PATHS)
    return st.one_of(st.sampled_from(FREE_TEXT), printable)


def values(param: Any) -> st.SearchStrategy[Value]:
    bad = tree.bad_values(param)
    wrong = st.sampled_from(bad).map(
        lambda pair: Value(pair[1], f"{tree.flag(param) or param.name}: {pair[0]}")
    )
    return st.one_of(wrong, plausible(param).map(Value)) if bad else plausible(param).map(Value)


ROOT_OPTIONS = {str(p.name): p for p in tree.root_params()}


@st.composite
def invocations(draw: st.DrawFn, leaf: Leaf) -> Case:
    """One of the command's valid invocations with up to three of its options (or its argument) given drawn
    values, a few of its flags, and maybe a root option."""
    takes_values = [p for p in leaf.params() if tree.kind(p) != "flag"]
    flags = [p for p in leaf.params() if tree.kind(p) == "flag"]
    bases = [tree.BASE[leaf.name], *([tree.BROAD[leaf.name]] if leaf.name in tree.BROAD else [])]
    base = list(draw(st.sampled_from(bases)))
    case = Case([])
    tail: list[str] = []
    for param in (
        draw(st.lists(st.sampled_from(takes_values), max_size=3, unique_by=id)) if takes_values else []
    ):
        for _ in range(draw(st.integers(1, 2)) if tree.multiple(param) else 1):
            value = draw(values(param))
            if value.wrong:
                case.wrong.append(value.wrong)
            name = tree.flag(param)
            if name is None:  # the command's argument: replaces its valid one
                base = (
                    [value.text, *base[1:]] if base and not base[0].startswith("-") else [*base, value.text]
                )
            else:
                tail += [name, value.text]
    for param in draw(st.lists(st.sampled_from(flags), max_size=2, unique_by=id)) if flags else []:
        tail.append(draw(st.sampled_from([*param.opts, *param.secondary_opts])))
    root: list[str] = []
    chosen = draw(st.sampled_from((None, "fmt", "output", "price_book")))
    if chosen == "price_book":
        root = ["--no-price-book"]
    elif chosen is not None:
        value = draw(values(ROOT_OPTIONS[chosen]))
        root = [str(tree.flag(ROOT_OPTIONS[chosen])), value.text]
        if value.wrong:
            case.wrong.append(value.wrong)
    case.args = [*root, *leaf.path, *base, *tail]
    return case


@pytest.mark.parametrize("leaf", LEAVES, ids=LEAF_IDS)
@settings(PROPERTY, max_examples=EXAMPLES_PER_COMMAND)
@given(data=st.data())
def test_every_command_keeps_the_contract_under_drawn_options(
    leaf: Leaf, data: st.DataObject, template: Path, work: Path
) -> None:
    run(data.draw(invocations(leaf), label="case"), template, work / "drawn")


# --- the environment ---------------------------------------------------------------------------------------
ENV_VALUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # variable: (values that may be right, wrong values)
    "TCO_PRICE_MAX_AGE_DAYS": (("30", "0", "365.5"), ("", " ", "abc", "nan", "inf", "-1", "1e400")),
    "TCO_PRICE_BOOK": (("0", "1", "true", "no"), ("", "maybe")),
    "TCO_DEBUG": (("0", "false"), ("", "maybe")),
    "TCO_HOME": (("{home}",), ("", "  ", "{home}/prices.sqlite")),
}


@st.composite
def environments(draw: st.DrawFn) -> Case:
    leaf = draw(st.sampled_from(LEAVES))
    case = Case([*leaf.path, *tree.BASE[leaf.name]])
    for variable in draw(st.lists(st.sampled_from(sorted(ENV_VALUES)), min_size=1, max_size=2, unique=True)):
        right, wrong = ENV_VALUES[variable]
        if draw(st.booleans()):
            case.env[variable] = draw(st.sampled_from(wrong))
            case.wrong.append(f"{variable}={case.env[variable]!r}")
        else:
            case.env[variable] = draw(st.sampled_from(right))
    return case


@settings(PROPERTY, max_examples=ENVIRONMENT_EXAMPLES)
@given(case=environments())
def test_every_command_checks_the_environment_first(case: Case, template: Path, work: Path) -> None:
    run(case, template, work / "environment")


# --- scenario files ----------------------------------------------------------------------------------------
def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON strings are TOML basic strings
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def toml(doc: dict[str, Any]) -> str:
    lines: list[str] = []
    for table, body in doc.items():
        if isinstance(body, list):
            for entry in body:
                lines += [f"[[{table}]]", *(f"{k} = {toml_value(v)}" for k, v in entry.items()), ""]
        else:
            lines += [f"[{table}]", *(f"{k} = {toml_value(v)}" for k, v in body.items()), ""]
    return "\n".join(lines)


ACCELERATORS = ("H100-80GB", "A100-80GB", "L4", "L40S", "A10G")
#: Workload names as users (and hostile users) write them: the plan must take them as data.
NAMES = (
    "7B pretrain",
    "fine-tunes",
    "chat",
    "ü∂ƒ漢字",
    '=HYPERLINK("http://x","y")',
    "+cmd",
    "@SUM(A1)",
    "[b]x[/b]",
)


@st.composite
def scenario_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid scenario: one to three workloads, costs and options (examples/*.toml)."""
    names = iter(draw(st.lists(st.sampled_from(NAMES), min_size=3, max_size=3, unique=True)))
    doc: dict[str, Any] = {
        "scenario": {
            "name": draw(st.sampled_from(NAMES)),
            "horizon_months": draw(st.integers(1, 24)),
            "growth_per_month": draw(st.sampled_from((0.0, 0.05, -0.1))),
        }
    }
    if draw(st.booleans()):
        doc["scenario"]["budget_usd"] = draw(st.sampled_from((1e5, 5e6)))
    if draw(st.booleans()):
        doc["training"] = [
            {
                "name": next(names),
                "parameters": draw(st.sampled_from((1e8, 7e9, 7e10))),
                "tokens": draw(st.sampled_from((1e9, 2e11))),
                "accelerators": draw(
                    st.lists(st.sampled_from(ACCELERATORS), min_size=1, max_size=2, unique=True)
                ),
                "accelerator_count": draw(st.sampled_from((1, 8, 64))),
                "runs_per_month": draw(st.sampled_from((0.5, 1, 4))),
            }
        ]
    if draw(st.booleans()) or "training" not in doc:
        doc["serving"] = [
            {
                "name": next(names),
                "model": "llama-2-7b",
                "requests_per_s": draw(st.sampled_from((1, 20))),
                "output_tokens_per_request": 400,
                "accelerators": draw(
                    st.lists(st.sampled_from(ACCELERATORS), min_size=1, max_size=2, unique=True)
                ),
            }
        ]
    doc["costs"] = {"storage_tb": draw(st.sampled_from((0, 40))), "storage_usd_per_tb_month": 23}
    doc["options"] = {
        "providers": draw(
            st.lists(st.sampled_from(("aws", "gcp", "azure")), min_size=1, max_size=2, unique=True)
        ),
        "pricing_models": ["on_demand"],
    }
    return doc


#: Ways to break a scenario, each a reason and a change of the document (or of its text).
def _numbers(doc: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    """(table, key, index) of every number field of a workload or of the scenario head."""
    found = [("scenario", k, None) for k, v in doc["scenario"].items() if isinstance(v, int | float)]
    for table in ("training", "serving"):
        for i, entry in enumerate(doc.get(table, [])):
            found += [
                (table, k, i)
                for k, v in entry.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            ]
    return found


class Broken:
    """A scenario file broken one way (``how``); its bytes stay out of the repr (they can be long)."""

    def __init__(self, data: bytes, how: str) -> None:
        self.data, self.how = data, how

    def __repr__(self) -> str:
        return f"Broken(how={self.how!r}, {len(self.data):,} bytes: {self.data[:300]!r}...)"


@st.composite
def broken_scenarios(draw: st.DrawFn) -> Broken:
    doc = draw(scenario_documents())
    how = draw(
        st.sampled_from(
            ("nan", "inf", "negative", "horizon", "accelerator", "unknown key", "empty name", "wrong type",
             "missing key", "duplicate name", "toml", "utf-8", "nested")
        )
    )  # fmt: skip
    workload = "training" if "training" in doc else "serving"
    entry = doc[workload][0]
    if how in ("nan", "inf", "negative"):
        table, key, index = draw(st.sampled_from(_numbers(doc)))
        target = doc[table][index] if index is not None else doc[table]
        if key == "growth_per_month" and how == "negative":
            target[key] = -0.9  # growth may be negative down to -0.5
        else:
            target[key] = {
                "nan": math.nan,
                "inf": draw(st.sampled_from((math.inf, -math.inf))),
                "negative": -1,
            }[how]
        how = f"{table}.{key} = {target[key]}"
    elif how == "horizon":
        doc["scenario"]["horizon_months"] = draw(st.sampled_from((0, 121, 10**6)))
    elif how == "accelerator":
        entry["accelerators"] = ["ZZ-9000"]
    elif how == "unknown key":
        entry["zz_key"] = 1
    elif how == "empty name":
        entry["name"] = draw(st.sampled_from(("", "  ")))
    elif how == "wrong type":
        entry["accelerators"] = 5
    elif how == "missing key":
        del entry["accelerators"]
    elif how == "duplicate name":
        doc[workload].append(dict(entry))
    text = toml(doc)
    if how == "toml":
        text = text.replace("]]", "]", 1) if "[[" in text else text + "\n[[x\n"
    elif how == "nested":
        text += "\n[zz]\ndeep = " + "[" * 5000 + "]" * 5000 + "\n"
    data = text.encode("utf-8")
    if how == "utf-8":
        data = b"\xff\xfe" + data
    return Broken(data, how)


OUTPUTS = (
    [], ["-f", "json", "-o", "{out}/existing.json"], ["-f", "csv", "-o", "{out}/existing.csv"],
    ["-f", "xlsx", "-o", "{out}/existing.xlsx"], ["-o", "{out}/new.csv", "-f", "csv"],
    ["--plot", "{out}/existing.png"], ["-f", "xlsx"],
)  # fmt: skip


def plan_case(data: bytes, wrong: list[str], extra: list[str]) -> Case:
    return Case(["plan", "{out}/scenario.toml", *extra], wrong=wrong, usage=False, scenario=data)


@settings(PROPERTY, max_examples=SCENARIO_EXAMPLES)
@given(doc=scenario_documents(), extra=st.sampled_from(OUTPUTS))
def test_plan_keeps_the_contract_for_generated_scenarios(
    doc: dict[str, Any], extra: list[str], template: Path, work: Path
) -> None:
    run(plan_case(toml(doc).encode("utf-8"), [], extra), template, work / "plan")


@settings(PROPERTY, max_examples=BROKEN_SCENARIO_EXAMPLES)
@given(broken=broken_scenarios(), extra=st.sampled_from(OUTPUTS))
def test_plan_refuses_broken_scenarios(broken: Broken, extra: list[str], template: Path, work: Path) -> None:
    run(plan_case(broken.data, [f"scenario: {broken.how}"], extra), template, work / "broken-plan")


# --- every option, each bad value of its kind, once ------------------------------------------------------
@pytest.mark.parametrize("leaf", LEAVES, ids=LEAF_IDS)
def test_every_option_refuses_each_bad_value_of_its_kind(leaf: Leaf, template: Path, work: Path) -> None:
    """The sweep behind the figures of the probe (``python -m tests.tco.cli_tree``): no sampling."""
    for param in leaf.params():
        for label, value in tree.bad_values(param):
            case = Case(tree.option_args(leaf, param, value), wrong=[f"{param.name}: {label}"])
            run(case, template, work / "sweep")


def test_every_text_option_is_classified() -> None:
    """A text option is a name, a number or free text (cli_tree's lists): an unclassified one would be
    driven with the generic values only."""
    loose = [
        f"{leaf.name} {tree.flag(p) or p.name}"
        for leaf in LEAVES
        for p in leaf.params()
        if tree.unclassified(p)
    ]
    assert loose == []


def test_every_command_has_a_valid_invocation(template: Path, work: Path) -> None:
    assert sorted(tree.BASE) == sorted(leaf.name for leaf in LEAVES)
    for leaf in LEAVES:
        outcome = run(Case([*leaf.path, *tree.BASE[leaf.name]]), template, work / "base")
        assert outcome.exit_code == 0, (leaf.name, outcome.stderr)
