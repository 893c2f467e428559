"""Purchase options: what a run costs on demand, on spot, under a commitment, or on owned hardware.

Every purchase option is reduced to two prices per accelerator (columns of the options frame, see
:mod:`tco.model.offers`):

* ``variable_usd_per_accelerator_hour`` - paid per used hour (on-demand and spot list prices; the power of
  owned hardware above idle);
* ``fixed_usd_per_accelerator_year`` - paid whether used or not (reserved/committed prices x 8760 h; owned
  capex, colocation, maintenance, staff and idle power).

A month of training costs ``sets * billed * fixed/12 + variable * billed * paid_hours * runs``, where
``sets = ceil(runs * paid_hours / 730)`` is how many copies of the cluster must be held to fit the month's
runs (at least one: a commitment is paid whether used or not, so utilisation matters) and ``billed`` counts
whole instances. Spot/low-priority runs take longer (:func:`spot_time_factor`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from tco.model.units import HOURS_PER_MONTH, HOURS_PER_YEAR, MONTHS_PER_YEAR

if TYPE_CHECKING:
    import numpy as np

#: Pricing model -> billing kind.
BILLING: Final = {
    "on_demand": "usage",
    "spot": "usage",
    "low_priority": "usage",
    "reserved_1y": "commitment",
    "reserved_3y": "commitment",
    "committed_1y": "commitment",
    "committed_3y": "commitment",
    "savings_plan_1y": "commitment",
    "savings_plan_3y": "commitment",
    "owned": "owned",
}
INTERRUPTIBLE: Final = frozenset({"spot", "low_priority"})
#: Exponents beyond this are capped: the expected time is astronomically long either way.
_MAX_EXPONENT: Final = 50.0


def spot_time_factor(
    wall_hours: np.ndarray,
    instances: np.ndarray,
    interruptions_per_instance_hour: float,
    checkpoint_interval_hours: float,
    restart_hours: float,
) -> np.ndarray:
    """Expected time on interruptible capacity / time without interruptions (>= 1).

    Interruptions arrive as a Poisson process at ``lambda = rate * instances`` per hour (any instance lost
    stops the job). Work is checkpointed every ``tau = min(checkpoint_interval, wall)`` hours; an
    interruption loses the work since the last checkpoint and costs ``restart_hours``. The expected time per
    segment is ``(1/lambda + R) (e^(lambda tau) - 1)`` (Daly 2006, "A higher order estimate of the optimum
    checkpoint interval for restart dumps", eq. 3 without dump time), so the factor is
    ``(1 + lambda R) (e^(lambda tau) - 1) / (lambda tau)``. It grows with the number of instances, with the
    checkpoint interval and, for runs shorter than one interval, with the run length. NaN in, NaN out.
    """
    import numpy as np

    wall = np.asarray(wall_hours, dtype="float64")
    rate = interruptions_per_instance_hour * np.asarray(instances, dtype="float64")
    tau = np.minimum(checkpoint_interval_hours, wall)
    x = np.minimum(rate * tau, _MAX_EXPONENT)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(x > 0, np.expm1(x) / x, 1.0)
    return np.asarray(np.where(np.isnan(wall), np.nan, (1.0 + rate * restart_hours) * growth))


def run_costs(
    wall_hours: np.ndarray,
    accelerator_count: np.ndarray,
    accelerators_per_instance: np.ndarray,
    fixed_usd_per_accelerator_year: np.ndarray,
    variable_usd_per_accelerator_hour: np.ndarray,
    interruptible: np.ndarray,
    runs_per_month: np.ndarray,
    *,
    interruptions_per_instance_hour: float,
    checkpoint_interval_hours: float,
    restart_hours: float,
) -> dict[str, np.ndarray]:
    """Cost of training runs for arrays of scenarios (all arguments broadcast together).

    Returns arrays: ``instances``, ``billed_accelerators``, ``interruption_factor``, ``paid_wall_hours``,
    ``accelerator_hours`` (billed accelerator-hours per run), ``clusters_held`` (copies of a committed or
    owned cluster needed for the month's runs; NaN for usage billing), ``utilisation`` (used share of the
    paid hours; 1 for usage billing), ``cost_usd_per_month``, ``cost_usd_per_run``, ``cost_usd_per_year``,
    ``effective_usd_per_accelerator_hour``.
    """
    import numpy as np

    n = np.asarray(accelerator_count, dtype="float64")
    per_instance = np.asarray(accelerators_per_instance, dtype="float64")
    instances = np.ceil(n / per_instance)
    billed = instances * per_instance
    factor = np.where(
        np.asarray(interruptible, dtype=bool),
        spot_time_factor(
            wall_hours, instances, interruptions_per_instance_hour, checkpoint_interval_hours, restart_hours
        ),
        1.0,
    )
    paid_hours = np.asarray(wall_hours, dtype="float64") * factor
    runs = np.asarray(runs_per_month, dtype="float64")
    fixed = np.asarray(fixed_usd_per_accelerator_year, dtype="float64")
    variable = np.asarray(variable_usd_per_accelerator_hour, dtype="float64")
    hours_per_month = paid_hours * runs
    has_fixed = fixed > 0
    clusters = np.where(has_fixed, np.maximum(1.0, np.ceil(hours_per_month / HOURS_PER_MONTH)), np.nan)
    # A missing fixed price stays missing (NaN), it never becomes free.
    fixed_month = np.where(
        has_fixed, clusters * billed * fixed / MONTHS_PER_YEAR, np.where(np.isnan(fixed), np.nan, 0.0)
    )
    variable_run = variable * billed * paid_hours
    month = fixed_month + variable_run * runs
    accelerator_hours = billed * paid_hours
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(has_fixed, hours_per_month / (clusters * HOURS_PER_MONTH), 1.0)
        effective = month / (accelerator_hours * runs)
    utilisation = np.where(np.isnan(paid_hours), np.nan, utilisation)
    return {
        "instances": instances,
        "billed_accelerators": billed,
        "interruption_factor": factor,
        "paid_wall_hours": paid_hours,
        "accelerator_hours": accelerator_hours,
        "clusters_held": clusters,
        "utilisation": utilisation,
        "cost_usd_per_month": month,
        "cost_usd_per_run": month / runs,
        "cost_usd_per_year": month * MONTHS_PER_YEAR,
        "effective_usd_per_accelerator_hour": effective,
    }


# --- the same formulas as spreadsheet expressions (live XLSX exports; tests recalculate them) ------------


def spot_time_factor_formula(
    wall_hours: str,
    instances: str,
    interruptions_per_instance_hour: str,
    checkpoint_interval_hours: str,
    restart_hours: str,
) -> str:
    """:func:`spot_time_factor` as a spreadsheet expression over cell references (or ``{key}`` templates)."""
    rate = f"({interruptions_per_instance_hour})*({instances})"
    x = f"MIN({rate}*MIN({checkpoint_interval_hours},{wall_hours}),{_MAX_EXPONENT:g})"
    growth = f"IF({x}>0,(EXP({x})-1)/({x}),1)"
    return f"((1+{rate}*({restart_hours}))*{growth})"


def billed_accelerators_formula(accelerator_count: str, accelerators_per_instance: str) -> str:
    """Whole instances x accelerators per instance (:func:`run_costs`' ``billed_accelerators``)."""
    return f"(ROUNDUP(({accelerator_count})/({accelerators_per_instance}),0)*({accelerators_per_instance}))"


def month_cost_formula(
    paid_wall_hours: str,
    runs_per_month: str,
    billed_accelerators: str,
    fixed_usd_per_accelerator_year: str,
    variable_usd_per_accelerator_hour: str,
) -> str:
    """:func:`run_costs`' ``cost_usd_per_month`` as a spreadsheet expression: the held clusters pay the fixed
    price whether used or not (``MAX(1, ROUNDUP(hours/730))`` copies), used hours pay the variable price."""
    hours = f"({paid_wall_hours})*({runs_per_month})"
    clusters = f"MAX(1,ROUNDUP({hours}/{HOURS_PER_MONTH:g},0))"
    year = f"({fixed_usd_per_accelerator_year})"
    fixed = f"IF({year}>0,{clusters}*({billed_accelerators})*{year}/{MONTHS_PER_YEAR:g},0)"
    variable = f"({variable_usd_per_accelerator_hour})*({billed_accelerators})*{hours}"
    return f"({fixed}+{variable})"


def held_month_cost_formula(
    billed_accelerators: str,
    hours_per_month: str,
    fixed_usd_per_accelerator_year: str,
    variable_usd_per_accelerator_hour: str,
) -> str:
    """:func:`held_month_cost` as a spreadsheet expression."""
    return (
        f"(({billed_accelerators})*(({fixed_usd_per_accelerator_year})/{MONTHS_PER_YEAR:g}"
        f"+({variable_usd_per_accelerator_hour})*({hours_per_month})))"
    )


def held_month_cost(
    billed_accelerators: np.ndarray,
    hours_per_month: np.ndarray,
    fixed_usd_per_accelerator_year: np.ndarray,
    variable_usd_per_accelerator_hour: np.ndarray,
) -> np.ndarray:
    """A month of accelerators held for a service: the fixed price is paid for every held accelerator whether
    used or not (commitments, owned hardware), the variable price per hour in use (on-demand, spot, owned
    power above idle): ``billed * (fixed / 12 + variable * hours)``. NaN in, NaN out."""
    import numpy as np

    billed = np.asarray(billed_accelerators, dtype="float64")
    fixed = np.asarray(fixed_usd_per_accelerator_year, dtype="float64")
    variable = np.asarray(variable_usd_per_accelerator_hour, dtype="float64")
    return np.asarray(
        billed * (fixed / MONTHS_PER_YEAR + variable * np.asarray(hours_per_month, dtype="float64"))
    )


def fixed_and_variable(billing: str, price_usd_per_accelerator_hour: str) -> tuple[str, str]:
    """The fixed ($/acc-year) and variable ($/acc-h) price expressions of a cloud list price by billing kind
    (as :func:`tco.model.offers.purchase_options` splits it): a commitment is paid for every hour of the
    year, usage only per used hour."""
    if billing == "commitment":
        return f"({price_usd_per_accelerator_hour})*{HOURS_PER_YEAR:g}", "0"
    if billing == "usage":
        return "0", f"({price_usd_per_accelerator_hour})"
    from tco.errors import TcoError

    raise TcoError(f"internal: no list-price split for billing {billing!r}")
