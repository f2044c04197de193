"""The ``tdscaling`` command: one thin Typer app composed from each package's ``cli`` module.

Each package owns its commands (``register(app)``) and keeps heavy imports inside the command
bodies, so ``tdscaling --help`` stays fast. This is the one module that imports every package.
"""

from __future__ import annotations

import typer

from tdscaling.client import cli as client_cli
from tdscaling.sandbox import cli as sandbox_cli
from tdscaling.servers import cli as servers_cli
from tdscaling.synth import _cli_commands as synth_cli

app = typer.Typer(
    name="tdscaling",
    help="Synthesize diverse, verified tool-use trajectories from Business Cluster MCP servers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for _module in (servers_cli, sandbox_cli, client_cli, synth_cli):
    _module.register(app)


def main() -> None:
    app()
