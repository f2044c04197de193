"""tdscaling.sandbox: a code-execution MCP server that isolates and records every run.

Build the server with :func:`build_sandbox_server` and serve it (``tdscaling sandbox serve``) or use
it in process with ``mcp.Client(server)``. :func:`open_sandbox` gives the same machinery without MCP.

Imports are lazy (PEP 562): ``tdscaling --help`` imports this package for its CLI, and the MCP SDK
should load only when a command needs it.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tdscaling.sandbox._backend import IsolationReport, Layer, SandboxBackend
    from tdscaling.sandbox._docker import DockerBackend
    from tdscaling.sandbox._errors import (
        IsolationUnavailableError,
        SandboxBrokenError,
        SandboxError,
        SandboxUsageError,
        WorkspacePathError,
    )
    from tdscaling.sandbox._leftovers import remove_leftovers
    from tdscaling.sandbox._local import LocalBackend
    from tdscaling.sandbox._recorder import ExecutionRecord
    from tdscaling.sandbox._results import ExecutionResult, Language, LimitHit
    from tdscaling.sandbox._sandbox import ExecuteCodeOutput, Sandbox, open_sandbox
    from tdscaling.sandbox._select import BackendPlan, plan_backend
    from tdscaling.sandbox._server import build_sandbox_server
    from tdscaling.sandbox._session_id import SessionId
    from tdscaling.sandbox._settings import BackendChoice, IsolationLevel, Limits, SandboxSettings
    from tdscaling.sandbox._workspace import FileInfo

_EXPORTS = {
    "BackendChoice": "tdscaling.sandbox._settings",
    "BackendPlan": "tdscaling.sandbox._select",
    "DockerBackend": "tdscaling.sandbox._docker",
    "ExecuteCodeOutput": "tdscaling.sandbox._sandbox",
    "ExecutionRecord": "tdscaling.sandbox._recorder",
    "ExecutionResult": "tdscaling.sandbox._results",
    "FileInfo": "tdscaling.sandbox._workspace",
    "IsolationLevel": "tdscaling.sandbox._settings",
    "IsolationReport": "tdscaling.sandbox._backend",
    "IsolationUnavailableError": "tdscaling.sandbox._errors",
    "Language": "tdscaling.sandbox._results",
    "Layer": "tdscaling.sandbox._backend",
    "LimitHit": "tdscaling.sandbox._results",
    "Limits": "tdscaling.sandbox._settings",
    "LocalBackend": "tdscaling.sandbox._local",
    "Sandbox": "tdscaling.sandbox._sandbox",
    "SandboxBackend": "tdscaling.sandbox._backend",
    "SandboxBrokenError": "tdscaling.sandbox._errors",
    "SandboxError": "tdscaling.sandbox._errors",
    "SandboxSettings": "tdscaling.sandbox._settings",
    "SandboxUsageError": "tdscaling.sandbox._errors",
    "SessionId": "tdscaling.sandbox._session_id",
    "WorkspacePathError": "tdscaling.sandbox._errors",
    "build_sandbox_server": "tdscaling.sandbox._server",
    "open_sandbox": "tdscaling.sandbox._sandbox",
    "plan_backend": "tdscaling.sandbox._select",
    "remove_leftovers": "tdscaling.sandbox._leftovers",
}

__all__ = [
    "BackendChoice",
    "BackendPlan",
    "DockerBackend",
    "ExecuteCodeOutput",
    "ExecutionRecord",
    "ExecutionResult",
    "FileInfo",
    "IsolationLevel",
    "IsolationReport",
    "IsolationUnavailableError",
    "Language",
    "Layer",
    "LimitHit",
    "Limits",
    "LocalBackend",
    "Sandbox",
    "SandboxBackend",
    "SandboxBrokenError",
    "SandboxError",
    "SandboxSettings",
    "SandboxUsageError",
    "SessionId",
    "WorkspacePathError",
    "build_sandbox_server",
    "open_sandbox",
    "plan_backend",
    "remove_leftovers",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
