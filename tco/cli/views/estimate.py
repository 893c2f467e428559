"""Rendering ``tco estimate ...`` results: the tables, ``--explain``, the workbook, the price notes."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from tco.api import Provenance, ServingEstimate, TrainingEstimate
    from tco.cli.state import Target

TRAIN_CAPTION = (
    "$/acc-h is effective (commitments and owned hardware at their utilisation). low-high: the "
    "efficiency assumptions' ranges. Scale: scaling efficiency. Sources: --explain or --format json."
)
SERVE_CAPTION = (
    "Replica: accelerators per model copy (tensor parallel). Spot capacity only with --pricing-model "
    "spot. low-high: $/1M output tokens over the MBU and prefill-efficiency ranges. Sources: --explain "
    "or --format json."
)


def human_hours(hours: float) -> str:
    if hours is None or (isinstance(hours, float) and math.isnan(hours)):
        return "n/a"
    return f"{hours:,.1f} h" if hours < 48 else f"{hours / 24:,.1f} d"


def money(value: Any) -> str:
    from tco.cli.render import number

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return number(value, 0 if abs(float(value)) >= 1000 else 2, prefix="$")


def render_training(target: Target, estimate: TrainingEstimate) -> None:
    """The chosen rows as a table (or CSV/JSON/XLSX), then where the prices came from."""

    def workbook() -> bytes:
        from tco.export.xlsx import training_workbook

        return training_workbook(rows, estimate.assumptions, estimate.ownership)

    rows = estimate.rows
    first = rows.iloc[0]
    runs = ", ".join(f"{r:g}" for r in estimate.runs_per_month)
    title = (
        f"Training {first['workload']}: {first['train_flops']:.3g} FLOP ({first['work_formula']}), goodput "
        f"{first['goodput']:g}, {runs} run(s)/month"
    )
    caption = TRAIN_CAPTION + (
        " Line items beyond compute: --format json/csv (other_usd_per_month)."
        if estimate.line_items.any
        else ""
    )
    _render(
        target, rows, estimate.provenance, lambda: train_table(rows, title, caption), workbook
    )  # fmt: skip


def render_serving(target: Target, estimate: ServingEstimate) -> None:
    def workbook() -> bytes:
        from tco.export.xlsx import serving_workbook

        return serving_workbook(rows, estimate.assumptions, estimate.ownership)

    rows, w = estimate.rows, estimate.workload
    title = (
        f"Serving {w['workload']}: {w['requests_per_s']:g} req/s of {w['prompt_tokens']:g} in / "
        f"{w['output_tokens']:g} out tokens, TTFT <= {w['ttft_s']:g} s, TPOT <= {w['tpot_s'] * 1000:g} ms, "
        f"{w['hours_per_day']:g} h/day"
    )
    _render(
        target, rows, estimate.provenance, lambda: serve_table(rows, title, SERVE_CAPTION), workbook
    )  # fmt: skip


def _render(
    target: Target,
    rows: pd.DataFrame,
    provenance: Provenance,
    main: Callable[[], Table],
    workbook: Callable[[], bytes],
) -> None:
    from tco.cli.render import emit, emit_bytes, report_notes, report_prices
    from tco.cli.state import Format

    report_notes(provenance)
    if target.fmt is Format.xlsx:
        emit_bytes(target, workbook(), f"a workbook of {len(rows)} options")
    else:

        def build() -> Table:
            from rich.table import Table as RichTable

            if "explain" not in rows.columns:
                return main()
            grid = RichTable.grid(padding=(1, 0))
            grid.add_row(main())
            grid.add_row(explain_table(rows, provenance))
            return grid

        emit(target, rows, build)
    report_prices(provenance)


def explain_table(rows: pd.DataFrame, provenance: Provenance) -> Table:
    """Every formula input of each row and its source, then the assumptions in force."""
    from tco.cli.render import table

    body = [[str(text)] for text in rows["explain"]]
    listed = "\n".join(
        f"  {name.replace('_', ' ')} = {a.value:g}"
        + (f" (range {a.low:g}-{a.high:g})" if a.low != a.high else "")
        + f" {a.unit}: {a.source}"
        for name, a in provenance.assumptions
    )
    body.append(["assumptions (override with --set NAME=VALUE or their options):\n" + listed])
    return table("How each number was made", [("", "left")], body)


#: The start of a price book's provenance (pricing.pricebook.book_source) in an option's ``price_source``.
BOOK_PREFIX = "price book "


def pricing_cell(r: Mapping[Any, Any]) -> str:
    """The pricing model as a table shows it; ``(book)`` when the team's price book set the price."""
    label = str(r["pricing_model"]).replace("_", "-")
    return label + (" (book)" if str(r.get("price_source", "")).startswith(BOOK_PREFIX) else "")


def book_caption(rows: pd.DataFrame) -> str:
    """A caption sentence naming the price book behind rows marked ``(book)`` (empty when none is)."""
    if "price_source" not in rows:
        return ""
    sources = rows["price_source"].astype(str)
    books = sorted({s.split(";")[0] for s in sources if s.startswith(BOOK_PREFIX)})
    if not books:
        return ""
    return f" (book): {', '.join(books)}; list price in --explain and --format json (price_source)."


def budget_cell(r: Mapping[Any, Any]) -> str:
    """The share of the budget a row's cost takes; ``OVER`` marks a row over budget (n/a: no cost)."""
    used = float(r["budget_used"])
    if math.isnan(used):
        return "n/a"
    return f"OVER {used:.0%}" if used > 1 else f"{used:.0%}"


def fits_cell(r: Mapping[Any, Any]) -> str:
    """What the budget buys at a training row: tokens and optimizer steps, or samples, or FLOPs."""
    from tco.cli.render import NA

    def amount(column: str) -> float:
        value = r.get(column)
        return math.nan if value is None else float(value)

    tokens, steps = amount("tokens_within_budget"), amount("steps_within_budget")
    if not math.isnan(tokens):
        return f"{tokens:.3g} tok" + ("" if math.isnan(steps) else f" / {steps:,.0f} steps")
    samples = amount("samples_within_budget")
    if not math.isnan(samples):
        return f"{samples:.3g} samples"
    flops = amount("flops_within_budget")
    return NA if math.isnan(flops) else f"{flops:.3g} FLOP"


def budget_caption(rows: pd.DataFrame) -> str:
    if "budget_usd" not in rows or rows.empty:
        return ""
    first = rows.iloc[0]
    over = int(rows["over_budget"].fillna(False).astype(bool).sum())
    fits = " Fits: what the budget buys at that option's cost." if "tokens_within_budget" in rows else ""
    return (
        f" Budget: share of ${float(first['budget_usd']):,.0f} per {first['budget_per']} the option "
        f"costs; OVER marks the {over} over budget (kept, not dropped).{fits}"
    )


TRAIN_COLUMNS = (
    ("#", "right"), ("Provider", "left"), ("Instance", "left"), ("Region", "left"), ("Pricing", "left"),
    ("Accelerators", "right"), ("Rate (source)", "left"), ("Scale", "right"), ("Wall", "right"),
    ("Acc-hours", "right"), ("$/acc-h", "right"), ("$/run", "right"), ("low-high", "right"),
    ("$/month", "right"),
)  # fmt: skip


def train_table(rows: pd.DataFrame, title: str, caption: str) -> Table:
    from tco.cli.render import number, table

    body = [
        [
            str(i), str(r["provider"]), str(r["instance_type"]), str(r["region"]),
            pricing_cell(r), f"{r['accelerator_count']:g} x {r['accelerator']}",
            f"MFU {number(r['mfu'], 2)} ({r['throughput_source']}"
            + ("" if r["framework"] == "any" else f", {r['framework']}") + ")",
            number(r["scaling_efficiency"], 2), human_hours(r["wall_hours"]),
            number(r["accelerator_hours"], 0),
            number(r["effective_usd_per_accelerator_hour"], 2), money(r["cost_usd_per_run"]),
            f"{money(r['cost_usd_low'])}-{money(r['cost_usd_high'])}", money(r["cost_usd_per_month"]),
        ]
        for i, r in enumerate(rows.to_dict("records"), start=1)
    ]  # fmt: skip
    columns = list(TRAIN_COLUMNS)
    if "budget_usd" in rows:
        for cells, r in zip(body, rows.to_dict("records"), strict=True):
            cells.extend([budget_cell(r), fits_cell(r)])
        columns += [("Budget", "right"), ("Fits in budget", "right")]
    return table(title, columns, body, caption + book_caption(rows) + budget_caption(rows))


SERVE_COLUMNS = (
    ("#", "right"), ("Provider", "left"), ("Instance", "left"), ("Region", "left"), ("Pricing", "left"),
    ("Replica", "right"), ("Replicas", "right"), ("Batch", "right"), ("TTFT s", "right"),
    ("TPOT ms", "right"),
    ("tok/s/replica", "right"), ("$/1M out", "right"), ("low-high", "right"), ("$/1k req", "right"),
    ("$/month", "right"),
)  # fmt: skip


def _replicas(r: Mapping[Any, Any]) -> str:
    """Replicas, or prefill + decode replicas of a disaggregated row."""
    from tco.cli.render import number

    if r.get("layout") == "disaggregated" and not math.isnan(float(r["prefill_replicas"])):
        return f"{number(r['prefill_replicas'], 0)}+{number(r['decode_replicas'], 0)}"
    return number(r["replicas"], 0)


def serve_table(rows: pd.DataFrame, title: str, caption: str) -> Table:
    """One row per option; an Engine and a Layout column when the rows compare several."""
    from tco.cli.render import number, table

    compared = [c for c in ("engine_label", "layout") if c in rows and len(set(rows[c])) > 1]
    body = [
        [
            str(i), str(r["provider"]), str(r["instance_type"]), str(r["region"]),
            pricing_cell(r), *(str(r[c]) for c in compared),
            f"{r['accelerators_per_replica']:g} x {r['accelerator']}",
            _replicas(r), number(r["batch_size"], 0), number(r["ttft_s"], 3),
            number(r["tpot_s"] * 1000.0, 1), number(r["tokens_per_s_per_replica"], 0),
            money(r["cost_usd_per_1m_output_tokens"]),
            f"{money(r['cost_usd_per_1m_output_tokens_low'])}-{money(r['cost_usd_per_1m_output_tokens_high'])}",
            money(r["cost_usd_per_1k_requests"]), money(r["cost_usd_per_month"]),
        ]
        for i, r in enumerate(rows.to_dict("records"), start=1)
    ]  # fmt: skip
    extra = [({"engine_label": "Engine", "layout": "Layout"}[c], "left") for c in compared]
    columns = [*SERVE_COLUMNS[:5], *extra, *SERVE_COLUMNS[5:]]
    if "disaggregated" in compared or set(rows.get("layout", ())) == {"disaggregated"}:
        caption += " Replicas of a disaggregated row: prefill + decode."
    if "budget_usd" in rows:
        for cells, r in zip(body, rows.to_dict("records"), strict=True):
            cells.append(budget_cell(r))
        columns.append(("Budget", "right"))
    return table(title, columns, body, caption + book_caption(rows) + budget_caption(rows))


def models_table(frame: pd.DataFrame) -> Table:
    from tco.cli.render import number, table

    rows = [
        [
            str(r["name"]), str(r["family"]), number(r["params"] / 1e9, 3), number(r["layers"], 0),
            number(r["hidden"], 0), number(r["heads"], 0), number(r["kv_heads"], 0), number(r["seq_len"], 0),
            number(r["tokens"] / 1e9, 0), str(r["source"])[:60],
        ]
        for r in frame.to_dict("records")
    ]  # fmt: skip
    columns = [
        ("Name", "left"), ("Family", "left"), ("B params", "right"), ("Layers", "right"), ("Hidden", "right"),
        ("Heads", "right"), ("KV", "right"), ("Seq", "right"), ("B tokens", "right"),
        ("Source (all: --format json)", "left"),
    ]  # fmt: skip
    return table("Model presets (--model)", columns, rows)


def defaults_table(frame: pd.DataFrame) -> Table:
    from tco.cli.render import table

    rows = [[r["name"], r["group"], r["unit"], r["meaning"], r["default"]] for r in frame.to_dict("records")]
    return table(
        "Named defaults (tco estimate train|serve --set NAME=VALUE)",
        [
            ("Name", "left"),
            ("Group", "left"),
            ("Unit", "left"),
            ("Meaning", "left"),
            ("Default and source", "left"),
        ],
        rows,
        caption="Also options: --mfu, --goodput, --scaling-efficiency, --mbu, --prefill-efficiency. "
        "Assumed MFU per accelerator: tco/data/mfu_defaults.csv.",
    )
