"""CSV/JSON exports are safe to open in a spreadsheet and keep missing values missing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from tco.errors import TcoError
from tco.export.base import neutralise, write_atomic
from tco.export.csv import render as render_csv
from tco.export.json import render as render_json

EVIL = '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize("text", [EVIL, "+1", "-2+3", "@SUM(A1)", "\tx"])
def test_formula_prefixes_are_neutralised(text: str) -> None:
    assert neutralise(text) == "'" + text


def test_a_carriage_return_is_a_line_break_and_controls_are_visible() -> None:
    assert neutralise("\rx") == "\nx"  # no reader splits a row where the text did not
    assert neutralise("ok\r=1+1") == "ok\n=1+1"
    assert neutralise("a\r\nb") == "a\nb"
    assert neutralise("\x1b[31mred") == "\u241b[31mred"  # ESC shown as ␛: no escape sequence
    assert neutralise("\x07\x7f\x9b") == "\u2407\u2421\ufffd"
    assert neutralise("tab\tand\nnewline") == "tab\tand\nnewline"


def test_csv_and_json_neutralise_text_but_not_numbers() -> None:
    frame = pd.DataFrame(
        {"instance_type": [EVIL, "p5.48xlarge"], "price_usd_per_hour": [-1.5, 55.04], "note": [None, "-fine"]}
    )
    rows = list(csv.DictReader(io.StringIO(render_csv(frame).decode())))
    assert rows[0]["instance_type"] == "'" + EVIL
    assert rows[0]["price_usd_per_hour"] == "-1.5"  # a number, not text: left alone
    assert rows[1]["note"] == "'-fine" and rows[0]["note"] == ""
    records = json.loads(render_json(frame))
    assert records[0]["instance_type"] == "'" + EVIL and records[0]["price_usd_per_hour"] == -1.5
    assert records[0]["note"] is None  # missing stays missing
    assert list(records[0]) == ["instance_type", "price_usd_per_hour", "note"]


def test_json_nan_is_null() -> None:
    assert json.loads(render_json(pd.DataFrame({"x": [float("nan"), 1.0]}))) == [{"x": None}, {"x": 1.0}]


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    write_atomic(target, b"new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    with pytest.raises(TcoError, match="cannot write"):
        write_atomic(tmp_path / "missing" / "x.csv", b"x")
