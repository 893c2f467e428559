"""The house rules that tools can check: cheap CLI imports, dependency direction, every format exercised."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "torch",
    "jax",
    "tensorflow",
    "boto3",
    "botocore",
    "google.cloud",
    "pandas",
    "matplotlib",
    "openpyxl",
)


def loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_import_cli_loads_no_heavy_module() -> None:
    modules = loaded_after("import tco.cli")
    heavy = sorted(m for m in modules for h in HEAVY if m == h or m.startswith(h + "."))
    assert heavy == [], heavy


def test_import_libraries_loads_no_framework() -> None:
    modules = loaded_after("import pricing, calibrate, tco")
    assert not {"torch", "jax", "tensorflow", "boto3", "pandas"} & modules


def test_help_runs_without_pandas() -> None:
    code = (
        "import sys\nfrom tco.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit as e:\n"
        "    assert e.code == 0\nassert 'pandas' not in sys.modules, 'pandas loaded for --help'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_python_dash_m_tco_works() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tco", "--version"], check=True, capture_output=True, text=True
    )
    assert out.stdout.startswith("tco ")


def test_every_export_format_renders() -> None:
    import pandas as pd

    from tco.cli.state import Format
    from tco.export import EXPORTERS, renderer

    frame = pd.DataFrame({"a": [1.5, float("nan")], "b": ["x", None]})
    for fmt in Format:
        if fmt is Format.table:
            continue
        assert fmt.value in EXPORTERS
        assert renderer(fmt.value)(frame)
