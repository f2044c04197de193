"""The hub: many MCP servers behind one tool namespace, every call routed and recorded."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import anyio
import httpx2
import mcp_types as types
from anyio.abc import TaskGroup
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from ._call_log import CallLog, ReportKind, ServerReport
from ._calls import CallRecord, ErrorKind, ToolOutcome
from ._connection import Connection, explain
from ._errors import HubConfigError, ServerConnectError
from ._naming import NamingPolicy, assign_names
from ._schema import openai_tool
from ._servers import ServerConfig
from ._validators import ValidatorCache

logger = logging.getLogger(__name__)

# Errors that mean the connection itself is gone, not that the tool failed.
_TRANSPORT_ERRORS = (
    anyio.ClosedResourceError,
    anyio.BrokenResourceError,
    anyio.EndOfStream,
    OSError,
    httpx2.TransportError,
)


@dataclass(frozen=True)
class HubTool:
    """A tool as the hub publishes it: its public name, and where it really lives."""

    name: str
    server: str
    tool: str
    description: str
    input_schema: Mapping[str, Any]
    output_schema: Mapping[str, Any] | None

    def to_openai(self) -> dict[str, Any]:
        return openai_tool(self.name, self.description, self.input_schema)


class Hub:
    """Connects to many MCP servers at once and routes tool calls to them.

    Use as an async context manager. Entering connects to every server concurrently and
    lists their tools; if any server cannot be reached, the others are closed again and
    ``ServerConnectError`` names each failure. Once open, nothing a server does raises out
    of ``call``: a failure becomes an error ``CallRecord`` and, when the server itself is
    gone, a ``ServerReport``. Leaving (normally, on error, or on cancellation) closes every
    connection within ``close_timeout_s``.

    Args:
        servers: where to connect; names must be unique and non-empty.
        naming: when tool names get their server's prefix (see ``NamingPolicy``).
        limiter: bounds how many calls run at once across this hub (share one limiter
            between hubs to bound them together); ``None`` means no bound.
        connect_timeout_s: per server, from spawn or dial to the tool list.
        call_timeout_s: per call; ``None`` waits as long as the server takes.
        close_timeout_s: per server, for the whole shutdown.
        log: where calls and reports are recorded; a fresh ``CallLog`` by default.
        validators: compiled output-schema validators to share with other hubs (see
            ``ValidatorCache``); ``None`` lets each session compile its own.
    """

    def __init__(
        self,
        servers: Sequence[ServerConfig],
        *,
        naming: NamingPolicy | None = None,
        limiter: anyio.CapacityLimiter | None = None,
        connect_timeout_s: float = 30.0,
        call_timeout_s: float | None = 60.0,
        close_timeout_s: float = 10.0,
        log: CallLog | None = None,
        validators: ValidatorCache | None = None,
    ) -> None:
        names = [config.name for config in servers]
        if any(not name for name in names):
            raise HubConfigError("every server needs a non-empty name")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise HubConfigError(f"server names must be unique; repeated: {', '.join(duplicates)}")
        self.naming = naming or NamingPolicy()
        self.limiter = limiter
        self.call_timeout_s = call_timeout_s
        self.close_timeout_s = close_timeout_s
        self.log = log if log is not None else CallLog()
        self.validators = validators
        self._connections = [Connection(config, connect_timeout_s) for config in servers]
        self._by_server = {c.name: c for c in self._connections}
        self._tools: dict[str, HubTool] = {}
        self._task_group: TaskGroup | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._task_group is not None:
            raise RuntimeError("this Hub is already open; create a new Hub per episode")
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        try:
            for connection in self._connections:
                self._task_group.start_soon(connection.run, name=f"mcp-server:{connection.name}")
            for connection in self._connections:
                await connection.ready.wait()
            failures = {c.name: c.failure for c in self._connections if c.failure is not None}
            if failures:
                for name, why in failures.items():
                    self._report(name, "connect_failed", why)
                raise ServerConnectError(failures)
            self._tools = self._publish()
        except BaseException as e:
            await self._close(type(e), e, e.__traceback__)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await self._close(exc_type, exc, tb)

    async def _close(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        task_group, self._task_group = self._task_group, None
        if task_group is None:
            return None
        for connection in self._connections:
            connection.close(self.close_timeout_s)
        # The runners never raise, so only a cancellation needs to reach the task group (its
        # cancel scope is one of ours); any other exception is re-raised unchanged by our
        # caller instead of coming back wrapped in an ExceptionGroup.
        if isinstance(exc, anyio.get_cancelled_exc_class()):
            return await task_group.__aexit__(exc_type, exc, tb)
        await task_group.__aexit__(None, None, None)
        return None

    # -- tools -----------------------------------------------------------------------------

    def _publish(self) -> dict[str, HubTool]:
        pairs = [(c.name, tool) for c in self._connections for tool in c.tools]
        names = assign_names([(server, tool.name) for server, tool in pairs], self.naming)
        return {
            name: HubTool(
                name=name,
                server=server,
                tool=tool.name,
                description=tool.description or tool.title or "",
                input_schema=tool.input_schema,
                output_schema=tool.output_schema,
            )
            for name, (server, tool) in zip(names, pairs, strict=True)
        }

    @property
    def tools(self) -> tuple[HubTool, ...]:
        """Every published tool, servers in the order given, tools in the order listed."""
        return tuple(self._tools.values())

    def openai_tools(self) -> list[dict[str, Any]]:
        """The tools in OpenAI function-calling format, ready for a model call."""
        return [tool.to_openai() for tool in self._tools.values()]

    def resolve(self, name: str) -> HubTool | None:
        """The tool behind a public name, or ``None``."""
        return self._tools.get(name)

    def alive(self, server: str) -> bool:
        """Whether ``server`` is connected and has not failed."""
        return self._by_server[server].alive

    @property
    def reports(self) -> tuple[ServerReport, ...]:
        return self.log.reports

    # -- calls -----------------------------------------------------------------------------

    async def call(self, name: str, arguments: Mapping[str, Any] | None = None) -> CallRecord:
        """Call the tool published as ``name`` and record the call.

        Returns:
            The record; ``record.text`` is the reply to show the model, and
            ``record.is_error`` / ``record.error_kind`` say whether and why it failed.
        """
        args = dict(arguments or {})
        started_at, started = time.time(), time.perf_counter()
        tool = self._tools.get(name)
        if tool is None:
            known = ", ".join(sorted(self._tools)) or "none"
            text = f"Unknown tool {name!r}. Available tools: {known}."
            return self._record(name, None, args, ToolOutcome.failure(text), "unknown_tool", started_at, started)
        connection = self._by_server[tool.server]
        limiter = self.limiter if self.limiter is not None else contextlib.nullcontext()
        async with limiter:
            client = connection.client
            if client is None or connection.failure is not None:
                why = connection.failure or "it is closed"
                text = f"Tool {name} is unavailable: server {tool.server!r} failed earlier ({why})."
                failure = ToolOutcome.failure(text)
                return self._record(name, tool, args, failure, "server_unavailable", started_at, started)
            result: types.CallToolResult | None = None
            kind: ErrorKind | None = None
            if self.validators is not None:
                self.validators.prime(client.session, tool.tool, tool.output_schema)
            try:
                result = await client.call_tool(tool.tool, args, read_timeout_seconds=self.call_timeout_s)
            except MCPError as e:
                kind, text = self._mcp_error(tool, e)
            except TimeoutError:
                kind, text = "timeout", f"Tool {name} did not answer within {self.call_timeout_s:g} s."
            except (ValidationError, RuntimeError) as e:
                kind, text = "protocol", f"Tool {name} returned an invalid result: {explain(e)}"
            except (*_TRANSPORT_ERRORS, ExceptionGroup) as e:
                kind, text = self._server_failed(tool, e)
        if result is None:
            assert kind is not None
            return self._record(name, tool, args, ToolOutcome.failure(text), kind, started_at, started)
        outcome = ToolOutcome.of(result)
        return self._record(name, tool, args, outcome, "tool" if outcome.is_error else None, started_at, started)

    def _mcp_error(self, tool: HubTool, error: MCPError) -> tuple[ErrorKind, str]:
        if error.code == types.CONNECTION_CLOSED:
            return self._server_failed(tool, error)
        if error.code == types.REQUEST_TIMEOUT:
            return "timeout", f"Tool {tool.name} did not answer within {self.call_timeout_s:g} s."
        return "protocol", f"Tool {tool.name} failed with error {error.code}: {error.message}"

    def _server_failed(self, tool: HubTool, error: BaseException) -> tuple[ErrorKind, str]:
        connection = self._by_server[tool.server]
        message = f"server {tool.server!r} stopped answering during a call to {tool.tool}: {connection.explain(error)}"
        if connection.failure is None:
            connection.mark_failed(message)
            self._report(tool.server, "died", message)
        return "server_failed", f"Tool {tool.name} failed: {message}."

    def _report(self, server: str, kind: ReportKind, message: str) -> None:
        logger.warning("MCP server %r: %s", server, message)
        self.log.add_report(ServerReport(server=server, kind=kind, message=message, at=time.time()))

    def _record(
        self,
        name: str,
        tool: HubTool | None,
        arguments: dict[str, Any],
        outcome: ToolOutcome,
        error_kind: ErrorKind | None,
        started_at: float,
        started: float,
    ) -> CallRecord:
        record = CallRecord(
            call_id=str(self.log.next_index()),
            name=name,
            server=tool.server if tool else "",
            tool=tool.tool if tool else name,
            arguments=arguments,
            text=outcome.text,
            structured=outcome.structured,
            is_error=error_kind is not None,
            error_kind=error_kind,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            started_at=started_at,
            ended_at=time.time(),
        )
        self.log.add_call(record)
        return record
