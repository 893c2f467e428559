"""The calibrate package's error family."""

from __future__ import annotations


class CalibrationError(Exception):
    """A calibration failure (framework missing, kernel failed its check): what failed and how to fix it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
