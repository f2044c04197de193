"""tdscaling.sandbox: a code-execution MCP server that isolates and records every run.

Build the server with :func:`build_sandbox_server` and serve it (``tdscaling sandbox serve``) or use
it in process with ``mcp.Client(server)``. :func:`open_sandbox` gives the same machinery without MCP.

Nothing is imported until first used (``tdscaling.common.lazy_exports``): ``tdscaling --help`` imports this
package for its CLI, and the MCP SDK should load only when a command needs it.
"""

from typing import TYPE_CHECKING

from tdscaling.common import lazy_exports

if TYPE_CHECKING:
    from tdscaling.sandbox._backend import IsolationReport, Layer, SandboxBackend
    from tdscaling.sandbox._cgroups import owned_cgroups
    from tdscaling.sandbox._docker import DockerBackend
    from tdscaling.sandbox._errors import (
        IsolationUnavailableError,
        SandboxBrokenError,
        SandboxError,
        SandboxUsageError,
        WorkspacePathError,
    )
    from tdscaling.sandbox._isolation import LocalCapabilities, detect_local
    from tdscaling.sandbox._launch import Launch, sandbox_env
    from tdscaling.sandbox._leftovers import remove_leftovers
    from tdscaling.sandbox._local import LocalBackend
    from tdscaling.sandbox._process import Child
    from tdscaling.sandbox._recorder import ExecutionRecord
    from tdscaling.sandbox._results import ExecutionResult, Language, LimitHit
    from tdscaling.sandbox._sandbox import ExecuteCodeOutput, Sandbox, open_sandbox
    from tdscaling.sandbox._select import BackendPlan, plan_backend
    from tdscaling.sandbox._serve import (
        SandboxServing,
        run_code,
        run_code_async,
        serve_sandbox,
        serve_sandbox_async,
    )
    from tdscaling.sandbox._server import build_sandbox_server
    from tdscaling.sandbox._session_id import SessionId
    from tdscaling.sandbox._settings import BackendChoice, IsolationLevel, Limits, SandboxSettings
    from tdscaling.sandbox._tool_names import (
        EXECUTE_CODE,
        LIST_FILES,
        READ_FILE,
        RESET_SESSION,
        SANDBOX_TOOLS,
        WRITE_FILE,
    )
    from tdscaling.sandbox._workspace import FileInfo

__all__, __getattr__, __dir__ = lazy_exports(__name__, __file__)
