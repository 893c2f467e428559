"""XLSX export with live formulas (openpyxl): an Assumptions sheet holds every input with its source; result
sheets hold formulas over those cells, so that editing a price or a run count updates every total.

Formula templates come from the library (``tco.plan.budget`` and the estimate model): ``{key}`` names an
assumption, ``{m}`` the month number of the row. Text from providers or users is always written as a
string cell and neutralised (never as a formula): only templates built by tco become formulas.

Functions return bytes; the CLI writes them atomically. openpyxl is imported inside functions only.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from tco.errors import TcoError
from tco.export.base import neutralise
from tco.model.assumptions import AssumptionRows

if TYPE_CHECKING:
    import pandas as pd

    from tco.model.assumptions import ServingAssumptions, TrainingAssumptions
    from tco.model.formula import Expr
    from tco.model.ownership import OwnershipParams
    from tco.plan.budget import PlanResult
    from tco.procurement import Comparison

USD: Final = '"$"#,##0.00'
NUMBER: Final = "#,##0.####"
HEADER_FILL: Final = "DDE4EE"
DERIVED_FILL: Final = "EEEEEE"
INPUT_FILL: Final = "FFF7D6"
ASSUMPTION_COLUMNS: Final = ("Key", "Section", "Description", "Value", "Unit", "Source")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


# --------------------------------------------------------------------------------------------- cells


def put_text(cell: Any, value: Any) -> None:
    """A text cell that no spreadsheet will execute: neutralised, and typed as a string, never a formula."""
    text = neutralise(str(value))
    cell.value = text
    cell.data_type = "s"


def put_value(cell: Any, value: Any, number_format: str | None = None) -> None:
    """A number stays a number (NaN stays empty: missing is missing); anything else becomes safe text."""
    if value is None:
        return
    if isinstance(value, bool):
        cell.value = value
        return
    if isinstance(value, int | float) or hasattr(value, "item"):
        number = float(value)
        if math.isnan(number):
            return
        cell.value = number
        if number_format:
            cell.number_format = number_format
        return
    put_text(cell, value)


def put_formula(cell: Any, formula: str, number_format: str | None = None) -> None:
    """A formula that tco built from a template (never from provider or user text)."""
    if not formula.startswith("="):
        formula = "=" + formula
    cell.value = formula
    if number_format:
        cell.number_format = number_format


def resolve(template: str, refs: Mapping[str, str], month_ref: str | None = None) -> str:
    """``{key}`` -> the assumption's absolute cell reference; ``{m}`` -> ``month_ref``."""

    def swap(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "m":
            if month_ref is None:
                raise TcoError("internal: a monthly formula outside a monthly sheet")
            return month_ref
        if key not in refs:
            raise TcoError(f"internal: formula refers to unknown assumption {key!r}")
        return refs[key]

    return "=" + _PLACEHOLDER.sub(swap, template)


def _style_header(ws: Any, row: int, count: int) -> None:
    from openpyxl.styles import Font, PatternFill

    for col in range(1, count + 1):
        cell = ws.cell(row=row, column=col)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)


def _widths(
    ws: Any, widths: Mapping[int, float] | None = None, default: float = 14.0, cap: float = 60.0
) -> None:
    from openpyxl.utils import get_column_letter

    longest: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            text = str(cell.value)
            length = 12 if text.startswith("=") and cell.data_type == "f" else len(text)
            longest[cell.column] = max(longest.get(cell.column, 0), length)
    for col, length in longest.items():
        width = (widths or {}).get(col, min(cap, max(default * 0.6, length + 2)))
        ws.column_dimensions[get_column_letter(col)].width = width


def _header(ws: Any, names: Sequence[str], row: int = 1) -> None:
    for col, name in enumerate(names, start=1):
        put_text(ws.cell(row=row, column=col), name)
    _style_header(ws, row, len(names))
    ws.freeze_panes = ws.cell(row=row + 1, column=1)


def _save(wb: Any) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------- sheets


def write_assumptions(wb: Any, assumptions: pd.DataFrame, title: str = "Assumptions") -> dict[str, str]:
    """One row per input (key, section, description, value, unit, source); derived rows hold formulas.

    Returns key -> absolute reference (``Assumptions!$D$7``) for the result sheets' formulas.
    """
    from openpyxl.styles import PatternFill

    ws = wb.create_sheet(title)
    _header(ws, ASSUMPTION_COLUMNS)
    refs: dict[str, str] = {}
    records = assumptions.to_dict("records")
    for offset, rec in enumerate(records):
        refs[str(rec["key"])] = f"{title}!$D${offset + 2}"
    for offset, rec in enumerate(records):
        row = offset + 2
        put_text(ws.cell(row=row, column=1), rec["key"])
        put_text(ws.cell(row=row, column=2), rec["section"])
        put_text(ws.cell(row=row, column=3), rec["description"])
        value_cell = ws.cell(row=row, column=4)
        fmt = USD if str(rec["unit"]).startswith("$") else NUMBER
        formula = rec.get("formula")
        if isinstance(formula, str) and formula:
            put_formula(value_cell, resolve(formula, refs), fmt)
            value_cell.fill = PatternFill("solid", fgColor=DERIVED_FILL)
        else:
            put_value(value_cell, rec["value"], fmt)
            value_cell.fill = PatternFill("solid", fgColor=INPUT_FILL)
        put_text(ws.cell(row=row, column=5), rec["unit"])
        put_text(ws.cell(row=row, column=6), rec["source"])
    _widths(ws, {3: 58.0, 6: 80.0, 4: 18.0})
    return refs


def _bar_chart(title: str, y_title: str, x_title: str, stacked: bool) -> Any:
    from openpyxl.chart import BarChart

    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.y_axis.title = y_title
    chart.x_axis.title = x_title
    chart.y_axis.numFmt = '"$"#,##0'
    chart.height, chart.width = 9.0, 22.0
    if stacked:
        chart.grouping = "stacked"
        chart.overlap = 100
    return chart


def plan_workbook(result: PlanResult) -> bytes:
    """The plan as a finance-ready workbook: Summary, Assumptions, Budget, Options, Option months, Choices."""
    from openpyxl import Workbook
    from openpyxl.chart import Reference
    from openpyxl.styles import Font

    s = result.scenario
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    refs = write_assumptions(wb, result.assumptions)
    workloads = list(s.workloads)
    fixed_items = list(result.fixed_templates)
    best_option = str(result.best["option"])
    choices = result.choices

    # Budget: the cheapest option, month by month, every cell a formula over the assumptions
    budget = wb.create_sheet("Budget")
    columns = [
        "Month #",
        "Month",
        *[f"{w} ($)" for w in workloads],
        *[f"{f} ($)" for f in fixed_items],
        "Total ($)",
    ]
    _header(budget, columns)
    best = choices[choices["option"] == best_option].set_index("workload")
    months = s.horizon_months
    for m in range(1, months + 1):
        row = m + 1
        budget.cell(row=row, column=1, value=m)
        put_text(budget.cell(row=row, column=2), _month_label(s.start, m))
        month_ref = f"$A{row}"
        col = 3
        for w in workloads:
            put_formula(
                budget.cell(row=row, column=col), resolve(str(best.loc[w, "template"]), refs, month_ref), USD
            )
            col += 1
        for item in fixed_items:
            put_formula(
                budget.cell(row=row, column=col), resolve(result.fixed_templates[item], refs, month_ref), USD
            )
            col += 1
        put_formula(budget.cell(row=row, column=col), f"=SUM({_col(3)}{row}:{_col(col - 1)}{row})", USD)
    _budget_columns(budget, result, refs, total_col=len(columns))
    total_row = months + 2
    put_text(budget.cell(row=total_row, column=2), "Total")
    budget.cell(row=total_row, column=2).font = Font(bold=True)
    for col in range(3, len(columns) + 1):
        cell = budget.cell(row=total_row, column=col)
        put_formula(cell, f"=SUM({_col(col)}2:{_col(col)}{months + 1})", USD)
        cell.font = Font(bold=True)
    _widths(budget, default=16.0)
    chart = _bar_chart(
        f"Monthly budget by workload: {best_option}", "cost (USD per month)", "month", stacked=True
    )
    data = Reference(budget, min_col=3, max_col=len(columns) - 1, min_row=1, max_row=months + 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(budget, min_col=2, min_row=2, max_row=months + 1))
    budget.add_chart(chart, f"{_col(len(columns) + 2)}2")

    # Option months: every kept option's monthly total (formulas), feeding the Options totals
    om = wb.create_sheet("Option months")
    options = result.options
    _header(om, ["Month #", *[f"{o} ($)" for o in options["option"]]])
    for m in range(1, months + 1):
        row = m + 1
        om.cell(row=row, column=1, value=m)
        month_ref = f"$A{row}"
        for k, option in enumerate(options["option"], start=2):
            parts = [
                resolve(t, refs, month_ref)[1:] for t in choices.loc[choices["option"] == option, "template"]
            ]
            parts += [resolve(result.fixed_templates[i], refs, month_ref)[1:] for i in fixed_items]
            put_formula(om.cell(row=row, column=k), "=" + "+".join(f"({p})" for p in parts), USD)
    _widths(om, default=18.0)

    # Options: ranking, choices, month-1 cost per workload and the horizon total
    opt = wb.create_sheet("Options", 2)
    header = ["Rank", "Option", "Provider", "Region"]
    for w in workloads:
        header += [f"{w}: choice", f"{w}: month 1 ($)"]
    header += [f"Total over {months} months ($)"]
    _header(opt, header)
    for i, rec in enumerate(options.to_dict("records")):
        row = i + 2
        opt.cell(row=row, column=1, value=int(rec["rank"]))
        for col, key in ((2, "option"), (3, "provider"), (4, "region")):
            put_text(opt.cell(row=row, column=col), rec[key])
        picked = choices[choices["option"] == rec["option"]].set_index("workload")
        col = 5
        for w in workloads:
            c = picked.loc[w]
            put_text(
                opt.cell(row=row, column=col),
                f"{c['accelerator']} {c['pricing_model']} ({c['instance_type']})",
            )
            put_formula(opt.cell(row=row, column=col + 1), resolve(str(c["template"]), refs, "1"), USD)
            col += 2
        put_formula(
            opt.cell(row=row, column=col),
            f"=SUM('Option months'!{_col(i + 2)}2:{_col(i + 2)}{months + 1})",
            USD,
        )
    _widths(opt, default=16.0)
    total_col = len(header)
    chart = _bar_chart(f"Total cost over {months} months by option", "cost (USD)", "option", stacked=False)
    chart.add_data(
        Reference(opt, min_col=total_col, min_row=1, max_row=len(options) + 1), titles_from_data=True
    )
    chart.set_categories(Reference(opt, min_col=2, min_row=2, max_row=len(options) + 1))
    chart.legend = None
    opt.add_chart(chart, f"B{len(options) + 4}")

    # Choices: provenance of the cheapest option's picks
    ch = wb.create_sheet("Choices")
    cols = [
        "option",
        "workload",
        "kind",
        "accelerator",
        "pricing_model",
        "instance_type",
        "price_usd_per_accelerator_hour",
        "throughput_source",
        "price_source",
        "price_date",
    ]
    _header(ch, cols)
    for i, rec in enumerate(choices[cols].to_dict("records")):
        for j, key in enumerate(cols, start=1):
            put_value(
                ch.cell(row=i + 2, column=j),
                rec[key],
                USD if key == "price_usd_per_accelerator_hour" else None,
            )
    _widths(ch)

    # Summary
    lines: list[tuple[str, Any]] = [
        ("Scenario", s.name),
        ("File", s.path.name),
        ("Horizon (months)", months),
        ("Growth per month", s.growth_per_month),
        ("Cheapest option", best_option),
    ]
    put_text(summary.cell(row=1, column=1), f"tco plan: {s.name}")
    summary.cell(row=1, column=1).font = Font(bold=True, size=14)
    for i, (label, value) in enumerate(lines, start=3):
        put_text(summary.cell(row=i, column=1), label)
        put_value(summary.cell(row=i, column=2), value)
    row = len(lines) + 3
    put_text(summary.cell(row=row, column=1), f"Total over {months} months ($)")
    put_formula(summary.cell(row=row, column=2), f"=Budget!{_col(len(columns))}{total_row}", USD)
    summary.cell(row=row, column=2).font = Font(bold=True)
    row += 2
    put_text(summary.cell(row=row, column=1), "How to use")
    put_text(
        summary.cell(row=row, column=2),
        "Edit any yellow value on the Assumptions sheet (prices, run counts, traffic, efficiencies, "
        "ownership inputs); grey cells and every result sheet are formulas and update. The choice of "
        "accelerator and purchase model per option was made by tco at the snapshot's prices and does not "
        "re-optimise when a price changes.",
    )
    for note in result.notes:
        row += 1
        put_text(summary.cell(row=row, column=1), "Note")
        put_text(summary.cell(row=row, column=2), note)
    summary.column_dimensions["A"].width = 26
    summary.column_dimensions["B"].width = 110
    return _save(wb)


def _budget_columns(ws: Any, result: PlanResult, refs: Mapping[str, str], *, total_col: int) -> None:
    """With a budget (:func:`tco.api.planning.with_budget`): the Budget sheet's month budget, cumulative spend
    and budget, and the two over-budget verdicts, as live formulas over the ``budget_usd`` input and the
    month's total (``tco.model.formulas.OVER_BUDGET``), right of the Total column."""
    from tco.model import formulas as F

    if "over_budget" not in result.budget or "budget_usd" not in refs:
        return
    months = result.scenario.horizon_months
    per = str(result.budget["budget_per"].iloc[0])
    budget = refs["budget_usd"]
    headers = ("Budget ($)", "Cumulative ($)", "Cumulative budget ($)", "Over budget (month)",
               "Over budget (cumulative)")  # fmt: skip
    for k, name in enumerate(headers, start=1):
        put_text(ws.cell(row=1, column=total_col + k), name)
    _style_header(ws, 1, total_col + len(headers))
    total, month_budget, cumulative, cumulative_budget = (_col(total_col + k) for k in range(4))
    for m in range(1, months + 1):
        r = m + 1
        cells = (
            (f"={budget}" if per == "month" else f"={budget}/{months}", USD),
            (f"=SUM(${total}$2:{total}{r})", USD),
            (f"={budget}*$A{r}" if per == "month" else f"={budget}", USD),
            ("=" + F.OVER_BUDGET.excel(cost_usd=f"{total}{r}", budget_usd=f"{month_budget}{r}"), None),
            (
                "=" + F.OVER_BUDGET.excel(cost_usd=f"{cumulative}{r}", budget_usd=f"{cumulative_budget}{r}"),
                None,
            ),
        )
        for k, (formula, fmt) in enumerate(cells, start=1):
            put_formula(ws.cell(row=r, column=total_col + k), formula, fmt)


def render(frame: pd.DataFrame) -> bytes:
    """Any frame as a one-sheet workbook (values only, text neutralised, header frozen)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    columns = [str(c) for c in frame.columns]
    _header(ws, columns)
    for i, row in enumerate(frame.itertuples(index=False, name=None), start=2):
        for j, value in enumerate(row, start=1):
            put_value(ws.cell(row=i, column=j), value, USD if columns[j - 1].endswith("_usd") else None)
    _widths(ws)
    return _save(wb)


def _col(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))


def _month_label(start: str | None, m: int) -> str:
    if start is None:
        return f"M{m}"
    year, month = (int(p) for p in start.split("-"))
    total = year * 12 + month - 1 + m - 1
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def procurement_workbook(comparison: Comparison) -> bytes:
    """Procurement ranking with live formulas: demand, servers, ownership inputs and each list price are
    assumptions; every option's held accelerators, month, effective price and 1/3/5-year costs are the
    held-capacity formulas of :mod:`tco.model.formulas` over them (as :mod:`tco.procurement` computes)."""
    from tco.model import formulas as F
    from tco.model.purchase import BILLING, price_split

    c = comparison
    book = AssumptionRows(braced=True)
    demand = book.add("demand", "Demand", "accelerator-hours per month", c.demand_acc_hours_per_month,
                      "acc-h/month", "command line")  # fmt: skip
    servers = book.add("servers", "Owned", "servers bought", float(c.servers), "servers",
                       "sized to the demand at the utilisation (or --servers)")  # fmt: skip
    own = {}
    for rec in c.assumptions.to_dict("records"):
        name = str(rec["name"])
        own[name] = book.add(f"own.{name}", "Owned", name.replace("_", " "), float(rec["value"]),
                             str(rec["unit"]), str(rec["source"]))  # fmt: skip
    ranking = c.ranking.reset_index(drop=True)
    prices = {}
    for i, rec in enumerate(ranking.to_dict("records")):
        if rec["kind"] != "owned":
            label = f"{rec['option']} {rec['instance_type']}"
            price = float(rec["price_usd_per_accelerator_hour"])
            prices[i] = book.add(f"price.{i}", "Prices", label, price, "$/acc-h", str(rec["source"]))
    held_owned = f"{servers}*{own['accelerators_per_server']}"
    fleet_u = F.FLEET_UTILISATION.excel(demand_acc_hours_per_month=demand, held_accelerators=held_owned)
    cells: list[dict[str, tuple[str, Any]]] = []
    for i, rec in enumerate(ranking.to_dict("records")):
        row = {
            "demand_acc_hours_per_month": demand,
            "utilisation": own["utilisation"],
            "accelerators_per_instance": "[Per unit]",
            "held_accelerators": "[Accelerators held]",
            "fixed_usd_per_accelerator_year": "[Fixed $/acc-year]",
            "variable_usd_per_accelerator_hour": "[Variable $/acc-h]",
            "cost_usd_per_month": "[$ per month]",
        }
        if rec["kind"] == "owned":
            refs = {name: ref for name, ref in own.items() if name in F.OWNED_TOTAL_USD_PER_YEAR.names}
            listed = F.OWNED_USD_PER_ACCELERATOR_HOUR.excel(**{**refs, "utilisation": fleet_u})
            fixed = F.OWNED_FIXED_USD_PER_ACCELERATOR_YEAR.excel(**refs)
            variable = F.OWNED_VARIABLE_USD_PER_ACCELERATOR_HOUR.excel(**refs)
            held = held_owned
        else:
            listed = prices[i]
            split = price_split(BILLING.get(str(rec["pricing_model"]), "usage"))
            fixed, variable = (e.excel(price_usd_per_accelerator_hour=prices[i]) for e in split)
            held = _cells(F.HELD_FOR_DEMAND, row)
        cells.append(
            {
                "Rank (at tco's prices)": ("v", int(rec["rank"])),
                "Option": ("v", rec["option"]),
                "Kind": ("v", rec["kind"]),
                "Instance": ("v", rec["instance_type"]),
                "Per unit": ("v", float(rec["accelerators_per_instance"])),
                "List $/acc-h": ("f", listed),
                "Fixed $/acc-year": ("f", fixed),
                "Variable $/acc-h": ("f", variable),
                "Accelerators held": ("f", held),
                "$ per month": ("f", _cells(F.DEMAND_MONTH_COST, row)),
                "Effective $/acc-h": ("f", _cells(F.DEMAND_EFFECTIVE_USD_PER_ACCELERATOR_HOUR, row)),
                **{
                    f"{years} year{'s' if years > 1 else ''} ($)": (
                        "f",
                        F.COST_OVER_YEARS.excel(cost_usd_per_month="[$ per month]", years=str(years)),
                    )
                    for years in (1, 3, 5)
                },
                "Source": ("v", rec["source"]),
            }
        )
    columns: list[tuple[str, str | None]] = [
        ("Rank (at tco's prices)", "0"), ("Option", None), ("Kind", None), ("Instance", None),
        ("Per unit", "0"), ("List $/acc-h", USD), ("Fixed $/acc-year", USD), ("Variable $/acc-h", USD),
        ("Accelerators held", "0"), ("$ per month", USD), ("Effective $/acc-h", USD), ("1 year ($)", USD),
        ("3 years ($)", USD), ("5 years ($)", USD), ("Source", None),
    ]  # fmt: skip
    wb = _result_book(book, columns, cells, title="Ranking")
    tornado = wb.create_sheet("Sensitivity")
    cols = [str(x) for x in c.tornado.columns]
    _header(tornado, cols)
    for r, rec in enumerate(c.tornado.to_dict("records"), start=2):
        for j, name in enumerate(cols, start=1):
            put_value(tornado.cell(row=r, column=j), rec[name], USD if name.endswith("_usd") else None)
    _widths(tornado)
    advice = wb.create_sheet("Recommendation")
    put_text(advice.cell(row=1, column=1), c.recommendation)
    advice.column_dimensions["A"].width = 160
    return _save(wb)


# --------------------------------------------------------------------------------------------- estimate


def _prices(
    book: AssumptionRows, i: int, rec: Mapping[str, Any], ownership: Mapping[str, OwnershipParams]
) -> tuple[str, str]:
    """The row's fixed ($/acc-year) and variable ($/acc-h) price expressions over the assumptions: a cloud
    list price (with source and date) split by billing kind, or the ownership model's inputs."""
    from tco.model.purchase import price_split

    accelerator = str(rec["accelerator"])
    if rec["billing"] != "owned":
        date = str(rec.get("price_date") or "") or "n/a"
        price = book.add(
            f"price.{i}",
            "Prices",
            f"{rec['provider']} {rec['region']} {rec['instance_type']} {rec['pricing_model']} "
            f"per accelerator-hour ({accelerator})",
            float(rec["price_usd_per_accelerator_hour"]),
            "$/acc-h",
            f"{rec['price_source']}; as of {date}",
        )
        fixed, variable = price_split(str(rec["billing"]))
        return (
            fixed.excel(price_usd_per_accelerator_hour=price),
            variable.excel(price_usd_per_accelerator_hour=price),
        )
    params = ownership.get(accelerator)
    if params is None:
        raise TcoError(f"internal: owned {accelerator} row without ownership parameters")
    return book.owned_prices(accelerator, params)


def _cells(formula: Expr, row: Mapping[str, str]) -> str:
    """``formula`` over a row's cells (``[Header]``) and assumptions (``{key}``)."""
    return formula.excel(**{name: row[name] for name in formula.names})


def _label(rec: Mapping[str, Any], size: str) -> str:
    return f"{rec['provider']} {rec['instance_type']} {rec['pricing_model']} {size}"


# The leading and trailing columns of both estimate sheets: which option a row is, and whose price it uses.
_OPTION_COLUMNS: Final[list[tuple[str, str | None]]] = [
    ("#", "0"), ("Option", None), ("Provider", None), ("Region", None), ("Instance", None),
    ("Pricing", None), ("Framework", None), ("Accelerator", None),
]  # fmt: skip
_PRICE_COLUMNS: Final[list[tuple[str, str | None]]] = [("Price source", None), ("Price date", None)]


def _option_cells(i: int, rec: Mapping[str, Any], size: str) -> dict[str, tuple[str, Any]]:
    """Row ``i``'s :data:`_OPTION_COLUMNS` cells; ``size`` ends the option's label."""
    return {
        "#": ("v", i),
        "Option": ("v", _label(rec, size)),
        "Provider": ("v", rec["provider"]),
        "Region": ("v", rec["region"]),
        "Instance": ("v", rec["instance_type"]),
        "Pricing": ("v", rec["pricing_model"]),
        "Framework": ("v", rec["framework"]),
        "Accelerator": ("v", str(rec["accelerator"])),
    }


def _price_cells(rec: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """The row's :data:`_PRICE_COLUMNS` cells."""
    return {
        "Price source": ("v", rec["price_source"]),
        "Price date": ("v", str(rec.get("price_date") or "") or "n/a"),
    }


def _result_book(
    book: AssumptionRows,
    columns: Sequence[tuple[str, str | None]],
    cells: Sequence[Mapping[str, tuple[str, Any]]],
    *,
    title: str,
) -> Any:
    """A workbook of the result sheet ``title`` and the Assumptions sheet. ``columns``: (header, number
    format or None for text). ``cells``: per row, header -> ("f", template) | ("v", value); templates name
    assumptions as ``{key}`` and same-row columns as ``[header]``."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = title
    refs = write_assumptions(wb, book.frame())
    headers = [h for h, _ in columns]
    letters = {h: _col(j) for j, h in enumerate(headers, start=1)}
    _header(ws, headers)
    for i, row_cells in enumerate(cells):
        r = i + 2
        for j, (header, fmt) in enumerate(columns, start=1):
            kind, content = row_cells.get(header, ("v", None))
            cell = ws.cell(row=r, column=j)
            if kind == "f":
                text = str(content)
                for name, letter in letters.items():
                    text = text.replace(f"[{name}]", f"${letter}{r}")
                put_formula(cell, resolve(text, refs), fmt)
            elif fmt is None:
                if content is not None:
                    put_text(cell, content)
            else:
                put_value(cell, content, fmt)
    _widths(ws, default=14.0, cap=40.0)
    return wb


def _estimate_book(
    book: AssumptionRows,
    columns: Sequence[tuple[str, str | None]],
    cells: Sequence[Mapping[str, tuple[str, Any]]],
    *,
    title: str,
    chart_column: str,
    chart_title: str,
    note: str,
) -> bytes:
    """:func:`_result_book` with a how-to note and a chart of ``chart_column`` per option."""
    from openpyxl.chart import Reference
    from openpyxl.styles import Font

    wb = _result_book(book, columns, cells, title=title)
    ws = wb[title]
    last = len(cells) + 1
    notes_row = last + 2
    put_text(ws.cell(row=notes_row, column=1), "How to use")
    ws.cell(row=notes_row, column=1).font = Font(bold=True)
    put_text(ws.cell(row=notes_row, column=2), note)
    if cells:
        chart = _bar_chart(chart_title, "cost (USD per month)", "option", stacked=False)
        col = [h for h, _ in columns].index(chart_column) + 1
        chart.add_data(Reference(ws, min_col=col, min_row=1, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=2, min_row=2, max_row=last))
        chart.legend = None
        ws.add_chart(chart, f"B{notes_row + 2}")
    return _save(wb)


_NOTE: Final = (
    "Yellow cells on the Assumptions sheet are inputs (prices with source and date, efficiencies, runs, "
    "ownership inputs); grey cells there and every formula here update when one changes. Columns marked "
    "'(value)' are tco's numbers at the stated inputs and do not recalculate."
)


def training_workbook(
    rows: pd.DataFrame,
    assumptions: TrainingAssumptions,
    ownership: Mapping[str, OwnershipParams] | None = None,
) -> bytes:
    """``tco estimate train`` rows as a workbook with live formulas over an Assumptions sheet.

    Per row, the definitions of :mod:`tco.model.formulas` the model evaluates, written over the row's cells
    and the Assumptions sheet: ``WALL_HOURS`` at ``FLOP_RATE``, ``SPOT_TIME_FACTOR`` (1 off spot),
    ``PAID_WALL_HOURS``, ``BILLED_ACCELERATORS``, ``RUN_MONTH_COST`` (held clusters pay the fixed price),
    ``COST_PER_RUN``, ``COST_PER_YEAR``, ``RUN_EFFECTIVE_USD_PER_ACCELERATOR_HOUR``.

    ``assumptions``: the run's :class:`~tco.model.assumptions.TrainingAssumptions` (goodput, spot).
    ``ownership``: accelerator -> :class:`~tco.model.ownership.OwnershipParams` for owned rows.
    Workloads given as samples x epochs keep the model's wall time as an input (no FLOP count to edit).
    """
    from tco.model import formulas as F

    book = AssumptionRows(braced=True)
    a = assumptions
    goodput = book.add(
        "goodput",
        "Efficiency",
        "goodput (restarts, evals, stragglers)",
        a.goodput.value,
        "fraction",
        a.goodput.source,
    )
    runs_values = list(dict.fromkeys(float(v) for v in rows["runs_per_month"]))
    spot_keys: tuple[str, str, str] | None = None
    if rows["pricing_model"].isin(("spot", "low_priority")).any():
        spot_keys = (
            book.add(
                "spot.interruptions_per_instance_hour",
                "Spot",
                "interruptions per instance-hour",
                a.spot_interruptions_per_instance_hour.value,
                "1/h",
                a.spot_interruptions_per_instance_hour.source,
            ),
            book.add(
                "spot.checkpoint_interval_hours",
                "Spot",
                "checkpoint interval",
                a.checkpoint_interval_hours.value,
                "h",
                a.checkpoint_interval_hours.source,
            ),
            book.add(
                "spot.restart_hours",
                "Spot",
                "time lost per restart",
                a.restart_hours.value,
                "h",
                a.restart_hours.source,
            ),
        )
    cells: list[dict[str, tuple[str, Any]]] = []
    for i, raw in enumerate(rows.to_dict("records"), start=1):
        rec = {str(k): v for k, v in raw.items()}
        acc, n, per = (
            str(rec["accelerator"]),
            float(rec["accelerator_count"]),
            rec["accelerators_per_instance"],
        )
        wl = str(rec["workload"])
        runs_key = "runs_per_month" if len(runs_values) == 1 else f"runs_per_month.{rec['runs_per_month']:g}"
        runs = book.add(
            runs_key,
            "Frequency",
            f"training runs per month ({wl})",
            float(rec["runs_per_month"]),
            "runs/month",
            "command line (--runs-per-month; default 1)",
        )
        wall_ok = not math.isnan(float(rec["wall_hours"]))
        has_flops = not (math.isnan(float(rec["train_flops"])) or math.isnan(float(rec["mfu"])))
        wall: tuple[str, Any]
        if wall_ok and has_flops:
            inputs = book.wall_hours_inputs(rec)
            wall = (
                "f",
                F.WALL_HOURS.bind(rate_per_accelerator=F.FLOP_RATE).excel(
                    **inputs, accelerators="[Accelerators]", goodput=goodput
                ),
            )
        elif wall_ok:
            wall = (
                "f",
                book.add(
                    f"wall.{i}",
                    "Workload",
                    f"row {i}: wall hours without interruptions",
                    float(rec["uninterrupted_wall_hours"]),
                    "h",
                    f"tco.model.training ({rec['throughput_source']}: {rec['throughput_detail']})",
                ),
            )
        else:
            wall = ("v", math.nan)
        fixed, variable = _prices(book, i, rec, ownership or {})
        if spot_keys is not None and rec["pricing_model"] in ("spot", "low_priority"):
            rate, interval, restart = spot_keys
            factor = F.SPOT_TIME_FACTOR.excel(
                wall_hours="[Wall h (uninterrupted)]",
                instances=F.INSTANCES,
                accelerator_count="[Accelerators]",
                accelerators_per_instance="[Per instance]",
                interruptions_per_instance_hour=rate,
                checkpoint_interval_hours=interval,
                restart_hours=restart,
            )
        else:
            factor = "1"
        live = wall[0] == "f"
        row = {
            "wall_hours": "[Wall h (uninterrupted)]",
            "interruption_factor": "[Spot time factor]",
            "paid_wall_hours": "[Wall h (paid)]",
            "accelerator_count": "[Accelerators]",
            "accelerators_per_instance": "[Per instance]",
            "billed_accelerators": "[Billed accelerators]",
            "accelerator_hours_per_run": "[Acc-hours per run]",
            "fixed_usd_per_accelerator_year": "[Fixed $/acc-year]",
            "variable_usd_per_accelerator_hour": "[Variable $/acc-h]",
            "runs_per_month": "[Runs/month]",
            "cost_usd_per_month": "[Cost per month ($)]",
        }

        def f(template: str, ok: bool = live) -> tuple[str, Any]:
            return ("f", template) if ok else ("v", math.nan)

        cells.append(
            {
                **_option_cells(i, rec, f"{n:g}x{acc}"),
                "Accelerators": ("v", n),
                "Per instance": ("v", float(per)),
                "Throughput source": ("v", rec["throughput_source"]),
                "Wall h (uninterrupted)": wall,
                "Spot time factor": f(factor),
                "Wall h (paid)": f(_cells(F.PAID_WALL_HOURS, row)),
                "Billed accelerators": ("f", _cells(F.BILLED_ACCELERATORS, row)),
                "Acc-hours per run": f(_cells(F.ACCELERATOR_HOURS_PER_RUN, row)),
                "Fixed $/acc-year": ("f", fixed),
                "Variable $/acc-h": ("f", variable),
                "Runs/month": ("f", runs),
                "Cost per month ($)": f(_cells(F.RUN_MONTH_COST, row)),
                "Cost per run ($)": f(_cells(F.COST_PER_RUN, row)),
                "Cost per year ($)": f(_cells(F.COST_PER_YEAR, row)),
                "Effective $/acc-h": f(_cells(F.RUN_EFFECTIVE_USD_PER_ACCELERATOR_HOUR, row)),
                "Cost per run low ($) (value)": ("v", rec["cost_usd_low"]),
                "Cost per run high ($) (value)": ("v", rec["cost_usd_high"]),
                **_price_cells(rec),
            }
        )
    columns: list[tuple[str, str | None]] = [
        *_OPTION_COLUMNS, ("Accelerators", "0"),
        ("Per instance", "0"), ("Throughput source", None), ("Wall h (uninterrupted)", "#,##0.00"),
        ("Spot time factor", "0.0000"), ("Wall h (paid)", "#,##0.00"), ("Billed accelerators", "0"),
        ("Acc-hours per run", "#,##0.0"), ("Fixed $/acc-year", USD), ("Variable $/acc-h", '"$"#,##0.0000'),
        ("Runs/month", NUMBER), ("Cost per month ($)", USD), ("Cost per run ($)", USD),
        ("Cost per year ($)", USD), ("Effective $/acc-h", '"$"#,##0.0000'),
        ("Cost per run low ($) (value)", USD), ("Cost per run high ($) (value)", USD),
        *_PRICE_COLUMNS,
    ]  # fmt: skip
    columns += _budget_cells(book, rows, cells, training=True)
    return _estimate_book(
        book,
        columns,
        cells,
        title="Training",
        chart_column="Cost per month ($)",
        chart_title="Training cost per month by option",
        note=_NOTE,
    )


def _budget_cells(
    book: AssumptionRows,
    rows: pd.DataFrame,
    cells: Sequence[dict[str, tuple[str, Any]]],
    *,
    training: bool,
) -> list[tuple[str, str | None]]:
    """With a budget (``budget_usd`` in the rows, :mod:`tco.model.budget`): the budget as an input and, per
    row, the share used, the over-budget verdict and (training) the tokens or samples it buys, as live
    formulas (``BUDGET_USED``, ``OVER_BUDGET``, ``WORK_WITHIN_BUDGET``) over the row's cost; added to
    ``cells`` in place. Returns the columns to append (none without a budget)."""
    from tco.model import formulas as F

    if "budget_usd" not in rows or rows.empty:
        return []
    first = rows.iloc[0]
    per = str(first["budget_per"])
    flag = "--budget-usd" + (" --budget-per month" if per == "month" and training else "")
    budget = book.add(
        "budget_usd", "Budget", f"budget per {per}", float(first["budget_usd"]), "$", f"command line ({flag})"
    )
    cost = "[Cost per run ($)]" if per == "run" else "[Cost per month ($)]"
    columns: list[tuple[str, str | None]] = [("Budget used", "0.0%"), ("Over budget", None)]
    work: dict[str, str] = {}
    if training:
        for column, header, unit in (
            ("tokens_per_run", "Tokens", "tokens"),
            ("samples_per_run", "Samples", "samples"),
        ):
            per_run = float(first[column])
            if not math.isnan(per_run):
                key = book.add(
                    f"budget.{column}", "Budget", f"training {unit} per run ({first['workload']})", per_run,
                    unit, str(first["workload_source"]),
                )  # fmt: skip
                work[f"{header} within budget"] = key if per == "run" else f"{key}*[Runs/month]"
                columns.append((f"{header} within budget", "#,##0"))
    for rec, row_cells in zip(rows.to_dict("records"), cells, strict=True):
        live = not math.isnan(float(rec["budget_used"]))
        row_cells["Budget used"] = (
            ("f", F.BUDGET_USED.excel(cost_usd=cost, budget_usd=budget)) if live else ("v", None)
        )
        row_cells["Over budget"] = (
            ("f", F.OVER_BUDGET.excel(cost_usd=cost, budget_usd=budget)) if live else ("v", None)
        )
        for header, amount in work.items():
            formula = F.WORK_WITHIN_BUDGET.excel(work=amount, budget_usd=budget, cost_usd=cost)
            row_cells[header] = ("f", formula) if live else ("v", math.nan)
    return columns


def serving_workbook(
    rows: pd.DataFrame,
    assumptions: ServingAssumptions,
    ownership: Mapping[str, OwnershipParams] | None = None,
) -> bytes:
    """``tco estimate serve`` rows as a workbook with live formulas over an Assumptions sheet.

    Per row, the definitions of :mod:`tco.model.formulas` that :mod:`tco.model.serving` evaluates:
    ``REPLICAS`` (with headroom), ``REPLICA_INSTANCES``, ``WHOLE_INSTANCE_ACCELERATORS``,
    ``SERVING_HOURS_PER_MONTH``, ``HELD_MONTH_COST``, ``COST_PER_1M_OUTPUT_TOKENS``, ``COST_PER_1M_TOKENS``,
    ``COST_PER_1K_REQUESTS`` and the split prices ``SPLIT_USD_PER_1M_INPUT_TOKENS`` /
    ``SPLIT_USD_PER_1M_OUTPUT_TOKENS``. Disaggregated rows size each pool by the same rule
    (``PREFILL_REPLICAS`` + ``DECODE_REPLICAS``) and their input share is the prefill pool's
    (``POOL_INPUT_COST_SHARE``): formulas too.

    The requests per second one replica (or pool replica) serves is the model's answer (engine, batch,
    TTFT/TPOT targets, MBU, compute efficiency), as is an aggregated replica's prefill share of its time:
    inputs here, with their source.
    """
    book = AssumptionRows(braced=True)
    first = rows.iloc[0] if len(rows) else None
    wl = str(first["workload"]) if first is not None else "workload"

    def first_value(column: str) -> float:
        return float(first[column]) if first is not None else math.nan

    traffic = {
        name: book.add(name, "Traffic", f"{what} ({wl})" if name == "requests_per_s" else what,
                       first_value(name), unit, source)
        for name, what, unit, source in (
            ("requests_per_s", "requests per second", "req/s", "command line"),
            ("output_tokens", "output tokens per request", "tokens", "command line"),
            ("prompt_tokens", "prompt tokens per request", "tokens", "command line"),
            ("hours_per_day", "hours served per day", "h/day", "command line (--hours-per-day)"),
        )
    }  # fmt: skip
    headroom = book.add(
        "headroom", "Efficiency", "spare replica capacity over the request rate", assumptions.headroom.value,
        "fraction", assumptions.headroom.source,
    )  # fmt: skip
    split = bool(len(rows)) and rows["layout"].eq("disaggregated").any()
    cells = [
        _serving_cells(book, i, {str(k): v for k, v in raw.items()}, traffic, headroom, ownership or {})
        for i, raw in enumerate(rows.to_dict("records"), start=1)
    ]
    money4 = '"$"#,##0.0000'
    pools = [("Prefill req/s per replica", "0.000"), ("Decode req/s per replica", "0.000"),
             ("Prefill replicas", "0"), ("Decode replicas", "0")] if split else []  # fmt: skip
    columns: list[tuple[str, str | None]] = [
        *_OPTION_COLUMNS, ("Engine", None), ("Layout", None), ("Per replica", "0"), ("Per instance", "0"),
        ("Throughput source", None), ("Req/s per replica", "0.000"), *pools, ("Replicas", "0"),
        ("Instances", "0"), ("Billed accelerators", "0"), ("Hours/month", "#,##0.0"),
        ("Fixed $/acc-year", USD), ("Variable $/acc-h", money4), ("Cost per month ($)", USD),
        ("Cost per year ($)", USD), ("$ per 1M output tokens", money4), ("$ per 1M tokens", money4),
        ("$ per 1k requests", money4), ("Input cost share", "0.0%"),
        ("$ per 1M input tokens (split)", money4), ("$ per 1M output tokens (split)", money4),
        ("Cost per month low ($) (value)", USD),
        ("Cost per month high ($) (value)", USD), *_PRICE_COLUMNS,
    ]  # fmt: skip
    columns += _budget_cells(book, rows, cells, training=False)
    return _estimate_book(
        book,
        columns,
        cells,
        title="Serving",
        chart_column="Cost per month ($)",
        chart_title="Serving cost per month by option",
        note=_NOTE,
    )


def _serving_cells(
    book: AssumptionRows,
    i: int,
    rec: Mapping[str, Any],
    traffic: Mapping[str, str],
    headroom: str,
    ownership: Mapping[str, OwnershipParams],
) -> dict[str, tuple[str, Any]]:
    """Row ``i`` of the serving sheet: its inputs on the Assumptions sheet and the formulas over them."""
    from tco.model import formulas as F

    acc, t = str(rec["accelerator"]), float(rec["accelerators_per_replica"])
    pooled = rec.get("layout") == "disaggregated"
    live = not math.isnan(float(rec["requests_per_s_per_replica"]))
    source = (
        f"tco.model.serving at these token counts ({rec['engine_label']}; {rec['throughput_source']}; MBU "
        f"{rec['mbu']:g}: {rec['mbu_source']}; prefill efficiency {rec['prefill_flops_efficiency']:g}: "
        f"{rec['prefill_flops_efficiency_source']})"
    )
    replica = f"{t:g} x {acc} replica"
    inputs: dict[str, str] = {}
    if pooled:
        for pool, what in (("prefill", "prefill (p99 TTFT)"), ("decode", "decode (TPOT)")):
            inputs[f"{pool}_requests_per_s_per_replica"] = book.add(
                f"{pool}_rps.{i}", "Throughput", f"row {i}: requests/s per {what} {replica}",
                float(rec[f"{pool}_requests_per_s_per_replica"]), "req/s", source,
            )  # fmt: skip
    else:
        inputs["requests_per_s_per_replica"] = book.add(
            f"rps.{i}", "Throughput",
            f"row {i}: requests/s per {replica} within the targets (batch {rec['batch_size']:g}, "
            f"{rec['tokens_per_s_per_replica']:,.0f} output tokens/s)",
            float(rec["requests_per_s_per_replica"]), "req/s", source,
        )  # fmt: skip
        inputs["input_cost_share"] = book.add(
            f"input_share.{i}", "Throughput",
            f"row {i}: share of the replica's time prefill takes at the offered load",
            float(rec["input_cost_share"]), "fraction", f"{source}: (step - decode-only step) / step",
        )  # fmt: skip
    fixed, variable = _prices(book, i, rec, ownership)
    row = {
        **traffic, **inputs, "headroom": headroom, "min_replicas": "1", "replicas": "[Replicas]",
        "requests_per_s_per_replica": inputs.get("requests_per_s_per_replica", "[Req/s per replica]"),
        "prefill_replicas": "[Prefill replicas]", "decode_replicas": "[Decode replicas]",
        "accelerators_per_instance": "[Per instance]", "accelerators_per_replica": "[Per replica]",
        "instances": "[Instances]", "billed_accelerators": "[Billed accelerators]",
        "hours_per_month": "[Hours/month]", "fixed_usd_per_accelerator_year": "[Fixed $/acc-year]",
        "variable_usd_per_accelerator_hour": "[Variable $/acc-h]",
        "cost_usd_per_month": "[Cost per month ($)]", "input_cost_share": "[Input cost share]",
    }  # fmt: skip

    def f(formula: Expr) -> tuple[str, Any]:
        return ("f", _cells(formula, row)) if live else ("v", math.nan)

    if pooled:
        sized = {
            "Prefill req/s per replica": ("f", inputs["prefill_requests_per_s_per_replica"]),
            "Decode req/s per replica": ("f", inputs["decode_requests_per_s_per_replica"]),
            "Prefill replicas": f(F.PREFILL_REPLICAS),
            "Decode replicas": f(F.DECODE_REPLICAS),
            "Replicas": f(F.POOL_REPLICAS),
            "Input cost share": f(F.POOL_INPUT_COST_SHARE),
        }
    else:
        sized = {
            "Req/s per replica": ("f", inputs["requests_per_s_per_replica"]),
            "Replicas": f(F.REPLICAS),
            "Input cost share": ("f", inputs["input_cost_share"]),
        }
    instances = F.REPLICA_INSTANCES.bind(replicas_per_instance=F.REPLICAS_PER_INSTANCE)
    return {
        **_option_cells(i, rec, f"{t:g}x{acc}/replica {rec['engine']} {rec['layout']}"),
        "Engine": ("v", rec["engine_label"]), "Layout": ("v", rec["layout"]), "Per replica": ("v", t),
        "Per instance": ("v", float(rec["accelerators_per_instance"])),
        "Throughput source": ("v", rec["throughput_source"]), **sized,
        "Instances": f(instances), "Billed accelerators": f(F.WHOLE_INSTANCE_ACCELERATORS),
        "Hours/month": ("f", _cells(F.SERVING_HOURS_PER_MONTH, row)), "Fixed $/acc-year": ("f", fixed),
        "Variable $/acc-h": ("f", variable), "Cost per month ($)": f(F.HELD_MONTH_COST),
        "Cost per year ($)": f(F.COST_PER_YEAR), "$ per 1M output tokens": f(F.COST_PER_1M_OUTPUT_TOKENS),
        "$ per 1M tokens": f(F.COST_PER_1M_TOKENS), "$ per 1k requests": f(F.COST_PER_1K_REQUESTS),
        "$ per 1M input tokens (split)": f(F.SPLIT_USD_PER_1M_INPUT_TOKENS),
        "$ per 1M output tokens (split)": f(F.SPLIT_USD_PER_1M_OUTPUT_TOKENS),
        "Cost per month low ($) (value)": ("v", rec["cost_usd_per_month_low"]),
        "Cost per month high ($) (value)": ("v", rec["cost_usd_per_month_high"]), **_price_cells(rec),
    }  # fmt: skip
