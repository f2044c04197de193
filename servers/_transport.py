"""Serve a runtime over stdio or streamable HTTP.

HTTP goes through the toolkit's one serving layer (``tdscaling.common.serve_http``): loopback by
default with Host/Origin checks on every loopback address, ``--token`` bearer auth, a refused
non-loopback bind without a token, a bounded number of idle-expiring sessions and request deadlines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from tdscaling.common import HttpOptions, serve_http

if TYPE_CHECKING:
    from ._runtime import ClusterRuntime

Transport = Literal["stdio", "http"]
MCP_PATH = "/mcp"
RISK = "could change its state"


async def serve_stdio(runtime: ClusterRuntime) -> None:
    """Serve one client on this process's stdin/stdout (only JSON-RPC goes to stdout)."""
    from mcp.server.stdio import stdio_server

    server = runtime.server
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def serve_runtime_http(runtime: ClusterRuntime, options: HttpOptions,
                       on_ready: Callable[[str], None] | None = None) -> None:
    """Serve streamable HTTP at ``options``' address until interrupted; ``on_ready`` gets the URL once the
    socket listens."""
    serve_http(runtime.server, options, on_ready=on_ready)
