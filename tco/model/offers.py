"""Purchase options: the price catalog's offers (and owned hardware, and user overrides) in one shape.

An option is one way to pay for accelerators: an instance type in a region under a pricing model, an owned
node, or a price the user gave. Columns (:data:`OPTION_COLUMNS`):

``provider, region, instance_type, accelerator, accelerators_per_instance, pricing_model, billing``
    ``billing`` is ``usage`` (pay per used hour), ``commitment`` (reserved/committed/savings plans: paid for
    every hour of the term) or ``owned``.
``interruptible``
    spot / low-priority capacity.
``price_usd_per_hour, price_usd_per_accelerator_hour``
    the list price (for owned hardware: the fully loaded cost at 100% utilisation).
``fixed_usd_per_accelerator_year, variable_usd_per_accelerator_hour``
    the two parts :mod:`tco.model.purchase` charges.
``price_source, price_date``
    provenance for every printed number.

Missing prices stay NaN: an option without a price costs n/a, never zero.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from tco.model.formulas import OWNED_LIST_USD_PER_ACCELERATOR_HOUR
from tco.model.purchase import BILLING, INTERRUPTIBLE, price_split

if TYPE_CHECKING:
    import pandas as pd

OPTION_COLUMNS: Final = (
    "provider",
    "region",
    "instance_type",
    "accelerator",
    "accelerators_per_instance",
    "pricing_model",
    "billing",
    "interruptible",
    "price_usd_per_hour",
    "price_usd_per_accelerator_hour",
    "fixed_usd_per_accelerator_year",
    "variable_usd_per_accelerator_hour",
    "price_source",
    "price_date",
)

_KEYS: Final = [
    "provider",
    "region",
    "instance_type",
    "accelerator",
    "accelerators_per_instance",
    "pricing_model",
]


def _prices(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill billing, interruptible and the fixed/variable split from the pricing model and the list price
    (:func:`tco.model.purchase.price_split`)."""
    import numpy as np

    billing = frame["pricing_model"].map(BILLING).fillna("usage")
    fixed = np.zeros(len(frame))
    variable = np.zeros(len(frame))
    for kind in ("commitment", "usage"):
        rows = (billing == kind).to_numpy()
        fixed_price, variable_price = price_split(kind)
        price = frame["price_usd_per_accelerator_hour"].to_numpy(dtype="float64")
        fixed = np.where(rows, fixed_price.evaluate(price_usd_per_accelerator_hour=price), fixed)
        variable = np.where(rows, variable_price.evaluate(price_usd_per_accelerator_hour=price), variable)
    return frame.assign(
        billing=billing,
        interruptible=frame["pricing_model"].isin(INTERRUPTIBLE),
        fixed_usd_per_accelerator_year=fixed,
        variable_usd_per_accelerator_hour=variable,
    )


def purchase_options(offers: pd.DataFrame) -> pd.DataFrame:
    """Options from catalog offers (the ``pricing`` offer table): one row per (provider, region, instance
    type, pricing model), the cheapest zone where prices are zonal (AWS spot).

    Offers without an accelerator count are dropped (a price per accelerator needs one). Effective hourly
    prices of commitments already amortise any upfront payment (the offer-table contract).
    """
    import pandas as pd

    frame = offers[offers["accelerator"].notna() & (offers["accelerator_count"] > 0)].copy()
    frame = frame.rename(columns={"accelerator_count": "accelerators_per_instance"})
    frame["price_usd_per_accelerator_hour"] = frame["price_usd_per_hour"] / frame["accelerators_per_instance"]
    note = (
        frame["note"].fillna("").astype(str) if "note" in frame.columns else pd.Series("", index=frame.index)
    )
    frame["price_source"] = frame["source"].fillna("").astype(str) + note.where(note == "", "; " + note)
    effective = frame["effective_date"] if "effective_date" in frame.columns else frame["fetched_at"]
    frame["price_date"] = effective.fillna(frame["fetched_at"]).astype(str).str.slice(0, 10)
    frame = frame.sort_values([*_KEYS, "price_usd_per_hour"], kind="stable", na_position="last")
    frame = frame.drop_duplicates(_KEYS, keep="first")
    return _prices(frame)[list(OPTION_COLUMNS)].reset_index(drop=True)


#: The optional option columns that carry an offer's own scale-out network (NaN / "": the accelerator's
#: cluster default of tco/data/network_defaults.csv, as for owned servers and user-given prices).
NETWORK_COLUMNS: Final = ("network_gb_s_per_instance", "network_source")


def offer_networks(
    options: pd.DataFrame,
    networks: pd.DataFrame,
    *,
    ethernet_gb_s_per_instance: float,
    ethernet_source: str,
    fabric_accelerators: frozenset[str],
) -> pd.DataFrame:
    """``options`` with :data:`NETWORK_COLUMNS`: the bandwidth between instances that the offer itself has.

    An instance type a seller sells with a cluster fabric or a stated network (``networks``: provider,
    instance_pattern - a regular expression the whole instance type matches -, fabric, gbps_per_instance,
    cluster_fabric, source; the first matching row wins) gets that figure; any other offer of an accelerator
    in ``fabric_accelerators`` (GPUs and HPUs, which train across instances over a NIC) gets the named
    Ethernet assumption, so that a 1024-GPU plan on single-GPU marketplace VMs is not given an InfiniBand
    cluster it does not have. Other options (TPU slices, whose network is their own topology) keep NaN.
    """
    import numpy as np
    import pandas as pd

    gbps = np.full(len(options), np.nan)
    text = np.full(len(options), "", dtype=object)
    providers = options["provider"].astype(str).to_numpy()
    types = options["instance_type"].astype(str)
    for rec in networks.to_dict("records"):
        hit = (providers == rec["provider"]) & types.str.fullmatch(str(rec["instance_pattern"])).to_numpy()
        hit &= np.isnan(gbps)
        if not hit.any():
            continue
        kind = "cluster fabric" if str(rec["cluster_fabric"]) == "yes" else "no cluster fabric"
        gbps[hit] = float(rec["gbps_per_instance"])
        text[hit] = (
            f"{rec['fabric']} {float(rec['gbps_per_instance']):g} Gb/s per instance ({kind}): {rec['source']}"
        )
    rest = np.isnan(gbps) & options["accelerator"].isin(fabric_accelerators).to_numpy()
    rest &= ~options["provider"].isin(("owned", "custom")).to_numpy()
    gbps[rest] = ethernet_gb_s_per_instance * 8.0
    text[rest] = (
        "Ethernet assumption "
        + f"{ethernet_gb_s_per_instance * 8:g} Gb/s per instance (no cluster fabric listed for "
        + options.loc[rest, "provider"].astype(str)
        + " "
        + options.loc[rest, "instance_type"].astype(str)
        + f"; ethernet_gb_s_per_instance): {ethernet_source}"
    ).to_numpy()
    return options.assign(
        network_gb_s_per_instance=pd.Series(gbps / 8.0, index=options.index),
        network_source=pd.Series(text, index=options.index, dtype=object),
    )


def cheapest_regions(options: pd.DataFrame) -> pd.DataFrame:
    """Of each (provider, instance type, pricing model), only the cheapest region per accelerator-hour."""
    ordered = options.sort_values(
        ["price_usd_per_accelerator_hour", "provider", "instance_type", "region"],
        kind="stable",
        na_position="last",
    )
    keys = ["provider", "instance_type", "accelerator", "accelerators_per_instance", "pricing_model"]
    return ordered.drop_duplicates(keys, keep="first").reset_index(drop=True)


def owned_options(costs: pd.DataFrame) -> pd.DataFrame:
    """Options for owned nodes, from :func:`tco.model.ownership.ownership_costs` rows that also carry
    ``accelerator``, ``accelerators_per_instance`` and ``ownership_source``."""
    import numpy as np

    per_accelerator = OWNED_LIST_USD_PER_ACCELERATOR_HOUR.evaluate(
        fixed_usd_per_accelerator_year=costs["fixed_usd_per_accelerator_year"],
        variable_usd_per_accelerator_hour=costs["variable_usd_per_accelerator_hour"],
    )
    count = costs["accelerators_per_instance"].astype("float64")
    frame = costs.assign(
        provider="owned",
        region="on-prem",
        instance_type=costs["accelerator"] + " x" + count.astype(int).astype(str) + " node",
        pricing_model="owned",
        billing="owned",
        interruptible=False,
        price_usd_per_accelerator_hour=per_accelerator,
        price_usd_per_hour=per_accelerator * count,
        price_source="ownership model: " + costs["ownership_source"].astype(str),
        price_date=np.full(len(costs), ""),
    )
    return frame[list(OPTION_COLUMNS)].reset_index(drop=True)


def override_options(
    accelerators: list[str] | tuple[str, ...],
    price_usd_per_accelerator_hour: float,
    accelerators_per_instance: float,
) -> pd.DataFrame:
    """One on-demand option per accelerator at a price the user gave (``--price-usd-per-hour``)."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "provider": "custom",
            "region": "any",  # a user-given price belongs to no region
            "instance_type": [f"{a} x{accelerators_per_instance:g}" for a in accelerators],
            "accelerator": list(accelerators),
            "accelerators_per_instance": float(accelerators_per_instance),
            "pricing_model": "on_demand",
            "price_usd_per_accelerator_hour": float(price_usd_per_accelerator_hour),
            "price_source": "override (--price-usd-per-hour)",
            "price_date": "",
        }
    )
    frame["price_usd_per_hour"] = frame["price_usd_per_accelerator_hour"] * frame["accelerators_per_instance"]
    return _prices(frame)[list(OPTION_COLUMNS)]
