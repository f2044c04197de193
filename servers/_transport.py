"""Serve a runtime over stdio or streamable HTTP.

HTTP binds 127.0.0.1 by default, where the SDK's DNS-rebinding protection (Host and Origin checks) is
on. A bearer ``token`` turns on the SDK's resource-server auth: a missing or wrong token gets 401.
Binding any other address without a token is refused (``InsecureBindError``) unless ``insecure``.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from ._errors import ServersError

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken

    from ._runtime import ClusterRuntime

logger = logging.getLogger(__name__)
Transport = Literal["stdio", "http"]
MCP_PATH = "/mcp"


class InsecureBindError(ServersError):
    """An HTTP server would listen beyond this machine without a token."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class StaticTokenVerifier:
    """Accepts exactly one bearer token (compared in constant time)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def verify_token(self, token: str) -> AccessToken | None:
        from mcp.server.auth.provider import AccessToken

        if hmac.compare_digest(token.encode(), self._token.encode()):
            return AccessToken(token=token, client_id="tdscaling", scopes=["mcp"])
        return None


def check_bind(host: str, *, token: str | None, insecure: bool) -> None:
    """Refuse to expose an unauthenticated server beyond loopback."""
    if not is_loopback(host) and not token and not insecure:
        raise InsecureBindError(f"refusing to serve on {host} without --token: anyone who can reach it could "
                                "change its state; pass --token T (or --insecure to accept the risk)")


async def serve_stdio(runtime: ClusterRuntime) -> None:
    """Serve one client on this process's stdin/stdout (only JSON-RPC goes to stdout)."""
    from mcp.server.stdio import stdio_server

    server = runtime.server
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def serve_http(runtime: ClusterRuntime, *, host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
               insecure: bool = False, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve streamable HTTP at ``http://host:port/mcp`` until interrupted (port 0 picks a free one).

    ``on_ready`` gets the URL once the socket is listening.
    """
    import uvicorn
    from mcp.server.auth.settings import AuthSettings

    check_bind(host, token=token, insecure=insecure)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(128)
    bound = sock.getsockname()[1]
    auth = verifier = None
    if token:
        verifier = StaticTokenVerifier(token)
        auth = AuthSettings(issuer_url=f"http://127.0.0.1:{bound}/", resource_server_url=None,
                            required_scopes=["mcp"])
    app = runtime.server.streamable_http_app(streamable_http_path=MCP_PATH, host=host, auth=auth,
                                             token_verifier=verifier)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{bound}{MCP_PATH}"
    if on_ready is not None:
        on_ready(url)
    uvicorn.Server(config).run(sockets=[sock])

