"""Command groups that build a subcommand (and import its module) only when it is asked for.

Building a Typer command inspects every option of its function; importing a module defines all of its
commands. A group of :class:`LazyGroup` knows its subcommands by name and a ``"module:attr"`` spec (a Typer
app, or a click command such as another lazy group) and loads only the one invoked; ``--help`` lists them
all. Each command it builds gets the checks of :func:`tco.cli.options.harden`.
"""

from __future__ import annotations

from collections.abc import Mapping
from difflib import get_close_matches
from importlib import import_module
from types import MappingProxyType
from typing import Any

import typer.main
from typer import _click as click
from typer.core import TyperGroup

from tco.cli.options import harden


class LazyGroup(TyperGroup):
    """A group whose subcommands load on demand: ``lazy`` maps a name to ``"module:attr"``."""

    lazy: Mapping[str, str] = MappingProxyType({})

    def __init__(self, *, lazy: Mapping[str, str] | None = None, **attrs: Any) -> None:
        super().__init__(**attrs)
        harden(self)
        if lazy is not None:
            self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.lazy)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in self.lazy:
            module, _, attr = self.lazy[cmd_name].partition(":")
            target = getattr(import_module(module), attr)
            found = target if isinstance(target, click.Command) else harden(typer.main.get_command(target))
            found.name = cmd_name
            self.add_command(found, cmd_name)
        return found

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.UsageError as exc:
            matches = get_close_matches(args[0], list(self.lazy)) if args else []
            if matches and "Did you mean" not in exc.message:
                exc.message = exc.message.rstrip(".") + f". Did you mean {', '.join(map(repr, matches))}?"
            raise


def group(name: str, help: str, commands: Mapping[str, str]) -> LazyGroup:
    """A lazy subcommand group (``tco estimate``, ``tco prices``, ...)."""
    return LazyGroup(name=name, help=help, lazy=commands, no_args_is_help=True)
