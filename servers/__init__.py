"""Business Clusters: domain specs, the catalog, the dependency graph, clusters, and their MCP servers.

Nothing is imported until first used (``tdscaling.common.lazy_exports``): ``import tdscaling.servers`` and
``tdscaling --help`` stay fast, and the MCP SDK loads only with ``ClusterRuntime``.
"""

from typing import TYPE_CHECKING

from tdscaling.common import lazy_exports

if TYPE_CHECKING:
    from ._build import cluster_problems, domain_cluster, make_cluster, signature_of
    from ._call import ToolFailure
    from ._catalog import Catalog, load_domain_file, parse_domain
    from ._cluster_spec import ClusterEdge, ClusterSpec, ClusterTool, Join, Policy, SeedRecipe
    from ._errors import ServersError, SpecError, UnknownNameError
    from ._graph import branch_points, build_graph, chains, domain_graph, entry_tools, fan_outs, unreachable_needs
    from ._kinds import KINDS, OperationKind, Outputs, Param
    from ._resolve import load_cluster
    from ._runtime import ClusterRuntime
    from ._seed import ANCHOR, Templates
    from ._spec import DomainSpec, EntitySpec, FieldSpec, OperationSpec, StateMachine, Transition
    from ._store import ChangedRow, Snapshot, Store, TableDiff, diff
    from ._tools import ToolSpec, input_schema, tool_spec

__all__, __getattr__, __dir__ = lazy_exports(__name__, __file__)
