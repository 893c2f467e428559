"""Scenario files: broken ones fail with one precise line; the examples turn into budgets."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from calibrate.peaks import load_peaks
from pricing.catalog import load_catalog
from tco.plan.scenario import load_scenario, locate
from tests.tco.helpers import plan_result

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "data" / "scenarios"
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing_key.toml", "missing_key.toml:5: training[1]: missing required key 'tokens'"),
        ("wrong_type.toml", "wrong_type.toml:11: training[1].runs_per_month: expected a number, got 'twice'"),
        ("negative.toml", "negative.toml:8: serving[1].requests_per_s: expected a number >= 0, got -5"),
        (
            "unknown_accelerator.toml",
            "unknown_accelerator.toml:17: training[2].accelerators: unknown accelerator 'H100'",
        ),
    ],
)
def test_broken_scenarios_give_one_precise_line(cli, name: str, expected: str) -> None:
    result = cli("plan", str(BROKEN / name))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: " + expected), lines[0]
    assert result.stdout == ""


def test_unknown_key_and_invalid_toml(cli, tmp_path: Path) -> None:
    bad = tmp_path / "typo.toml"
    bad.write_text('[scenario]\nname = "x"\nhorizon_months = 2\nhorizon_mnths = 3\n')
    result = cli("plan", str(bad))
    assert result.exit_code == 1
    assert (
        "typo.toml:4: scenario.horizon_mnths: unknown key (did you mean 'horizon_months'?)" in result.stderr
    )
    broken = tmp_path / "broken.toml"
    broken.write_text("[scenario\n")
    result = cli("plan", str(broken))
    assert result.exit_code == 1 and "broken.toml: invalid TOML" in result.stderr


def test_locate_finds_keys_in_arrays_of_tables() -> None:
    text = "[a]\nx = 1\n[[t]]\nk = 1\n[[t]]\n\nk = 2\n"
    assert locate(text, "t", 1, "k") == 7
    assert locate(text, "t", 0, "k") == 4
    assert locate(text, "a", None, "x") == 2
    assert locate(text, "t", 1, "missing") == 5


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_budget_is_consistent(path: Path) -> None:
    peaks = load_peaks()
    result = plan_result(load_scenario(path, accelerators=set(peaks)), load_catalog().offers)
    budget = result.budget
    assert len(budget) == result.scenario.horizon_months
    parts = [c for c in budget.columns if c not in ("month", "total_usd")]
    assert (budget[parts].sum(axis=1) - budget["total_usd"]).abs().max() < 1e-6
    # the cheapest option's horizon total is the budget's total, and the ranking is sorted
    assert budget["total_usd"].sum() == pytest.approx(result.options["total_usd"].iloc[0], rel=1e-12)
    assert result.options["total_usd"].is_monotonic_increasing
    assert (budget[parts] >= 0).all().all()


def test_growth_scales_training_cost_geometrically() -> None:
    peaks = load_peaks()
    scenario = load_scenario(ROOT / "examples" / "llm_team.toml", accelerators=set(peaks))
    budget = plan_result(scenario, load_catalog().offers).budget
    ratio = budget["fine-tunes_usd"].iloc[1] / budget["fine-tunes_usd"].iloc[0]
    assert ratio == pytest.approx(1 + scenario.growth_per_month)


def test_plan_csv_has_units_in_headers_and_all_months(cli) -> None:
    result = cli("plan", str(ROOT / "examples" / "vision_startup.toml"), "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 6
    assert next(iter(rows[0])) == "month" and all(h.endswith("_usd") for h in list(rows[0])[1:])
    assert "cheapest:" in result.stderr


def test_plan_xlsx_needs_output(cli) -> None:
    result = cli("plan", str(ROOT / "examples" / "vision_startup.toml"), "--format", "xlsx")
    assert result.exit_code == 2 and "--output" in result.stderr  # a usage error


SERVE = """[scenario]
name = "chat"
horizon_months = 1

[[serving]]
name = "chat"
{model}
requests_per_s = 5
output_tokens_per_request = 200
accelerators = ["H100-80GB"]

[options]
providers = ["aws"]
pricing_models = ["on_demand"]
"""


def test_serving_model_preset_gives_the_shape(tmp_path: Path) -> None:
    from tco.presets import find_model

    path = tmp_path / "chat.toml"
    path.write_text(SERVE.format(model='model = "Llama-3-8B"'))
    scenario = load_scenario(path, accelerators=set(load_peaks()))
    preset = find_model("llama-3-8b")
    assert scenario.serving[0].model == "llama-3-8b"
    assert scenario.serving[0].parameters == float(preset["params"])
    result = plan_result(scenario, load_catalog().offers)
    source = result.assumptions.set_index("key")["source"]
    rps = [k for k in source.index if k.endswith("requests_per_s_per_replica")]
    assert rps and "model preset llama-3-8b" in source[rps[0]]
    # without a preset the shape is inferred, and the workbook says so
    path.write_text(SERVE.format(model="parameters = 8.03e9"))
    inferred = plan_result(load_scenario(path, accelerators=set(load_peaks())), load_catalog().offers)
    source = inferred.assumptions.set_index("key")["source"]
    assert "shape inferred from the parameter count" in source[rps[0]]
    # the preset's real shape (GQA: 8 KV heads) is not the inferred one: the throughput differs
    a = result.choices["tokens_per_s_per_replica"].iloc[0]
    b = inferred.choices["tokens_per_s_per_replica"].iloc[0]
    assert a != pytest.approx(b, rel=1e-6)


TRAIN_PRESET = """
[scenario]
name = "pretrain"
horizon_months = 1

[[training]]
name = "run"
{model}
tokens = 1e11
accelerators = ["H100-80GB"]
accelerator_count = 64
runs_per_month = 1
"""


@pytest.mark.parametrize(
    ("name", "model", "expected"),
    [
        (
            "chat",
            'model = "llama-3-8"',
            "chat.toml:7: serving[1].model: unknown model preset 'llama-3-8' (did",
        ),
        (
            "chat",
            'model = "bert-base"',
            "chat.toml:7: serving[1].model: expected a generative (decoder) model",
        ),
        (
            "chat",
            'model = "llama-3-8b"\nparameters = 8e9',
            "chat.toml:8: serving[1].parameters: give model or",
        ),
        ("run", 'model = "resnet-50"', "run.toml:8: training[1].model: expected a transformer model preset"),
        (
            "run",
            'model = "llama-2-7b"\nparameters = 7e9',
            "run.toml:9: training[1].parameters: give model or",
        ),
        ("run", 'parameters = 7e9\nrecompute = "some"', "run.toml:9: training[1].recompute: expected one of"),
        ("run", "parameters = 7e9\nglobal_batch_tokens = 0", "run.toml:9: training[1].global_batch_tokens:"),
    ],
)
def test_presets_and_layout_keys_are_checked(
    cli, tmp_path: Path, name: str, model: str, expected: str
) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text((SERVE if name == "chat" else TRAIN_PRESET).format(model=model))
    result = cli("plan", str(path))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + expected), result.stderr


def test_a_training_preset_gives_the_shape_and_the_published_batch(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(TRAIN_PRESET.format(model='model = "llama-2-7b"'))
    scenario = load_scenario(path, accelerators=set(load_peaks()))
    assert scenario.training[0].model == "llama-2-7b" and scenario.training[0].parameters == 6.74e9
    result = plan_result(scenario, load_catalog().offers)
    work = result.assumptions.set_index("key").loc["t1.train_flops"]
    assert "model preset llama-2-7b" in work["source"]
    path.write_text(TRAIN_PRESET.format(model="parameters = 6.74e9"))
    bare = plan_result(load_scenario(path, accelerators=set(load_peaks())), load_catalog().offers)
    # the preset's layers, hidden size and sequence length add the attention FLOPs a bare count has not
    assert work["value"] > bare.assumptions.set_index("key").loc["t1.train_flops", "value"]
