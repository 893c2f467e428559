"""The user's home for caches and results: one directory (platformdirs default), ``TCO_HOME`` overrides."""

from __future__ import annotations

import os
from pathlib import Path


def resolve_home(override: Path | None = None) -> Path:
    """``override`` (``--home``), else ``$TCO_HOME``, else the platform's user data directory for tco."""
    if override is not None:
        return override.expanduser()
    env = os.environ.get("TCO_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("tco", appauthor=False))
