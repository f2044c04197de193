"""How every ``tdscaling`` command is registered and how it reports a caller's mistake.

A mistake (a bad flag value, a missing file, an unknown name: any ``UsageError``) is one line on stderr,
``error: <what was wrong and what would be right>``, and exit code 2; never a traceback or a usage box. Flag
values typer rejects (``--port 70000``, ``--memory-mb lots``) are reported the same way, because every
command is registered through ``add_commands`` with a command class that does so.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from typer.core import TyperCommand

from ._errors import UsageError

USAGE_EXIT = 2


def fail(message: str) -> NoReturn:
    """Print ``error: message`` (one line) to stderr and exit with code 2."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    raise typer.Exit(USAGE_EXIT)


@contextmanager
def usage_errors(*also: type[Exception]) -> Iterator[None]:
    """Turn a ``UsageError`` (and any exception type in ``also``) raised in the block into ``fail``."""
    kinds: tuple[type[Exception], ...] = (UsageError, *also)
    try:
        yield
    except kinds as e:
        fail(str(e))


class OneLineCommand(TyperCommand):
    """A typer command whose flag errors (a value out of range, of the wrong type, missing) are one line."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: typer's vendored click Context
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as e:  # typer's own click: a bad value, an unknown or missing option
            fail(e.format_message())


def add_commands(app: typer.Typer, commands: Mapping[str, Callable[..., Any]], *, group: str | None = None,
                 help: str | None = None) -> None:
    """Register ``commands`` (name -> typer function with ``Annotated`` options) on ``app``, or on a new
    sub-command ``group`` of it. The one registration every part's ``cli.register`` uses."""
    target = app if group is None else typer.Typer(help=help, no_args_is_help=True)
    for name, function in commands.items():
        target.command(name, cls=OneLineCommand)(function)
    if group is not None:
        app.add_typer(target, name=group)
