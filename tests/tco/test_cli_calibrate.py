"""`tco calibrate run/show/export/import` through the real CLI and its error boundary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FRAMEWORKS = {"torch", "jax", "tensorflow"}


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of all three frameworks (tiny sizes, two kernels) into its own home, and what it printed."""
    from typer.testing import CliRunner

    from tco.cli import app

    home = tmp_path_factory.mktemp("calibrated-home")
    env = {"TCO_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "250"}
    result = CliRunner().invoke(
        app,
        [
            "calibrate",
            "run",
            "--framework",
            "all",
            "--kernels",
            "matmul,membw",
            "--profile",
            "tiny",
            "--device",
            "cpu",
        ],
        env=env,
        catch_exceptions=False,
    )
    return {"home": home, "exit_code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr}


def test_run_all_frameworks_prints_the_comparison(calibrated: dict[str, Any]) -> None:
    assert calibrated["exit_code"] == 0, calibrated["stderr"]
    out = calibrated["stdout"]
    for name in (
        "torch",
        "jax",
        "tensorflow",
        "matmul fp32 GFLOP/s",
        "Installed size MB",
        "Build: 1st compiled",
    ):
        assert name in out
    assert "stored" in calibrated["stderr"]  # notes and progress go to stderr
    assert "tensorflow allreduce" not in calibrated["stderr"]  # not requested, so not reported as skipped


def test_show_json_has_rows_for_all_frameworks(cli: Any, calibrated: dict[str, Any]) -> None:
    result = cli("--home", str(calibrated["home"]), "calibrate", "show", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    assert {r["framework"] for r in rows} == FRAMEWORKS
    assert {r["kernel"] for r in rows} == {"matmul", "membw"}
    for row in rows:
        assert row["status"] == "ok"
        assert row["throughput"] > 0
        assert row["framework_version"] and row["device_name"] and row["accelerator"] == "CPU"
        assert row["utilisation"] is None  # NaN on a CPU prints as null, never 0


def test_show_table_and_detail(cli: Any, calibrated: dict[str, Any]) -> None:
    table = cli("--home", str(calibrated["home"]), "calibrate", "show")
    assert table.exit_code == 0
    assert "Measured framework comparison" in table.stdout and "n/a" in table.stdout
    detail = cli("--home", str(calibrated["home"]), "calibrate", "show", "--detail")
    assert detail.exit_code == 0
    assert "matmul" in detail.stdout and "triad" in detail.stdout
    csv = cli("--home", str(calibrated["home"]), "calibrate", "show", "--format", "csv")
    assert csv.stdout.splitlines()[0].startswith("result_id,run_id,framework,")


def test_export_then_import_on_another_machine(cli: Any, calibrated: dict[str, Any], tmp_path: Path) -> None:
    exported = tmp_path / "gpu-box.json"
    result = cli("--home", str(calibrated["home"]), "calibrate", "export", str(exported))
    assert result.exit_code == 0, result.stderr
    assert "exported" in result.stderr and result.stdout == ""
    document = json.loads(exported.read_text())
    assert {r["framework"] for r in document["rows"]} == FRAMEWORKS

    laptop = tmp_path / "laptop"
    result = cli("--home", str(laptop), "calibrate", "import", str(exported))
    assert result.exit_code == 0, result.stderr
    assert f"imported {len(document['rows'])} new rows" in result.stderr
    again = cli("--home", str(laptop), "calibrate", "import", str(exported))
    assert "imported 0 new rows" in again.stderr
    shown = cli("--home", str(laptop), "calibrate", "show", "--format", "json").json()
    original = {r["result_id"]: r for r in document["rows"]}
    assert len(shown) == len(original)
    for row in shown:
        for key in ("host", "measured_at", "framework_version", "device_name", "throughput", "run_id"):
            assert row[key] == original[row["result_id"]][key]


def test_run_json_output_and_failure_exit(cli: Any) -> None:
    result = cli(
        "calibrate",
        "run",
        "--framework",
        "torch",
        "--device",
        "cuda",
        "--kernels",
        "matmul",
        "--profile",
        "tiny",
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: 1 calibration failure(s), 0 results stored")
    assert any("no CUDA or ROCm device is visible to PyTorch" in line for line in lines)


def test_usage_and_domain_errors(cli: Any, tmp_path: Path) -> None:
    both = cli("calibrate", "run", "--quick", "--full")
    assert both.exit_code == 2 and "choose one of --quick and --full" in both.stderr
    device = cli("calibrate", "run", "--device", "gpu")
    assert device.exit_code == 2 and "gpu" in device.stderr
    unknown = cli("calibrate", "run", "--framework", "pytorhc")
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == (
        "error: Invalid value for '--framework' / '-F': unknown framework 'pytorhc' "
        "(did you mean 'pytorch'?) (see 'tco calibrate run --help')"
    )
    kernel = cli("calibrate", "run", "--kernels", "matmull")
    assert kernel.exit_code == 2 and "did you mean 'matmul'" in kernel.stderr
    empty = cli("calibrate", "show")
    assert empty.exit_code == 1
    assert empty.stderr.strip() == (
        "error: no calibration results (run `tco calibrate run --quick`, or `tco calibrate import FILE`)"
    )
    nothing = cli("calibrate", "export", str(tmp_path / "x.json"))
    assert nothing.exit_code == 1 and "no calibration results to export" in nothing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "other"}')
    imported = cli("calibrate", "import", str(bad))
    assert imported.exit_code == 1
    assert imported.stderr.strip() == (
        f"error: {bad} is not a tco calibration export (pass a file from `tco calibrate export`)"
    )
    missing = cli("calibrate", "import", str(tmp_path / "missing.json"))
    assert missing.exit_code == 2
    unwritable = cli("calibrate", "export", str(tmp_path / "no-dir" / "x.json"))
    assert unwritable.exit_code == 1 and "does not exist" in unwritable.stderr
