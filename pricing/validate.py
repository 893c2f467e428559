"""Flag impossible prices instead of trusting them (pricing_apis.md traps 5, 10, 15, 16).

A flag never deletes a row: flagged rows stay in the snapshot (and are listed with ``--include-flagged``)
so that every drop is visible and counted. Flags that exclude a row by default are in
``pricing.schema.EXCLUDING_FLAGS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Placeholder prices seen in real catalogs: SkyPilot writes 700.0 for a missing TPU v6e price.
SENTINEL_PRICES_USD_PER_HOUR: Final = (700.0,)

#: A per-accelerator price this far (as a factor) from the median of the same offer in other regions is
#: flagged. Regional list prices of one offer differ by up to ~1.6x (sa-east vs us-east); a factor of 2
#: catches a different SKU matched by mistake (GCP H100: 4.2 vs 10.8 $/GPU-h) without flagging geography.
OUTLIER_FACTOR: Final = 2.0

#: Prices and counts no offer can have (a hostile or broken API: an infinite, negative or absurd number) are
#: flagged ``invalid``: 100x the largest price in the embedded snapshot (9,891.84 $/h, a whole TPU pod
#: slice) and 300x its largest accelerator count (3,072 TPU chips).
MAX_PLAUSIBLE_USD_PER_HOUR: Final = 1e6
MAX_PLAUSIBLE_ACCELERATORS: Final = 1e6

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
    """Append ``flag`` to the ``;``-separated flags where ``mask`` holds (an object column, "" for none)."""
    import numpy as np
    import pandas as pd

    values = flags.to_numpy(dtype=object).copy()
    blank = pd.isna(values)
    values[blank] = ""
    for index in np.flatnonzero(np.asarray(mask, dtype=bool)):
        current = values[index]
        values[index] = flag if current == "" else f"{current};{flag}"
    return pd.Series(values, index=flags.index, dtype=object)


def _flag_values(flags: pd.Series) -> np.ndarray:
    """The flags as a new object array, "" for null (``add_flag``'s start): the null pass is skipped when
    every value is text (one type pass, the ingest benchmark's case)."""
    import pandas as pd

    values = flags.to_numpy(dtype=object).copy()
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        values[pd.isna(values)] = ""
    return values


def _append_flag(values: np.ndarray, mask: Any, flag: str) -> None:
    """``add_flag`` on the array from :func:`_flag_values`, in place."""
    import numpy as np

    for index in np.flatnonzero(np.asarray(mask, dtype=bool)):
        current = values[index]
        values[index] = flag if current == "" else f"{current};{flag}"


def column_codes(values: Any) -> tuple[np.ndarray, int]:
    """An integer per value (nulls share one code) and how many there are: a column factorized once."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    return codes.astype(np.int64), max(len(uniques), 1)


def series_codes(series: pd.Series) -> tuple[np.ndarray, int]:
    """:func:`column_codes` of a column; a categorical column's own codes, its nulls one more code (no pass
    to factorize it)."""
    import numpy as np
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy(dtype=np.int64, copy=True)
        count = len(series.cat.categories)
        codes[codes < 0] = count
        return codes, count + 1
    return column_codes(series.to_numpy(dtype=object))


def _factorized(series: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes and the value of each code (nulls one code), as ``pd.factorize(..., use_na_sentinel=False)``
    gives them; a categorical column's from its own codes."""
    import numpy as np
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        codes, count = series_codes(series)
        return codes, [*series.cat.categories.tolist(), None][:count]
    codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=False)
    return codes.astype(np.int64), list(uniques)


def _zone_codes(zones: pd.Series) -> tuple[np.ndarray, int]:
    """:func:`series_codes` of the zones with a null zone and an empty one the same place."""
    import numpy as np
    import pandas as pd

    if isinstance(zones.dtype, pd.CategoricalDtype):
        codes = zones.cat.codes.to_numpy(dtype=np.int64, copy=True)
        categories = zones.cat.categories.tolist()
        codes[codes < 0] = categories.index("") if "" in categories else len(categories)
        return codes, len(categories) + 1
    values = zones.to_numpy(dtype=object)
    blank = pd.isna(values)
    if blank.any():
        values = values.copy()
        values[blank] = ""
    return column_codes(values)


def group_ids(parts: list[tuple[np.ndarray, int]], rows: int) -> np.ndarray:
    """One integer per distinct combination of the factorized columns ``parts`` (equal rows, equal ids)."""
    import numpy as np
    import pandas as pd

    ids = np.zeros(rows, dtype=np.int64)
    size = 1
    for codes, count in parts:
        if size * count >= 2**62:  # keep the combined key inside int64: compress it first
            compressed, uniques = pd.factorize(ids)
            ids, size = compressed.astype(np.int64), max(len(uniques), 1)
        ids = ids * count + codes
        size *= count
    return ids


def _outliers(values: np.ndarray, groups: np.ndarray, places: np.ndarray) -> np.ndarray:
    """``outlier_mask`` on precomputed group ids (``groups``) and group-and-region ids (``places``)."""
    import numpy as np
    import pandas as pd

    present = ~np.isnan(values)
    if not present.any():
        return np.zeros(len(values), dtype=bool)
    # a place (``places``: the group's keys and the region) is in one group: grouped by the place alone
    here = places[present]
    regional = pd.Series(values[present]).groupby(here, sort=False).median()
    group = pd.Series(groups[present]).groupby(here, sort=False).first()
    stats = regional.groupby(group.to_numpy(), sort=False).agg(["median", "size"])
    median = stats["median"].reindex(groups).to_numpy(dtype=float)
    size = stats["size"].reindex(groups).fillna(0).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = values / median
        far = (ratio > OUTLIER_FACTOR) | (ratio < 1.0 / OUTLIER_FACTOR)
    return np.asarray(far & (size >= OUTLIER_MIN_SIBLINGS), dtype=bool)


def flag_prices(offers: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``offers`` with ``flags`` extended by ``zero``, ``sentinel``, ``invalid`` and
    ``outlier``.

    A zero or sentinel price is also set to NaN: it is not a price. So is an ``invalid`` one (infinite,
    negative, or above :data:`MAX_PLAUSIBLE_USD_PER_HOUR`); a row whose accelerator count is not a positive
    finite number up to :data:`MAX_PLAUSIBLE_ACCELERATORS` is flagged ``invalid`` too (its count kept).
    Outliers keep their value (it may be real) but are excluded by default. Each key column is factorized
    once and the groups are integer ids (the ingest benchmark's rows go through here).
    """
    import numpy as np
    import pandas as pd

    out = offers.copy(deep=False)  # copy-on-write: the columns replaced below leave ``offers`` as it was
    if "flags" not in out:
        out["flags"] = ""
    rows = len(out)
    price = pd.to_numeric(out["price_usd_per_hour"], errors="coerce")
    values = price.to_numpy(dtype=float)  # (numpy comparisons: no hash table per ``isin``)
    zero = values == 0
    sentinel = np.isin(values, SENTINEL_PRICES_USD_PER_HOUR)
    count = pd.to_numeric(out["accelerator_count"], errors="coerce")
    with np.errstate(invalid="ignore"):
        bad_price = (values < 0) | (values > MAX_PLAUSIBLE_USD_PER_HOUR) | np.isinf(values)
    bad_count = count.notna() & ~(count.gt(0) & count.le(MAX_PLAUSIBLE_ACCELERATORS))
    flags = _flag_values(out["flags"])
    _append_flag(flags, zero, "zero")
    _append_flag(flags, sentinel, "sentinel")
    _append_flag(flags, bad_price | bad_count, "invalid")
    price = price.mask(zero | sentinel | bad_price)
    out["price_usd_per_hour"] = price
    prices = price.to_numpy(dtype=float)

    model_codes, models = _factorized(out["pricing_model"])
    is_listed = np.array([m in LIST_PRICE_MODELS for m in models], dtype=bool)
    is_spot_model = np.array([m == "spot" for m in models], dtype=bool)
    is_on_demand = np.array([m == "on_demand" for m in models], dtype=bool)
    model = (model_codes, max(len(models), 1))
    provider = series_codes(out["provider"])
    instance_type = series_codes(out["instance_type"])
    region = series_codes(out["region"])

    with np.errstate(invalid="ignore", divide="ignore"):
        per_accel = prices / pd.to_numeric(out["accelerator_count"], errors="coerce").to_numpy(dtype=float)
    listed = is_listed[model_codes] & ~np.isnan(per_accel) if len(models) else np.zeros(rows, dtype=bool)
    groups = group_ids([provider, instance_type, model], rows)
    outlier = _outliers(
        np.where(listed, per_accel, np.nan), groups, group_ids([provider, instance_type, model, region], rows)
    )
    # An on-demand price below the spot price of the same offer and place is not an on-demand price; a null
    # zone and an empty one are the same place.
    places = group_ids([provider, instance_type, region, _zone_codes(out["zone"])], rows)
    is_spot = is_spot_model[model_codes] if len(models) else np.zeros(rows, dtype=bool)
    spot_here = np.full(rows, np.nan)
    if is_spot.any():
        best = pd.Series(prices[is_spot]).groupby(places[is_spot], sort=False).max()
        spot_here = best.reindex(places).to_numpy(dtype=float)
    on_demand = is_on_demand[model_codes] if len(models) else np.zeros(rows, dtype=bool)
    with np.errstate(invalid="ignore"):
        outlier |= on_demand & (prices < spot_here * 0.99)
    _append_flag(flags, outlier, "outlier")
    out["flags"] = pd.Series(flags, index=out.index, dtype=object)
    return out


def outlier_mask(values: pd.Series, frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Where ``values`` lie more than ``OUTLIER_FACTOR`` from the median of their group's regional medians.

    Groups are ``keys``; each region counts once (zonal rows are folded to their region's median), and a
    group needs ``OUTLIER_MIN_SIBLINGS`` regions. NaN values are never outliers.
    """
    import pandas as pd

    rows = len(frame)
    parts = [column_codes(frame[k].to_numpy(dtype=object)) for k in keys]
    groups = group_ids(parts, rows)
    places = group_ids([*parts, column_codes(frame["region"].to_numpy(dtype=object))], rows)
    values_array = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    return pd.Series(_outliers(values_array, groups, places), index=frame.index)


def below_spot(on_demand: pd.Series, spot: pd.Series) -> pd.Series:
    """On-demand prices more than 1% below the spot price beside them (spot may equal on-demand on AWS)."""
    return (on_demand < spot * 0.99).fillna(False).astype(bool)


def flag_counts(offers: pd.DataFrame) -> dict[str, int]:
    """How many rows carry each flag."""
    flags = offers["flags"].fillna("").astype(str)
    exploded = flags[flags.ne("")].str.split(";").explode()
    return {str(k): int(v) for k, v in exploded.value_counts().sort_index().items()}
