"""Commands of tdscaling.synth for the ``tdscaling`` CLI."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add synth's commands to ``app`` (none yet)."""
