"""Library-level fuzz of the projection model: generated hostile workloads, counts, prices and hardware
figures into ``project_training`` and ``project_serving``. The contract: no exception but a TcoError, no
NumPy warning; a feasible row has a finite positive run time and a finite cost (at a finite price); an
infeasible row says why."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tco.errors import TcoError
from tco.model.offers import override_options
from tco.model.serving import project_serving
from tco.model.throughput import empty_calibrations, resolve_serving_efficiency
from tco.model.training import project_training
from tco.presets import find_model, hardware_table
from tests.hostile import numbers

from .conftest import hardware, mfu_defaults, token_workload

# No NumPy warning, and nothing a future pandas turns into an error (a fill value of the wrong type).
pytestmark = [
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("error::pandas.errors.Pandas4Warning"),
]
# Sized for CI (about 30 s for every fuzz test of the suite together); raise for a longer hunt.
# derandomize: CI draws the same examples every run (a new draw is a finding to fix, not a flaky failure)
FUZZ = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

maybe = st.one_of(st.just(math.nan), numbers)
counts = st.lists(st.one_of(st.integers(min_value=-2, max_value=10**7), numbers), max_size=3)


def perturbed(data: st.DataObject, defaults: dict[str, Any], hostile: dict[str, Any]) -> dict[str, Any]:
    """``defaults`` with up to two fields replaced by hostile values: most examples pass validation and
    reach the model with one odd figure, the rest exercise the checks."""
    fields = dict(defaults)
    for name in data.draw(st.lists(st.sampled_from(sorted(hostile)), max_size=2, unique=True), label="bad"):
        fields[name] = data.draw(hostile[name], label=name)
    return fields


def _check_rows(frame: pd.DataFrame, time_column: str, cost_column: str, price: float) -> None:
    feasible = frame["feasible"].to_numpy(dtype=bool)
    times = frame[time_column].to_numpy(dtype="float64")
    assert (np.isfinite(times[feasible]) & (times[feasible] >= 0)).all()  # 0: a denormal amount of work
    if 0 < price <= 1e6:  # a plausible price: the cost is finite (an absurd one may overflow to inf)
        costs = frame[cost_column].to_numpy(dtype="float64")[feasible]
        assert (np.isfinite(costs) & (costs >= 0)).all()
    reasons = frame["reason"].astype(str).to_numpy()
    assert (reasons[~feasible] != "").all()


TRAINING = {
    "params": 1e9,
    "tokens": 1e11,
    "layers": 24.0,
    "hidden": 2048.0,
    "heads": 16.0,
    "seq_len": 2048.0,
    "counts": [8],
    "runs": [1.0],
    "price": 2.0,
    "per_instance": 8.0,
    "peak_tflops": 100.0,
    "memory_bytes": 80.0 * 2**30,
    "bandwidth_tb_s": 2.0,
}
TRAINING_HOSTILE = {
    **{name: maybe for name in ("params", "tokens", "layers", "hidden", "heads", "seq_len")},
    "counts": counts,
    "runs": st.lists(numbers, max_size=2),
    "price": numbers,
    "per_instance": st.sampled_from([1.0, 0.0, math.nan, 3.0, -8.0, math.inf]),
    **{name: numbers for name in ("peak_tflops", "memory_bytes", "bandwidth_tb_s")},
}


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_project_training_on_generated_inputs(data: st.DataObject) -> None:
    f = perturbed(data, TRAINING, TRAINING_HOSTILE)
    workload = {k: f[k] for k in ("params", "tokens", "layers", "hidden", "heads", "seq_len")}
    try:
        frame = project_training(
            token_workload(**workload),
            override_options(["X1"], f["price"], f["per_instance"]),
            hardware(
                peak_tflops=f["peak_tflops"],
                memory_bytes=f["memory_bytes"],
                bandwidth_tb_s=f["bandwidth_tb_s"],
            ),
            counts=f["counts"],
            frameworks=["torch"],
            mfu_defaults=mfu_defaults(),
            runs_per_month=f["runs"],
        )
    except TcoError as exc:
        assert "\n" not in str(exc)
        return
    event("projected")  # how many examples reach the model: `pytest --hypothesis-show-statistics`
    _check_rows(frame, "wall_hours", "cost_usd_per_run", f["price"])


A100 = "A100-80GB"
HARDWARE = hardware_table([A100])
EFFICIENCIES = resolve_serving_efficiency(
    [A100],
    ["torch"],
    HARDWARE,
    empty_calibrations(),
    dtype="bf16",
    mbu_default=(0.9, 0.8, 0.95, "test"),
    flops_default=(0.7, 0.6, 0.8, "test"),
)
MODEL = find_model("llama-2-7b")
SERVING_NUMBERS = ("prompt_tokens", "output_tokens", "requests_per_s", "ttft_s", "tpot_s", "hours_per_day")


SERVING = {
    "workload": "w",
    "params": MODEL["params"],
    "layers": MODEL["layers"],
    "hidden": MODEL["hidden"],
    "heads": MODEL["heads"],
    "kv_heads": MODEL["kv_heads"],
    "prompt_tokens": 128.0,
    "output_tokens": 242.0,
    "requests_per_s": 1.0,
    "ttft_s": 10.0,
    "tpot_s": 1.0,
    "weight_bytes_per_param": 2.0,
    "kv_bytes_per_element": 2.0,
    "hours_per_day": 24.0,
    "dtype": "bf16",
    "workload_source": "test",
    "sizes": [1, 2],
    "price": 2.0,
    "peak_tflops": float(HARDWARE["peak_tflops"].iloc[0]),
    "memory_bandwidth_tb_s": float(HARDWARE["memory_bandwidth_tb_s"].iloc[0]),
    "memory_bytes": float(HARDWARE["memory_bytes"].iloc[0]),
}
SERVING_HOSTILE = {
    **{
        name: st.one_of(maybe, st.floats(min_value=1e-3, max_value=1e7))
        for name in (*SERVING_NUMBERS, "layers", "heads", "kv_heads", "params", "weight_bytes_per_param")
    },
    "sizes": st.lists(st.one_of(st.integers(min_value=-1, max_value=64), numbers), max_size=3),
    "price": numbers,
    **{name: numbers for name in ("peak_tflops", "memory_bandwidth_tb_s", "memory_bytes")},
}


@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_project_serving_on_generated_inputs(data: st.DataObject) -> None:
    f = perturbed(data, SERVING, SERVING_HOSTILE)
    row = {
        k: v
        for k, v in f.items()
        if k not in ("sizes", "price", "peak_tflops", "memory_bandwidth_tb_s", "memory_bytes")
    }
    figures = {k: f[k] for k in ("peak_tflops", "memory_bandwidth_tb_s", "memory_bytes")}
    try:
        frame = project_serving(
            pd.DataFrame([row]),
            override_options([A100], f["price"], 8.0),
            HARDWARE.assign(**figures),
            EFFICIENCIES,
            replica_sizes=f["sizes"],
        )
    except TcoError as exc:
        assert "\n" not in str(exc)
        return
    event("projected")
    _check_rows(frame, "replicas", "cost_usd_per_month", f["price"])
    assert (frame.loc[frame["feasible"], "replicas"] >= 1).all()  # any load needs a replica
