"""`tco estimate train|serve --format xlsx`: a workbook whose cost cells are live formulas over an Assumptions
sheet. LibreOffice recalculates it to tco's own numbers to the cent, also after a price, a run count, an MFU
(training) or a request rate (serving) is edited: each edited workbook is checked against tco re-run at the
edited value. One soffice run converts every workbook (it is slow)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from pricing.catalog import load_catalog
from tco.export.xlsx import training_workbook
from tco.model.assumptions import TrainingAssumptions
from tco.model.offers import purchase_options
from tco.model.training import project_training
from tco.presets import hardware_table, load_mfu_defaults, ownership_params
from tests.tco.test_xlsx import libreoffice, recalculate

TRAIN = ("estimate", "train", "--params", "7e9", "--tokens", "2e11", "-a", "H100-80GB", "-n", "8,64",
         "--framework", "torch", "--scaling-efficiency", "0.9", "--all-instances", "--top", "0")  # fmt: skip
SERVE = ("estimate", "serve", "--model", "llama-2-70b", "-a", "H100-80GB", "--framework", "torch",
         "--layout", "all", "--all-instances", "--top", "0")  # fmt: skip
CENT = 0.005


def run(cli: Any, args: tuple[str, ...], *extra: str, xlsx: Path | None = None) -> list[dict[str, Any]]:
    """tco's rows as JSON; with ``xlsx`` also the workbook of the same command."""
    result = cli(*args, *extra, "--format", "json")
    assert result.exit_code == 0, result.stderr
    if xlsx is not None:
        written = cli(*args, *extra, "--format", "xlsx", "--output", str(xlsx))
        assert written.exit_code == 0, written.stderr
        assert written.stdout == ""
    rows: list[dict[str, Any]] = result.json()
    return rows


def edit(src: Path, dst: Path, values: dict[str, float]) -> None:
    """Set Assumptions values by key (a key ending in ``*`` matches a prefix); every key must exist."""
    wb = openpyxl.load_workbook(src)
    ws = wb["Assumptions"]
    hits = dict.fromkeys(values, 0)
    for row in ws.iter_rows(min_row=2):
        for key, value in values.items():
            name = str(row[0].value)
            if name == key or (key.endswith("*") and name.startswith(key[:-1])):
                row[3].value = value
                hits[key] += 1
    assert all(hits.values()), f"keys not on the Assumptions sheet: {hits}"
    wb.save(dst)


def sheet(path: Path, title: str) -> list[dict[str, Any]]:
    ws = openpyxl.load_workbook(path, data_only=True)[title]
    header = [c.value for c in ws[1]]
    return [
        dict(zip(header, row, strict=True))
        for row in ws.iter_rows(min_row=2, values_only=True)
        if isinstance(row[0], int | float)
    ]


def _size(row: dict[str, Any]) -> float:
    return float(row["accelerator_count"] if "accelerator_count" in row else row["accelerators_per_replica"])


def same_to_the_cent(got: list[dict[str, Any]], want: list[dict[str, Any]], pairs: dict[str, str]) -> int:
    """Every workbook row's recalculated costs equal tco's row for the same option to the cent; returns the
    number of cells checked."""
    assert len(got) > 0
    by_key = {
        (w["provider"], w["region"], w["instance_type"], w["pricing_model"], _size(w), w.get("layout")): w
        for w in want
    }
    assert len(by_key) == len(want)
    checked = 0
    for g in got:
        size = g["Accelerators"] if "Accelerators" in g else g["Per replica"]
        key = (g["Provider"], g["Region"], g["Instance"], g["Pricing"], float(size), g.get("Layout"))
        w = by_key[key]
        for column, field in pairs.items():
            expected = w[field]
            if expected is None or (isinstance(expected, float) and math.isnan(expected)):
                assert g[column] is None, (column, g)
                continue
            assert g[column] == pytest.approx(expected, abs=CENT), (column, g["Option"], g[column], expected)
            checked += 1
    return checked


TRAIN_COSTS = {
    "Cost per run ($)": "cost_usd_per_run",
    "Cost per month ($)": "cost_usd_per_month",
    "Cost per year ($)": "cost_usd_per_year",
}
SERVE_COSTS = {
    "Replicas": "replicas",
    "Instances": "instances",
    "Cost per month ($)": "cost_usd_per_month",
    "Cost per year ($)": "cost_usd_per_year",
    "$ per 1M output tokens": "cost_usd_per_1m_output_tokens",
    "$ per 1M tokens": "cost_usd_per_1m_tokens",
    "$ per 1k requests": "cost_usd_per_1k_requests",
}
#: The split prices; an aggregated replica's prefill share is the model's number at the offered load (an
#: input of the workbook, as the requests/s per replica), so it holds at the rate it was computed for.
SERVE_SPLIT = {
    "Input cost share": "input_cost_share",
    "$ per 1M input tokens (split)": "split_usd_per_1m_input_tokens",
    "$ per 1M output tokens (split)": "split_usd_per_1m_output_tokens",
}
#: Disaggregated rows: each pool sized by its own formula.
SERVE_POOLS = {"Prefill replicas": "prefill_replicas", "Decode replicas": "decode_replicas"}


def committed_workbook(path: Path, runs: float) -> pd.DataFrame:
    """A synthetic committed_1y offer (60% of an on-demand p5.48xlarge list price) beside the on-demand one
    and an owned node, projected by the model and written as a workbook (the library path of the CLI)."""
    offers = load_catalog().offers
    base = offers[
        offers["provider"].eq("aws")
        & offers["instance_type"].eq("p5.48xlarge")
        & offers["pricing_model"].eq("on_demand")
    ].head(1)
    assert len(base) == 1
    committed = base.assign(pricing_model="committed_1y", price_usd_per_hour=base["price_usd_per_hour"] * 0.6)
    options = purchase_options(pd.concat([base, committed], ignore_index=True))
    found = ownership_params("H100-80GB")
    assert found is not None
    params, node = found
    from tco.model.offers import owned_options
    from tco.model.ownership import ownership_costs

    owned = owned_options(
        ownership_costs(params.to_frame()).assign(
            accelerator="H100-80GB", accelerators_per_instance=float(node), ownership_source="test"
        )
    )
    options = pd.concat([options, owned], ignore_index=True)
    workload = pd.DataFrame(
        [{"workload": "7B", "kind": "tokens", "params": 7e9, "tokens": 2e11, "dtype": "bf16",
          "workload_source": "test"}]
    )  # fmt: skip
    a = TrainingAssumptions().with_overrides(scaling_efficiency_override=0.9)
    rows = project_training(
        workload,
        options,
        hardware_table(["H100-80GB"]),
        counts=[8, 64],
        frameworks=["torch"],
        mfu_defaults=load_mfu_defaults(),
        runs_per_month=[runs],
        assumptions=a,
    )
    rows = rows[rows["feasible"]].reset_index(drop=True)
    assert set(rows["billing"]) == {"usage", "commitment", "owned"}
    path.write_bytes(training_workbook(rows, a, {"H100-80GB": params}))
    return rows


def test_xlsx_without_output_fails_with_one_line(cli: Any) -> None:
    for args in (TRAIN, SERVE):
        result = cli(*args, "--format", "xlsx")
        assert result.exit_code == 2  # a usage error
        assert result.stdout == ""
        assert result.stderr.strip().splitlines() == [
            f"error: --format xlsx writes a workbook: add --output FILE.xlsx (see 'tco {' '.join(args[:2])} "
            "--help')"
        ]


def test_cost_cells_are_formulas_over_the_assumptions(cli: Any, tmp_path: Path) -> None:
    run(cli, TRAIN, xlsx=tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    ws = wb["Training"]
    header = [c.value for c in ws[1]]
    assert ws.freeze_panes == "A2"
    assert ws._charts, "a native chart of cost by option"
    keys = [str(r[0].value) for r in wb["Assumptions"].iter_rows(min_row=2)]
    for key in ("goodput", "runs_per_month", "peak.H100-80GB.bf16", "scaling.H100-80GB.n8.x8"):
        assert key in keys
    assert any(k.startswith("mfu.H100-80GB.") for k in keys)
    assert any(k.startswith("price.") for k in keys) and any(k.startswith("own.H100-80GB.") for k in keys)
    sources = {str(r[0].value): str(r[5].value) for r in wb["Assumptions"].iter_rows(min_row=2)}
    assert all("as of" in v for k, v in sources.items() if k.startswith("price."))
    for column in ("Cost per run ($)", "Cost per month ($)", "Cost per year ($)", "Acc-hours per run"):
        cells = [ws.cell(row=r, column=header.index(column) + 1) for r in range(2, ws.max_row + 1)]
        formulas = [c.value for c in cells if c.value is not None]
        assert formulas and all(str(f).startswith("=") for f in formulas)
    assert ws.cell(row=2, column=header.index("Cost per run ($)") + 1).number_format.startswith('"$"')


@libreoffice
def test_estimate_workbooks_recalculate_to_the_cent_also_after_edits(cli: Any, tmp_path: Path) -> None:
    d = tmp_path
    # training: catalog prices (on-demand, spot, owned), 2 runs/month
    train = run(cli, TRAIN, "--runs-per-month", "2", xlsx=d / "train.xlsx")
    assert {"spot", "owned", "on_demand"} <= {r["pricing_model"] for r in train}
    edit(d / "train.xlsx", d / "train_runs.xlsx", {"runs_per_month": 5.0})
    train_runs = run(cli, TRAIN, "--runs-per-month", "5")
    edit(d / "train.xlsx", d / "train_mfu.xlsx", {"mfu.*": 0.3})
    train_mfu = run(cli, TRAIN, "--runs-per-month", "2", "--mfu", "0.3")
    # a price edit: every row priced by --price-usd-per-hour 3, edited to 4.5
    priced = run(cli, TRAIN, "--price-usd-per-hour", "3", xlsx=d / "priced.xlsx")
    edit(d / "priced.xlsx", d / "priced_edit.xlsx", {"price.*": 4.5})
    priced_edit = run(cli, TRAIN, "--price-usd-per-hour", "4.5")
    # a commitment (paid whether used or not) and owned hardware, at 1 and 40 runs a month
    committed = committed_workbook(d / "committed.xlsx", 1.0)
    edit(d / "committed.xlsx", d / "committed_runs.xlsx", {"runs_per_month": 40.0})
    committed_runs = committed_workbook(d / "committed_40.xlsx", 40.0)
    # serving: catalog prices; the request rate and a price edited
    serve = run(cli, SERVE, xlsx=d / "serve.xlsx")
    edit(d / "serve.xlsx", d / "serve_rate.xlsx", {"requests_per_s": 7.0})
    serve_rate = run(cli, SERVE, "--requests-per-s", "7")
    serve_priced = run(cli, SERVE, "--price-usd-per-hour", "3", xlsx=d / "serve_priced.xlsx")
    edit(d / "serve_priced.xlsx", d / "serve_priced_edit.xlsx", {"price.*": 2.25})
    serve_priced_edit = run(cli, SERVE, "--price-usd-per-hour", "2.25")

    names = ["train", "train_runs", "train_mfu", "priced", "priced_edit", "committed", "committed_runs",
             "serve", "serve_rate", "serve_priced", "serve_priced_edit"]  # fmt: skip
    done = dict(zip(names, recalculate([d / f"{n}.xlsx" for n in names], d), strict=True))

    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]

    checked = 0
    for name, want in (("train", train), ("train_runs", train_runs), ("train_mfu", train_mfu),
                       ("priced", priced), ("priced_edit", priced_edit)):  # fmt: skip
        checked += same_to_the_cent(sheet(done[name], "Training"), want, TRAIN_COSTS)
    checked += same_to_the_cent(sheet(done["committed"], "Training"), records(committed), TRAIN_COSTS)
    checked += same_to_the_cent(
        sheet(done["committed_runs"], "Training"), records(committed_runs), TRAIN_COSTS
    )
    assert {r["layout"] for r in serve} == {"aggregated", "disaggregated"}
    for name, want in (("serve", serve), ("serve_priced", serve_priced),
                       ("serve_priced_edit", serve_priced_edit)):  # fmt: skip
        checked += same_to_the_cent(sheet(done[name], "Serving"), want, SERVE_COSTS | SERVE_SPLIT)
    rated = sheet(done["serve_rate"], "Serving")
    checked += same_to_the_cent(rated, serve_rate, SERVE_COSTS)
    pooled = [r for r in serve_rate if r["layout"] == "disaggregated"]
    assert pooled, "the rate edit must reach disaggregated rows"
    checked += same_to_the_cent(
        [r for r in rated if r["Layout"] == "disaggregated"], pooled, SERVE_POOLS | SERVE_SPLIT
    )
    # the rate edit moved the fleet (a test that could not fail would not)
    assert [r["Replicas"] for r in rated] != [r["Replicas"] for r in sheet(done["serve"], "Serving")]
    # the edits moved the totals (a test that could not fail would not)
    base = sheet(done["train"], "Training")[0]["Cost per month ($)"]
    assert sheet(done["train_mfu"], "Training")[0]["Cost per month ($)"] != pytest.approx(base)
    held = [r for r in sheet(done["committed"], "Training") if r["Pricing"] == "committed_1y"]
    assert held and all(r["Effective $/acc-h"] > 0 for r in held)
    assert checked > 100
