"""Owned hardware: the reference's worked example reproduced by hand, and the break-even helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tco.errors import TcoError
from tco.model.assumptions import Assumption
from tco.model.formulas import CAPITAL_RECOVERY_FACTOR
from tco.model.ownership import (
    OwnershipParams,
    breakeven_months,
    breakeven_utilisation,
    ownership_costs,
)
from tco.presets import ownership_params


def _worked_example(**changes: float) -> pd.DataFrame:
    """projection_model.md §5.3: one 8xH100 node, $325k, 4 years straight line, colo 10.2 kW at $200/kW-month
    with power bundled (so no separate energy), maintenance 10%, staff $10k/yr."""
    row = {
        "capex_usd_per_accelerator": 325_000 / 8,
        "network_capex_fraction": 0.0,
        "life_years": 4.0,
        "residual_fraction": 0.0,
        "discount_rate": 0.0,
        "it_kw_per_accelerator": 0.775,
        "contracted_kw_per_accelerator": 10.2 / 8,
        "pue": 1.2,
        "electricity_usd_per_kwh": 0.0,
        "colocation_usd_per_kw_month": 200.0,
        "maintenance_fraction_per_year": 0.10,
        "staff_usd_per_accelerator_year": 10_000 / 8,
        "idle_power_fraction": 0.2,
        "utilisation": 1.0,
    }
    row.update(changes)
    return ownership_costs(pd.DataFrame([row]))


def test_reference_worked_example() -> None:
    costs = _worked_example().iloc[0]
    node_year = costs["total_usd_per_year"] * 8
    assert costs["capex_usd_per_year"] * 8 == pytest.approx(81_250)
    assert costs["colocation_usd_per_year"] * 8 == pytest.approx(24_480)
    assert costs["maintenance_usd_per_year"] * 8 == pytest.approx(32_500)
    assert node_year == pytest.approx(148_230)  # "total ≈ $148k/yr"
    assert costs["owned_usd_per_accelerator_hour"] == pytest.approx(2.115, abs=1e-3)  # "$2.11/GPU-h at 100%"
    at_70 = _worked_example(utilisation=0.7).iloc[0]["owned_usd_per_accelerator_hour"]
    assert at_70 == pytest.approx(3.02, abs=0.01)  # "$3.0 at 70%"
    fixed, variable = costs["fixed_usd_per_accelerator_year"], costs["variable_usd_per_accelerator_hour"]
    # "Break-even is ~17% utilization against AWS on-demand at $12.29, but ~85% against a $2.49 neocloud."
    assert breakeven_utilisation(fixed, variable, 12.29) == pytest.approx(0.172, abs=0.002)
    assert breakeven_utilisation(fixed, variable, 2.49) == pytest.approx(0.849, abs=0.002)


def test_energy_follows_utilisation_and_idle_power() -> None:
    busy = _worked_example(electricity_usd_per_kwh=0.1, utilisation=1.0).iloc[0]
    idle = _worked_example(electricity_usd_per_kwh=0.1, utilisation=0.0001).iloc[0]
    assert busy["energy_usd_per_year"] == pytest.approx(0.775 * 1.2 * 0.1 * 8760)
    assert idle["energy_usd_per_year"] == pytest.approx(0.775 * 1.2 * 0.1 * 8760 * (0.2 + 0.8 * 0.0001))
    assert busy["variable_usd_per_accelerator_hour"] == pytest.approx(0.775 * 1.2 * 0.1 * 0.8)


def test_capital_recovery_factor() -> None:
    crf = CAPITAL_RECOVERY_FACTOR.evaluate(
        discount_rate=np.array([0.0, 0.08]), life_years=np.array([4.0, 5.0])
    )
    assert crf == pytest.approx([0.25, 0.08 / (1 - 1.08**-5)])
    discounted = _worked_example(discount_rate=0.08).iloc[0]
    assert discounted["capex_usd_per_year"] * 8 == pytest.approx(325_000 * 0.08 / (1 - 1.08**-4))


def test_breakeven_never_when_cloud_is_cheaper_than_power_and_months_positive() -> None:
    costs = _worked_example(electricity_usd_per_kwh=0.1, utilisation=0.7)
    assert np.isnan(breakeven_utilisation(1000.0, 1.0, 0.5))
    months = breakeven_months(costs, 6.88)[0]
    assert 0 < months < 36
    assert np.isnan(breakeven_months(costs, 0.01)[0])


def test_owned_hour_is_the_fixed_part_spread_over_used_hours_plus_the_variable_part() -> None:
    costs = _worked_example(electricity_usd_per_kwh=0.1, utilisation=0.5).iloc[0]
    fixed, variable = costs["fixed_usd_per_accelerator_year"], costs["variable_usd_per_accelerator_hour"]
    assert costs["owned_usd_per_accelerator_hour"] == pytest.approx(fixed / (8760 * 0.5) + variable)
    assert costs["total_usd_per_year"] == pytest.approx(fixed + variable * 8760 * 0.5)


def test_h100_defaults_are_sourced_and_overridable() -> None:
    found = ownership_params("H100-80GB")
    assert found is not None
    params, node = found
    assert node == 8
    assert params.capex_usd_per_accelerator.value == 40_625
    assert all(a.source for _, a in params.items())
    cheaper = params.with_overrides(electricity_usd_per_kwh=0.05)
    assert cheaper.electricity_usd_per_kwh.source == "override"
    assert ownership_params("L4") is None  # no sourced capex: owned rows need --capex-usd-per-accelerator
    assert ownership_params("L4", capex_usd_per_accelerator=3000.0) is not None


def test_invalid_parameters_raise() -> None:
    with pytest.raises(TcoError, match="PUE"):
        OwnershipParams.for_accelerator(
            Assumption.given(1.0, "USD", "t"), 700.0, tdp_source="t"
        ).with_overrides(pue=0.9)
    with pytest.raises(TcoError, match="missing"):
        ownership_costs(pd.DataFrame([{"capex_usd_per_accelerator": 1.0}]))
