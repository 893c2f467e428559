"""Every value on tco's command line is checked while the line is read, before any work is done: a wrong one
is one line naming the option, the value and what to give instead, and exit 2 (a usage error).

Three parts, each used by every command:

* :func:`harden` - the rules every parameter gets from its type, applied to each command as it is built
  (:class:`tco.cli.lazy.LazyGroup`), so that an option added later has them without a line here:

  - text (names, ids, paths, numbers as typed) is never empty or blank (an empty value never means the
    default or "all") and holds no control character;
  - numbers are finite (``nan``, ``inf`` and ``1e400`` are refused) and at most :data:`MAX_NUMBER`
    (integers :data:`MAX_INT`), beyond which tco's products overflow;
  - a repeated or comma-separated option is read as its items: an empty item (``-p aws,``) is an error, an
    item given twice counts once.

* callbacks by meaning (``callback=options.providers``): the text is read with the one reader tco has for
  it (:mod:`tco.api.inputs`: the vocabulary, the price catalog's providers, accelerator aliases, model
  presets, calibrate's frameworks and kernels, ``--set`` names); its error, suggestions included, becomes
  the usage error. The command still receives the text as given: its body reads it as before.

* :func:`environment` - the root command's check of the variables every command reads (``TCO_HOME``,
  ``TCO_PRICE_MAX_AGE_DAYS``, ``TCO_PRICE_BOOK``, ``TCO_DEBUG``): set but empty or unreadable is the same
  one-line usage error, before any command runs (``tco --help`` still prints its help).
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, Final

import typer

from calibrate.errors import CalibrationError
from pricing.errors import PricingError
from tco.errors import TcoError
from tco.text import first_control

if TYPE_CHECKING:
    from pathlib import Path

    from typer import _click as click
    from typer._click.types import ParamType

#: The largest number an option takes (a price, hours, tokens of work): beyond it costs overflow.
MAX_NUMBER: Final = 1e15
#: The largest whole number an option takes (layers, counts, rows shown, threads).
MAX_INT: Final = 2**31 - 1
#: What a reader raises for a value it cannot take (anything else is a bug, shown as one).
READ_ERRORS: Final = (TcoError, PricingError, CalibrationError)
#: Environment variables that, when set, must say something (unset them for the default).
NON_EMPTY_ENV: Final = ("TCO_HOME", "TCO_PRICE_MAX_AGE_DAYS", "TCO_PRICE_BOOK", "TCO_DEBUG")

Callback = Callable[[typer.Context, typer.CallbackParam, Any], Any]


# --- rules by type, for every parameter ------------------------------------------------------------------
def harden(command: click.Command) -> click.Command:
    """Give every parameter of ``command`` (and of the subcommands of a group already built) the rules of
    its type (module docstring); returns it."""
    for param in command.params:
        param.type = _checked_type(param.type)
        if getattr(param, "multiple", False):
            param.callback = _items_first(param.callback)
    for sub in getattr(command, "commands", {}).values():
        harden(sub)
    return command


def _checked_type(inner: ParamType) -> ParamType:
    checked = copy.copy(inner)
    convert = inner.convert

    def convert_checked(value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            check_text(value, param, ctx)
        result = convert(value, param, ctx)
        check_number(result, value, param, ctx)
        return result

    checked.convert = convert_checked  # type: ignore[method-assign]
    return checked


def check_text(value: str, param: click.Parameter | None, ctx: click.Context | None) -> None:
    """Text that says nothing (empty, blank) or holds a control character is refused."""
    if not value.strip():
        given = "leave the option out for its default" if _is_option(param) else "it is required"
        raise typer.BadParameter(f"{value!r} is empty: give a value, or {given}", ctx=ctx, param=param)
    control = first_control(value)
    if control is not None:
        raise typer.BadParameter(
            f"{value!r} holds a control character ({control!r}): give plain text", ctx=ctx, param=param
        )


def check_number(result: Any, given: Any, param: click.Parameter | None, ctx: click.Context | None) -> None:
    """Numbers are finite and within :data:`MAX_NUMBER` (integers :data:`MAX_INT`)."""
    if isinstance(result, bool) or not isinstance(result, int | float):
        return
    if isinstance(result, float) and not math.isfinite(result):
        raise typer.BadParameter(
            f"{given!r} is not a finite number: give a number such as 1 or 2.5", ctx=ctx, param=param
        )
    limit = MAX_INT if isinstance(result, int) else MAX_NUMBER
    if abs(result) > limit:
        raise typer.BadParameter(f"{given!r} is too large: give at most {limit:g}", ctx=ctx, param=param)


def _items_first(callback: Callable[..., Any] | None) -> Callable[..., Any]:
    def run(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        value = items(value, param, ctx)
        return callback(ctx, param, value) if callback is not None else value

    return run


def items(value: Any, param: click.Parameter | None = None, ctx: click.Context | None = None) -> Any:
    """A repeated option's values as their comma-separated items, each once, in the order given; an empty
    item is refused."""
    if not value:
        return value
    out: list[Any] = []
    for entry in value:
        if not isinstance(entry, str):
            out.append(entry)
            continue
        parts = [part.strip() for part in entry.split(",")]
        if not all(parts):
            raise typer.BadParameter(
                f"{entry!r} has an empty item: remove the extra comma", ctx=ctx, param=param
            )
        out.extend(parts)
    return list(dict.fromkeys(out))


def _is_option(param: click.Parameter | None) -> bool:
    return param is not None and param.param_type_name == "option"


# --- callbacks by meaning -------------------------------------------------------------------------------
def reads(read: Callable[[Any, str], object]) -> Callback:
    """A callback that reads the option's value with ``read(value, option_name)`` and turns its error into
    a usage error; the value goes on as given. Not given (None, no items): the command's default applies."""

    def callback(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if value is None or (isinstance(value, list | tuple) and not value):
            return value
        try:
            read(value, option_name(param))
        except READ_ERRORS as exc:
            raise typer.BadParameter(_unnamed(str(exc), param), ctx=ctx, param=param) from None
        return value

    return callback


def _unnamed(message: str, param: click.Parameter) -> str:
    """``message`` without a leading option name (the usage error names the option already)."""
    for name in param.opts:
        for sep in (": ", " "):
            if message.startswith(name + sep):
                return message[len(name + sep) :]
    return message


def option_name(param: click.Parameter) -> str:
    longs = [o for o in param.opts if o.startswith("--")]
    return (longs or list(param.opts) or [str(param.name)])[0]


def _inputs() -> Any:
    from tco.api import inputs

    return inputs


def _one_of(known: Callable[[], Collection[str]]) -> Callable[[Any, str], object]:
    return lambda value, name: _inputs().choice(value, known(), name)


def _settings(groups: Callable[[], tuple[str, ...]]) -> Callable[[Any, str], object]:
    return lambda values, _name: _inputs().settings(values, groups=groups())


def _estimate_groups() -> tuple[str, ...]:
    from tco.api.reference import ESTIMATE_GROUPS

    return ESTIMATE_GROUPS


def _procurement_groups() -> tuple[str, ...]:
    from tco.api.reference import PROCUREMENT_GROUPS

    return PROCUREMENT_GROUPS


def _train_sorts() -> Collection[str]:
    from tco.api.estimate import TRAIN_SORTS

    return tuple(TRAIN_SORTS)


def _training_periods() -> Collection[str]:
    from tco.model.budget import TRAINING_PERIODS

    return TRAINING_PERIODS


def _plan_periods() -> Collection[str]:
    from tco.model.budget import PLAN_PERIODS

    return PLAN_PERIODS


def _endpoint(value: str, name: str) -> object:
    from pricing.providers.base import check_endpoint

    return check_endpoint(value, "gcp", name)  # the most lenient form (a bare host); each provider re-checks


# names
providers = reads(lambda v, _n: _inputs().providers(v))
pull_providers = reads(lambda v, _n: _inputs().pull_providers(v))
accelerators = reads(lambda v, _n: _inputs().accelerators(v))
accelerator = reads(lambda v, _n: _inputs().accelerator(v))
pricing_models = reads(lambda v, _n: _inputs().pricing_models(v))
pricing_model = reads(lambda v, _n: _vocabulary().pricing_model(v))
seller_kinds = reads(lambda v, _n: _inputs().seller_kinds(v))
framework = reads(lambda v, _n: _inputs().frameworks(v))
calibration_frameworks = reads(lambda v, _n: _inputs().calibration_frameworks(v))
kernels = reads(lambda v, _n: _inputs().kernels(v))
kernel = reads(lambda v, _n: _inputs().kernel(v))
profile = reads(lambda v, _n: _inputs().profile(v))
model = reads(lambda v, _n: _inputs().model(v))
recompute = reads(lambda v, _n: _inputs().recompute(v))
compute_dtype = reads(lambda v, n: _inputs().compute_dtype(v, n))
storage_dtype = reads(lambda v, n: _inputs().storage_dtype(v, n))
engines = reads(lambda v, _n: _inputs().engines(v))
layout = reads(lambda v, _n: _inputs().layouts(v))
train_sort = reads(_one_of(_train_sorts))
training_budget_per = reads(_one_of(_training_periods))
plan_budget_per = reads(_one_of(_plan_periods))
estimate_settings = reads(_settings(_estimate_groups))
procurement_settings = reads(_settings(_procurement_groups))
discounts = reads(lambda v, _n: _inputs().discounts(v))
endpoint = reads(_endpoint)
plot = reads(lambda v, n: _inputs().plot_file(str(v), n))
# numbers
quantity = reads(lambda v, n: _inputs().positive_quantity(v, n))
counts = reads(lambda v, n: _inputs().counts(v, "1", n))
runs_per_month = reads(lambda v, n: _inputs().runs_per_month(v, n))
positive = reads(lambda v, n: _inputs().positive(n, v))
fraction = reads(lambda v, n: _inputs().fraction(n, v))
hours_per_day = reads(lambda v, n: _inputs().positive(n, v, at_most=24.0))


def _vocabulary() -> Any:
    from tco import vocabulary

    return vocabulary


# --- the environment --------------------------------------------------------------------------------------
def environment(home: Path | None) -> None:
    """The variables every command reads, checked before it runs (module docstring); ``home``: --home."""
    from tco.api.sources import price_max_age_days
    from tco.home import resolve_home

    for variable in NON_EMPTY_ENV:
        value = os.environ.get(variable)
        if value is not None and not value.strip():
            raise typer.BadParameter(
                "set but empty: give it a value, or unset it for the default", param_hint=variable
            )
    try:
        resolve_home(home)
    except TcoError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--home' / TCO_HOME") from None
    try:
        price_max_age_days()
    except TcoError as exc:
        raise typer.BadParameter(str(exc), param_hint="TCO_PRICE_MAX_AGE_DAYS") from None


__all__ = ["MAX_INT", "MAX_NUMBER", "environment", "harden", "items", "reads"]
