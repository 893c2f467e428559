"""Golden outputs: what every command prints (stdout and stderr, tables, CSV, JSON, workbook cells) for a
representative set of invocations, recorded before the library layer was cut out of the CLI (issue #9).

A change to a command's output fails here. Update a golden only for a deliberate, listed change, and say so
in the commit message::

    TCO_UPDATE_GOLDEN=1 python -m pytest tests/tco/test_golden.py

Comparisons: table text exactly; CSV and JSON cell by cell, numbers to a relative 1e-9 (the model may reorder
a float expression); workbook cells as written (formula text or value) and, recalculated by LibreOffice,
every result cell to the cent. Stale-price ages and temporary paths are normalised (they change by the day
and by the run).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from pricing.schema import PROVIDERS
from tests.tco.test_xlsx import libreoffice, recalculate

GOLDEN = Path(__file__).resolve().parent / "golden"
ROOT = Path(__file__).resolve().parents[2]
UPDATE = os.environ.get("TCO_UPDATE_GOLDEN") == "1"
REL = 1e-9

TRAIN_XLSX = "estimate train --params 7e9 --tokens 2e11 -a h100 -n 8,64 --runs-per-month 2"
#: name -> (command line, needs the calibration store). ``{out}`` is a file in a fresh temporary directory.
CASES: dict[str, tuple[str, bool]] = {
    "prices_list_h100_cheapest": ("prices list --accelerator h100 --cheapest", False),
    "prices_list_a100_spot_csv": ("prices list -a a100-80 -m spot --min-count 8 -f csv", False),
    "prices_list_tpu_json": ("prices list -a tpu-v5e --region us-central1 -f json", False),
    "prices_accelerators_json": ("prices accelerators -f json", False),
    "prices_snapshots": ("prices snapshots", False),
    "train_table": ("estimate train --model llama-2-7b -a h100 --count 64,256,1024", False),
    "train_benchmark_json": (
        "estimate train --params 6.9e10 --tokens 2e12 -a A100-80GB -n 2048 -f json",
        False,
    ),
    "train_explain": (
        "estimate train --model llama-2-7b -a h100 --count 64 --provider aws --top 2 --explain",
        False,
    ),
    "train_owned_csv": (
        "estimate train --model llama-2-70b -a h100 --pricing-model owned "
        "--set pue=1.3,electricity_usd_per_kwh=0.07 -f csv",
        False,
    ),
    "train_spot_json": (
        "estimate train --model llama-2-7b -a h100 --count 1024 --provider aws "
        "--pricing-model spot,on_demand --top 0 --include-infeasible -f json",
        False,
    ),
    "train_line_items_json": (
        "estimate train --model llama-7b -a h100 --count 256 --provider aws --pricing-model on_demand "
        "--runs-per-month 0.5,2 --set checkpoints_kept=3 --set mlops_usd_per_month=1000 -f json",
        False,
    ),
    "train_samples_table": (
        "estimate train --model resnet-50 -a a100-80 --samples-per-s 2470 --count 1,8",
        False,
    ),
    "train_calibrated_json": (
        "estimate train --model llama-2-7b -a a100-80,h100 --count 64 --top 0 "
        "--pricing-model on_demand -f json",
        True,
    ),
    "train_override_json": (
        "estimate train --params 1e9 --tokens 100B -a h100 --count 8 --mfu 0.5 --goodput 1 "
        "--scaling-efficiency 1 --price-usd-per-hour 2 --runs-per-month 2 -f json",
        False,
    ),
    "train_xlsx": (f"{TRAIN_XLSX} -f xlsx -o {{out}}", False),
    "train_samples_xlsx": (
        "estimate train --model resnet-50 -a a100-80 --samples-per-s 2470 --count 8 --top 3 -f xlsx -o {out}",
        False,
    ),
    "serve_table": (
        "estimate serve --model llama-2-70b -a h100,a100-80 --requests-per-s 10 --prompt-tokens 1000 "
        "--output-tokens 300 --ttft-s 2 --tpot-s 0.05",
        False,
    ),
    "serve_json": (
        "estimate serve --model llama-2-70b -a h100,a100-80 --requests-per-s 10 --prompt-tokens 1000 "
        "--output-tokens 300 --ttft-s 2 --tpot-s 0.05 -f json",
        False,
    ),
    "serve_explain": ("estimate serve --model llama-2-7b -a l4,a10g --top 3 --explain", False),
    "serve_spot_owned_json": (
        "estimate serve --model llama-2-7b -a h100 --pricing-model spot,owned -f json",
        False,
    ),
    "serve_line_items_json": (
        "estimate serve --model llama-2-7b -a l4 --top 1 "
        "--set mlops_usd_per_month=500,egress_tb_per_month=2 -f json",
        False,
    ),
    "serve_xlsx": ("estimate serve --model llama-2-70b -a h100 -f xlsx -o {out}", False),
    "serve_owned_xlsx": (
        "estimate serve --model llama-2-7b -a h100 --pricing-model owned -f xlsx -o {out}",
        False,
    ),
    "models_json": ("estimate models -f json", False),
    "assumptions_json": ("estimate assumptions -f json", False),
    "plan_llm_team_table": ("plan examples/llm_team.toml", False),
    "plan_llm_team_json": ("plan examples/llm_team.toml -f json", False),
    "plan_vision_csv": ("plan examples/vision_startup.toml -f csv", False),
    "plan_llm_team_xlsx": ("plan examples/llm_team.toml -f xlsx -o {out}", False),
    "plan_vision_xlsx": ("plan examples/vision_startup.toml -f xlsx -o {out}", False),
    "procurement_table": ("compare procurement --acc-hours 20000 -a H100-80GB", False),
    "procurement_discount_json": (
        "compare procurement --acc-hours 20000 -a H100-80GB --assume-discount committed_1y=0.3 -f json",
        False,
    ),
    "procurement_scenario_json": (
        "compare procurement --scenario examples/llm_team.toml -a H100-80GB -f json",
        False,
    ),
    "procurement_discount_xlsx": (
        "compare procurement --acc-hours 20000 -a H100-80GB --assume-discount committed_1y=0.3 "
        "-f xlsx -o {out}",
        False,
    ),
    "frameworks_table": ("compare frameworks -a H100-80GB --work 1e9 --runs-per-month 4", False),
    "frameworks_calibrated_json": ("compare frameworks -a H100-80GB --work 1e9 -f json", True),
}


def calibration_rows() -> list[dict[str, Any]]:
    """Calibrations of torch and jax on H100 and A100 as calibrate's own store holds them."""
    rows = []
    for i, (framework, accelerator, throughput, utilisation) in enumerate(
        (
            ("torch", "H100-80GB", 1.1e5, 0.45),
            ("jax", "H100-80GB", 1.0e5, 0.42),
            ("jax", "A100-80GB", 5.0e4, 0.6),
        )
    ):
        rows.append(
            {
                "result_id": f"r-{i}",
                "run_id": f"run-{i}",
                "framework": framework,
                "framework_version": "1.0",
                "device_name": f"NVIDIA {accelerator}",
                "accelerator": accelerator,
                "device_count": 1,
                "kernel": "train_transformer",
                "variant": "small",
                "dtype": "bf16",
                "median_s": 0.5,
                "p10_s": 0.48,
                "p90_s": 0.55,
                "throughput": throughput,
                "throughput_unit": "tokens_per_s",
                "achieved_tflop_per_s": utilisation * (989.0 if accelerator == "H100-80GB" else 312.0),
                "utilisation": utilisation,
                "compile_s": 3.0,
                "peak_memory_bytes": 2**34,
                "measured_at": "2026-11-01T00:00:00Z",
                "status": "ok",
            }
        )
    return rows


def calibrate_home(home: Path) -> None:
    from calibrate.store import ResultStore

    home.mkdir(parents=True, exist_ok=True)
    store = ResultStore.in_home(home)
    for row in calibration_rows():
        store.add(row)


_AGE = re.compile(rf"\b({'|'.join(PROVIDERS)}) \d+ (d|days)\b")


def normalise(text: str, tmp: Path) -> str:
    """Stale-price ages change by the day; temporary paths by the run."""
    text = _AGE.sub(lambda m: f"{m.group(1)} N {m.group(2)}", text)
    return text.replace(str(tmp), "<tmp>")


def workbook_cells(path: Path) -> dict[str, dict[str, Any]]:
    """Every non-empty cell as written: a formula's text or the value."""
    cells: dict[str, dict[str, Any]] = {}
    for ws in openpyxl.load_workbook(path):
        cells[ws.title] = {
            c.coordinate: c.value
            for row in ws.iter_rows()
            for c in row
            if c.value is not None and not (isinstance(c.value, float) and math.isnan(c.value))
        }
    return cells


def run_case(cli: Any, name: str, tmp: Path, tco_home: Path) -> dict[str, Any]:
    line, calibrated = CASES[name]
    if calibrated:
        calibrate_home(tco_home)
    out = tmp / f"{name}.xlsx"
    words = [w.replace("{out}", str(out)) for w in line.split()]
    words = [str(ROOT / w) if w.startswith("examples/") else w for w in words]
    result = cli(*words)
    record: dict[str, Any] = {
        "command": line,
        "exit_code": result.exit_code,
        "stdout": normalise(result.stdout, tmp).replace(str(ROOT) + "/", ""),
        "stderr": normalise(result.stderr, tmp).replace(str(ROOT) + "/", ""),
    }
    if "{out}" in line and out.exists():
        record["workbook"] = workbook_cells(out)
    return record


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL, abs_tol=1e-9)
    return bool(a == b)


def diff_json(got: Any, want: Any, where: str = "") -> list[str]:
    """Where two parsed JSON documents differ (numbers to a relative 1e-9)."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{where}.{k}: missing" for k in want if k not in got]
        out += [f"{where}.{k}: unexpected" for k in got if k not in want]
        for k in want:
            if k in got:
                out += diff_json(got[k], want[k], f"{where}.{k}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{where}: {len(got)} items, golden {len(want)}"]
        return [
            d
            for i, (g, w) in enumerate(zip(got, want, strict=True))
            for d in diff_json(g, w, f"{where}[{i}]")
        ]
    return [] if _same(got, want) else [f"{where}: {got!r} != golden {want!r}"]


def _cell(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def diff_csv(got: str, want: str) -> list[str]:
    g = [[_cell(c) for c in row] for row in csv.reader(io.StringIO(got))]
    w = [[_cell(c) for c in row] for row in csv.reader(io.StringIO(want))]
    return diff_json(g, w, "csv")


def diff_stdout(name: str, got: str, want: str) -> list[str]:
    line = CASES[name][0]
    if " json" in line and got.strip():
        return diff_json(json.loads(got), json.loads(want), "json")
    if " csv" in line and got.strip():
        return diff_csv(got, want)
    if got == want:
        return []
    got_lines, want_lines = got.splitlines(), want.splitlines()
    first = next(
        (i for i, (g, w) in enumerate(zip(got_lines, want_lines, strict=False)) if g != w),
        min(len(got_lines), len(want_lines)),
    )
    shown = got_lines[first] if first < len(got_lines) else "<end>"
    expected = want_lines[first] if first < len(want_lines) else "<end>"
    return [f"line {first + 1}: {shown!r}\n  golden: {expected!r}"]


@pytest.mark.parametrize("name", list(CASES))
def test_command_output_is_unchanged(cli: Any, name: str, tmp_path: Path, tco_home: Path) -> None:
    record = run_case(cli, name, tmp_path, tco_home)
    path = GOLDEN / f"{name}.json"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")
        return
    golden = json.loads(path.read_text())
    assert record["exit_code"] == golden["exit_code"], record["stderr"]
    problems = diff_stdout(name, record["stdout"], golden["stdout"])
    assert not problems, "\n".join(problems[:20])
    assert record["stderr"] == golden["stderr"]
    if "workbook" in golden:
        got = json.loads(json.dumps(record["workbook"], default=str))
        problems = diff_json(got, golden["workbook"], "workbook")
        assert not problems, "\n".join(problems[:20])


def result_cells(path: Path) -> dict[str, Any]:
    """Recalculated numbers of every sheet but Assumptions, keyed by sheet, column header and row (the
    Assumptions sheet's rows are the inputs; its layout may change without changing a result)."""
    out: dict[str, Any] = {}
    for ws in openpyxl.load_workbook(path, data_only=True):
        if ws.title == "Assumptions":
            continue
        header = {c.column_letter: str(c.value) for c in ws[1] if c.value is not None}
        for row in ws.iter_rows(min_row=2):
            for c in row:
                if isinstance(c.value, int | float) and not isinstance(c.value, bool):
                    out[f"{ws.title}!{header.get(c.column_letter, c.column_letter)}!{c.row}"] = float(c.value)
    return out


@libreoffice
def test_workbooks_recalculate_to_the_recorded_numbers(cli: Any, tmp_path: Path, tco_home: Path) -> None:
    """Each golden workbook, recalculated by LibreOffice: every result cell to the cent of the recording."""
    names = [n for n, (line, _) in CASES.items() if "{out}" in line]
    files = []
    for name in names:
        run_case(cli, name, tmp_path, tco_home)
        files.append(tmp_path / f"{name}.xlsx")
    recalculated = recalculate(files, tmp_path)
    path = GOLDEN / "workbook_values.json"
    values = {name: result_cells(p) for name, p in zip(names, recalculated, strict=True)}
    if UPDATE:
        path.write_text(json.dumps(values, indent=1, sort_keys=True) + "\n")
        return
    golden = json.loads(path.read_text())
    for name in names:
        want, got = golden[name], values[name]
        assert set(got) == set(want), (name, sorted(set(got) ^ set(want))[:10])
        wrong = [k for k in want if not math.isclose(got[k], want[k], rel_tol=1e-9, abs_tol=0.005)]
        assert not wrong, (name, [(k, got[k], want[k]) for k in wrong[:10]])
