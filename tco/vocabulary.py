"""One vocabulary for every command, scenario file and Python caller: pricing models and framework names.

Pricing models are the price catalog's (``pricing.schema.PRICING_MODELS``) plus ``owned`` hardware.
Frameworks are named as the calibration store names them (``torch``, ``jax``, ``tensorflow``); an older
spelling (``pytorch``, ``tf``) gets a one-line message naming the current one.
"""

from __future__ import annotations

import difflib
from typing import Final

from pricing.schema import PRICING_MODELS as CATALOG_PRICING_MODELS
from tco.errors import TcoError

FRAMEWORKS: Final = ("torch", "jax", "tensorflow")
#: Spellings tco used to accept (scenario files said ``pytorch``) -> the name to use now.
RENAMED_FRAMEWORKS: Final = {"pytorch": "torch", "tf": "tensorflow"}
OWNED: Final = "owned"
#: Every pricing model a request may name: the catalog's and owned hardware.
PRICING_MODELS: Final = (*CATALOG_PRICING_MODELS, OWNED)


def _suggest(value: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, list(known), n=2, cutoff=0.5)
    return f"did you mean {' or '.join(close)}?" if close else f"one of {', '.join(known)}"


def framework(name: str) -> str:
    """The framework ``name`` means (case-insensitive); renamed and unknown names raise one line."""
    key = name.strip().lower()
    if key in FRAMEWORKS:
        return key
    if key in RENAMED_FRAMEWORKS:
        raise TcoError(
            f"framework {name!r} is now spelled {RENAMED_FRAMEWORKS[key]!r} (as on the command line)"
        )
    raise TcoError(f"unknown framework {name!r}", hint=_suggest(key, FRAMEWORKS))


def pricing_model(name: str) -> str:
    """The pricing model ``name`` means (``on-demand`` = ``on_demand``); unknown names raise one line."""
    key = name.strip().lower().replace("-", "_")
    if key not in PRICING_MODELS:
        raise TcoError(f"unknown pricing model {name!r}", hint=_suggest(key, PRICING_MODELS))
    return key
