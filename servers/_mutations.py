"""Mutation operators: turn a cluster into a new valid, connected one (the evolution controller calls them).

Each operator takes the parent, the domain indexes and a random generator, and returns a new
ClusterSpec, or ``None`` when it does not apply to this parent (nothing to add, no partner domain...).
Children are rebuilt through ``draft_cluster``/``finish_cluster``, so they are valid by construction;
their ``origin`` records ``mutation:<operator>:<parent id>``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import networkx as nx

from ._build import Indexes, draft_cluster, finish_cluster, signature_of
from ._cluster_spec import ClusterSpec, Join, Policy
from ._generate import grow, pairings
from ._spec import Compare, DomainSpec

Mutation = Callable[[ClusterSpec, Indexes, random.Random], "ClusterSpec | None"]


def _choice(cluster: ClusterSpec) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {d: set() for d in cluster.domains}
    for t in cluster.tools:
        out[t.domain].add(t.operation)
    return out


def _rebuild(parent: ClusterSpec, indexes: Indexes, choice: dict[str, set[str]], operator: str, *,
             policies: Sequence[Policy] | None = None, joins: Sequence[Join] | None = None) -> ClusterSpec | None:
    choice = {d: indexes[d].closure(ops) for d, ops in choice.items() if ops}
    draft = draft_cluster(indexes, {d: sorted(v) for d, v in choice.items()})
    # a policy follows its operation to the name the child serves it under (a name clash with a joined
    # domain renames get_customer to online_store_get_customer), and goes when the operation goes
    served_as = {(t.domain, t.operation): t.name for t in draft.tools}
    operation_of = {t.name: (t.domain, t.operation) for t in parent.tools}
    pols = [p.model_copy(update={"tool": served_as[operation_of[p.tool]]})
            for p in (parent.policies if policies is None else policies)
            if p.tool in operation_of and operation_of[p.tool] in served_as]
    draft.policies[:] = pols
    draft.signature = signature_of(draft.tools, draft.edges, pols)
    if draft.signature == parent.signature or len(draft.tools) < 2:
        return None
    g = nx.DiGraph()
    g.add_nodes_from(served_as.values())
    g.add_edges_from((e.source, e.target) for e in draft.edges)
    if not nx.is_weakly_connected(g):
        return None
    kept = [j for j in (parent.seed_recipe.joins if joins is None else joins)  # no joins to a dropped domain
            if {j.left.partition(".")[0], j.right.partition(".")[0]} <= set(draft.domains)]
    return finish_cluster(indexes, draft, seed=parent.seed_recipe.seed, joins=kept,
                          origin=f"mutation:{operator}:{parent.id}")


def add_tool(parent: ClusterSpec, indexes: Indexes, rng: random.Random) -> ClusterSpec | None:
    """Add one tool adjacent to the cluster in its domain's graph (with what it needs)."""
    choice = _choice(parent)
    options = sorted({(d, m) for d, ops in choice.items() for n in ops for m in indexes[d].neighbours[n]
                      if m not in ops})
    if not options:
        return None
    d, op = rng.choice(options)
    choice[d].add(op)
    return _rebuild(parent, indexes, choice, "add_tool")


def drop_leaf(parent: ClusterSpec, indexes: Indexes, rng: random.Random) -> ClusterSpec | None:
    """Remove one tool nothing else in the cluster depends on, keeping it connected and closed."""
    if len(parent.tools) <= 3:
        return None
    has_out = {e.source for e in parent.edges}
    leaves = sorted(t.name for t in parent.tools if t.name not in has_out)
    rng.shuffle(leaves)
    for name in leaves:
        t = parent.tool(name)
        choice = _choice(parent)
        choice[t.domain].discard(t.operation)
        if indexes[t.domain].closure(choice[t.domain]) != choice[t.domain]:
            continue
        child = _rebuild(parent, indexes, choice, "drop_leaf")
        if child is not None:
            return child
    return None


def join_domain(parent: ClusterSpec, indexes: Indexes, rng: random.Random) -> ClusterSpec | None:
    """Join a second domain through a shared concept: a lookup there by the concept's key, and a few
    tools around it."""
    if len(parent.domains) != 1:
        return None
    (home,) = parent.domains
    partners = [p for p in pairings(indexes, sorted(indexes.domains)) if p.left == home]
    if not partners:
        return None
    p = rng.choice(partners)
    choice = _choice(parent)
    choice[home].add(rng.choice(p.left_tools))
    choice[p.right] = grow(indexes[p.right], rng.choice(p.right_search), rng.randint(1, 3), rng)
    return _rebuild(parent, indexes, choice, "join_domain", joins=[p.join])


def deepen_chain(parent: ClusterSpec, indexes: Indexes, rng: random.Random) -> ClusterSpec | None:
    """Extend the cluster's longest dependency chain by a tool its last step enables or feeds."""
    g = nx.DiGraph()
    g.add_nodes_from(parent.tool_names())
    g.add_edges_from((e.source, e.target) for e in parent.edges if e.reason != "informs")
    condensed = nx.condensation(g)
    path = nx.dag_longest_path(condensed)
    if not path:
        return None
    ends = sorted(condensed.nodes[path[-1]]["members"])
    choice = _choice(parent)
    options: list[tuple[str, str]] = []
    for name in ends:
        t = parent.tool(name)
        graph = indexes[t.domain].graph
        options += [(t.domain, m) for m, data in graph.adj[t.operation].items()
                    if m not in choice[t.domain] and data["reason"] != "informs"]
    if not options:
        return None
    d, op = rng.choice(sorted(set(options)))
    choice[d].add(op)
    return _rebuild(parent, indexes, choice, "deepen_chain")


def add_policy(parent: ClusterSpec, indexes: Indexes, rng: random.Random) -> ClusterSpec | None:
    """Guard a tool that writes a numeric amount with a business cap (e.g. refunds above 300 need a
    supervisor), which an agent must respect or explain."""
    guarded = {p.tool for p in parent.policies}
    options = []
    for t in parent.tools:
        if t.name in guarded:
            continue
        spec = indexes[t.domain].tools[t.operation]
        for p in spec.inputs:
            if p.role in ("field", "amount") and p.type in ("integer", "number", "money"):
                hi = p.maximum
                if hi is None and p.field:
                    f = indexes[t.domain].domain.entities[spec.entity].fields.get(p.field)
                    hi = f.max if f else None
                if hi is not None and hi >= 2:
                    options.append((t.name, p.name, hi, p.type, p.minimum or 0))
    if not options:
        return None
    tool, param, hi, _ptype, lo = rng.choice(sorted(options))
    cap = max(lo + 1, round(hi * rng.choice((0.5, 0.6, 0.75))))
    noun = param.replace("_", " ")
    pre = Compare(param=param, op="<=", value=float(cap),
                  message=f"policy: a {noun} above {cap:g} needs a manager's approval; ask the user to lower it "
                          f"or split the request")
    return _rebuild(parent, indexes, _choice(parent), "add_policy",
                    policies=[*parent.policies, Policy(tool=tool, precondition=pre)])


MUTATIONS: dict[str, Mutation] = {
    "add_tool": add_tool,
    "drop_leaf": drop_leaf,
    "join_domain": join_domain,
    "deepen_chain": deepen_chain,
    "add_policy": add_policy,
}


def mutate(parent: ClusterSpec, domains: Sequence[DomainSpec] | Indexes, rng: random.Random, *,
           operator: str | None = None) -> ClusterSpec | None:
    """Apply ``operator`` (or the first applicable one in a random order) to ``parent``."""
    indexes = domains if isinstance(domains, Indexes) else Indexes({d.name: d for d in domains})
    if operator is not None and operator not in MUTATIONS:
        raise ValueError(f"unknown mutation '{operator}'; known: {sorted(MUTATIONS)}")
    names = [operator] if operator else rng.sample(sorted(MUTATIONS), len(MUTATIONS))
    for name in names:
        child = MUTATIONS[name](parent, indexes, rng)
        if child is not None:
            return child
    return None
