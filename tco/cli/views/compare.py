"""Rendering ``tco compare procurement|frameworks``: rankings, cash flow, sensitivity, advice, plots."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Group
    from rich.table import Table

    from tco.api import FrameworkComparison, ProcurementOutcome
    from tco.cli.state import Target
    from tco.procurement import Comparison


def render_procurement(target: Target, outcome: ProcurementOutcome, top: int, plot: Path | None) -> None:
    from tco.cli.render import emit, emit_bytes, note, report_notes, report_warnings, warn
    from tco.cli.state import Format

    result = outcome.comparison
    report_notes(outcome.provenance)
    for line in result.notes:
        warn(line)
    if target.fmt is Format.xlsx:
        from tco.export.xlsx import procurement_workbook

        emit_bytes(target, procurement_workbook(result), "the procurement workbook")
    else:
        emit(target, result.ranking, lambda: procurement_tables(result, top))
    if plot is not None:
        from tco.plot import procurement_figure
        from tco.procurement import cumulative_curve, scale_curve

        title = (
            f"{result.accelerator}: {result.demand_acc_hours_per_month:,.0f} acc-h/month at "
            f"{result.fleet_utilisation:.0%} utilisation"
        )
        procurement_figure(
            scale_curve(result), cumulative_curve(result), plot, title=title, accelerator=result.accelerator
        )
    note(result.recommendation)
    report_warnings(outcome.provenance)


def procurement_tables(result: Comparison, top: int) -> Group:
    from rich.console import Group

    return Group(
        ranking_table(result, top), cash_table(result), tornado_table(result), ownership_table(result)
    )


RANKING_COLUMNS = (
    ("#", "right"), ("Option", "left"), ("Instance", "left"), ("List $/acc-h", "right"),
    ("Effective $/acc-h", "right"), ("1 year $", "right"), ("3 years $", "right"), ("5 years $", "right"),
    ("Break-even util.", "right"), ("Break-even month", "right"),
)  # fmt: skip


def ranking_table(result: Comparison, top: int) -> Table:
    from tco.cli.render import NA, number, table

    r = result.ranking
    shown = r[(r["rank"] <= top) | (r["kind"] == "owned")]
    rows = [
        [
            str(x["rank"]), str(x["option"]), str(x["instance_type"]),
            number(x["price_usd_per_accelerator_hour"], 3),
            number(x["effective_usd_per_accelerator_hour"], 3),
            number(x["cost_1y_usd"], 0), number(x["cost_3y_usd"], 0), number(x["cost_5y_usd"], 0),
            NA if math.isnan(x["breakeven_utilisation"]) else f"{x['breakeven_utilisation']:.0%}",
            "never" if x["breakeven_month"] == float("inf") else number(x["breakeven_month"], 1),
        ]
        for x in shown.to_dict("records")
    ]  # fmt: skip
    return table(
        f"Procurement ranking for {result.demand_acc_hours_per_month:,.0f} {result.accelerator} "
        f"acc-h/month (by 3-year cost)",
        RANKING_COLUMNS,
        rows,
        caption=f"{len(r)} options; prices: " + "; ".join(sorted(set(shown["source"]))[:3]),
    )


def cash_table(result: Comparison) -> Table:
    from tco.cli.render import number, table

    r = result.ranking
    best_cloud = r[r["kind"] != "owned"].iloc[0]["option"]
    owned_option = r[r["kind"] == "owned"].iloc[0]["option"]
    cash = result.cashflow[result.cashflow["option"].isin([best_cloud, owned_option])]
    wide = cash.pivot_table(index="option", columns="year", values="cash_usd", aggfunc="sum")
    return table(
        "Cash flow per year (USD)",
        [("Option", "left"), *[(f"Year {y}", "right") for y in wide.columns]],
        ([str(o), *[number(v, 0) for v in wide.loc[o]]] for o in wide.index),
    )


def tornado_table(result: Comparison) -> Table:
    from tco.cli.render import number, table

    columns = [
        ("Input", "left"), ("Low", "right"), ("High", "right"), ("Gap at low $", "right"),
        ("Gap at high $", "right"), ("Swing $", "right"), ("Winner low/high", "left"),
    ]  # fmt: skip
    return table(
        "Sensitivity: 3-year cost gap owned − best cloud as one input moves (most influential first)",
        columns,
        (
            [
                str(t["input"]), f"{t['low']:g}", f"{t['high']:g}", number(t["gap_low_usd"], 0),
                number(t["gap_high_usd"], 0), number(t["swing_usd"], 0),
                f"{t['winner_low']}/{t['winner_high']}",
            ]
            for t in result.tornado.to_dict("records")
        ),
    )  # fmt: skip


def ownership_table(result: Comparison) -> Table:
    from tco.cli.render import table

    return table(
        "Ownership assumptions (override with --set NAME=VALUE)",
        [("Name", "left"), ("Value", "right"), ("Unit", "left"), ("Source", "left")],
        (
            [str(a["name"]), f"{a['value']:g}", str(a["unit"]), str(a["source"])]
            for a in result.assumptions.to_dict("records")
        ),
    )


def render_frameworks(target: Target, comparison: FrameworkComparison, plot: Path | None) -> None:
    from tco.cli.render import emit, emit_bytes, note, report_notes, report_warnings
    from tco.cli.state import Format

    frame, price = comparison.rows, comparison.price
    accelerator, kernel = str(frame["accelerator"].iloc[0]), str(frame["kernel"].iloc[0])
    report_notes(comparison.provenance)
    if target.fmt is Format.xlsx and target.path is not None:
        from tco.export.xlsx import render

        emit_bytes(target, render(frame), "the framework comparison")
    else:
        emit(target, frame, lambda: frameworks_table(frame, accelerator, kernel))
    if plot is not None:
        from tco.plot import frameworks_figure

        frameworks_figure(frame, plot, title=f"{kernel} on {accelerator}")
    note(
        f"price: {price.provider} {price.region} {price.instance_type} {price.pricing_model} "
        f"${price.price_usd_per_accelerator_hour:.3f}/acc-h [{price.source}, {price.fetched_at}]"
    )
    report_warnings(comparison.provenance)


FRAMEWORK_COLUMNS = (
    ("Framework", "left"), ("Version", "left"), ("Device", "left"), ("Throughput", "right"), ("Unit", "left"),
    ("Build s", "right"), ("Memory GiB", "right"), ("$ per run", "right"), ("$ per month", "right"),
    ("Status", "left"),
)  # fmt: skip


def frameworks_table(frame: pd.DataFrame, accelerator: str, kernel: str) -> Table:
    from tco.cli.render import NA, number, table

    def text(value: object) -> str:
        return NA if isinstance(value, float) and math.isnan(value) else str(value)

    return table(
        f"Frameworks on {accelerator}, {kernel} (measured calibration)",
        FRAMEWORK_COLUMNS,
        (
            [
                str(r["framework"]), text(r["framework_version"]), text(r["device_name"]),
                number(r["throughput"], 1), text(r["throughput_unit"]), number(r["compile_s"], 1),
                number(r["peak_memory_gib"], 1), number(r["cost_per_run_usd"]),
                number(r["cost_per_month_usd"]), str(r["status"]),
            ]
            for r in frame.to_dict("records")
        ),
    )  # fmt: skip
