"""One loopback HTTP serving layer for every MCP server of the toolkit (a cluster, the sandbox).

``serve_http`` binds the socket (so the announced URL accepts at once, with the real port when 0 was
asked), refuses a non-loopback bind without a token unless told it is behind an authenticating proxy, and
runs uvicorn over the server's streamable HTTP app wrapped in the guards, outermost first:

    header deadline (protocol) -> body deadline -> Host/Origin -> bearer token -> session limiter -> the SDK

Host/Origin are checked on every loopback address with the values derived from the address bound (the
SDK's own default covers only three spellings). On a non-loopback address the token is the protection and
no Host check is made (a proxy in front chooses the Host). Sessions are capped and expire when idle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ._access import BearerGuard, HostGuard
from ._loopback import allowed_hosts_and_origins, bind_socket, check_bind, is_loopback, url_host
from ._sessions import SessionLimiter
from ._timeouts import BodyDeadline, header_deadline

if TYPE_CHECKING:
    import anyio
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.types import ASGIApp


class HttpOptions(BaseModel):
    """How an MCP server is offered over streamable HTTP. Built at the CLI edge, passed down."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(default="127.0.0.1", description="address to bind; loopback unless a token is given")
    port: int = Field(default=8000, ge=0, le=65535, description="0 picks a free port (announced)")
    path: str = "/mcp"
    token: str | None = Field(default=None, description="clients must send Authorization: Bearer <token>")
    insecure: bool = Field(default=False, description="allow a non-loopback bind without a token")
    risk: str = Field(default="could use every tool it offers", description="what a stranger could do; for "
                                                                            "the refusal's text")
    max_sessions: int = Field(default=64, ge=1, le=100_000, description="open MCP sessions at most")
    session_idle_s: float = Field(default=600.0, gt=0, le=86_400, description="an idle session is closed")
    header_timeout_s: float = Field(default=10.0, gt=0, le=3600, description="a request head must arrive in it")
    body_timeout_s: float = Field(default=30.0, gt=0, le=3600, description="a request body must arrive in it")
    max_body_bytes: int = Field(default=4 << 20, ge=1024, description="larger request bodies get 413")
    keep_alive_s: int = Field(default=5, ge=1, le=3600, description="an idle connection is closed after it")


class StreamableHttpServer(Protocol):
    """What ``serve_http`` serves: the SDK's low-level ``Server`` and ``MCPServer`` both fit."""

    def streamable_http_app(self, *, streamable_http_path: str = ..., session_idle_timeout: float | None = ...,
                            max_sessions: int | None = ..., transport_security: TransportSecuritySettings | None = ...,
                            host: str = ...) -> Any: ...


def security_settings(host: str, port: int) -> TransportSecuritySettings:
    """The SDK's DNS-rebinding settings for a server bound on ``host:port``: on for every loopback address."""
    from mcp.server.transport_security import TransportSecuritySettings

    if not is_loopback(host):
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts, origins = allowed_hosts_and_origins(host, port)
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                     allowed_origins=origins)


def build_app(server: StreamableHttpServer, options: HttpOptions, *, port: int) -> ASGIApp:
    """The guarded ASGI app for ``server`` bound on ``options.host:port``."""
    security = security_settings(options.host, port)
    inner = server.streamable_http_app(streamable_http_path=options.path, session_idle_timeout=options.session_idle_s,
                                       max_sessions=options.max_sessions, transport_security=security,
                                       host=options.host)
    app: ASGIApp = SessionLimiter(inner, max_sessions=options.max_sessions, idle_s=options.session_idle_s,
                                  path=options.path)
    if options.token:
        app = BearerGuard(app, options.token)
    if security.enable_dns_rebinding_protection:
        app = HostGuard(app, security)
    return BodyDeadline(app, seconds=options.body_timeout_s, max_bytes=options.max_body_bytes)


def _config(app: ASGIApp, options: HttpOptions) -> Any:
    import uvicorn

    return uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2,
                          timeout_keep_alive=options.keep_alive_s, http=header_deadline(options.header_timeout_s))


def _url(options: HttpOptions, port: int) -> str:
    return f"http://{url_host(options.host)}:{port}{options.path}"


async def serve_http_async(server: StreamableHttpServer, options: HttpOptions, *,
                           on_ready: Callable[[str], None] | None = None, stop: anyio.Event | None = None) -> None:
    """Serve ``server`` until ``stop`` is set (or the process is interrupted); ``on_ready`` gets the URL.

    Raises ``InsecureBindError`` for a non-loopback host without a token or ``insecure``, and ``OSError``
    when the address cannot be bound.
    """
    import anyio
    import uvicorn

    check_bind(options.host, token=options.token, insecure=options.insecure, risk=options.risk)
    sock = bind_socket(options.host, options.port)
    with sock:
        port = int(sock.getsockname()[1])
        app = build_app(server, options, port=port)
        runner = uvicorn.Server(_config(app, options))
        if on_ready is not None:
            on_ready(_url(options, port))
        async with anyio.create_task_group() as tg:
            if stop is not None:

                async def stop_when_told() -> None:
                    await stop.wait()
                    runner.should_exit = True

                tg.start_soon(stop_when_told)
            await runner.serve(sockets=[sock])
            tg.cancel_scope.cancel()


def serve_http(server: StreamableHttpServer, options: HttpOptions, *,
               on_ready: Callable[[str], None] | None = None) -> None:
    """``serve_http_async`` in its own event loop, until interrupted (Ctrl-C, SIGTERM)."""
    import anyio

    anyio.run(lambda: serve_http_async(server, options, on_ready=on_ready))
