"""The Business Cluster generator: many distinct, coherent clusters from a catalog, fast and deterministic.

One attempt picks a domain (or a pair of domains that share a concept), grows a connected slice of its
tool graph from a starting tool, closes it (every id a tool needs is revealed by some tool in it), and
keeps it when its structural signature is new. The same catalog and seed give the same sequence.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from ._build import DomainIndex, Indexes, draft_cluster, finish_cluster
from ._catalog import Catalog
from ._cluster_spec import ClusterSpec, Join
from ._spec import DomainSpec


@dataclass(frozen=True)
class Pairing:
    """Two domains that can be joined: ``left`` returns records of a concept ``right`` can search by key."""

    left: str
    right: str
    join: Join
    left_tools: tuple[str, ...]  # tools of left returning the concept entity's records
    right_search: tuple[str, ...]  # searches of right filtering the concept entity by its join key


def pairings(indexes: Indexes, names: Sequence[str]) -> list[Pairing]:
    """Every ordered pair of domains joinable through a shared concept, in a stable order."""
    out: list[Pairing] = []
    for a in names:
        for b in names:
            if a == b:
                continue
            ia, ib = indexes[a], indexes[b]
            for ea_name, ea in sorted(ia.domain.entities.items()):
                if ea.concept is None or ea.join_key is None:
                    continue
                for eb_name, eb in sorted(ib.domain.entities.items()):
                    if eb.concept != ea.concept or eb.join_key is None:
                        continue
                    lt = tuple(n for n, t in ia.tools.items() if t.entity == ea_name
                               and t.outputs.returns in ("record", "records"))
                    rs = tuple(n for n, t in ib.tools.items() if t.entity == eb_name and t.kind == "search"
                               and t.param(eb.join_key) is not None)
                    if lt and rs:
                        join = Join(concept=ea.concept, left=f"{a}.{ea_name}", right=f"{b}.{eb_name}",
                                    left_key=ea.join_key, right_key=eb.join_key)
                        out.append(Pairing(a, b, join, lt, rs))
    return out


def grow(idx: DomainIndex, start: str, size: int, rng: random.Random) -> set[str]:
    """A connected set of about ``size`` tools grown from ``start`` over the (undirected) dependency graph,
    then closed so every tool's required ids are revealed inside it."""
    chosen = {start}
    frontier = [n for n in idx.neighbours[start]]
    while len(chosen) < size and frontier:
        nxt = frontier.pop(rng.randrange(len(frontier)))
        if nxt in chosen:
            continue
        chosen.add(nxt)
        frontier.extend(m for m in idx.neighbours[nxt] if m not in chosen)
    return idx.closure(chosen)


@dataclass
class GenerationStats:
    attempts: int = 0
    duplicates: int = 0
    written: int = 0
    exhausted: bool = False  # ``patience`` attempts in a row found nothing new


class ClusterGenerator:
    """Yields distinct clusters (by signature) until ``limit`` are made (no limit: ``None``) or the catalog
    runs dry.

    ``stats.exhausted`` is set when ``patience`` attempts in a row found no new signature: the catalog cannot
    give more distinct clusters with these settings.
    """

    def __init__(self, domains: Sequence[DomainSpec], *, seed: int, cross_domain_share: float = 0.3,
                 min_size: int = 3, max_size: int = 9, patience: int = 5_000, rows: int | None = None,
                 limit: int | None = None) -> None:
        if not domains:
            raise ValueError("no domains to generate clusters from")
        self.indexes = Indexes({d.name: d for d in domains})
        self.names = sorted(d.name for d in domains)
        self.seed = seed
        self.rng = random.Random(seed)
        self.pairs = pairings(self.indexes, self.names)
        self.cross_share = cross_domain_share if self.pairs else 0.0
        self.min_size, self.max_size = min_size, max_size
        self.patience = patience
        self.rows = rows
        self.limit = limit
        self.seen: set[str] = set()
        self.stats = GenerationStats()

    def _single(self) -> tuple[dict[str, set[str]], list[Join]]:
        idx = self.indexes[self.rng.choice(self.names)]
        size = self.rng.randint(self.min_size, max(self.min_size, min(self.max_size, len(idx.tools))))
        start = self.rng.choice(sorted(idx.tools))
        return {idx.domain.name: grow(idx, start, size, self.rng)}, []

    def _joined(self) -> tuple[dict[str, set[str]], list[Join]]:
        p = self.rng.choice(self.pairs)
        size = self.rng.randint(max(4, self.min_size), max(4, self.max_size))
        left = grow(self.indexes[p.left], self.rng.choice(p.left_tools), max(2, size // 2), self.rng)
        right = grow(self.indexes[p.right], self.rng.choice(p.right_search), max(1, size - size // 2), self.rng)
        return {p.left: left, p.right: right}, [p.join]

    def __iter__(self) -> Iterator[ClusterSpec]:
        idle = 0
        while idle < self.patience:
            if self.limit is not None and self.stats.written >= self.limit:
                return
            self.stats.attempts += 1
            choice, joins = self._joined() if self.rng.random() < self.cross_share else self._single()
            if sum(len(v) for v in choice.values()) < 2:
                idle += 1
                continue
            draft = draft_cluster(self.indexes, {d: sorted(v) for d, v in choice.items()})
            if draft.signature in self.seen:
                self.stats.duplicates += 1
                idle += 1
                continue
            idle = 0
            self.seen.add(draft.signature)
            self.stats.written += 1
            world_seed = self.rng.randrange(1 << 31)
            yield finish_cluster(self.indexes, draft, seed=world_seed, joins=joins, rows=self.rows)
        self.stats.exhausted = True


def generate_clusters(catalog: Catalog | Iterable[DomainSpec], n: int, *, seed: int,
                      domains: Sequence[str] | None = None, cross_domain_share: float = 0.3, min_size: int = 3,
                      max_size: int = 9, patience: int = 5_000, rows: int | None = None) -> ClusterGenerator:
    """At most ``n`` distinct clusters of ``catalog`` (of its ``domains`` when named), fewer when the catalog
    runs dry; the same catalog and ``seed`` give the same clusters.

    The result is a lazy iterable: clusters are made as they are read, and its ``stats`` say how many attempts
    and duplicates it took and whether the catalog was ``exhausted``. ``cross_domain_share`` of the attempts
    join two domains through a shared concept; a single-domain slice grows to ``min_size``-``max_size`` tools.
    An unknown name in ``domains`` raises ``UnknownNameError``.

    Example::

        from tdscaling.servers import Catalog, generate_clusters

        clusters = list(generate_clusters(Catalog.load(), 50, seed=1, domains=["airline", "hotel"]))
    """
    pool = catalog if isinstance(catalog, Catalog) else Catalog(catalog)
    chosen = pool.select(list(domains)) if domains is not None else list(pool)
    return ClusterGenerator(chosen, seed=seed, cross_domain_share=cross_domain_share, min_size=min_size,
                            max_size=max_size, patience=patience, rows=rows, limit=max(0, n))
