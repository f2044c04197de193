"""Business Clusters: domain specs, the catalog, the dependency graph, clusters, and their MCP servers.

The tasks, each what one command does:

* ``Catalog.load(dirs)``: the built-in domains plus your own (``tdscaling domains list|show``);
* ``generate_clusters(catalog, n, seed=...)``, ``write_clusters(path, clusters)``, ``read_clusters(path)``,
  ``find_cluster(path, id)``, ``cluster_stats(path)`` (``tdscaling clusters generate|show|stats``);
* ``serve(cluster, transport="stdio"|"http", ...)`` and ``serve_async`` (``tdscaling serve``),
  ``claude_desktop_config(clusters, ...)`` (``tdscaling claude-config``);
* ``load_cluster(ref, catalog)``: a domain name, a cluster id or a ClusterSpec file, as a ``ClusterSpec``;
  ``ClusterRuntime(cluster, catalog)``: its live world and MCP server, in process.

Nothing is imported until first used (``tdscaling.common.lazy_exports``): ``import tdscaling.servers`` and
``tdscaling --help`` stay fast, and the MCP SDK loads only with ``ClusterRuntime``. See docs/api.md.
"""

from typing import TYPE_CHECKING

from tdscaling.common import lazy_exports

if TYPE_CHECKING:
    from ._build import DomainIndex, Indexes, cluster_problems, domain_cluster, make_cluster, signature_of
    from ._call import ToolFailure
    from ._catalog import Catalog, load_domain_file, parse_domain
    from ._claude_config import claude_desktop_config
    from ._cluster_io import ClusterStats, cluster_stats, find_cluster, read_clusters, write_clusters
    from ._cluster_spec import ClusterEdge, ClusterSpec, ClusterTool, Join, Policy, SeedRecipe
    from ._errors import ServersError, SpecError, UnknownNameError
    from ._generate import ClusterGenerator, GenerationStats, generate_clusters
    from ._graph import branch_points, build_graph, chains, domain_graph, entry_tools, fan_outs, unreachable_needs
    from ._json_files import load_model
    from ._kinds import KINDS, READ_KINDS, WRITE_KINDS, OperationKind, Outputs, Param
    from ._mutations import MUTATIONS, mutate
    from ._resolve import load_cluster
    from ._runtime import ClusterRuntime
    from ._seed import ANCHOR, Templates
    from ._serve import Serving, Transport, serve, serve_async
    from ._spec import NUMERIC_TYPES, DomainSpec, EntitySpec, FieldSpec, OperationSpec, StateMachine, Transition
    from ._store import ChangedRow, Snapshot, Store, TableDiff, diff, table_name
    from ._tools import ToolSpec, input_schema, tool_spec

__all__, __getattr__, __dir__ = lazy_exports(__name__, __file__)
