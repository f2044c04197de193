"""``tdscaling serve`` and ``tdscaling claude-config`` (to be written)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``claude-config`` to ``app``."""
