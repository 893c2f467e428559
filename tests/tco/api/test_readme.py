"""The README's Python API example runs as written (offline, on the embedded prices)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readme_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    section = README.read_text().split("### Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "the README's Python API section needs a python code block"
    exec(compile(code.group(1), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "cost_usd_per_run" in out and "embedded (as of" in out and "docs/projection_model.md" in out
