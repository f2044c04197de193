"""Business Clusters: domain specs, the catalog, the dependency graph, clusters, and their MCP servers."""

from typing import TYPE_CHECKING

from ._build import cluster_problems, domain_cluster, make_cluster, signature_of
from ._call import ToolFailure
from ._catalog import Catalog, load_domain_file, parse_domain
from ._cluster_spec import ClusterEdge, ClusterSpec, ClusterTool, Join, Policy, SeedRecipe
from ._errors import ServersError, SpecError, UnknownNameError
from ._graph import branch_points, build_graph, chains, domain_graph, entry_tools, fan_outs, unreachable_needs
from ._kinds import KINDS, OperationKind, Outputs, Param
from ._resolve import load_cluster
from ._seed import ANCHOR, Templates
from ._spec import DomainSpec, EntitySpec, FieldSpec, OperationSpec, StateMachine, Transition
from ._store import ChangedRow, Snapshot, Store, TableDiff, diff
from ._tools import ToolSpec, input_schema, tool_spec

if TYPE_CHECKING:
    from ._runtime import ClusterRuntime

__all__ = [
    "ANCHOR",
    "KINDS",
    "Catalog",
    "ChangedRow",
    "ClusterEdge",
    "ClusterRuntime",
    "ClusterSpec",
    "ClusterTool",
    "DomainSpec",
    "EntitySpec",
    "FieldSpec",
    "Join",
    "OperationKind",
    "OperationSpec",
    "Outputs",
    "Param",
    "Policy",
    "SeedRecipe",
    "ServersError",
    "Snapshot",
    "SpecError",
    "StateMachine",
    "Store",
    "TableDiff",
    "Templates",
    "ToolFailure",
    "ToolSpec",
    "Transition",
    "UnknownNameError",
    "branch_points",
    "build_graph",
    "chains",
    "cluster_problems",
    "diff",
    "domain_cluster",
    "domain_graph",
    "entry_tools",
    "fan_outs",
    "input_schema",
    "load_cluster",
    "load_domain_file",
    "make_cluster",
    "parse_domain",
    "signature_of",
    "tool_spec",
    "unreachable_needs",
]


def __getattr__(name: str) -> object:
    # ClusterRuntime pulls in the MCP SDK (about a second); import it on first use so that
    # ``import tdscaling.servers`` and ``tdscaling --help`` stay fast.
    if name == "ClusterRuntime":
        from ._runtime import ClusterRuntime

        return ClusterRuntime
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
