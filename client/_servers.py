"""How to reach an MCP server: in process, as a stdio subprocess, or over streamable HTTP."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO, assert_never

import httpx2
from mcp import Client, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server
from mcp.server.mcpserver import MCPServer


@dataclass(frozen=True)
class InProcessServer:
    """A server object in this process (``MCPServer`` or a low-level ``Server``)."""

    name: str
    server: MCPServer | Server[Any]


@dataclass(frozen=True)
class StdioServer:
    """A command started as a subprocess, speaking MCP over its stdin/stdout.

    ``errlog`` receives the server's stderr (default: this process's stderr). The SDK starts
    the server in its own process group and, on close, closes stdin, then terminates and
    kills the group, each step bounded in time.
    """

    name: str
    params: StdioServerParameters
    errlog: TextIO | None = None


@dataclass(frozen=True)
class HttpServer:
    """A streamable-HTTP endpoint such as ``http://127.0.0.1:8000/mcp``.

    ``headers`` go with every request (``{"Authorization": "Bearer ..."}``).
    """

    name: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 30.0

    def __repr__(self) -> str:  # headers may hold credentials
        return f"HttpServer(name={self.name!r}, url={self.url!r}, headers=<{len(self.headers)}>)"


ServerConfig = InProcessServer | StdioServer | HttpServer


def describe(config: ServerConfig) -> str:
    """A short, credential-free description for reports."""
    match config:
        case InProcessServer():
            return f"in-process server {type(config.server).__name__}"
        case StdioServer():
            return f"stdio command {' '.join([config.params.command, *config.params.args])}"
        case HttpServer():
            return f"HTTP endpoint {config.url}"
        case _:
            assert_never(config)


@asynccontextmanager
async def open_client(
    config: ServerConfig, *, on_http_error: Callable[[str], None] | None = None
) -> AsyncIterator[Client]:
    """Connect to one server; leaving the context closes the connection (and the subprocess).

    ``on_http_error`` hears about every HTTP response with a status >= 400 (the SDK turns
    them into a generic "Server returned an error response", losing the status).
    """
    match config:
        case InProcessServer():
            async with Client(config.server) as client:
                yield client
        case StdioServer():
            transport = stdio_client(config.params, errlog=config.errlog or sys.stderr)
            async with Client(transport) as client:
                yield client
        case HttpServer():
            timeout = httpx2.Timeout(config.timeout_s, read=max(config.timeout_s, 300.0))

            async def note_status(response: httpx2.Response) -> None:
                if response.status_code >= 400 and on_http_error is not None:
                    request = response.request
                    on_http_error(f"HTTP {response.status_code} for {request.method} {request.url}")

            hooks = {"response": [note_status]}
            async with (
                httpx2.AsyncClient(headers=dict(config.headers), timeout=timeout, event_hooks=hooks) as http,
                Client(streamable_http_client(config.url, http_client=http)) as client,
            ):
                yield client
        case _:
            assert_never(config)
