"""Commands of tdscaling.servers for the ``tdscaling`` CLI: the catalog, clusters, and serving them.

Each command parses its flags, calls one public function of ``tdscaling.servers`` and shows the result.
"""

from __future__ import annotations

import typer

from tdscaling.common import add_commands

from ._cli_catalog import clusters_generate, clusters_show, clusters_stats, domains_list, domains_show
from ._cli_serve import claude_config, serve


def register(app: typer.Typer) -> None:
    """Add ``domains``, ``clusters``, ``serve`` and ``claude-config`` to ``app``."""
    add_commands(app, {"list": domains_list, "show": domains_show}, group="domains", help="The domain catalog.")
    add_commands(app, {"generate": clusters_generate, "show": clusters_show, "stats": clusters_stats},
                 group="clusters", help="Business Clusters: generate, inspect, count.")
    add_commands(app, {"serve": serve, "claude-config": claude_config})
