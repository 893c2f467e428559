"""Published training runs reproduced with tco's own defaults (the project's development set, copied to
``data/published_runs.csv`` with its sources).

Tolerances, and why:

* **GPU-hours and wall time: +-25%.** tco uses one steady-MFU default per accelerator (A100 0.50, H100 0.40;
  docs/projection_model.md §8, not fitted to these runs). The runs' own end-to-end MFU on the 6ND basis
  spans 36% (MPT-7B)
  to 56% (TinyLlama) on the same A100s (the CSV's derived figures), so a single default cannot land closer
  than about +-22% to all of them; the reference's own A100 range (0.45-0.64) is -10%/+28% around the
  default. Each published figure must also fall inside the tool's own low-high band.
* **Throughput-derived hours** (LLaMA Table 15, TinyLlama) are tokens / (tokens/s per GPU): LLaMA-65B's
  380 tokens/s/GPU x 2048 GPUs gives the reported ~21 days, so they exclude downtime. They are compared with
  tco at goodput 1 (steady state); wall-clock figures (MPT-7B: 9.5 days x 440 GPUs) with the default 0.85.
* **LLaMA GPU counts** for 7B-33B are not published; the 2048 A100-80GB of the 65B run (Sec 2.4) are used for
  all four, as llm-analysis does.
* **FLOPs: +-10%.** The published figures are 6ND; tco adds the attention term 12 L h s D. Chinchilla's
  Table A4 puts 6ND within 0.99-1.10 of a detailed count.
* **ResNet-50:** tco has no default throughput for CNNs (by design: no sourced MFU for them), so these rows
  use the README's measured single-GPU 2,470 images/s as the calibration, as a user would. 1 GPU: +-20%
  (the README's "~14 h" includes evaluation; compute alone is 13.0 h). 8 GPUs: throughput +-20% and
  GPU-hours +-40%: NVIDIA measures 84% scaling (AMP) where tco's communication model finds almost no exposed
  communication (the loss is the input pipeline and synchronisation, which tco does not model; the TF32 run
  scales 96.5%), and "~3 h" is a rounded figure including evaluation. The comm model must still bound the
  measured efficiency from above.
* **TinyLlama: +-30%.** Its own kernels reached 56% MFU at hidden 2048 on A100-40GB; tco lowers the MFU for
  narrow matrices and a 14% attention share as llm-foundry's sweep does (0.90 of the A100 default).
* **MPT-7B architecture on 8xH100** (llm-foundry): steady tokens/s per GPU at the H100 default, +-25%.
* **Every run with a metric** (``published.py``; ``benchmarks/training_validation.py`` prints them) is
  projected from what its paper states (dtype, batch, sequence, recomputation, ``--set`` settings such as
  AWS p4d's 6.25 GB/s per GPU), is projectable (a layout fits) and lands within a factor 2. Rows are split:
  ``tuned`` (the development set that set tco's MFU defaults and efficiency curves) and ``held_out`` (never
  used to set a default). Aggregate bounds: tuned median |error| <= 8% with >= 85% within +-25% (a guard at
  today's 4.7% / 92%); held-out median |error| <= 12% with >= 75% within +-25%, the issue's done-when
  criterion (measured 11.0% / 82% over 34 runs). The held-out rows outside +-25% have causes tco does not
  model and the README names: DeepSeek-V3's fine-grained MoE (the two rows err in opposite directions),
  MT-NLG's 2021 software, BloombergGPT's layout without tensor parallelism on p4d, Falcon-180B's
  one-significant-digit hours, Pythia-12B.
* **Inputs reach the layout:** Llama 3 405B at 16k GPUs gets its published 16M-token batch (a small
  bubble), PaLM fits two TPU v4 pods, Korthikanti's 530B on 280 GPUs finds the 35-stage pipeline.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tco.model.assumptions import TrainingAssumptions
from tco.model.offers import override_options
from tco.model.training import project_training
from tco.model.work import training_work
from tco.presets import hardware_table, load_mfu_defaults, preset_workload

from .published import runs, summary, table

PUBLISHED = pd.read_csv(Path(__file__).parent / "data" / "published_runs.csv")
HOURS = 0.25
FLOPS = 0.10


def _project(
    preset: str, accelerator: str, count: int, goodput: float | None = None, **workload: Any
) -> pd.Series:
    frame = pd.DataFrame([preset_workload(preset) | workload])
    per_instance = 8 if count % 8 == 0 else 1
    out = project_training(
        frame,
        override_options([accelerator], 1.0, per_instance),
        hardware_table([accelerator]),
        counts=[count],
        frameworks=["torch"],
        mfu_defaults=load_mfu_defaults(),
        assumptions=TrainingAssumptions().with_overrides(goodput=goodput),
    )
    assert len(out) == 1 and out.iloc[0]["feasible"], out.iloc[0]["reason"]
    return out.iloc[0]


def _published(name: str, column: str) -> float:
    value = str(PUBLISHED.set_index("name").loc[name, column]).lstrip("~")
    return float(value)


def _hours_band(row: pd.Series) -> tuple[float, float]:
    scale = row["accelerator_hours"] / row["wall_hours"]
    return row["wall_hours_low"] * scale, row["wall_hours_high"] * scale


# name -> (preset, accelerator, count, goodput) for the GPU-hour rows.
HOUR_ROWS = {
    "LLaMA-1 7B": ("llama-7b", "A100-80GB", 2048, 1.0),
    "LLaMA-1 13B": ("llama-13b", "A100-80GB", 2048, 1.0),
    "LLaMA-1 33B": ("llama-33b", "A100-80GB", 2048, 1.0),
    "LLaMA-1 65B": ("llama-65b", "A100-80GB", 2048, 1.0),
    "MPT-7B": ("mpt-7b", "A100-40GB", 440, None),
    "TinyLlama-1.1B": ("tinyllama-1.1b", "A100-40GB", 16, 1.0),
}
FLOP_ROWS = {"GPT-3 175B": ("gpt-3-175b", 3.14e23), "Chinchilla 70B": ("chinchilla-70b", 5.76e23)}
RESNET_1 = "ResNet-50 v1.5 (PyTorch AMP) 1xA100"
RESNET_8 = "ResNet-50 v1.5 (PyTorch AMP) 8xA100"
MPT_H100 = "MPT-7B arch benchmark 8xH100 (llm-foundry)"


def test_every_published_row_has_a_case() -> None:
    covered = set(HOUR_ROWS) | set(FLOP_ROWS) | {RESNET_1, RESNET_8, MPT_H100} | set(runs()["name"])
    assert set(PUBLISHED["name"]) == covered
    assert set(PUBLISHED["split"]) == {"tuned", "held_out"}
    assert PUBLISHED["source"].str.len().min() >= 20


@pytest.fixture(scope="module")
def validation() -> pd.DataFrame:
    return table()


def test_every_run_is_projectable_within_a_factor_two(validation: pd.DataFrame) -> None:
    assert validation["tco"].notna().all(), validation.loc[validation["tco"].isna(), ["run", "reason"]]
    assert (validation["error"].abs() < 1.0).all(), validation[["run", "error"]]


def test_aggregate_errors_tuned_and_held_out(validation: pd.DataFrame) -> None:
    stats = summary(validation)
    median, share, count = stats["tuned"]
    assert median <= 0.08 and share >= 0.85 and count >= 12
    median, share, count = stats["held_out"]
    assert median <= 0.12 and share >= 0.75 and count >= 30


def test_llama_405b_at_16k_gets_a_scaled_batch_and_a_small_bubble() -> None:
    """The issue's failure: 4M tokens per step at 16k GPUs left one micro-batch per stage (48% bubble).
    Without the paper's batch the rule scales it to Meta's 16M; with it, the paper's figure is used."""
    from .published import project

    name = "Llama 3.1 405B, 16,384 H100 (GPU-h)"
    run = runs().set_index("name").loc[name].to_dict()
    stated = project({"name": name, **run})
    ruled = project({"name": name, **run, "global_batch_tokens": ""})
    assert (stated["batch_source"], ruled["batch_source"]) == ("given", "rule")
    for row in (stated, ruled):
        assert row["global_batch_tokens_used"] == 16 * 2**20  # Llama 3 Table 4: 16M tokens per step
        assert row["bubble_s"] / row["step_s"] < 0.25
        assert row["pp"] > 1 and row["tp"] == 8


def test_palm_on_two_tpu_pods_is_feasible() -> None:
    """PaLM's own layout: the state sharded inside each 3,072-chip pod (ICI), replicated across the two pods
    over the data-centre network (Chowdhery et al. 2022 Sec 4): tco's hybrid sharding."""
    run = runs().set_index("name").loc["PaLM 540B, 6,144 TPU v4 (chip-hours)"].to_dict()
    from .published import project

    row = project({"name": "PaLM 540B, 6,144 TPU v4 (chip-hours)", **run})
    assert row["feasible"] and row["accelerators_per_instance"] == 3072
    assert row["memory_bytes_per_accelerator"] <= 32 * 2**30 * 0.9
    assert row["sharding"] == "hsdp" and row["pp"] == 1


@pytest.mark.parametrize("name", list(HOUR_ROWS))
def test_gpu_hours(name: str) -> None:
    preset, accelerator, count, goodput = HOUR_ROWS[name]
    row = _project(preset, accelerator, count, goodput)
    published = _published(name, "gpu_hours")
    tolerance = 0.30 if name == "TinyLlama-1.1B" else HOURS
    assert row["accelerator_hours"] == pytest.approx(published, rel=tolerance)
    low, high = _hours_band(row)
    if name != "TinyLlama-1.1B":  # 56% MFU: above the A100 range once narrow matrices are accounted for
        assert low <= published <= high
    days = PUBLISHED.set_index("name").loc[name, "wall_days"]
    if isinstance(days, str) or not math.isnan(days):
        assert row["wall_hours"] / 24 == pytest.approx(float(str(days).lstrip("~")), rel=tolerance)


@pytest.mark.parametrize("name", list(FLOP_ROWS))
def test_training_flops(name: str) -> None:
    preset, published = FLOP_ROWS[name]
    work = training_work(pd.DataFrame([preset_workload(preset)])).iloc[0]
    assert work["train_flops"] == pytest.approx(published, rel=FLOPS)
    # The papers' own 6ND, from the rounded parameter counts of the presets (Chinchilla's 5.76e23 implies
    # 68.6B exact parameters; its preset says the published "70B").
    assert 6 * work["params"] * work["tokens"] == pytest.approx(published, rel=0.025)


def test_resnet50_one_gpu_from_a_measured_rate() -> None:
    row = _project("resnet-50", "A100-80GB", 1, samples_per_s_per_accelerator=2470.0)
    assert row["throughput_source"] == "given (--samples-per-s)"
    assert row["accelerator_hours"] == pytest.approx(_published(RESNET_1, "gpu_hours"), rel=0.20)


def test_resnet50_eight_gpus_scaled_from_one() -> None:
    row = _project("resnet-50", "A100-80GB", 8, samples_per_s_per_accelerator=2470.0)
    published_images_per_s, published_efficiency = 16_621.0, 16_621.0 / (8 * 2470.0)
    steady = 8 * 2470.0 * row["scaling_efficiency"]
    assert steady == pytest.approx(published_images_per_s, rel=0.20)
    assert row["accelerator_hours"] == pytest.approx(_published(RESNET_8, "gpu_hours"), rel=0.40)
    assert row["scaling_efficiency_low"] >= published_efficiency  # communication alone is an upper bound


def test_mpt7b_architecture_on_8_h100() -> None:
    row = _project("mpt-7b", "H100-80GB", 8, 1.0, params=6.66e9)
    tokens_per_s_per_gpu = row["tokens_per_s"] / 8
    assert tokens_per_s_per_gpu == pytest.approx(10_643, rel=HOURS)
    assert row["mfu_low"] <= 0.464 <= row["mfu_high"] + 0.01  # the published MFU sits at the top of the range
