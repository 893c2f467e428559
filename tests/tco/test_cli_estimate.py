"""`tco estimate train|serve|models` as a user runs them: offline, embedded prices, a fresh TCO_HOME."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tco.presets import load_mfu_defaults

H100_DEFAULT_MFU = float(
    load_mfu_defaults().set_index(["accelerator", "dtype"]).loc[("H100-80GB", "bf16"), "mfu"]
)


def argv(*lines: str) -> list[str]:
    """The words of a command line, given as one or more strings (no argument here contains white space)."""
    return [word for line in lines for word in line.split()]


REQUIRED = (
    "accelerator",
    "accelerator_count",
    "provider",
    "region",
    "instance_type",
    "pricing_model",
    "framework",
    "throughput_source",
    "mfu",
    "scaling_efficiency",
    "goodput",
    "wall_hours",
    "accelerator_hours",
    "price_usd_per_accelerator_hour",
    "cost_usd_per_run",
    "runs_per_month",
    "cost_usd_per_month",
    "cost_usd_per_year",
    "cost_usd_low",
    "cost_usd_high",
    "price_source",
    "price_date",
)


def test_train_json_rows_have_every_field_and_their_sources(cli: Any) -> None:
    result = cli(*argv("estimate train --model llama-2-7b -a h100 --count 8,64 --top 0 -f json"))
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    assert len(rows) > 10
    # every seller (pricing.schema.PROVIDERS): hyperscalers, GPU clouds and marketplaces side by side
    assert {r["provider"] for r in rows} >= {"aws", "gcp", "azure", "oci", "lambda", "nebius", "owned"}
    for row in rows:
        assert set(REQUIRED) <= set(row)
        assert row["accelerator"] == "H100-80GB" and row["accelerator_count"] in (8, 64)
        assert row["cost_usd_low"] <= row["cost_usd_per_run"] <= row["cost_usd_high"]
        assert row["throughput_source"] == "assumed MFU"
        assert row["mfu"] == pytest.approx(H100_DEFAULT_MFU * row["model_efficiency"])
        assert "§8" in row["throughput_detail"] and row["goodput_source"] and row["scaling_source"]
        assert row["price_source"] and (row["price_date"] or row["provider"] == "owned")
    # Default order: by count, cheapest first within a count; one row per provider, pricing model and count.
    keys = [(r["accelerator_count"], r["cost_usd_per_run"]) for r in rows]
    assert keys == sorted(keys)
    groups = [(r["provider"], r["pricing_model"], r["accelerator_count"]) for r in rows]
    assert len(groups) == len(set(groups))
    prices = next(line for line in result.stderr.splitlines() if line.startswith("prices: "))
    assert "aws embedded (as of" in prices and "lambda embedded (as of" in prices
    every = cli(
        *argv(
            "estimate train --model llama-2-7b -a h100 --count 8,64 --top 0",
            "--all-instances --sort cost -f json",
        )
    ).json()
    assert len(every) > len(rows)
    costs = [r["cost_usd_per_run"] for r in every]
    assert costs == sorted(costs)


def test_train_golden_through_the_cli(cli: Any) -> None:
    """6 x 1e9 x 1e11 FLOP at 8 x 989 TFLOP/s x MFU 0.5 x scaling 1 x goodput 1, $2 per accelerator-hour."""
    result = cli(
        *argv(
            "estimate train --params 1e9 --tokens 100B -a h100 --count 8 --mfu 0.5",
            "--goodput 1 --scaling-efficiency 1 --price-usd-per-hour 2",
            "--runs-per-month 2 -f json",
        )
    )
    assert result.exit_code == 0, result.stderr
    row = result.json()[0]
    wall = 6 * 1e9 * 1e11 / (8 * 989e12 * 0.5) / 3600
    assert row["wall_hours"] == pytest.approx(wall)
    assert row["cost_usd_per_run"] == pytest.approx(8 * 2 * wall)
    assert row["cost_usd_per_month"] == pytest.approx(2 * 8 * 2 * wall)
    assert row["cost_usd_per_year"] == pytest.approx(24 * 8 * 2 * wall)
    assert row["throughput_source"] == "override (--mfu)" and row["price_source"].startswith("override")
    assert row["cost_usd_low"] == pytest.approx(row["cost_usd_per_run"])  # every spread was overridden


def test_train_table_reads_at_a_glance(cli: Any) -> None:
    result = cli(*argv("estimate train --model llama-2-7b -a h100 --count 8,64 --top 5"))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for header in ("Provider", "Instance", "Pricing", "Wall", "$/run", "range", "$/month"):
        assert header in out
    assert "Training llama-2-7b" in out and "9.38e+22 FLOP" in out
    assert out.count("H100-80GB") >= 10
    assert "showing 10 of" in result.stderr and "at most 5 per accelerator count" in result.stderr


def test_explain_lists_every_input_and_source(cli: Any) -> None:
    table = cli(
        *argv("estimate train --model llama-2-7b -a h100 --count 64 --provider aws", "--top 2 --explain")
    )
    assert table.exit_code == 0, table.stderr
    text = " ".join(table.stdout.split())
    for fragment in (
        "How each number was made",
        "train_flops =",
        "peak 989 TFLOP/s",
        "goodput: 0.85",
        "llm-foundry",
        "skypilot-catalog",
        "assumptions (override with --set NAME=VALUE",
    ):
        assert fragment in text, fragment
    rows = cli(
        *argv("estimate train --model llama-2-7b -a h100 --count 64 --top 1 --explain", "-f json")
    ).json()
    assert "rate: n x R x scaling x goodput" in rows[0]["explain"]


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        # a value the option cannot take: a usage error while the command line is read (tco.cli.options)
        (("--params", "0", "--tokens", "1e12"), "Invalid value for '--params': must be > 0", 2),
        (("--params", "7e9", "--tokens", "-5"), "Invalid value for '--tokens': must be > 0", 2),
        (("--model", "llama-2-7b", "--mfu", "1.5"), "must be a fraction in (0, 1], got 1.5", 2),
        (("--model", "lama-7b"), "did you mean llama-7b", 2),
        (("--params", "7x", "--tokens", "1T"), "cannot read '7x'", 2),
        (("--model", "llama-2-7b", "--set", "pue=high"), "not a number", 2),
        (("--model", "llama-2-7b", "--set", "pew=1.3"), "did you mean pue", 2),
        (("--model", "llama-2-7b", "--recompute", "some"), "expected none, selective or full", 2),
        # a command line tco can read that asks for what cannot be: a domain error
        (("--model", "llama-2-7b", "-a", "mi300x", "-p", "aws"), "no price for MI300X", 1),
        (("--model", "llama-2-7b", "-a", "k80", "--price-usd-per-hour", "2"), "no dense peak for K80", 1),
        (("--model", "resnet-50", "-a", "a100-80"), "no per-sample throughput", 1),
        (("-a", "h100"), "nothing to estimate", 1),
        (("--model", "gpt2", "-a", "h100"), "needs tokens", 1),
        (("--model", "llama-2-7b", "--pricing-model", "owned", "-a", "l4"), "no owned-hardware capex", 1),
        (("--model", "llama-2-7b", "--set", "engineering_hours_per_month=10"), "needs both hours", 1),
    ],
)
def test_invalid_workloads_fail_with_one_line(
    cli: Any, args: tuple[str, ...], message: str, code: int
) -> None:
    result = cli("estimate", "train", *args)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error:")
    assert result.stdout == ""


def test_usage_errors_exit_2(cli: Any) -> None:
    assert cli("estimate", "train", "--bogus").exit_code == 2
    assert cli(*argv("estimate train --top -1 --model gpt2")).exit_code == 2


def test_calibration_of_one_framework_is_used_and_named(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calibration = pd.DataFrame(
        [
            {
                "run_id": "run7",
                "framework": "jax",
                "accelerator": "A100-80GB",
                "device_count": 1,
                "kernel": "train_transformer",
                "variant": "small",
                "dtype": "bf16",
                "median_s": 1.0,
                "p10_s": 0.95,
                "p90_s": 1.1,
                "throughput": 5e4,
                "throughput_unit": "tokens_per_s",
                "achieved_tflop_per_s": 187.2,
                "utilisation": 0.6,
                "measured_at": "2026-01-02T03:04:05Z",
                "status": "ok",
            }
        ]
    )
    monkeypatch.setattr("tco.calibrations.load_calibrations", lambda home: calibration)
    rows = cli(
        *argv(
            "estimate train --model llama-2-7b -a a100-80,h100 --count 64 --top 0",
            "--pricing-model on_demand -f json",
        )
    ).json()
    sources = {(r["accelerator"], r["framework"]): r["throughput_source"] for r in rows}
    assert sources[("A100-80GB", "jax")] == "calibration"
    assert sources[("H100-80GB", "jax")] == "calibration (transferred)"
    assert sources[("A100-80GB", "torch")] == "assumed MFU"
    jax_a100 = next(r for r in rows if r["framework"] == "jax" and r["accelerator"] == "A100-80GB")
    assert jax_a100["mfu"] == pytest.approx(0.6) and "run run7" in jax_a100["throughput_detail"]


def test_calibration_store_absent_means_no_calibrations(tco_home: Path) -> None:
    from tco.calibrations import load_calibrations

    assert load_calibrations(tco_home).empty


def test_frequencies_line_items_and_output_file(cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "train.json"
    result = cli(
        "estimate",
        "train",
        "--model",
        "llama-7b",
        "-a",
        "h100",
        "--count",
        "256",
        "--provider",
        "aws",
        "--pricing-model",
        "on_demand",
        "--runs-per-month",
        "0.5,2",
        "--set",
        "checkpoints_kept=3",
        "--set",
        "mlops_usd_per_month=1000",
        "-f",
        "json",
        "-o",
        str(target),
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and "wrote" in result.stderr
    rows = json.loads(target.read_text())
    assert sorted({r["runs_per_month"] for r in rows}) == [0.5, 2.0]
    row = rows[0]
    assert row["storage_usd_per_month"] == pytest.approx(3 * 6.7e9 * 16 / 1e12 * 23)
    assert row["other_usd_per_month"] == pytest.approx(row["storage_usd_per_month"] + 1000)
    assert row["total_usd_per_month"] == pytest.approx(row["cost_usd_per_month"] + row["other_usd_per_month"])
    assert row["egress_usd_per_month"] is None  # not budgeted: missing, not zero


def test_serve_json_and_table(cli: Any) -> None:
    result = cli(
        *argv(
            "estimate serve --model llama-2-70b -a h100 --requests-per-s 5",
            "--prompt-tokens 1000 --output-tokens 300 --tpot-s 0.05 -f json",
        )
    )
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    for row in rows:
        assert row["feasible"] and row["tpot_s"] <= 0.05 and row["replicas"] >= 1
        assert row["cost_usd_per_1m_output_tokens_low"] <= row["cost_usd_per_1m_output_tokens"]
        assert row["cost_usd_per_1m_output_tokens"] <= row["cost_usd_per_1m_output_tokens_high"]
        assert row["cost_usd_per_1k_requests"] > 0 and row["price_source"] and row["mbu_source"]
        assert row["accelerators_per_replica"] >= 2  # 138 GB of bf16 weights need two 80 GB GPUs
    per_token = [r["cost_usd_per_1m_output_tokens"] for r in rows]
    assert per_token == sorted(per_token)
    table = cli(*argv("estimate serve --model llama-2-7b -a l4,a10g --top 3 --explain"))
    assert table.exit_code == 0, table.stderr
    assert "$/1M out" in table.stdout and "TTFT" in table.stdout and "decode: memory-bound" in table.stdout


def test_serve_errors(cli: Any) -> None:
    too_fast = cli(*argv("estimate serve --model llama-2-70b -a l4 --count 1"))
    assert too_fast.exit_code == 1 and "weights do not fit" in too_fast.stderr
    assert cli("estimate", "serve", "--model", "resnet-50").exit_code == 1
    bad = cli(*argv("estimate serve --model llama-2-7b --mbu 2"))
    assert bad.exit_code == 2 and "'--mbu': must be a fraction in (0, 1]" in bad.stderr


def test_serve_compares_engines_and_layouts(cli: Any) -> None:
    base = "estimate serve --model llama-2-70b -a h100 -p aws --pricing-model on_demand --requests-per-s 10"
    result = cli(*argv(base, "--engine trtllm,vllm --layout all --count 8 --top 0 -f json"))
    assert result.exit_code == 0, result.stderr
    pairs = {(r["engine"], r["layout"]) for r in result.json()}
    assert pairs == {(e, x) for e in ("trtllm", "vllm") for x in ("aggregated", "disaggregated")}
    table = cli(*argv(base, "--engine trtllm,vllm --layout disaggregated --count 8"))
    assert table.exit_code == 0, table.stderr
    assert "Engine" in table.stdout and "TensorRT-LLM" in table.stdout and "vLLM" in table.stdout
    assert "Replicas of a disaggregated row: prefill + decode" in table.stdout
    plain = cli(*argv(base, "--count 8"))
    assert "Engine" not in plain.stdout and "Layout" not in plain.stdout
    for flag, message in (("--engine tgi", "'--engine': unknown serving engine 'tgi'"),
                          ("--layout split", "'--layout': unknown value 'split'")):  # fmt: skip
        bad = cli(*argv(base, flag))
        assert bad.exit_code == 2 and message in bad.stderr, bad.stderr


def test_train_takes_recompute_and_moe_widths(cli: Any) -> None:
    base = "estimate train -a h100 -p aws --pricing-model on_demand -n 64 --top 1 -f json"
    full = cli(*argv(base, "--model llama-2-70b --recompute full"))
    assert full.exit_code == 0, full.stderr
    assert full.json()[0]["recompute"] == "full"
    moe = "--params 47e9 --active-params 13e9 --tokens 1e11 --layers 32 --hidden 4096 --heads 32"
    routed = cli(*argv(base, moe, "--experts 8 --experts-per-token 2 --expert-ffn-hidden 14336"))
    dense = cli(*argv(base, moe))
    assert routed.exit_code == 0 and dense.exit_code == 0, routed.stderr + dense.stderr
    assert routed.json()[0]["step_s"] != pytest.approx(dense.json()[0]["step_s"])


def test_models_lists_presets_with_sources(cli: Any) -> None:
    rows = cli("estimate", "models", "-f", "json").json()
    names = {r["name"] for r in rows}
    assert {"gpt2", "bert-large", "resnet-50", "llama-2-7b", "llama-2-70b"} <= names
    assert all(r["source"] for r in rows)
    assert not any(isinstance(v, float) and math.isnan(v) for r in rows for v in r.values())


def test_explain_says_when_the_high_case_crosses_the_stretch_limit(cli: Any) -> None:
    """256 H100s on spot: the expected case is feasible, the high interruption rate is not; the range has no
    upper bound (n/a) and --explain says why."""
    line = "estimate train --model llama-2-7b -a h100 -p aws -n 256 --pricing-model spot --explain -f json"
    (row,) = cli(*argv(line)).json()
    assert row["feasible"] and not row["high_case_feasible"] and row["cost_usd_high"] is None
    assert "high case infeasible" in row["range_note"] and row["range_note"] in row["explain"]


def test_spot_plans_stalled_by_interruptions_are_infeasible(cli: Any) -> None:
    """1024 H100s on 128 spot instances at one reclaim per instance-day with hourly checkpoints: the expected
    time is ~90x the uninterrupted run, beyond the named 3x limit; on-demand rows are unaffected."""
    result = cli(
        *argv(
            "estimate train --model llama-2-7b -a h100 --count 1024 --provider aws",
            "--pricing-model spot,on_demand --top 0 --include-infeasible -f json",
        )
    )
    rows = result.json()
    spot = [r for r in rows if r["pricing_model"] == "spot"]
    assert spot and all(not r["feasible"] and "more than 3x" in r["reason"] for r in spot)
    assert all(r["feasible"] for r in rows if r["pricing_model"] == "on_demand")
    relaxed = cli(
        *argv(
            "estimate train --model llama-2-7b -a h100 --count 1024 --provider aws",
            "--pricing-model spot --set checkpoint_interval_hours=0.05 -f json",
        )
    ).json()
    assert relaxed and all(r["interruption_factor"] < 3 for r in relaxed)


def test_calibration_store_file_name_matches_calibrate() -> None:
    store = pytest.importorskip("calibrate.store")
    from tco.calibrations import STORE_FILENAME

    assert store.ResultStore.DEFAULT_FILENAME == STORE_FILENAME


def test_assumptions_lists_every_settable_name(cli: Any) -> None:
    rows = cli("estimate", "assumptions", "-f", "json").json()
    names = {r["name"] for r in rows}
    assert {
        "pue",
        "spot_interruptions_per_day",
        "capex_usd_per_accelerator",
        "headroom",
        "dp_overlap",
    } <= names
    assert all(r["default"] for r in rows)


def test_calibrations_are_read_from_the_real_store(cli: Any, tco_home: Path) -> None:
    """A row written through calibrate's own store is picked up by `tco estimate train`."""
    store_module = pytest.importorskip("calibrate.store")
    tco_home.mkdir(parents=True, exist_ok=True)
    store = store_module.ResultStore.in_home(tco_home)
    store.add(
        {
            "result_id": "r-1",
            "run_id": "run-42",
            "framework": "torch",
            "accelerator": "H100-80GB",
            "device_count": 1,
            "kernel": "train_transformer",
            "variant": "small",
            "dtype": "bf16",
            "median_s": 0.5,
            "p10_s": 0.48,
            "p90_s": 0.55,
            "throughput": 1e5,
            "throughput_unit": "tokens_per_s",
            "achieved_tflop_per_s": 445.05,
            "utilisation": 0.45,
            "measured_at": "2026-11-01T00:00:00Z",
            "status": "ok",
        }
    )
    rows = cli(
        *argv(
            "estimate train --model llama-2-7b -a h100 --count 64 --framework torch",
            "--pricing-model on_demand -f json",
        )
    ).json()
    assert rows and all(r["throughput_source"] == "calibration" and r["framework"] == "torch" for r in rows)
    assert rows[0]["mfu"] == pytest.approx(0.45) and "run run-42" in rows[0]["throughput_detail"]


def test_serve_line_items_are_summed_separately(cli: Any) -> None:
    rows = cli(
        *argv(
            "estimate serve --model llama-2-7b -a l4 --top 1 --set",
            "mlops_usd_per_month=500,egress_tb_per_month=2 -f json",
        )
    ).json()
    row = rows[0]
    assert row["egress_usd_per_month"] == pytest.approx(2 * 1000 * 0.09)
    assert row["other_usd_per_month"] == pytest.approx(680.0)
    assert row["total_usd_per_month"] == pytest.approx(row["cost_usd_per_month"] + 680.0)


def test_every_accelerator_at_once_says_which_options_are_left_out(cli: Any) -> None:
    """Without --accelerator some options have no estimate at all (no reason text): the note about the
    infeasible ones still prints (issue 15: a TypeError before, found by tests/tco/test_cli_properties.py)."""
    result = cli(*argv("estimate train --model llama-2-7b --top 1"))
    assert result.exit_code == 0, result.stderr
    assert "infeasible option(s) left out" in result.stderr
