"""tdscaling.common: what every part of the toolkit needs and none should own.

It lives in ``sandbox/_common`` because the sandbox must stand alone (it imports no other part), so the
shared layer travels with it; it imports no part itself. Heavy libraries (mcp, uvicorn) are imported
inside the functions that need them, so importing this package costs nothing at CLI start.
"""

from ._access import BearerGuard, HostGuard, StaticTokenVerifier
from ._errors import BadPathError, CommonError, InsecureBindError, UsageError
from ._http import HttpOptions, StreamableHttpServer, build_app, security_settings, serve_http, serve_http_async
from ._loopback import allowed_hosts_and_origins, bind_socket, check_bind, is_loopback
from ._paths import check_output_dir, check_output_file
from ._sessions import SessionLimiter

__all__ = [
    "BadPathError",
    "BearerGuard",
    "CommonError",
    "HostGuard",
    "HttpOptions",
    "InsecureBindError",
    "SessionLimiter",
    "StaticTokenVerifier",
    "StreamableHttpServer",
    "UsageError",
    "allowed_hosts_and_origins",
    "bind_socket",
    "build_app",
    "check_bind",
    "check_output_dir",
    "check_output_file",
    "is_loopback",
    "security_settings",
    "serve_http",
    "serve_http_async",
]
