"""`tco prices ...`: look up what accelerators cost, offline from the embedded snapshot or from pulls."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from pricing.providers.base import PROVIDER_CLIENTS
from pricing.schema import PRICING_MODELS, PROVIDERS
from tco.cli import options
from tco.cli.lazy import group
from tco.cli.state import FORMAT_OPTION, OUTPUT_OPTION, Format, Target, output_target, sources, state

app = group(
    "prices",
    "Cloud accelerator prices: list, compare, refresh.",
    {
        "list": "tco.cli.prices:list_app",
        "accelerators": "tco.cli.prices:accelerators_app",
        "pull": "tco.cli.prices:pull_app",
        "snapshots": "tco.cli.prices:snapshots_app",
        "diff": "tco.cli.prices:diff_app",
        "import": "tco.cli.prices:import_app",
        "books": "tco.cli.prices:books_app",
    },
)
list_app = typer.Typer(add_completion=False)
accelerators_app = typer.Typer(add_completion=False)
pull_app = typer.Typer(add_completion=False)
snapshots_app = typer.Typer(add_completion=False)
diff_app = typer.Typer(add_completion=False)
import_app = typer.Typer(add_completion=False)
books_app = typer.Typer(add_completion=False)

PricingModel = StrEnum("PricingModel", {m: m for m in PRICING_MODELS})  # type: ignore[misc]

PROVIDER = typer.Option(
    None, "--provider", "-p", help=f"{', '.join(PROVIDERS)} (repeat or comma-separate; default all).",
    callback=options.providers,
)  # fmt: skip
REGION = typer.Option(None, "--region", "-r", help="Region code, e.g. us-east-1.")
ACCELERATOR = typer.Option(
    None, "--accelerator", "-a", help="Canonical name or alias: h100, a100-80, tpu-v5e, l4 ...",
    callback=options.accelerators,
)  # fmt: skip
MIN_COUNT = typer.Option(0, "--min-count", min=0, help="At least this many accelerators per instance.")
MODEL = typer.Option(None, "--pricing-model", "-m", help="Only these pricing models.", case_sensitive=False)
CHEAPEST = typer.Option(False, "--cheapest", help="Only the cheapest region per (provider, instance type).")
FLAGGED = typer.Option(
    False, "--include-flagged", help="Also show rows flagged as sentinel, zero or outlier prices."
)
LIMIT = typer.Option(0, "--limit", "-n", min=0, help="Show at most N rows (0: all).")
NO_RESELLERS = typer.Option(
    False,
    "--exclude-resellers",
    help="Leave out marketplaces reselling other clouds (Shadeform, Prime Intellect).",
)
SELLER_KIND = typer.Option(
    None,
    "--seller",
    help="Only sellers of these kinds: hyperscaler, gpu-cloud, marketplace.",
    show_default=False,
    callback=options.seller_kinds,
)
MAX_AGE = typer.Option(
    None,
    "--max-age-days",
    min=0,
    help="Warn when prices are older than this (default: env TCO_PRICE_MAX_AGE_DAYS, else 30).",
    show_default=False,
)
PULL_PROVIDER = typer.Option(
    None,
    "--provider",
    "-p",
    help=f"{', '.join(PROVIDER_CLIENTS)} or all (those with a public price API; default all).",
    callback=options.pull_providers,
)
PULL_REGION = typer.Option(None, "--region", "-r", help="Only these regions (default: all).")
ENDPOINT = typer.Option(
    None,
    "--endpoint",
    help="Price API endpoint URL for a single --provider (a mirror, proxy or test server). "
    "Env: TCO_AWS_PRICING_ENDPOINT, TCO_GCP_BILLING_ENDPOINT, TCO_AZURE_PRICES_ENDPOINT.",
    callback=options.endpoint,
)
SPOT = typer.Option(True, "--spot/--no-spot", help="AWS: also read EC2 spot price history.")
TIMEOUT = typer.Option(
    30.0, "--timeout", min=0.001, max=3600.0, help="Seconds per request before it is retried."
)
ATTEMPTS = typer.Option(
    5, "--max-attempts", min=1, max=100, help="Tries per request (throttling, 5xx, timeouts)."
)
BACKOFF = typer.Option(0.5, "--backoff", min=0.0, max=600.0, help="Base of the exponential backoff, seconds.")
ONLY = typer.Option(None, "--provider", "-p", help="Only these providers.", callback=options.providers)
OLD = typer.Argument(None, help="Older snapshot id (or 'embedded'); default: the one before NEW.")
NEW = typer.Argument(None, help="Newer snapshot id; default: the provider's newest pull.")
DIFF_PROVIDER = typer.Option(
    None, "--provider", "-p", help="Only these providers (no ids).", callback=options.providers
)
DIFF_LIMIT = typer.Option(0, "--limit", "-n", min=0, help="Show at most N changes (0: all).")
DIFF_BOOK = typer.Option(False, "--book", help="The price book in use against list prices (not two pulls).")
BOOK_FILE = typer.Argument(
    ..., help="A price book: .csv, .json or .xlsx (README: Price books; examples/price_book.csv).",
    show_default=False,
)  # fmt: skip
REMOVE = typer.Option(
    None, "--remove", help="Delete a price book by id, or all (the next newest then applies).",
    show_default=False,
)  # fmt: skip


@list_app.command("list")
def list_offers(
    ctx: typer.Context,
    provider: list[str] | None = PROVIDER,
    region: list[str] | None = REGION,
    accelerator: list[str] | None = ACCELERATOR,
    min_count: float = MIN_COUNT,
    pricing_model: list[PricingModel] | None = MODEL,
    cheapest: bool = CHEAPEST,
    include_flagged: bool = FLAGGED,
    limit: int = LIMIT,
    max_age_days: float | None = MAX_AGE,
    exclude_resellers: bool = NO_RESELLERS,
    seller: list[str] | None = SELLER_KIND,
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """List offers, cheapest per accelerator-hour first, hyperscalers, GPU clouds and marketplaces side by
    side (seller kind, resold or not, snapshot and date). CSV/JSON give the long offer rows."""
    from tco.api import OfferQuery
    from tco.api import list_offers as listing
    from tco.cli.render import emit, report_prices
    from tco.cli.views.prices import offers_table

    target = output_target(ctx, fmt, output)
    query = OfferQuery(
        accelerators=tuple(accelerator or ()), providers=tuple(provider or ()), regions=tuple(region or ()),
        pricing_models=tuple(m.value for m in pricing_model or []), include_flagged=include_flagged,
        min_count=min_count, max_age_days=max_age_days, exclude_resellers=exclude_resellers,
        seller_kinds=tuple(seller or ()),
    )  # fmt: skip
    result = listing(query, sources(ctx), cheapest=cheapest, limit=limit)
    if target.fmt is Format.table:
        emit(target, result.pivot, lambda: offers_table(result, query))
    else:
        emit(target, result.offers)
    report_prices(result.provenance, sources=True, always=True)


@accelerators_app.command("accelerators")
def list_accelerators(
    ctx: typer.Context, fmt: Format | None = FORMAT_OPTION, output: Path | None = OUTPUT_OPTION
) -> None:
    """Canonical accelerator names, their aliases, peak figures (with sources) and who sells them."""
    from tco.api.prices import accelerator_table
    from tco.cli.render import emit
    from tco.cli.views.prices import accelerators_table

    target = output_target(ctx, fmt, output)
    frame = accelerator_table(sources(ctx))
    emit(target, frame, lambda: accelerators_table(frame))


@pull_app.command("pull")
def pull(
    ctx: typer.Context,
    provider: list[str] | None = PULL_PROVIDER,
    region: list[str] | None = PULL_REGION,
    endpoint: str | None = ENDPOINT,
    spot: bool = SPOT,
    timeout_s: float = TIMEOUT,
    max_attempts: int = ATTEMPTS,
    backoff_s: float = BACKOFF,
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Pull today's prices from the providers' APIs into a new snapshot per provider.

    A provider whose pull fails (or is interrupted) writes nothing: its previous prices stay in use.
    The summary goes to stderr; with --format csv/json it is also the command's data on stdout.
    """
    from pricing.errors import PricingError
    from pricing.providers.base import ClientOptions, RetryPolicy, check_provider_name, provider_names
    from pricing.pull import failure_message
    from tco.api import inputs as read
    from tco.api.prices import pull as pull_prices
    from tco.api.prices import pull_summary
    from tco.cli.render import emit, warn
    from tco.cli.views.prices import PullProgress, report_pull

    target = output_target(ctx, fmt, output)
    names = read.split(provider) or ("all",)
    chosen = (
        provider_names() if "all" in names else tuple(dict.fromkeys(check_provider_name(n) for n in names))
    )
    if endpoint and len(chosen) != 1:
        raise typer.BadParameter("--endpoint needs exactly one --provider", param_hint="--endpoint")
    retry = RetryPolicy(attempts=max_attempts, base_delay_s=backoff_s)
    options = ClientOptions(endpoint=endpoint, timeout_s=timeout_s, retry=retry, spot=spot)
    try:
        with PullProgress(list(chosen)) as progress:
            summaries = pull_prices(
                tuple(chosen),
                regions=read.split(region),
                options=options,
                progress=progress,
                sources=sources(ctx),
            )
    except KeyboardInterrupt:
        warn(
            "pull interrupted: nothing written for the provider in progress; its previous prices stay in use"
        )
        raise
    report_pull(summaries)
    if target.fmt is not Format.table:
        emit(target, pull_summary(summaries))
    message = failure_message(summaries)
    if message:
        raise PricingError(message, hint="`tco prices snapshots` shows what is in use")


@snapshots_app.command("snapshots")
def snapshots(
    ctx: typer.Context,
    provider: list[str] | None = ONLY,
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Pulled price snapshots, newest first, and which one each provider's prices come from."""
    from tco.api import inputs as read
    from tco.api.prices import snapshot_table
    from tco.cli.render import emit
    from tco.cli.views.prices import snapshots_table

    target = output_target(ctx, fmt, output)
    frame = snapshot_table(read.providers(provider), sources(ctx))
    emit(target, frame, lambda: snapshots_table(frame))


@diff_app.command("diff")
def diff(
    ctx: typer.Context,
    old: str | None = OLD,
    new: str | None = NEW,
    provider: list[str] | None = DIFF_PROVIDER,
    limit: int = DIFF_LIMIT,
    book: bool = DIFF_BOOK,
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """What changed between two snapshots: new and removed offers, price moves, biggest impact first.
    --book: what the price book in use changes against list prices."""
    from tco.api import inputs as read
    from tco.api.prices import price_changes
    from tco.cli.render import emit, note
    from tco.cli.views.prices import changes_table

    target = output_target(ctx, fmt, output)
    if book:
        if old is not None or new is not None:
            raise typer.BadParameter(
                "--book compares the book with list prices: give no ids", param_hint="--book"
            )
        _book_diff(ctx, target, read.providers(provider), limit)
        return
    result = price_changes(old, new, read.providers(provider), sources(ctx))
    shown = result.changes.head(limit) if limit else result.changes
    for line in result.summary():
        note(line)
    emit(target, shown, lambda: changes_table(shown, len(result.changes)))


def _book_diff(ctx: typer.Context, target: Target, providers: tuple[str, ...], limit: int) -> None:
    from tco.api.prices import book_changes
    from tco.cli.render import emit, note
    from tco.cli.views.prices import book_changes_table
    from tco.errors import TcoError

    if not state(ctx).price_book:
        raise TcoError("--no-price-book: no price book applies, so there is nothing to compare")
    changes = book_changes(providers, sources(ctx))
    if changes.empty:
        raise TcoError(
            "no price book covers these offers",
            hint="`tco prices import FILE`; `tco prices books` lists them",
        )
    shown = changes.head(limit) if limit else changes
    note(f"{changes['book_source'].iloc[0]}: {len(changes)} offers repriced against list prices")
    emit(target, shown, lambda: book_changes_table(shown, len(changes)))


@import_app.command("import")
def import_book(
    ctx: typer.Context,
    file: Path = BOOK_FILE,
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Import a team's price book (negotiated prices, discounts, reserved quotes) as a snapshot; every
    command then uses its prices where it covers an offer, with the book named as their source. A file with
    any bad row stores nothing: each problem is one line, file:line: what is wrong; the fix."""
    import sys

    from pricing.pricebook import PriceBookError
    from tco.api.prices import import_book as store_book
    from tco.api.prices import price_books
    from tco.cli.render import emit, note
    from tco.cli.views.prices import books_table
    from tco.export.base import printable

    target = output_target(ctx, fmt, output)
    try:
        result = store_book(file, sources(ctx))
    except PriceBookError as exc:
        sys.stderr.write("".join(f"{printable(line)}\n" for line in exc.errors))
        raise
    kinds = ", ".join(f"{k} {v}" for k, v in result.rules_by_kind.items() if v)
    note(
        f"stored price book #{result.snapshot.id}: {result.source} "
        f"({len(result.book.rules)} rules: {kinds}); it reprices {result.offers_covered} list offers and "
        f"adds {result.new_offers} of its own"
    )
    if not state(ctx).price_book:
        note("--no-price-book: this command ignores it; others apply it")
    books = price_books(sources(ctx))
    row = books[books["book"].eq(result.snapshot.id)]
    emit(target, row, lambda: books_table(row))


@books_app.command("books")
def books(
    ctx: typer.Context,
    remove: str | None = REMOVE,
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Imported price books, newest first (the newest applies); --remove ID|all deletes them."""
    from tco.api.prices import price_books, remove_books
    from tco.cli.render import emit, note
    from tco.cli.views.prices import books_table

    target = output_target(ctx, fmt, output)
    if remove is not None:
        removed = remove_books(remove, sources(ctx))
        note("removed price book " + ", ".join(f"#{b}" for b in removed) if removed else "no book removed")
    frame = price_books(sources(ctx))
    if remove is None and frame.empty:
        note("no price book imported (`tco prices import FILE`); every price is a list price")
    emit(target, frame, lambda: books_table(frame))
