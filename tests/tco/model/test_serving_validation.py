"""Serving model against published measurements (tests/tco/model/data, sources per row; SOURCES below).

* offline throughput: ``serving_offline.csv`` (TensorRT-LLM 0.15 and 1.0 perf tables, AMD's vLLM table and
  Oracle's blog on MI300X). The defaults were tuned on the ``tuning`` rows (TensorRT-LLM 0.15, ISL/OSL
  1000/1000, 128/2048 and 2048/128); the ``held-out`` rows were not used. Tolerances: median |error| <= 15%
  and >= 75% of rows within +-25% on each split (measured: 11% / 83% tuning, 11% / 83% held-out); MI300X
  rows (vLLM on ROCm) are a documented outlier group (+26% to +69%) and stay in the held-out figures.
* decode TPOT at low load and TTFT under light load: ``serving_online.csv`` rows at 2 req/s or concurrency
  1 (TensorRT-LLM 0.14 online table, NIM 1.8): median TTFT and TPOT within +-30% each. The saturated points
  (offered rate above what the engine achieved) are printed by benchmarks/serving_validation.py, not tested.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tco.model.assumptions import ServingAssumptions
from tco.model.inference.validation import predict_offline, predict_online, summary
from tco.presets import hardware_table, load_serving_models

DATA = Path(__file__).parent / "data"
OFFLINE = pd.read_csv(DATA / "serving_offline.csv")
ONLINE = pd.read_csv(DATA / "serving_online.csv")


@pytest.fixture(scope="module")
def offline() -> pd.DataFrame:
    hardware = hardware_table(sorted(OFFLINE["accelerator"].unique()))
    return predict_offline(OFFLINE, load_serving_models(), hardware, ServingAssumptions())


@pytest.mark.parametrize("split", ["tuning", "held-out"])
def test_offline_throughput_within_tolerance(offline: pd.DataFrame, split: str) -> None:
    rows = offline[offline["split"] == split]
    s = summary(rows)
    assert s["rows"] == len(rows), "every row gets a prediction"
    assert s["median_abs_error"] <= 0.15
    assert s["within_25"] >= 0.75
    assert abs(s["median_error"]) <= 0.08, "no systematic optimism or pessimism"


def test_kv_capacity_limits_70b_on_one_h100(offline: pd.DataFrame) -> None:
    """Llama-3.1-70B FP8 on one 80 GiB H100 (issue #10's -81% row): memory in GiB, 16-bit embeddings and the
    engine's KV fraction leave ~30 sequences of 2,000 tokens; TensorRT-LLM measured 775 tokens/s."""
    row = offline[offline["row_id"] == "trt015/llama-3-70b/H100-80GB/fp8/tp1/1000/1000"].iloc[0]
    assert 20 <= row["max_running_batch"] <= 40
    assert row["predicted_tokens_per_s"] == pytest.approx(775.07, rel=0.25)


def test_online_latency_at_light_load() -> None:
    light = ONLINE[ONLINE["row_id"].str.contains("qps2|conc1")]
    hardware = hardware_table(sorted(light["accelerator"].unique()))
    result = predict_online(light, load_serving_models(), hardware, ServingAssumptions())
    for r in result.to_dict("records"):
        assert r["pred_ttft_ms"] == pytest.approx(r["ttft_ms"], rel=0.30), r["row_id"]
        assert r["pred_tpot_ms"] == pytest.approx(r["tpot_ms"], rel=0.30), r["row_id"]


def test_development_set_copy_is_the_published_one() -> None:
    """The 67-row development set (shared/data/published_serving.csv, copied 2026-12-01) is kept verbatim;
    its 1000/1000 TensorRT-LLM rows are the tuning rows' figures."""
    dev = pd.read_csv(DATA / "published_serving.csv")
    assert len(dev) == 67
    trt = dev[dev["name"].str.startswith("TRT-LLM 0.15")]
    tuned = set(OFFLINE.loc[OFFLINE["split"] == "tuning", "output_tokens_per_s"].round(2))
    assert set(trt["value"].round(2)) <= tuned
