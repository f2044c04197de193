"""Commands of tdscaling.servers for the ``tdscaling`` CLI: the catalog, clusters, and serving them."""

from __future__ import annotations

import typer

from . import _cli_catalog, _cli_serve


def register(app: typer.Typer) -> None:
    """Add ``domains``, ``clusters``, ``serve`` and ``claude-config`` to ``app``."""
    _cli_catalog.register(app)
    _cli_serve.register(app)
