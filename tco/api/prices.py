"""The price data itself: accelerators and who sells them, snapshots in use, what changed between two, a
team's price books, and pulling new prices (``tco prices accelerators|snapshots|diff|pull|import|books``).
``tco prices list`` is :func:`tco.api.offers.list_offers`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from pricing.schema import PROVIDERS
from tco.api.sources import PRICE_STORE_FILENAME, Sources

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from pricing.diff import SnapshotRef
    from pricing.pricebook import BookImport
    from pricing.providers.base import ClientOptions, ProgressEvent
    from pricing.pull import PullSummary

SNAPSHOT_COLUMNS: Final = (
    "snapshot", "provider", "in_use", "fetched_at", "source", "offers", "regions", "flagged",
    "left_out_of_listings", "endpoint", "refresh",
)  # fmt: skip
BOOK_COLUMNS: Final = (
    "book", "file", "imported_at", "in_use", "rules", "price_rules", "discount_rules", "quote_rules",
    "offers_covered", "new_offers", "providers", "source", "sha256",
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
    """Pulled snapshots, newest first, then the embedded ones, which one each provider uses, and how each
    can be refreshed (``refresh``: the pull command, or "embedded only" and why); then the imported price
    books (provider ``price book``; the newest is in use unless ``Sources.price_book`` is False)."""
    import pandas as pd

    from pricing.catalog import embedded_meta, embedded_sources

    chosen = providers or PROVIDERS
    sources = sources or Sources()
    store = sources.price_store()
    latest = store.latest()
    refresh = {e.provider: e.refresh_note for e in embedded_sources(chosen)}
    records = [
        {
            "snapshot": str(s.id), "provider": s.provider, "in_use": latest[s.provider].id == s.id,
            "fetched_at": s.fetched_at, "source": s.source, "offers": s.offer_count,
            "regions": s.region_count,
            "flagged": ", ".join(f"{k} {v}" for k, v in s.meta.get("flags", {}).items()),
            "left_out_of_listings": s.meta.get("dropped"), "endpoint": s.meta.get("endpoint"),
            "refresh": refresh.get(s.provider),
        }
        for s in store.snapshots()
        if s.provider in chosen and not s.is_book
    ]  # fmt: skip
    for name, info in embedded_meta()["providers"].items():
        if name in chosen:
            records.append(
                {
                    "snapshot": "embedded", "provider": name, "in_use": name not in latest,
                    "fetched_at": info["as_of"], "source": info["source"], "offers": info["offers"],
                    "regions": info["regions"],
                    "flagged": ", ".join(f"{k} {v}" for k, v in info["flags"].items()),
                    "left_out_of_listings": None, "endpoint": None, "refresh": refresh.get(name),
                }
            )  # fmt: skip
    books = price_books(sources)
    for book in books.to_dict("records"):
        covers = [p for p in str(book["providers"]).split(", ") if p]
        if providers and not set(covers) & set(providers):
            continue
        records.append(
            {
                "snapshot": str(book["book"]), "provider": "price book", "in_use": book["in_use"],
                "fetched_at": book["imported_at"], "source": book["source"], "offers": book["offers_covered"],
                "regions": None, "flagged": "", "left_out_of_listings": None, "endpoint": None,
                "refresh": f"`tco prices import FILE` replaces it; covers {book['providers']}",
            }
        )  # fmt: skip
    return pd.DataFrame.from_records(records, columns=list(SNAPSHOT_COLUMNS))


def import_book(path: Path, sources: Sources | None = None) -> BookImport:
    """Read, check and store a price book (CSV, JSON or XLSX; :mod:`pricing.pricebook`) against the list
    prices in use (each provider's newest pull, else the embedded snapshot). A book with any problem raises
    :class:`pricing.pricebook.PriceBookError` (one ``file:line: what; the fix`` line per problem in
    ``errors``) and stores nothing; from then on every command applies the newest book where it covers an
    offer."""
    from pricing.catalog import load_catalog
    from pricing.pricebook import import_price_book

    sources = sources or Sources()
    store = sources.price_store()
    listed = sources.catalog if sources.catalog is not None else load_catalog(store, price_book=False)
    return import_price_book(store, path, catalog=listed)


def price_books(sources: Sources | None = None) -> pd.DataFrame:
    """The imported price books, newest first (:data:`BOOK_COLUMNS`); ``in_use``: the one every command
    applies (the newest, unless ``Sources.price_book`` is False)."""
    import pandas as pd

    sources = sources or Sources()
    if not (sources.home_dir / PRICE_STORE_FILENAME).is_file():
        return pd.DataFrame(columns=list(BOOK_COLUMNS))
    from pricing.store import BOOK_PROVIDER

    books = sources.price_store().snapshots(BOOK_PROVIDER)
    records = []
    for index, snap in enumerate(books):
        kinds = snap.meta.get("rules_by_kind", {})
        records.append(
            {
                "book": snap.id, "file": snap.meta.get("file", ""), "imported_at": snap.fetched_at,
                "in_use": index == 0 and sources.price_book, "rules": snap.offer_count,
                "price_rules": kinds.get("price", 0), "discount_rules": kinds.get("discount", 0),
                "quote_rules": kinds.get("quote", 0), "offers_covered": snap.meta.get("offers_covered"),
                "new_offers": snap.meta.get("new_offers"),
                "providers": ", ".join(snap.meta.get("providers", [])), "source": snap.source,
                "sha256": snap.meta.get("sha256", ""),
            }
        )  # fmt: skip
    return pd.DataFrame.from_records(records, columns=list(BOOK_COLUMNS))


def remove_books(which: str, sources: Sources | None = None) -> tuple[int, ...]:
    """Delete imported price books: one by id (``tco prices books``), or ``all``. Returns the ids removed;
    an id that is not a book raises. The next newest book, if any, applies from then on."""
    from tco.errors import TcoError

    sources = sources or Sources()
    books = price_books(sources)
    known = tuple(int(b) for b in books["book"])
    text = which.strip().lower().removeprefix("#")
    if text == "all":
        chosen = known
    else:
        try:
            chosen = (int(text),)
        except ValueError:
            raise TcoError(f"--remove {which!r}: give a book id (`tco prices books`) or all") from None
        if chosen[0] not in known:
            listed = ", ".join(str(b) for b in known) or "none imported"
            raise TcoError(f"no price book #{chosen[0]}", hint=f"books: {listed}")
    store = sources.price_store()
    return tuple(book for book in chosen if store.remove_book(book))


def book_changes(providers: tuple[str, ...] = (), sources: Sources | None = None) -> pd.DataFrame:
    """The price book in use against list prices (:func:`pricing.pricebook.book_vs_list`): one row per offer
    it covers, book and list price per hour, the change, the rule; empty when no book applies."""
    from pricing.pricebook import book_vs_list

    return book_vs_list((sources or Sources()).prices(providers))


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
