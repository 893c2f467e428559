"""Procurement comparison: cloud on-demand, spot, commitments and buying servers, for a sustained demand.

Pure functions over frames. Every option is charged by the one held-capacity model that ``tco estimate``
and ``tco plan`` use (:mod:`tco.model.formulas`): it holds whole units (instances, servers) enough to deliver
the demand at the planned utilisation, pays the fixed price for every held accelerator and the variable
price for every used accelerator-hour::

    held accelerators  = MAX(1, ROUNDUP(demand / per_unit / (730 u))) * per_unit          (HELD_FOR_DEMAND)
    usd_per_month      = held * fixed / 12 + variable * MIN(demand, held * 730)           (DEMAND_MONTH_COST)

    on-demand, spot:  fixed 0, variable = list price           -> demand x price
    commitments:      fixed = list price x 8760, variable 0     -> the held instances x price x 730
    owned servers:    fixed and variable from :mod:`tco.model.ownership` (capex with network share
                      annualised, idle power, colocation, maintenance, staff; power above idle per used
                      hour); per_unit = accelerators per server (or ``--servers`` fixes the fleet)

    effective $/acc-h = usd_per_month / demand
    break-even utilisation (owned vs best cloud)  = fixed / (8760 * (best cloud $/acc-h - variable $/acc-h))
                                                    (:func:`tco.model.ownership.breakeven_utilisation`)
    break-even month (owned vs best cloud)        = capex / (best cloud monthly - owned opex monthly)
                                                    (:func:`tco.model.ownership.breakeven_months`)

Costs over 1/3/5 years rank options; for owned hardware they are annualised, the cash-flow table shows when
the money actually leaves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from tco.errors import TcoError
from tco.model.assumptions import Assumption
from tco.model.ownership import OwnedServer, ownership_costs
from tco.model.units import HOURS_PER_MONTH, MONTHS_PER_YEAR

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tco.plan.budget import PlanResult

COMMITMENTS: Final = (
    "reserved_1y",
    "reserved_3y",
    "committed_1y",
    "committed_3y",
    "savings_plan_1y",
    "savings_plan_3y",
)
YEARS: Final = (1, 3, 5)
#: The cloud price scale used in the tornado (no reference range; a named, symmetric assumption).
CLOUD_PRICE_RANGE: Final = (0.75, 1.25)
CLOUD_PRICE_SOURCE: Final = "tco assumption: best cloud price +/-25% (no reference range)"
#: Sustained utilisation swept by the tornado (the model's default has no range of its own).
UTILISATION_RANGE: Final = Assumption(
    0.7,
    0.5,
    0.9,
    "fraction of hours",
    "tco assumption: sustained utilisation 0.5-0.9 around docs/projection_model.md §8's 0.7",
)
#: The columns of a cloud row (:func:`cloud_offers`).
CLOUD_COLUMNS: Final = (
    "provider",
    "region",
    "pricing_model",
    "instance_type",
    "accelerators_per_instance",
    "price_usd_per_accelerator_hour",
    "source",
    "assumed",
)


@dataclass(frozen=True, slots=True)
class Comparison:
    demand_acc_hours_per_month: float
    server: OwnedServer
    servers: int
    #: fleet utilisation (used share of the owned accelerator-hours)
    fleet_utilisation: float
    #: rank, option, kind, provider, region, pricing_model, instance_type, accelerators_per_instance,
    #: price_usd_per_accelerator_hour, accelerators_held, fixed_usd_per_accelerator_year,
    #: variable_usd_per_accelerator_hour, effective_usd_per_accelerator_hour, cost_usd_per_month,
    #: cost_1y_usd, cost_3y_usd, cost_5y_usd, breakeven_utilisation, breakeven_month, source, assumed
    ranking: pd.DataFrame
    #: option, year, cash_usd
    cashflow: pd.DataFrame
    #: input, low, high, gap_low_usd, gap_high_usd, swing_usd, winner_low, winner_high, source
    tornado: pd.DataFrame
    #: name, value, unit, source (the ownership assumptions in force)
    assumptions: pd.DataFrame
    #: the ownership cost breakdown per accelerator at the fleet utilisation (one row)
    owned_costs: pd.DataFrame
    notes: tuple[str, ...]
    recommendation: str

    @property
    def accelerator(self) -> str:
        return self.server.accelerator


def cloud_offers(
    offers: pd.DataFrame,
    accelerator: str,
    *,
    assumed_discounts: dict[str, float] | None = None,
    price_labels: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The cheapest instance per (provider, region, pricing model) for ``accelerator``
    (:data:`CLOUD_COLUMNS`), and notes. ``offers``: catalog offer rows already filtered (providers, regions,
    flagged prices left out).

    Commitment rows come from the price data; when there are none the note says so. An explicit
    ``assumed_discounts`` ({"committed_1y": 0.3}) adds rows derived from on-demand, labelled as assumptions.
    """
    import pandas as pd

    o = offers[
        (offers["accelerator"] == accelerator)
        & offers["price_usd_per_accelerator_hour"].notna()
        & (offers["accelerator_count"] > 0)
    ]
    if o.empty:
        raise TcoError(f"no cloud prices for {accelerator}", hint="see `tco prices accelerators`")
    o = o.sort_values(["price_usd_per_accelerator_hour", "instance_type"], kind="stable")
    o = o.drop_duplicates(["provider", "region", "pricing_model"])
    labels = price_labels or {}
    date = o["effective_date"].fillna(o["fetched_at"]).astype(str)
    frame = pd.DataFrame(
        {
            "provider": o["provider"],
            "region": o["region"],
            "pricing_model": o["pricing_model"],
            "instance_type": o["instance_type"],
            "accelerators_per_instance": o["accelerator_count"].astype(float),
            "price_usd_per_accelerator_hour": o["price_usd_per_accelerator_hour"].astype(float),
            "source": o["source"].astype(str)
            + o["provider"].map(lambda p: f" [{labels[p]}]" if p in labels else "")
            + "; as of "
            + date,
            "assumed": False,
        }
    )
    notes: list[str] = []
    if not frame["pricing_model"].isin(COMMITMENTS).any():
        notes.append(
            f"no reserved/committed prices for {accelerator} in the price data (the embedded snapshot has "
            "on-demand and spot only): `tco prices pull` fetches them; --assume-discount MODEL=FRACTION adds "
            "labelled assumptions"
        )
    for model, discount in (assumed_discounts or {}).items():
        if model not in COMMITMENTS:
            raise TcoError(
                f"--assume-discount: {model!r} is not a commitment model", hint=", ".join(COMMITMENTS)
            )
        if not 0.0 <= discount < 1.0:
            raise TcoError(f"--assume-discount {model}: expected a fraction in [0, 1), got {discount!r}")
        base = frame[frame["pricing_model"] == "on_demand"]
        derived = base.assign(
            pricing_model=model,
            price_usd_per_accelerator_hour=base["price_usd_per_accelerator_hour"] * (1.0 - discount),
            source=f"ASSUMPTION: on-demand x (1 - {discount:g}) from --assume-discount; not a quoted price",
            assumed=True,
        )
        frame = pd.concat([frame, derived], ignore_index=True)
    return frame.reset_index(drop=True), tuple(notes)


def _fleet_costs(server: OwnedServer, servers: object, demand: object) -> pd.DataFrame:
    """Ownership cost breakdown per accelerator (model columns) at the fleet's utilisation, one row per
    fleet size (vectorised)."""
    import numpy as np

    from tco.model.formulas import FLEET_UTILISATION

    per = server.accelerators_per_server
    n = np.atleast_1d(np.asarray(servers, dtype="float64"))
    used = FLEET_UTILISATION.evaluate(demand_acc_hours_per_month=demand, held_accelerators=n * per)
    frame = server.params.to_frame().iloc[np.zeros(len(n), dtype=int)].reset_index(drop=True)
    return ownership_costs(frame.assign(utilisation=used))


def _opex_per_year(costs: pd.DataFrame) -> pd.Series:
    result: pd.Series = (
        costs["energy_usd_per_year"]
        + costs["colocation_usd_per_year"]
        + costs["maintenance_usd_per_year"]
        + costs["staff_usd_per_year"]
    )
    return result


def fleet_size(demand: float, server: OwnedServer) -> int:
    """Servers needed to deliver ``demand`` acc-h/month at the stated utilisation
    (:data:`tco.model.formulas.HELD_FOR_DEMAND` in servers)."""
    return int(held_accelerators(demand, server.accelerators_per_server, server.params.utilisation.value)[0]
               / server.accelerators_per_server)  # fmt: skip


def held_accelerators(demand: object, per_unit: object, utilisation: float) -> np.ndarray:
    """Accelerators held in whole units of ``per_unit`` to deliver ``demand`` at ``utilisation``."""
    from tco.model.formulas import HELD_FOR_DEMAND

    return HELD_FOR_DEMAND.evaluate(
        demand_acc_hours_per_month=demand, accelerators_per_instance=per_unit, utilisation=utilisation
    ).reshape(-1)


def _priced(
    cloud: pd.DataFrame, demand: float, server: OwnedServer, servers: int, costs: pd.Series
) -> pd.DataFrame:
    """Every option (the cloud rows and the owned fleet) charged by the held-capacity model."""
    import numpy as np
    import pandas as pd

    from tco.model import formulas as F
    from tco.model.purchase import BILLING, price_split

    u = server.params.utilisation.value
    per = server.accelerators_per_server
    billing = cloud["pricing_model"].map(BILLING).fillna("usage")
    price = cloud["price_usd_per_accelerator_hour"].to_numpy(dtype="float64")
    fixed, variable = np.zeros(len(cloud)), np.zeros(len(cloud))
    for kind in ("commitment", "usage"):
        billed_so = (billing == kind).to_numpy()
        f, v = price_split(kind)
        fixed = np.where(billed_so, f.evaluate(price_usd_per_accelerator_hour=price), fixed)
        variable = np.where(billed_so, v.evaluate(price_usd_per_accelerator_hour=price), variable)
    rows = cloud.assign(
        kind=np.where(billing == "commitment", "commitment", "pay-per-use"),
        option=cloud["provider"] + " " + cloud["region"] + " " + cloud["pricing_model"],
        accelerators_held=held_accelerators(demand, cloud["accelerators_per_instance"].to_numpy(), u),
        fixed_usd_per_accelerator_year=fixed,
        variable_usd_per_accelerator_hour=variable,
    )
    owned = pd.DataFrame(
        [
            {
                "provider": "owned",
                "region": "colo",
                "pricing_model": "owned",
                "instance_type": f"{servers} x {per:g}x{server.accelerator} server",
                "accelerators_per_instance": per,
                "price_usd_per_accelerator_hour": float(costs["owned_usd_per_accelerator_hour"]),
                "source": "ownership model (tco.model.ownership; see the assumptions table)",
                "assumed": True,
                "kind": "owned",
                "option": f"buy {servers} server{'s' if servers != 1 else ''}",
                "accelerators_held": servers * per,
                "fixed_usd_per_accelerator_year": float(costs["fixed_usd_per_accelerator_year"]),
                "variable_usd_per_accelerator_hour": float(costs["variable_usd_per_accelerator_hour"]),
            }
        ]
    )
    rows = pd.concat([rows, owned], ignore_index=True)
    month = F.DEMAND_MONTH_COST.evaluate(
        demand_acc_hours_per_month=demand,
        held_accelerators=rows["accelerators_held"],
        fixed_usd_per_accelerator_year=rows["fixed_usd_per_accelerator_year"],
        variable_usd_per_accelerator_hour=rows["variable_usd_per_accelerator_hour"],
    )
    rows["effective_usd_per_accelerator_hour"] = F.DEMAND_EFFECTIVE_USD_PER_ACCELERATOR_HOUR.evaluate(
        cost_usd_per_month=month, demand_acc_hours_per_month=demand
    )
    rows["cost_usd_per_month"] = month
    for years in YEARS:
        rows[f"cost_{years}y_usd"] = F.COST_OVER_YEARS.evaluate(cost_usd_per_month=month, years=years)
    return rows.sort_values(["cost_3y_usd", "option"], kind="stable").reset_index(drop=True)


def compare_procurement(
    cloud: pd.DataFrame,
    demand_acc_hours_per_month: float,
    server: OwnedServer,
    *,
    servers: int | None = None,
    notes: tuple[str, ...] = (),
) -> Comparison:
    """Rank every cloud row (:data:`CLOUD_COLUMNS`) and buying servers for the demand; break-even, cash
    flow, tornado, advice."""
    import numpy as np
    import pandas as pd

    from tco.model.ownership import breakeven_months, breakeven_utilisation

    demand = demand_acc_hours_per_month
    if not demand > 0 or math.isinf(demand):
        raise TcoError(f"demand must be a positive number of accelerator-hours per month, got {demand!r}")
    if cloud.empty:
        raise TcoError("no cloud option to compare with")
    own = server.params
    per = server.accelerators_per_server
    n = servers or fleet_size(demand, server)
    capacity = n * per * HOURS_PER_MONTH
    extra = list(notes)
    if demand > capacity:
        extra.append(
            f"{n} servers deliver at most {capacity:,.0f} acc-h/month, less than the demand {demand:,.0f}"
        )
    costs = _fleet_costs(server, n, demand)
    c = costs.iloc[0]
    fleet_u = float(c["utilisation"])
    rows = _priced(cloud, demand, server, n, c)
    cloud_rows = rows[rows["kind"] != "owned"]
    # owned capacity is not interruptible: compare it with the best non-spot cloud option when there is one
    steady = cloud_rows[~cloud_rows["pricing_model"].isin(("spot", "low_priority"))]
    best = (steady if len(steady) else cloud_rows).iloc[0]
    best_price = float(best["effective_usd_per_accelerator_hour"])

    owned_breakeven = float(
        breakeven_utilisation(
            c["fixed_usd_per_accelerator_year"], c["variable_usd_per_accelerator_hour"], best_price
        )
    )
    rows["breakeven_utilisation"] = np.where(
        rows["kind"] == "owned",
        owned_breakeven,
        np.where(rows["kind"] == "commitment", rows["price_usd_per_accelerator_hour"] / best_price, np.nan),
    )
    month = float(breakeven_months(costs, best_price)[0])
    rows["breakeven_month"] = np.where(
        rows["kind"] == "owned", month if math.isfinite(month) else math.inf, np.nan
    )
    rows.insert(0, "rank", np.arange(1, len(rows) + 1))

    # cash flow per year: cloud pays as it goes; owned pays capex up front and at each replacement
    year = np.arange(1, max(YEARS) + 1)
    flows = rows[["option", "kind", "cost_usd_per_month"]].merge(pd.DataFrame({"year": year}), how="cross")
    replacement = ((flows["year"] - 1) % max(1, round(own.life_years.value))) == 0
    fleet = n * per
    owned_cash = fleet * float(_opex_per_year(costs).iloc[0]) + np.where(
        replacement, fleet * float(c["capex_usd"]), 0.0
    )
    flows["cash_usd"] = np.where(
        flows["kind"] == "owned", owned_cash, flows["cost_usd_per_month"] * MONTHS_PER_YEAR
    )
    cashflow = flows[["option", "year", "cash_usd"]]

    tornado = _tornado(server, n, demand, best_price)
    assumptions = ownership_table(server)
    owned_row = rows[rows["kind"] == "owned"].iloc[0]
    recommendation = _recommend(rows, best, owned_row, server, n, fleet_u, demand, tornado, extra)
    return Comparison(
        demand, server, n, fleet_u, rows, cashflow, tornado, assumptions, costs, tuple(extra), recommendation
    )


def ownership_table(server: OwnedServer) -> pd.DataFrame:
    """name, value, unit, source of every ownership input in force (the node size included)."""
    import pandas as pd

    rows = [
        {"name": name, "value": a.value, "unit": a.unit, "source": a.source}
        for name, a in server.params.items()
    ]
    rows.append(
        {
            "name": "accelerators_per_server",
            "value": server.accelerators_per_server,
            "unit": "accelerators",
            "source": server.server_source,
        }
    )
    return pd.DataFrame(rows)


def _tornado(server: OwnedServer, servers: int, demand: float, best_price: float) -> pd.DataFrame:
    """Swing of the 3-year gap (owned - best cloud) when one input moves across its stated range."""
    import numpy as np
    import pandas as pd

    own = server.params
    per = server.accelerators_per_server
    base = {str(k): v for k, v in own.to_frame().iloc[0].to_dict().items()}
    ranged: list[tuple[str, Assumption]] = [(k, a) for k, a in own.items() if a.low < a.high]
    ranged = [(k, a) for k, a in ranged if k != "utilisation"] + [("utilisation", UTILISATION_RANGE)]
    variants: list[dict[str, object]] = []
    for name, a in ranged:
        for end, value in (("low", a.low), ("high", a.high)):
            variants.append(
                {**base, name: value, "input": name, "end": end, "value": value, "cloud_scale": 1.0}
            )
    for end, scale in zip(("low", "high"), CLOUD_PRICE_RANGE, strict=True):
        variants.append({**base, "input": "cloud_price", "end": end, "value": scale, "cloud_scale": scale})
    v = pd.DataFrame(variants)
    # the fleet is re-sized when utilisation moves (fewer busy hours per server need more servers)
    resized = np.maximum(1.0, np.ceil(demand / (per * HOURS_PER_MONTH * v["utilisation"])))
    fleet = np.where(v["input"] == "utilisation", resized, float(servers))
    v["utilisation"] = np.minimum(1.0, demand / (fleet * per * HOURS_PER_MONTH))
    costs = ownership_costs(v)
    owned_3y = fleet * per * costs["total_usd_per_year"] * 3.0
    cloud_3y = demand * MONTHS_PER_YEAR * 3.0 * best_price * v["cloud_scale"]
    v["gap_usd"] = owned_3y - cloud_3y
    wide = v.pivot_table(
        index="input", columns="end", values=["value", "gap_usd"], aggfunc="first", sort=False
    )
    out = pd.DataFrame(
        {
            "input": wide.index,
            "low": wide[("value", "low")].to_numpy(),
            "high": wide[("value", "high")].to_numpy(),
            "gap_low_usd": wide[("gap_usd", "low")].to_numpy(),
            "gap_high_usd": wide[("gap_usd", "high")].to_numpy(),
        }
    )
    out["swing_usd"] = (out["gap_high_usd"] - out["gap_low_usd"]).abs()
    out["winner_low"] = np.where(out["gap_low_usd"] < 0, "owned", "cloud")
    out["winner_high"] = np.where(out["gap_high_usd"] < 0, "owned", "cloud")
    sources = {k: a.source for k, a in ranged} | {"cloud_price": CLOUD_PRICE_SOURCE}
    out["source"] = out["input"].map(sources)
    return out.sort_values("swing_usd", ascending=False, kind="stable").reset_index(drop=True)


def _recommend(
    rows: pd.DataFrame,
    best: pd.Series,
    owned: pd.Series,
    server: OwnedServer,
    servers: int,
    fleet_u: float,
    demand: float,
    tornado: pd.DataFrame,
    notes: list[str],
) -> str:
    own = server.params
    top = rows.iloc[0]
    plural = "s" if servers != 1 else ""
    month = owned["breakeven_month"]
    when = f"after about {month:.0f} months" if math.isfinite(month) else "never at these prices"
    first, second = tornado["input"].iloc[0], tornado["input"].iloc[1]
    verdict = (
        f"buy {servers} server{plural}"
        if top["kind"] == "owned"
        else f"use {top['option']} ({top['instance_type']})"
    )
    breakeven = owned["breakeven_utilisation"]
    need = (
        f"at least {breakeven:.0%} utilisation"
        if math.isfinite(breakeven)
        else "a cloud price above its running cost"
    )
    text = (
        f"For a sustained {demand:,.0f} {server.accelerator} accelerator-hours a month, the cheapest choice "
        "over "
        f"three years is to {verdict}: ${top['cost_3y_usd']:,.0f} in total, "
        f"${top['effective_usd_per_accelerator_hour']:.2f} per delivered accelerator-hour. The best "
        "non-interruptible "
        f"cloud option is {best['option']} at ${best['effective_usd_per_accelerator_hour']:.2f}/acc-h; "
        f"owning {servers} "
        f"server{plural} costs ${owned['effective_usd_per_accelerator_hour']:.2f}/acc-h at {fleet_u:.0%} "
        "fleet "
        f"utilisation, would need {need} to match it, and recovers its capex {when}. Key assumptions: "
        f"${own.capex_usd_per_accelerator.value:,.0f} per accelerator plus "
        f"{own.network_capex_fraction.value:.1%} network, {server.accelerators_per_server:g} per server, "
        f"over {own.life_years.value:g} years with {own.residual_fraction.value:.0%} resale value, "
        f"{own.it_kw_per_accelerator.value:g} kW IT per accelerator, PUE {own.pue.value:g}, "
        f"${own.electricity_usd_per_kwh.value:g}/kWh, "
        f"colo ${own.colocation_usd_per_kw_month.value:g}/kW-month, "
        f"maintenance {own.maintenance_fraction_per_year.value:.0%}/yr, staff "
        f"${own.staff_usd_per_accelerator_year.value:,.0f}/accelerator-yr; spot prices assume interruptions "
        f"cost nothing extra. The answer moves most with {first} and {second} (see the sensitivity table)."
    )
    if any("no reserved/committed" in n for n in notes):
        text += (
            " Committed-use discounts were not available in the price data, so they are not in the ranking."
        )
    return text


def scale_curve(
    comparison: Comparison, cloud_options: int = 4, max_accelerators: int | None = None
) -> pd.DataFrame:
    """Monthly cost vs fleet size (accelerators busy at the stated utilisation) per option, for the plot."""
    import numpy as np
    import pandas as pd

    from tco.model.formulas import DEMAND_MONTH_COST

    server = comparison.server
    per = server.accelerators_per_server
    u = server.params.utilisation.value
    top = max_accelerators or int(max(per * comparison.servers * 2, per * 4))
    count = np.arange(1, top + 1, dtype=float)
    busy_hours = count * HOURS_PER_MONTH * u
    ranking = comparison.ranking
    cloud = ranking[ranking["kind"] != "owned"]
    shown = pd.concat(
        [cloud.drop_duplicates("pricing_model").head(cloud_options), ranking[ranking["kind"] == "owned"]]
    )
    parts = []
    for rec in shown.to_dict("records"):
        unit = per if rec["kind"] == "owned" else float(rec["accelerators_per_instance"])
        month = DEMAND_MONTH_COST.evaluate(
            demand_acc_hours_per_month=busy_hours,
            held_accelerators=held_accelerators(busy_hours, unit, u),
            fixed_usd_per_accelerator_year=rec["fixed_usd_per_accelerator_year"],
            variable_usd_per_accelerator_hour=rec["variable_usd_per_accelerator_hour"],
        )
        label = "owned" if rec["kind"] == "owned" else str(rec["option"])
        parts.append(pd.DataFrame({"option": label, "accelerators": count, "usd_per_month": month}))
    return pd.concat(parts, ignore_index=True)


def cumulative_curve(comparison: Comparison, months: int = 60) -> pd.DataFrame:
    """Cumulative cash by month: best cloud option vs owned (capex up front): the break-even picture."""
    import numpy as np
    import pandas as pd

    server = comparison.server
    fleet = comparison.servers * server.accelerators_per_server
    m = np.arange(0, months + 1, dtype=float)
    cloud = comparison.ranking[comparison.ranking["kind"] != "owned"]
    steady = cloud[~cloud["pricing_model"].isin(("spot", "low_priority"))]
    best = (steady if len(steady) else cloud).iloc[0]
    life_months = max(1, round(server.params.life_years.value * MONTHS_PER_YEAR))
    purchases = np.floor(np.maximum(m - 1, 0) / life_months) + 1
    costs = comparison.owned_costs.iloc[0]
    opex_month = float(_opex_per_year(comparison.owned_costs).iloc[0]) / MONTHS_PER_YEAR
    owned = fleet * float(costs["capex_usd"]) * purchases + fleet * opex_month * m
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "option": f"cloud: {best['option']}",
                    "month": m,
                    "cumulative_usd": m * best["cost_usd_per_month"],
                }
            ),
            pd.DataFrame(
                {"option": f"owned: {comparison.servers} servers", "month": m, "cumulative_usd": owned}
            ),
        ],
        ignore_index=True,
    )


def demand_from_plan(result: PlanResult, accelerator: str) -> float:
    """Accelerator-hours per month the plan's cheapest option puts on ``accelerator`` (horizon mean)."""
    hours = result.acc_hours
    rows = hours[(hours["option"] == str(result.best["option"])) & (hours["accelerator"] == accelerator)]
    if rows.empty:
        raise TcoError(
            f"the scenario's cheapest plan uses no {accelerator}",
            hint="pick --accelerator among: " + ", ".join(sorted(set(hours["accelerator"]))),
        )
    months = float(result.scenario.horizon_months)
    total = float(rows["acc_hours"].sum())
    return total / months
