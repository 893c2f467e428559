"""Every value on the command line is checked while the line is read (tco/cli/options.py, issue 15 item 1):
one test per rule, each failing if its rule is removed (scripts/check_rule_tests.py removes them).

A value an option cannot take is a usage error: exit 2, one ``error:`` line naming the option and saying
what to give instead, nothing on stdout, nothing written, before any work. A command line tco can read
that asks for what cannot be stays a domain error (exit 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tco.cli.options import MAX_INT, MAX_NUMBER

TRAIN = ("estimate", "train", "--model", "llama-2-7b", "-a", "h100", "-n", "64", "-p", "aws", "--top", "1")
SERVE = ("estimate", "serve", "--model", "llama-2-7b", "-a", "h100", "-p", "aws", "--top", "1")
FRAMEWORKS = ("compare", "frameworks", "-a", "h100", "--work", "1e12")
PROCUREMENT = ("compare", "procurement", "--acc-hours", "5000", "-a", "h100", "-p", "aws")
SCENARIO = str(Path(__file__).resolve().parents[2] / "examples" / "llm_team.toml")


def usage_error(result: Any, *needles: str) -> str:
    """The one line of a usage error (exit 2), with each needle in it."""
    assert result.exit_code == 2, (result.exit_code, result.stdout[-500:], result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    assert result.stdout == ""
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def rows(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    data: list[dict[str, Any]] = result.json()
    return data


# --- rules every option has by its type (options.harden) --------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("prices", "list", "-p", ""),
        ("prices", "list", "--pricing-model", ""),
        ("estimate", "train", "--model", "llama-2-7b", "-n", ""),
        ("estimate", "train", "--model", "llama-2-7b", "--runs-per-month", ""),
        ("calibrate", "run", "-F", ""),
        ("estimate", "train", "--model", ""),
        ("runs", "show", ""),
        ("prices", "list", "-o", ""),
        ("compare", "frameworks", "-a", "h100", "--work", "1e9", "--plot", ""),
        ("plan", ""),
    ],
    ids=[
        "provider",
        "pricing-model",
        "count",
        "runs-per-month",
        "framework",
        "model",
        "run-id",
        "output",
        "plot",
        "scenario",
    ],
)
def test_an_empty_value_is_refused_never_the_default(cli: Any, args: tuple[str, ...]) -> None:
    usage_error(cli(*args), "is empty: give a value")


def test_a_blank_value_is_refused(cli: Any) -> None:
    usage_error(cli("prices", "list", "-r", "   "), "'--region'", "is empty")


def test_a_control_character_is_refused(cli: Any, tmp_path: Path) -> None:
    usage_error(cli("prices", "list", "-o", f"{tmp_path}/a\x00b.csv"), "'--output'", "control character")
    usage_error(cli("prices", "pull", "-r", "us-east-1\n"), "'--region'", "control character")
    assert list(tmp_path.iterdir()) == []


def test_a_bidirectional_control_is_refused(cli: Any, tmp_path: Path) -> None:
    """Text that a terminal would show in another order than it is (U+202E right-to-left override) or on
    another line (U+2028) is a control character too."""
    usage_error(
        cli("prices", "list", "-o", f"{tmp_path}/cost\u202ecsv.exe"), "'--output'", "control character"
    )
    usage_error(cli("prices", "list", "-r", "us-east-1\u2028"), "'--region'", "control character")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("prices", "pull", "-p", "aws", "--backoff", "nan"), "--backoff"),
        (("prices", "pull", "-p", "aws", "--timeout", "nan"), "--timeout"),
        (("prices", "list", "--min-count", "nan"), "--min-count"),
        (("prices", "list", "--max-age-days", "inf"), "--max-age-days"),
        ((*FRAMEWORKS[:4], "--work", "nan"), "--work"),
        ((*SERVE, "--ttft-s", "inf"), "--ttft-s"),
        ((*SERVE, "--requests-per-s", "1e400"), "--requests-per-s"),
        (("calibrate", "run", "--timeout", "nan"), "--timeout"),
    ],
)
def test_a_number_is_finite(cli: Any, args: tuple[str, ...], option: str) -> None:
    usage_error(cli(*args), f"'{option}'", "is not a finite number")


def test_a_number_has_a_ceiling(cli: Any) -> None:
    usage_error(
        cli(*PROCUREMENT[:2], "--acc-hours", "1e308"), "'--acc-hours'", f"give at most {MAX_NUMBER:g}"
    )
    usage_error(cli("prices", "list", "-n", str(10**30)), "'--limit'", f"give at most {MAX_INT:g}")
    assert cli(*PROCUREMENT[:2], "--acc-hours", f"{MAX_NUMBER:g}", "-a", "h100", "-p", "aws").exit_code == 0


def test_an_empty_item_of_a_list_is_refused(cli: Any) -> None:
    usage_error(cli("prices", "list", "-p", "aws,"), "'--provider'", "'aws,' has an empty item")
    usage_error(cli("prices", "list", "-a", ","), "'--accelerator'", "empty item")
    usage_error(cli(*TRAIN, "--runs-per-month", "1,,2"), "'--runs-per-month'", "empty item")


def test_an_item_given_twice_counts_once(cli: Any) -> None:
    from tests.tco.cli_tree import leaves

    [train] = [leaf.command for leaf in leaves() if leaf.name == "estimate train"]
    words = ["--runs-per-month", "2,2", "--runs-per-month", "2", "-p", "aws,gcp", "-p", "aws", "-n", "8, 8"]
    params = train.make_context("train", words).params
    assert (params["runs_per_month"], params["provider"], params["count"]) == (["2"], ["aws", "gcp"], ["8"])
    once = rows(cli(*TRAIN, "--runs-per-month", "2", "-f", "json"))
    assert rows(cli(*TRAIN, "--runs-per-month", "2,2", "--runs-per-month", "2", "-f", "json")) == once


# --- names, read by tco's one reader for each, with suggestions -------------------------------------------
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("prices", "list", "-p", "awz"), ("'--provider'", "unknown provider 'awz'", "did you mean aws")),
        ((*FRAMEWORKS, "-p", "awz"), ("'--provider'", "did you mean aws")),
        ((*PROCUREMENT, "-p", "gpc"), ("'--provider'", "did you mean gcp")),
        (("prices", "pull", "-p", "azur"), ("'--provider'", "did you mean azure")),
        (
            ("prices", "list", "-a", "h1000"),
            ("'--accelerator'", "unknown accelerator 'h1000'", "did you mean"),
        ),
        ((*PROCUREMENT[:4], "-a", "a100"), ("'--accelerator'", "ambiguous")),
        ((*FRAMEWORKS, "--kernel", "matmull"), ("'--kernel'", "did you mean 'matmul'")),
        ((*FRAMEWORKS, "--kernel", "matmul,membw"), ("'--kernel'", "name one kernel")),
        (("calibrate", "run", "-k", "matmull"), ("'--kernels'", "did you mean 'matmul'")),
        (("calibrate", "run", "-F", "pytorhc"), ("'--framework'", "did you mean 'pytorch'")),
        (("calibrate", "run", "--profile", "quik"), ("'--profile'", "did you mean quick")),
        ((*TRAIN, "--framework", "pytorch"), ("'--framework'", "now spelled 'torch'")),
        (("estimate", "train", "--model", "lama-7b"), ("'--model'", "did you mean llama-7b")),
        ((*TRAIN, "--dtype", "bf61"), ("'--dtype'", "did you mean bf16")),
        ((*SERVE, "--weight-dtype", "int3"), ("'--weight-dtype'", "did you mean")),
        ((*SERVE, "--engine", "vlm"), ("'--engine'", "unknown serving engine 'vlm'")),
        ((*SERVE, "--layout", "split"), ("'--layout'", "unknown value 'split'")),
        ((*SERVE, "--layout", ","), ("'--layout'", "names no layout")),
        ((*TRAIN, "--sort", "price"), ("'--sort'", "one of count, cost, time")),
        ((*TRAIN, "--budget-usd", "1k", "--budget-per", "year"), ("'--budget-per'", "one of run, month")),
        (("plan", SCENARIO, "--budget-per", "week"), ("'--budget-per'", "one of month, horizon")),
        ((*TRAIN, "--recompute", "some"), ("'--recompute'", "expected none, selective or full")),
        ((*TRAIN, "--pricing-model", "spto"), ("'--pricing-model'", "did you mean spot")),
        ((*FRAMEWORKS, "--pricing-model", "spto"), ("'--pricing-model'", "did you mean spot")),
        (("prices", "list", "--seller", "cloud"), ("'--seller'", "did you mean gpu_cloud")),
        ((*TRAIN, "--set", "pew=1.3"), ("'--set'", "did you mean pue")),
        ((*PROCUREMENT, "--assume-discount", "comitted_1y=0.3"), ("'--assume-discount'", "committed_1y")),
    ],
)
def test_a_name_is_known_or_refused_with_suggestions(
    cli: Any, args: tuple[str, ...], needles: tuple[str]
) -> None:
    usage_error(cli(*args), *needles)


def test_a_set_name_given_twice_with_two_values_is_refused(cli: Any) -> None:
    usage_error(
        cli(*TRAIN, "--set", "pue=1.2", "--set", "pue=1.4"), "'--set'", "pue is given twice (1.2 and 1.4)"
    )
    assert cli(*TRAIN, "--set", "pue=1.2,pue=1.2").exit_code == 0


def test_a_discount_is_a_commitment_model_and_a_fraction_once(cli: Any) -> None:
    usage_error(cli(*PROCUREMENT, "--assume-discount", "spot=0.3"), "one of reserved_1y")
    usage_error(cli(*PROCUREMENT, "--assume-discount", "committed_1y=nan"), "a fraction in [0, 1)")
    usage_error(cli(*PROCUREMENT, "--assume-discount", "committed_1y=1"), "a fraction in [0, 1)")
    twice = cli(*PROCUREMENT, "--assume-discount", "committed_1y=0.3,committed_1y=0.4")
    usage_error(twice, "committed_1y is given twice")


def test_an_endpoint_is_a_url(cli: Any) -> None:
    usage_error(cli("prices", "pull", "-p", "aws", "--endpoint", "not a url"), "'--endpoint'", "spaces")
    usage_error(cli("prices", "pull", "-p", "aws", "--endpoint", "http://x:99999"), "'--endpoint'")


def test_a_picture_is_named_by_its_format(cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "budget.csv"
    target.write_text("precious")
    usage_error(
        cli("plan", SCENARIO, "--plot", str(target)), "'--plot'", "end the file name in .png, .svg, .pdf"
    )
    usage_error(cli(*FRAMEWORKS, "--plot", str(tmp_path / "bars")), "'--plot'", ".png")
    assert target.read_text() == "precious"


# --- numbers, by what they mean --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("estimate", "train", "--params", "0", "--tokens", "1e12"), ("'--params'", "must be > 0")),
        ((*TRAIN, "--global-batch-tokens", "0"), ("'--global-batch-tokens'", "must be > 0")),
        ((*SERVE, "--active-params", "-5"), ("'--active-params'", "must be > 0")),
        ((*TRAIN, "--budget-usd", "-5"), ("'--budget-usd'", "must be > 0")),
        (("plan", SCENARIO, "--budget-usd", "0"), ("'--budget-usd'", "must be > 0")),
        (("estimate", "train", "--params", "7e9", "--tokens", "1e999"), ("'--tokens'", "is too large")),
        (("estimate", "train", "--flops", "nan"), ("'--flops'", "cannot read 'nan'")),
    ],
)
def test_a_quantity_is_a_finite_number_above_zero(
    cli: Any, args: tuple[str, ...], needles: tuple[str]
) -> None:
    usage_error(cli(*args), *needles)


def test_counts_are_whole_numbers_within_reach(cli: Any) -> None:
    usage_error(cli(*TRAIN[:4], "-n", "0"), "'--count'", "whole numbers >= 1, got '0'")
    usage_error(cli(*TRAIN[:4], "-n", "8.5"), "'--count'", "whole numbers")
    usage_error(cli(*SERVE[:4], "-n", "1e8"), "'--count'", "is too large")


def test_runs_per_month_are_finite_and_positive(cli: Any) -> None:
    usage_error(cli(*TRAIN, "--runs-per-month", "nan"), "'--runs-per-month'", "cannot read 'nan'")
    usage_error(cli(*TRAIN, "--runs-per-month", "0"), "'--runs-per-month'", "must be numbers > 0")
    usage_error(cli(*TRAIN, "--runs-per-month", "inf"), "'--runs-per-month'")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        ((*FRAMEWORKS[:4], "--work", "0"), "--work"),
        ((*PROCUREMENT[:2], "--acc-hours", "-1"), "--acc-hours"),
        ((*TRAIN, "--price-usd-per-hour", "0"), "--price-usd-per-hour"),
        (("estimate", "train", "--samples", "1e6", "--epochs", "-1"), "--epochs"),
        ((*SERVE, "--tpot-s", "0"), "--tpot-s"),
        ((*SERVE, "--prompt-tokens", "-512"), "--prompt-tokens"),
    ],
)
def test_an_amount_is_above_zero(cli: Any, args: tuple[str, ...], option: str) -> None:
    usage_error(cli(*args), f"'{option}'", "must be > 0")


@pytest.mark.parametrize("option", ["--mfu", "--goodput", "--scaling-efficiency"])
@pytest.mark.parametrize("value", ["0", "1.5"])
def test_a_fraction_is_in_zero_one(cli: Any, option: str, value: str) -> None:
    usage_error(cli(*TRAIN, option, value), f"'{option}'", "a fraction in (0, 1]")


def test_serving_fractions_and_hours(cli: Any) -> None:
    usage_error(cli(*SERVE, "--mbu", "2"), "'--mbu'", "a fraction in (0, 1]")
    usage_error(cli(*SERVE, "--prefill-efficiency", "0"), "'--prefill-efficiency'", "a fraction")
    usage_error(cli(*SERVE, "--hours-per-day", "25"), "'--hours-per-day'", "at most 24")
    assert cli(*SERVE, "--hours-per-day", "24").exit_code == 0


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("prices", "pull", "--timeout", "3601"), "--timeout"),
        (("prices", "pull", "--max-attempts", "101"), "--max-attempts"),
        (("prices", "pull", "--backoff", "601"), "--backoff"),
        (("calibrate", "run", "--threads", "4097"), "--threads"),
        (("calibrate", "run", "--timeout", "604801"), "--timeout"),
    ],
)
def test_retries_timeouts_and_threads_have_sensible_bounds(
    cli: Any, args: tuple[str, ...], option: str
) -> None:
    usage_error(cli(*args), f"'{option}'", "is not in the range")


@pytest.mark.parametrize(
    "args",
    [
        ("prices", "list", "-a", "h100"),
        ("runs", "list"),
        ("plan", SCENARIO),
        TRAIN,
        ("-f", "xlsx", "estimate", "models"),
        ("prices", "pull", "-p", "aws", "--endpoint", "http://127.0.0.1:9"),  # a dead local port, never used
    ],
)
def test_a_workbook_needs_an_output_file(cli: Any, args: tuple[str, ...]) -> None:
    usage_error(
        cli(*args, "-f", "xlsx") if "-f" not in args else cli(*args), "'--format'", "add --output FILE.xlsx"
    )


# --- the root options and the environment ------------------------------------------------------------------
def test_an_empty_home_is_an_error_not_the_working_directory(
    cli: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    usage_error(cli("--home", "", "estimate", "models"), "'--home'", "is empty")
    usage_error(cli("--home", " ", "prices", "books"), "'--home'", "is empty")
    usage_error(cli("estimate", "models", env={"TCO_HOME": ""}), "TCO_HOME", "set but empty")
    assert list(tmp_path.iterdir()) == []


def test_a_home_that_is_a_file_is_refused_by_every_command(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    usage_error(cli("estimate", "models", env={"TCO_HOME": str(tmp_path / "file")}), "is a file")
    usage_error(cli("--home", str(tmp_path / "file"), "runs", "list"), "is a file")


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "-1", " "])
def test_the_price_age_variable_is_a_finite_number_of_days(cli: Any, value: str) -> None:
    usage_error(cli("estimate", "models", env={"TCO_PRICE_MAX_AGE_DAYS": value}), "TCO_PRICE_MAX_AGE_DAYS")
    helped = cli("--help", env={"TCO_PRICE_MAX_AGE_DAYS": value})
    assert helped.exit_code == 0 and "Usage" in helped.stdout and helped.stderr == ""


@pytest.mark.parametrize("variable", ["TCO_PRICE_BOOK", "TCO_DEBUG", "TCO_PRICE_MAX_AGE_DAYS"])
def test_a_variable_set_but_empty_is_refused(cli: Any, variable: str) -> None:
    usage_error(cli("estimate", "models", env={variable: ""}), variable, "set but empty")


def test_a_failing_command_line_leaves_the_output_file_alone(cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "rows.json"
    target.write_text(json.dumps({"precious": True}))
    usage_error(cli(*TRAIN, "--runs-per-month", "nan", "-f", "json", "-o", str(target)), "'--runs-per-month'")
    usage_error(cli(*TRAIN[:4], "-n", "", "-f", "json", "-o", str(target)), "'--count'")
    assert json.loads(target.read_text()) == {"precious": True}
    assert [p.name for p in tmp_path.iterdir()] == ["rows.json"]


def test_every_option_of_every_command_gets_the_rules_of_its_type() -> None:
    """options.harden reaches every parameter: each refuses an empty value while it is converted."""
    from typer import BadParameter

    from tests.tco.cli_tree import leaves, root_params

    params = [p for leaf in leaves() for p in leaf.params()] + root_params()
    refused = 0
    for param in params:
        if getattr(param.type, "name", "") == "boolean":
            continue
        with pytest.raises(BadParameter, match="is empty"):
            param.type.convert("", param, None)
        refused += 1
    assert refused >= 150
