"""What changed between two price snapshots: new and removed offers, price moves, biggest impact first.

An offer is identified by (provider, region, zone, instance type, pricing model, payment option); the
payment option is the ``payment=...`` token that leads the ``note`` of AWS reserved rows. Impact is the
absolute change in USD per hour (for a new or removed offer: its price), so the top rows are the moves
that change a bill the most.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from pricing.errors import PricingError

if TYPE_CHECKING:
    import pandas as pd

    from pricing.store import PriceStore, Snapshot

DIFF_KEYS: Final = ["provider", "region", "zone", "instance_type", "pricing_model", "variant"]
DIFF_COLUMNS: Final = (
    "change",
    "provider",
    "region",
    "zone",
    "instance_type",
    "accelerator",
    "accelerator_count",
    "pricing_model",
    "variant",
    "old_price_usd_per_hour",
    "new_price_usd_per_hour",
    "delta_usd_per_hour",
    "delta_pct",
    "impact_usd_per_hour",
    "old_snapshot",
    "new_snapshot",
)
EMBEDDED: Final = "embedded"


@dataclass(frozen=True, slots=True)
class SnapshotRef:
    """A side of a diff: a pulled snapshot, or the embedded one (of one provider)."""

    provider: str
    snapshot: Snapshot | None  # None: the embedded snapshot

    @property
    def label(self) -> str:
        return self.snapshot.label if self.snapshot is not None else f"embedded ({self.provider})"


def _by_id(store: PriceStore, text: str) -> Snapshot:
    try:
        wanted = int(text.lstrip("#"))
    except ValueError:
        raise PricingError(
            f"not a snapshot id: {text!r}", hint="give a number from `tco prices snapshots`, or 'embedded'"
        ) from None
    for snap in store.snapshots():
        if snap.id == wanted and snap.is_book:
            raise PricingError(
                f"snapshot #{wanted} is a price book, not list prices",
                hint="compare a book with the list prices it replaces: pricing.pricebook.book_vs_list",
            )
        if snap.id == wanted:
            return snap
    raise PricingError(f"no snapshot #{wanted}", hint="`tco prices snapshots` lists them")


def resolve_pairs(
    store: PriceStore, old: str | None, new: str | None, providers: tuple[str, ...] = ()
) -> list[tuple[SnapshotRef, SnapshotRef]]:
    """The (old, new) snapshot pairs a diff compares.

    - no ids: per provider, its newest pull against the pull before it (else the embedded snapshot);
    - one id: that snapshot against its provider's newest pull;
    - two ids: those two (one may be ``embedded``); both must be of the same provider.
    """
    if old is None and new is None:
        pairs = []
        by_provider: dict[str, list[Snapshot]] = {}
        for snap in store.snapshots():
            if not snap.is_book:
                by_provider.setdefault(snap.provider, []).append(snap)
        for provider, snaps in sorted(by_provider.items()):
            if providers and provider not in providers:
                continue
            previous = SnapshotRef(provider, snaps[1] if len(snaps) > 1 else None)
            pairs.append((previous, SnapshotRef(provider, snaps[0])))
        if not pairs:
            raise PricingError("no pulled snapshots to compare", hint="run `tco prices pull` first")
        return pairs
    if old is not None and new is None:
        if old == EMBEDDED:
            raise PricingError("'embedded' needs a pulled snapshot to compare with", hint="give a second id")
        first = _by_id(store, old)
        latest = store.latest().get(first.provider)
        if latest is None or latest.id == first.id:
            raise PricingError(
                f"snapshot #{first.id} is the newest {first.provider} pull",
                hint="give an older id, or two ids",
            )
        return [(SnapshotRef(first.provider, first), SnapshotRef(first.provider, latest))]
    if old is None or new is None:
        raise PricingError("give the older snapshot first", hint="tco prices diff OLD [NEW]")
    if old == EMBEDDED and new == EMBEDDED:
        raise PricingError("both sides are the embedded snapshot", hint="give a pulled snapshot id")
    sides = {side: (None if side == EMBEDDED else _by_id(store, side)) for side in (old, new)}
    pulled = [s for s in sides.values() if s is not None]
    provider = pulled[0].provider
    if any(s.provider != provider for s in pulled):
        names = " and ".join(f"#{s.id} is {s.provider}" for s in pulled)
        raise PricingError(f"cannot compare snapshots of different providers ({names})")
    return [(SnapshotRef(provider, sides[old]), SnapshotRef(provider, sides[new]))]


def load_side(store: PriceStore, ref: SnapshotRef) -> pd.DataFrame:
    """The offers of one side of a diff."""
    if ref.snapshot is not None:
        return store.offers([ref.snapshot.id])
    from pricing.catalog import load_embedded

    embedded = load_embedded()
    return embedded[embedded["provider"].eq(ref.provider)]


def _keyed(offers: pd.DataFrame) -> pd.DataFrame:
    """The offers with a ``variant`` column and every key as text ("" for null), one row per key.

    Keys are made text on both sides alike: a key column that is all null reads as float64 (NaN), and pandas
    refuses to merge float64 with text."""
    from pricing.pull import variant

    frame = offers.assign(variant=variant(offers["note"]))
    for key in DIFF_KEYS:
        values = frame[key].astype(object)
        frame[key] = values.where(values.notna(), "")
    return frame.drop_duplicates(DIFF_KEYS, keep="first")


def diff_offers(
    old: pd.DataFrame, new: pd.DataFrame, *, min_change_usd_per_hour: float = 1e-9
) -> pd.DataFrame:
    """New, removed and re-priced offers between two offer tables, largest impact first (``DIFF_COLUMNS``).

    ``change`` is ``new``, ``removed``, ``up``, ``down``, ``now priced`` (was null) or ``price withdrawn``
    (now null). Offers whose price moved by less than ``min_change_usd_per_hour`` are left out.
    """
    import numpy as np
    import pandas as pd

    keep = [*DIFF_KEYS, "accelerator", "accelerator_count", "price_usd_per_hour"]
    merged = _keyed(old)[keep].merge(
        _keyed(new)[keep], on=DIFF_KEYS, how="outer", suffixes=("_old", "_new"), indicator=True
    )
    old_price = merged["price_usd_per_hour_old"].astype(float)
    new_price = merged["price_usd_per_hour_new"].astype(float)
    delta = new_price - old_price
    side = merged["_merge"].astype(str)
    change = np.select(
        [
            side.eq("right_only"),
            side.eq("left_only"),
            old_price.isna() & new_price.notna(),
            old_price.notna() & new_price.isna(),
            delta > min_change_usd_per_hour,
            delta < -min_change_usd_per_hour,
        ],
        ["new", "removed", "now priced", "price withdrawn", "up", "down"],
        default="",
    )
    impact = delta.abs().fillna(new_price.fillna(old_price))
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = (delta / old_price * 100.0).where(old_price > 0)
    out = pd.DataFrame(
        {
            "change": change,
            **{key: merged[key] for key in DIFF_KEYS},
            "accelerator": merged["accelerator_new"].fillna(merged["accelerator_old"]),
            "accelerator_count": merged["accelerator_count_new"].fillna(merged["accelerator_count_old"]),
            "old_price_usd_per_hour": old_price,
            "new_price_usd_per_hour": new_price,
            "delta_usd_per_hour": delta,
            "delta_pct": pct,
            "impact_usd_per_hour": impact,
        }
    )
    out = out[out["change"].ne("")]
    for key in ("provider", "region", "zone", "instance_type", "pricing_model"):
        out[key] = out[key].replace("", None)
    out = out.sort_values(
        ["impact_usd_per_hour", "provider", "instance_type", "region", "pricing_model"],
        ascending=[False, True, True, True, True],
        kind="stable",
        na_position="last",
    )
    return out.reset_index(drop=True)


def diff_snapshots(store: PriceStore, pairs: list[tuple[SnapshotRef, SnapshotRef]]) -> pd.DataFrame:
    """The diff of each pair, stacked, each row naming both snapshots."""
    import pandas as pd

    parts = []
    for old, new in pairs:
        part = diff_offers(load_side(store, old), load_side(store, new))
        parts.append(part.assign(old_snapshot=old.label, new_snapshot=new.label))
    if not parts:
        return pd.DataFrame(columns=list(DIFF_COLUMNS))
    return pd.concat(parts, ignore_index=True).loc[:, list(DIFF_COLUMNS)]


__all__ = [
    "DIFF_COLUMNS",
    "EMBEDDED",
    "SnapshotRef",
    "diff_offers",
    "diff_snapshots",
    "load_side",
    "resolve_pairs",
]
