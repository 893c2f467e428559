"""XLSX export: live formulas that LibreOffice recalculates to tco's totals (to the cent), also after an
assumption is edited; and no provider string ever reaches a cell as a formula (CSV and XLSX)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from calibrate.peaks import load_peaks
from pricing.catalog import load_catalog
from tco.export.csv import render as render_csv
from tco.export.xlsx import plan_workbook, resolve
from tco.export.xlsx import render as render_xlsx
from tco.plan.budget import PlanResult
from tco.plan.scenario import load_scenario
from tests.tco.helpers import plan_result

ROOT = Path(__file__).resolve().parents[2]
EVIL = '=HYPERLINK("http://x","y")'
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
libreoffice = pytest.mark.libreoffice


#: Set to 1 to skip (not fail) the recalculation tests on a machine without LibreOffice.
SKIP_ENV = "TCO_SKIP_LIBREOFFICE"


def recalculate(paths: list[Path], out: Path) -> list[Path]:
    """One soffice run for all files: xlsx -> xlsx; openpyxl writes no cached values, so LO computes all.

    Without LibreOffice the calling test fails (a workbook nobody recalculated proves nothing), unless
    ``TCO_SKIP_LIBREOFFICE=1`` says to skip it; `make test` installs LibreOffice first."""
    if SOFFICE is None:
        message = "LibreOffice (soffice) is not installed: scripts/install_test_system_deps.sh"
        if os.environ.get(SKIP_ENV) == "1":
            pytest.skip(f"{message} ({SKIP_ENV}=1)")
        pytest.fail(f"{message}, or set {SKIP_ENV}=1 to skip the recalculation tests")
    profile = out / "lo-profile"
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--calc",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out / "recalc"),
            *map(str, paths),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    done = [out / "recalc" / p.name for p in paths]
    assert all(p.exists() for p in done), "LibreOffice produced no output"
    return done


def plan_for(path: Path, offers: pd.DataFrame | None = None, **changes: object) -> PlanResult:
    peaks = load_peaks()
    scenario = load_scenario(path, accelerators=set(peaks))
    if changes:
        scenario = replace(scenario, **changes)
    return plan_result(scenario, load_catalog().offers if offers is None else offers)


def totals(path: Path) -> tuple[float, list[float], list[float]]:
    wb = openpyxl.load_workbook(path, data_only=True)
    budget = wb["Budget"]
    grand = budget.cell(row=budget.max_row, column=budget.max_column).value
    options = [row[-1].value for row in wb["Options"].iter_rows(min_row=2)]
    monthly = [row[-1].value for row in budget.iter_rows(min_row=2, max_row=budget.max_row - 1)]
    return float(grand), [float(v) for v in options], [float(v) for v in monthly]


def test_formulas_reference_assumptions_not_constants(tmp_path: Path) -> None:
    result = plan_for(ROOT / "examples" / "llm_team.toml")
    path = tmp_path / "plan.xlsx"
    path.write_bytes(plan_workbook(result))
    wb = openpyxl.load_workbook(path)
    budget = wb["Budget"]
    for row in budget.iter_rows(min_row=2, max_row=budget.max_row, min_col=3):
        for cell in row:
            assert cell.data_type == "f", cell.coordinate
    assert "Assumptions!$D$" in budget["C2"].value
    assert budget.freeze_panes == "A2" and wb["Assumptions"].freeze_panes == "A2"
    assert budget._charts and wb["Options"]._charts
    keys = [c.value for c in wb["Assumptions"]["A"][1:]]
    assert "growth_per_month" in keys and any(str(k).startswith("price.") for k in keys)


def test_resolve_rejects_unknown_keys() -> None:
    from tco.errors import TcoError

    assert resolve("{a}*{m}", {"a": "S!$D$2"}, "$A3") == "=S!$D$2*$A3"
    with pytest.raises(TcoError):
        resolve("{b}", {"a": "x"})


@libreoffice
def test_libreoffice_totals_equal_tco_to_the_cent_also_after_edits(tmp_path: Path) -> None:
    examples = sorted((ROOT / "examples").glob("*.toml"))
    results = {p.stem: plan_for(p) for p in examples}
    files = []
    for stem, result in results.items():
        files.append(tmp_path / f"{stem}.xlsx")
        files[-1].write_bytes(plan_workbook(result))

    # edit 1: the cheapest option's training price, 10% down (the choice stays the cheapest)
    base = results["llm_team"]
    best = base.choices[(base.choices["rank"] == 1) & (base.choices["pricing_model"] != "owned")].iloc[0]
    edited = tmp_path / "price_edit.xlsx"
    wb = openpyxl.load_workbook(files[0] if files[0].stem == "llm_team" else files[1])
    sheet = wb["Assumptions"]
    row = next(c.row for c in sheet["A"] if c.value == best["price_key"])
    new_price = float(sheet.cell(row=row, column=4).value) * 0.9
    sheet.cell(row=row, column=4).value = new_price
    wb.save(edited)
    offers = load_catalog().offers.copy()
    hit = (
        (offers["provider"] == best["provider"])
        & (offers["region"] == best["region"])
        & (offers["instance_type"] == best["instance_type"])
        & (offers["pricing_model"] == best["pricing_model"])
    )
    # the model prices per accelerator-hour from the instance price (tco.model.offers.purchase_options)
    offers.loc[hit, "price_usd_per_hour"] = new_price * offers.loc[hit, "accelerator_count"]
    repriced = plan_for(ROOT / "examples" / "llm_team.toml", offers=offers)

    # edit 2: the run count of the vision team's training workload, 4 -> 7 a month
    vision = results["vision_startup"]
    runs = tmp_path / "runs_edit.xlsx"
    wb = openpyxl.load_workbook(tmp_path / "vision_startup.xlsx")
    sheet = wb["Assumptions"]
    row = next(c.row for c in sheet["A"] if c.value == "t1.runs_per_month")
    sheet.cell(row=row, column=4).value = 7
    wb.save(runs)
    scenario = vision.scenario
    more = plan_for(
        ROOT / "examples" / "vision_startup.toml",
        training=(replace(scenario.training[0], runs_per_month=7.0),),
    )

    # edit 3: an efficiency, the MFU of the cheapest option's fine-tune accelerator, x0.8 (acc-h ~ 1/MFU)
    tune = base.choices[(base.choices["rank"] == 1) & (base.choices["workload"] == "fine-tunes")].iloc[0]
    mfu_edit = tmp_path / "mfu_edit.xlsx"
    wb = openpyxl.load_workbook(tmp_path / "llm_team.xlsx")
    sheet = wb["Assumptions"]
    row = next(c.row for c in sheet["A"] if str(c.value).startswith(f"t2.mfu.{tune['accelerator']}."))
    old_mfu = float(sheet.cell(row=row, column=4).value)
    sheet.cell(row=row, column=4).value = old_mfu * 0.8
    wb.save(mfu_edit)
    tune_cost = float(base.budget["fine-tunes_usd"].sum())

    recalc = recalculate([*files, edited, runs, mfu_edit], tmp_path)
    for path in recalc[: len(files)]:
        result = results[path.stem]
        grand, options, monthly = totals(path)
        assert grand == pytest.approx(result.budget["total_usd"].sum(), abs=0.005)
        assert monthly == pytest.approx(list(result.budget["total_usd"]), abs=0.005)
        assert options == pytest.approx(list(result.options["total_usd"]), abs=0.005)

    grand, options, _ = totals(recalc[len(files)])
    assert grand != pytest.approx(base.budget["total_usd"].sum(), abs=1.0)  # the edit moved the total
    same = repriced.options.set_index("option")["total_usd"]
    assert grand == pytest.approx(float(same[best["option"]]), abs=0.005)

    grand, options, _ = totals(recalc[len(files) + 1])
    option = str(vision.best["option"])
    expected = more.options.set_index("option")["total_usd"][option]
    assert grand == pytest.approx(float(expected), abs=0.005)

    grand, _, _ = totals(recalc[len(files) + 2])
    expected = base.budget["total_usd"].sum() - tune_cost + tune_cost / 0.8
    assert grand == pytest.approx(float(expected), abs=0.005)
    assert grand > base.budget["total_usd"].sum() + 1.0


def test_hyperlink_instance_name_reaches_no_cell_as_a_formula(tmp_path: Path) -> None:
    offers = load_catalog().offers.copy()
    offers.loc[offers["accelerator"] == "T4", "instance_type"] = EVIL
    result = plan_for(ROOT / "examples" / "vision_startup.toml", offers=offers)
    assert (result.choices["instance_type"] == EVIL).any(), "the evil instance must be part of the plan"
    path = tmp_path / "evil.xlsx"
    path.write_bytes(plan_workbook(result))
    plain = tmp_path / "plain.xlsx"
    plain.write_bytes(render_xlsx(result.choices))
    seen = 0
    for book in (path, plain):
        for ws in openpyxl.load_workbook(book):
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and "HYPERLINK" in cell.value:
                        seen += 1
                        assert cell.data_type == "s", (book.name, ws.title, cell.coordinate)
                        assert not cell.value.startswith("=")
                    if cell.data_type == "f":
                        assert "HYPERLINK" not in str(cell.value)
    assert seen >= 2
    text = render_csv(result.choices).decode()
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert "'" + EVIL in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)


def test_plain_xlsx_render_keeps_numbers_and_missing(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": [EVIL, "ok"], "cost_usd": [1.5, float("nan")]})
    path = tmp_path / "plain.xlsx"
    path.write_bytes(render_xlsx(frame))
    ws = openpyxl.load_workbook(path)["Data"]
    assert ws["A2"].value == "'" + EVIL and ws["A2"].data_type == "s"
    assert ws["B2"].value == 1.5 and ws["B3"].value is None


@libreoffice
def test_procurement_workbook_recalculates_to_the_cent_also_after_a_price_edit(tmp_path: Path) -> None:
    from pricing.catalog import OfferFilter, filter_offers
    from tco.export.xlsx import procurement_workbook
    from tco.presets import owned_server
    from tco.procurement import cloud_offers, compare_procurement

    offers = filter_offers(load_catalog().offers, OfferFilter(accelerators=("H100-80GB",)))
    cloud, notes = cloud_offers(offers, "H100-80GB", assumed_discounts={"committed_1y": 0.3})
    result = compare_procurement(cloud, 20_000.0, owned_server("H100-80GB"), notes=notes)
    base = tmp_path / "procurement.xlsx"
    base.write_bytes(procurement_workbook(result))
    wb = openpyxl.load_workbook(base)
    sheet = wb["Assumptions"]
    ranking = result.ranking
    first = ranking[ranking["kind"] != "owned"].index[0]
    row = next(c.row for c in sheet["A"] if c.value == f"price.{first}")
    sheet.cell(row=row, column=4).value = float(sheet.cell(row=row, column=4).value) * 2
    edited = tmp_path / "procurement_edit.xlsx"
    wb.save(edited)
    recalc = recalculate([base, edited], tmp_path)

    headers = ("List $/acc-h", "Effective $/acc-h", "$ per month", "1 year ($)", "3 years ($)", "5 years ($)")

    def read(path: Path) -> list[list[float]]:
        ws = openpyxl.load_workbook(path, data_only=True)["Ranking"]
        at = {c.value: c.column - 1 for c in ws[1]}
        return [[float(r[at[h]].value) for h in headers] for r in ws.iter_rows(min_row=2)]

    got = read(recalc[0])
    columns = ["price_usd_per_accelerator_hour", "effective_usd_per_accelerator_hour", "cost_usd_per_month"]
    expected = ranking[[*columns, "cost_1y_usd", "cost_3y_usd", "cost_5y_usd"]].to_numpy().tolist()
    for have, want in zip(got, expected, strict=True):
        assert have == pytest.approx(want, abs=0.005)
    doubled = read(recalc[1])[first]
    assert doubled[5] == pytest.approx(2 * float(ranking.loc[first, "cost_5y_usd"]), abs=0.005)


@libreoffice
def test_libreoffice_recalculates_committed_and_owned_plans_to_the_cent(tmp_path: Path) -> None:
    """Held capacity in the workbook: the committed and owned month formulas (tco.model.purchase and
    tco.model.ownership twins) recalculate to the plan's numbers, also where the clusters held change."""
    from tests.tco.test_plan_estimate import committed_plan, owned_plan

    plans = {"committed": committed_plan(tmp_path)[0], "owned": owned_plan(tmp_path)}
    files = []
    for name, plan in plans.items():
        assert plan.choices.iloc[0]["pricing_model"] == ("committed_1y" if name == "committed" else "owned")
        files.append(tmp_path / f"{name}.xlsx")
        files[-1].write_bytes(plan_workbook(plan))
    # edit: the owned capex x1.2 moves only the held (fixed) part; tco's own plan with the same capex agrees
    owned = plans["owned"]
    capex = tmp_path / "capex_edit.xlsx"
    wb = openpyxl.load_workbook(files[1])
    sheet = wb["Assumptions"]
    row = next(c.row for c in sheet["A"] if c.value == "own.H100-80GB.capex_usd_per_accelerator")
    new_capex = float(sheet.cell(row=row, column=4).value) * 1.2
    sheet.cell(row=row, column=4).value = new_capex
    wb.save(capex)
    server = owned.scenario.ownership["H100-80GB"]
    dearer = replace(server, params=server.params.with_overrides(capex_usd_per_accelerator=new_capex))
    repriced = plan_result(replace(owned.scenario, ownership={"H100-80GB": dearer}), load_catalog().offers)
    assert repriced.choices.iloc[0]["pricing_model"] == "owned"

    recalc = recalculate([*files, capex], tmp_path)
    for path, plan in zip(recalc, plans.values(), strict=False):
        grand, options, monthly = totals(path)
        assert monthly == pytest.approx(list(plan.budget["total_usd"]), abs=0.005)
        assert grand == pytest.approx(plan.budget["total_usd"].sum(), abs=0.005)
        assert options == pytest.approx(list(plan.options["total_usd"]), abs=0.005)
    grand, _, _ = totals(recalc[2])
    assert grand > owned.budget["total_usd"].sum() + 1.0
    option = str(owned.best["option"])
    assert grand == pytest.approx(float(repriced.options.set_index("option")["total_usd"][option]), abs=0.005)


def test_a_missing_libreoffice_fails_unless_skipping_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setattr(sys.modules[__name__], "SOFFICE", None)
    monkeypatch.delenv(SKIP_ENV, raising=False)
    with pytest.raises(pytest.fail.Exception, match=r"LibreOffice \(soffice\) is not installed"):
        recalculate([tmp_path / "x.xlsx"], tmp_path)
    monkeypatch.setenv(SKIP_ENV, "1")
    with pytest.raises(pytest.skip.Exception):
        recalculate([tmp_path / "x.xlsx"], tmp_path)
