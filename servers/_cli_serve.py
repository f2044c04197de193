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
from typing import Annotated

import typer

from tdscaling.common import fail, usage_errors


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
    from tdscaling.common import check_output_file
    from tdscaling.servers import Catalog, Serving
    from tdscaling.servers import serve as serve_cluster

    with usage_errors():
        if db is not None and db != ":memory:":
            check_output_file(Path(db), flag="--db")
        cat = Catalog.load(catalog or ())

    def ready(serving: Serving) -> None:
        if serving.url is not None:
            typer.echo(f"tdscaling: serving {serving.name} at {serving.url} (state in {serving.db})", err=True)

    try:
        with usage_errors():
            serve_cluster(cluster, transport=transport.value, host=host, port=port, db=db, data_dir=data_dir(),
                          seed=seed, rows=rows, token=token, insecure=insecure, max_http_sessions=max_http_sessions,
                          http_session_idle_s=http_session_idle_s, catalog=cat, clusters_file=clusters,
                          on_ready=ready)
    except OSError as e:
        fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
    except KeyboardInterrupt:
        pass


def _command() -> list[str]:
    """The absolute command that runs ``tdscaling`` from this installation."""
    script = Path(sys.executable).parent / "tdscaling"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("tdscaling")
    if found:
        return [str(Path(found).resolve())]
    return [str(Path(sys.executable).resolve()), "-m", "tdscaling.synth"]


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
    from tdscaling.servers import claude_desktop_config

    with usage_errors():
        config = claude_desktop_config(clusters_, command=_command(), db_dir=db_dir or data_dir(), seed=seed,
                                       clusters_file=clusters, catalog_dirs=catalog or ())
    typer.echo(json.dumps(config, indent=2))
