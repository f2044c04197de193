"""tdscaling.common: what every part of the toolkit needs and none should own.

One loopback HTTP serving layer for MCP servers (``serve_http``), checks of paths from the command line, how
a command reports a caller's mistake and how commands are registered (``fail``, ``usage_errors``,
``add_commands``), JSON Lines appends that survive ``kill -9`` (``JsonlAppender``), files replaced whole
(``write_atomic``), and lazy package exports (``lazy_exports``).

It lives in ``sandbox/_common`` because the sandbox must stand alone (it imports no other part), so the
shared layer travels with it; it imports no part itself. Nothing is imported until first used, so importing
this package costs nothing at CLI start.
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

if TYPE_CHECKING:
    from ._access import BearerGuard, HostGuard, StaticTokenVerifier
    from ._atomic import atomic_writer, write_atomic
    from ._blocking import blocking
    from ._cli import USAGE_EXIT, OneLineCommand, add_commands, fail, usage_errors
    from ._errors import BadPathError, CommonError, InsecureBindError, UsageError
    from ._http import HttpOptions, StreamableHttpServer, build_app, security_settings, serve_http, serve_http_async
    from ._jsonl import JsonlAppender, json_line, read_jsonl, repair
    from ._lazy import export_table, lazy_exports
    from ._loopback import allowed_hosts_and_origins, bind_socket, check_bind, is_loopback
    from ._paths import check_output_dir, check_output_file
    from ._sessions import SessionLimiter

__all__, __getattr__, __dir__ = lazy_exports(__name__, __file__)
