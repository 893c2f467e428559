"""Budgets: each option's cost against what a team may spend, and what the budget buys.

Pure functions over the projection's frames (no I/O). The formulas are :mod:`tco.model.formulas`'
``BUDGET_USED``, ``OVER_BUDGET`` and ``WORK_WITHIN_BUDGET`` (the workbooks write the same definitions):

* a training estimate compares the budget with the cost per run (``per="run"``: "what does one run of up to
  $B buy?") or per month (``per="month"``: every run of the month together); what fits is the run's (or
  the month's) tokens, optimizer steps, samples and FLOPs scaled by budget / cost, at the option's cost per
  unit of work;
* a serving estimate compares it with the cost per month;
* a plan compares each month's total with the monthly budget (``per="month"``) or with an even share of a
  budget for the whole horizon (``per="horizon"``), and the cumulative spend with the cumulative budget
  (month x monthly budget, or the whole budget).

An option over budget is marked (``over_budget``), never dropped; a row without a cost (infeasible, no
price) has no verdict (NA), as missing stays missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from tco.errors import TcoError
from tco.model.formulas import BUDGET_USED, OVER_BUDGET, WORK_WITHIN_BUDGET

if TYPE_CHECKING:
    import pandas as pd

#: What a training budget is compared with.
TRAINING_PERIODS: Final = ("run", "month")
#: What a plan's budget covers: each month, or the whole horizon.
PLAN_PERIODS: Final = ("month", "horizon")
#: The columns a training estimate gains with a budget.
TRAINING_BUDGET_COLUMNS: Final = (
    "budget_usd", "budget_per", "budget_used", "over_budget", "tokens_per_run", "samples_per_run",
    "tokens_within_budget", "steps_within_budget", "samples_within_budget", "flops_within_budget",
)  # fmt: skip
SERVING_BUDGET_COLUMNS: Final = ("budget_usd", "budget_per", "budget_used", "over_budget")
#: The columns a plan's month-by-month budget gains.
PLAN_BUDGET_COLUMNS: Final = (
    "budget_per", "budget_usd", "over_budget", "cumulative_usd", "cumulative_budget_usd",
    "over_budget_cumulative",
)  # fmt: skip


def check_budget(budget_usd: float | None, per: str, periods: tuple[str, ...]) -> None:
    """A budget is a positive, finite number of dollars and ``per`` one of ``periods``."""
    import math

    if budget_usd is not None and not (budget_usd > 0 and math.isfinite(budget_usd)):
        raise TcoError(f"--budget-usd must be a positive number of dollars, got {budget_usd:g}")
    if per not in periods:
        raise TcoError(f"--budget-per must be {' or '.join(periods)}, got {per!r}")


def _verdict(cost: pd.Series, budget_usd: float) -> tuple[pd.Series, pd.Series]:
    """(budget used, over budget) per row; NA where the cost is missing."""
    import pandas as pd

    values = cost.astype("float64")
    used = pd.Series(
        BUDGET_USED.evaluate(cost_usd=values.to_numpy(), budget_usd=budget_usd), index=cost.index
    )
    over = pd.Series(
        OVER_BUDGET.evaluate(cost_usd=values.to_numpy(), budget_usd=budget_usd), index=cost.index
    ).astype("boolean")
    return used, over.mask(values.isna())


def training_budget(
    rows: pd.DataFrame,
    budget_usd: float,
    *,
    per: str = "run",
    tokens: float = float("nan"),
    samples: float = float("nan"),
) -> pd.DataFrame:
    """``rows`` of a training estimate (:data:`tco.model.training.TRAINING_COLUMNS`) with
    :data:`TRAINING_BUDGET_COLUMNS`. ``tokens`` / ``samples``: the run's work (NaN where it is not counted in
    that unit); steps are tokens over the global batch the layout used."""
    import numpy as np

    check_budget(budget_usd, per, TRAINING_PERIODS)
    cost = rows["cost_usd_per_run" if per == "run" else "cost_usd_per_month"].astype("float64")
    runs = rows["runs_per_month"].astype("float64") if per == "month" else 1.0
    used, over = _verdict(cost, budget_usd)

    def within(work: object) -> np.ndarray:
        return np.asarray(
            WORK_WITHIN_BUDGET.evaluate(work=work, budget_usd=budget_usd, cost_usd=cost.to_numpy()),
            dtype="float64",
        )

    batch = (
        rows["global_batch_tokens_used"].astype("float64") if "global_batch_tokens_used" in rows else np.nan
    )
    return rows.assign(
        budget_usd=budget_usd,
        budget_per=per,
        budget_used=used,
        over_budget=over,
        tokens_per_run=tokens,
        samples_per_run=samples,
        tokens_within_budget=within(tokens * runs),
        steps_within_budget=within(tokens * runs / batch),
        samples_within_budget=within(samples * runs),
        flops_within_budget=within(rows["train_flops"].astype("float64") * runs),
    )


def serving_budget(rows: pd.DataFrame, budget_usd: float) -> pd.DataFrame:
    """``rows`` of a serving estimate with :data:`SERVING_BUDGET_COLUMNS` (against the cost per month)."""
    check_budget(budget_usd, "month", ("month",))
    used, over = _verdict(rows["cost_usd_per_month"], budget_usd)
    return rows.assign(budget_usd=budget_usd, budget_per="month", budget_used=used, over_budget=over)


def plan_budget(months: pd.DataFrame, budget_usd: float, *, per: str = "month") -> pd.DataFrame:
    """A plan's month-by-month budget (``month``, ``total_usd``) with :data:`PLAN_BUDGET_COLUMNS`: the
    month's budget (the monthly budget, or the horizon's budget spread evenly), whether the month's total
    exceeds it, the cumulative spend and budget (month x monthly budget, or the whole budget), and whether
    the cumulative spend exceeds that."""
    import numpy as np

    check_budget(budget_usd, per, PLAN_PERIODS)
    horizon = len(months)
    monthly = budget_usd if per == "month" else budget_usd / max(horizon, 1)
    total = months["total_usd"].astype("float64")
    cumulative = total.cumsum()
    month = months["month"].astype("float64").to_numpy()
    cumulative_budget = monthly * month if per == "month" else np.full(horizon, budget_usd)
    _, over = _verdict(total, monthly)
    over_cumulative = (cumulative > cumulative_budget).astype("boolean").mask(cumulative.isna())
    return months.assign(
        budget_per=per,
        budget_usd=monthly,
        over_budget=over,
        cumulative_usd=cumulative,
        cumulative_budget_usd=cumulative_budget,
        over_budget_cumulative=over_cumulative,
    )


def options_over_budget(
    option_months: pd.DataFrame, budget_usd: float, *, per: str = "month"
) -> pd.DataFrame:
    """Per plan option (``option_months``: option, month, total_usd), the months whose total exceeds the
    month's budget and whether its whole-horizon total exceeds the horizon's budget: ``option``,
    ``months_over_budget``, ``first_month_over_budget`` (NaN: none), ``over_budget``."""
    import numpy as np

    check_budget(budget_usd, per, PLAN_PERIODS)
    horizon = option_months["month"].nunique()
    monthly = budget_usd if per == "month" else budget_usd / max(horizon, 1)
    total_budget = budget_usd * horizon if per == "month" else budget_usd
    frame = option_months.assign(_over=option_months["total_usd"].astype("float64") > monthly)
    grouped = frame.groupby("option", sort=False)
    over_months = frame.assign(_m=np.where(frame["_over"], frame["month"].astype("float64"), np.nan))
    return (
        grouped["_over"]
        .sum()
        .astype(int)
        .rename("months_over_budget")
        .to_frame()
        .join(over_months.groupby("option", sort=False)["_m"].min().rename("first_month_over_budget"))
        .join((grouped["total_usd"].sum() > total_budget).rename("over_budget"))
        .reset_index()
    )


def budget_lines(rows: pd.DataFrame) -> pd.Series:
    """One ``--explain`` line per row with a budget: the budget, the share used and, for training, what it
    buys (vectorised over the rows' columns)."""
    import numpy as np
    import pandas as pd

    used = rows["budget_used"].astype("float64")
    verdict = np.where(rows["over_budget"].fillna(False).astype(bool), "OVER budget", "within budget")
    verdict = np.where(used.isna(), "no cost to compare", verdict)
    share = used.map(lambda u: "" if np.isnan(u) else f" ({u:.0%} of it)").astype(str)
    text = (
        "  budget: $"
        + rows["budget_usd"].map("{:,.0f}".format).astype(str)
        + " per "
        + rows["budget_per"].astype(str)
        + ": "
        + pd.Series(verdict, index=rows.index, dtype=str)
        + share
    )
    buys = pd.Series("", index=rows.index)
    for column, unit in (
        ("tokens_within_budget", "tokens"), ("steps_within_budget", "optimizer steps"),
        ("samples_within_budget", "samples"),
    ):  # fmt: skip
        if column in rows:
            amount = (
                rows[column].astype("float64").map(lambda v, u=unit: "" if np.isnan(v) else f"{v:,.4g} {u}")
            )
            buys = buys + np.where((buys != "") & (amount != ""), ", ", "") + amount
    text = text + pd.Series(np.where(buys != "", "; at this option it buys " + buys, ""), index=rows.index)
    return pd.Series(text, index=rows.index, dtype=str, name="budget_line")


__all__ = [
    "PLAN_BUDGET_COLUMNS",
    "PLAN_PERIODS",
    "SERVING_BUDGET_COLUMNS",
    "TRAINING_BUDGET_COLUMNS",
    "TRAINING_PERIODS",
    "budget_lines",
    "check_budget",
    "options_over_budget",
    "plan_budget",
    "serving_budget",
    "training_budget",
]
