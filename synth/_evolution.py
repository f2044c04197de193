"""The evolution controller: which clusters and modes the next round synthesizes, and which clusters to spawn.

Three strategies behind one ``Strategy`` protocol, so the idea can be compared at equal budget:

* ``evolve`` (default): reads the metrics after each round, steers toward under-represented domains and
  modes and toward complex clusters, spawns clusters toward the long tail, and reacts to collapse.
* ``uniform``: uniform over the pool's clusters, then uniform over that cluster's feasible modes.
* ``quantity``: the first ``k`` clusters of the pool, each with its most common mode, again and again.

The run loop calls ``plan_round(n, rng)`` (its tasks' clusters are all in ``pool``), runs them, then
``observe(metrics, accepted=..., rejected=..., planning_failures=...)`` with the tasks by outcome. Every
random choice draws from the ``rng`` passed in, so a seed gives the same rounds.

``evolve``, per round:

1. Spawn up to ``ceil(spawn_share * n) * (1 + level)`` clusters, by need: domains of the run absent from the
   pool get a fresh cluster from the generator; the least-seen domains get ``join_domain`` children of their
   clusters; the least-seen modes get a child that newly supports them (``add_policy`` for error recovery,
   ``join_domain`` for cross-domain, ``deepen_chain`` for chains, ``add_tool`` otherwise); when the mean CAC
   stopped rising, ``deepen_chain``/``add_tool`` children of the most complex clusters. The pool is bounded:
   the most used clusters go first, never a domain's last.
2. Fill ``n`` slots one by one: a domain with weight ``(C_d + P_d + 1)^-alpha``, a mode feasible in one of
   its clusters with ``(C_m + P_m + 1)^-alpha``, a cluster of both with ``complexity^beta * (uses + 1)^-gamma
   / (1 + failures)`` (``C``: accepted mass so far, ``P``: planned this round). Under collapse a share of the
   slots takes the least-seen domain and mode outright.
3. Collapse: a normalized entropy (domain or mode, cumulative) below ``target`` that was flat within
   ``epsilon`` or fell over the last ``window`` rounds. Each detection raises ``level`` (at most 3): alpha
   grows by ``1 + level``, spawning by ``1 + level``, the outright share is ``0.25 * level``; a round
   without collapse lowers it by one.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar, assert_never

from pydantic import BaseModel, ConfigDict

from tdscaling.client import REASONING_MODES, ReasoningMode
from tdscaling.servers import ClusterGenerator, ClusterSpec, Indexes, mutate

from ._metrics import RoundMetrics
from ._modes import cluster_complexity, feasible_modes

StrategyName = Literal["evolve", "uniform", "quantity"]
STRATEGIES: tuple[StrategyName, ...] = ("evolve", "uniform", "quantity")
MODE_OPERATORS: dict[str, tuple[str, ...]] = {
    "error_recovery": ("add_policy", "add_tool"),
    "cross_domain": ("join_domain",),
    "sequential_chain": ("deepen_chain", "add_tool"),
}


@dataclass(frozen=True)
class Task:
    """One episode to plan: a blueprint of ``mode`` over ``cluster``."""

    cluster: ClusterSpec
    mode: ReasoningMode

    @property
    def key(self) -> tuple[str, str]:
        return (self.cluster.id, self.mode)


class Decision(BaseModel):
    """A controller decision, for the report (``round`` is the round it shapes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    round: int
    action: Literal["mix", "spawn", "evict", "collapse", "recover", "retire"]
    detail: str


class Strategy(Protocol):
    """The controller seam: which tasks a round runs (``plan_round``) and what it learns from a round
    (``observe``); ``evolve``, ``uniform`` and ``quantity`` fit it."""

    name: StrategyName
    decisions: list[Decision]

    @property
    def pool(self) -> list[ClusterSpec]: ...

    def plan_round(self, n: int, rng: random.Random) -> list[Task]: ...

    def observe(self, metrics: RoundMetrics, *, accepted: Sequence[Task], rejected: Sequence[Task],
                planning_failures: Sequence[Task]) -> None: ...


@dataclass
class EvolveSettings:
    alpha: float = 1.0  # push toward under-represented domains and modes
    beta: float = 0.5  # preference for structurally complex clusters
    gamma: float = 0.5  # spread over clusters (more distinct paths)
    spawn_share: float = 0.2  # clusters spawned per round, as a share of the round's tasks
    max_pool: int = 256
    window: int = 3
    epsilon: float = 0.01
    target: float = 0.95
    max_failures: int = 3  # a (cluster, mode) that failed this often and never succeeded is retired


T = TypeVar("T")


def _pick(items: Sequence[T], weights: Sequence[float], rng: random.Random) -> T:
    if sum(weights) <= 0:
        return items[rng.randrange(len(items))]
    return rng.choices(list(items), weights=list(weights))[0]


def detect_collapse(history: Sequence[RoundMetrics], *, window: int = 3, epsilon: float = 0.01,
                    target: float = 0.95) -> str | None:
    """Why the last ``window`` rounds look collapsed, or ``None``: a cumulative normalized entropy below
    ``target`` that stayed within ``epsilon`` or fell at every step."""
    if len(history) < window:
        return None
    last = history[-window:]
    for name in ("domain_entropy_norm", "mode_entropy_norm"):
        xs = [float(getattr(m, name)) for m in last]
        if xs[-1] >= target:
            continue
        trail = " -> ".join(f"{x:.3f}" for x in xs)
        if max(xs) - min(xs) <= epsilon:
            return f"{name} flat ({trail}) below {target}"
        if all(b < a for a, b in itertools.pairwise(xs)):
            return f"{name} falling ({trail})"
    return None


@dataclass
class _Book:
    """The pool and what is known about each (cluster, mode): shared by every strategy."""

    indexes: Indexes
    clusters: list[ClusterSpec]
    feasible: dict[str, tuple[ReasoningMode, ...]] = field(default_factory=dict)
    uses: Counter[str] = field(default_factory=Counter)
    failures: dict[tuple[str, str], float] = field(default_factory=dict)
    successes: Counter[tuple[str, str]] = field(default_factory=Counter)
    max_failures: int = 3
    complexity: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clusters, self.clusters = self.clusters, []
        for c in clusters:
            self.add(c)

    def add(self, c: ClusterSpec) -> None:
        self.clusters.append(c)
        self.feasible[c.id] = tuple(m for m in REASONING_MODES if m in feasible_modes(c, self.indexes))
        self.complexity[c.id] = cluster_complexity(c)

    def failed(self, key: tuple[str, str]) -> float:
        return self.failures.get(key, 0.0)

    def alive(self, c: ClusterSpec) -> list[ReasoningMode]:
        return [m for m in self.feasible[c.id] if self.successes[(c.id, m)] or
                self.failed((c.id, m)) < self.max_failures]

    def record(self, *, accepted: Sequence[Task], rejected: Sequence[Task], failed: Sequence[Task]) -> list[str]:
        """Count outcomes; the (cluster, mode) pairs this retired."""
        before = {(c.id, m) for c in self.clusters for m in self.alive(c)}
        for t in accepted:
            self.successes[t.key] += 1
        for t in failed:
            self.failures[t.key] = self.failed(t.key) + 1
        for t in rejected:  # a rejection may be the model's fault, not the pair's: half a failure
            self.failures[t.key] = self.failed(t.key) + 0.5
        after = {(c.id, m) for c in self.clusters for m in self.alive(c)}
        return sorted(f"{cid}/{m}" for cid, m in before - after)


class Uniform:
    """Uniform over the pool's clusters, then over the cluster's feasible (not retired) modes."""

    name: StrategyName = "uniform"

    def __init__(self, pool: Sequence[ClusterSpec], indexes: Indexes) -> None:
        self._book = _Book(indexes, list(pool))
        self.decisions: list[Decision] = []

    @property
    def pool(self) -> list[ClusterSpec]:
        return self._book.clusters

    def plan_round(self, n: int, rng: random.Random) -> list[Task]:
        live = [c for c in self.pool if self._book.alive(c)]
        out = []
        for _ in range(n if live else 0):
            c = live[rng.randrange(len(live))]
            modes = self._book.alive(c)
            out.append(Task(c, modes[rng.randrange(len(modes))]))
        return out

    def observe(self, metrics: RoundMetrics, *, accepted: Sequence[Task], rejected: Sequence[Task],
                planning_failures: Sequence[Task]) -> None:
        self._book.record(accepted=accepted, rejected=rejected, failed=planning_failures)


class Quantity:
    """The first ``k`` clusters of the pool (that support any mode), each with the mode the pool supports
    most often (the next one when that is retired), round-robin: quantity without diversity."""

    name: StrategyName = "quantity"

    def __init__(self, pool: Sequence[ClusterSpec], indexes: Indexes, *, k: int = 3) -> None:
        self._book = _Book(indexes, list(pool))
        self.decisions: list[Decision] = []
        self.k = k
        freq = Counter(m for modes in self._book.feasible.values() for m in modes)
        self._rank = sorted(REASONING_MODES, key=lambda m: (-freq[m], REASONING_MODES.index(m)))

    @property
    def pool(self) -> list[ClusterSpec]:
        return self._book.clusters

    def plan_round(self, n: int, rng: random.Random) -> list[Task]:
        chosen = [c for c in self.pool if self._book.alive(c)][: self.k]
        tasks = []
        for c in chosen:
            alive = self._book.alive(c)
            tasks.append(Task(c, min(alive, key=self._rank.index)))
        return [tasks[i % len(tasks)] for i in range(n)] if tasks else []

    def observe(self, metrics: RoundMetrics, *, accepted: Sequence[Task], rejected: Sequence[Task],
                planning_failures: Sequence[Task]) -> None:
        self._book.record(accepted=accepted, rejected=rejected, failed=planning_failures)


class Evolve:
    """Steers each round toward the long tail (see the module docstring for the rules)."""

    name: StrategyName = "evolve"

    def __init__(self, pool: Sequence[ClusterSpec], indexes: Indexes, *, domains: Sequence[str] | None = None,
                 settings: EvolveSettings | None = None) -> None:
        self.settings = settings or EvolveSettings()
        self._book = _Book(indexes, list(pool), max_failures=self.settings.max_failures)
        self.domains = sorted(domains if domains is not None else indexes.domains)
        self.decisions: list[Decision] = []
        self.history: list[RoundMetrics] = []
        self.level = 0
        self._want_complexity = False
        self._signatures = {c.signature for c in pool}

    @property
    def pool(self) -> list[ClusterSpec]:
        return self._book.clusters

    # --- what is under-represented ---------------------------------------------------------------------
    def _domain_counts(self) -> dict[str, float]:
        seen = self.history[-1].domain_counts if self.history else {}
        return {d: float(seen.get(d, 0.0)) for d in sorted(set(self.domains) | set(seen))}

    def _mode_counts(self) -> dict[str, float]:
        seen = self.history[-1].mode_counts if self.history else {}
        return {m: float(seen.get(m, 0)) for m in REASONING_MODES}

    def _log(self, rnd: int, action: Literal["mix", "spawn", "evict", "collapse", "recover", "retire"],
             detail: str) -> None:
        self.decisions.append(Decision(round=rnd, action=action, detail=detail))

    # --- spawning ------------------------------------------------------------------------------------------
    def _admit(self, child: ClusterSpec | None, *, want_domain: str | None = None,
               want_mode: str | None = None) -> bool:
        if child is None or child.signature in self._signatures or not set(child.domains) <= set(self.domains):
            return False
        if want_domain is not None and want_domain not in child.domains:
            return False
        modes = feasible_modes(child, self._book.indexes)
        if not modes or (want_mode is not None and want_mode not in modes):
            return False
        self._book.add(child)
        self._signatures.add(child.signature)
        return True

    def _generate(self, domain: str, rng: random.Random) -> ClusterSpec | None:
        gen = ClusterGenerator([self._book.indexes.domains[domain]], seed=rng.randrange(1 << 31), patience=50)
        for _, c in zip(range(20), gen, strict=False):
            if self._admit(c, want_domain=domain):
                return c
        return None

    def _mutate(self, parents: Sequence[ClusterSpec], operators: Sequence[str], rng: random.Random, *,
                want_domain: str | None = None, want_mode: str | None = None, partners: Sequence[str] = (),
                tries: int = 4) -> tuple[ClusterSpec, str] | None:
        if not parents:
            return None
        full = self._book.indexes
        for _ in range(tries):
            parent = parents[rng.randrange(len(parents))]
            op = operators[rng.randrange(len(operators))]
            indexes = full
            if op == "join_domain" and partners:
                # join_domain draws its partner from the indexes' domains: offer only the least-seen ones
                names = set(parent.domains) | set(partners)
                indexes = Indexes({d: full.domains[d] for d in names}, {d: full[d] for d in names})
            child = mutate(parent, indexes, rng, operator=op)
            if self._admit(child, want_domain=want_domain, want_mode=want_mode):
                assert child is not None
                return child, op
        return None

    def _spawn_for(self, target: tuple[str, str], rnd: int, rng: random.Random, counts: dict[str, float]) -> bool:
        kind, what = target
        pool = self.pool
        if kind == "domain" and not any(what in c.domains for c in pool):
            c = self._generate(what, rng)
            if c is not None:
                self._log(rnd, "spawn", f"generate {c.id} for {what}: no cluster of it in the pool")
            return c is not None
        rare = sorted(self.domains, key=lambda d: (counts.get(d, 0.0), d))[: max(4, len(self.domains) // 3)]
        if kind == "domain":
            singles = [c for c in pool if c.domains == [what]]
            got = self._mutate(singles, ("join_domain",), rng, want_domain=what, partners=rare) or \
                self._mutate([c for c in pool if what in c.domains], ("add_tool", "deepen_chain"), rng,
                             want_domain=what)
            why = f"{what} has {counts.get(what, 0.0):g} trajectories"
        elif kind == "mode":
            parents = [c for c in pool if set(c.domains) & set(rare)] or pool
            got = self._mutate(parents, MODE_OPERATORS.get(what, ("add_tool",)), rng, want_mode=what, partners=rare)
            why = f"{what} is under-represented"
        else:
            sample = sorted(rng.sample(pool, min(5, len(pool))), key=lambda c: -self._book.complexity[c.id])
            got = self._mutate(sample[:1], ("deepen_chain", "add_tool"), rng)
            why = "the mean CAC stopped rising"
        if got is None:
            return False
        child, op = got
        self._log(rnd, "spawn", f"{op} -> {child.id} ({'+'.join(child.domains)}): {why}")
        return True

    def _spawn(self, rnd: int, n: int, rng: random.Random) -> None:
        s = self.settings
        budget = math.ceil(s.spawn_share * n) * (1 + self.level)
        counts = self._domain_counts()
        modes = self._mode_counts()
        present = {d for c in self.pool for d in c.domains}
        missing = [("domain", d) for d in self.domains if d not in present]
        mean_d = sum(counts.values()) / max(1, len(counts))
        mean_m = sum(modes.values()) / len(modes)
        low_d = [("domain", d) for d in sorted(present & set(self.domains), key=lambda d: (counts[d], d))
                 if counts[d] <= mean_d]
        low_m = [("mode", m) for m in sorted(modes, key=lambda m: (modes[m], m)) if modes[m] <= mean_m]
        extra = [("complexity", "")] if self._want_complexity else []
        queues = [q for q in (low_d, low_m, extra) if q]
        targets = list(missing)
        while queues:
            for q in list(queues):
                targets.append(q.pop(0))
                if not q:
                    queues.remove(q)
        spawned = 0
        for target in targets:
            if spawned >= budget:
                break
            spawned += self._spawn_for(target, rnd, rng, counts)
        self._bound(rnd, keep=spawned)

    def _bound(self, rnd: int, *, keep: int) -> None:
        """Evict the most used clusters (never a domain's last, nor one spawned this round) to ``max_pool``."""
        pool = self._book.clusters
        while len(pool) > self.settings.max_pool:
            per_domain = Counter(d for c in pool for d in c.domains)
            fresh = {c.id for c in pool[len(pool) - keep:]} if keep else set()
            candidates = [c for c in pool if c.id not in fresh and all(per_domain[d] > 1 for d in c.domains)]
            if not candidates:
                return
            victim = max(candidates, key=lambda c: (self._book.uses[c.id], c.id))
            pool.remove(victim)
            self._signatures.discard(victim.signature)
            self._log(rnd, "evict", f"{victim.id} ({'+'.join(victim.domains)}, used {self._book.uses[victim.id]}x)")

    # --- the mix -----------------------------------------------------------------------------------------
    def _fill(self, rnd: int, n: int, rng: random.Random) -> list[Task]:
        s, book = self.settings, self._book
        alpha = s.alpha * (1 + self.level)
        outright = 0.25 * self.level
        live = {c.id: book.alive(c) for c in self.pool}
        by_domain: dict[str, list[ClusterSpec]] = {}
        for c in self.pool:
            if live[c.id]:
                for d in c.domains:
                    by_domain.setdefault(d, []).append(c)
        if not by_domain:
            return []
        cd, cm = self._domain_counts(), self._mode_counts()
        doms = sorted(by_domain)
        mean_cx = sum(book.complexity[c.id] for c in self.pool) / len(self.pool)

        def w(count: float) -> float:
            return float((count + 1) ** -alpha)

        favoured_d = sorted(doms, key=lambda d: (cd.get(d, 0.0), d))[:3]
        favoured_m = sorted(cm, key=lambda m: (cm[m], m))[:3]
        self._log(rnd, "mix", f"alpha {alpha:g}; favour domains {', '.join(favoured_d)}; "
                              f"modes {', '.join(favoured_m)}")
        tasks = []
        for _ in range(n):
            greedy = rng.random() < outright
            dw = [w(cd.get(d, 0.0)) for d in doms]
            d = doms[max(range(len(doms)), key=dw.__getitem__)] if greedy else _pick(doms, dw, rng)
            modes = [m for m in REASONING_MODES if any(m in live[c.id] for c in by_domain[d])]
            mw = [w(cm[m]) for m in modes]
            m = modes[max(range(len(modes)), key=mw.__getitem__)] if greedy else _pick(modes, mw, rng)
            cands = [c for c in by_domain[d] if m in live[c.id]]
            cw = [(book.complexity[c.id] / mean_cx) ** s.beta * (book.uses[c.id] + 1) ** -s.gamma
                  / (1 + book.failed((c.id, m))) for c in cands]
            c = _pick(cands, cw, rng)
            for dom in c.domains:
                cd[dom] = cd.get(dom, 0.0) + 1 / len(c.domains)
            cm[m] += 1
            book.uses[c.id] += 1
            tasks.append(Task(c, m))
        return tasks

    def plan_round(self, n: int, rng: random.Random) -> list[Task]:
        rnd = len(self.history) + 1
        self._spawn(rnd, n, rng)
        return self._fill(rnd, n, rng)

    def observe(self, metrics: RoundMetrics, *, accepted: Sequence[Task], rejected: Sequence[Task],
                planning_failures: Sequence[Task]) -> None:
        s = self.settings
        nxt = metrics.round + 1
        retired = self._book.record(accepted=accepted, rejected=rejected, failed=planning_failures)
        if retired:
            self._log(nxt, "retire", f"{len(retired)} (cluster, mode) pairs after repeated failures: "
                                     f"{', '.join(retired[:5])}{' ...' if len(retired) > 5 else ''}")
        prev = self.history[-1] if self.history else None
        self.history.append(metrics)
        self._want_complexity = prev is not None and metrics.round_cac_mean <= prev.round_cac_mean
        why = detect_collapse(self.history, window=s.window, epsilon=s.epsilon, target=s.target)
        if why:
            self.level = min(3, self.level + 1)
            self._log(nxt, "collapse", f"{why}; level {self.level}: alpha x{1 + self.level}, spawning "
                                       f"x{1 + self.level}, {25 * self.level}% of slots to the least-seen")
        elif self.level:
            self.level -= 1
            self._log(nxt, "recover", f"no collapse; level {self.level}")


def make_strategy(name: StrategyName, pool: Sequence[ClusterSpec], indexes: Indexes, *,
                  domains: Sequence[str] | None = None, settings: EvolveSettings | None = None,
                  k: int = 3) -> Strategy:
    """The named strategy over ``pool``. ``domains`` (``evolve`` only) are those it may spawn into; by
    default every domain of ``indexes``."""
    if name == "evolve":
        return Evolve(pool, indexes, domains=domains, settings=settings or EvolveSettings())
    if name == "uniform":
        return Uniform(pool, indexes)
    if name == "quantity":
        return Quantity(pool, indexes, k=k)
    assert_never(name)
