"""The user's home for caches and results: one directory (platformdirs default), ``TCO_HOME`` overrides."""

from __future__ import annotations

import os
from pathlib import Path

from tco.errors import TcoError

#: The environment variable that names the home directory.
HOME_ENV = "TCO_HOME"


def resolve_home(override: Path | str | None = None) -> Path:
    """``override`` (``--home``), else ``$TCO_HOME``, else the platform's user data directory for tco.

    An empty or blank ``override`` (give the raw option text: ``Path("")`` is already ``.``) or an empty
    ``TCO_HOME`` is an error, never a silent fall-back to the working directory or the default; so is a
    home that exists and is not a directory. A home that does not exist yet is fine: the stores create it.
    """
    if override is not None:
        home = _named(str(override), "--home")
    else:
        env = os.environ.get(HOME_ENV)
        if env is not None:
            home = _named(env, HOME_ENV)
        else:
            from platformdirs import user_data_dir

            home = Path(user_data_dir("tco", appauthor=False))
    if home.exists() and not home.is_dir():
        raise TcoError(
            f"the tco home {home} is a file, not a directory",
            hint=f"point --home / {HOME_ENV} at a directory (it is created if missing)",
        )
    return home


def _named(text: str, where: str) -> Path:
    if not text.strip():
        raise TcoError(
            f"{where} is empty",
            hint=f"name a directory, or leave {where} out for the default home"
            if where == "--home"
            else f"name a directory, or unset {HOME_ENV} for the default home",
        )
    if "\x00" in text:
        raise TcoError(f"{where} {text!r} holds a NUL character", hint="name a directory")
    return Path(text).expanduser()


__all__ = ["HOME_ENV", "resolve_home"]
