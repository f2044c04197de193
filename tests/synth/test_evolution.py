"""The evolution controller: steering toward the long tail, spawning, collapse, and the two baselines."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence

import pytest

from tdscaling.servers import ClusterSpec, Indexes
from tdscaling.synth._evolution import (
    Evolve,
    EvolveSettings,
    Quantity,
    Task,
    Uniform,
    detect_collapse,
    make_strategy,
)
from tdscaling.synth._metrics import MetricsTracker, RoundMetrics
from tdscaling.synth._modes import cluster_complexity, feasible_modes

Feed = Callable[[MetricsTracker, Sequence[ClusterSpec], Sequence[ClusterSpec], int], RoundMetrics]


def _split(pool: list[ClusterSpec]) -> tuple[list[str], list[ClusterSpec], list[ClusterSpec]]:
    """The two domains with the most single-domain clusters, their clusters, and a few others."""
    singles = Counter(c.domains[0] for c in pool if len(c.domains) == 1)
    heavy_domains = [d for d, _ in singles.most_common(2)]
    heavy = [c for c in pool if len(c.domains) == 1 and c.domains[0] in heavy_domains]
    light = [c for c in pool if not set(c.domains) & set(heavy_domains)][:4]
    return heavy_domains, heavy, light


def _pool_domains(pool: Sequence[ClusterSpec]) -> list[str]:
    return sorted({d for c in pool for d in c.domains})


def _shares(tasks: Sequence[Task], domains: Sequence[str]) -> tuple[float, Counter[str]]:
    mass = sum(sum(1 / len(t.cluster.domains) for d in t.cluster.domains if d in domains) for t in tasks)
    return mass / len(tasks), Counter(t.mode for t in tasks)


def test_after_a_skewed_history_evolve_moves_weight_to_the_missing_domains_and_modes(
        pool: list[ClusterSpec], indexes: Indexes, skewed_round: Feed) -> None:
    heavy_domains, heavy, light = _split(pool)
    domains = _pool_domains(pool)
    tracker = MetricsTracker(domains=domains)
    history = skewed_round(tracker, heavy, light, 100)
    assert sum(history.domain_counts.get(d, 0) for d in heavy_domains) / history.accepted == pytest.approx(0.9)
    assert history.mode_counts["lookup"] / history.accepted == pytest.approx(0.9)

    def plan(alpha: float) -> list[Task]:
        evolve = Evolve(pool, indexes, domains=domains, settings=EvolveSettings(alpha=alpha))
        evolve.observe(history, accepted=[], rejected=[], planning_failures=[])
        return evolve.plan_round(100, random.Random(3))

    tasks = plan(1.0)
    heavy_share, modes = _shares(tasks, heavy_domains)
    blind_share, blind_modes = _shares(plan(0.0), heavy_domains)  # balanced by structure, blind to the history
    assert heavy_share < 0.1 and heavy_share < blind_share / 2  # was 0.9
    assert modes["lookup"] / len(tasks) < 0.05 < blind_modes["lookup"] / 100  # was 0.9
    assert len(modes) == 8  # every mode, including the ones never seen
    missing = set(domains) - set(history.domain_counts)
    planned = {d for t in tasks for d in t.cluster.domains}
    assert len(missing & planned) >= 0.8 * len(missing)


def test_evolve_spawns_mutated_clusters_into_the_pool(pool: list[ClusterSpec], indexes: Indexes,
                                                      skewed_round: Feed) -> None:
    _, heavy, light = _split(pool)
    domains = _pool_domains(pool)  # every domain has a cluster: spawns are mutations, not fresh clusters
    tracker = MetricsTracker(domains=domains)
    evolve = Evolve(pool, indexes, domains=domains)
    evolve.observe(skewed_round(tracker, heavy, light, 100), accepted=[], rejected=[], planning_failures=[])
    tasks = evolve.plan_round(50, random.Random(0))
    spawned = evolve.pool[len(pool):]
    assert spawned, "no cluster spawned"
    assert len(spawned) <= 10  # ceil(0.2 * 50)
    assert all(c.origin.startswith("mutation:") for c in spawned)
    assert {c.origin.split(":")[1] for c in spawned} >= {"join_domain"}
    assert len({c.signature for c in evolve.pool}) == len(evolve.pool)
    assert sum(1 for d in evolve.decisions if d.action == "spawn") == len(spawned)
    assert {t.cluster.id for t in tasks} & {c.id for c in spawned}, "spawned clusters are not planned"
    for t in tasks:
        assert t.mode in feasible_modes(t.cluster, indexes)


def test_evolve_generates_a_cluster_for_a_domain_the_pool_lacks(pool: list[ClusterSpec], indexes: Indexes) -> None:
    lacking = sorted(set(indexes.domains) - set(_pool_domains(pool)))
    assert lacking
    evolve = Evolve(pool, indexes)
    tasks = evolve.plan_round(100, random.Random(0))
    generated = [c for c in evolve.pool[len(pool):] if c.origin == "generated"]
    assert {c.domains[0] for c in generated} == set(lacking[: len(generated)]) and generated
    assert {d for t in tasks for d in t.cluster.domains} & set(lacking)


def test_evolve_prefers_complex_clusters(pool: list[ClusterSpec], indexes: Indexes) -> None:
    def mean_complexity(beta: float) -> float:
        domains = _pool_domains(pool)
        evolve = Evolve(pool, indexes, domains=domains, settings=EvolveSettings(beta=beta, spawn_share=0))
        tasks = evolve.plan_round(400, random.Random(1))
        return sum(cluster_complexity(t.cluster) for t in tasks) / len(tasks)

    # the domain comes first (many domains have a single cluster), so the pull is real but modest
    assert mean_complexity(2.0) > mean_complexity(0.5) > mean_complexity(0.0)


def test_collapse_is_detected_on_flat_or_falling_entropy_below_the_target() -> None:
    def rounds(domain: Sequence[float], mode: Sequence[float]) -> list[RoundMetrics]:
        return [RoundMetrics.model_construct(round=i + 1, domain_entropy_norm=d, mode_entropy_norm=m)
                for i, (d, m) in enumerate(zip(domain, mode, strict=True))]

    flat = detect_collapse(rounds([0.61, 0.612, 0.615], [0.99, 0.99, 0.99]))
    assert flat is not None and "domain_entropy_norm flat" in flat
    falling = detect_collapse(rounds([0.99, 0.99, 0.99], [0.9, 0.8, 0.7]))
    assert falling is not None and "mode_entropy_norm falling" in falling
    assert detect_collapse(rounds([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])) is None  # rising
    assert detect_collapse(rounds([0.97, 0.97, 0.97], [0.98, 0.98, 0.98])) is None  # flat at the top is fine
    assert detect_collapse(rounds([0.6, 0.6], [0.6, 0.6])) is None  # too short to tell


def test_a_collapse_raises_the_push_and_the_spawning_and_a_healthy_round_lowers_it(
        pool: list[ClusterSpec], indexes: Indexes, skewed_round: Feed) -> None:
    _, heavy, light = _split(pool)
    domains = _pool_domains(pool)

    def after(rounds: int) -> tuple[Evolve, list[Task]]:
        tracker = MetricsTracker(domains=domains)
        evolve = Evolve(pool, indexes, domains=domains)
        for _ in range(rounds):  # the same skewed round again and again: the entropies stay flat
            evolve.observe(skewed_round(tracker, heavy, light, 100), accepted=[], rejected=[],
                           planning_failures=[])
        return evolve, evolve.plan_round(100, random.Random(5))

    calm, _ = after(2)
    collapsed, collapsed_tasks = after(3)
    assert calm.level == 0 and not [d for d in calm.decisions if d.action == "collapse"]
    assert collapsed.level == 1
    (event,) = [d for d in collapsed.decisions if d.action == "collapse"]
    assert event.round == 4 and "flat" in event.detail
    mix = [d.detail for d in collapsed.decisions if d.action == "mix"][-1]
    assert mix.startswith("alpha 2")
    spawns = Counter(d.round for d in collapsed.decisions if d.action == "spawn")
    calm_spawns = Counter(d.round for d in calm.decisions if d.action == "spawn")
    assert spawns[4] > calm_spawns[3]

    healthy = collapsed.history[-1].model_copy(update={"round": 4, "domain_entropy_norm": 0.99,
                                                       "mode_entropy_norm": 0.99})
    collapsed.observe(healthy, accepted=collapsed_tasks, rejected=[], planning_failures=[])
    assert collapsed.level == 0 and collapsed.decisions[-1].action == "recover"


def test_a_pair_that_keeps_failing_to_plan_is_retired(pool: list[ClusterSpec], indexes: Indexes,
                                                      skewed_round: Feed) -> None:
    evolve = Evolve(pool[:5], indexes, domains=_pool_domains(pool[:5]), settings=EvolveSettings(spawn_share=0))
    tracker = MetricsTracker(domains=evolve.domains)
    tasks = evolve.plan_round(40, random.Random(0))
    doomed = tasks[0]
    metrics = tracker.end_round()
    evolve.observe(metrics, accepted=[], rejected=[], planning_failures=[doomed] * 3)
    assert evolve.decisions[-1].action == "retire" and doomed.cluster.id in evolve.decisions[-1].detail
    later = evolve.plan_round(200, random.Random(1))
    assert doomed.key not in {t.key for t in later}


def test_the_pool_stays_bounded(pool: list[ClusterSpec], indexes: Indexes, skewed_round: Feed) -> None:
    _, heavy, light = _split(pool)
    domains = _pool_domains(pool)
    evolve = Evolve(pool, indexes, domains=domains, settings=EvolveSettings(max_pool=len(pool) + 4))
    tracker = MetricsTracker(domains=domains)
    for _ in range(3):
        evolve.plan_round(60, random.Random(len(evolve.history)))
        evolve.observe(skewed_round(tracker, heavy, light, 60), accepted=[], rejected=[], planning_failures=[])
        assert len(evolve.pool) <= len(pool) + 4
    assert any(d.action == "evict" for d in evolve.decisions)
    assert set(_pool_domains(evolve.pool)) >= set(domains)  # never a domain's last cluster


def test_evolve_is_deterministic_for_a_seed(pool: list[ClusterSpec], indexes: Indexes, skewed_round: Feed) -> None:
    _, heavy, light = _split(pool)

    def run() -> tuple[list[list[tuple[str, str]]], list[str]]:
        evolve = make_strategy("evolve", pool, indexes)
        tracker = MetricsTracker(domains=sorted(indexes.domains))
        rng = random.Random(11)
        plans = []
        for _ in range(3):
            tasks = evolve.plan_round(40, rng)
            plans.append([t.key for t in tasks])
            evolve.observe(skewed_round(tracker, heavy, light, 40), accepted=tasks[:30], rejected=tasks[30:35],
                           planning_failures=tasks[35:])
        return plans, [d.model_dump_json() for d in evolve.decisions]

    assert run() == run()


def test_quantity_sticks_to_its_few_clusters_and_one_mode_each(pool: list[ClusterSpec], indexes: Indexes) -> None:
    quantity = make_strategy("quantity", pool, indexes)
    assert isinstance(quantity, Quantity)
    tracker = MetricsTracker(domains=sorted(indexes.domains))
    seen: set[tuple[str, str]] = set()
    for r in range(3):
        tasks = quantity.plan_round(30, random.Random(r))
        assert len(tasks) == 30
        seen |= {t.key for t in tasks}
        quantity.observe(tracker.end_round(), accepted=tasks, rejected=[], planning_failures=[])
    assert {cid for cid, _ in seen} == {c.id for c in pool[:3]}
    assert len(seen) == 3
    assert quantity.pool == pool and not quantity.decisions


def test_uniform_draws_from_the_fixed_pool_and_its_feasible_modes(pool: list[ClusterSpec], indexes: Indexes) -> None:
    uniform = make_strategy("uniform", pool, indexes)
    assert isinstance(uniform, Uniform)
    tasks = uniform.plan_round(600, random.Random(0))
    assert uniform.pool == pool
    for t in tasks:
        assert t.mode in feasible_modes(t.cluster, indexes)
    per_cluster = Counter(t.cluster.id for t in tasks)
    assert len(per_cluster) >= 0.9 * len(pool)
    assert max(per_cluster.values()) < 4 * 600 / len(pool)
