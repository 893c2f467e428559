"""`tco compare ...`: procurement (cloud vs commitments vs owned) and framework comparisons (issue #6)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tco.cli.state import FORMAT_OPTION, OUTPUT_OPTION, Format, check_writable, output_target, state
from tco.errors import TcoError

if TYPE_CHECKING:
    from tco.procurement import Comparison

app = typer.Typer(
    help="Procurement (cloud vs commitments vs owned) and framework comparisons.", no_args_is_help=True
)


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(part.strip() for value in values or [] for part in value.split(",") if part.strip())


@app.command("procurement")
def procurement(
    ctx: typer.Context,
    acc_hours: float | None = typer.Option(
        None, "--acc-hours", help="Sustained demand: accelerator-hours per month.", show_default=False
    ),
    scenario: Path | None = typer.Option(
        None,
        "--scenario",
        help="Demand from a scenario file: the accelerator-hours per month its cheapest plan puts on "
        "--accelerator (mean over the horizon).",
        show_default=False,
    ),
    accelerator: str = typer.Option("H100-80GB", "--accelerator", "-a", help="Canonical accelerator name."),
    provider: list[str] | None = typer.Option(None, "--provider", "-p", help="aws, gcp, azure (repeatable)."),
    region: list[str] | None = typer.Option(None, "--region", "-r", help="Only these regions (repeatable)."),
    servers: int | None = typer.Option(
        None, "--servers", min=1, help="Servers to buy (default: sized to demand)."
    ),
    sets: list[str] | None = typer.Option(
        None,
        "--set",
        help="Override an ownership assumption, NAME=VALUE (e.g. pue=1.4, electricity_usd_per_kwh=0.08, "
        "capex_usd_per_accelerator=40000, accelerators_per_server=8, utilisation=0.8).",
    ),
    discounts: list[str] | None = typer.Option(
        None,
        "--assume-discount",
        help="Add labelled commitment rows as on-demand x (1-FRACTION), e.g. committed_1y=0.3.",
    ),
    top: int = typer.Option(15, "--top", min=1, help="Rows of the ranking shown in the table."),
    plot: Path | None = typer.Option(
        None, "--plot", help="Draw cost vs fleet size and break-even to FILE.png."
    ),
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Rank cloud on-demand, spot, 1y/3y commitments per provider and region, and buying servers."""
    from pricing.catalog import load_catalog
    from tco.cli.prices import price_store
    from tco.cli.render import emit, emit_bytes, note, warn
    from tco.presets import owned_server
    from tco.procurement import cloud_offers, compare_procurement, parse_overrides

    target = output_target(ctx, fmt, output)
    if plot is not None:
        check_writable(plot)
    assumed: dict[str, float] = {}
    for pair in _split(discounts):
        model, sep, value = pair.partition("=")
        try:
            assumed[model.strip()] = float(value) if sep else float("nan")
        except ValueError as exc:
            raise TcoError(f"--assume-discount {pair!r}: expected MODEL=FRACTION") from exc
    if (acc_hours is None) == (scenario is None):
        raise TcoError("give the demand: --acc-hours N or --scenario FILE (one of them)")
    if acc_hours is not None and not acc_hours > 0:
        raise TcoError(f"--acc-hours must be > 0, got {acc_hours:g}")
    server = owned_server(accelerator, parse_overrides(list(sets or [])))
    if scenario is not None:
        from tco.cli.plan import compute
        from tco.procurement import demand_from_plan

        plan_result = compute(ctx, scenario, 1)
        acc_hours = demand_from_plan(plan_result, accelerator)
        note(
            f"demand from {scenario.name}: {acc_hours:,.0f} {accelerator} acc-h/month (mean over the horizon)"
        )
    providers = _split(provider)
    catalog = load_catalog(price_store(ctx), providers or ("aws", "gcp", "azure"))
    labels = {p: info.label for p, info in catalog.snapshots.items()}
    from pricing.catalog import OfferFilter, filter_offers

    spec = OfferFilter(providers=providers, regions=_split(region), accelerators=(accelerator,))
    cloud, notes = cloud_offers(
        filter_offers(catalog.offers, spec), accelerator, assumed_discounts=assumed, price_labels=labels
    )
    if acc_hours is None:  # unreachable: one of the two was checked above
        raise TcoError("no demand")
    result = compare_procurement(cloud, acc_hours, server, servers=servers, notes=notes)
    for line in result.notes:
        warn(line)
    if target.fmt is Format.xlsx:
        from tco.export.xlsx import procurement_workbook

        emit_bytes(target, procurement_workbook(result), "the procurement workbook")
    else:
        emit(target, result.ranking, lambda: _procurement_tables(result, top))
    if plot is not None:
        from tco.plot import procurement_figure
        from tco.procurement import cumulative_curve, scale_curve

        procurement_figure(
            scale_curve(result),
            cumulative_curve(result),
            plot,
            title=f"{accelerator}: {acc_hours:,.0f} acc-h/month at "
            f"{result.fleet_utilisation:.0%} utilisation",
            accelerator=accelerator,
        )
        note(f"wrote {plot}")
    note(result.recommendation)


def _procurement_tables(result: Comparison, top: int) -> Any:
    from rich.console import Group
    from rich.markup import escape

    from tco.cli.render import NA, number, table

    r = result.ranking
    shown = r[(r["rank"] <= top) | (r["kind"] == "owned")]
    ranking = table(
        f"Procurement ranking for {result.demand_acc_hours_per_month:,.0f} {result.accelerator} "
        f"acc-h/month (by 3-year cost)",
        [
            ("#", "right"),
            ("Option", "left"),
            ("Instance", "left"),
            ("List $/acc-h", "right"),
            ("Effective $/acc-h", "right"),
            ("1 year $", "right"),
            ("3 years $", "right"),
            ("5 years $", "right"),
            ("Break-even util.", "right"),
            ("Break-even month", "right"),
        ],
        (
            [
                str(x["rank"]),
                str(x["option"]),
                str(x["instance_type"]),
                number(x["price_usd_per_accelerator_hour"], 3),
                number(x["effective_usd_per_accelerator_hour"], 3),
                number(x["cost_1y_usd"], 0),
                number(x["cost_3y_usd"], 0),
                number(x["cost_5y_usd"], 0),
                NA
                if x["breakeven_utilisation"] != x["breakeven_utilisation"]
                else f"{x['breakeven_utilisation']:.0%}",
                "never" if x["breakeven_month"] == float("inf") else number(x["breakeven_month"], 1),
            ]
            for x in shown.to_dict("records")
        ),
        caption=escape(f"{len(r)} options; prices: " + "; ".join(sorted(set(shown["source"]))[:3])),
    )
    best_cloud = r[r["kind"] != "owned"].iloc[0]["option"]
    owned_option = r[r["kind"] == "owned"].iloc[0]["option"]
    cash = result.cashflow[result.cashflow["option"].isin([best_cloud, owned_option])]
    wide = cash.pivot_table(index="option", columns="year", values="cash_usd", aggfunc="sum")
    cash_table = table(
        "Cash flow per year (USD)",
        [("Option", "left"), *[(f"Year {y}", "right") for y in wide.columns]],
        ([str(o), *[number(v, 0) for v in wide.loc[o]]] for o in wide.index),
    )
    tornado = table(
        "Sensitivity: 3-year cost gap owned − best cloud as one input moves (most influential first)",
        [
            ("Input", "left"),
            ("Low", "right"),
            ("High", "right"),
            ("Gap at low $", "right"),
            ("Gap at high $", "right"),
            ("Swing $", "right"),
            ("Winner low/high", "left"),
        ],
        (
            [
                str(t["input"]),
                f"{t['low']:g}",
                f"{t['high']:g}",
                number(t["gap_low_usd"], 0),
                number(t["gap_high_usd"], 0),
                number(t["swing_usd"], 0),
                f"{t['winner_low']}/{t['winner_high']}",
            ]
            for t in result.tornado.to_dict("records")
        ),
    )
    assumptions = table(
        "Ownership assumptions (override with --set NAME=VALUE)",
        [("Name", "left"), ("Value", "right"), ("Unit", "left"), ("Source", "left")],
        (
            [str(a["name"]), f"{a['value']:g}", str(a["unit"]), escape(str(a["source"]))]
            for a in result.assumptions.to_dict("records")
        ),
    )
    return Group(ranking, cash_table, tornado, assumptions)


@app.command("frameworks")
def frameworks(
    ctx: typer.Context,
    accelerator: str = typer.Option(
        ..., "--accelerator", "-a", help="Canonical accelerator name (e.g. H100-80GB)."
    ),
    kernel: str = typer.Option("train_transformer", "--kernel", help="Calibration kernel (the workload)."),
    work: float = typer.Option(
        ...,
        "--work",
        help="Work per run, in the throughput's unit x seconds (e.g. tokens or samples).",
        show_default=False,
    ),
    runs_per_month: float = typer.Option(1.0, "--runs-per-month", min=0.0),
    provider: list[str] | None = typer.Option(None, "--provider", "-p", help="Price from these providers."),
    pricing_model: str = typer.Option("on_demand", "--pricing-model", help="on_demand, spot, ..."),
    plot: Path | None = typer.Option(None, "--plot", help="Draw throughput and cost to FILE.png."),
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Measured PyTorch, JAX and TensorFlow side by side on one target, with the cost each implies."""

    from pricing.catalog import load_catalog
    from tco.calibrations import load_calibrations
    from tco.cli.prices import price_store
    from tco.cli.render import emit, emit_bytes, note
    from tco.frameworks import compare_frameworks

    target = output_target(ctx, fmt, output)
    if work <= 0:
        raise TcoError(f"--work must be > 0, got {work:g}")
    results = load_calibrations(state(ctx).home_dir)
    if results.empty:
        note("no calibration results found (run `tco calibrate ...` first); every framework shows n/a")
    providers = _split(provider)
    catalog = load_catalog(price_store(ctx), providers or ("aws", "gcp", "azure"))
    o = catalog.offers
    o = o[(o["accelerator"] == accelerator) & (o["pricing_model"] == pricing_model)]
    o = o[o["price_usd_per_accelerator_hour"].notna()].sort_values("price_usd_per_accelerator_hour")
    if o.empty:
        raise TcoError(f"no {pricing_model} price for {accelerator}", hint="see `tco prices accelerators`")
    cheapest = o.iloc[0]
    price = float(cheapest["price_usd_per_accelerator_hour"])
    frame = compare_frameworks(
        results,
        accelerator=accelerator,
        kernel=kernel,
        work_per_run=work,
        runs_per_month=runs_per_month,
        price_usd_per_accelerator_hour=price,
    )
    if target.fmt is Format.xlsx and target.path is not None:
        from tco.export.xlsx import render

        emit_bytes(target, render(frame), "the framework comparison")
    else:
        emit(target, frame, lambda: _frameworks_table(frame, accelerator, kernel))
    if plot is not None:
        from tco.plot import frameworks_figure

        frameworks_figure(frame, plot, title=f"{kernel} on {accelerator}")
        note(f"wrote {plot}")
    note(
        f"price: {cheapest['provider']} {cheapest['region']} {cheapest['instance_type']} {pricing_model} "
        f"${price:.3f}/acc-h [{cheapest['source']}, {cheapest['fetched_at']}]"
    )


def _frameworks_table(frame: Any, accelerator: str, kernel: str) -> Any:
    from tco.cli.render import NA, number, table

    return table(
        f"Frameworks on {accelerator}, {kernel} (measured calibration)",
        [
            ("Framework", "left"),
            ("Version", "left"),
            ("Device", "left"),
            ("Throughput", "right"),
            ("Unit", "left"),
            ("Build s", "right"),
            ("Memory GiB", "right"),
            ("$ per run", "right"),
            ("$ per month", "right"),
            ("Status", "left"),
        ],
        (
            [
                str(r["framework"]),
                str(r["framework_version"]) if r["framework_version"] == r["framework_version"] else NA,
                str(r["device_name"]) if r["device_name"] == r["device_name"] else NA,
                number(r["throughput"], 1),
                str(r["throughput_unit"]) if r["throughput_unit"] == r["throughput_unit"] else NA,
                number(r["compile_s"], 1),
                number(r["peak_memory_gib"], 1),
                number(r["cost_per_run_usd"]),
                number(r["cost_per_month_usd"]),
                str(r["status"]),
            ]
            for r in frame.to_dict("records")
        ),
    )
