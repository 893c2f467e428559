"""Rendering ``tco prices ...``: the offer pivot, accelerators, snapshots, price changes, pull progress."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pricing.schema import PRICING_MODELS

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from pricing.providers.base import ProgressEvent
    from pricing.pull import PullSummary
    from tco.api import OfferListing, OfferQuery


def offers_table(listing: OfferListing, query: OfferQuery) -> Table:
    names = ", ".join(query.accelerators) if query.accelerators else "all accelerators"
    caption = (
        f"{len(listing.pivot)} of {listing.total} instance-regions; spot is the cheapest zone "
        "(Nz: zones priced). Seller: hyperscaler, GPU cloud or marketplace (resold: another cloud's "
        "capacity at the marketplace's price; --exclude-resellers). Source: the snapshot (embedded, pull #N) "
        "or your price book; dates are as of that snapshot (tco prices snapshots)."
    )
    return pivot_table(listing.pivot, f"Offers for {names}", caption)


SELLER_LABELS = {"hyperscaler": "hyperscaler", "gpu_cloud": "GPU cloud", "marketplace": "marketplace"}


def seller_cell(rec: Mapping[Any, Any]) -> str:
    label = SELLER_LABELS.get(str(rec.get("seller_kind")), str(rec.get("seller_kind") or "-"))
    return label + (", resold" if rec.get("reseller") is True else "")


def source_cell(rec: Mapping[Any, Any]) -> str:
    snapshot = str(rec.get("snapshot") or "")
    label = "embedded" if snapshot.startswith("embedded") else snapshot.split(" 20", 1)[0]
    return "price book" if rec.get("price_book") is True else label


def pivot_table(frame: pd.DataFrame, title: str, caption: str) -> Table:
    from tco.cli.render import count, number, table

    models = [c.removesuffix("_usd_per_hour") for c in frame.columns if c.endswith("_usd_per_hour")]
    ordered = [m for m in PRICING_MODELS if m in models]
    sellers = "seller_kind" in frame.columns
    columns: list[tuple[str, str]] = [
        ("Provider", "left"),
        *([("Seller", "left")] if sellers else []),
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
    if sellers:
        columns.append(("Source", "left"))
    rows = []
    for rec in frame.to_dict("records"):
        cells = [
            str(rec["provider"]),
            *([seller_cell(rec)] if sellers else []),
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
        if sellers:
            cells.append(source_cell(rec))
        rows.append(cells)
    return table(title, columns, rows, caption)


def accelerators_table(frame: pd.DataFrame) -> Table:
    from tco.cli.render import number, table

    records = frame.to_dict("records")
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


def snapshots_table(frame: pd.DataFrame) -> Table:
    from tco.cli.render import number, table

    records = frame.to_dict("records")
    rows = [
        [
            str(r["snapshot"]),
            str(r["provider"]),
            "yes" if r["in_use"] else "",
            str(r["fetched_at"]),
            f"{r['offers']:,}",
            number(r["regions"], 0),
            str(r["flagged"] or "-"),
            number(r["left_out_of_listings"], 0),
            str(r["source"]),
            str(r["refresh"] or "-"),
        ]
        for r in records
    ]
    return table(
        "Price snapshots (newest pull first), then price books",
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
            ("Refresh", "left"),
        ],
        rows,
        caption="In use: the newest pull per provider, else the embedded snapshot; the newest price book "
        "reprices the offers it covers (tco --no-price-book: list prices only)",
    )


def books_table(frame: pd.DataFrame) -> Table:
    from tco.cli.render import number, table

    rows = [
        [
            f"#{r['book']}", "yes" if r["in_use"] else "", str(r["file"]), str(r["imported_at"]),
            f"{r['rules']} (price {r['price_rules']}, discount {r['discount_rules']}, "
            f"quote {r['quote_rules']})",
            number(r["offers_covered"], 0), number(r["new_offers"], 0), str(r["providers"]),
        ]
        for r in frame.to_dict("records")
    ]  # fmt: skip
    columns = [
        ("Book", "left"), ("In use", "left"), ("File", "left"), ("Imported", "left"), ("Rules", "left"),
        ("Offers repriced", "right"), ("Offers added", "right"), ("Providers", "left"),
    ]  # fmt: skip
    return table(
        "Price books (newest first)", columns, rows,
        caption="The newest applies to every command where it covers an offer; "
        "`tco prices books --remove ID` deletes one, `tco --no-price-book ...` ignores them for one command",
    )  # fmt: skip


def book_changes_table(shown: pd.DataFrame, total: int) -> Table:
    from tco.cli.render import count, number, table

    rows = [
        [
            str(r["provider"]), str(r["instance_type"]),
            f"{r['accelerator']} x{count(r['accelerator_count'])}",
            str(r["region"]), str(r["pricing_model"]), number(r["list_price_usd_per_hour"], 4),
            number(r["book_price_usd_per_hour"], 4), number(r["delta_usd_per_hour"], 4),
            number(r["delta_pct"], 1), number(r["book_price_usd_per_accelerator_hour"], 3), str(r["rule"]),
        ]
        for r in shown.to_dict("records")
    ]  # fmt: skip
    columns = [
        ("Provider", "left"), ("Instance", "left"), ("Accelerator", "left"), ("Region", "left"),
        ("Model", "left"), ("List $/h", "right"), ("Book $/h", "right"), ("Δ $/h", "right"), ("Δ %", "right"),
        ("Book $/acc-h", "right"), ("Rule", "left"),
    ]  # fmt: skip
    return table(
        "Price book against list prices, biggest change first", columns, rows,
        caption=f"{len(shown)} of {total} offers; n/a list price: an offer or pricing model the list lacks",
    )  # fmt: skip


def changes_table(shown: pd.DataFrame, total: int) -> Table:
    from tco.cli.render import count, number, table

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

        from tco.cli.render import styled
        from tco.export.base import printable

        task = self.tasks.get(event.provider)
        if event.kind in ("retry", "warning"):
            style = "yellow" if event.kind == "warning" else "dim"
            self.console.print(styled(style, f"{event.provider}: {event.message}", ""))
        if task is None:
            return
        fields: dict[str, object] = {"pages": event.pages, "items": event.items}
        if event.kind in ("start", "stage"):  # a progress column's text is markup: escaped
            fields["description"] = escape(printable(f"{event.provider}: {event.message}"))
        self.bar.update(task, **fields)  # type: ignore[arg-type]


def report_pull(summaries: list[PullSummary]) -> None:
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
