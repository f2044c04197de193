"""Small MCP servers for the hub tests: in-process objects and an HTTP app with a header check."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import StdioServerParameters
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

STDIO_SCRIPT = Path(__file__).with_name("stdio_toy_server.py")
API_KEY = "s3cret-test-key"


class Weather(BaseModel):
    city: str
    celsius: float


def shop_server() -> MCPServer:
    """Tools ``add``, ``echo`` (shared with ``crm``), ``weather`` (structured), ``refuse`` (tool error)."""
    server = MCPServer("shop", log_level="WARNING")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged (shop)."""
        return f"shop:{text}"

    @server.tool()
    def weather(city: str) -> Weather:
        """Current weather in a city."""
        return Weather(city=city, celsius=21.5)

    @server.tool()
    def refuse(reason: str) -> str:
        """Always fails with a tool error."""
        raise ToolError(f"refused: {reason}")

    return server


def crm_server(gate: anyio.Event | None = None) -> MCPServer:
    """Tools ``echo`` (collides with ``shop``) and ``find-customer`` (a name with a dash and a dot).

    ``wait_for_gate`` blocks until ``gate`` is set (for cancellation and concurrency tests).
    """
    server = MCPServer("crm", log_level="WARNING")

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged (crm)."""
        return f"crm:{text}"

    @server.tool(name="find-customer.v2")
    def find_customer(email: str) -> dict[str, Any]:
        """Find a customer by email."""
        return {"id": "cus_1", "email": email}

    @server.tool()
    async def wait_for_gate() -> str:
        """Wait until the test opens the gate."""
        if gate is not None:
            await gate.wait()
        return "opened"

    return server


def stdio_params(*extra_args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=[str(STDIO_SCRIPT), *extra_args])


def http_app() -> ASGIApp:
    """The ``shop`` server over streamable HTTP, refusing requests without ``X-Api-Key``."""
    inner = shop_server().streamable_http_app(host="127.0.0.1")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            if headers.get(b"x-api-key") != API_KEY.encode():
                await JSONResponse({"error": "missing or wrong X-Api-Key"}, status_code=401)(scope, receive, send)
                return
        await inner(scope, receive, send)

    return app
