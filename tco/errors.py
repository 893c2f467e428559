"""The tco package's error family: the CLI turns these into one line on stderr and exit code 1."""

from __future__ import annotations


class TcoError(Exception):
    """A domain error: what failed, and (in ``hint``) how to fix it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
