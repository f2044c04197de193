"""Diversity per budget: evolve vs uniform vs quantity through the real synthesis run, at equal budget.

    python bench/bench_diversity.py [--rounds 8] [--per-round 100] [--seed 0] [--pool 40]
                                    [--skew online_store,retail_bank,hotel] [--concurrency 8] [--quick]
                                    [--keep DIR] [--simulate]

Each strategy runs ``tdscaling.synth.synthesize`` (planner, episodes, verification, metrics) offline with
the scripted assistant and user, one strategy after the other, with the same seed and the same starting
pool: ``--pool`` clusters, 85% of them drawn from the ``--skew`` domains (``RunConfig.pool_skew``), over the
whole catalog. The numbers are the run's own cumulative ``rounds.jsonl`` line after the last round.

Budget: ``rounds x per-round`` *planned tasks* per strategy. Every task the controller plans is spent
whether it ends accepted, rejected or unplannable (the run retries an unplannable task's mode on up to 3
other clusters of the pool, the same rule for every strategy, and runs at most one episode per task).

``--quick`` is 3 rounds x 40. ``--simulate`` runs the old controller-only simulation instead (no planner, no
episodes: the observed mode is the planned one and the tool path a structural proxy); it measures the
controller alone and is kept because it takes seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from tdscaling.servers import Catalog, ClusterGenerator, ClusterSpec, Indexes
from tdscaling.synth import (
    STRATEGIES,
    ClusterShape,
    MetricsTracker,
    RoundMetrics,
    RoundProgress,
    RunConfig,
    RunResult,
    StrategyName,
    TrajectoryMeasure,
    cluster_complexity,
    make_strategy,
    synthesize,
)

SKEWED = ("online_store", "retail_bank", "hotel")
TARGET_H = 0.95
TARGET_VS_UNIFORM = 1.5
TARGET_VS_QUANTITY = 2.0


# --- the real run -------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    name: str
    result: RunResult
    seconds: float
    clusters: int  # distinct clusters of the accepted trajectories

    @property
    def last(self) -> RoundMetrics:
        return self.result.rounds[-1]

    @property
    def episodes(self) -> int:
        return self.result.accepted + self.result.rejected

    @property
    def planned(self) -> int:
        return self.episodes + self.result.failed


def run_one(name: StrategyName, args: argparse.Namespace, catalog: Catalog, root: Path) -> Outcome:
    config = RunConfig(rounds=args.rounds, per_round=args.per_round, strategy=name, seed=args.seed,
                       concurrency=args.concurrency, pool_size=args.pool, pool_skew=list(args.skew))
    out = root / name

    def on_progress(p: RoundProgress) -> None:
        if p.metrics is not None:
            m = p.metrics
            print(f"  {name:<8} round {p.round}/{p.rounds}: {p.accepted} accepted, {p.rejected} rejected, "
                  f"{p.failed} unplannable; H_D {m.domain_entropy_norm:.3f} H_M {m.mode_entropy_norm:.3f} "
                  f"paths {m.distinct_paths}", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    result = synthesize(config, out, catalog=catalog, on_progress=on_progress)
    seconds = time.perf_counter() - t0
    clusters = len({json.loads(line)["labels"]["cluster_id"]
                    for line in (out / "trajectories.jsonl").read_text().splitlines() if line.strip()})
    return Outcome(name, result, seconds, clusters)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "inf"


def print_table(outcomes: dict[str, Outcome], args: argparse.Namespace, total_seconds: float) -> bool:
    budget = args.rounds * args.per_round
    print(f"\nBudget: {args.rounds} rounds x {args.per_round} planned tasks = {budget} planned tasks per strategy "
          "(accepted + rejected + unplannable; an unplannable task is retried on up to 3 other clusters of the "
          "pool, the same rule for all, and spends its slot either way).")
    print(f"Start: a pool of {args.pool} clusters, 85% from {', '.join(args.skew)}; all "
          f"{outcomes[next(iter(outcomes))].last.domains_available} catalog domains available; seed {args.seed}; "
          f"offline scripted assistant and user; concurrency {args.concurrency}.\n")
    cols = ("strategy", "H_D norm", "H_M norm", "CAC", "CAC mean", "paths", "clusters", "accepted", "rejected",
            "unplannable", "wall s", "episodes/s")
    widths = (10, 9, 9, 9, 9, 7, 9, 9, 9, 12, 8, 11)
    head = "".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}" for i, (c, w) in enumerate(zip(cols, widths, strict=True)))
    print(head)
    print("-" * len(head))
    for name, o in outcomes.items():
        m = o.last
        assert o.planned == budget, f"{name} planned {o.planned} tasks, not {budget}"
        row = (name, f"{m.domain_entropy_norm:.3f}", f"{m.mode_entropy_norm:.3f}", f"{m.cac:.0f}", f"{m.cac_mean:.2f}",
               str(m.distinct_paths), str(o.clusters), str(o.result.accepted), str(o.result.rejected),
               str(o.result.failed), f"{o.seconds:.1f}", f"{o.episodes / o.seconds:.1f}")
        print("".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}" for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    episodes = sum(o.episodes for o in outcomes.values())
    print(f"\nWhole offline run: {episodes} episodes ({sum(o.planned for o in outcomes.values())} planned tasks) in "
          f"{total_seconds:.1f} s = {episodes / total_seconds:.1f} episodes/s")
    ok = True
    if not all(n in outcomes for n in STRATEGIES):
        return ok
    e, u, q = (outcomes[n].last for n in STRATEGIES)
    print("\nratios           distinct paths   CAC (cumulative)   CAC mean   H_D norm   H_M norm")
    for other, om in (("uniform", u), ("quantity", q)):
        print(f"evolve/{other:<9} {ratio(e.distinct_paths, om.distinct_paths):>14} "
              f"{ratio(e.cac, om.cac):>18} {ratio(e.cac_mean, om.cac_mean):>10} "
              f"{ratio(e.domain_entropy_norm, om.domain_entropy_norm):>10} "
              f"{ratio(e.mode_entropy_norm, om.mode_entropy_norm):>10}")
    checks = [
        (f"evolve H_D norm >= {TARGET_H}", e.domain_entropy_norm >= TARGET_H, f"{e.domain_entropy_norm:.3f}"),
        (f"evolve H_M norm >= {TARGET_H}", e.mode_entropy_norm >= TARGET_H, f"{e.mode_entropy_norm:.3f}"),
        (f"paths >= {TARGET_VS_UNIFORM}x uniform", e.distinct_paths >= TARGET_VS_UNIFORM * u.distinct_paths,
         ratio(e.distinct_paths, u.distinct_paths)),
        (f"paths >= {TARGET_VS_QUANTITY}x quantity", e.distinct_paths >= TARGET_VS_QUANTITY * q.distinct_paths,
         ratio(e.distinct_paths, q.distinct_paths)),
    ]
    print("\ntargets")
    for what, passed, got in checks:
        ok &= passed
        print(f"  {'met ' if passed else 'MISS'}  {what:<30} {got}")
    return ok


def real(args: argparse.Namespace) -> int:
    catalog = Catalog.load()
    unknown = [d for d in args.skew if d not in catalog.names()]
    if unknown:
        print(f"error: unknown --skew domains: {', '.join(unknown)}", file=sys.stderr)
        return 2
    strategies = [s for s in args.strategies if s in STRATEGIES]
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="bench-diversity-")
    root = Path(args.keep) if args.keep else Path(tmp.name)  # type: ignore[union-attr]
    if args.keep and root.exists() and any(root.iterdir()):
        print(f"error: --keep {root} is not empty", file=sys.stderr)
        return 2
    try:
        print(f"diversity per budget: {', '.join(strategies)}; {args.rounds} x {args.per_round}, seed {args.seed}",
              file=sys.stderr)
        outcomes: dict[str, Outcome] = {}
        t0 = time.perf_counter()
        for name in strategies:
            outcomes[name] = run_one(name, args, catalog, root)
        total = time.perf_counter() - t0
        ok = print_table(outcomes, args, total)
        if args.keep:
            print(f"\nruns kept in {root}/<strategy> (rounds.jsonl, report.md, ...)")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0 if ok or not args.strict else 1


# --- the controller-only simulation (--simulate) ---------------------------------------------------------
def skewed_pool(catalog: Catalog, *, size: int, skew: float, heavy_domains: tuple[str, ...],
                seed: int) -> list[ClusterSpec]:
    """``skew * size`` clusters over the heavy domains, the rest from all the others."""
    def take(gen: Iterator[ClusterSpec], k: int) -> list[ClusterSpec]:
        return [c for _, c in zip(range(k), gen, strict=False)]

    heavy = round(size * skew)
    rest = [d for d in catalog if d.name not in heavy_domains]
    return take(iter(ClusterGenerator(catalog.select(list(heavy_domains)), seed=seed)), heavy) + \
        take(iter(ClusterGenerator(rest, seed=seed + 1)), size - heavy)


def path_proxy(cluster: ClusterSpec) -> tuple[str, ...]:
    """The cluster's tools, in topological order of the condensed dependency graph (ties by name)."""
    g = ClusterShape.of(cluster).graph
    cond = nx.condensation(g)
    order = nx.lexicographical_topological_sort(cond, key=lambda n: min(cond.nodes[n]["members"]))
    by = {t.name: t for t in cluster.tools}
    return tuple(f"{by[m].domain}.{by[m].operation}" for n in order for m in sorted(cond.nodes[n]["members"]))


def simulate_one(name: StrategyName, pool: list[ClusterSpec], indexes: Indexes, *, rounds: int, per_round: int,
                 seed: int) -> tuple[RoundMetrics, int]:
    strategy = make_strategy(name, pool, indexes)
    tracker = MetricsTracker(domains=sorted(indexes.domains))
    rng = random.Random(seed)
    last: RoundMetrics | None = None
    for r in range(rounds):
        tasks = strategy.plan_round(per_round, rng)
        for i, t in enumerate(tasks):
            path = path_proxy(t.cluster)
            m = TrajectoryMeasure(id=f"{name}-{r}-{i}", domains=tuple(t.cluster.domains), mode=t.mode,
                                  cac=cluster_complexity(t.cluster), path=path, pattern=path,
                                  tools=frozenset(path))
            tracker.add_measure(m, t.cluster)
        last = tracker.end_round()
        strategy.observe(last, accepted=tasks, rejected=[], planning_failures=[])
    assert last is not None
    return last, len(strategy.pool)


def simulate(args: argparse.Namespace) -> int:
    catalog = Catalog.load()
    indexes = Indexes({d.name: d for d in catalog})
    pool = skewed_pool(catalog, size=args.pool, skew=0.8, heavy_domains=tuple(args.skew), seed=args.seed)
    print("NOTE: controller-only simulation (observed mode = planned mode, tool path and CAC are structural "
          "proxies); without --simulate the real run loop is measured.")
    print(f"{args.rounds} rounds x {args.per_round} tasks, pool of {len(pool)} clusters "
          f"(80% from {', '.join(args.skew)}), {len(indexes.domains)} domains, seed {args.seed}\n")
    head = f"{'strategy':<10}{'H_D norm':>10}{'H_M norm':>10}{'paths':>8}{'CAC mean*':>11}{'pool':>7}{'secs':>7}"
    print(head)
    print("-" * len(head))
    results = {}
    for name in STRATEGIES:
        t0 = time.perf_counter()
        m, size = simulate_one(name, pool, indexes, rounds=args.rounds, per_round=args.per_round, seed=args.seed)
        results[name] = m
        print(f"{name:<10}{m.domain_entropy_norm:>10.3f}{m.mode_entropy_norm:>10.3f}{m.distinct_paths:>8}"
              f"{m.cac_mean:>11.2f}{size:>7}{time.perf_counter() - t0:>7.1f}")
    e, u, q = (results[n] for n in STRATEGIES)
    print(f"\nproxy paths: evolve/uniform {ratio(e.distinct_paths, u.distinct_paths)}, "
          f"evolve/quantity {ratio(e.distinct_paths, q.distinct_paths)}")
    print("* CAC here is the structural cluster complexity, a proxy for the per-action CAC of real trajectories.")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rounds", type=int, default=None, help="rounds per strategy (default 8; 3 with --quick)")
    ap.add_argument("--per-round", type=int, default=None,
                    help="planned tasks per round (default 100; 40 with --quick)")
    ap.add_argument("--quick", action="store_true", help="3 rounds x 40 planned tasks")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pool", type=int, default=40, help="clusters in the starting pool")
    ap.add_argument("--skew", type=lambda s: [d.strip() for d in s.split(",") if d.strip()], default=list(SKEWED),
                    help="the domains 85%% of the starting pool is drawn from (comma-separated)")
    ap.add_argument("--concurrency", type=int, default=8, help="episodes in flight per run")
    ap.add_argument("--strategies", type=lambda s: [x.strip() for x in s.split(",")], default=list(STRATEGIES),
                    help="comma-separated subset (ratios need all three)")
    ap.add_argument("--keep", metavar="DIR", help="keep each run's output in DIR/<strategy> (default: a temp dir)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--simulate", action="store_true", help="controller-only simulation (seconds, no episodes)")
    args = ap.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 8)
    args.per_round = args.per_round or (40 if args.quick else 100)
    return simulate(args) if args.simulate else real(args)


if __name__ == "__main__":
    raise SystemExit(main())
