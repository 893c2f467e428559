"""Procurement comparison: cloud on-demand, spot, commitments and buying servers, for a sustained demand.

Pure functions over frames. Units in names; formulas (projection_model.md §5.1):
    pay-per-use (on_demand, spot)   usd_per_month = demand_acc_h_per_month · price
    commitment (reserved/committed) you hold demand / (730·u) accelerators all month:
                                    usd_per_month = demand · price / u          (effective = price / u)
    owned                           servers = ceil(demand / (acc_per_server · 730 · u))
                                    cost per year = servers · (capex / life + opex_per_year)
                                    cash flow: servers · capex in year 1 and at each replacement, plus opex
    break-even utilisation (owned vs best cloud) = owned_usd_per_year_per_server
                                                   / (acc_per_server · 8760 · best_cloud_price)
    break-even month (owned vs best cloud)       = servers · capex
                                                   / (best_cloud_usd_per_month − opex_per_month)
Costs over 1/3/5 years rank options; for owned hardware they are annualised (capex straight-line over its
life), the cash-flow table shows when the money actually leaves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from tco.errors import TcoError
from tco.ownership_defaults import (
    HOURS_PER_MONTH,
    HOURS_PER_YEAR,
    RANGES,
    SOURCES,
    Ownership,
    opex_usd_per_year,
    owned_usd_per_year,
)

if TYPE_CHECKING:
    import pandas as pd

PAY_PER_USE: Final = ("on_demand", "spot", "low_priority")
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


@dataclass(frozen=True, slots=True)
class Comparison:
    demand_acc_hours_per_month: float
    ownership: Ownership
    servers: int
    #: rank, option, kind, provider, region, pricing_model, instance_type, usd_per_acc_hour,
    #: effective_usd_per_acc_hour, usd_per_month, cost_1y_usd, cost_3y_usd, cost_5y_usd,
    #: breakeven_utilisation, breakeven_month, source, assumed
    ranking: pd.DataFrame
    #: option, year, cash_usd
    cashflow: pd.DataFrame
    #: input, low, high, gap_low_usd, gap_high_usd, swing_usd, winner_low, winner_high, source
    tornado: pd.DataFrame
    #: name, value, source (the ownership assumptions in force)
    assumptions: pd.DataFrame
    notes: tuple[str, ...]
    recommendation: str


def cloud_offers(
    offers: pd.DataFrame,
    accelerator: str,
    *,
    providers: tuple[str, ...] = (),
    regions: tuple[str, ...] = (),
    assumed_discounts: dict[str, float] | None = None,
    price_labels: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The cheapest instance per (provider, region, pricing model) for ``accelerator``, and notes.

    Commitment rows come from the price data; when there are none the note says so. An explicit
    ``assumed_discounts`` ({"committed_1y": 0.3}) adds rows derived from on-demand, labelled as assumptions.
    """
    import pandas as pd

    from pricing.schema import EXCLUDING_FLAGS

    o = offers[(offers["accelerator"] == accelerator) & offers["price_usd_per_accelerator_hour"].notna()]
    if providers:
        o = o[o["provider"].isin(providers)]
    if regions:
        o = o[o["region"].isin(regions)]
    bad = o["flags"].fillna("").str.split(";").map(lambda fs: bool(EXCLUDING_FLAGS.intersection(fs)))
    o = o[~bad.astype(bool)]
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
            "usd_per_acc_hour": o["price_usd_per_accelerator_hour"].astype(float),
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
            usd_per_acc_hour=base["usd_per_acc_hour"] * (1.0 - discount),
            source=f"ASSUMPTION: on-demand x (1 - {discount:g}) from --assume-discount; not a quoted price",
            assumed=True,
        )
        frame = pd.concat([frame, derived], ignore_index=True)
    return frame.reset_index(drop=True), tuple(notes)


def _owned_year_cost(frame: pd.DataFrame) -> pd.Series:
    """Vectorised owned_usd_per_year over columns named like :class:`Ownership`'s fields."""
    f = frame
    result: pd.Series = (
        f["capex_usd_per_server"] / f["life_years"]
        + f["server_kw"] * f["load_factor"] * f["pue"] * HOURS_PER_YEAR * f["usd_per_kwh"]
        + f["server_kw"] * f["colo_usd_per_kw_month"] * 12.0
        + f["maintenance_fraction_per_year"] * f["capex_usd_per_server"]
        + f["staff_usd_per_server_year"]
    )
    return result


def _rank_frame(cloud: pd.DataFrame, demand: float, own: Ownership, servers: int) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    u = own.utilisation
    commit = cloud["pricing_model"].isin(COMMITMENTS)
    effective = np.where(commit, cloud["usd_per_acc_hour"] / u, cloud["usd_per_acc_hour"])
    rows = cloud.assign(
        kind=np.where(commit, "commitment", "pay-per-use"),
        option=cloud["provider"] + " " + cloud["region"] + " " + cloud["pricing_model"],
        effective_usd_per_acc_hour=effective,
        usd_per_month=demand * effective,
    )
    year_cost = servers * owned_usd_per_year(own)
    owned = pd.DataFrame(
        [
            {
                "provider": "owned",
                "region": "colo",
                "pricing_model": "owned",
                "instance_type": f"{servers} x {own.accelerators_per_server:g}x{own.accelerator} server",
                "usd_per_acc_hour": owned_usd_per_year(own) / (own.accelerators_per_server * HOURS_PER_YEAR),
                "source": "ownership assumptions (see the assumptions table)",
                "assumed": True,
                "kind": "owned",
                "option": f"buy {servers} server{'s' if servers != 1 else ''}",
                "effective_usd_per_acc_hour": year_cost / (demand * 12.0),
                "usd_per_month": year_cost / 12.0,
            }
        ]
    )
    rows = pd.concat([rows, owned], ignore_index=True)
    for years in YEARS:
        rows[f"cost_{years}y_usd"] = rows["usd_per_month"] * 12.0 * years
    return rows


def compare_procurement(
    cloud: pd.DataFrame,
    demand_acc_hours_per_month: float,
    ownership: Ownership,
    *,
    servers: int | None = None,
    notes: tuple[str, ...] = (),
) -> Comparison:
    """Rank every cloud row and buying servers for the demand; break-even, cash flow, tornado, advice."""
    import numpy as np
    import pandas as pd

    demand = demand_acc_hours_per_month
    if not demand > 0 or math.isinf(demand):
        raise TcoError(f"demand must be a positive number of accelerator-hours per month, got {demand!r}")
    ownership.validate()
    own = ownership
    n = servers or math.ceil(demand / (own.accelerators_per_server * HOURS_PER_MONTH * own.utilisation))
    capacity = n * own.accelerators_per_server * HOURS_PER_MONTH
    extra = list(notes)
    if demand > capacity:
        extra.append(
            f"{n} servers deliver at most {capacity:,.0f} acc-h/month, less than the demand {demand:,.0f}"
        )
    rows = _rank_frame(cloud, demand, own, n)
    rows = rows.sort_values(["cost_3y_usd", "option"], kind="stable").reset_index(drop=True)
    cloud_rows = rows[rows["kind"] != "owned"]
    if cloud_rows.empty:
        raise TcoError("no cloud option to compare with")
    # owned capacity is not interruptible: compare it with the best non-spot cloud option when there is one
    steady = cloud_rows[~cloud_rows["pricing_model"].isin(("spot", "low_priority"))]
    best = (steady if len(steady) else cloud_rows).iloc[0]
    best_price = float(best["effective_usd_per_acc_hour"])

    owned_year_per_server = owned_usd_per_year(own)
    breakeven_u = np.where(
        rows["kind"] == "owned",
        owned_year_per_server / (own.accelerators_per_server * HOURS_PER_YEAR * best_price),
        np.where(rows["kind"] == "commitment", rows["usd_per_acc_hour"] / best_price, np.nan),
    )
    rows["breakeven_utilisation"] = breakeven_u
    monthly_opex = n * opex_usd_per_year(own) / 12.0
    margin = float(best["usd_per_month"]) - monthly_opex
    owned_month = n * own.capex_usd_per_server / margin if margin > 0 else math.inf
    rows["breakeven_month"] = np.where(rows["kind"] == "owned", owned_month, np.nan)
    rows.insert(0, "rank", np.arange(1, len(rows) + 1))

    # cash flow per year: cloud pays as it goes; owned pays capex up front and at each replacement
    year = np.arange(1, max(YEARS) + 1)
    flows = rows[["option", "kind", "usd_per_month"]].merge(pd.DataFrame({"year": year}), how="cross")
    replacement = ((flows["year"] - 1) % max(1, round(own.life_years))) == 0
    owned_cash = n * opex_usd_per_year(own) + np.where(replacement, n * own.capex_usd_per_server, 0.0)
    flows["cash_usd"] = np.where(flows["kind"] == "owned", owned_cash, flows["usd_per_month"] * 12.0)
    cashflow = flows[["option", "year", "cash_usd"]]

    tornado = _tornado(own, n, demand, best_price)
    assumptions = pd.DataFrame(
        [{"name": name, "value": getattr(own, name), "source": source} for name, source in SOURCES.items()]
    )
    owned_row = rows[rows["kind"] == "owned"].iloc[0]
    recommendation = _recommend(rows, best, owned_row, own, n, demand, tornado, extra)
    return Comparison(demand, own, n, rows, cashflow, tornado, assumptions, tuple(extra), recommendation)


def _tornado(own: Ownership, servers: int, demand: float, best_price: float) -> pd.DataFrame:
    """Swing of the 3-year gap (owned − best cloud) when one input moves across its range."""
    import numpy as np
    import pandas as pd

    base = {f: getattr(own, f) for f in SOURCES}
    variants: list[dict[str, Any]] = []
    for name, (low, high) in RANGES.items():
        for end, value in (("low", low), ("high", high)):
            variants.append(
                {**base, name: value, "input": name, "end": end, "value": value, "cloud_scale": 1.0}
            )
    for end, scale in zip(("low", "high"), CLOUD_PRICE_RANGE, strict=True):
        variants.append({**base, "input": "cloud_price", "end": end, "value": scale, "cloud_scale": scale})
    v = pd.DataFrame(variants)
    # the fleet is re-sized when utilisation moves (fewer busy hours per server need more servers)
    fleet = np.ceil(demand / (v["accelerators_per_server"] * HOURS_PER_MONTH * v["utilisation"]))
    fleet = np.where(v["input"] == "utilisation", fleet, float(servers))
    owned_3y = fleet * _owned_year_cost(v) * 3.0
    cloud_3y = demand * 12.0 * 3.0 * best_price * v["cloud_scale"]
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
    out["source"] = out["input"].map(
        lambda k: SOURCES.get(k, "assumption: best cloud price +/-25% (no reference range)")
    )
    return out.sort_values("swing_usd", ascending=False, kind="stable").reset_index(drop=True)


def _recommend(
    rows: pd.DataFrame,
    best: pd.Series,
    owned: pd.Series,
    own: Ownership,
    servers: int,
    demand: float,
    tornado: pd.DataFrame,
    notes: list[str],
) -> str:
    top = rows.iloc[0]
    owned_wins = top["kind"] == "owned"
    month = owned["breakeven_month"]
    when = f"after about {month:.0f} months" if math.isfinite(month) else "never at these prices"
    first, second = tornado["input"].iloc[0], tornado["input"].iloc[1]
    verdict = (
        f"buy {servers} server{'s' if servers != 1 else ''}"
        if owned_wins
        else f"use {top['option']} ({top['instance_type']})"
    )
    text = (
        f"For a sustained {demand:,.0f} {own.accelerator} accelerator-hours a month, the cheapest choice "
        "over "
        f"three years is to {verdict}: ${top['cost_3y_usd']:,.0f} in total, "
        f"${top['effective_usd_per_acc_hour']:.2f} "
        f"per delivered accelerator-hour. The best non-interruptible cloud option is {best['option']} at "
        f"${best['effective_usd_per_acc_hour']:.2f}/acc-h; owning {servers} "
        f"server{'s' if servers != 1 else ''} costs "
        f"${owned['effective_usd_per_acc_hour']:.2f}/acc-h at {own.utilisation:.0%} utilisation, would "
        "need at least "
        f"{owned['breakeven_utilisation']:.0%} utilisation to match it, and recovers its capex {when}. "
        f"Key assumptions: ${own.capex_usd_per_server:,.0f} per "
        f"{own.accelerators_per_server:g}-accelerator server "
        f"over {own.life_years:g} years with no resale value, {own.server_kw:g} kW at "
        f"{own.load_factor:.0%} load, "
        f"PUE {own.pue:g}, ${own.usd_per_kwh:g}/kWh, colo ${own.colo_usd_per_kw_month:g}/kW-month, "
        "maintenance "
        f"{own.maintenance_fraction_per_year:.0%}/yr, staff "
        f"${own.staff_usd_per_server_year:,.0f}/server-yr; spot "
        f"prices assume interruptions cost nothing extra. The answer moves most with {first} and {second} "
        "(see the sensitivity table)."
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

    own = comparison.ownership
    per_server = own.accelerators_per_server
    top = max_accelerators or int(max(per_server * comparison.servers * 2, per_server * 4))
    count = np.arange(1, top + 1, dtype=float)
    busy_hours = count * HOURS_PER_MONTH * own.utilisation
    cloud = comparison.ranking[comparison.ranking["kind"] != "owned"]
    shown = cloud.drop_duplicates("pricing_model").head(cloud_options)
    parts = [
        pd.DataFrame(
            {
                "option": rec["option"],
                "accelerators": count,
                "usd_per_month": busy_hours * rec["effective_usd_per_acc_hour"],
            }
        )
        for rec in shown.to_dict("records")
    ]
    servers = np.ceil(count / per_server)
    parts.append(
        pd.DataFrame(
            {
                "option": "owned",
                "accelerators": count,
                "usd_per_month": servers * owned_usd_per_year(own) / 12.0,
            }
        )
    )
    return pd.concat(parts, ignore_index=True)


def cumulative_curve(comparison: Comparison, months: int = 60) -> pd.DataFrame:
    """Cumulative cash by month: best cloud option vs owned (capex up front): the break-even picture."""
    import numpy as np
    import pandas as pd

    own = comparison.ownership
    n = comparison.servers
    m = np.arange(0, months + 1, dtype=float)
    cloud = comparison.ranking[comparison.ranking["kind"] != "owned"]
    steady = cloud[~cloud["pricing_model"].isin(("spot", "low_priority"))]
    best = (steady if len(steady) else cloud).iloc[0]
    life_months = max(1, round(own.life_years * 12))
    purchases = np.floor(np.maximum(m - 1, 0) / life_months) + 1
    owned = n * own.capex_usd_per_server * purchases + n * opex_usd_per_year(own) / 12.0 * m
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "option": f"cloud: {best['option']}",
                    "month": m,
                    "cumulative_usd": m * best["usd_per_month"],
                }
            ),
            pd.DataFrame({"option": f"owned: {n} servers", "month": m, "cumulative_usd": owned}),
        ],
        ignore_index=True,
    )


def with_overrides(own: Ownership, pairs: list[str]) -> Ownership:
    """``["pue=1.4", "usd_per_kwh=0.08"]`` applied to ``own`` (validated)."""
    values: dict[str, float] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep:
            raise TcoError(f"--set {pair!r}: expected NAME=VALUE", hint=f"names: {', '.join(SOURCES)}")
        try:
            values[key.strip()] = float(text)
        except ValueError as exc:
            raise TcoError(f"--set {pair!r}: {text!r} is not a number") from exc
    return replace(own).with_overrides(values)
