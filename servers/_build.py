"""Build a ClusterSpec from a choice of tools, and check one.

Everything about a cluster except the choice (its served names, edges, seed recipe, id and signature)
is derived here, so the generator and every mutation produce clusters that are valid by construction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import networkx as nx

from ._catalog import domain_digest
from ._cluster_spec import ClusterEdge, ClusterSpec, ClusterTool, Join, Policy, SeedRecipe, content_id
from ._graph import bridge_edges, build_graph, entry_tools
from ._spec import DEFAULT_ROWS, DomainSpec
from ._tools import ToolSpec, input_schema, tool_spec
from ._validate import precondition_problems


@dataclass
class DomainIndex:
    """Per-domain facts the generator reads many times, computed once."""

    domain: DomainSpec

    @cached_property
    def tools(self) -> dict[str, ToolSpec]:
        return {op.name: tool_spec(self.domain, op) for op in self.domain.operations}

    @cached_property
    def graph(self) -> nx.DiGraph:
        return build_graph(self.tools.values())

    @cached_property
    def neighbours(self) -> dict[str, list[str]]:
        g = self.graph
        return {n: sorted(set(g.successors(n)) | set(g.predecessors(n))) for n in g.nodes}

    @cached_property
    def entries(self) -> list[str]:
        return entry_tools(self.graph)

    @cached_property
    def schemas(self) -> dict[str, dict[str, Any]]:
        return {n: input_schema(t, self.domain) for n, t in self.tools.items()}

    @cached_property
    def producers(self) -> dict[str, list[str]]:
        """entity -> tools revealing its ids, searches first (they need nothing)."""
        out: dict[str, list[str]] = {}
        for n, t in self.tools.items():
            for e in t.outputs.ids:
                out.setdefault(e, []).append(n)
        for ns in out.values():
            ns.sort(key=lambda n: (self.tools[n].kind != "search", bool(self.tools[n].needs_ids()), n))
        return out

    @cached_property
    def digest(self) -> str:
        return domain_digest(self.domain)

    def closure(self, names: set[str]) -> set[str]:
        """``names`` plus, for every id some tool needs and none reveals, the best producer of it."""
        out = set(names)
        changed = True
        while changed:
            changed = False
            revealed = {e for n in out for e in self.tools[n].outputs.ids}
            for n in sorted(out):
                for _, entity in self.tools[n].needs_ids():
                    if entity not in revealed and self.producers.get(entity):
                        out.add(self.producers[entity][0])
                        revealed.update(self.tools[self.producers[entity][0]].outputs.ids)
                        changed = True
        return out


@dataclass
class Indexes:
    """DomainIndex per domain name, made on first use."""

    domains: dict[str, DomainSpec]
    _cache: dict[str, DomainIndex] = field(default_factory=dict)

    def __getitem__(self, name: str) -> DomainIndex:
        if name not in self._cache:
            self._cache[name] = DomainIndex(self.domains[name])
        return self._cache[name]


def _entities_touched(idx: DomainIndex, names: Sequence[str]) -> list[str]:
    """Entities the tools act on, plus every entity those reference (their rows must exist)."""
    out: set[str] = set()
    todo = [idx.tools[n].entity for n in names]
    for n in names:
        todo.extend(idx.tools[n].outputs.ids)
    while todo:
        e = todo.pop()
        if e in out:
            continue
        out.add(e)
        todo.extend(f.ref for f in idx.domain.entities[e].fields.values() if f.ref)
    return sorted(out)


def _h(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def signature_of(tools: Sequence[ClusterTool], edges: Sequence[ClusterEdge], policies: Sequence[Policy],
                 *, iterations: int = 3) -> str:
    """Weisfeiler-Lehman hash of the directed tool graph.

    Nodes start labelled ``kind|domain.entity`` (plus ``|policy`` when a policy guards the tool); each
    round relabels a node by its label and the sorted multisets of (reason, label) over its out- and
    in-edges. The signature hashes the sorted labels of every round, so it ignores tool names and order:
    two clusters that differ only by which of two same-kind tools they hold on the same entity share it.
    """
    guarded = {p.tool for p in policies}
    label = {t.name: f"{t.kind}|{t.domain}.{t.entity}{'|policy' if t.name in guarded else ''}" for t in tools}
    outs: dict[str, list[tuple[str, str]]] = {n: [] for n in label}
    ins: dict[str, list[tuple[str, str]]] = {n: [] for n in label}
    for e in edges:
        outs[e.source].append((e.reason, e.target))
        ins[e.target].append((e.reason, e.source))
    seen = sorted(label.values())
    for _ in range(iterations):
        label = {
            n: _h(label[n] + ">" + ",".join(sorted(r + label[m] for r, m in outs[n]))
                  + "<" + ",".join(sorted(r + label[m] for r, m in ins[n])))
            for n in label
        }
        seen.extend(sorted(label.values()))
    return hashlib.blake2b("|".join(seen).encode(), digest_size=12).hexdigest()


@dataclass
class Draft:
    """A cluster before it becomes a ClusterSpec: cheap to make, so duplicates are dropped early."""

    domains: list[str]
    ops: dict[str, list[str]]
    tools: list[ClusterTool]
    edges: list[ClusterEdge]
    policies: list[Policy]
    signature: str


def draft_cluster(indexes: Indexes, choice: dict[str, Sequence[str]], *, policies: Sequence[Policy] = ()) -> Draft:
    """Served names, schemas, edges (with cross-domain bridges) and signature of a choice of operations."""
    domains = sorted(choice)
    ops = {d: sorted(set(choice[d])) for d in domains}
    clash = set(ops[domains[0]]).intersection(*[ops[d] for d in domains[1:]]) if len(domains) > 1 else set()

    def served(d: str, op: str) -> str:
        return f"{d}_{op}" if op in clash else op

    tools: list[ClusterTool] = []
    edges: list[ClusterEdge] = []
    for d in domains:
        idx = indexes[d]
        for op in ops[d]:
            t = idx.tools[op]
            tools.append(ClusterTool.model_construct(name=served(d, op), domain=d, operation=op, kind=t.kind,
                                                     entity=t.entity, input_schema=idx.schemas[op]))
        chosen = set(ops[d])
        for a in ops[d]:
            for b, data in idx.graph.adj[a].items():
                if b in chosen:
                    edges.append(ClusterEdge.model_construct(source=served(d, a), target=served(d, b),
                                                             reason=data["reason"], detail=data["detail"]))
    if len(domains) == 2:
        a_idx, b_idx = (indexes[d] for d in domains)
        for s, t, detail in bridge_edges([a_idx.tools[o] for o in ops[domains[0]]],
                                         [b_idx.tools[o] for o in ops[domains[1]]], a_idx.domain, b_idx.domain):
            edges.append(ClusterEdge.model_construct(source=served(s.domain, s.name), target=served(t.domain, t.name),
                                                     reason="informs", detail=detail))
    edges.sort(key=lambda e: (e.source, e.target))
    pol = list(policies)
    return Draft(domains, ops, tools, edges, pol, signature_of(tools, edges, pol))


def finish_cluster(indexes: Indexes, draft: Draft, *, seed: int, joins: Sequence[Join] = (),
                   origin: str = "generated", rows: int | None = None) -> ClusterSpec:
    """The ClusterSpec of a draft: its seed recipe, content id and provenance."""
    recipe_rows: dict[str, int] = {}
    for d in draft.domains:
        idx = indexes[d]
        for e in _entities_touched(idx, draft.ops[d]):
            recipe_rows[f"{d}.{e}"] = rows or idx.domain.entities[e].rows or DEFAULT_ROWS
    recipe = SeedRecipe.model_construct(seed=seed, rows=recipe_rows, joins=list(joins))
    return ClusterSpec.model_construct(
        id=content_id(draft.domains, draft.tools, draft.edges, recipe, draft.policies),
        signature=draft.signature,
        domains=draft.domains,
        domain_digests={d: indexes[d].digest for d in draft.domains},
        tools=draft.tools,
        edges=draft.edges,
        seed_recipe=recipe,
        policies=draft.policies,
        origin=origin,
    )


def make_cluster(indexes: Indexes, choice: dict[str, Sequence[str]], *, seed: int, policies: Sequence[Policy] = (),
                 joins: Sequence[Join] = (), origin: str = "generated", rows: int | None = None) -> ClusterSpec:
    """The cluster of the chosen operations (``{domain: [operation, ...]}``, one or two domains)."""
    draft = draft_cluster(indexes, choice, policies=policies)
    return finish_cluster(indexes, draft, seed=seed, joins=joins, origin=origin, rows=rows)


def domain_cluster(domain: DomainSpec, *, seed: int = 0, rows: int | None = None) -> ClusterSpec:
    """The whole domain as one cluster (what ``tdscaling serve DOMAIN`` serves)."""
    return make_cluster(Indexes({domain.name: domain}), {domain.name: [op.name for op in domain.operations]},
                        seed=seed, origin="domain", rows=rows)


def spec_problems(cluster: ClusterSpec, domains: Mapping[str, DomainSpec]) -> list[str]:
    """What in ``cluster`` does not fit the domains it names (which must all be in ``domains``): a domain
    that changed since the cluster was made, a tool whose input schema, kind or entity is not its
    operation's, a policy the domain validator would refuse, a seed-recipe join on unknown fields.
    Tools naming unknown operations are left to the caller."""
    out: list[str] = []
    for d, digest in sorted(cluster.domain_digests.items()):
        if d in domains and domain_digest(domains[d]) != digest:
            out.append(f"domain {d} changed since the cluster was made (digest {digest}, the catalog's is "
                       f"{domain_digest(domains[d])}); regenerate the cluster or use the catalog it was made from")
    specs = _tool_specs(cluster, domains, out)
    out += _policy_problems(cluster, specs)
    out += _join_problems(cluster, domains)
    return out


def _tool_specs(cluster: ClusterSpec, domains: Mapping[str, DomainSpec], out: list[str]
                ) -> dict[str, tuple[DomainSpec, ToolSpec]]:
    """Each known tool's domain and spec; a tool whose kind, entity or schema is not its operation's goes to
    ``out``."""
    specs: dict[str, tuple[DomainSpec, ToolSpec]] = {}
    for t in cluster.tools:
        domain = domains.get(t.domain)
        op = next((o for o in domain.operations if o.name == t.operation), None) if domain else None
        if domain is None or op is None:
            continue
        spec = tool_spec(domain, op)
        specs[t.name] = (domain, spec)
        if (t.kind, t.entity) != (spec.kind, spec.entity):
            out.append(f"tool {t.name}: kind and entity must be {spec.kind} {spec.entity}, as {t.domain}.{t.operation}")
        if t.input_schema != input_schema(spec, domain):
            out.append(f"tool {t.name}: its input_schema is not the one {t.domain}.{t.operation} takes; "
                       "regenerate the cluster")
    return specs


def _policy_problems(cluster: ClusterSpec, specs: Mapping[str, tuple[DomainSpec, ToolSpec]]) -> list[str]:
    out: list[str] = []
    for i, p in enumerate(cluster.policies):
        if p.tool not in specs:
            out.append(f"policies[{i}]: names unknown tool {p.tool}")
            continue
        domain, spec = specs[p.tool]
        at = f"policies[{i}]"
        for path, msg in precondition_problems(domain, domain.operation(spec.operation), [p.precondition], at):
            out.append(f"{path.replace(f'{at}[0]', f'{at}.precondition', 1)}: {msg}")
    return out


def _join_problems(cluster: ClusterSpec, domains: Mapping[str, DomainSpec]) -> list[str]:
    out: list[str] = []
    for i, j in enumerate(cluster.seed_recipe.joins):
        for side, key in ((j.left, j.left_key), (j.right, j.right_key)):
            d, _, e = side.partition(".")
            entity = domains[d].entities.get(e) if d in domains else None
            if d not in cluster.domains:
                out.append(f"seed_recipe.joins[{i}]: joins domain {d}, which the cluster does not hold")
            elif entity is None or key not in entity.fields:
                out.append(f"seed_recipe.joins[{i}]: '{side}' has no field '{key}'")
    return out


def cluster_problems(cluster: ClusterSpec, domains: Mapping[str, DomainSpec]) -> list[str]:
    """Why ``cluster`` is not a valid cluster of these domains; empty when it is.

    Valid means: its domains and operations exist and have not changed, its tool graph (with bridges) is
    weakly connected, every id a tool needs is revealed by some tool of the cluster, its policies are
    sound, and it is what ``make_cluster`` derives from its own choice of tools (so names, schemas, edges,
    id and signature are consistent).
    """
    missing = [d for d in cluster.domains if d not in domains]
    if missing:
        return [f"unknown domains {missing}"]
    indexes = Indexes({d: domains[d] for d in cluster.domains})
    out: list[str] = []
    choice = _choice(cluster, indexes, out)
    if out:
        return out
    out += spec_problems(cluster, domains)
    if len(cluster.tools) < 2:
        out.append("a cluster needs at least 2 tools")
    g = nx.DiGraph()
    g.add_nodes_from(cluster.tool_names())
    g.add_edges_from((e.source, e.target) for e in cluster.edges)
    if g.number_of_nodes() and not nx.is_weakly_connected(g):
        out.append("the tool graph is not connected")
    for d in cluster.domains:
        idx = indexes[d]
        if idx.closure(set(choice[d])) != set(choice[d]):
            out.append(f"{d}: some tool needs an id that no tool of the cluster reveals")
    return out + _derivation_problems(cluster, indexes, choice, clean=not out)


def _choice(cluster: ClusterSpec, indexes: Indexes, out: list[str]) -> dict[str, Sequence[str]]:
    """The operations the cluster chose, per domain; a tool of an unlisted domain or unknown operation goes to
    ``out``."""
    choice: dict[str, Sequence[str]] = {d: [] for d in cluster.domains}
    for t in cluster.tools:
        if t.domain not in choice:
            out.append(f"tool {t.name}: names domain {t.domain}, which the cluster does not list")
        elif t.operation not in indexes[t.domain].tools:
            out.append(f"tool {t.name}: unknown operation {t.domain}.{t.operation}")
        else:
            choice[t.domain] = [*choice[t.domain], t.operation]
    return choice


def _derivation_problems(cluster: ClusterSpec, indexes: Indexes, choice: dict[str, Sequence[str]], *,
                         clean: bool) -> list[str]:
    """Where ``cluster`` is not what ``make_cluster`` derives from its own choice of tools (its edges and
    signature are compared only when nothing else was wrong: ``clean``)."""
    out: list[str] = []
    rebuilt = make_cluster(indexes, choice, seed=cluster.seed_recipe.seed, policies=cluster.policies,
                           joins=cluster.seed_recipe.joins, origin=cluster.origin)
    names = sorted(t.name for t in cluster.tools)
    if names != sorted(t.name for t in rebuilt.tools):
        out.append(f"tool names {names} are not the served names of their operations "
                   f"{sorted(t.name for t in rebuilt.tools)}")
    if rebuilt.id != cluster.id and clean and not out:
        # rows may have been overridden; compare what does not depend on them
        if rebuilt.signature != cluster.signature or {e.model_dump_json() for e in rebuilt.edges} != \
                {e.model_dump_json() for e in cluster.edges}:
            out.append("edges or signature do not match the cluster's tools")
    return out
