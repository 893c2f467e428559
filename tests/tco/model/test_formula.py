"""The expression layer: one definition, evaluated on arrays and written as a spreadsheet formula. Every cost
formula of :mod:`tco.model.formulas`, recalculated by LibreOffice from its own workbook rendering, equals
what the model computes from it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from tco.errors import TcoError
from tco.model import formulas as F
from tco.model.formula import Expr, ceil, maximum, var, where
from tests.tco.test_xlsx import libreoffice, recalculate


def test_nan_in_nan_out_also_through_comparisons_and_where() -> None:
    x = var("x")
    formula = where(x > 1, x * 2, 0) + maximum(1, ceil(x))
    values = formula.evaluate(x=np.array([0.5, 3.0, math.nan]))
    assert values[0] == pytest.approx(1.0) and values[1] == pytest.approx(9.0) and math.isnan(values[2])


def test_rendering_keeps_the_meaning_of_the_tree() -> None:
    a, b, c = var("a"), var("b"), var("c")
    assert (a - (b - c)).excel(a="A1", b="B1", c="C1") == "A1-(B1-C1)"
    assert (a / (b * c)).excel(a="A1", b="B1", c="C1") == "A1/(B1*C1)"
    assert ((a + b) ** c).excel(a="A1", b="B1", c="C1") == "(A1+B1)^C1"
    assert (a * -2).excel(a="A1") == "A1*(-2)"
    assert (a * 1e12).excel(a="{peak}") == "{peak}*1e12"
    assert (a * b).excel(a="x+y", b="[Runs/month]") == "(x+y)*[Runs/month]"
    assert (a * b).bind(b=c + 1).excel(a="A1", c="C1") == "A1*(C1+1)"
    with pytest.raises(TcoError, match="needs a reference for b"):
        (a * b).excel(a="A1")
    with pytest.raises(TcoError, match="formula needs b"):
        (a * b).evaluate(a=1.0)


def _formulas() -> dict[str, Expr]:
    return {name: value for name, value in vars(F).items() if isinstance(value, Expr) and name.isupper()}


def _inputs(names: frozenset[str], rows: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Plausible positive inputs per variable; fractions below 1; both branches of every IF."""
    values: dict[str, np.ndarray] = {}
    for name in sorted(names):
        if name == "discount_rate":
            values[name] = np.where(np.arange(rows) % 2 == 0, 0.0, rng.uniform(0.02, 0.1, rows))
        elif name == "month":
            values[name] = np.arange(1, rows + 1, dtype=float)
        elif "fraction" in name or name in ("utilisation", "headroom", "growth_per_month", "mfu", "goodput"):
            values[name] = rng.uniform(0.05, 0.95, rows)
        elif name == "interruptions_per_instance_hour":
            values[name] = np.where(np.arange(rows) % 3 == 0, 0.0, rng.uniform(0.001, 0.5, rows))
        else:
            values[name] = rng.uniform(0.5, 40.0, rows).round(3)
    return values


def test_every_formula_is_evaluated_and_rendered_from_one_definition() -> None:
    formulas = _formulas()
    assert {"WALL_HOURS", "RUN_MONTH_COST", "HELD_MONTH_COST", "REPLICAS", "DEMAND_MONTH_COST"} <= set(
        formulas
    )
    for name, formula in formulas.items():
        assert formula.names, name
        text = formula.excel(**{v: f"{{{v}}}" for v in formula.names})
        assert all(f"{{{v}}}" in text for v in formula.names), name


@libreoffice
def test_libreoffice_recalculates_every_formula_to_the_models_numbers(tmp_path: Path) -> None:
    """Each formula on a sheet of its own: input columns, then its rendering over them; LibreOffice's value
    equals ``evaluate`` on the same inputs (relative 1e-9) in every row."""
    from openpyxl.utils import get_column_letter

    rng = np.random.default_rng(9)
    rows = 12
    book = openpyxl.Workbook()
    book.remove(book.active)
    expected: dict[str, np.ndarray] = {}
    for name, formula in _formulas().items():
        inputs = _inputs(formula.names, rows, rng)
        expected[name] = formula.evaluate(**inputs)
        ws = book.create_sheet(name[:31])
        columns = sorted(inputs)
        for j, column in enumerate(columns, start=1):
            ws.cell(row=1, column=j, value=column)
            for i in range(rows):
                ws.cell(row=i + 2, column=j, value=float(inputs[column][i]))
        out = len(columns) + 1
        for i in range(rows):
            refs = {c: f"{get_column_letter(j)}{i + 2}" for j, c in enumerate(columns, start=1)}
            ws.cell(row=i + 2, column=out, value="=" + formula.excel(**refs))
    path = tmp_path / "formulas.xlsx"
    book.save(path)
    (recalculated,) = recalculate([path], tmp_path)
    result = openpyxl.load_workbook(recalculated, data_only=True)
    for name, values in expected.items():
        ws = result[name[:31]]
        got = [ws.cell(row=i + 2, column=ws.max_column).value for i in range(rows)]
        assert all(isinstance(g, float | int) for g in got), (name, got)
        assert np.allclose(np.asarray(got, dtype=float), values, rtol=1e-9, atol=1e-9), (name, got, values)
