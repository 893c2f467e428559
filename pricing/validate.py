"""Flag impossible prices instead of trusting them (pricing_apis.md traps 5, 10, 15, 16).

A flag never deletes a row: flagged rows stay in the snapshot (and are listed with ``--include-flagged``)
so that every drop is visible and counted. Flags that exclude a row by default are in
``pricing.schema.EXCLUDING_FLAGS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pandas as pd

#: Placeholder prices seen in real catalogs: SkyPilot writes 700.0 for a missing TPU v6e price.
SENTINEL_PRICES_USD_PER_HOUR: Final = (700.0,)

#: A per-accelerator price this far (as a factor) from the median of the same offer in other regions is
#: flagged. Regional list prices of one offer differ by up to ~1.6x (sa-east vs us-east); a factor of 2
#: catches a different SKU matched by mistake (GCP H100: 4.2 vs 10.8 $/GPU-h) without flagging geography.
OUTLIER_FACTOR: Final = 2.0

#: Sibling regions needed before a median means anything.
OUTLIER_MIN_SIBLINGS: Final = 3

#: Pricing models whose prices are list prices, comparable across regions. Spot prices move by zone and
#: hour, so they are checked only for zeros and sentinels.
LIST_PRICE_MODELS: Final = frozenset(
    {
        "on_demand",
        "reserved_1y",
        "reserved_3y",
        "committed_1y",
        "committed_3y",
        "savings_plan_1y",
        "savings_plan_3y",
    }
)


def add_flag(flags: pd.Series, mask: pd.Series, flag: str) -> pd.Series:
    """Append ``flag`` to the ``;``-separated flags where ``mask`` holds."""
    flags = flags.fillna("").astype(str)
    tagged = flags.where(flags.eq(""), flags + ";") + flag
    return flags.where(~mask, tagged)


def flag_prices(offers: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``offers`` with ``flags`` extended by ``zero``, ``sentinel`` and ``outlier``.

    A zero or sentinel price is also set to NaN: it is not a price. Outliers keep their value (it may be
    real) but are excluded by default.
    """
    import pandas as pd

    out = offers.copy()
    if "flags" not in out:
        out["flags"] = ""
    price = pd.to_numeric(out["price_usd_per_hour"], errors="coerce")
    zero = price.le(0)
    sentinel = price.isin(SENTINEL_PRICES_USD_PER_HOUR)
    out["flags"] = add_flag(out["flags"], zero, "zero")
    out["flags"] = add_flag(out["flags"], sentinel, "sentinel")
    price = price.mask(zero | sentinel)
    out["price_usd_per_hour"] = price

    per_accel = price / pd.to_numeric(out["accelerator_count"], errors="coerce")
    listed = out["pricing_model"].isin(LIST_PRICE_MODELS) & per_accel.notna()
    outlier = outlier_mask(per_accel.where(listed), out, ["provider", "instance_type", "pricing_model"])
    # An on-demand price below the spot price of the same offer and place is not an on-demand price.
    place = pd.DataFrame(
        {
            k: out[k].astype(object).where(out[k].notna(), "").astype(str)
            for k in ("provider", "instance_type", "region", "zone")
        }
    )
    is_spot = out["pricing_model"].eq("spot")
    spot = place[is_spot].assign(spot=price[is_spot]).groupby(list(place.columns))["spot"].max()
    spot_here = place.merge(spot.reset_index(), on=list(place.columns), how="left")["spot"].to_numpy()
    outlier |= out["pricing_model"].eq("on_demand") & below_spot(price, pd.Series(spot_here, index=out.index))
    out["flags"] = add_flag(out["flags"], outlier, "outlier")
    return out


def outlier_mask(values: pd.Series, frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Where ``values`` lie more than ``OUTLIER_FACTOR`` from the median of their group's regional medians.

    Groups are ``keys``; each region counts once (zonal rows are folded to their region's median), and a
    group needs ``OUTLIER_MIN_SIBLINGS`` regions. NaN values are never outliers.
    """
    import numpy as np
    import pandas as pd

    parts = {k: frame[k] for k in keys}
    regional = (
        pd.DataFrame({**parts, "region": frame["region"], "v": values})
        .dropna(subset=["v"])
        .groupby([*keys, "region"], sort=False, dropna=False)["v"]
        .median()
        .reset_index()
    )
    stats = regional.groupby(keys, sort=False, dropna=False)["v"].agg(["median", "size"]).reset_index()
    merged = pd.DataFrame(parts).merge(stats, on=keys, how="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = values.to_numpy(dtype=float) / merged["median"].to_numpy(dtype=float)
        far = (ratio > OUTLIER_FACTOR) | (ratio < 1.0 / OUTLIER_FACTOR)
    return pd.Series(far & (merged["size"].to_numpy() >= OUTLIER_MIN_SIBLINGS), index=frame.index)


def below_spot(on_demand: pd.Series, spot: pd.Series) -> pd.Series:
    """On-demand prices more than 1% below the spot price beside them (spot may equal on-demand on AWS)."""
    return (on_demand < spot * 0.99).fillna(False).astype(bool)


def flag_counts(offers: pd.DataFrame) -> dict[str, int]:
    """How many rows carry each flag."""
    flags = offers["flags"].fillna("").astype(str)
    exploded = flags[flags.ne("")].str.split(";").explode()
    return {str(k): int(v) for k, v in exploded.value_counts().sort_index().items()}
