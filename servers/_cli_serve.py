"""``tdscaling serve`` and ``tdscaling claude-config``.

Heavy imports (mcp, uvicorn, faker) stay inside the command bodies so ``tdscaling --help`` stays fast.
This is the edge where the environment is read (the data directory, the token variable).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._cli_errors import fail, user_errors

if TYPE_CHECKING:
    from ._catalog import Catalog
    from ._cluster_spec import ClusterSpec


class TransportName(StrEnum):
    stdio = "stdio"
    http = "http"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


def data_dir() -> Path:
    """Where ``serve`` keeps its databases: ``$XDG_DATA_HOME/tdscaling`` or ``~/.local/share/tdscaling``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tdscaling"


def _catalog(dirs: list[Path]) -> Catalog:
    from ._catalog import Catalog

    with user_errors():
        return Catalog.load(dirs)


def _server_name(spec: ClusterSpec) -> str:
    """A whole domain is named after the domain; any other cluster after its id."""
    return spec.domains[0] if spec.origin == "domain" else spec.id


def _db_name(spec: ClusterSpec, seed: int, rows: int | None = None) -> str:
    """The default database of a world, a plain file name (it always lives in the data directory)."""
    return f"{_server_name(spec)}-{seed}{f'-rows{rows}' if rows else ''}.sqlite3"


ClusterArg = Annotated[str, typer.Argument(help="A domain name, a cluster id (with --clusters) or a ClusterSpec "
                                                "JSON file.", show_default=False)]
ClustersOpt = Annotated[Path | None, typer.Option("--clusters", help="A clusters.jsonl file to look ids up in.")]
CatalogOpt = Annotated[list[Path] | None, typer.Option("--catalog", help="A directory of extra domain files "
                                                                         "(repeatable).")]
SeedOpt = Annotated[int | None, typer.Option(help="World seed (default: the cluster's).")]


def serve(
    cluster: ClusterArg,
    transport: Annotated[TransportName, typer.Option(help="stdio for an MCP host; http for remote clients.")]
    = TransportName.stdio,
    host: Annotated[str, typer.Option(help="HTTP address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP port (0 picks a free one).")] = 8000,
    db: Annotated[str | None, typer.Option(help="SQLite file to keep state in, or :memory: "
                                                "(default: a file per cluster in the data directory).")] = None,
    seed: SeedOpt = None,
    rows: Annotated[int | None, typer.Option(min=1, max=100_000, help="Rows per entity when seeding.")] = None,
    token: Annotated[str | None, typer.Option(envvar="TDSCALING_TOKEN", help="Bearer token HTTP clients must "
                                                                             "send.")] = None,
    insecure: Annotated[bool, typer.Option(help="Allow a non-loopback --host without --token.")] = False,
    max_http_sessions: Annotated[int, typer.Option(min=1, max=100_000, help="HTTP: MCP sessions open at most; "
                                                   "the longest-idle one is closed to admit a new one.")] = 64,
    http_session_idle_s: Annotated[float, typer.Option(min=0.001, max=86_400, help="HTTP: close a session after "
                                                       "this many seconds without a request.")] = 600.0,
    clusters: ClustersOpt = None,
    catalog: CatalogOpt = None,
    log_level: Annotated[LogLevel, typer.Option(case_sensitive=False, help="Logging level (logs go to stderr).")]
    = LogLevel.WARNING,
) -> None:
    """Serve a Business Cluster as a stateful MCP server (stdio or streamable HTTP)."""
    logging.basicConfig(stream=sys.stderr, level=log_level.value, format="%(levelname)s %(name)s: %(message)s")
    from tdscaling.common import HttpOptions, UsageError, check_bind, check_output_file

    from ._errors import SpecError
    from ._transport import RISK

    options = HttpOptions(host=host, port=port, token=token or None, insecure=insecure, risk=RISK,
                          max_sessions=max_http_sessions, session_idle_s=http_session_idle_s)
    if transport is TransportName.http:
        try:
            check_bind(host, token=options.token, insecure=insecure, risk=RISK)
        except UsageError as e:
            fail(str(e))
    if db is not None and db != ":memory:":
        try:
            check_output_file(Path(db), flag="--db")
        except UsageError as e:
            fail(str(e))
    cat = _catalog(catalog or [])
    from ._resolve import load_cluster
    from ._runtime import ClusterRuntime

    path = db or ""
    try:
        spec = load_cluster(cluster, cat, clusters_file=clusters)
        world_seed = spec.seed_recipe.seed if seed is None else seed
        path = db or str(data_dir() / _db_name(spec, world_seed, rows))
        runtime = ClusterRuntime(spec, cat, db=path, seed=world_seed, rows=rows)
    except SpecError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot open the database {path}: {e.strerror or e}")
    try:
        if transport is TransportName.stdio:
            import anyio

            from ._transport import serve_stdio

            anyio.run(serve_stdio, runtime)
        else:
            from ._transport import serve_runtime_http

            def ready(url: str) -> None:
                typer.echo(f"tdscaling: serving {runtime.name} at {url} (state in {path})", err=True)

            try:
                serve_runtime_http(runtime, options, on_ready=ready)
            except OSError as e:
                fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()


def _command() -> tuple[str, list[str]]:
    """The absolute command that runs ``tdscaling`` from this installation."""
    script = Path(sys.executable).parent / "tdscaling"
    if script.is_file() and os.access(script, os.X_OK):
        return str(script), []
    found = shutil.which("tdscaling")
    if found:
        return str(Path(found).resolve()), []
    return str(Path(sys.executable).resolve()), ["-m", "tdscaling.synth"]


def claude_config(
    clusters_: Annotated[list[str], typer.Argument(metavar="CLUSTER...", help="Domains, cluster ids or ClusterSpec "
                                                                              "files to serve.", show_default=False)],
    db_dir: Annotated[Path | None, typer.Option(help="Where the servers keep their databases "
                                                     "(default: the data directory).")] = None,
    seed: SeedOpt = None,
    clusters: ClustersOpt = None,
    catalog: CatalogOpt = None,
) -> None:
    """Print a claude_desktop_config.json that serves each CLUSTER over stdio."""
    from ._errors import SpecError
    from ._resolve import load_cluster

    cat = _catalog(catalog or [])
    command, prefix = _command()
    where = (db_dir or data_dir()).expanduser().resolve()
    servers: dict[str, dict[str, object]] = {}
    for ref in clusters_:
        try:
            spec = load_cluster(ref, cat, clusters_file=clusters)
        except SpecError as e:
            fail(str(e))
        world_seed = spec.seed_recipe.seed if seed is None else seed
        target = str(Path(ref).resolve()) if ref.endswith(".json") or Path(ref).is_file() else ref
        args = [*prefix, "serve", target, "--db", str(where / _db_name(spec, world_seed))]
        if seed is not None:
            args += ["--seed", str(seed)]
        if clusters is not None:
            args += ["--clusters", str(clusters.resolve())]
        for d in catalog or []:
            args += ["--catalog", str(d.resolve())]
        servers[f"tdscaling-{_server_name(spec)}"] = {"command": command, "args": args}
    typer.echo(json.dumps({"mcpServers": servers}, indent=2))


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``claude-config`` to ``app``."""
    app.command("serve")(serve)
    app.command("claude-config")(claude_config)
