"""Pull live prices: fetch per provider, validate, and store one snapshot per provider that completed.

A provider's snapshot is written in one transaction only after its whole fetch succeeded and its rows were
validated (``pricing.validate.flag_prices``). A failed, partial or interrupted pull writes nothing for that
provider, so its previous snapshot (or the embedded one) stays in use. Providers are independent: one
failing does not stop the others.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from pricing.errors import PricingError
from pricing.providers.base import (
    ClientOptions,
    FetchResult,
    PriceClient,
    ProgressCallback,
    check_provider_name,
    make_client,
    no_progress,
)
from pricing.schema import EXCLUDING_FLAGS

if TYPE_CHECKING:
    import pandas as pd

    from pricing.store import PriceStore

#: The key that makes an offer unique inside one provider's snapshot.
OFFER_KEY = ["region", "zone", "instance_type", "pricing_model", "note_variant"]


@dataclass(frozen=True, slots=True)
class PullSummary:
    """What one provider's pull did: stored counts, or the error that left the previous snapshot in use."""

    provider: str
    ok: bool
    duration_s: float
    endpoint: str = ""
    snapshot_id: int | None = None
    fetched_at: str = ""
    offers: int = 0
    regions: int = 0
    pricing_models: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    pages: int = 0
    items: int = 0
    error: str | None = None


_PAYMENT: Final = re.compile(r"payment=(\w+)")
_WORD: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _payment(note: Any) -> str:
    """The ``\\w+`` after a leading ``payment=``, else "": what ``^payment=(\\w+)`` captures, with a fast path
    for the ASCII option names tco writes (``payment=no_upfront; ...``)."""
    if type(note) is not str or not note.startswith("payment="):
        return ""
    end = note.find(";", 8)
    if end > 8:
        option = note[8:end]
        if _WORD.issuperset(option):
            return option
    found = _PAYMENT.match(note)
    return found.group(1) if found else ""


def variant(notes: pd.Series) -> pd.Series:
    """The payment option of AWS reserved rows (``payment=...`` leading ``note``), else ""."""
    import pandas as pd

    return pd.Series(
        [_payment(note) for note in notes.to_numpy(dtype=object)], index=notes.index, dtype=object
    )


def validate_offers(offers: pd.DataFrame, *, unique: bool = False) -> tuple[pd.DataFrame, int]:
    """Flag impossible prices (zero, sentinel, outlier) and drop duplicate offers; returns (rows, duplicates).

    Flagged rows stay (listings leave them out by default, ``--include-flagged`` shows them); a duplicate
    of an offer already seen (same region, zone, instance type, pricing model and payment option) is
    removed and counted. ``unique``: the client already removed and counted duplicates
    (``FetchResult.unique``), so the key is not built again.
    """
    import pandas as pd

    from pricing.rendered import with_rendered_text
    from pricing.validate import column_codes, flag_prices, group_ids

    duplicates = 0
    if unique:
        kept = offers.reset_index(drop=True)
    else:
        keys = {column: offers[column].to_numpy(dtype=object) for column in OFFER_KEY[:-1]}
        keys["note_variant"] = variant(with_rendered_text(offers)["note"]).to_numpy(dtype=object)
        ids = group_ids([column_codes(keys[column]) for column in OFFER_KEY], len(offers))
        repeated = pd.Series(ids).duplicated(keep="first").to_numpy()
        duplicates = int(repeated.sum())
        kept = offers[~repeated].reset_index(drop=True) if duplicates else offers.reset_index(drop=True)
    flagged = flag_prices(kept)
    flagged["price_usd_per_accelerator_hour"] = flagged["price_usd_per_hour"] / flagged["accelerator_count"]
    return flagged, duplicates


def excluded_count(offers: pd.DataFrame) -> int:
    """Rows that listings leave out by default (an excluding flag)."""
    pattern = "|".join(sorted(EXCLUDING_FLAGS))
    flags = offers["flags"].fillna("").astype(str)
    return int(flags.str.contains(rf"(?:^|;)(?:{pattern})(?:;|$)", regex=True).sum())


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.value_counts().sort_index().items()}


def pull_provider(
    store: PriceStore,
    provider: str,
    *,
    regions: Sequence[str] = (),
    options: ClientOptions | None = None,
    progress: ProgressCallback = no_progress,
    client: PriceClient | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> PullSummary:
    """Fetch, validate and store one provider's prices; a failure is returned in the summary, not raised.

    Only :class:`PricingError` is caught: a bug (or Ctrl-C) propagates, and nothing is written either way.
    """
    from pricing.validate import flag_counts

    start = clock()
    name = check_provider_name(provider)
    try:
        chosen = client or make_client(name, options)
        result: FetchResult = chosen.fetch(tuple(regions), progress)
        if result.offers.empty:
            asked = f" in {', '.join(regions)}" if regions else ""
            raise PricingError(
                f"{name} returned no accelerated offers{asked} ({result.pages} pages, {result.items} items)",
                hint="check --region and the endpoint",
            )
        offers, duplicates = validate_offers(result.offers, unique=result.unique)
        skipped = dict(result.skipped)
        if duplicates:
            skipped["duplicate offer"] = skipped.get("duplicate offer", 0) + duplicates
        flags = flag_counts(offers)
        models = _counts(offers["pricing_model"])
        dropped = excluded_count(offers)
        duration = clock() - start
        meta: dict[str, Any] = {
            "endpoint": result.endpoint,
            "regions_requested": list(regions),
            "pages": result.pages,
            "items": result.items,
            "skipped": skipped,
            "warnings": result.warnings,
            "flags": flags,
            "pricing_models": models,
            "dropped": dropped,
            "duration_s": round(duration, 3),
        }
        snapshot = store.write_snapshot(name, result.source, result.fetched_at, offers, meta)
    except PricingError as exc:
        return PullSummary(name, False, clock() - start, error=str(exc))
    return PullSummary(
        provider=name,
        ok=True,
        duration_s=clock() - start,
        endpoint=result.endpoint,
        snapshot_id=snapshot.id,
        fetched_at=result.fetched_at,
        offers=snapshot.offer_count,
        regions=snapshot.region_count,
        pricing_models=models,
        flags=flags,
        dropped=dropped,
        skipped=skipped,
        warnings=tuple(result.warnings),
        pages=result.pages,
        items=result.items,
    )


class PullInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`pull_prices`: what was stored before it, and the provider it stopped, for which
    nothing was written (its snapshot is one transaction: whole, or not at all). ``str()`` says so in one
    line. A KeyboardInterrupt, so that whatever handles Ctrl-C (exit 130) still does."""

    def __init__(self, provider: str, done: Sequence[PullSummary]) -> None:
        self.provider = provider
        self.done = tuple(done)
        stored = [f"{s.provider} (snapshot #{s.snapshot_id})" for s in self.done if s.ok]
        kept = f"; stored before it: {', '.join(stored)}" if stored else ""
        self.message = (
            f"pull interrupted: nothing written for {provider}, its previous prices stay in use{kept}"
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def pull_prices(
    store: PriceStore,
    providers: Iterable[str],
    *,
    regions: Sequence[str] = (),
    options: ClientOptions | None = None,
    progress: ProgressCallback = no_progress,
    clients: Mapping[str, PriceClient] | None = None,
) -> list[PullSummary]:
    """Pull each provider in turn (each one its own snapshot, or its own error).

    Ctrl-C (KeyboardInterrupt) at any moment raises :class:`PullInterrupted`: the providers pulled before it
    keep their new snapshots, the one in progress writes nothing.
    """
    names = list(dict.fromkeys(check_provider_name(p) for p in providers))
    done: list[PullSummary] = []
    for name in names:
        try:
            done.append(
                pull_provider(
                    store,
                    name,
                    regions=regions,
                    options=options,
                    progress=progress,
                    client=(clients or {}).get(name),
                )
            )
        except KeyboardInterrupt as exc:
            raise PullInterrupted(name, done) from exc
    return done


def failure_message(summaries: Sequence[PullSummary]) -> str | None:
    """One line naming every provider whose pull failed (None when all succeeded)."""
    failed = [s for s in summaries if not s.ok]
    if not failed:
        return None
    reasons = "; ".join(f"{s.provider}: {s.error}" for s in failed)
    kept = "previous prices kept" if len(failed) > 1 else "its previous prices are kept"
    return (
        f"{len(failed)} of {len(summaries)} price pulls failed, nothing written for them ({kept}): {reasons}"
    )


__all__ = [
    "PullInterrupted",
    "PullSummary",
    "excluded_count",
    "failure_message",
    "pull_prices",
    "pull_provider",
    "validate_offers",
    "variant",
]
