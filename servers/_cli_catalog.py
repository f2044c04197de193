"""``tdscaling domains ...`` and ``tdscaling clusters ...`` (to be written)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``domains`` and ``clusters`` to ``app``."""
