"""Reading what a user typed: the one place user input is parsed and checked before any work is done.

Every command (and any Python caller holding text) reads its inputs through these functions, so that one
spelling means one thing everywhere and a mistake is one line (:class:`tco.errors.TcoError`):

* :func:`quantity`, :func:`positive_quantity`, :func:`runs_per_month` - ``7e9``, ``6.7B``, ``2T``, ``500M``
  (finite numbers only);
* :func:`positive`, :func:`fraction` - numbers given as numbers, in their range;
* :func:`split` - repeated and comma-separated options;
* :func:`counts`, :func:`frameworks`, :func:`pricing_models`, :func:`accelerators`, :func:`accelerator`,
  :func:`providers`, :func:`pull_providers`, :func:`seller_kinds` - lists in tco's vocabulary
  (:mod:`tco.vocabulary`, accelerator aliases, the price catalog's providers);
* :func:`model`, :func:`compute_dtype`, :func:`storage_dtype`, :func:`engines`, :func:`recompute`,
  :func:`layouts`, :func:`choice` - model presets, precisions, serving engines and layouts, fixed choices;
* :func:`calibration_frameworks`, :func:`kernels`, :func:`profile` - what ``tco calibrate`` measures;
* :func:`settings` - the one ``--set NAME=VALUE`` parser (names from :func:`tco.model.settings.registry`);
* :func:`discounts` - ``--assume-discount MODEL=FRACTION``.

Unknown names get ``difflib`` suggestions; a name given twice counts once, a ``--set`` name given twice with
two values is an error.
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
#: The largest quantity read (training FLOPs of the largest runs are ~1e26): beyond it products overflow.
MAX_QUANTITY: Final = 1e30
#: The most accelerators in one count (a count becomes an integer array; beyond it nothing is sold anyway).
MAX_COUNT: Final = 10_000_000


def quantity(text: str | None, name: str) -> float | None:
    """``7e9``, ``6.7B``, ``2T``, ``500M`` -> float; None passes. Anything else raises one line."""
    if text is None:
        return None
    cleaned = text.strip().replace("_", "").replace(",", "")
    match = re.fullmatch(r"([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtTpP]?)", cleaned)
    if not match:
        raise TcoError(f"{name}: cannot read {text!r} as a number", hint="e.g. 7e9, 6.7B, 2T, 500M")
    number = float(match.group(1)) * _SUFFIXES.get(match.group(2).lower(), 1.0)
    if not math.isfinite(number) or abs(number) > MAX_QUANTITY:
        raise TcoError(f"{name}: {text!r} is too large", hint=f"give at most {MAX_QUANTITY:.0e}")
    return number


def positive_quantity(text: str, name: str) -> float:
    """:func:`quantity` that must be given and be > 0 (parameters, tokens, FLOPs, dollars)."""
    number = quantity(text, name)
    if number is None or not number > 0:
        raise TcoError(f"{name} must be > 0, got {text!r}", hint="e.g. 7e9, 6.7B, 2T, 500M")
    return number


def runs_per_month(values: Iterable[str] | None, name: str = "--runs-per-month") -> tuple[float, ...]:
    """Runs per month (``1``, ``0.5,2``): finite numbers > 0, unique, in the order given."""
    out: list[float] = []
    for part in split(values):
        number = quantity(part, name)
        if number is None or not number > 0:
            raise TcoError(f"{name} must be numbers > 0, got {part!r}", hint="e.g. 1 or 0.25")
        out.append(number)
    return tuple(dict.fromkeys(out))


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
        if number > MAX_COUNT:
            raise TcoError(f"{name}: {part!r} is too large", hint=f"give at most {MAX_COUNT:,}")
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


def choice(value: str, known: Collection[str], name: str) -> str:
    """``value`` as one of ``known`` (case-insensitive, ``-`` as ``_``); unknown values raise with
    suggestions."""
    key = value.strip().lower().replace("-", "_")
    if key in known:
        return key
    raise TcoError(f"{name}: unknown value {value!r}", hint=_suggest(key, known))


def _suggest(key: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.5)
    return f"did you mean {', '.join(close)}?" if close else f"one of {', '.join(known)}"


def model(name: str) -> str:
    """A model preset's name (or alias), as ``tco estimate models`` lists them."""
    from tco.presets import find_model

    return str(find_model(name)["name"])


def compute_dtype(value: str, name: str = "--dtype") -> str:
    """A compute precision: bf16, fp16, fp8, tf32 or fp32."""
    from tco.plan.scenario import DTYPES

    return choice(value, DTYPES, name)


def storage_dtype(value: str, name: str) -> str:
    """A storage precision (weights, KV cache): fp32, tf32, bf16, fp16, fp8, int8 or int4."""
    from tco.model.units import DTYPE_BYTES

    return choice(value, tuple(DTYPE_BYTES), name)


def engines(values: Iterable[str] | None) -> tuple[str, ...]:
    """Serving engines (``auto``, ``trtllm``, ``vllm``, ``sglang``; aliases accepted), unique."""
    from tco.model.inference.engines import canonical_engine

    return tuple(dict.fromkeys(canonical_engine(e) for e in split(values)))


def pull_providers(values: Iterable[str] | None) -> tuple[str, ...]:
    """Providers whose price API ``tco prices pull`` reads (``all``: every one), unique."""
    from pricing.providers.base import check_provider_name, provider_names

    names = split(values)
    if any(n.lower() == "all" for n in names):
        return provider_names()
    return tuple(dict.fromkeys(check_provider_name(n) for n in names))


def calibration_frameworks(values: Iterable[str] | None) -> tuple[str, ...]:
    """Frameworks ``tco calibrate run`` can measure (aliases accepted; ``all``: every one)."""
    from calibrate.backends.base import resolve_frameworks

    return resolve_frameworks(split(values))


def kernels(values: Iterable[str] | None) -> tuple[str, ...]:
    """Calibration kernels (``matmul``, ``train_transformer``, ...; ``all``: every one)."""
    from calibrate.kernels import resolve_kernels

    return resolve_kernels(split(values))


def kernel(name: str) -> str:
    """One calibration kernel (``train_transformer``, ``matmul``, ...)."""
    from calibrate.kernels import resolve_kernels

    if name.strip().lower() == "all" or "," in name:
        raise TcoError(f"--kernel {name!r}: name one kernel", hint="e.g. train_transformer")
    return resolve_kernels([name.strip()])[0]


def profile(value: str) -> str:
    """A calibration profile: tiny, quick, standard or full."""
    from calibrate.profiles import PROFILES

    return choice(value, PROFILES, "--profile")


#: The pictures ``--plot`` writes, by the file's suffix (matplotlib's formats without a dependency).
PLOT_SUFFIXES: Final = (".png", ".svg", ".pdf")


def plot_file(path: str, name: str = "--plot") -> str:
    """A picture file's name: its suffix says the format (.png, .svg or .pdf)."""
    from pathlib import PurePath

    if PurePath(path).suffix.lower() not in PLOT_SUFFIXES:
        raise TcoError(
            f"{name} {path!r}: the suffix names the picture's format",
            hint=f"end the file name in {', '.join(PLOT_SUFFIXES)}",
        )
    return path


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
    if not names:
        raise TcoError(f"--layout {value!r} names no layout", hint=f"one of {', '.join(LAYOUTS)} or all")
    if [n.lower() for n in names] == ["all"]:
        return LAYOUTS
    for part in names:
        choice(part, LAYOUTS, "--layout")
    return names


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
        if values.get(key, number) != number:
            raise TcoError(
                f"--set {key} is given twice ({values[key]:g} and {number:g})", hint="give it once"
            )
        values[key] = number
    return Settings(values)


def discounts(items: Iterable[str] | None) -> dict[str, float]:
    """``--assume-discount committed_1y=0.3`` -> {"committed_1y": 0.3}: a commitment model
    (:data:`tco.procurement.COMMITMENTS`) and a fraction in [0, 1), each model once (checked again where the
    discounted rows are made, :func:`tco.procurement.cloud_offers`)."""
    from tco.procurement import COMMITMENTS

    out: dict[str, float] = {}
    for pair in split(items):
        model, sep, value = pair.partition("=")
        try:
            fraction = float(value) if sep else math.nan
        except ValueError:
            fraction = math.nan
        if not sep or not 0.0 <= fraction < 1.0:
            raise TcoError(
                f"--assume-discount {pair!r}: expected MODEL=FRACTION with a fraction in [0, 1)",
                hint="e.g. committed_1y=0.3",
            )
        key = choice(model, COMMITMENTS, "--assume-discount")
        if out.get(key, fraction) != fraction:
            raise TcoError(f"--assume-discount {key} is given twice", hint="give it once")
        out[key] = fraction
    return out


def positive(name: str, value: float | None, *, at_most: float | None = None) -> float | None:
    """``value`` if it is None or a finite number > 0 (and <= ``at_most``), else one line."""
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise TcoError(f"{name} must be > 0, got {value:g}")
    if value is not None and at_most is not None and value > at_most:
        raise TcoError(f"{name} must be at most {at_most:g}, got {value:g}")
    return value


def fraction(name: str, value: float | None) -> float | None:
    """``value`` if it is None or a fraction in (0, 1], else one line."""
    if value is not None and not 0 < value <= 1:
        raise TcoError(f"{name} must be a fraction in (0, 1], got {value:g}", hint="e.g. 0.5")
    return value
