"""A tiny MCP server run over stdio by the hub tests: ``python stdio_toy_server.py``."""

from __future__ import annotations

import os

import anyio
from mcp.server.mcpserver import MCPServer

server = MCPServer("files", log_level="WARNING")


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged (files)."""
    return f"files:{text}"


@server.tool()
async def block() -> str:
    """Never returns (until the process is stopped)."""
    await anyio.Event().wait()
    return "unreachable"


if __name__ == "__main__":
    server.run("stdio")
