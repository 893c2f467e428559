"""Reading what a user typed: the one place user input is parsed and checked before any work is done.

Every command (and any Python caller holding text) reads its inputs through these functions, so that one
spelling means one thing everywhere and a mistake is one line (:class:`tco.errors.TcoError`):

* :func:`quantity` - ``7e9``, ``6.7B``, ``2T``, ``500M``;
* :func:`split` - repeated and comma-separated options;
* :func:`counts`, :func:`frameworks`, :func:`pricing_models`, :func:`accelerators`, :func:`accelerator`,
  :func:`providers` - lists in tco's vocabulary (:mod:`tco.vocabulary`, accelerator aliases);
* :func:`recompute`, :func:`layouts` - activation recomputation and serving layouts;
* :func:`settings` - the one ``--set NAME=VALUE`` parser (names from :func:`tco.model.settings.registry`);
* :func:`discounts` - ``--assume-discount MODEL=FRACTION``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Iterable
from typing import Final

from tco.errors import TcoError
from tco.model.settings import Settings, registry
from tco.vocabulary import FRAMEWORKS, framework, pricing_model

_SUFFIXES: Final = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}


def quantity(text: str | None, name: str) -> float | None:
    """``7e9``, ``6.7B``, ``2T``, ``500M`` -> float; None passes. Anything else raises one line."""
    if text is None:
        return None
    cleaned = text.strip().replace("_", "").replace(",", "")
    match = re.fullmatch(r"([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtTpP]?)", cleaned)
    if not match:
        raise TcoError(f"{name}: cannot read {text!r} as a number", hint="e.g. 7e9, 6.7B, 2T, 500M")
    return float(match.group(1)) * _SUFFIXES.get(match.group(2).lower(), 1.0)


def split(values: Iterable[str] | None) -> tuple[str, ...]:
    """Repeated and comma-separated values, stripped, empty ones dropped: ``["a,b", "c"]`` -> a, b, c."""
    return tuple(part.strip() for value in values or () for part in value.split(",") if part.strip())


def counts(values: Iterable[str] | None, default: str, name: str) -> tuple[int, ...]:
    """Whole numbers >= 1 (``8,64``, ``1k``), sorted and unique; ``default`` when none are given."""
    out: list[int] = []
    for part in split(values) or tuple(default.split(",")):
        number = quantity(part, name)
        if number is None or number < 1 or number != int(number):
            raise TcoError(f"{name} must be whole numbers >= 1, got {part!r}")
        out.append(int(number))
    return tuple(sorted(set(out)))


def frameworks(value: str) -> tuple[str, ...]:
    """``torch``, ``jax``, ``tensorflow`` or ``all``."""
    if value.strip().lower() == "all":
        return FRAMEWORKS
    return (framework(value),)


def pricing_models(values: Iterable[str] | None) -> tuple[str, ...]:
    """Pricing models in tco's vocabulary (``owned`` included); ``all`` or none given -> () (every one)."""
    out: list[str] = []
    for part in split(values):
        if part.strip().lower() == "all":
            return ()
        out.append(pricing_model(part))
    return tuple(dict.fromkeys(out))


def accelerators(values: Iterable[str] | None) -> tuple[str, ...]:
    """Canonical accelerator names for names and aliases (``h100`` -> ``H100-80GB``; ``a100`` -> both)."""
    from pricing.accelerators import resolve_many

    names = split(values)
    return resolve_many(list(names)) if names else ()


def accelerator(name: str) -> str:
    """The one canonical accelerator ``name`` (or alias) means; ambiguous or unknown names raise."""
    from pricing.accelerators import resolve

    found = resolve(name)
    if len(found) != 1:
        raise TcoError(f"accelerator {name!r} is ambiguous: {', '.join(found)}", hint="name one of them")
    return found[0]


def recompute(value: str | None) -> str | None:
    """``none``, ``selective`` or ``full`` (``auto`` and None: the layout search decides)."""
    if value is None or value.strip().lower() == "auto":
        return None
    mode = value.strip().lower()
    if mode not in ("none", "selective", "full"):
        raise TcoError(f"--recompute: expected none, selective or full, got {value!r}")
    return mode


def layouts(value: str | None) -> tuple[str, ...]:
    """Serving layouts: ``aggregated``, ``disaggregated`` (comma-separated) or ``all``; checked by
    :class:`tco.api.ServingRequest`."""
    from tco.model.serving import LAYOUTS

    names = split([value or "aggregated"])
    return LAYOUTS if [n.lower() for n in names] == ["all"] else names


def seller_kinds(values: Iterable[str] | None) -> tuple[str, ...]:
    """Kinds of seller (``pricing.sellers``): hyperscaler, gpu_cloud (``gpu-cloud``) or marketplace."""
    known = ("hyperscaler", "gpu_cloud", "marketplace")
    out: list[str] = []
    for part in split(values):
        key = part.strip().lower().replace("-", "_")
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
            raise TcoError(
                f"unknown seller kind {part!r}",
                hint=f"did you mean {close[0]}?" if close else ", ".join(known),
            )
        out.append(key)
    return tuple(dict.fromkeys(out))


def providers(values: Iterable[str] | None) -> tuple[str, ...]:
    from pricing.catalog import check_provider

    return tuple(dict.fromkeys(check_provider(p) for p in split(values)))


def settings(items: Iterable[str] | None, *, groups: Collection[str] | None = None) -> Settings:
    """The one ``--set NAME=VALUE`` parser: ``["pue=1.3", "life_years=5,restart_hours=0.5"]`` ->
    :class:`~tco.model.settings.Settings`. Names come from :func:`tco.model.settings.registry` (only those
    of ``groups`` when given: what the command uses); values are finite numbers >= 0. Unknown names get
    suggestions."""
    parts = split(items)
    if not parts:
        return Settings()
    known = [name for name, s in registry().items() if groups is None or s.group in groups]
    values: dict[str, float] = {}
    for part in parts:
        name, sep, text = part.partition("=")
        key = name.strip().lower().replace("-", "_")
        if not sep:
            raise TcoError(f"--set {part!r}: expected NAME=VALUE", hint="e.g. --set pue=1.3")
        if key not in known:
            close = difflib.get_close_matches(key, known, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else "see `tco estimate assumptions`"
            raise TcoError(f"--set: unknown name {name.strip()!r}", hint=hint)
        try:
            number = float(text.strip())
        except ValueError:
            raise TcoError(f"--set {key}: {text.strip()!r} is not a number") from None
        if math.isnan(number) or math.isinf(number) or number < 0:
            raise TcoError(f"--set {key}: must be a finite number >= 0, got {text.strip()}")
        values[key] = number
    return Settings(values)


def discounts(items: Iterable[str] | None) -> dict[str, float]:
    """``--assume-discount committed_1y=0.3`` -> {"committed_1y": 0.3} (models and range checked where
    the discounted rows are made, :func:`tco.procurement.cloud_offers`)."""
    out: dict[str, float] = {}
    for pair in split(items):
        model, sep, value = pair.partition("=")
        try:
            out[model.strip()] = float(value) if sep else math.nan
        except ValueError as exc:
            raise TcoError(f"--assume-discount {pair!r}: expected MODEL=FRACTION") from exc
    return out


def positive(name: str, value: float | None) -> float | None:
    """``value`` if it is None or a finite number > 0, else one line."""
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise TcoError(f"{name} must be > 0, got {value:g}")
    return value
