"""How fast tco starts: median wall time and peak memory (max RSS) of whole CLI processes.

    python benchmarks/cli_startup.py [--repeats 15]

Each command runs in a fresh process (start to exit, output to /dev/null), after one warm-up run that
fills the OS page cache. Peak memory is the child's own max RSS from wait4(2).
Targets (issue 2): `tco --help` < 0.3 s; `tco prices list --accelerator h100` < 0.8 s and < 250 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: dict[str, list[str]] = {
    "tco --help": ["--help"],
    "tco --version": ["--version"],
    "tco prices list --accelerator h100": ["prices", "list", "--accelerator", "h100"],
    "tco prices list -a h100 --format json": ["prices", "list", "-a", "h100", "--format", "json"],
    "tco prices accelerators": ["prices", "accelerators"],
}


def tco_executable() -> list[str]:
    found = shutil.which("tco", path=str(Path(sys.executable).parent)) or shutil.which("tco")
    return [found] if found else [sys.executable, "-m", "tco"]


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and max RSS (MB) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
    return wall, usage.ru_maxrss / 1024.0  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    exe = tco_executable()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TCO_HOME": home, "NO_COLOR": "1"}
        print(f"{'command':42} {'median s':>9} {'p90 s':>7} {'max RSS MB':>11}  (n={args.repeats})")
        for label, extra in COMMANDS.items():
            argv = exe + extra
            run_once(argv, env)  # warm the page cache
            samples = [run_once(argv, env) for _ in range(args.repeats)]
            walls = sorted(s[0] for s in samples)
            rss = max(s[1] for s in samples)
            p90 = walls[min(len(walls) - 1, round(0.9 * (len(walls) - 1)))]
            print(f"{label:42} {statistics.median(walls):9.3f} {p90:7.3f} {rss:11.1f}")


if __name__ == "__main__":
    main()
