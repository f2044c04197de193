"""Serve a Business Cluster as a stateful MCP server: over stdio for an MCP host, or over streamable HTTP.

``serve_async`` (and its blocking twin ``serve``) resolves the cluster, opens its world (a SQLite file, seeded
the first time, or ``:memory:``) and serves it until the client leaves (stdio) or the process is interrupted
(HTTP). HTTP goes through the toolkit's one serving layer (``tdscaling.common.serve_http_async``): loopback by
default with Host/Origin checks on every loopback address, bearer-token auth, a refused non-loopback bind
without a token, a bounded number of idle-expiring sessions and request deadlines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, assert_never

from tdscaling.common import HttpOptions, blocking, check_bind

from ._catalog import Catalog
from ._cluster_spec import ClusterSpec
from ._errors import SpecError
from ._resolve import load_cluster

if TYPE_CHECKING:
    from ._runtime import ClusterRuntime

Transport = Literal["stdio", "http"]
RISK = "could change its state"


@dataclass(frozen=True)
class Serving:
    """What ``on_ready`` hears once a cluster is served: its server name, its URL (``None`` over stdio) and
    where its state lives."""

    name: str
    url: str | None
    db: str


def server_name(cluster: ClusterSpec) -> str:
    """A whole domain is named after the domain; any other cluster after its id."""
    return cluster.domains[0] if cluster.origin == "domain" else cluster.id


def default_db_name(cluster: ClusterSpec, seed: int, rows: int | None = None) -> str:
    """The file name of a world's database when none is given (it lives in a data directory)."""
    return f"{server_name(cluster)}-{seed}{f'-rows{rows}' if rows else ''}.sqlite3"


def open_world(cluster: ClusterSpec | str, *, catalog: Catalog | None = None, clusters_file: Path | None = None,
               db: str | Path | None = None, data_dir: Path | None = None, seed: int | None = None,
               rows: int | None = None) -> tuple[ClusterRuntime, str]:
    """The cluster's world as a ``ClusterRuntime`` and where its state lives (see ``serve_async``)."""
    from ._runtime import ClusterRuntime

    catalog = catalog if catalog is not None else Catalog.load()
    spec = cluster if isinstance(cluster, ClusterSpec) else load_cluster(cluster, catalog, clusters_file=clusters_file)
    world_seed = spec.seed_recipe.seed if seed is None else seed
    if db is None:
        db = ":memory:" if data_dir is None else data_dir / default_db_name(spec, world_seed, rows)
    try:
        return ClusterRuntime(spec, catalog, db=db, seed=world_seed, rows=rows), str(db)
    except OSError as e:
        raise SpecError(f"cannot open the database {db}: {e.strerror or e}") from None


async def _serve_stdio(runtime: ClusterRuntime) -> None:
    """Serve one client on this process's stdin/stdout (only JSON-RPC goes to stdout)."""
    from mcp.server.stdio import stdio_server

    server = runtime.server
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def serve_async(cluster: ClusterSpec | str, *, transport: Transport = "stdio", host: str = "127.0.0.1",
                      port: int = 8000, db: str | Path | None = None, data_dir: Path | None = None,
                      seed: int | None = None, rows: int | None = None, token: str | None = None,
                      insecure: bool = False, max_http_sessions: int = 64, http_session_idle_s: float = 600.0,
                      catalog: Catalog | None = None, clusters_file: Path | None = None,
                      on_ready: Callable[[Serving], None] | None = None) -> None:
    """Serve ``cluster`` as an MCP server until the client leaves (stdio) or the task is cancelled (HTTP).

    ``cluster`` is a ``ClusterSpec`` or what ``load_cluster`` resolves: a domain name, a cluster id in
    ``clusters_file``, or a ClusterSpec ``.json`` file. The world's state lives in ``db`` (a SQLite file,
    seeded the first time and reused after; ``":memory:"``), by default in ``data_dir`` under a name made of
    the cluster, ``seed`` and ``rows``, or in memory without a ``data_dir``. Over HTTP, a non-loopback ``host``
    needs a ``token`` (or ``insecure``); at most ``max_http_sessions`` MCP sessions stay open, each closed after
    ``http_session_idle_s`` without a request.

    Raises:
        SpecError: an unknown or malformed cluster, or a database that holds another world or cannot be used.
        InsecureBindError: a public ``host`` without ``token`` or ``insecure`` (nothing was opened).
        OSError: the HTTP address cannot be bound.

    Example::

        import anyio
        from tdscaling.servers import serve_async

        anyio.run(lambda: serve_async("online_store", transport="http", port=8000, token="s3cret"))
    """
    options = HttpOptions(host=host, port=port, token=token or None, insecure=insecure, risk=RISK,
                          max_sessions=max_http_sessions, session_idle_s=http_session_idle_s)
    if transport == "http":  # before anything is opened: a refused bind leaves no database behind
        check_bind(host, token=options.token, insecure=insecure, risk=RISK)
    runtime, where = open_world(cluster, catalog=catalog, clusters_file=clusters_file, db=db, data_dir=data_dir,
                                seed=seed, rows=rows)
    try:
        match transport:
            case "stdio":
                if on_ready is not None:
                    on_ready(Serving(runtime.name, None, where))
                await _serve_stdio(runtime)
            case "http":
                from tdscaling.common import serve_http_async

                def ready(url: str) -> None:
                    if on_ready is not None:
                        on_ready(Serving(runtime.name, url, where))

                await serve_http_async(runtime.server, options, on_ready=ready)
            case _:
                assert_never(transport)
    finally:
        runtime.close()


serve = blocking(serve_async, name="serve", doc="""Serve a cluster as an MCP server, blocking until the client
    leaves (stdio) or the process is interrupted (HTTP). The arguments and errors are ``serve_async``'s.

    Example::

        from tdscaling.servers import serve

        serve("online_store")                                  # stdio, for an MCP host; state in memory
        serve("clinic", transport="http", port=8000, token="s3cret", db="clinic.sqlite3")
    """)
