"""`tco compare ...`: procurement (cloud vs commitments vs owned) and framework comparisons."""

from __future__ import annotations

from pathlib import Path

import typer

from pricing.schema import PROVIDERS
from tco.cli import options
from tco.cli.lazy import group
from tco.cli.state import FORMAT_OPTION, OUTPUT_OPTION, Format, output_target, sources

app = group(
    "compare",
    "Procurement (cloud vs commitments vs owned) and framework comparisons.",
    {
        "procurement": "tco.cli.compare:procurement_app",
        "frameworks": "tco.cli.compare:frameworks_app",
    },
)
procurement_app = typer.Typer(add_completion=False)
frameworks_app = typer.Typer(add_completion=False)

ACC_HOURS = typer.Option(
    None, "--acc-hours", help="Sustained demand: accelerator-hours per month.", show_default=False,
    callback=options.positive,
)  # fmt: skip
SCENARIO = typer.Option(
    None,
    "--scenario",
    help="Demand from a scenario file: the accelerator-hours per month its cheapest plan puts on "
    "--accelerator (mean over the horizon).",
    show_default=False,
)
PROCURED = typer.Option(
    "H100-80GB", "--accelerator", "-a", help="Accelerator name or alias (h100).", callback=options.accelerator
)
PROVIDER = typer.Option(
    None, "--provider", "-p", help=f"{', '.join(PROVIDERS)} (repeatable).", callback=options.providers
)
REGION = typer.Option(None, "--region", "-r", help="Only these regions (repeatable).")
SERVERS = typer.Option(None, "--servers", min=1, help="Servers to buy (default: sized to demand).")
SET = typer.Option(
    None,
    "--set",
    help="Override an ownership assumption, NAME=VALUE (e.g. pue=1.4, electricity_usd_per_kwh=0.08, "
    "capex_usd_per_accelerator=40000, accelerators_per_server=8, utilisation=0.8).",
    callback=options.procurement_settings,
)
DISCOUNT = typer.Option(
    None,
    "--assume-discount",
    help="Add labelled commitment rows as on-demand x (1-FRACTION), e.g. committed_1y=0.3.",
    callback=options.discounts,
)
TOP = typer.Option(15, "--top", min=1, help="Rows of the ranking shown in the table.")
CURVE = typer.Option(
    None, "--plot", help="Draw cost vs fleet size and break-even to FILE.png.", callback=options.plot
)
COMPARED = typer.Option(
    ..., "--accelerator", "-a", help="Accelerator name or alias (e.g. H100-80GB, h100).",
    callback=options.accelerator,
)  # fmt: skip
KERNEL = typer.Option(
    "train_transformer", "--kernel", help="Calibration kernel (the workload).", callback=options.kernel
)
WORK = typer.Option(
    ..., "--work", help="Work per run, in the throughput's unit x seconds (e.g. tokens or samples).",
    show_default=False, callback=options.positive,
)  # fmt: skip
RUNS = typer.Option(1.0, "--runs-per-month", min=0.0)
PRICED_BY = typer.Option(
    None, "--provider", "-p", help="Price from these providers.", callback=options.providers
)
PRICING = typer.Option(
    "on_demand", "--pricing-model", help="on_demand, spot, ...", callback=options.pricing_model
)
BARS = typer.Option(None, "--plot", help="Draw throughput and cost to FILE.png.", callback=options.plot)


@procurement_app.command("procurement")
def procurement(
    ctx: typer.Context,
    acc_hours: float | None = ACC_HOURS,
    scenario: Path | None = SCENARIO,
    accelerator: str = PROCURED,
    provider: list[str] | None = PROVIDER,
    region: list[str] | None = REGION,
    servers: int | None = SERVERS,
    sets: list[str] | None = SET,
    discounts: list[str] | None = DISCOUNT,
    top: int = TOP,
    plot: Path | None = CURVE,
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Rank cloud on-demand, spot, 1y/3y commitments per provider and region, and buying servers."""
    from tco.api import ProcurementRequest, procure
    from tco.api import inputs as read
    from tco.api.reference import PROCUREMENT_GROUPS
    from tco.cli.output import check_plot
    from tco.cli.views.compare import render_procurement

    target = output_target(ctx, fmt, output)
    if plot is not None:
        check_plot(plot)
    request = ProcurementRequest(
        accelerator, acc_hours_per_month=acc_hours, scenario=scenario, providers=tuple(provider or ()),
        regions=read.split(region), servers=servers, settings=read.settings(sets, groups=PROCUREMENT_GROUPS),
        assumed_discounts=read.discounts(discounts),
    )  # fmt: skip
    render_procurement(target, procure(request, sources(ctx)), top, plot)


@frameworks_app.command("frameworks")
def frameworks(
    ctx: typer.Context,
    accelerator: str = COMPARED,
    kernel: str = KERNEL,
    work: float = WORK,
    runs_per_month: float = RUNS,
    provider: list[str] | None = PRICED_BY,
    pricing_model: str = PRICING,
    plot: Path | None = BARS,
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Measured PyTorch, JAX and TensorFlow side by side on one target, with the cost each implies."""
    from tco.api import FrameworkRequest, compare_frameworks
    from tco.cli.output import check_plot
    from tco.cli.views.compare import render_frameworks
    from tco.vocabulary import pricing_model as check_pricing_model

    target = output_target(ctx, fmt, output)
    if plot is not None:
        check_plot(plot)
    request = FrameworkRequest(
        accelerator, work, kernel=kernel, runs_per_month=runs_per_month, providers=tuple(provider or ()),
        pricing_model=check_pricing_model(pricing_model),
    )  # fmt: skip
    render_frameworks(target, compare_frameworks(request, sources(ctx)), plot)
