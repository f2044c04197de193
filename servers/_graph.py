"""The tool dependency graph (a networkx DiGraph) and the queries the planner reads from it.

Nodes are tool names; each node carries its ``ToolSpec`` under ``tool``. An edge A -> B means an output
of A is what B needs, with ``reason``:

* ``enables_state``: A leaves a record in a state B requires (pay_order -> ship_order);
* ``produces_id``: A reveals an id that B requires (search_customers -> get_customer);
* ``informs``: A reveals a value B can use as an optional filter (get_customer -> search_orders), A changes
  the records an aggregate B computes over (pay_order -> order_statistics), or, across two domains, A
  returns a record of a shared concept B can look up by its join key.

When several reasons hold, the strongest (in that order) is the edge's ``reason``; ``reasons`` keeps all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

import networkx as nx

from ._spec import DomainSpec
from ._tools import ToolSpec, tool_spec

Reason = Literal["enables_state", "produces_id", "informs"]
_STRENGTH: dict[str, int] = {"enables_state": 3, "produces_id": 2, "informs": 1}
_RETURNS_RECORDS = frozenset({"record", "records", "transfer"})


def _reasons(a: ToolSpec, b: ToolSpec) -> list[tuple[Reason, str]]:
    out: list[tuple[Reason, str]] = []
    reached = set(a.outputs.states)
    for entity, states in b.needs_states():
        if entity == a.entity and reached.intersection(states):
            out.append(("enables_state", f"{entity}: {sorted(reached.intersection(states))[0]}"))
    revealed = set(a.outputs.ids)
    for _, entity in b.needs_ids():
        if entity in revealed:
            out.append(("produces_id", f"{entity} id"))
    if not out and a.outputs.returns in _RETURNS_RECORDS:
        for p in b.inputs:
            if not p.required and p.ref in revealed and p.type == "ref":
                out.append(("informs", f"filter by {p.ref}"))
                break
    if not out and b.kind == "aggregate" and not a.read_only and a.entity == b.entity:
        out.append(("informs", f"changes the {a.entity} records it aggregates"))
    return out


def build_graph(tools: Iterable[ToolSpec]) -> nx.DiGraph:
    """The dependency graph over ``tools`` (of one domain, or already renamed to be unique)."""
    g: nx.DiGraph = nx.DiGraph()
    specs = list(tools)
    for t in specs:
        g.add_node(t.name, tool=t, kind=t.kind, entity=t.entity, domain=t.domain)
    for a in specs:
        for b in specs:
            if a.name == b.name or a.domain != b.domain:
                continue
            found = _reasons(a, b)
            if found:
                reason = max((r for r, _ in found), key=_STRENGTH.__getitem__)
                detail = next(d for r, d in found if r == reason)
                g.add_edge(a.name, b.name, reason=reason, detail=detail, reasons=sorted({r for r, _ in found}))
    return g


def domain_tools(domain: DomainSpec) -> list[ToolSpec]:
    return [tool_spec(domain, op) for op in domain.operations]


def domain_graph(domain: DomainSpec) -> nx.DiGraph:
    """The dependency graph of every operation of ``domain``."""
    return build_graph(domain_tools(domain))


def bridge_edges(a_tools: Iterable[ToolSpec], b_tools: Iterable[ToolSpec], a_domain: DomainSpec,
                 b_domain: DomainSpec) -> list[tuple[ToolSpec, ToolSpec, str]]:
    """Cross-domain ``informs`` edges through a shared concept: a tool of one domain that returns records
    of an entity of concept C (with its join key), to a search of the other domain that can filter its
    C entity by its join key (a clinic's get_patient gives the e-mail an insurer's search_members takes)."""
    out: list[tuple[ToolSpec, ToolSpec, str]] = []
    pairs = ((list(a_tools), list(b_tools), a_domain, b_domain), (list(b_tools), list(a_tools), b_domain, a_domain))
    for src_tools, dst_tools, src_dom, dst_dom in pairs:
        for s in src_tools:
            if s.outputs.returns not in _RETURNS_RECORDS:
                continue
            concept = src_dom.entities[s.entity].concept
            if concept is None or src_dom.entities[s.entity].join_key is None:
                continue
            concepts = {concept}
            for d in dst_tools:
                if d.kind != "search":
                    continue
                dent = dst_dom.entities[d.entity]
                if dent.concept in concepts and dent.join_key and d.param(dent.join_key) is not None:
                    out.append((s, d, f"{dent.concept} via {dent.join_key}"))
    return out


def entry_tools(g: nx.DiGraph) -> list[str]:
    """Tools that need nothing but facts a user can know: no required id inputs."""
    return sorted(n for n, data in g.nodes(data=True) if not data["tool"].needs_ids())


def chains(g: nx.DiGraph, k: int, *, start: Iterable[str] | None = None, limit: int = 10_000) -> Iterator[list[str]]:
    """Simple paths of exactly ``k`` tools along dependency edges, starting at entry tools (or ``start``)."""
    if k < 1:
        return
    produced = 0
    for s in sorted(start) if start is not None else entry_tools(g):
        stack: list[tuple[str, list[str]]] = [(s, [s])]
        while stack:
            node, path = stack.pop()
            if len(path) == k:
                yield path
                produced += 1
                if produced >= limit:
                    return
                continue
            for nxt in sorted(g.successors(node), reverse=True):
                if nxt not in path:
                    stack.append((nxt, [*path, nxt]))


def fan_outs(g: nx.DiGraph, *, min_targets: int = 2) -> list[tuple[str, list[str]]]:
    """Tools whose output feeds at least ``min_targets`` tools that need it (ids or states)."""
    out = []
    for n in sorted(g.nodes):
        targets = sorted(m for m in g.successors(n) if g.edges[n, m]["reason"] != "informs")
        if len(targets) >= min_targets:
            out.append((n, targets))
    return out


def branch_points(g: nx.DiGraph) -> list[tuple[str, list[str]]]:
    """Read-only tools after which the path forks on what they reveal: two or more successors that are
    different transitions of the same entity, so which one applies depends on the record's state."""
    out = []
    for n in sorted(g.nodes):
        if not g.nodes[n]["tool"].read_only:
            continue
        by_entity: dict[str, list[str]] = {}
        for m in g.successors(n):
            t: ToolSpec = g.nodes[m]["tool"]
            if t.kind == "transition":
                by_entity.setdefault(t.entity, []).append(m)
        alternatives = sorted(m for ms in by_entity.values() if len(ms) >= 2 for m in ms)
        if alternatives:
            out.append((n, alternatives))
    return out


def unreachable_needs(g: nx.DiGraph) -> list[tuple[str, str]]:
    """(tool, input) pairs whose required id no tool reachable from an entry tool reveals; empty when every
    operation can be fed by some path that starts from user-known facts."""
    reachable: set[str] = set()
    for s in entry_tools(g):
        reachable.add(s)
        reachable.update(nx.descendants(g, s))
    revealed = {e for n in reachable for e in g.nodes[n]["tool"].outputs.ids}
    out = []
    for n in sorted(g.nodes):
        for param, entity in g.nodes[n]["tool"].needs_ids():
            if entity not in revealed or n not in reachable:
                out.append((n, param))
    return out
