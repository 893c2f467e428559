"""What a user states about a training run reaches the projection: the published or given batch,
recomputation, FP8, the heads' width, expert widths, ``--set`` settings, a calibrated matmul curve, and the
``--explain`` layout line."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tco.api.inputs import settings as parse_settings
from tco.errors import TcoError
from tco.model.assumptions import TrainingAssumptions
from tco.model.explain import train_explain
from tco.model.scaling import scaling_efficiency
from tco.model.settings import registry
from tco.model.throughput import matmul_knee_widths, model_efficiency
from tco.model.training import project_training
from tco.model.work import training_work, validate_training_workloads
from tco.presets import hardware_table, load_mfu_defaults, preset_workload

from .conftest import hardware, mfu_defaults, options, token_workload


def _config(**changes: Any) -> pd.DataFrame:
    row: dict[str, Any] = {
        "kind": "tokens",
        "accelerator_count": 16.0,
        "accelerators_per_instance": 8.0,
        "params": 1e9,
        "layers": 24.0,
        "hidden": 2048.0,
        "heads": 16.0,
        "seq_len": 2048.0,
        "global_batch_tokens": 32768.0,
        "flops_per_token": 6e9,
        "attention_flops_per_token": 12 * 24 * 2048 * 2048.0,
        "achieved_tflop_per_s": 100.0,
        "grad_bytes_per_param": 2.0,
        "memory_bytes": 80.0 * 2**30,
        "intra_node_gb_s": 300.0,
        "inter_node_gb_s": 25.0,
    }
    row.update(changes)
    return pd.DataFrame([row])


# --- global batch ------------------------------------------------------------------------------------


def test_a_presets_published_batch_wins_over_the_rule_and_a_given_batch_over_both() -> None:
    """Llama 3.1 405B's preset carries Meta's 16M tokens; on 32,768 GPUs the rule would give 32M."""
    preset = preset_workload("llama-3.1-405b")
    assert preset["published_global_batch_tokens"] == 16 * 2**20 and "global_batch_tokens" not in preset
    config = _config(
        params=405e9,
        layers=126.0,
        hidden=16384.0,
        heads=128.0,
        seq_len=8192.0,
        accelerator_count=32768.0,
        flops_per_token=6 * 405e9,
        memory_bytes=80 * 2**30,
        intra_node_gb_s=450.0,
        inter_node_gb_s=50.0,
    )
    published = config.assign(global_batch_tokens=math.nan, published_global_batch_tokens=16 * 2**20)
    rule = config.assign(global_batch_tokens=math.nan)
    given = config.assign(published_global_batch_tokens=16 * 2**20, global_batch_tokens=8 * 2**20)
    a, b, c = (scaling_efficiency(f, TrainingAssumptions()).iloc[0] for f in (published, rule, given))
    assert (a["batch_source"], a["global_batch_tokens_used"]) == ("published", 16 * 2**20)
    assert (b["batch_source"], b["global_batch_tokens_used"]) == ("rule", 32 * 2**20)
    assert (c["batch_source"], c["global_batch_tokens_used"]) == ("given", 8 * 2**20)


# --- recomputation -----------------------------------------------------------------------------------


def test_forced_full_recompute_costs_an_extra_forward() -> None:
    free = scaling_efficiency(_config(accelerator_count=1.0), TrainingAssumptions()).iloc[0]
    full = scaling_efficiency(_config(accelerator_count=1.0, recompute="full"), TrainingAssumptions()).iloc[0]
    assert free["recompute"] == "none" and full["recompute"] == "full"
    assert full["compute_s"] == pytest.approx(free["compute_s"] * 8 / 6)
    assert full["memory_bytes_per_accelerator"] < free["memory_bytes_per_accelerator"]
    assert "recompute" in full["parallelism"]


def test_selective_recompute_reruns_the_attention_forward() -> None:
    """Korthikanti et al. 2022: selective recomputation re-runs QK^T and AV forward, a third of the
    attention FLOPs, and keeps the memory of no recomputation (flash attention stores no scores)."""
    free = scaling_efficiency(_config(accelerator_count=1.0), TrainingAssumptions()).iloc[0]
    sel = scaling_efficiency(
        _config(accelerator_count=1.0, recompute="selective"), TrainingAssumptions()
    ).iloc[0]
    share = 12 * 24 * 2048 * 2048.0 / 6e9
    assert sel["recompute"] == "selective"
    assert sel["compute_s"] == pytest.approx(free["compute_s"] * (1 + share / 3))
    assert sel["memory_bytes_per_accelerator"] == pytest.approx(free["memory_bytes_per_accelerator"])


def test_forced_no_recompute_has_no_layout_where_only_recompute_fits() -> None:
    tight = _config(memory_bytes=20 * 2**30, accelerator_count=1.0, global_batch_tokens=8 * 2048.0)
    auto = scaling_efficiency(tight, TrainingAssumptions()).iloc[0]
    none = scaling_efficiency(tight.assign(recompute="none"), TrainingAssumptions()).iloc[0]
    assert auto["recompute"] == "full" and auto["fits_memory"]
    assert not none["fits_memory"] and math.isnan(none["scaling_efficiency"])


def test_unknown_recompute_is_one_clear_error() -> None:
    with pytest.raises(TcoError, match="unknown activation recomputation 'some'"):
        validate_training_workloads(token_workload(recompute="some"))


# --- FP8 ---------------------------------------------------------------------------------------------


def test_fp8_uses_the_fp8_peak_and_its_own_default() -> None:
    """H100 FP8: the 1,979 TFLOP/s dense FP8 peak at the FP8 MFU default (NeMo), not the bf16 one."""
    runs = []
    for dtype in ("bf16", "fp8"):
        work = pd.DataFrame([preset_workload("llama-3-70b") | {"dtype": dtype, "tokens": 1e12}])
        runs.append(
            project_training(
                work,
                options("H100-80GB"),
                hardware_table(["H100-80GB"]),
                counts=[64],
                frameworks=["torch"],
                mfu_defaults=load_mfu_defaults(),
            ).iloc[0]
        )
    bf16, fp8 = runs
    defaults = load_mfu_defaults().set_index(["accelerator", "dtype"])
    assert bf16["peak_tflops"] == 989 and fp8["peak_tflops"] == 1979
    assert fp8["mfu"] == pytest.approx(defaults.loc[("H100-80GB", "fp8"), "mfu"] * fp8["model_efficiency"])
    assert "NeMo" in fp8["throughput_detail"]
    assert fp8["wall_hours"] < bf16["wall_hours"]


def test_fp8_on_an_accelerator_without_its_own_row_gets_the_generic_fp8_default() -> None:
    table = load_mfu_defaults()
    work = pd.DataFrame([preset_workload("llama-2-7b") | {"dtype": "fp8"}])
    row = project_training(
        work,
        options("L40S", per_instance=8),
        hardware_table(["L40S"]),
        counts=[8],
        frameworks=["torch"],
        mfu_defaults=table,
    ).iloc[0]
    generic = table[(table["accelerator"] == "*") & (table["dtype"] == "fp8")].iloc[0]
    assert row["mfu"] == pytest.approx(generic["mfu"] * row["model_efficiency"])


# --- work and MoE ------------------------------------------------------------------------------------


def test_head_dim_sets_the_attention_width() -> None:
    """DeepSeek-V3's 128 heads of (192 + 128) / 2 dimensions: 12 L H Q s instead of 12 L h s."""
    base = {"workload": "w", "kind": "tokens", "params": 671e9, "active_params": 37e9, "tokens": 1e12}
    shape = {"layers": 61.0, "hidden": 7168.0, "heads": 128.0, "seq_len": 4096.0}
    plain = training_work(pd.DataFrame([base | shape])).iloc[0]
    mla = training_work(pd.DataFrame([base | shape | {"head_dim": 160.0}])).iloc[0]
    assert plain["attention_flops_per_token"] == pytest.approx(12 * 61 * 7168 * 4096)
    assert mla["attention_flops_per_token"] == pytest.approx(12 * 61 * 128 * 160 * 4096)


def _moe(**changes: Any) -> pd.DataFrame:
    shape: dict[str, Any] = {
        "params": 47e9,
        "active_params": 13e9,
        "experts": 8.0,
        "experts_per_token": 2.0,
        "layers": 32.0,
        "hidden": 4096.0,
        "heads": 32.0,
        "accelerator_count": 64.0,
        "global_batch_tokens": 2**22,
        "flops_per_token": 6 * 13e9,
        "attention_flops_per_token": 0.0,
        "peak_tflops": 100.0,
        "memory_bandwidth_tb_s": 2.0,
    }
    return _config(**(shape | changes))


def test_narrow_experts_with_few_tokens_each_run_slower() -> None:
    """Expert GEMMs of M tokens x h x f run at w/(w+c) with w = min(M, f, h): 64 narrow experts (f 512,
    16 routes per token: the same active share) cost more compute than 8 wide ones (f 14336, top-2)."""
    wide = scaling_efficiency(_moe(expert_ffn_hidden=14336.0), TrainingAssumptions()).iloc[0]
    narrow = scaling_efficiency(
        _moe(expert_ffn_hidden=512.0, experts=64.0, experts_per_token=16.0), TrainingAssumptions()
    ).iloc[0]
    assert narrow["compute_s"] > wide["compute_s"] * 1.05
    assert narrow["scaling_efficiency"] < wide["scaling_efficiency"]


# --- settings ----------------------------------------------------------------------------------------

#: Assumptions set by a command-line option of their own rather than by --set NAME=VALUE.
OWN_OPTION = {
    "goodput": "--goodput",
    "spot_interruptions_per_instance_hour": "--set spot_interruptions_per_day",
}


def test_every_training_assumption_can_be_set_by_name() -> None:
    names = [name for name, _ in TrainingAssumptions().items()]
    known = registry()
    missing = [n for n in names if n not in known and n not in OWN_OPTION]
    assert missing == []
    assert all(known[n].group in ("training", "spot") for n in names if n in known)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("tokens_per_accelerator", 2048.0),
        ("max_global_batch_tokens", 2**25),
        ("moe_overlap", 1.0),
        ("narrow_matmul_knee", 1.0),
        ("attention_efficiency", 0.9),
        ("collective_hop_latency_s", 1e-5),
        ("default_seq_len", 4096.0),
        ("aspect_ratio", 100.0),
    ],
)
def test_set_reaches_the_training_assumption(name: str, value: float) -> None:
    settings = parse_settings([f"{name}={value:g}"])
    params = TrainingAssumptions().with_overrides(**settings.group("training"))
    assumption = getattr(params, name)
    assert assumption.value == pytest.approx(value) and assumption.source == "override"


def test_moe_overlap_setting_changes_the_projection() -> None:
    settings = parse_settings(["moe_overlap=1"])
    hidden = scaling_efficiency(
        _moe(inter_node_gb_s=1.0), TrainingAssumptions().with_overrides(**settings.group("training"))
    ).iloc[0]
    exposed = scaling_efficiency(
        _moe(inter_node_gb_s=1.0), TrainingAssumptions().with_overrides(moe_overlap=0.0)
    ).iloc[0]
    assert hidden["scaling_efficiency"] > exposed["scaling_efficiency"]


# --- calibrated matmul curve -------------------------------------------------------------------------


def _matmul_rows(knee: float, sizes: tuple[int, ...], peak: float = 300.0) -> pd.DataFrame:
    """One calibration row reporting its best size, with the whole sweep in ``details``."""
    sweep = [{"n": n, "tflop_per_s": peak * n / (n + knee)} for n in sizes]
    best = sweep[-1]
    return pd.DataFrame(
        [
            {
                "run_id": "mm1",
                "framework": "torch",
                "accelerator": "X1",
                "kernel": "matmul",
                "device_count": 1,
                "dtype": "bf16",
                "shape": f"m={best['n']},n={best['n']},k={best['n']}",
                "achieved_tflop_per_s": best["tflop_per_s"],
                "throughput": best["tflop_per_s"],
                "throughput_unit": "tflop_per_s",
                "status": "ok",
                "measured_at": "2026-01-01T00:00:00Z",
                "details": json.dumps({"sweep": sweep}),
            }
        ]
    )


def test_the_knee_is_fitted_to_a_calibrated_matmul_sweep() -> None:
    fitted = matmul_knee_widths(_matmul_rows(800.0, (256, 512, 1024, 2048, 4096)))
    assert fitted.iloc[0]["matmul_knee_width"] == pytest.approx(800.0, rel=1e-6)
    assert "mm1" in fitted.iloc[0]["matmul_knee_source"]
    assert matmul_knee_widths(_matmul_rows(800.0, (4096,))).empty  # one size fits no curve


def test_a_calibrated_knee_replaces_the_sourced_curve() -> None:
    """A narrow model (h 1024) loses more to a measured knee of 2,000 than to the sourced 1.65 x 50."""
    work = token_workload(layers=16.0, hidden=1024.0, heads=16.0, seq_len=2048.0)

    def run(calibrations: pd.DataFrame | None) -> pd.Series:
        return project_training(
            work,
            options(),
            hardware(),
            counts=[8],
            frameworks=["torch"],
            mfu_defaults=mfu_defaults(),
            calibrations=calibrations,
        ).iloc[0]

    sourced, measured = run(None), run(_matmul_rows(2000.0, (256, 1024, 4096)))

    def matmul(knee: float) -> float:
        return (1024 / (1024 + knee)) / (4096 / (4096 + knee))

    # The attention factor is the same in both; the matmul factor's knee is 2,000 (measured) vs 82.5.
    assert measured["model_efficiency"] / sourced["model_efficiency"] == pytest.approx(
        matmul(2000.0) / matmul(1.65 * 100 / 2)
    )
    assert "fitted to calibration run(s) mm1" in measured["throughput_detail"]
    unfitted = model_efficiency(
        np.array([1024.0]),
        np.array([0.0]),
        np.array([100.0]),
        np.array([2.0]),
        knee=1.65,
        attention_efficiency=0.75,
        width_knee=np.array([np.nan]),
    )[0]
    assert unfitted[0] == pytest.approx(matmul(1.65 * 100 / 2))


# --- explain -----------------------------------------------------------------------------------------


def test_explain_shows_the_layout_step_memory_and_batch() -> None:
    row = project_training(
        pd.DataFrame([preset_workload("llama-2-70b")]),
        options("A100-80GB"),
        hardware_table(["A100-80GB"]),
        counts=[512],
        frameworks=["torch"],
        mfu_defaults=load_mfu_defaults(),
    ).head(1)
    text = train_explain(row).iloc[0]
    line = next(part for part in text.splitlines() if part.strip().startswith("layout:"))
    r = row.iloc[0]
    assert f"step {r['step_s']:.4g} s" in line and f"compute {r['compute_s']:.4g} s" in line
    assert f"pipeline bubble {r['bubble_s']:.4g} s" in line
    assert f"exposed communication {r['exposed_comm_s']:.4g} s" in line
    assert f"{r['memory_bytes_per_accelerator'] / 2**30:.1f} GiB per accelerator" in line
    assert "batch 4,194,304 tokens (published)" in line
    assert f"recompute: {r['recompute']}" in line
