"""Diversity per budget, controller only: evolve vs uniform vs quantity on a simulated run.

    python bench/bench_diversity.py [--rounds 8] [--per-round 100] [--pool 40] [--seed 0]

No episode runs here: each planned task becomes a stand-in trajectory whose observed mode is the planned
mode, whose domains are the cluster's, and whose tool path is a *proxy*, the cluster's tool names in chain
order (entry tools first, then by dependency depth; ``ClusterShape`` order). CAC is likewise a proxy, the
structural ``cluster_complexity``. The start is skewed: ``--skew`` of the pool from three domains.
The run-loop version (real planner and episodes at equal budget) will replace this one.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator

import networkx as nx

from tdscaling.servers import Catalog, ClusterSpec
from tdscaling.servers._build import Indexes
from tdscaling.servers._generate import ClusterGenerator
from tdscaling.synth._evolution import STRATEGIES, StrategyName, make_strategy
from tdscaling.synth._metrics import MetricsTracker, RoundMetrics, TrajectoryMeasure
from tdscaling.synth._modes import ClusterShape, cluster_complexity

SKEWED = ("online_store", "retail_bank", "hotel")


def skewed_pool(catalog: Catalog, *, size: int, skew: float, seed: int) -> list[ClusterSpec]:
    """``skew * size`` single- or cross-domain clusters over three domains, the rest from all the others."""
    def take(gen: Iterator[ClusterSpec], k: int) -> list[ClusterSpec]:
        return [c for _, c in zip(range(k), gen, strict=False)]

    heavy = round(size * skew)
    rest = [d for d in catalog if d.name not in SKEWED]
    return take(iter(ClusterGenerator(catalog.select(list(SKEWED)), seed=seed)), heavy) + \
        take(iter(ClusterGenerator(rest, seed=seed + 1)), size - heavy)


def path_proxy(cluster: ClusterSpec) -> tuple[str, ...]:
    """The cluster's tools, in topological order of the condensed dependency graph (ties by name)."""
    g = ClusterShape.of(cluster).graph
    cond = nx.condensation(g)
    order = nx.lexicographical_topological_sort(cond, key=lambda n: min(cond.nodes[n]["members"]))
    by = {t.name: t for t in cluster.tools}
    return tuple(f"{by[m].domain}.{by[m].operation}" for n in order for m in sorted(cond.nodes[n]["members"]))


def simulate(name: StrategyName, pool: list[ClusterSpec], indexes: Indexes, *, rounds: int, per_round: int,
             seed: int) -> tuple[RoundMetrics, int]:
    strategy = make_strategy(name, pool, indexes)
    tracker = MetricsTracker(domains=sorted(indexes.domains))
    rng = random.Random(seed)
    last: RoundMetrics | None = None
    made = 0
    for r in range(rounds):
        tasks = strategy.plan_round(per_round, rng)
        for i, t in enumerate(tasks):
            path = path_proxy(t.cluster)
            m = TrajectoryMeasure(id=f"{name}-{r}-{i}", domains=tuple(t.cluster.domains), mode=t.mode,
                                  cac=cluster_complexity(t.cluster), path=path, pattern=path,
                                  tools=frozenset(path))
            tracker.add_measure(m, t.cluster)
            made += 1
        last = tracker.end_round()
        strategy.observe(last, accepted=tasks, rejected=[], planning_failures=[])
    assert last is not None
    return last, len(strategy.pool)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--per-round", type=int, default=100)
    ap.add_argument("--pool", type=int, default=40)
    ap.add_argument("--skew", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    catalog = Catalog.load()
    indexes = Indexes({d.name: d for d in catalog})
    pool = skewed_pool(catalog, size=args.pool, skew=args.skew, seed=args.seed)
    print("NOTE: controller-only simulation (observed mode = planned mode, tool path and CAC are structural "
          "proxies); the run-loop benchmark will replace it.")
    print(f"{args.rounds} rounds x {args.per_round} tasks, pool of {len(pool)} clusters "
          f"({args.skew:.0%} from {', '.join(SKEWED)}), {len(indexes.domains)} domains, seed {args.seed}\n")
    results: dict[str, tuple[RoundMetrics, int, float]] = {}
    for name in STRATEGIES:
        t0 = time.perf_counter()
        m, pool_size = simulate(name, pool, indexes, rounds=args.rounds, per_round=args.per_round, seed=args.seed)
        results[name] = (m, pool_size, time.perf_counter() - t0)
    head = f"{'strategy':<10}{'H_D norm':>10}{'H_M norm':>10}{'paths':>8}{'CAC mean*':>11}{'domains':>9}" \
           f"{'pool':>7}{'secs':>7}"
    print(head)
    print("-" * len(head))
    for name, (m, pool_size, secs) in results.items():
        print(f"{name:<10}{m.domain_entropy_norm:>10.3f}{m.mode_entropy_norm:>10.3f}{m.distinct_paths:>8}"
              f"{m.cac_mean:>11.2f}{len(m.domain_counts):>9}{pool_size:>7}{secs:>7.1f}")
    e, u, q = (results[n][0] for n in STRATEGIES)
    print("\nratios (target: evolve >= 0.95 on both normalized entropies, paths >= 1.5x uniform, >= 2x quantity)")
    def ratio(a: float, b: float) -> str:
        return f"{a / b:6.2f}x" if b > 0 else "   inf "

    for other, o in (("uniform", u), ("quantity", q)):
        print(f"  evolve/{other:<9} H_D {ratio(e.domain_entropy_norm, o.domain_entropy_norm)}  "
              f"H_M {ratio(e.mode_entropy_norm, o.mode_entropy_norm)}  "
              f"paths {ratio(e.distinct_paths, o.distinct_paths)}")
    print("* CAC here is the structural cluster complexity, a proxy for the per-action CAC of real trajectories.")


if __name__ == "__main__":
    main()
