"""The offer table: the data contract between pricing/ and its users (docs/ARCHITECTURE.md).

One row per offer, long format, one price per row. Missing prices are null (NaN), never 0.
"""

from __future__ import annotations

from typing import Final

PROVIDERS: Final = ("aws", "gcp", "azure")

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
#: with ``--include-flagged``): a placeholder price, a zero, or a price far from the same offer elsewhere.
EXCLUDING_FLAGS: Final = frozenset({"sentinel", "zero", "outlier"})

#: Flags that only inform.
#: ``missing`` marks an offer that exists but has no published price (kept, shown as n/a).
INFORMING_FLAGS: Final = frozenset(
    {"composed", "amortised", "accelerator_only", "count_corrected", "missing"}
)

HOURS_PER_YEAR: Final = 8760.0
HOURS_PER_MONTH: Final = 730.0
