"""``ClusterRuntime``: a live MCP server (the SDK's low-level ``Server``) over a cluster's state store.

The low-level server publishes each tool's JSON Schema verbatim; arguments are validated here before
anything runs. Results carry ``structuredContent`` matching the tool's ``outputSchema`` and the same JSON
as text. A failure the caller can fix is an ``isError`` result saying how; a bug in this code is logged
with its traceback and reported as an internal error, never as the caller's fault.

The harness builds one runtime per cluster and calls ``fresh()`` for each episode: the world is seeded
once (per ``Templates``) and every episode gets its own in-memory copy.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError

from ._call import ToolFailure
from ._catalog import Catalog, domain_digest
from ._cluster_spec import ClusterSpec
from ._compile import Compiled, argument_errors, compile_cluster, printable
from ._errors import SpecError
from ._seed import Templates, cluster_tables, seed_store
from ._semantics import execute
from ._store import Store

logger = logging.getLogger(__name__)

SPEC_URI = "cluster://spec"
GRAPH_URI = "cluster://graph"
_SEEDED_KEY = "seeded"


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


class ClusterRuntime:
    """A cluster served as an MCP server over its own store.

    Args:
        cluster: what to serve.
        catalog: where the cluster's domains come from.
        db: ``":memory:"`` (an episode) or a file path; a new file is seeded, an existing one reused when it
            holds this world (same cluster, domain files, seed and rows), else refused with a ``SpecError``.
        seed: the world's seed (default: the cluster's seed recipe).
        rows: rows per entity (default: the seed recipe's).
        templates: seeded worlds to clone from; share one between runtimes to seed each cluster once.

    ``server`` is the MCP server (``mcp.Client(runtime.server)`` connects in process), ``store`` its state.
    """

    def __init__(self, cluster: ClusterSpec, catalog: Catalog, *, db: str | Path = ":memory:",
                 seed: int | None = None, rows: int | None = None, templates: Templates | None = None) -> None:
        self._setup(compile_cluster(cluster, catalog), seed=cluster.seed_recipe.seed if seed is None else seed,
                    rows=rows, templates=templates or Templates())
        if str(db) == ":memory:":
            self.store = self._templates.store(cluster, self._compiled.domains, seed=self.seed, rows=rows)
        else:
            self.store = _open_file(Path(db), self._compiled, seed=self.seed, rows=rows)
        self.server = self._make_server()

    def _setup(self, compiled: Compiled, *, seed: int, rows: int | None, templates: Templates) -> None:
        self._compiled = compiled
        self.cluster = compiled.cluster
        self.seed = seed
        self.rows = rows
        self._templates = templates
        self._lock = threading.Lock()

    @classmethod
    def _over(cls, parent: ClusterRuntime, store: Store) -> ClusterRuntime:
        rt = cls.__new__(cls)
        rt._setup(parent._compiled, seed=parent.seed, rows=parent.rows, templates=parent._templates)
        rt.store = store
        rt.server = rt._make_server()
        return rt

    def fresh(self) -> ClusterRuntime:
        """A runtime over a new copy of the freshly seeded world (for a new episode)."""
        return self._over(self, self._templates.store(self.cluster, self._compiled.domains, seed=self.seed,
                                                      rows=self.rows))

    def clone(self) -> ClusterRuntime:
        """A runtime over an in-memory copy of this runtime's current state."""
        with self._lock:
            return self._over(self, self.store.clone())

    @property
    def name(self) -> str:
        return self._compiled.name

    @property
    def instructions(self) -> str:
        return self._compiled.instructions

    def tools(self) -> list[types.Tool]:
        return [t.listing for t in self._compiled.tools.values()]

    def close(self) -> None:
        self.store.close()

    # --- calls ---------------------------------------------------------------------------------------
    def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        """Run one tool call synchronously (what ``tools/call`` does), always returning a result."""
        tool = self._compiled.tools.get(name)
        if tool is None:
            known = ", ".join(self._compiled.tools)
            return _error(f"Unknown tool '{printable(name[:80])}'. The tools of this service are: {known}.")
        args = arguments or {}
        problems = argument_errors(tool, args)
        if problems:
            return _error(f"Invalid arguments for {name}: " + " ".join(problems) + " Nothing was changed.")
        try:
            with self._lock:
                result = execute(tool.bound, args, self.store, self._compiled.world)
        except ToolFailure as e:
            return _error(str(e))
        except Exception as e:
            logger.exception("internal error in tool %s of cluster %s", name, self.cluster.id)
            return _error(f"Internal error in the {self.name} server while running {name} ({type(e).__name__}). "
                          "This is a bug in the server, not a problem with your arguments; the call changed "
                          "nothing.")
        return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(result))],
                                    structured_content=result)

    # --- the MCP server --------------------------------------------------------------------------------
    def _make_server(self) -> Server[Any]:
        c = self._compiled
        listing = types.ListToolsResult(tools=self.tools())
        resources = types.ListResourcesResult(resources=[
            types.Resource(uri=SPEC_URI, name="cluster-spec", title="Cluster specification",
                           mime_type="application/json",
                           description="The ClusterSpec this server serves: tools, edges, seed recipe."),
            types.Resource(uri=GRAPH_URI, name="cluster-graph", title="Tool dependency graph",
                           mime_type="application/json",
                           description="Which tool's output another tool needs (nodes and edges)."),
        ])
        texts = {SPEC_URI: c.spec_json, GRAPH_URI: c.graph_json}

        async def list_tools(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
                             ) -> types.ListToolsResult:
            return listing

        async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
                            ) -> types.CallToolResult:
            return self.call(params.name, params.arguments)

        async def list_resources(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
                                 ) -> types.ListResourcesResult:
            return resources

        async def read_resource(ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
                                ) -> types.ReadResourceResult:
            uri = str(params.uri)
            if uri not in texts:
                raise MCPError(-32602, f"Unknown resource '{uri[:80]}'; this server has {', '.join(texts)}")
            return types.ReadResourceResult(contents=[
                types.TextResourceContents(uri=uri, mime_type="application/json", text=texts[uri])])

        return Server(f"tdscaling-{c.name}", version="0.1.0", title=c.title, instructions=c.instructions,
                      on_list_tools=list_tools, on_call_tool=call_tool, on_list_resources=list_resources,
                      on_read_resource=read_resource)


def world_marker(compiled: Compiled, *, seed: int, rows: int | None) -> str:
    """What a seeded file holds: the cluster, the content of its domains, the seed and the rows."""
    return json.dumps({"cluster": compiled.cluster.id, "seed": seed, "rows": rows,
                       "domains": {n: domain_digest(d) for n, d in sorted(compiled.domains.items())}},
                      sort_keys=True)


def _held(path: Path) -> str | None:
    """The marker of the world an existing file holds (None when it holds none yet), read without writing."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)  # a writer may seed it
        try:
            has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_meta'").fetchone()
            row = conn.execute("SELECT value FROM _meta WHERE key = ?", (_SEEDED_KEY,)).fetchone() if has_meta \
                else None
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise SpecError(f"not a tdscaling database ({e}); delete it or pass another --db", source=str(path)) from None
    return None if row is None else str(row[0])


def _describe(marker: str) -> str:
    try:
        m = json.loads(marker)
        return f"cluster {m['cluster']}, seed {m['seed']}, rows {m['rows'] or 'default'}"
    except (ValueError, KeyError, TypeError):  # a file seeded before markers were JSON: "id:seed:rows"
        cluster, _, rest = marker.partition(":")
        seed, _, rows = rest.partition(":")
        return f"cluster {cluster}, seed {seed}, rows {rows if rows not in ('', 'None') else 'default'}"


def _open_file(path: Path, compiled: Compiled, *, seed: int, rows: int | None) -> Store:
    """Open a file store, seeding it when it is new; a file holding any other world is refused."""
    marker = world_marker(compiled, seed=seed, rows=rows)
    held = _held(path)
    if held is not None and held != marker:
        what = _describe(held)
        if what == _describe(marker):
            what += ", from other domain files"
        raise SpecError(f"{path} holds another world ({what}); delete it or pass another --db")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        store = Store.open(cluster_tables(compiled.domains), path)
    except sqlite3.Error as e:
        raise SpecError(f"cannot use the database: {e}", source=str(path)) from None
    try:
        if store.meta(_SEEDED_KEY) is None:
            # Two servers started at once on a new file both get here; the write lock lets one seed it.
            if seed_store(store, compiled.cluster, compiled.domains, seed=seed, rows=rows,
                          mark=(_SEEDED_KEY, marker)):
                logger.info("seeded %s (cluster %s, seed %s)", path, compiled.cluster.id, seed)
        held = store.meta(_SEEDED_KEY)
        if held != marker:  # the other one seeded another world into it
            raise SpecError(f"{path} holds another world ({_describe(held or '')}); delete it or pass another --db")
    except sqlite3.Error as e:
        store.close()
        raise SpecError(f"cannot use the database: {e}", source=str(path)) from None
    except BaseException:
        store.close()
        raise
    return store
