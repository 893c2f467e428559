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
    from pricing.providers.base import ProgressEvent
    from pricing.pull import PullSummary
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


# --- live pulls ----------------------------------------------------------------------------------------


class PullProgress:
    """Adapts the library's progress events to a Rich progress display on stderr (pages, items per provider).

    On a terminal it is a live bar; elsewhere only retries and warnings are printed, as notes.
    """

    def __init__(self, providers: list[str]) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from tco.cli.render import stderr

        self.console = stderr()
        self.live = self.console.is_terminal
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.fields[pages]} pages"),
            TextColumn("{task.fields[items]:,} items"),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.live,
        )
        self.tasks = {p: self.bar.add_task(f"{p}: waiting", total=None, pages=0, items=0) for p in providers}

    def __enter__(self) -> PullProgress:
        self.bar.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.bar.stop()

    def __call__(self, event: ProgressEvent) -> None:
        from rich.markup import escape

        task = self.tasks.get(event.provider)
        if event.kind in ("retry", "warning"):
            style = "yellow" if event.kind == "warning" else "dim"
            self.console.print(f"[{style}]{event.provider}: {escape(event.message)}[/{style}]")
        if task is None:
            return
        fields: dict[str, object] = {"pages": event.pages, "items": event.items}
        if event.kind in ("start", "stage"):
            fields["description"] = f"{event.provider}: {event.message}"
        self.bar.update(task, **fields)  # type: ignore[arg-type]


def _summary_frame(summaries: list[PullSummary]) -> pd.DataFrame:
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


def _report_pull(summaries: list[PullSummary]) -> None:
    """The pull summary on stderr: one table for the stored snapshots, skip reasons and warnings as notes."""
    from tco.cli.render import note, stderr, table, warn

    stored = [s for s in summaries if s.ok]
    if stored:
        rows = [
            [
                s.provider,
                f"#{s.snapshot_id}",
                f"{s.offers:,}",
                str(s.regions),
                "\n".join(f"{k} {v}" for k, v in s.pricing_models.items()),
                "\n".join(f"{k} {v}" for k, v in s.flags.items()) or "-",
                str(s.dropped),
                f"{sum(s.skipped.values()):,}",
                f"{s.pages} / {s.items:,}",
                f"{s.duration_s:.1f} s",
            ]
            for s in stored
        ]
        stderr().print(
            table(
                "Price pull",
                [
                    ("Provider", "left"),
                    ("Snapshot", "left"),
                    ("Offers", "right"),
                    ("Regions", "right"),
                    ("Pricing models", "left"),
                    ("Flags", "left"),
                    ("Left out", "right"),
                    ("Skipped", "right"),
                    ("Pages / items", "right"),
                    ("Took", "right"),
                ],
                rows,
                caption="Left out: flagged zero/sentinel/outlier; listed only with --include-flagged",
            )
        )
    for s in stored:
        if s.skipped:
            reasons = ", ".join(
                f"{k} {v}" for k, v in sorted(s.skipped.items(), key=lambda kv: (-kv[1], kv[0]))
            )
            note(f"{s.provider} skipped (not offers tco models): {reasons}")
        note(
            f"{s.provider} prices from {s.endpoint}, fetched {s.fetched_at}, stored as pull #{s.snapshot_id}"
        )
        for message in s.warnings:
            warn(f"{s.provider}: {message}")


@app.command("pull")
def pull(
    ctx: typer.Context,
    provider: list[str] | None = typer.Option(
        None, "--provider", "-p", help="aws, gcp, azure or all (repeat or comma-separate; default all)."
    ),
    region: list[str] | None = typer.Option(
        None, "--region", "-r", help="Only these regions (default: all)."
    ),
    endpoint: str | None = typer.Option(
        None,
        "--endpoint",
        help="Price API endpoint URL for a single --provider (a mirror, proxy or test server). "
        "Env: TCO_AWS_PRICING_ENDPOINT, TCO_GCP_BILLING_ENDPOINT, TCO_AZURE_PRICES_ENDPOINT.",
    ),
    spot: bool = typer.Option(True, "--spot/--no-spot", help="AWS: also read EC2 spot price history."),
    timeout_s: float = typer.Option(
        30.0, "--timeout", min=0.001, help="Seconds per request before it is retried."
    ),
    max_attempts: int = typer.Option(
        5, "--max-attempts", min=1, help="Tries per request (throttling, 5xx, timeouts)."
    ),
    backoff_s: float = typer.Option(
        0.5, "--backoff", min=0.0, help="Base of the exponential backoff, seconds."
    ),
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Pull today's prices from the providers' APIs into a new snapshot per provider.

    A provider whose pull fails (or is interrupted) writes nothing: its previous prices stay in use.
    The summary goes to stderr; with --format csv/json it is also the command's data on stdout.
    """
    from pricing.errors import PricingError
    from pricing.providers.base import ClientOptions, RetryPolicy, check_provider_name, provider_names
    from pricing.pull import failure_message, pull_prices
    from tco.cli.render import emit, warn

    target = output_target(ctx, fmt, output)
    names = _split(provider) or ["all"]
    chosen = (
        list(provider_names())
        if "all" in names
        else list(dict.fromkeys(check_provider_name(n) for n in names))
    )
    if endpoint and len(chosen) != 1:
        raise typer.BadParameter("--endpoint needs exactly one --provider", param_hint="--endpoint")
    if target.fmt is Format.xlsx and target.path is None:
        raise typer.BadParameter(
            "--format xlsx writes a workbook: add --output FILE.xlsx", param_hint="--format"
        )
    options = ClientOptions(
        endpoint=endpoint,
        timeout_s=timeout_s,
        retry=RetryPolicy(attempts=max_attempts, base_delay_s=backoff_s),
        spot=spot,
    )
    try:
        with PullProgress(chosen) as progress:
            summaries = pull_prices(
                price_store(ctx), chosen, regions=_split(region), options=options, progress=progress
            )
    except KeyboardInterrupt:
        warn(
            "pull interrupted: nothing written for the provider in progress; its previous prices stay in use"
        )
        raise
    _report_pull(summaries)
    if target.fmt is not Format.table:
        emit(target, _summary_frame(summaries))
    message = failure_message(summaries)
    if message:
        raise PricingError(message, hint="`tco prices snapshots` shows what is in use")


@app.command("snapshots")
def snapshots(
    ctx: typer.Context,
    provider: list[str] | None = typer.Option(None, "--provider", "-p", help="Only these providers."),
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Pulled price snapshots, newest first, and which one each provider's prices come from."""
    import pandas as pd

    from pricing.catalog import check_provider, embedded_meta
    from tco.cli.render import emit, number, table

    target = output_target(ctx, fmt, output)
    providers = tuple(dict.fromkeys(check_provider(p) for p in _split(provider))) or ("aws", "gcp", "azure")
    store = price_store(ctx)
    latest = store.latest()
    records = [
        {
            "snapshot": str(s.id),
            "provider": s.provider,
            "in_use": latest[s.provider].id == s.id,
            "fetched_at": s.fetched_at,
            "source": s.source,
            "offers": s.offer_count,
            "regions": s.region_count,
            "flagged": ", ".join(f"{k} {v}" for k, v in s.meta.get("flags", {}).items()),
            "left_out_of_listings": s.meta.get("dropped"),
            "endpoint": s.meta.get("endpoint"),
        }
        for s in store.snapshots()
        if s.provider in providers
    ]
    for name, info in embedded_meta()["providers"].items():
        if name in providers:
            records.append(
                {
                    "snapshot": "embedded",
                    "provider": name,
                    "in_use": name not in latest,
                    "fetched_at": info["as_of"],
                    "source": info["source"],
                    "offers": info["offers"],
                    "regions": info["regions"],
                    "flagged": ", ".join(f"{k} {v}" for k, v in info["flags"].items()),
                    "left_out_of_listings": None,
                    "endpoint": None,
                }
            )
    frame = pd.DataFrame.from_records(
        records,
        columns=[
            "snapshot",
            "provider",
            "in_use",
            "fetched_at",
            "source",
            "offers",
            "regions",
            "flagged",
            "left_out_of_listings",
            "endpoint",
        ],
    )

    def build() -> Table:
        rows = [
            [
                str(r["snapshot"]),
                str(r["provider"]),
                "yes" if r["in_use"] else "",
                str(r["fetched_at"]),
                f"{r['offers']:,}",
                str(r["regions"]),
                str(r["flagged"] or "-"),
                number(r["left_out_of_listings"], 0),
                str(r["source"]),
            ]
            for r in records
        ]
        return table(
            "Price snapshots (newest pull first)",
            [
                ("Snapshot", "left"),
                ("Provider", "left"),
                ("In use", "left"),
                ("Fetched / as of", "left"),
                ("Offers", "right"),
                ("Regions", "right"),
                ("Flags", "left"),
                ("Left out", "right"),
                ("Source", "left"),
            ],
            rows,
            caption="In use: the newest pull per provider, else the embedded snapshot",
        )

    emit(target, frame, build)


@app.command("diff")
def diff(
    ctx: typer.Context,
    old: str | None = typer.Argument(
        None, help="Older snapshot id (or 'embedded'); default: the one before NEW."
    ),
    new: str | None = typer.Argument(None, help="Newer snapshot id; default: the provider's newest pull."),
    provider: list[str] | None = typer.Option(
        None, "--provider", "-p", help="Only these providers (no ids)."
    ),
    limit: int = typer.Option(0, "--limit", "-n", min=0, help="Show at most N changes (0: all)."),
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """What changed between two snapshots: new and removed offers, price moves, biggest impact first."""
    from pricing.catalog import check_provider
    from pricing.diff import diff_snapshots, resolve_pairs
    from tco.cli.render import count, emit, note, number, table

    target = output_target(ctx, fmt, output)
    providers = tuple(dict.fromkeys(check_provider(p) for p in _split(provider)))
    store = price_store(ctx)
    pairs = resolve_pairs(store, old, new, providers)
    changes = diff_snapshots(store, pairs)
    total = len(changes)
    shown = changes.head(limit) if limit else changes
    for before, after in pairs:
        part = changes[changes["new_snapshot"].eq(after.label) & changes["old_snapshot"].eq(before.label)]
        counts = part["change"].value_counts()
        summary = ", ".join(f"{k} {v}" for k, v in counts.items()) or "no changes"
        note(f"{after.provider}: {before.label} -> {after.label}: {summary}")

    def build() -> Table:
        rows = [
            [
                r["change"],
                r["provider"],
                r["instance_type"],
                f"{r['accelerator']} x{count(r['accelerator_count'])}",
                r["region"],
                r["zone"] or "",
                r["pricing_model"] + (f" ({r['variant']})" if r["variant"] else ""),
                number(r["old_price_usd_per_hour"], 4),
                number(r["new_price_usd_per_hour"], 4),
                number(r["delta_usd_per_hour"], 4),
                number(r["delta_pct"], 1),
            ]
            for r in shown.to_dict("records")
        ]
        return table(
            "Price changes, biggest impact first",
            [
                ("Change", "left"),
                ("Provider", "left"),
                ("Instance", "left"),
                ("Accelerator", "left"),
                ("Region", "left"),
                ("Zone", "left"),
                ("Model", "left"),
                ("Old $/h", "right"),
                ("New $/h", "right"),
                ("Δ $/h", "right"),
                ("Δ %", "right"),
            ],
            rows,
            caption=f"{len(shown)} of {total} changes; prices from the snapshots named on stderr",
        )

    emit(target, shown, build)
