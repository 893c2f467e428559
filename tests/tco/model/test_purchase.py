"""Purchase options: on-demand, spot (interruptions), commitments (utilisation), NaN prices."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tco.model.purchase import run_costs, spot_time_factor

SPOT = {"checkpoint_interval_hours": 1.0, "restart_hours": 0.25}


def _costs(
    wall: float,
    n: float = 8,
    per_instance: float = 8,
    fixed: float = 0.0,
    variable: float = 2.0,
    interruptible: bool = False,
    runs: float = 1.0,
    rate: float = 1 / 24,
) -> dict[str, np.ndarray]:
    return run_costs(
        np.array([wall]),
        np.array([n]),
        np.array([per_instance]),
        np.array([fixed]),
        np.array([variable]),
        np.array([interruptible]),
        np.array([runs]),
        interruptions_per_instance_hour=rate,
        **SPOT,
    )


def test_spot_factor_by_hand() -> None:
    # 8 instances x 1/24 per hour = 1/3 per hour; tau = 1 h; R = 0.25 h:
    # (1 + lambda R) (e^(lambda tau) - 1) / (lambda tau) = (1 + 1/12) * 3 (e^(1/3) - 1)
    expected = (1 + 1 / 12) * 3 * (math.exp(1 / 3) - 1)
    assert spot_time_factor(np.array([100.0]), np.array([8.0]), 1 / 24, 1.0, 0.25)[0] == pytest.approx(
        expected
    )
    assert expected == pytest.approx(1.28574, rel=1e-5)


def test_spot_factor_is_one_without_interruptions_and_grows_with_scale_interval_and_short_runs() -> None:
    assert spot_time_factor(np.array([50.0]), np.array([4.0]), 0.0, 1.0, 0.25)[0] == 1.0
    one, many = spot_time_factor(np.array([100.0, 100.0]), np.array([1.0, 32.0]), 1 / 24, 1.0, 0.25)
    assert 1.0 < one < many
    short, long_interval = spot_time_factor(
        np.array([100.0, 100.0]), np.array([8.0, 8.0]), 1 / 24, np.array([0.5, 4.0]), 0.25
    )
    assert short < long_interval
    # Without checkpoints (interval longer than the run) the loss grows with the run length.
    brief, lengthy = spot_time_factor(np.array([2.0, 20.0]), np.array([8.0, 8.0]), 1 / 24, 1e9, 0.25)
    assert brief < lengthy


def test_on_demand_cost_by_hand() -> None:
    out = _costs(100.0, n=16, per_instance=8, variable=2.5, runs=3.0)
    assert out["instances"][0] == 2
    assert out["cost_usd_per_run"][0] == pytest.approx(16 * 2.5 * 100)
    assert out["cost_usd_per_month"][0] == pytest.approx(3 * 16 * 2.5 * 100)
    assert out["cost_usd_per_year"][0] == pytest.approx(12 * 3 * 16 * 2.5 * 100)
    assert out["utilisation"][0] == 1.0


def test_commitment_is_paid_whether_used_or_not() -> None:
    yearly = 1.5 * 8760  # a 1.5 $/acc-h reservation
    half = _costs(365.0, fixed=yearly, variable=0.0)  # one run of 365 h a month: half of 730 h used
    assert half["utilisation"][0] == pytest.approx(0.5)
    assert half["cost_usd_per_month"][0] == pytest.approx(8 * 1.5 * 730)
    assert half["effective_usd_per_accelerator_hour"][0] == pytest.approx(3.0)
    # Two such runs fill the month: same bill, twice the work.
    full = _costs(365.0, fixed=yearly, variable=0.0, runs=2.0)
    assert full["cost_usd_per_month"][0] == pytest.approx(half["cost_usd_per_month"][0])
    assert full["cost_usd_per_run"][0] == pytest.approx(half["cost_usd_per_run"][0] / 2)
    # Three need a second reservation.
    assert _costs(365.0, fixed=yearly, variable=0.0, runs=3.0)["clusters_held"][0] == 2


def test_missing_price_is_nan_never_zero() -> None:
    for kwargs in ({"variable": math.nan}, {"fixed": math.nan, "variable": 0.0}):
        out = _costs(10.0, **kwargs)
        assert math.isnan(out["cost_usd_per_run"][0]), kwargs


@given(
    st.floats(0.01, 1e5),
    st.integers(1, 64),
    st.floats(0.0, 100.0),
    st.floats(0.01, 50.0),
    st.booleans(),
    st.floats(0.05, 30.0),
)
@settings(max_examples=60, deadline=None)
def test_properties(
    wall: float, instances: int, fixed_hourly: float, variable: float, spot: bool, runs: float
) -> None:
    fixed = fixed_hourly * 8760
    base = _costs(wall, n=8 * instances, fixed=fixed, variable=variable, interruptible=spot, runs=runs)
    assert base["cost_usd_per_month"][0] >= 0
    # Linear in price (both parts scaled together).
    double = _costs(
        wall, n=8 * instances, fixed=2 * fixed, variable=2 * variable, interruptible=spot, runs=runs
    )
    assert double["cost_usd_per_month"][0] == pytest.approx(2 * base["cost_usd_per_month"][0])
    # A longer run never costs less.
    longer = _costs(
        wall * 1.5, n=8 * instances, fixed=fixed, variable=variable, interruptible=spot, runs=runs
    )
    assert longer["cost_usd_per_month"][0] >= base["cost_usd_per_month"][0] * (1 - 1e-12)
