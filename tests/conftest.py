"""Shared fixtures: every test gets its own TCO_HOME, plain (uncoloured) output, and a CLI runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tco.cli import app


@pytest.fixture(autouse=True)
def tco_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "tco-home"
    monkeypatch.setenv("TCO_HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("TCO_DEBUG", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    yield home


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cli() -> Any:
    """Run ``tco ARGS`` in-process through the real error boundary; stdout and stderr kept apart."""

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run
