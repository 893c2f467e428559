"""`tco prices ...`: look up what accelerators cost, offline from the embedded snapshot or from pulls."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pricing.schema import PRICING_MODELS
from tco.cli.state import FORMAT_OPTION, OUTPUT_OPTION, Format, output_target, state

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from pricing.catalog import Catalog
    from pricing.store import PriceStore

app = typer.Typer(help="Cloud accelerator prices: list, compare, refresh.", no_args_is_help=True)

PricingModel = StrEnum("PricingModel", {m: m for m in PRICING_MODELS})  # type: ignore[misc]

DEFAULT_MAX_AGE_DAYS = 30.0


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def price_store(ctx: typer.Context) -> PriceStore:
    from pricing.store import DB_FILENAME, PriceStore

    return PriceStore(state(ctx).home_dir / DB_FILENAME)


def report_sources(catalog: Catalog, providers: list[str], max_age_days: float) -> None:
    """Say on stderr where each provider's prices come from, and warn when they are old."""
    from tco.cli.render import note, warn

    shown = [catalog.snapshots[p] for p in providers if p in catalog.snapshots]
    note("prices: " + "; ".join(f"{s.provider} {s.label} [{s.source}]" for s in shown))
    stale = [s for s in shown if (age := s.age_days()) is not None and age > max_age_days]
    if stale:
        ages = ", ".join(f"{s.provider} {s.age_days():.0f} days" for s in stale)
        warn(f"prices older than {max_age_days:g} days ({ages}); `tco prices pull` refreshes them")


def _pivot_table(frame: pd.DataFrame, title: str, caption: str) -> Table:
    from tco.cli.render import count, number, table

    models = [c.removesuffix("_usd_per_hour") for c in frame.columns if c.endswith("_usd_per_hour")]
    ordered = [m for m in PRICING_MODELS if m in models]
    columns: list[tuple[str, str]] = [
        ("Provider", "left"),
        ("Instance", "left"),
        ("Accelerator", "left"),
        ("GiB", "right"),
        ("Region", "left"),
    ]
    for model in ordered:
        label = model.replace("_", "-")
        if model in ("on_demand", "spot"):
            columns.append((f"{label} $/h", "right"))
        columns.append((f"{label} $/acc-h", "right"))
    columns.append(("As of", "left"))
    rows = []
    for rec in frame.to_dict("records"):
        cells = [
            str(rec["provider"]),
            str(rec["instance_type"]),
            f"{rec['accelerator']} x{count(rec['accelerator_count'])}",
            number(rec["accelerator_memory_gib"], 0),
            str(rec["region"]),
        ]
        for model in ordered:
            if model in ("on_demand", "spot"):
                hourly = number(rec[f"{model}_usd_per_hour"], 3)
                if model == "spot" and rec.get("spot_zones", 0) > 1 and hourly != "n/a":
                    hourly += f" ({rec['spot_zones']}z)"
                cells.append(hourly)
            cells.append(number(rec[f"{model}_usd_per_accelerator_hour"], 3))
        cells.append(str(rec["price_date"]))
        rows.append(cells)
    return table(title, columns, rows, caption)


@app.command("list")
def list_offers(
    ctx: typer.Context,
    provider: list[str] | None = typer.Option(
        None, "--provider", "-p", help="aws, gcp, azure (repeat or comma-separate)."
    ),
    region: list[str] | None = typer.Option(None, "--region", "-r", help="Region code, e.g. us-east-1."),
    accelerator: list[str] | None = typer.Option(
        None, "--accelerator", "-a", help="Canonical name or alias: h100, a100-80, tpu-v5e, l4 ..."
    ),
    min_count: float = typer.Option(
        0, "--min-count", min=0, help="At least this many accelerators per instance."
    ),
    pricing_model: list[PricingModel] | None = typer.Option(
        None, "--pricing-model", "-m", help="Only these pricing models.", case_sensitive=False
    ),
    cheapest: bool = typer.Option(
        False, "--cheapest", help="Only the cheapest region per (provider, instance type)."
    ),
    include_flagged: bool = typer.Option(
        False, "--include-flagged", help="Also show rows flagged as sentinel, zero or outlier prices."
    ),
    limit: int = typer.Option(0, "--limit", "-n", min=0, help="Show at most N rows (0: all)."),
    max_age_days: float = typer.Option(
        float(os.environ.get("TCO_PRICE_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS)),
        "--max-age-days",
        min=0,
        help="Warn when prices are older than this (env TCO_PRICE_MAX_AGE_DAYS).",
    ),
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """List offers, cheapest per accelerator-hour first. CSV/JSON give the long offer rows."""
    from pricing.accelerators import resolve_many
    from pricing.catalog import (
        OfferFilter,
        cheapest_long,
        cheapest_region,
        check_provider,
        filter_offers,
        load_catalog,
        pivot_offers,
        sort_long,
        sort_pivot,
    )
    from tco.cli.render import emit

    target = output_target(ctx, fmt, output)
    providers = tuple(dict.fromkeys(check_provider(p) for p in _split(provider)))
    accelerators = resolve_many(_split(accelerator)) if accelerator else ()
    models = tuple(m.value for m in pricing_model or [])
    catalog = load_catalog(price_store(ctx), providers or ("aws", "gcp", "azure"))
    spec = OfferFilter(
        providers=providers,
        regions=tuple(_split(region)),
        accelerators=accelerators,
        pricing_models=models,
        min_count=min_count,
        include_flagged=include_flagged,
    )
    rows = filter_offers(catalog.offers, spec)
    sort_model = models[0] if models else None
    if target.fmt is Format.table:
        pivot = pivot_offers(rows)
        pivot = cheapest_region(pivot, sort_model) if cheapest else sort_pivot(pivot, sort_model)
        total = len(pivot)
        if limit:
            pivot = pivot.head(limit)
        names = ", ".join(accelerators) if accelerators else "all accelerators"
        caption = f"{len(pivot)} of {total} instance-regions; spot is the cheapest zone (Nz: zones priced)"

        def build() -> Table:
            return _pivot_table(pivot, f"Offers for {names}", caption)

        emit(target, pivot, build)
    else:
        long_rows = cheapest_long(rows, sort_model) if cheapest else rows
        long_rows = sort_long(long_rows)
        if limit:
            long_rows = long_rows.head(limit)
        emit(target, long_rows)
    report_sources(catalog, list(providers or ("aws", "gcp", "azure")), max_age_days)
    if rows.empty:
        from tco.cli.render import warn

        warn("no offers match these filters")


@app.command("accelerators")
def list_accelerators(
    ctx: typer.Context,
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Canonical accelerator names, their aliases, peak figures (with sources) and who sells them."""
    import pandas as pd

    from calibrate.peaks import load_peaks
    from pricing.accelerators import ACCELERATORS
    from pricing.catalog import load_catalog
    from tco.cli.render import number, table

    target = output_target(ctx, fmt, output)
    offers = load_catalog(price_store(ctx)).offers
    sellers = offers.groupby("accelerator")["provider"].agg(lambda s: ",".join(sorted(set(s))))
    peaks = load_peaks()
    records = []
    for acc in ACCELERATORS:
        peak = peaks.get(acc.name)
        records.append(
            {
                "accelerator": acc.name,
                "kind": acc.kind,
                "vendor": acc.vendor,
                "aliases": ",".join(acc.aliases),
                "memory_gib": acc.memory_gib,
                "bf16_dense_tflops": peak.tflops.get("bf16") if peak else None,
                "fp16_dense_tflops": peak.tflops.get("fp16") if peak else None,
                "tf32_dense_tflops": peak.tflops.get("tf32") if peak else None,
                "fp32_tflops": peak.tflops.get("fp32") if peak else None,
                "fp8_dense_tflops": peak.tflops.get("fp8") if peak else None,
                "memory_bandwidth_tb_s": peak.memory_bandwidth_tb_s if peak else None,
                "tdp_w": peak.tdp_w if peak else None,
                "offered_by": sellers.get(acc.name, ""),
                "peak_source": peak.source if peak else None,
            }
        )
    frame = pd.DataFrame.from_records(records)

    def build() -> Table:
        rows = [
            [
                str(r["accelerator"]),
                str(r["kind"]),
                number(r["memory_gib"], 0),
                number(r["bf16_dense_tflops"], 1),
                number(r["fp16_dense_tflops"], 1),
                number(r["tf32_dense_tflops"], 1),
                number(r["fp32_tflops"], 1),
                number(r["memory_bandwidth_tb_s"], 3),
                str(r["offered_by"] or "-"),
                str(r["aliases"]),
            ]
            for r in records
        ]
        return table(
            "Accelerators (dense peaks; sources: --format json)",
            [
                ("Name", "left"),
                ("Kind", "left"),
                ("GiB", "right"),
                ("bf16 TF/s", "right"),
                ("fp16", "right"),
                ("tf32", "right"),
                ("fp32", "right"),
                ("HBM TB/s", "right"),
                ("Sold by", "left"),
                ("Aliases", "left"),
            ],
            rows,
            caption="n/a: no sourced figure; peaks from calibrate/data/accelerator_peaks.csv",
        )

    from tco.cli.render import emit

    emit(target, frame, build)
