"""plan, procure and compare_frameworks through the library; one vocabulary and one --set parser for every
command (pricing models, framework names, accelerator aliases, pue=nan)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tco.api import FrameworkRequest, PlanRequest, ProcurementRequest, compare_frameworks, plan, procure
from tco.api import inputs as read
from tco.errors import TcoError

ROOT = Path(__file__).resolve().parents[3]
SCENARIO = """
[scenario]
name = "vocabulary"
horizon_months = 2

[[training]]
name = "7B"
parameters = 7e9
tokens = 2e10
accelerators = ["H100-80GB"]
accelerator_count = 8
runs_per_month = 1
framework = "{framework}"

[options]
providers = ["aws"]
pricing_models = [{models}]
"""


def scenario(tmp_path: Path, framework: str = "torch", models: str = '"on_demand"') -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(SCENARIO.format(framework=framework, models=models))
    return path


def test_plan_takes_the_estimates_pricing_models_and_framework_names(tmp_path: Path) -> None:
    result = plan(PlanRequest(scenario(tmp_path, models='"on_demand", "savings_plan_1y"'))).result
    assert result.choices["pricing_model"].eq("on_demand").all()
    assert any("no savings_plan_1y prices" in n for n in result.notes)
    with pytest.raises(
        TcoError, match=r"plan.toml:13: training\[1\].framework: framework 'pytorch' is now spelled 'torch'"
    ):
        plan(PlanRequest(scenario(tmp_path, framework="pytorch")))
    with pytest.raises(TcoError, match="between 1 and 50"):
        PlanRequest(scenario(tmp_path), top=0)


def test_plan_cli_accepts_savings_plan_and_says_pytorch_is_torch(cli: Any, tmp_path: Path) -> None:
    ok = cli("plan", str(scenario(tmp_path, models='"savings_plan_1y", "on_demand"')), "-f", "json")
    assert ok.exit_code == 0, ok.stderr
    old = cli("plan", str(scenario(tmp_path, framework="pytorch")))
    assert old.exit_code == 1 and old.stderr.count("\n") == 1
    assert "framework 'pytorch' is now spelled 'torch'" in old.stderr


def test_compare_commands_take_accelerator_aliases(cli: Any) -> None:
    procurement = cli("compare", "procurement", "--acc-hours", "5000", "-a", "h100", "-f", "json")
    assert procurement.exit_code == 0, procurement.stderr
    assert "H100-80GB accelerator-hours" in procurement.stderr
    frameworks = cli("compare", "frameworks", "-a", "h100", "--work", "1e9", "-f", "json")
    assert frameworks.exit_code == 0, frameworks.stderr
    assert {r["accelerator"] for r in frameworks.json()} == {"H100-80GB"}
    ambiguous = cli("compare", "procurement", "--acc-hours", "5000", "-a", "a100")
    assert ambiguous.exit_code == 2 and "ambiguous" in ambiguous.stderr


@pytest.mark.parametrize(
    "command",
    [("estimate", "train", "--model", "llama-2-7b"), ("compare", "procurement", "--acc-hours", "100")],
)
def test_one_set_parser_answers_alike_in_every_command(cli: Any, command: tuple[str, ...]) -> None:
    for value, message in (
        ("nan", "must be a finite number >= 0, got nan"),
        ("-1", "must be a finite number >= 0, got -1"),
        ("x", "'x' is not a number"),
    ):
        result = cli(*command, "--set", f"pue={value}")
        assert result.exit_code == 2, result.stdout
        where = f"(see 'tco {' '.join(command[:2])} --help')"
        assert result.stderr.strip() == f"error: Invalid value for '--set': pue: {message} {where}"


def test_set_names_are_the_commands_own() -> None:
    assert read.settings(["utilisation=0.8"], groups=("ownership", "procurement")).get("utilisation") == 0.8
    with pytest.raises(TcoError, match="unknown name 'utilisation'"):
        read.settings(["utilisation=0.8"], groups=("training", "ownership"))
    with pytest.raises(TcoError, match="did you mean pue"):
        read.settings(["pew=1.2"])


def test_procure_and_frameworks_requests() -> None:
    with pytest.raises(TcoError, match="one of them"):
        ProcurementRequest("h100")
    with pytest.raises(TcoError, match="--acc-hours must be > 0"):
        ProcurementRequest("h100", acc_hours_per_month=0.0)
    outcome = procure(ProcurementRequest("h100", scenario=ROOT / "examples" / "llm_team.toml"))
    assert outcome.provenance.notes[0].startswith("demand from llm_team.toml:")
    assert outcome.comparison.accelerator == "H100-80GB"
    with pytest.raises(TcoError, match="--work must be > 0"):
        FrameworkRequest("h100", 0.0)
    none = compare_frameworks(FrameworkRequest("h100", 1e9))
    assert none.rows["status"].str.startswith("no calibration").all()
    assert "no calibration results found" in none.provenance.notes[0]


def test_inputs_read_what_users_type() -> None:
    assert read.quantity("6.7B", "--params") == pytest.approx(6.7e9)
    assert read.counts(["8,64", "8"], "1", "--count") == (8, 64)
    assert read.frameworks("all") == ("torch", "jax", "tensorflow")
    with pytest.raises(TcoError, match="is now spelled 'tensorflow'"):
        read.frameworks("tf")
    assert read.pricing_models(["spot,owned"]) == ("spot", "owned") and read.pricing_models(["all"]) == ()
    assert read.discounts(["committed_1y=0.3"]) == {"committed_1y": 0.3}
