"""The price data itself: accelerators and who sells them, snapshots in use, what changed between two, and
pulling new ones (``tco prices accelerators|snapshots|diff|pull``). ``tco prices list`` is
:func:`tco.api.offers.list_offers`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from pricing.schema import PROVIDERS
from tco.api.sources import Sources

if TYPE_CHECKING:
    import pandas as pd

    from pricing.diff import SnapshotRef
    from pricing.providers.base import ClientOptions, ProgressEvent
    from pricing.pull import PullSummary

SNAPSHOT_COLUMNS: Final = (
    "snapshot", "provider", "in_use", "fetched_at", "source", "offers", "regions", "flagged",
    "left_out_of_listings", "endpoint",
)  # fmt: skip


def accelerator_table(sources: Sources | None = None) -> pd.DataFrame:
    """Canonical accelerators: kind, vendor, aliases, memory, dense peaks (with their source) and which
    providers sell them."""
    import pandas as pd

    from calibrate.peaks import load_peaks
    from pricing.accelerators import ACCELERATORS

    offers = (sources or Sources()).prices().offers
    sellers = offers.groupby("accelerator")["provider"].agg(lambda s: ",".join(sorted(set(s))))
    peaks = load_peaks()
    records = []
    for acc in ACCELERATORS:
        peak = peaks.get(acc.name)

        def tflops(dtype: str, peak: object = peak) -> float | None:
            return getattr(peak, "tflops", {}).get(dtype) if peak is not None else None

        records.append(
            {
                "accelerator": acc.name,
                "kind": acc.kind,
                "vendor": acc.vendor,
                "aliases": ",".join(acc.aliases),
                "memory_gib": acc.memory_gib,
                "bf16_dense_tflops": tflops("bf16"),
                "fp16_dense_tflops": tflops("fp16"),
                "tf32_dense_tflops": tflops("tf32"),
                "fp32_tflops": tflops("fp32"),
                "fp8_dense_tflops": tflops("fp8"),
                "memory_bandwidth_tb_s": peak.memory_bandwidth_tb_s if peak else None,
                "tdp_w": peak.tdp_w if peak else None,
                "offered_by": sellers.get(acc.name, ""),
                "peak_source": peak.source if peak else None,
            }
        )
    return pd.DataFrame.from_records(records)


def snapshot_table(providers: tuple[str, ...] = (), sources: Sources | None = None) -> pd.DataFrame:
    """Pulled snapshots, newest first, then the embedded ones, and which one each provider uses."""
    import pandas as pd

    from pricing.catalog import embedded_meta

    chosen = providers or PROVIDERS
    store = (sources or Sources()).price_store()
    latest = store.latest()
    records = [
        {
            "snapshot": str(s.id), "provider": s.provider, "in_use": latest[s.provider].id == s.id,
            "fetched_at": s.fetched_at, "source": s.source, "offers": s.offer_count,
            "regions": s.region_count,
            "flagged": ", ".join(f"{k} {v}" for k, v in s.meta.get("flags", {}).items()),
            "left_out_of_listings": s.meta.get("dropped"), "endpoint": s.meta.get("endpoint"),
        }
        for s in store.snapshots()
        if s.provider in chosen
    ]  # fmt: skip
    for name, info in embedded_meta()["providers"].items():
        if name in chosen:
            records.append(
                {
                    "snapshot": "embedded", "provider": name, "in_use": name not in latest,
                    "fetched_at": info["as_of"], "source": info["source"], "offers": info["offers"],
                    "regions": info["regions"],
                    "flagged": ", ".join(f"{k} {v}" for k, v in info["flags"].items()),
                    "left_out_of_listings": None, "endpoint": None,
                }
            )  # fmt: skip
    return pd.DataFrame.from_records(records, columns=list(SNAPSHOT_COLUMNS))


@dataclass(frozen=True)
class PriceChanges:
    """``tco prices diff``: the changes (biggest impact first) and the snapshot pairs compared."""

    changes: pd.DataFrame = field(compare=False)
    pairs: tuple[tuple[SnapshotRef, SnapshotRef], ...] = field(compare=False)

    def summary(self) -> list[str]:
        """One line per pair: ``aws: #3 -> #4: new 2, price 5``."""
        lines = []
        for before, after in self.pairs:
            changes = self.changes
            part = changes[changes["new_snapshot"].eq(after.label) & changes["old_snapshot"].eq(before.label)]
            counts = part["change"].value_counts()
            summary = ", ".join(f"{k} {v}" for k, v in counts.items()) or "no changes"
            lines.append(f"{after.provider}: {before.label} -> {after.label}: {summary}")
        return lines


def price_changes(
    old: str | None, new: str | None, providers: tuple[str, ...] = (), sources: Sources | None = None
) -> PriceChanges:
    """What changed between two snapshots (ids or ``embedded``; default: each provider's newest pull
    against the one before)."""
    from pricing.diff import diff_snapshots, resolve_pairs

    store = (sources or Sources()).price_store()
    pairs = resolve_pairs(store, old, new, providers)
    return PriceChanges(diff_snapshots(store, pairs), tuple(pairs))


def pull(
    providers: tuple[str, ...],
    *,
    regions: tuple[str, ...],
    options: ClientOptions,
    progress: Callable[[ProgressEvent], None],
    sources: Sources | None = None,
) -> list[PullSummary]:
    """Pull live prices from the providers into a new snapshot each (a failed provider writes nothing)."""
    from pricing.pull import pull_prices

    store = (sources or Sources()).price_store()
    return pull_prices(store, list(providers), regions=list(regions), options=options, progress=progress)


def pull_summary(summaries: list[PullSummary]) -> pd.DataFrame:
    """One row per provider pulled: stored or failed, counts, flags, skip reasons, timing, error."""
    import pandas as pd

    return pd.DataFrame.from_records(
        [
            {
                "provider": s.provider,
                "status": "stored" if s.ok else "failed",
                "snapshot_id": s.snapshot_id,
                "fetched_at": s.fetched_at or None,
                "endpoint": s.endpoint or None,
                "offers": s.offers,
                "regions": s.regions,
                "pricing_models": ", ".join(f"{k} {v}" for k, v in s.pricing_models.items()),
                "flagged": ", ".join(f"{k} {v}" for k, v in s.flags.items()),
                "left_out_of_listings": s.dropped,
                "skipped": "; ".join(
                    f"{k}: {v}" for k, v in sorted(s.skipped.items(), key=lambda kv: -kv[1])
                ),
                "pages": s.pages,
                "items": s.items,
                "duration_s": round(s.duration_s, 2),
                "error": s.error,
            }
            for s in summaries
        ]
    )
