"""Hostile scenario files: each gives one line naming the file (and the line and key where there is one)
and exits 1, never a traceback, a RecursionError, a silent default or a machine out of memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

TRAIN = """[scenario]
name = "team"
horizon_months = 3

[[training]]
name = "run"
parameters = 7e9
tokens = 2e9
accelerators = ["H100-80GB"]
accelerator_count = 8
runs_per_month = 1
{extra}
[options]
providers = ["aws"]
pricing_models = ["on_demand"]
{options}"""


def scenario(tmp_path: Path, extra: str = "", options: str = "", **replace: str) -> Path:
    text = TRAIN.format(extra=extra, options=options)
    for key, value in replace.items():
        text = "\n".join(
            f"{key} = {value}" if line.startswith(f"{key} = ") else line for line in text.splitlines()
        )
    path = tmp_path / "team.toml"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def one_line(result: Any) -> str:
    """The single ``error:`` line of a failed plan (exit 1, nothing on stdout)."""
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert lines[0].startswith("error: "), lines[0]
    return lines[0].removeprefix("error: ")


def test_the_plan_runs_on_the_base_scenario(cli: Any, tmp_path: Path) -> None:
    """The scenario every test breaks one way is a valid one."""
    assert cli("plan", str(scenario(tmp_path)), "-f", "csv").exit_code == 0


# ----------------------------------------------------------------------------------------- size and shape


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_arrays_nested_beyond_the_parser(cli: Any, tmp_path: Path, depth: int) -> None:
    path = scenario(tmp_path, accelerators="[" * depth + "]" * depth)
    assert one_line(cli("plan", str(path))) == (
        "team.toml: arrays or inline tables nested too deeply to be a scenario (8 levels at most)"
    )


def test_inline_tables_nested_beyond_the_parser(cli: Any, tmp_path: Path) -> None:
    path = scenario(tmp_path, extra="deep = " + "{a = " * 1_000 + "1" + "}" * 1_000)
    assert "nested too deeply to be a scenario" in one_line(cli("plan", str(path)))


def test_nesting_the_parser_takes_but_no_scenario_has(cli: Any, tmp_path: Path) -> None:
    path = scenario(tmp_path, accelerators="[" * 50 + '"H100-80GB"' + "]" * 50)
    assert one_line(cli("plan", str(path))) == (
        "team.toml: training[1].accelerators[1][1][1][1][1][1]: nested more than 8 levels deep "
        "(tables and arrays)"
    )


def test_a_file_larger_than_any_scenario(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    with path.open("wb") as handle:
        handle.truncate(33 * 2**20)
    assert one_line(cli("plan", str(path))) == (
        "huge.toml: more than 32 MiB, too large for a scenario file (10,000 workloads take about 2 MiB)"
    )


def test_a_device_that_never_ends_is_read_up_to_the_limit(cli: Any) -> None:
    assert "zero: more than 32 MiB" in one_line(cli("plan", "/dev/zero"))


def test_more_workloads_than_a_plan_takes(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tco.plan.scenario

    monkeypatch.setattr(tco.plan.scenario, "MAX_WORKLOADS", 2)
    second = '[[training]]\nname = "two"\nparameters = 1e9\ntokens = 1e9\naccelerators = ["H100-80GB"]\n'
    third = second.replace('"two"', '"three"')
    path = scenario(tmp_path, extra=second + "accelerator_count = 8\nruns_per_month = 1\n" + third)
    assert one_line(cli("plan", str(path))) == (
        "team.toml: 3 workloads, more than one plan takes (2): split the scenario"
    )


# ------------------------------------------------------------------------------------------------ numbers


@pytest.mark.parametrize(
    ("key", "value", "line"),
    [
        ("tokens", "inf", 8),
        ("tokens", "+inf", 8),
        ("parameters", "-inf", 7),
        ("runs_per_month", "nan", 11),
        ("tokens", "1" + "0" * 400, 8),
    ],
)
def test_non_finite_numbers(cli: Any, tmp_path: Path, key: str, value: str, line: int) -> None:
    message = one_line(cli("plan", str(scenario(tmp_path, **{key: value}))))
    shown = value.removeprefix("+") if len(value) < 20 else value[:77] + "..."
    assert message == f"team.toml:{line}: training[1].{key}: expected a finite number, not {shown}"


def test_a_budget_of_infinity(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(
        scenario(tmp_path).read_text().replace("horizon_months = 3", "horizon_months = 3\nbudget_usd = inf")
    )
    assert one_line(cli("plan", str(path))) == (
        "team.toml:4: scenario.budget_usd: expected a finite number, not inf"
    )


def test_counts_beyond_any_cluster(cli: Any, tmp_path: Path) -> None:
    message = one_line(cli("plan", str(scenario(tmp_path, accelerator_count="10000000"))))
    assert (
        message == "team.toml:10: training[1].accelerator_count: expected an integer <= 1e+06, got 10000000"
    )


def test_a_long_wrong_value_is_cut_short(cli: Any, tmp_path: Path) -> None:
    message = one_line(cli("plan", str(scenario(tmp_path, runs_per_month='"' + "x" * 100_000 + '"'))))
    assert message.startswith("team.toml:11: training[1].runs_per_month: expected a number, got 'xxx")
    assert message.endswith("x...") and len(message) < 200


# ----------------------------------------------------------------------------------------- lists and text


@pytest.mark.parametrize(
    ("where", "text", "expected"),
    [
        ("accelerators", "[]", "team.toml:9: training[1].accelerators: expected at least one entry"),
        (
            "providers",
            "[]",
            "team.toml:14: options.providers: expected at least one entry (leave providers out for every "
            "provider)",
        ),
        (
            "pricing_models",
            "[]",
            "team.toml:15: options.pricing_models: expected at least one entry (leave pricing_models out "
            "for on_demand and spot)",
        ),
        (
            "accelerators",
            '["H100-80GB", " "]',
            "team.toml:9: training[1].accelerators: expected a list of non-empty strings, got "
            "['H100-80GB', ' ']",
        ),
    ],
)
def test_empty_lists_and_blank_entries(
    cli: Any, tmp_path: Path, where: str, text: str, expected: str
) -> None:
    assert one_line(cli("plan", str(scenario(tmp_path, **{where: text})))) == expected


def test_an_empty_list_of_regions_is_not_every_region(cli: Any, tmp_path: Path) -> None:
    path = scenario(tmp_path, options="regions = []")
    assert one_line(cli("plan", str(path))) == (
        "team.toml:16: options.regions: expected at least one entry (leave regions out for every region)"
    )


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("name", '"chat\\nendpoint"', "'chat\\nendpoint'"),
        ("name", '"\\u001b[31mred"', "'\\x1b[31mred'"),
        ("accelerators", '["H100-80GB\\r"]', "'H100-80GB\\r'"),
    ],
)
def test_control_characters(cli: Any, tmp_path: Path, key: str, value: str, shown: str) -> None:
    text = (
        scenario(tmp_path)
        .read_text()
        .replace('name = "run"', "name = " + value if key == "name" else 'name = "run"')
    )
    if key != "name":
        text = text.replace('accelerators = ["H100-80GB"]', f"accelerators = {value}")
    path = tmp_path / "team.toml"
    path.write_text(text)
    line = 6 if key == "name" else 9
    assert one_line(cli("plan", str(path))) == (
        f"team.toml:{line}: training[1].{key}: expected text without control characters (line breaks, "
        f"escapes), got {shown}"
    )


@pytest.mark.parametrize("name", ["total", "storage", "people"])
def test_a_workload_named_like_a_budget_item(cli: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / "team.toml"
    path.write_text(scenario(tmp_path).read_text().replace('name = "run"', f'name = "{name}"'))
    assert one_line(cli("plan", str(path))) == (
        f"team.toml:6: training[1].name: expected a name other than storage, egress, tooling, people, total "
        f"(the budget's own items), got '{name}'"
    )


# --------------------------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("where", "text", "expected"),
    [
        (
            "regions",
            '["us-east-1", "us-east-9"]',
            "team.toml:16: options.regions: unknown region 'us-east-9' (did you mean",
        ),
        (
            "providers",
            '["aws", "awz"]',
            "team.toml:14: options.providers: unknown provider 'awz' (did you mean",
        ),
        (
            "pricing_models",
            '["on-demand"]',
            "team.toml:15: options.pricing_models: unknown pricing model 'on-demand' (did you mean on_demand",
        ),
    ],
)
def test_unknown_names_say_where_and_suggest(
    cli: Any, tmp_path: Path, where: str, text: str, expected: str
) -> None:
    path = scenario(tmp_path, options=f"regions = {text}" if where == "regions" else "")
    if where != "regions":
        path.write_text(path.read_text().replace(f"{where} = ", f"{where} = {text}\n#", 1))
    assert one_line(cli("plan", str(path))).startswith(expected)


def test_known_regions_still_plan(cli: Any, tmp_path: Path) -> None:
    result = cli("plan", str(scenario(tmp_path, options='regions = ["us-east-1"]')), "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert "cheapest: aws us-east-1," in result.stderr
