"""Every cost formula of the model, defined once.

Each is an :class:`~tco.model.formula.Expr` over named inputs (units in the names): :mod:`tco.model` evaluates
it on arrays, and the workbooks (:mod:`tco.export.xlsx`, :mod:`tco.plan.budget`) write the same definition
as a live spreadsheet formula over their Assumptions cells, so that a workbook cannot drift from the model.
Formulas built from formulas use :meth:`~tco.model.formula.Expr.bind`.

Sources: docs/projection_model.md §0 (work, rate, time, $), §3.1 (serving replicas and cost), §5.1 (owned
hardware); the held-capacity rule (a commitment or owned hardware is paid whether used or not) is tco's
(:mod:`tco.model.purchase`).
"""

from __future__ import annotations

from typing import Final

from tco.model.formula import Expr, ceil, exp, floor, maximum, minimum, var, where
from tco.model.units import (
    FLOP_PER_TFLOP,
    GB_PER_TB,
    HOURS_PER_DAY,
    HOURS_PER_MONTH,
    HOURS_PER_YEAR,
    MONTHS_PER_YEAR,
    SECONDS_PER_HOUR,
)

#: Exponents beyond this are capped: the expected time is astronomically long either way.
MAX_EXPONENT: Final = 50.0

# --- training: work / rate (docs/projection_model.md §0, steps 2-3) -------------------------------------

#: Wall hours of a run without interruptions: ``work`` (FLOP, or samples) over ``accelerators`` x
#: ``rate_per_accelerator`` (FLOP/s, or samples/s) x ``scaling_efficiency`` x ``goodput``.
WALL_HOURS: Final = (
    var("work")
    / (var("accelerators") * var("rate_per_accelerator") * var("scaling_efficiency") * var("goodput"))
    / SECONDS_PER_HOUR
)
#: FLOP/s one accelerator sustains: dense peak x model-FLOPs utilisation.
FLOP_RATE: Final = var("peak_tflops") * FLOP_PER_TFLOP * var("mfu")

# --- purchase: what held and used accelerators cost (tco.model.purchase) ---------------------------------

_rate = var("interruptions_per_instance_hour") * var("instances")
_x = minimum(_rate * minimum(var("checkpoint_interval_hours"), var("wall_hours")), MAX_EXPONENT)
#: Expected time on interruptible capacity / time without interruptions (Daly 2006, eq. 3 without dump time;
#: see :func:`tco.model.purchase.spot_time_factor`).
SPOT_TIME_FACTOR: Final = (1 + _rate * var("restart_hours")) * where(_x > 0, (exp(_x) - 1) / _x, 1)
#: Instances a count of accelerators occupies (whole instances).
INSTANCES: Final = ceil(var("accelerator_count") / var("accelerators_per_instance"))
#: Accelerators paid for in whole instances.
WHOLE_INSTANCE_ACCELERATORS: Final = var("instances") * var("accelerators_per_instance")
#: Accelerators billed for a count: whole instances x accelerators per instance.
BILLED_ACCELERATORS: Final = WHOLE_INSTANCE_ACCELERATORS.bind(instances=INSTANCES)
#: Hours paid per run: the uninterrupted wall time stretched by interruptions (1 off spot).
PAID_WALL_HOURS: Final = var("wall_hours") * var("interruption_factor")
ACCELERATOR_HOURS_PER_RUN: Final = var("billed_accelerators") * var("paid_wall_hours")
#: Copies of a unit (a training cluster, an instance) held for the month to deliver ``unit_hours_per_month``
#: at ``utilisation``: at least one, since a commitment or owned hardware is paid whether used or not.
HELD_UNITS: Final = maximum(1, ceil(var("unit_hours_per_month") / (HOURS_PER_MONTH * var("utilisation"))))
#: A month of capacity: every held accelerator pays the fixed price (commitments, owned capex and upkeep),
#: every used accelerator-hour the variable price (on-demand, spot, owned power above idle).
CAPACITY_MONTH_COST: Final = var("held_accelerators") * var(
    "fixed_usd_per_accelerator_year"
) / MONTHS_PER_YEAR + var("variable_usd_per_accelerator_hour") * var("used_accelerator_hours")
#: A month of accelerators held and in use ``hours_per_month`` each (a serving fleet).
HELD_MONTH_COST: Final = CAPACITY_MONTH_COST.bind(
    held_accelerators=var("billed_accelerators"),
    used_accelerator_hours=var("billed_accelerators") * var("hours_per_month"),
)
_cluster_hours = var("paid_wall_hours") * var("runs_per_month")
#: A month of training runs: as many copies of the cluster as the month's runs need are held (commitments,
#: owned), the runs' accelerator-hours pay the variable price.
RUN_MONTH_COST: Final = CAPACITY_MONTH_COST.bind(
    held_accelerators=HELD_UNITS.bind(unit_hours_per_month=_cluster_hours, utilisation=1)
    * var("billed_accelerators"),
    used_accelerator_hours=var("billed_accelerators") * _cluster_hours,
)
#: The fixed price of a commitment: its list price for every hour of the year.
COMMITMENT_FIXED_USD_PER_ACCELERATOR_YEAR: Final = var("price_usd_per_accelerator_hour") * HOURS_PER_YEAR
COST_PER_RUN: Final = var("cost_usd_per_month") / var("runs_per_month")
COST_PER_YEAR: Final = var("cost_usd_per_month") * MONTHS_PER_YEAR
#: What one used accelerator-hour costs, all held capacity included.
EFFECTIVE_USD_PER_ACCELERATOR_HOUR: Final = var("cost_usd_per_month") / var("used_accelerator_hours")
RUN_EFFECTIVE_USD_PER_ACCELERATOR_HOUR: Final = EFFECTIVE_USD_PER_ACCELERATOR_HOUR.bind(
    used_accelerator_hours=var("accelerator_hours_per_run") * var("runs_per_month")
)

# --- serving (docs/projection_model.md §3.1) ------------------------------------------------------------

#: Replicas for the request rate with spare headroom, at least ``min_replicas``.
REPLICAS: Final = maximum(
    var("min_replicas"),
    ceil(var("requests_per_s") * (1 + var("headroom")) / var("requests_per_s_per_replica")),
)
#: Disaggregated serving: prefill and decode replicas, each pool sized for the rate with headroom on its own
#: per-replica capacity (at least one each), and the share of the fleet (and of its cost) prefill takes.
PREFILL_REPLICAS: Final = REPLICAS.bind(
    min_replicas=1, requests_per_s_per_replica=var("prefill_requests_per_s_per_replica")
)
DECODE_REPLICAS: Final = REPLICAS.bind(
    min_replicas=1, requests_per_s_per_replica=var("decode_requests_per_s_per_replica")
)
POOL_REPLICAS: Final = var("prefill_replicas") + var("decode_replicas")
POOL_INPUT_COST_SHARE: Final = var("prefill_replicas") / POOL_REPLICAS
#: Whole replicas per instance (tensor parallelism stays inside an instance).
REPLICAS_PER_INSTANCE: Final = floor(var("accelerators_per_instance") / var("accelerators_per_replica"))
REPLICA_INSTANCES: Final = ceil(var("replicas") / var("replicas_per_instance"))
#: Accelerators a serving fleet holds: whole instances.
FLEET_ACCELERATORS: Final = WHOLE_INSTANCE_ACCELERATORS.bind(instances=REPLICA_INSTANCES)
#: Share of the fleet's capacity the request rate uses.
SERVING_UTILISATION: Final = var("requests_per_s") / (var("replicas") * var("requests_per_s_per_replica"))
SERVING_HOURS_PER_MONTH: Final = var("hours_per_day") * HOURS_PER_MONTH / HOURS_PER_DAY
_requests = var("requests_per_s") * var("hours_per_month") * SECONDS_PER_HOUR
COST_PER_1M_OUTPUT_TOKENS: Final = var("cost_usd_per_month") / (_requests * var("output_tokens")) * 1e6
COST_PER_1M_TOKENS: Final = (
    var("cost_usd_per_month") / (_requests * (var("prompt_tokens") + var("output_tokens"))) * 1e6
)
COST_PER_1K_REQUESTS: Final = var("cost_usd_per_month") / _requests * 1e3
#: Input and output tokens priced apart: the share of the month prefill takes over the input tokens, the rest
#: over the output tokens (``input_cost_share`` from :mod:`tco.model.serving`).
SPLIT_USD_PER_1M_INPUT_TOKENS: Final = (
    var("cost_usd_per_month") * var("input_cost_share") / (_requests * var("prompt_tokens")) * 1e6
)
SPLIT_USD_PER_1M_OUTPUT_TOKENS: Final = (
    var("cost_usd_per_month") * (1 - var("input_cost_share")) / (_requests * var("output_tokens")) * 1e6
)

# --- owned hardware (docs/projection_model.md §5.1; tco.model.ownership) --------------------------------

#: Capex per accelerator with the network share.
CAPEX: Final = var("capex_usd_per_accelerator") * (1 + var("network_capex_fraction"))
_r, _life = var("discount_rate"), var("life_years")
#: Capital recovery factor ``r / (1 - (1+r)^-life)``; straight line ``1/life`` at r = 0.
CAPITAL_RECOVERY_FACTOR: Final = where(_r > 0, _r / (1 - 1 / (1 + _r) ** _life), 1 / _life)
CAPEX_PER_YEAR: Final = (
    CAPEX - CAPEX * var("residual_fraction") / (1 + _r) ** _life
) * CAPITAL_RECOVERY_FACTOR
_power = var("it_kw_per_accelerator") * var("pue") * var("electricity_usd_per_kwh")
IDLE_ENERGY_USD_PER_YEAR: Final = _power * var("idle_power_fraction") * HOURS_PER_YEAR
#: Owned hardware's variable price: power above idle per used accelerator-hour.
OWNED_VARIABLE_USD_PER_ACCELERATOR_HOUR: Final = _power * (1 - var("idle_power_fraction"))
ENERGY_USD_PER_YEAR: Final = (
    IDLE_ENERGY_USD_PER_YEAR + OWNED_VARIABLE_USD_PER_ACCELERATOR_HOUR * HOURS_PER_YEAR * var("utilisation")
)
COLOCATION_USD_PER_YEAR: Final = (
    var("contracted_kw_per_accelerator") * var("colocation_usd_per_kw_month") * MONTHS_PER_YEAR
)
MAINTENANCE_USD_PER_YEAR: Final = var("maintenance_fraction_per_year") * CAPEX
#: Owned hardware's fixed price, paid whether used or not: annualised capex, idle power, colocation,
#: maintenance and staff.
OWNED_FIXED_USD_PER_ACCELERATOR_YEAR: Final = (
    CAPEX_PER_YEAR
    + IDLE_ENERGY_USD_PER_YEAR
    + COLOCATION_USD_PER_YEAR
    + MAINTENANCE_USD_PER_YEAR
    + var("staff_usd_per_accelerator_year")
)
OWNED_TOTAL_USD_PER_YEAR: Final = (
    OWNED_FIXED_USD_PER_ACCELERATOR_YEAR
    + OWNED_VARIABLE_USD_PER_ACCELERATOR_HOUR * HOURS_PER_YEAR * var("utilisation")
)
#: One used owned accelerator-hour at ``utilisation``.
OWNED_USD_PER_ACCELERATOR_HOUR: Final = OWNED_TOTAL_USD_PER_YEAR / (HOURS_PER_YEAR * var("utilisation"))
#: The list price of an owned accelerator-hour when the hardware is always in use.
OWNED_LIST_USD_PER_ACCELERATOR_HOUR: Final = var("fixed_usd_per_accelerator_year") / HOURS_PER_YEAR + var(
    "variable_usd_per_accelerator_hour"
)

# --- procurement: a sustained demand on held capacity ------------------------------------------------------

#: Accelerators held to deliver ``demand_acc_hours_per_month`` at ``utilisation``, in whole instances.
HELD_FOR_DEMAND: Final = HELD_UNITS.bind(
    unit_hours_per_month=var("demand_acc_hours_per_month") / var("accelerators_per_instance")
) * var("accelerators_per_instance")
#: A month of a sustained demand on held capacity (the demand it can deliver pays the variable price).
DEMAND_MONTH_COST: Final = CAPACITY_MONTH_COST.bind(
    used_accelerator_hours=minimum(
        var("demand_acc_hours_per_month"), var("held_accelerators") * HOURS_PER_MONTH
    )
)

#: Used share of the held accelerators' hours.
FLEET_UTILISATION: Final = minimum(
    1, var("demand_acc_hours_per_month") / (var("held_accelerators") * HOURS_PER_MONTH)
)
DEMAND_EFFECTIVE_USD_PER_ACCELERATOR_HOUR: Final = EFFECTIVE_USD_PER_ACCELERATOR_HOUR.bind(
    used_accelerator_hours=var("demand_acc_hours_per_month")
)
COST_OVER_YEARS: Final = var("cost_usd_per_month") * MONTHS_PER_YEAR * var("years")

# --- line items and plan growth ---------------------------------------------------------------------------

#: Month ``month``'s growth factor at ``growth_per_month`` (month 1 = 1).
GROWTH: Final = (1 + var("growth_per_month")) ** (var("month") - 1)
STORAGE_USD_PER_MONTH: Final = var("storage_tb") * var("storage_usd_per_tb_month")
EGRESS_USD_PER_MONTH: Final = var("egress_tb_per_month") * GB_PER_TB * var("egress_usd_per_gb")
PEOPLE_USD_PER_MONTH: Final = var("people_fte") * var("usd_per_fte_year") / MONTHS_PER_YEAR


def grown(formula: Expr, *names: str) -> Expr:
    """``formula`` with each of ``names`` multiplied by :data:`GROWTH` (a plan's month-``m`` quantity)."""
    return formula.bind(**{name: var(name) * GROWTH for name in names})


# --- budgets: a cost against what a team may spend (tco.model.budget) --------------------------------------

#: The share of the budget a cost takes (1 = all of it; above 1: over budget).
BUDGET_USED: Final = var("cost_usd") / var("budget_usd")
#: Over budget: the cost exceeds the budget (1/0; a spreadsheet writes TRUE/FALSE).
OVER_BUDGET: Final = var("cost_usd") > var("budget_usd")
#: The work (tokens, samples, steps, FLOPs) the budget buys at this option: the work the cost pays for,
#: scaled by budget / cost. Linear in the work at the option's cost per unit of work, which holds for
#: capacity paid per used hour; for held capacity (commitments, owned) it assumes the same utilisation.
WORK_WITHIN_BUDGET: Final = var("work") * var("budget_usd") / var("cost_usd")
