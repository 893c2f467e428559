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
whole instances. Spot/low-priority runs take longer (:func:`spot_time_factor`). The formulas are defined
once in :mod:`tco.model.formulas` (``RUN_MONTH_COST``, ``HELD_MONTH_COST``, ``SPOT_TIME_FACTOR``, ...);
this module evaluates them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from tco.model import formulas as F
from tco.model.formula import Const, Expr, var
from tco.model.units import HOURS_PER_MONTH

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


def spot_time_factor(
    wall_hours: np.ndarray,
    instances: np.ndarray,
    interruptions_per_instance_hour: float,
    checkpoint_interval_hours: float,
    restart_hours: float,
) -> np.ndarray:
    """Expected time on interruptible capacity / time without interruptions (>= 1):
    :data:`tco.model.formulas.SPOT_TIME_FACTOR`.

    Interruptions arrive as a Poisson process at ``lambda = rate * instances`` per hour (any instance lost
    stops the job). Work is checkpointed every ``tau = min(checkpoint_interval, wall)`` hours; an
    interruption loses the work since the last checkpoint and costs ``restart_hours``. The expected time per
    segment is ``(1/lambda + R) (e^(lambda tau) - 1)`` (Daly 2006, "A higher order estimate of the optimum
    checkpoint interval for restart dumps", eq. 3 without dump time), so the factor is
    ``(1 + lambda R) (e^(lambda tau) - 1) / (lambda tau)``. It grows with the number of instances, with the
    checkpoint interval and, for runs shorter than one interval, with the run length. NaN in, NaN out.
    """
    return F.SPOT_TIME_FACTOR.evaluate(
        wall_hours=wall_hours,
        instances=instances,
        interruptions_per_instance_hour=interruptions_per_instance_hour,
        checkpoint_interval_hours=checkpoint_interval_hours,
        restart_hours=restart_hours,
    )


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
    paid hours; 1 for usage billing), ``cost_usd_per_month`` (:data:`tco.model.formulas.RUN_MONTH_COST`),
    ``cost_usd_per_run``, ``cost_usd_per_year``, ``effective_usd_per_accelerator_hour``.
    """
    import numpy as np

    n = np.asarray(accelerator_count, dtype="float64")
    per_instance = np.asarray(accelerators_per_instance, dtype="float64")
    instances = F.INSTANCES.evaluate(accelerator_count=n, accelerators_per_instance=per_instance)
    billed = F.BILLED_ACCELERATORS.evaluate(accelerator_count=n, accelerators_per_instance=per_instance)
    factor = np.where(
        np.asarray(interruptible, dtype=bool),
        spot_time_factor(
            wall_hours, instances, interruptions_per_instance_hour, checkpoint_interval_hours, restart_hours
        ),
        1.0,
    )
    paid_hours = F.PAID_WALL_HOURS.evaluate(wall_hours=wall_hours, interruption_factor=factor)
    runs = np.asarray(runs_per_month, dtype="float64")
    fixed = np.asarray(fixed_usd_per_accelerator_year, dtype="float64")
    month = F.RUN_MONTH_COST.evaluate(
        paid_wall_hours=paid_hours,
        runs_per_month=runs,
        billed_accelerators=billed,
        fixed_usd_per_accelerator_year=fixed,
        variable_usd_per_accelerator_hour=variable_usd_per_accelerator_hour,
    )
    hours_per_month = paid_hours * runs
    has_fixed = fixed > 0
    held = F.HELD_UNITS.evaluate(unit_hours_per_month=hours_per_month, utilisation=1.0)
    clusters = np.where(has_fixed, held, np.nan)
    accelerator_hours = F.ACCELERATOR_HOURS_PER_RUN.evaluate(
        billed_accelerators=billed, paid_wall_hours=paid_hours
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(has_fixed, hours_per_month / (clusters * HOURS_PER_MONTH), 1.0)
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
        "cost_usd_per_run": F.COST_PER_RUN.evaluate(cost_usd_per_month=month, runs_per_month=runs),
        "cost_usd_per_year": F.COST_PER_YEAR.evaluate(cost_usd_per_month=month),
        "effective_usd_per_accelerator_hour": F.RUN_EFFECTIVE_USD_PER_ACCELERATOR_HOUR.evaluate(
            cost_usd_per_month=month, accelerator_hours_per_run=accelerator_hours, runs_per_month=runs
        ),
    }


def held_month_cost(
    billed_accelerators: np.ndarray,
    hours_per_month: np.ndarray,
    fixed_usd_per_accelerator_year: np.ndarray,
    variable_usd_per_accelerator_hour: np.ndarray,
) -> np.ndarray:
    """A month of accelerators held for a service (:data:`tco.model.formulas.HELD_MONTH_COST`): the fixed
    price is paid for every held accelerator whether used or not (commitments, owned hardware), the variable
    price per hour in use (on-demand, spot, owned power above idle). NaN in, NaN out."""
    return F.HELD_MONTH_COST.evaluate(
        billed_accelerators=billed_accelerators,
        hours_per_month=hours_per_month,
        fixed_usd_per_accelerator_year=fixed_usd_per_accelerator_year,
        variable_usd_per_accelerator_hour=variable_usd_per_accelerator_hour,
    )


def price_split(billing: str) -> tuple[Expr, Expr]:
    """The fixed ($/acc-year) and variable ($/acc-h) prices of a cloud list price
    (``price_usd_per_accelerator_hour``) by billing kind: a commitment is paid for every hour of the year
    (:data:`tco.model.formulas.COMMITMENT_FIXED_USD_PER_ACCELERATOR_YEAR`), usage only per used hour."""
    if billing == "commitment":
        return F.COMMITMENT_FIXED_USD_PER_ACCELERATOR_YEAR, Const(0.0)
    if billing == "usage":
        return Const(0.0), var("price_usd_per_accelerator_hour")
    from tco.errors import TcoError

    raise TcoError(f"internal: no list-price split for billing {billing!r}")
