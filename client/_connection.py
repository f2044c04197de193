"""One server's connection, owned by one task from open to close.

anyio requires a context manager to be left by the task that entered it, and an MCP
client holds task groups, so each server gets a runner task that enters the client,
lists its tools, reports ready, waits for the hub to close, and leaves the client.

The runner's body sits in a shielded cancel scope whose deadline is the only way it
ends early: ``connect_timeout_s`` while connecting, then none while serving, then
``close_timeout_s`` once closing starts. So a cancelled episode still closes every
connection (and stops every subprocess), and a hung server cannot hold the hub open
for longer than the close timeout.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import anyio
import mcp_types as types
from mcp import Client

from ._servers import ServerConfig, describe, open_client

logger = logging.getLogger(__name__)

_MAX_TOOL_PAGES = 100


def explain(error: BaseException) -> str:
    """A one-line account of an error, looking inside exception groups for the causes."""
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(explain(inner) for inner in error.exceptions)
    text = str(error) or "no message"
    return f"{type(error).__name__}: {text}"


@dataclass
class Connection:
    """State shared between a server's runner task and the hub."""

    config: ServerConfig
    connect_timeout_s: float
    client: Client | None = None
    tools: list[types.Tool] = field(default_factory=list)
    failure: str | None = None
    http_errors: list[str] = field(default_factory=list)
    ready: anyio.Event = field(default_factory=anyio.Event)
    _closing: anyio.Event = field(default_factory=anyio.Event)
    _scope: anyio.CancelScope | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def alive(self) -> bool:
        return self.client is not None and self.failure is None

    async def run(self) -> None:
        """Connect, serve until ``close`` is called, disconnect. Never raises an ordinary error."""
        with anyio.CancelScope(shield=True) as scope:
            self._scope = scope
            scope.deadline = anyio.current_time() + self.connect_timeout_s
            try:
                async with open_client(self.config, on_http_error=self.http_errors.append) as client:
                    self.tools = await _list_tools(client)
                    if not self._closing.is_set():  # close() may already have set a deadline
                        scope.deadline = math.inf
                    self.client = client
                    self.ready.set()
                    await self._closing.wait()
                    self.client = None
            except Exception as e:  # boundary: a server's failure is recorded, not raised
                self.client = None
                if not self.ready.is_set():
                    self.failure = f"{describe(self.config)} failed to connect: {self.explain(e)}"
                elif self.failure is None:
                    logger.warning("MCP server %r failed while closing: %s", self.name, explain(e))
        self.client = None
        if scope.cancelled_caught and not self.ready.is_set():
            self.failure = f"{describe(self.config)} did not connect within {self.connect_timeout_s:g} s"
        elif scope.cancelled_caught:
            logger.warning("MCP server %r did not close in time; its connection was abandoned", self.name)
        self.ready.set()

    def close(self, timeout_s: float) -> None:
        """Ask the runner to disconnect, within ``timeout_s`` from now."""
        self._closing.set()
        if self._scope is not None:
            self._scope.deadline = min(self._scope.deadline, anyio.current_time() + timeout_s)

    def explain(self, error: BaseException) -> str:
        """``explain(error)`` plus the last HTTP error status this connection saw, if any."""
        text = explain(error)
        return f"{text} ({self.http_errors[-1]})" if self.http_errors else text

    def mark_failed(self, message: str) -> None:
        self.failure = message


async def _list_tools(client: Client) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor: str | None = None
    for _ in range(_MAX_TOOL_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools
