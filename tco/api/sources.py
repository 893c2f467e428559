"""Where the inputs come from, and what a result says about them.

:class:`Sources` is the only I/O of the library layer: the price store and the calibration store under one
home directory (``TCO_HOME``), or a catalog and calibration rows handed over directly (a notebook, a test).
:class:`Provenance` travels with every result: the price snapshots used (source and date), warnings (one
stale-price policy, :func:`price_max_age_days`), notes and the assumptions in force. The library never
prints; commands render these.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pricing.schema import PROVIDERS
from tco.errors import TcoError

if TYPE_CHECKING:
    import pandas as pd

    from pricing.catalog import Catalog
    from pricing.store import PriceStore
    from tco.model.assumptions import Assumption

#: Prices older than this many days get a warning (``TCO_PRICE_MAX_AGE_DAYS`` overrides it).
DEFAULT_MAX_AGE_DAYS: Final = 30.0
MAX_AGE_ENV: Final = "TCO_PRICE_MAX_AGE_DAYS"
#: The price store's file under the home directory (``pricing.store.DB_FILENAME``; a test keeps the two in
#: step). Checking for it first keeps a command without pulled prices from loading sqlite at all.
PRICE_STORE_FILENAME: Final = "prices.sqlite"


def price_max_age_days(value: float | None = None) -> float:
    """The stale-price threshold: ``value`` when given, else ``$TCO_PRICE_MAX_AGE_DAYS``, else 30 days."""
    if value is None:
        text = os.environ.get(MAX_AGE_ENV, "").strip()
        if not text:
            return DEFAULT_MAX_AGE_DAYS
        try:
            value = float(text)
        except ValueError:
            raise TcoError(f"{MAX_AGE_ENV}={text!r} is not a number of days") from None
    if not (value >= 0 and math.isfinite(value)):
        raise TcoError(f"the price age limit must be a finite number >= 0 days, got {value:g}")
    return float(value)


@dataclass(frozen=True, slots=True)
class PriceSnapshot:
    """The price data one provider's numbers come from."""

    provider: str
    #: e.g. ``embedded (as of 2025-06-05 or later)`` or ``pull #3 2026-11-25T10:00:00Z``
    label: str
    source: str
    as_of: str
    age_days: float | None
    #: the price book that reprices some of these offers, e.g. ``price book team.csv imported 2026-12-01``
    #: ("" when none does); covered rows say so in their ``price_source``
    price_book: str = ""


@dataclass(frozen=True, slots=True)
class Provenance:
    """What a result rests on, as data: price snapshots, warnings, notes and the assumptions in force."""

    prices: tuple[PriceSnapshot, ...] = ()
    #: set when the user gave the price (``--price-usd-per-hour``): no catalog was read
    price_override: str | None = None
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    assumptions: tuple[tuple[str, Assumption], ...] = ()

    def with_notes(self, *notes: str) -> Provenance:
        from dataclasses import replace

        return replace(self, notes=(*self.notes, *notes))

    def with_warnings(self, *warnings: str) -> Provenance:
        from dataclasses import replace

        return replace(self, warnings=(*self.warnings, *warnings))


def price_provenance(catalog: Catalog, providers: Iterable[str], *, max_age_days: float) -> Provenance:
    """The snapshots of ``providers`` in ``catalog`` and the one stale-price warning: prices older than
    ``max_age_days`` are named with their age, and ``tco prices pull`` refreshes them."""
    shown = [catalog.snapshots[p] for p in dict.fromkeys(providers) if p in catalog.snapshots]
    snapshots = tuple(
        PriceSnapshot(s.provider, s.label, s.source, s.as_of, s.age_days(), s.price_book) for s in shown
    )
    stale = [s for s in snapshots if s.age_days is not None and s.age_days > max_age_days]
    warnings: tuple[str, ...] = ()
    if stale:
        ages = ", ".join(f"{s.provider} {s.age_days:.0f} days" for s in stale)
        warnings = (f"prices older than {max_age_days:g} days ({ages}); `tco prices pull` refreshes them",)
    return Provenance(prices=snapshots, warnings=warnings)


@dataclass(frozen=True)
class Sources:
    """Where prices and calibrations come from.

    By default the stores under ``home`` (``--home``, else ``$TCO_HOME``, else the platform's user data
    directory): each provider's newest pulled price snapshot, else the embedded one, with the newest imported
    price book applied (``price_book=False``: list prices only, ``tco --no-price-book``), and the calibration
    results. ``catalog`` and ``calibrations`` hand them over directly instead (nothing is read).
    """

    home: Path | None = None
    catalog: Catalog | None = field(default=None, compare=False)
    calibrations: pd.DataFrame | None = field(default=None, compare=False)
    #: apply the newest imported price book (``tco prices import``) to the offers it covers
    price_book: bool = True

    @property
    def home_dir(self) -> Path:
        from tco.home import resolve_home

        return resolve_home(self.home)

    def price_store(self) -> PriceStore:
        from pricing.store import PriceStore

        return PriceStore(self.home_dir / PRICE_STORE_FILENAME)

    def prices(self, providers: tuple[str, ...] = ()) -> Catalog:
        """The price catalog of ``providers`` (every provider when empty)."""
        if self.catalog is not None:
            return self.catalog
        from pricing.catalog import load_catalog

        # no store yet: nothing was pulled, the embedded snapshot is all there is (and sqlite stays unloaded)
        store = self.price_store() if (self.home_dir / PRICE_STORE_FILENAME).is_file() else None
        return load_catalog(store, providers or PROVIDERS, price_book=self.price_book)

    def calibration_results(self) -> pd.DataFrame:
        """Every calibration result (empty when none were measured or imported)."""
        if self.calibrations is not None:
            return self.calibrations
        from tco.calibrations import load_calibrations

        return load_calibrations(self.home_dir)
