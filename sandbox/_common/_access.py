"""Who may talk to an HTTP server: the Host/Origin (DNS-rebinding) guard and the bearer token.

Both run before a request reaches the MCP session manager, so a request from a rebound page or without
the token can neither open a session nor make the session cap evict anyone. The checks themselves are the
SDK's: its ``TransportSecurityMiddleware`` validation for Host/Origin, its ``BearerAuthBackend`` and
``RequireAuthMiddleware`` with a ``TokenVerifier`` for the token (the same pieces its own
``streamable_http_app(auth=...)`` assembles, arranged so the lifespan passes through).
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.types import ASGIApp, Receive, Scope, Send

SCOPE = "mcp"


class StaticTokenVerifier:
    """Accepts exactly one bearer token (compared in constant time); an SDK ``TokenVerifier``."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def verify_token(self, token: str) -> AccessToken | None:
        from mcp.server.auth.provider import AccessToken

        if hmac.compare_digest(token.encode(), self._token.encode()):
            return AccessToken(token=token, client_id="tdscaling", scopes=[SCOPE])
        return None


class HostGuard:
    """Answers 421 to a foreign Host and 403 to a foreign Origin (the SDK's rules and settings)."""

    def __init__(self, app: ASGIApp, settings: TransportSecuritySettings) -> None:
        from mcp.server.transport_security import TransportSecurityMiddleware

        self._app = app
        self._check = TransportSecurityMiddleware(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            from starlette.requests import Request

            refusal = await self._check.validate_request(Request(scope), is_post=False)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self._app(scope, receive, send)


class BearerGuard:
    """Answers 401 unless the request carries ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
        from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
        from starlette.middleware.authentication import AuthenticationMiddleware

        self._app = app
        self._checked: Any = AuthenticationMiddleware(
            AuthContextMiddleware(RequireAuthMiddleware(app, required_scopes=[SCOPE])),
            backend=BearerAuthBackend(StaticTokenVerifier(token)),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The lifespan has no headers to check; it goes straight to the app (the SDK's session manager).
        await (self._checked if scope["type"] == "http" else self._app)(scope, receive, send)
