"""The pricing package's error family."""

from __future__ import annotations


class PricingError(Exception):
    """A pricing failure (unknown accelerator, API down, bad credentials): what failed and how to fix it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
