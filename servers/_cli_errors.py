"""How the CLI reports a user's mistake: one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from ._errors import SpecError

USAGE_ERROR = 2


def fail(message: str) -> NoReturn:
    """Print ``error: message`` to stderr and exit 2."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(USAGE_ERROR)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn ``SpecError`` (a malformed file, an unknown name) into ``fail``."""
    try:
        yield
    except SpecError as e:
        fail(str(e))
