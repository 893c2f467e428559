"""Broken state on disk, made the way it happens: garbage bytes, damaged pages behind a valid header,
someone else's SQLite file, a schema from a newer tco, a directory or a file where a store or home goes.

Used by the store tests of every package (tests/pricing, tests/calibrate, tests/tco/track).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

PAGE = 4096
REPO = Path(__file__).resolve().parents[1]


def checkpoint(path: Path) -> None:
    """Fold the WAL into the main file, so that damage to the file is damage to the data."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def garbage(path: Path, size: int = 3 * PAGE) -> bytes:
    """Random bytes where the store goes; returns them."""
    data = os.urandom(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def damage_pages(path: Path, pages: range) -> None:
    """Overwrite whole pages (1-based, as SQLite numbers them) with 0xAB: the header stays valid."""
    checkpoint(path)
    data = bytearray(path.read_bytes())
    for page in pages:
        start = (page - 1) * PAGE
        data[start : start + PAGE] = b"\xab" * PAGE
    path.write_bytes(bytes(data))


def page_count(path: Path) -> int:
    checkpoint(path)
    return path.stat().st_size // PAGE


def foreign(path: Path) -> bytes:
    """Someone else's SQLite database (a table of their own) where the store goes; returns its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
    db.execute("INSERT INTO invoices (amount) VALUES (12.5)")
    db.commit()
    db.close()
    return path.read_bytes()


def newer(path: Path, version: int = 99) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()
    return path.read_bytes()


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def run_python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``python -c code args...`` in the repository (a second process for concurrency tests)."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def reading_pipe(path: Path) -> tuple[Path, Callable[[], bytes]]:
    """A named pipe at ``path`` with a reader on the other end (what ``--output /dev/stdout`` or a shell's
    process substitution hands a writer); the callable returns what was written once the writer closed it.
    A device like /dev/null would do too, but a test must not risk replacing a shared device node."""
    os.mkfifo(path)
    chunks: list[bytes] = []

    def read() -> None:
        with path.open("rb") as handle:
            chunks.append(handle.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def received() -> bytes:
        reader.join(timeout=60)
        return b"".join(chunks)

    return path, received
