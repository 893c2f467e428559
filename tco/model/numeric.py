"""NaN and infinity are data in the model: missing stays missing, and an impossible figure gives a row that
says why, not a NumPy warning on stderr. :func:`quiet_arithmetic` runs a public projection with NumPy's
floating-point warnings (divide by zero, invalid, overflow) off; the results carry NaN/inf as they are."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def quiet_arithmetic(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` under ``numpy.errstate(divide="ignore", invalid="ignore", over="ignore")``."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import numpy as np

        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return function(*args, **kwargs)

    return wrapper
