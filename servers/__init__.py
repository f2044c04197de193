"""Business Clusters: domain specs, the catalog, the dependency graph, clusters, and their MCP servers."""

from ._build import cluster_problems, domain_cluster, make_cluster, signature_of
from ._catalog import Catalog, load_domain_file, parse_domain
from ._cluster_spec import ClusterEdge, ClusterSpec, ClusterTool, Join, Policy, SeedRecipe
from ._errors import ServersError, SpecError, UnknownNameError
from ._graph import branch_points, build_graph, chains, domain_graph, entry_tools, fan_outs, unreachable_needs
from ._kinds import KINDS, OperationKind, Outputs, Param
from ._spec import DomainSpec, EntitySpec, FieldSpec, OperationSpec, StateMachine, Transition
from ._tools import ToolSpec, input_schema, tool_spec

__all__ = [
    "KINDS",
    "Catalog",
    "ClusterEdge",
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
    "SpecError",
    "StateMachine",
    "ToolSpec",
    "Transition",
    "UnknownNameError",
    "branch_points",
    "build_graph",
    "chains",
    "cluster_problems",
    "domain_cluster",
    "domain_graph",
    "entry_tools",
    "fan_outs",
    "input_schema",
    "load_domain_file",
    "make_cluster",
    "parse_domain",
    "signature_of",
    "tool_spec",
    "unreachable_needs",
]
