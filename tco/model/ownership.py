"""Owned hardware: the total cost of owning accelerators, per accelerator-year and per accelerator-hour.

The on-prem TCO model of docs/projection_model.md §5.1 (every default in §5.2/§8, secondary sources,
all overridable)::

    capex              = capex_usd_per_accelerator * (1 + network_capex_fraction)
    annualised_capex   = (capex - residual / (1+r)^life) * CRF(r, life)      CRF = r / (1 - (1+r)^-life);
                                                                            r = 0: straight line 1/life
    energy (per year)  = it_kw * PUE * $/kWh * 8760 * (u + (1-u) * idle_power_fraction)
    colocation         = contracted_kw * $/kW-month * 12      (space and cooling per contracted kW)
    maintenance        = maintenance_fraction_per_year * capex
    staff              = staff_usd_per_accelerator_year
    owned $/acc-hour   = total / (8760 * u)
    break-even u       = fixed / (8760 * (cloud $/acc-h - variable $/acc-h))
    break-even months  = capex / (cloud monthly spend at the same delivered hours - monthly opex)

The cost splits into a **fixed** part, paid whether the hardware is used or not (capex, colocation,
maintenance, staff, idle power) and a **variable** part per used accelerator-hour (power above idle).
That split is what the training and serving projections consume (a purchase option with
``fixed_usd_per_accelerator_year`` and ``variable_usd_per_accelerator_hour``), and what issue #6
(procurement comparison, break-even) builds on.

API:

* :class:`OwnershipParams` - one set of parameters, each an :class:`~tco.model.assumptions.Assumption`
  (value, range, source); :meth:`OwnershipParams.for_accelerator` builds the defaults for an accelerator
  from its capex and power figures.
* :func:`ownership_costs` - the vectorised core: a frame with one row per scenario and a column per
  parameter (:data:`PARAM_COLUMNS`) in, the cost breakdown out. Sweep anything by adding rows.
* :func:`breakeven_utilisation`, :func:`breakeven_months` - array-friendly helpers over the breakdown.

The formulas themselves are defined once in :mod:`tco.model.formulas` (``CAPEX``, ``CAPEX_PER_YEAR``,
``OWNED_FIXED_USD_PER_ACCELERATOR_YEAR``, ...): the workbooks write the same definitions as live formulas.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Final

from tco.errors import TcoError
from tco.model.assumptions import Assumption, check_fraction, check_positive
from tco.model.units import HOURS_PER_YEAR, MONTHS_PER_YEAR, W_PER_KW

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tco.model.formula import Expr

#: Host CPU, memory, NICs and switches per accelerator: (~500 W host + ~100 W network) / 8 GPUs
#: (docs/projection_model.md §5.2: "IT load ≈ 6.2 kW typical (8×700 W + ~500 W host + ~100 W network)").
HOST_W_PER_ACCELERATOR: Final = 75.0

NETWORK_CAPEX_FRACTION: Final = Assumption(
    0.125,
    0.10,
    0.15,
    "fraction of server capex",
    "network (transceivers, cables, ToR/spine) adds 10-15% of server capex (docs/projection_model.md §5.1)",
)
LIFE_YEARS: Final = Assumption(
    4.0, 3.0, 5.0, "years", "4-year life (docs/projection_model.md §8; depreciation 3-5 years, §5.2)"
)
RESIDUAL_FRACTION: Final = Assumption(
    0.0,
    0.0,
    0.35,
    "fraction of capex",
    "no resale value by default (straight-line, docs/projection_model.md §5.3 worked example); 25-35% "
    "after 36 months "
    "is reported (docs/projection_model.md §5.2)",
)
DISCOUNT_RATE: Final = Assumption(
    0.0,
    0.0,
    0.10,
    "per year",
    "0 = straight-line depreciation (docs/projection_model.md §5.3); > 0 annualises with the capital "
    "recovery factor (§5.1)",
)
PUE: Final = Assumption(
    1.2,
    1.1,
    1.5,
    "ratio",
    "PUE 1.2 (docs/projection_model.md §8); hyperscale 1.10-1.20, colo 1.3-1.5 (Uptime 2024 via §5.2)",
)
ELECTRICITY_USD_PER_KWH: Final = Assumption(
    0.10,
    0.06,
    0.19,
    "USD/kWh",
    "$0.10/kWh (docs/projection_model.md §8); industrial $0.06-0.12, US commercial average 19c (May "
    "2025) (§5.2)",
)
COLOCATION_USD_PER_KW_MONTH: Final = Assumption(
    200.0,
    150.0,
    250.0,
    "USD per kW-month",
    "colocation $150-250 per kW-month, default $200 (docs/projection_model.md §5.2, §8)",
)
MAINTENANCE_FRACTION_PER_YEAR: Final = Assumption(
    0.10,
    0.10,
    0.10,
    "fraction of capex per year",
    "maintenance ~10%/yr of hardware (docs/projection_model.md §5.2, §8)",
)
STAFF_USD_PER_ACCELERATOR_YEAR: Final = Assumption(
    1250.0,
    1250.0,
    1250.0,
    "USD per accelerator-year",
    "staff share $10k/yr per 8-accelerator node (docs/projection_model.md §5.3 worked example)",
)
IDLE_POWER_FRACTION: Final = Assumption(
    0.2,
    0.1,
    0.3,
    "fraction of IT power",
    "tco assumption: an idle server draws ~20% of its loaded power (UNVERIFIED; override)",
)
UTILISATION: Final = Assumption(
    0.7,
    0.7,
    0.7,
    "fraction of hours",
    "70% utilisation for a standalone $/accelerator-hour (docs/projection_model.md §8)",
)

#: Columns of the frame :func:`ownership_costs` reads: one per parameter.
PARAM_COLUMNS: Final = (
    "capex_usd_per_accelerator",
    "network_capex_fraction",
    "life_years",
    "residual_fraction",
    "discount_rate",
    "it_kw_per_accelerator",
    "contracted_kw_per_accelerator",
    "pue",
    "electricity_usd_per_kwh",
    "colocation_usd_per_kw_month",
    "maintenance_fraction_per_year",
    "staff_usd_per_accelerator_year",
    "idle_power_fraction",
    "utilisation",
)


@dataclass(frozen=True, slots=True)
class OwnershipParams:
    """Owned-hardware parameters for one accelerator type, each with its range and source."""

    capex_usd_per_accelerator: Assumption
    it_kw_per_accelerator: Assumption
    contracted_kw_per_accelerator: Assumption
    network_capex_fraction: Assumption = NETWORK_CAPEX_FRACTION
    life_years: Assumption = LIFE_YEARS
    residual_fraction: Assumption = RESIDUAL_FRACTION
    discount_rate: Assumption = DISCOUNT_RATE
    pue: Assumption = PUE
    electricity_usd_per_kwh: Assumption = ELECTRICITY_USD_PER_KWH
    colocation_usd_per_kw_month: Assumption = COLOCATION_USD_PER_KW_MONTH
    maintenance_fraction_per_year: Assumption = MAINTENANCE_FRACTION_PER_YEAR
    staff_usd_per_accelerator_year: Assumption = STAFF_USD_PER_ACCELERATOR_YEAR
    idle_power_fraction: Assumption = IDLE_POWER_FRACTION
    utilisation: Assumption = UTILISATION

    def __post_init__(self) -> None:
        for name in ("capex_usd_per_accelerator", "life_years", "it_kw_per_accelerator", "pue"):
            check_positive(name.replace("_", " "), getattr(self, name).value)
        for name in (
            "network_capex_fraction",
            "residual_fraction",
            "idle_power_fraction",
            "maintenance_fraction_per_year",
        ):
            check_fraction(name.replace("_", " "), getattr(self, name).value, allow_zero=True)
        check_fraction("utilisation", self.utilisation.value)
        if self.pue.value < 1:
            raise TcoError(f"PUE must be at least 1, got {self.pue.value:g}")
        for name in (
            "discount_rate",
            "electricity_usd_per_kwh",
            "colocation_usd_per_kw_month",
            "staff_usd_per_accelerator_year",
            "contracted_kw_per_accelerator",
        ):
            if getattr(self, name).value < 0:
                raise TcoError(f"{name.replace('_', ' ')} must not be negative")

    @classmethod
    def for_accelerator(
        cls,
        capex_usd_per_accelerator: Assumption,
        tdp_w: float,
        *,
        tdp_source: str,
        node_max_kw_per_accelerator: float | None = None,
        node_source: str = "",
    ) -> OwnershipParams:
        """Defaults for an accelerator: IT power = TDP + host share; colo contracted at the node maximum
        when known, else at the IT power."""
        check_positive("TDP", tdp_w)
        it_kw = (tdp_w + HOST_W_PER_ACCELERATOR) / W_PER_KW
        it = Assumption.given(
            it_kw,
            "kW",
            f"TDP {tdp_w:g} W ({tdp_source}) + {HOST_W_PER_ACCELERATOR:g} W host/network share "
            "(docs/projection_model.md §5.2)",
        )
        if node_max_kw_per_accelerator is not None:
            contracted = Assumption.given(node_max_kw_per_accelerator, "kW", node_source)
        else:
            contracted = replace(it, source="contracted at the IT power (no node maximum sourced)")
        return cls(
            capex_usd_per_accelerator=capex_usd_per_accelerator,
            it_kw_per_accelerator=it,
            contracted_kw_per_accelerator=contracted,
        )

    def with_overrides(self, **values: float | None) -> OwnershipParams:
        """A copy with user values (None = keep), each sourced as an override."""
        known = {f.name for f in fields(self)}
        changes = {}
        for name, value in values.items():
            if value is None:
                continue
            if name not in known:
                raise TcoError(f"unknown ownership parameter {name!r}")
            changes[name] = Assumption.given(float(value), getattr(self, name).unit, "override")
        return replace(self, **changes)

    def items(self) -> list[tuple[str, Assumption]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    def to_frame(self, which: str = "value") -> pd.DataFrame:
        """One row with a column per parameter (``which``: value, low or high)."""
        import pandas as pd

        return pd.DataFrame({name: [getattr(a, which)] for name, a in self.items()})


@dataclass(frozen=True, slots=True)
class OwnedServer:
    """Owned nodes of one accelerator type: the per-accelerator parameters and the node size."""

    accelerator: str
    params: OwnershipParams
    accelerators_per_server: float
    server_source: str

    def __post_init__(self) -> None:
        check_positive("accelerators per server", self.accelerators_per_server)


def ownership_costs(params: pd.DataFrame) -> pd.DataFrame:
    """Cost breakdown per accelerator for each row of ``params`` (columns :data:`PARAM_COLUMNS`), by the
    formulas of :mod:`tco.model.formulas` (docs/projection_model.md §5.1).

    Adds, all in USD per accelerator: ``capex_usd`` (with network), ``capex_usd_per_year`` (annualised),
    ``energy_usd_per_year`` (at the row's utilisation), ``colocation_usd_per_year``,
    ``maintenance_usd_per_year``, ``staff_usd_per_year``, ``total_usd_per_year``,
    ``fixed_usd_per_accelerator_year`` (paid whether used or not), ``variable_usd_per_accelerator_hour``
    (power above idle, per used hour) and ``owned_usd_per_accelerator_hour`` at the row's utilisation.
    NaN parameters give NaN costs.
    """
    from tco.model import formulas as F

    missing = [c for c in PARAM_COLUMNS if c not in params.columns]
    if missing:
        raise TcoError(f"ownership parameters missing: {', '.join(missing)}")
    p = {c: params[c].to_numpy(dtype="float64") for c in PARAM_COLUMNS}

    def of(formula: Expr) -> np.ndarray:
        return formula.evaluate(**{name: p[name] for name in formula.names})

    return params.assign(
        capex_usd=of(F.CAPEX),
        capex_usd_per_year=of(F.CAPEX_PER_YEAR),
        energy_usd_per_year=of(F.ENERGY_USD_PER_YEAR),
        colocation_usd_per_year=of(F.COLOCATION_USD_PER_YEAR),
        maintenance_usd_per_year=of(F.MAINTENANCE_USD_PER_YEAR),
        staff_usd_per_year=p["staff_usd_per_accelerator_year"],
        total_usd_per_year=of(F.OWNED_TOTAL_USD_PER_YEAR),
        fixed_usd_per_accelerator_year=of(F.OWNED_FIXED_USD_PER_ACCELERATOR_YEAR),
        variable_usd_per_accelerator_hour=of(F.OWNED_VARIABLE_USD_PER_ACCELERATOR_HOUR),
        owned_usd_per_accelerator_hour=of(F.OWNED_USD_PER_ACCELERATOR_HOUR),
    )


def breakeven_utilisation(
    fixed_usd_per_accelerator_year: np.ndarray | pd.Series | float,
    variable_usd_per_accelerator_hour: np.ndarray | pd.Series | float,
    cloud_usd_per_accelerator_hour: np.ndarray | pd.Series | float,
) -> np.ndarray:
    """Utilisation above which owning is cheaper than renting at ``cloud_usd_per_accelerator_hour``.

    NaN where owning never breaks even (the cloud price is at or below the variable cost); values above 1
    mean it does not break even within a year's hours.
    """
    import numpy as np

    margin = np.asarray(cloud_usd_per_accelerator_hour, dtype="float64") - np.asarray(
        variable_usd_per_accelerator_hour, dtype="float64"
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(fixed_usd_per_accelerator_year, dtype="float64") / (HOURS_PER_YEAR * margin)
    return np.asarray(np.where(margin > 0, out, np.nan))


def breakeven_months(
    costs: pd.DataFrame, cloud_usd_per_accelerator_hour: np.ndarray | pd.Series | float
) -> np.ndarray:
    """Months until the capex is paid back by not renting: ``capex / (cloud monthly - owned opex monthly)``
    at the same delivered accelerator-hours (``costs`` from :func:`ownership_costs`). NaN if never."""
    import numpy as np

    hours_per_month = HOURS_PER_YEAR / MONTHS_PER_YEAR * costs["utilisation"]
    cloud = np.asarray(cloud_usd_per_accelerator_hour, dtype="float64") * hours_per_month
    opex = (
        costs["energy_usd_per_year"]
        + costs["colocation_usd_per_year"]
        + costs["maintenance_usd_per_year"]
        + costs["staff_usd_per_year"]
    ) / MONTHS_PER_YEAR
    saving = np.asarray(cloud - opex, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        months = np.asarray(costs["capex_usd"], dtype="float64") / saving
    return np.asarray(np.where(saving > 0, months, np.nan))
