"""The MCP server: five tools over a shared :class:`Sandbox`, two resources, loud instructions."""

# No "from __future__ import annotations": the SDK evaluates tool signatures, which use local names.

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from tdscaling.sandbox._errors import SandboxBrokenError, SandboxError, SandboxUsageError
from tdscaling.sandbox._recorder import RecentSummary
from tdscaling.sandbox._sandbox import ExecuteCodeOutput, Sandbox, open_sandbox
from tdscaling.sandbox._select import BackendPlan, checked, plan_backend
from tdscaling.sandbox._session_id import SessionIdParam
from tdscaling.sandbox._settings import SandboxSettings
from tdscaling.sandbox._tool_names import EXECUTE_CODE, LIST_FILES, READ_FILE, RESET_SESSION, WRITE_FILE
from tdscaling.sandbox._workspace import ALLOWED, FileInfo


class WriteFileOutput(BaseModel):
    path: str
    bytes_written: int
    session_id: str


class ReadFileOutput(BaseModel):
    path: str
    content: str
    session_id: str


class ListFilesOutput(BaseModel):
    files: list[FileInfo]
    truncated: bool
    session_id: str


class ResetSessionOutput(BaseModel):
    session_id: str
    existed: bool


class _Shared:
    """One Sandbox for the whole server, however many connections enter the lifespan."""

    def __init__(self, settings: SandboxSettings, plan: BackendPlan) -> None:
        self._settings = settings
        self._plan = plan
        self._users = 0
        self._lock = anyio.Lock()
        self._stack: Any = None
        self.sandbox: Sandbox | None = None

    @asynccontextmanager
    async def lifespan(self, _server: object) -> AsyncIterator[None]:
        async with self._lock:
            if self._users == 0:
                self._stack = open_sandbox(self._settings, plan=self._plan)
                self.sandbox = await self._stack.__aenter__()
            self._users += 1
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                async with self._lock:
                    self._users -= 1
                    if self._users == 0 and self._stack is not None:
                        stack, self._stack, self.sandbox = self._stack, None, None
                        await stack.__aexit__(None, None, None)

    def get(self) -> Sandbox:
        if self.sandbox is None:
            raise ToolError("the sandbox is not running (server lifespan not entered)")
        return self.sandbox


def instructions(plan: BackendPlan, settings: SandboxSettings) -> str:
    report, limits = plan.report, settings.limits
    lines = [
        report.headline(),
        *[f"WARNING: {w}" for w in report.warnings],
        "Runs Python or bash in a per-session workspace (files persist between calls until reset_session "
        f"or {settings.session_idle_s:g} s idle). No network. Limits per run: {limits.timeout_s:g} s wall clock, "
        f"{limits.cpu_s} CPU s, {limits.memory_mb} MB memory, {limits.max_procs} processes, "
        f"{limits.output_kb} KiB per output stream (truncated beyond).",
        "execute_code(persistent=true) keeps Python variables between calls, like a notebook.",
        f"File tools: {ALLOWED}. Every execution is recorded; cite the returned record_id.",
    ]
    return "\n".join(lines)


def _translate(error: SandboxError) -> ToolError:
    if isinstance(error, SandboxUsageError):
        return ToolError(str(error))
    if isinstance(error, SandboxBrokenError):
        return ToolError(f"the sandbox failed (not your code): {error}")
    return ToolError(str(error))


def _version() -> str:
    """This installation's version, which the server reports to clients (``serverInfo.version``)."""
    try:
        return metadata.version("tdscaling")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def build_sandbox_server(
    settings: SandboxSettings, *, plan: BackendPlan | None = None, name: str = "tdscaling-sandbox"
) -> MCPServer[Any]:
    """The MCP server object (use with ``mcp.Client(server)`` or ``server.run(...)``).

    Probes the host now (unless ``plan`` is given) and raises
    :class:`~tdscaling.sandbox.IsolationUnavailableError` below ``settings.require_isolation``.
    The sandbox itself starts with the server's lifespan and is shared by every connection.
    """
    chosen = checked(settings, plan) if plan is not None else plan_backend(settings)
    shared = _Shared(settings, chosen)
    server: MCPServer[Any] = MCPServer(
        name,
        version=_version(),
        instructions=instructions(chosen, settings),
        lifespan=shared.lifespan,
        log_level="WARNING",
    )
    _code_tool(server, shared, settings)
    _file_tools(server, shared)
    _resources(server, shared, chosen)
    return server


def _code_tool(server: MCPServer[Any], shared: _Shared, settings: SandboxSettings) -> None:
    max_timeout = settings.limits.timeout_s

    @server.tool(
        name=EXECUTE_CODE,
        description="Run Python or bash code in the sandbox (no network) and return its output, exit code, "
        "resource use and a record_id. A failing program is a normal result, not an error.",
        annotations=ToolAnnotations(
            title="Execute code",
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=False,
        ),
    )
    async def execute_code(
        code: Annotated[str, Field(description="the program text")],
        language: Annotated[Literal["python", "bash"], Field(description="python or bash")] = "python",
        timeout_s: Annotated[
            float | None, Field(description=f"wall-clock limit, at most {max_timeout:g} s (the default)")
        ] = None,
        session_id: SessionIdParam = "default",
        persistent: Annotated[
            bool, Field(description="python only: keep variables between calls in a live interpreter")
        ] = False,
    ) -> ExecuteCodeOutput:
        try:
            return await shared.get().execute(
                code, language=language, timeout_s=timeout_s, session_id=session_id, persistent=persistent
            )
        except SandboxError as e:
            raise _translate(e) from e


def _file_tools(server: MCPServer[Any], shared: _Shared) -> None:
    @server.tool(
        name=WRITE_FILE,
        description=f"Write a UTF-8 text file into the session workspace ({ALLOWED}).",
        annotations=ToolAnnotations(
            title="Write file", read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def write_file(
        path: Annotated[str, Field(description="relative path in the workspace")],
        content: Annotated[str, Field(description="the file's text")],
        session_id: SessionIdParam = "default",
    ) -> WriteFileOutput:
        try:
            written = await shared.get().write_file(path, content, session_id=session_id)
        except SandboxError as e:
            raise _translate(e) from e
        return WriteFileOutput(path=path, bytes_written=written, session_id=session_id)

    @server.tool(
        name=READ_FILE,
        description=f"Read a text file from the session workspace ({ALLOWED}).",
        annotations=ToolAnnotations(
            title="Read file", read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def read_file(
        path: Annotated[str, Field(description="relative path in the workspace")],
        session_id: SessionIdParam = "default",
    ) -> ReadFileOutput:
        try:
            content = await shared.get().read_file(path, session_id=session_id)
        except SandboxError as e:
            raise _translate(e) from e
        return ReadFileOutput(path=path, content=content, session_id=session_id)

    @server.tool(
        name=LIST_FILES,
        description="List the files in the session workspace (symlinks are listed, never followed).",
        annotations=ToolAnnotations(
            title="List files", read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def list_files(session_id: SessionIdParam = "default") -> ListFilesOutput:
        try:
            files, truncated = await shared.get().list_files(session_id=session_id)
        except SandboxError as e:
            raise _translate(e) from e
        return ListFilesOutput(files=files, truncated=truncated, session_id=session_id)

    @server.tool(
        name=RESET_SESSION,
        description="Delete the session's workspace and stop its persistent interpreter.",
        annotations=ToolAnnotations(
            title="Reset session",
            read_only_hint=False,
            destructive_hint=True,
            idempotent_hint=True,
            open_world_hint=False,
        ),
    )
    async def reset_session(session_id: SessionIdParam = "default") -> ResetSessionOutput:
        try:
            existed = await shared.get().reset_session(session_id)
        except SandboxError as e:
            raise _translate(e) from e
        return ResetSessionOutput(session_id=session_id, existed=existed)


def _resources(server: MCPServer[Any], shared: _Shared, chosen: BackendPlan) -> None:
    @server.resource(
        "sandbox://executions/recent",
        name="recent-executions",
        description="The most recent executions (code head, exit code, limit, record_id), oldest first.",
        mime_type="application/json",
    )
    def recent_executions() -> str:
        records = shared.get().recent() if shared.sandbox is not None else []
        return json.dumps([RecentSummary.of(r).model_dump() for r in records], indent=1)

    @server.resource(
        "sandbox://isolation",
        name="isolation",
        description="The active isolation: level, mechanism, every layer and warning.",
        mime_type="application/json",
    )
    def isolation() -> str:
        return chosen.report.model_dump_json(indent=1)

