"""Reasoning modes, read from structure: which modes a cluster can support, which one a trajectory shows.

``feasible_modes`` is the planner's first filter: a necessary structural condition per mode, read from the
cluster's tools and dependency edges (it does not prove a blueprint exists; the dry run does that).

``observed_mode`` classifies a trajectory by what its calls and messages really did, not by the planned
label. Rules, first match wins (rarer, more specific behaviour first, so a trajectory that shows several
gets the most specific one):

1. ``code_aggregation``: a sandbox ``execute_code`` call.
2. ``cross_domain``: successful calls of cluster tools from two or more domains.
3. ``error_recovery``: a tool result that is an error, later followed by a successful call of the same tool.
4. ``parallel_fanout``: an assistant message with two or more ``tool_calls``.
5. ``clarification``: before the first tool call, an assistant message without tool calls that a user
   message answers.
6. ``conditional_branch``: a successful read at a branch point of the cluster (a read-only tool followed in
   the graph by two or more transitions of one entity), later a transition whose arguments carry a value
   that read returned (the record it read). Which transition applies depended on the observed state.
7. ``sequential_chain``: three or more successful cluster calls, each after the first bound to a value an
   earlier call returned (see ``bound_arguments``).
8. ``lookup``: anything else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

from tdscaling.client import SANDBOX, CallRecord, ReasoningMode, Trajectory
from tdscaling.sandbox import EXECUTE_CODE
from tdscaling.servers import NUMERIC_TYPES, READ_KINDS, WRITE_KINDS, ClusterSpec, EntitySpec, Indexes, ToolSpec

_ID = re.compile(r"\b[A-Z]{2,5}-\d{6}\b")


# --- the cluster's graph, from the ClusterSpec alone ------------------------------------------------------
@dataclass(frozen=True)
class ClusterShape:
    """The cluster's tool graph as the spec states it (served names, kinds, entities, edge reasons)."""

    kind: dict[str, str]
    entity: dict[str, str]
    domain: dict[str, str]
    graph: nx.DiGraph

    @classmethod
    def of(cls, cluster: ClusterSpec) -> ClusterShape:
        g: nx.DiGraph = nx.DiGraph()
        g.add_nodes_from(cluster.tool_names())
        for e in cluster.edges:
            g.add_edge(e.source, e.target, reason=e.reason)
        return cls({t.name: t.kind for t in cluster.tools}, {t.name: t.entity for t in cluster.tools},
                   {t.name: t.domain for t in cluster.tools}, g)

    def needs(self, name: str) -> list[str]:
        """Successors that need what ``name`` gives (an id or a state), not just an optional filter."""
        return sorted(m for m in self.graph.successors(name) if self.graph.edges[name, m]["reason"] != "informs")

    def branch_reads(self) -> set[str]:
        """Read-only tools followed by two or more transitions of one entity."""
        out = set()
        for n in self.graph.nodes:
            if self.kind[n] not in READ_KINDS:
                continue
            per_entity: dict[str, int] = {}
            for m in self.graph.successors(n):
                if self.kind[m] == "transition":
                    per_entity[self.entity[m]] = per_entity.get(self.entity[m], 0) + 1
            if any(v >= 2 for v in per_entity.values()):
                out.add(n)
        return out

    def fan_outs(self) -> set[str]:
        return {n for n in self.graph.nodes if len(self.needs(n)) >= 2}

    def has_chain(self, k: int) -> bool:
        """A simple path of ``k`` distinct tools along id/state dependencies."""
        def extend(path: list[str]) -> bool:
            if len(path) >= k:
                return True
            return any(extend([*path, m]) for m in self.needs(path[-1]) if m not in path)

        return any(extend([n]) for n in sorted(self.graph.nodes))

    def depth(self) -> int:
        """Tools on the longest id/state dependency chain, cycles condensed (as ``deepen_chain`` reads it)."""
        g = nx.DiGraph()
        g.add_nodes_from(self.graph.nodes)
        g.add_edges_from((a, b) for a, b, r in self.graph.edges(data="reason") if r != "informs")
        c = nx.condensation(g)
        return sum(len(c.nodes[n]["members"]) for n in nx.dag_longest_path(c)) if len(c) else 0


def cluster_complexity(cluster: ClusterSpec) -> float:
    """Structural complexity: ``depth + 0.25 * tools + 0.5 * policies + 0.5 * (domains - 1)``."""
    shape = ClusterShape.of(cluster)
    return shape.depth() + 0.25 * len(cluster.tools) + 0.5 * len(cluster.policies) + 0.5 * (len(cluster.domains) - 1)


# --- feasibility --------------------------------------------------------------------------------------------
def feasible_modes(cluster: ClusterSpec, indexes: Indexes) -> set[ReasoningMode]:
    """Modes the cluster's structure can support (a necessary condition, per mode):

    * ``lookup``, ``clarification``: an entry read, a search needing no id or a get by the record's own id
      (an id the user can give);
    * ``sequential_chain``: a path of three tools along id/state dependencies;
    * ``parallel_fanout``: a tool whose output two or more tools need;
    * ``conditional_branch``: a read-only tool followed by two or more transitions of one entity;
    * ``error_recovery``: a tool with a precondition or a policy, or a transition that some state of its
      entity cannot take;
    * ``code_aggregation``: a search over an entity with a numeric field (something to compute over);
    * ``cross_domain``: two domains.
    """
    shape = ClusterShape.of(cluster)
    specs = {t.name: indexes[t.domain].tools[t.operation] for t in cluster.tools}
    guarded = {p.tool for p in cluster.policies}
    out: set[ReasoningMode] = set()
    if any((s.kind == "search" and not s.needs_ids())
           or (s.kind == "get" and all(e == s.entity for _, e in s.needs_ids())) for s in specs.values()):
        out |= {"lookup", "clarification"}
    if shape.has_chain(3):
        out.add("sequential_chain")
    if shape.fan_outs():
        out.add("parallel_fanout")
    if shape.branch_reads():
        out.add("conditional_branch")
    for t in cluster.tools:
        s = specs[t.name]
        entity = indexes[t.domain].domain.entities[s.entity]
        sm = entity.state_machine
        if s.preconditions or t.name in guarded or (
                s.kind == "transition" and sm is not None and set(sm.states) - set(s.source_states)):
            out.add("error_recovery")
        if s.kind == "search" and any(f.type in NUMERIC_TYPES for f in entity.fields.values()):
            out.add("code_aggregation")
    if len(cluster.domains) >= 2:
        out.add("cross_domain")
    plannable = _plannable(cluster, specs, indexes)
    # a fan-out the planner builds from filters ("informs" edges) has no id/state edge to show structurally
    return (out & plannable) | (plannable & {"parallel_fanout"})


def _plannable(cluster: ClusterSpec, specs: dict[str, ToolSpec], indexes: Indexes) -> set[ReasoningMode]:
    """What the planner's recipes additionally need (see ``_planner``): a write to chain toward; two transitions
    of one entity, one fixing the state the other needs (recovery) or with disjoint starting states (branch);
    a record whose id or references feed two reads (fan-out)."""
    out: set[ReasoningMode] = {"lookup", "clarification", "code_aggregation", "cross_domain"}
    if any(s.kind in WRITE_KINDS - {"delete"} for s in specs.values()):
        out.add("sequential_chain")
    if cluster.policies:
        out.add("error_recovery")  # the planner asks above the cap, then within it
    out |= _transition_modes(specs)
    if any(_feeds_two_reads(specs[t.name], specs, indexes[t.domain].domain.entities) for t in cluster.tools
           if specs[t.name].kind in ("get", "search")):
        out.add("parallel_fanout")
    return out


def _transition_modes(specs: dict[str, ToolSpec]) -> set[ReasoningMode]:
    """``error_recovery`` when one transition reaches a state another needs from a state it does not start in;
    ``conditional_branch`` when two transitions of one entity start from different states."""
    out: set[ReasoningMode] = set()
    trans = [s for s in specs.values() if s.kind == "transition"]
    for a in trans:
        for b in trans:
            if a is b or a.entity != b.entity or a.domain != b.domain:
                continue
            if set(b.outputs.states) & set(a.source_states) and set(b.source_states) - set(a.source_states):
                out.add("error_recovery")
            if set(a.source_states) - set(b.source_states) and set(b.source_states) - set(a.source_states):
                out.add("conditional_branch")
    return out


def _feeds_two_reads(s: ToolSpec, specs: dict[str, ToolSpec], entities: Mapping[str, EntitySpec]) -> bool:
    """Whether a record that read ``s`` returns has references or an id that two other reads take."""
    ent = entities[s.entity]
    reads = 0
    for u in specs.values():
        if u.domain != s.domain or not u.read_only or u.entity == s.entity:
            continue
        if u.kind == "get" and any(f.ref == u.entity for f in ent.fields.values()):
            reads += 1
        elif u.kind in ("search", "aggregate") and any(p.ref == s.entity and p.role == "filter" for p in u.inputs):
            reads += 1
    return reads >= 2


# --- what a call returned, and which arguments it bound -----------------------------------------------------
def _leaves(obj: Any) -> Iterator[Any]:
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v)
    else:
        yield obj


def _key(value: Any) -> tuple[str, Any] | None:
    """A value that can carry information between calls: a string of 3+ characters, or a number of
    magnitude 10 or more (small numbers such as a quantity of 1 match by chance)."""
    if isinstance(value, str) and len(value) >= 3:
        return ("s", value)
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= 10:
        return ("n", float(value))
    return None


def result_values(call: CallRecord) -> set[tuple[str, Any]]:
    """The values a call's result revealed: leaves of its structured content, else of its text parsed as
    JSON, else the record ids (``ABC-000123``) in its text."""
    data: Any = call.structured
    if data is None:
        try:
            data = json.loads(call.text)
        except ValueError:
            return {("s", m) for m in _ID.findall(call.text)}
    return {k for v in _leaves(data) if (k := _key(v)) is not None}


def bound_arguments(calls: Sequence[CallRecord]) -> list[int]:
    """Per call, how many of its arguments carry a value an earlier successful call returned."""
    seen: set[tuple[str, Any]] = set()
    out = []
    for c in calls:
        out.append(sum(1 for v in c.arguments.values() if any(_key(x) in seen for x in _leaves(v))))
        if not c.is_error:
            seen |= result_values(c)
    return out


# --- observed mode ------------------------------------------------------------------------------------------
def _asked_first(messages: Sequence[dict[str, Any]]) -> bool:
    first_call = next((i for i, m in enumerate(messages) if m.get("role") == "assistant" and m.get("tool_calls")),
                      None)
    if first_call is None:
        return False
    return any(m.get("role") == "assistant" and not m.get("tool_calls") and messages[i + 1].get("role") == "user"
               for i, m in enumerate(messages[:first_call]))


def _recovered(calls: Sequence[CallRecord]) -> bool:
    failed: set[tuple[str, str]] = set()
    for c in calls:
        if c.is_error:
            failed.add((c.server, c.tool))
        elif (c.server, c.tool) in failed:
            return True
    return False


def _branched(calls: Sequence[CallRecord], shape: ClusterShape) -> bool:
    reads = shape.branch_reads()
    for i, c in enumerate(calls):
        if c.is_error or c.tool not in reads:
            continue
        got = result_values(c)
        for later in calls[i + 1:]:
            if shape.kind.get(later.tool) == "transition" and not later.is_error and \
                    any(_key(v) in got for v in later.arguments.values()):
                return True
    return False


def observed_mode(trajectory: Trajectory, cluster: ClusterSpec) -> ReasoningMode:
    """The mode the trajectory's real call structure shows (precedence in the module docstring).

    ``CallRecord.server`` is ``cluster`` or ``sandbox``; a cluster call's ``tool`` is the served name.
    """
    calls = trajectory.calls
    shape = ClusterShape.of(cluster)
    ours = [c for c in calls if c.server != SANDBOX and c.tool in shape.kind]
    if any(c.server == SANDBOX and c.tool == EXECUTE_CODE for c in calls):
        return "code_aggregation"
    if len({shape.domain[c.tool] for c in ours if not c.is_error}) >= 2:
        return "cross_domain"
    if _recovered(calls):
        return "error_recovery"
    if any(m.get("role") == "assistant" and len(m.get("tool_calls") or ()) >= 2 for m in trajectory.messages):
        return "parallel_fanout"
    if _asked_first(trajectory.messages):
        return "clarification"
    if _branched(ours, shape):
        return "conditional_branch"
    ok = [c for c in ours if not c.is_error]
    if len(ok) >= 3 and all(b > 0 for b in bound_arguments(ok)[1:]):
        return "sequential_chain"
    return "lookup"

