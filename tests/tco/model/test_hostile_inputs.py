"""Hostile values into the model's public functions: a value no workload can have is one TcoError; a missing
value (NaN) or hardware that cannot run the scenario gives rows with ``feasible`` False and a ``reason``;
nothing raises IndexError, ValueError or a NumPy type error (an empty options, hardware or MFU table once
did)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tco.errors import TcoError
from tco.model.offers import override_options
from tco.model.serving import project_serving
from tco.model.throughput import empty_calibrations, lookup, resolve_serving_efficiency
from tco.model.training import project_training
from tco.presets import find_model, hardware_table

from .conftest import hardware, mfu_defaults, token_workload

# NaN and infinity are data: a projection on them prints no NumPy warning either (tco.model.numeric),
# and nothing that a future pandas turns into an error (a fill value of the wrong type).
pytestmark = [
    pytest.mark.filterwarnings("error::RuntimeWarning"),
    pytest.mark.filterwarnings("error::pandas.errors.Pandas4Warning"),
]


def train(**kwargs: Any) -> pd.DataFrame:
    return project_training(
        kwargs.pop("workload", token_workload()),
        kwargs.pop("options", override_options(["X1"], 2.0, 8.0)),
        kwargs.pop("hardware", hardware()),
        counts=kwargs.pop("counts", (8,)),
        frameworks=kwargs.pop("frameworks", ["torch"]),
        mfu_defaults=kwargs.pop("mfu", mfu_defaults()),
        **kwargs,
    )


def one_reason(frame: pd.DataFrame) -> str:
    assert len(frame) == 1 and not frame["feasible"].iloc[0] and math.isnan(frame["wall_hours"].iloc[0])
    return str(frame["reason"].iloc[0])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"workload": token_workload(layers=0.0, hidden=4096.0)}, "layers must be positive"),
        ({"workload": token_workload(params=math.inf)}, "params must be finite"),
        ({"workload": token_workload(tokens=-1.0)}, "tokens must be positive"),
        ({"counts": ()}, "no accelerator counts"),
        ({"counts": (0,)}, "whole numbers of at least 1, not 0"),
        ({"counts": (8.5,)}, "whole numbers of at least 1, not 8.5"),
        ({"counts": (math.nan,)}, "whole numbers of at least 1, not nan"),
        ({"counts": (True,)}, "whole numbers of at least 1, not True"),
        ({"frameworks": []}, "no frameworks given"),
        ({"runs_per_month": (math.inf,)}, "runs per month must be positive"),
    ],
)
def test_training_values_no_workload_can_have(change: dict[str, Any], message: str) -> None:
    with pytest.raises(TcoError, match=message):
        train(**change)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"workload": token_workload(tokens=math.nan)}, "amount of work is unknown"),
        ({"hardware": hardware().iloc[0:0]}, "no throughput: no dense peak for X1 bf16"),
        ({"hardware": hardware(peak_tflops=0.0)}, "no usable peak FLOP/s, memory size or bandwidth for X1"),
        (
            {"hardware": hardware(bandwidth_tb_s=0.0)},
            "no usable peak FLOP/s, memory size or bandwidth for X1",
        ),
        ({"hardware": hardware(memory_bytes=-1.0)}, "no usable peak FLOP/s, memory size or bandwidth for X1"),
        ({"mfu": mfu_defaults().iloc[0:0]}, "no throughput: no default MFU for X1 bf16"),
        ({"hardware": hardware(interconnect_gb_s=0.0, inter_gb_s=0.0)}, "scaling efficiency unknown"),
        ({"counts": (10**9,)}, "no parallel layout splits this workload over 1,000,000,000 accelerators"),
    ],
)
def test_training_rows_that_cannot_run_say_why(change: dict[str, Any], reason: str) -> None:
    assert reason in one_reason(train(**change))


@pytest.mark.parametrize(
    "options",
    [
        override_options(["X1"], 2.0, 8.0).iloc[0:0],
        override_options(["X1"], 2.0, 0.0),
        override_options(["X1"], 2.0, math.nan),
    ],
)
def test_training_without_a_usable_option_is_no_rows(options: pd.DataFrame) -> None:
    assert train(options=options).empty


def test_training_on_an_empty_workload_frame_is_no_rows() -> None:
    assert train(workload=token_workload().iloc[0:0]).empty


def test_lookup_in_an_empty_table_is_missing() -> None:
    table = pd.DataFrame({"accelerator": pd.Series([], dtype=object), "peak": pd.Series([], dtype=float)})
    frame = pd.DataFrame({"accelerator": ["X1", "X2"]})
    assert np.isnan(lookup(table, frame, ["accelerator"], "peak")).all()


# --- serving ------------------------------------------------------------------------------------------------

A100 = "A100-80GB"


def serve(workload: dict[str, Any] | None = None, **kwargs: Any) -> pd.DataFrame:
    m = find_model("llama-2-7b")
    row: dict[str, Any] = {
        "workload": "w",
        "params": m["params"],
        "layers": m["layers"],
        "hidden": m["hidden"],
        "heads": m["heads"],
        "kv_heads": m["kv_heads"],
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
    }
    row.update(workload or {})
    hw = kwargs.pop("hardware", hardware_table([A100]))
    efficiencies = resolve_serving_efficiency(
        [A100],
        ["torch"],
        hardware_table([A100]),
        empty_calibrations(),
        dtype="bf16",
        mbu_default=(0.9, 0.8, 0.95, "test"),
        flops_default=(0.7, 0.6, 0.8, "test"),
    )
    return project_serving(
        pd.DataFrame([row]),
        kwargs.pop("options", override_options([A100], 2.0, 8.0)),
        hw,
        efficiencies,
        replica_sizes=kwargs.pop("replica_sizes", (1, 2)),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        ({"layers": 0.0}, {}, "layers must be positive and finite, got 0"),
        ({"heads": math.nan}, {}, "serving needs heads"),
        ({"requests_per_s": math.inf}, {}, "requests per s must be positive and finite, got inf"),
        ({"prompt_tokens": -5.0}, {}, "prompt tokens must be positive"),
        ({"ttft_s": -math.inf}, {}, "ttft s must be positive"),
        ({"hours_per_day": 25.0}, {}, "hours per day must be at most 24"),
        ({"dtype": None}, {}, "serving needs dtype"),
        ({"layers": "many"}, {}, "layers must be a number"),
        ({}, {"replica_sizes": ()}, "no replica sizes given"),
        ({}, {"replica_sizes": (0,)}, "replica sizes must be whole numbers of at least 1, not 0"),
        ({}, {"replica_sizes": (-2,)}, "replica sizes must be whole numbers of at least 1, not -2"),
        ({}, {"batch_sizes": ()}, "no batch sizes given"),
        ({}, {"batch_sizes": (0,)}, "batch sizes must be whole numbers of at least 1"),
        ({}, {"layouts": ()}, "unknown serving layout"),
    ],
)
def test_serving_values_no_workload_can_have(
    change: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(TcoError, match=message):
        serve(change, **kwargs)


def test_serving_without_a_latency_target_is_allowed() -> None:
    frame = serve({"ttft_s": math.inf, "tpot_s": math.inf})
    assert frame["feasible"].all()


@pytest.mark.parametrize("column", ["peak_tflops", "memory_bandwidth_tb_s"])
@pytest.mark.parametrize("value", [0.0, -1.0, math.inf, math.nan])
def test_serving_on_unusable_hardware_figures_says_why(column: str, value: float) -> None:
    frame = serve(hardware=hardware_table([A100]).assign(**{column: value}))
    assert len(frame) and not frame["feasible"].any()
    assert frame["reason"].str.startswith("no peak FLOP/s or memory bandwidth for A100-80GB bf16").all()


def test_serving_without_options_is_no_rows() -> None:
    assert serve(options=override_options([A100], 2.0, 8.0).iloc[0:0]).empty


def test_a_tiny_load_still_needs_a_replica() -> None:
    """A rate so small that rate / capacity underflows to 0 once gave 0 replicas and a free deployment."""
    for layout in ("aggregated", "disaggregated"):
        frame = serve({"requests_per_s": 5e-324}, layouts=(layout,))
        feasible = frame[frame["feasible"]]
        assert len(feasible) and (feasible["replicas"] >= 1).all()
        assert (feasible["cost_usd_per_month"] > 0).all()


def test_a_rate_whose_fleet_cost_overflows_is_no_option() -> None:
    """1e308 requests/s needs ~1e306 replicas: a cost of inf is not an option to buy, and the row says why."""
    frame = serve({"requests_per_s": 1e308})
    assert len(frame) and not frame["feasible"].any()
    assert frame["reason"].str.contains("cost is beyond any number").all()
    assert serve({"requests_per_s": 1e30})["feasible"].all()  # huge but finite: still priced


def test_an_absurd_peak_is_no_run_time_with_a_reason() -> None:
    """1e308 TFLOP/s makes the step time overflow: the row says so instead of an empty reason."""
    assert "no finite run time from these figures" in one_reason(train(hardware=hardware(peak_tflops=1e308)))


def test_hardware_figures_of_any_numeric_type() -> None:
    """An integer too large for int64 makes a column object dtype; the projections read it as a number."""
    frame = train(hardware=hardware().assign(memory_bytes=[10**30], memory_bandwidth_tb_s=[10**30]))
    assert frame["feasible"].all()  # more memory than any job needs, and a fast one: it runs
    table = hardware_table([A100])
    served = serve(hardware=table.assign(memory_bytes=[10**30] * len(table)))
    assert served["feasible"].any()
