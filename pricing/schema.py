"""The offer table: the data contract between pricing/ and its users (docs/ARCHITECTURE.md).

One row per offer, long format, one price per row. Missing prices are null (NaN), never 0.
"""

from __future__ import annotations

from typing import Final

#: Every provider tco prices (pricing.sellers describes each): hyperscalers first, then GPU clouds and
#: marketplaces.
PROVIDERS: Final = (
    "aws",
    "gcp",
    "azure",
    "oci",
    "lambda",
    "nebius",
    "cudo",
    "hyperbolic",
    "fluidstack",
    "paperspace",
    "shadeform",
    "primeintellect",
)

PRICING_MODELS: Final = (
    "on_demand",
    "spot",
    "low_priority",
    "reserved_1y",
    "reserved_3y",
    "committed_1y",
    "committed_3y",
    "savings_plan_1y",
    "savings_plan_3y",
)

#: The contract columns, in output order.
OFFER_COLUMNS: Final = (
    "provider",
    "region",
    "zone",
    "instance_type",
    "accelerator",
    "accelerator_count",
    "accelerator_memory_gib",
    "vcpus",
    "memory_gib",
    "pricing_model",
    "price_usd_per_hour",
    "currency_original",
    "source",
    "source_sku",
    "effective_date",
    "fetched_at",
)

#: Columns the catalog adds beside the contract: a derived price, data-quality flags, a note
#: (how a price was composed or amortised) and the snapshot the row came from.
EXTRA_COLUMNS: Final = ("price_usd_per_accelerator_hour", "flags", "note", "snapshot")

ALL_COLUMNS: Final = OFFER_COLUMNS + EXTRA_COLUMNS

#: What a provider parser emits per offer: the contract columns plus flags and note (the catalog derives
#: the per-accelerator price and stamps the snapshot).
PARSED_OFFER_COLUMNS: Final = (*OFFER_COLUMNS, "flags", "note")

FLOAT_COLUMNS: Final = (
    "accelerator_count",
    "accelerator_memory_gib",
    "vcpus",
    "memory_gib",
    "price_usd_per_hour",
    "price_usd_per_accelerator_hour",
)

#: Flags that take a row out of listings and projections by default (it stays in the table, visible
#: with ``--include-flagged``): a placeholder price, a zero, a price far from the same offer elsewhere, or
#: a number no offer can have (``invalid``: an infinite, negative or absurd price or accelerator count).
EXCLUDING_FLAGS: Final = frozenset({"sentinel", "zero", "outlier", "invalid"})

#: Flags that only inform.
#: ``missing`` marks an offer that exists but has no published price (kept, shown as n/a); ``reseller`` an
#: offer a marketplace resells from another cloud; ``listed_all_regions`` a price from a table that lists
#: every type in every region (not a promise of capacity there); ``variant_assumed`` a GPU sold as SXM and
#: PCIe whose seller did not say which (the SXM part is assumed); ``book`` a price from the team's price book.
INFORMING_FLAGS: Final = frozenset(
    {
        "composed",
        "amortised",
        "accelerator_only",
        "count_corrected",
        "missing",
        "reseller",
        "listed_all_regions",
        "variant_assumed",
        "book",
    }
)

HOURS_PER_YEAR: Final = 8760.0
HOURS_PER_MONTH: Final = 730.0
