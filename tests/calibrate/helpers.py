"""Running calibration workers in subprocesses for the tests (every framework in its own process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


@dataclass
class WorkerRun:
    returncode: int
    events: list[dict[str, Any]]
    stderr: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def plan(self) -> dict[str, Any]:
        return next(e for e in self.events if e["event"] == "plan")

    def ok(self, kernel: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["kernel"] == kernel and r["status"] == "ok"]


def subprocess_env(extra_path: Path | None = None, **env: str) -> dict[str, str]:
    out = dict(os.environ)
    out.update(env)
    out["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(extra_path) if extra_path else "", str(REPO), os.environ.get("PYTHONPATH", "")) if p
    )
    return out


def run_worker(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None, python: list[str] | None = None
) -> WorkerRun:
    """``python -m calibrate.worker ARGS``; the JSON-line events and the result rows."""
    command = [*(python or [sys.executable, "-m", "calibrate.worker"]), *args]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or subprocess_env(),
        cwd=REPO,
        check=False,
    )
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    rows = [e["row"] for e in events if e["event"] == "row"]
    return WorkerRun(done.returncode, events, done.stderr, rows)


def block_imports(tmp_path: Path, *modules: str) -> Path:
    """A directory with a ``sitecustomize`` that makes ``modules`` unimportable (as if not installed)."""
    site = tmp_path / "site-blocked"
    site.mkdir(exist_ok=True)
    lines = ["import sys"] + [f"sys.modules[{m!r}] = None" for m in modules]
    (site / "sitecustomize.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return site
