"""Serve the sandbox as an MCP server (stdio or streamable HTTP), and run one program in a fresh sandbox.

``serve_sandbox`` is ``tdscaling sandbox serve``; ``run_code`` is ``tdscaling sandbox run``. HTTP goes through
the toolkit's one serving layer (``tdscaling.common.serve_http_async``): loopback by default, a token for
anything else, Host/Origin checks, a bounded number of idle-expiring sessions and request deadlines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, assert_never

from tdscaling.common import HttpOptions, blocking, check_bind

from ._results import Language
from ._sandbox import ExecuteCodeOutput, open_sandbox
from ._server import build_sandbox_server
from ._settings import SandboxSettings

Transport = Literal["stdio", "http"]
RISK = "could run code on this machine"


@dataclass(frozen=True)
class SandboxServing:
    """What ``on_ready`` hears once the sandbox is served: the isolation it runs with, in one line, and its
    URL (``None`` over stdio)."""

    headline: str
    url: str | None


async def serve_sandbox_async(settings: SandboxSettings | None = None, *, transport: Transport = "stdio",
                              host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
                              insecure: bool = False, max_http_sessions: int = 64,
                              http_session_idle_s: float = 600.0,
                              on_ready: Callable[[SandboxServing], None] | None = None) -> None:
    """Serve the sandbox (``settings``: limits, backend, recording) until the client leaves (stdio) or the task
    is cancelled (HTTP). Over HTTP a non-loopback ``host`` needs a ``token`` (or ``insecure``).

    Raises:
        InsecureBindError: a public ``host`` without ``token`` or ``insecure`` (checked before the host is
            probed).
        IsolationUnavailableError: the host cannot give ``settings.require_isolation``.
        OSError: the HTTP address cannot be bound.

    Example::

        import anyio
        from tdscaling.sandbox import SandboxSettings, serve_sandbox_async

        anyio.run(lambda: serve_sandbox_async(SandboxSettings(require_isolation="strong"), transport="http",
                                              port=8001, token="s3cret"))
    """
    options = HttpOptions(host=host, port=port, token=token or None, insecure=insecure, risk=RISK,
                          max_sessions=max_http_sessions, session_idle_s=http_session_idle_s)
    if transport == "http":
        check_bind(host, token=options.token, insecure=insecure, risk=RISK)
    server = build_sandbox_server(settings or SandboxSettings())
    headline = server.instructions.splitlines()[0] if server.instructions else ""
    match transport:
        case "stdio":
            if on_ready is not None:
                on_ready(SandboxServing(headline, None))
            await server.run_stdio_async()
        case "http":
            from tdscaling.common import serve_http_async

            def ready(url: str) -> None:
                if on_ready is not None:
                    on_ready(SandboxServing(headline, url))

            await serve_http_async(server, options, on_ready=ready)
        case _:
            assert_never(transport)


serve_sandbox = blocking(serve_sandbox_async, name="serve_sandbox", doc="""Serve the sandbox as an MCP server,
    blocking until the client leaves (stdio) or the process is interrupted (HTTP); ``serve_sandbox_async``'s
    arguments and errors.

    Example::

        from tdscaling.sandbox import serve_sandbox

        serve_sandbox()                                            # stdio, for an MCP host
        serve_sandbox(transport="http", port=8001, token="s3cret")
    """)


async def run_code_async(code: str, *, language: Language = "python",
                         settings: SandboxSettings | None = None) -> ExecuteCodeOutput:
    """Run one program in a fresh sandbox and return its result (a failing program is a result, not an error).

    Raises ``IsolationUnavailableError`` when the host cannot give ``settings.require_isolation`` and
    ``SandboxUsageError`` for input the sandbox refuses (a program over the size limit).

    Example::

        import anyio
        from tdscaling.sandbox import run_code_async

        result = anyio.run(lambda: run_code_async("print(6 * 7)"))
        assert result.stdout == "42\\n" and result.exit_code == 0
    """
    async with open_sandbox(settings or SandboxSettings()) as sandbox:
        return await sandbox.execute(code, language=language, session_id="run")


run_code = blocking(run_code_async, name="run_code", doc="""Run one program in a fresh sandbox;
    ``run_code_async`` without an event loop of your own.

    Example::

        from tdscaling.sandbox import run_code

        result = run_code("echo $((6 * 7))", language="bash")
        print(result.stdout, result.exit_code, result.isolation_level)
    """)
