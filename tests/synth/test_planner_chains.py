"""Sequential chains on small clusters: a short chain is extended by a bound follow-up step, and it verifies."""

from __future__ import annotations

import random
from collections import Counter
from itertools import islice

import pytest

from tdscaling.client import Harness, StepRef, Template
from tdscaling.servers import Catalog, ClusterGenerator, ClusterSpec, Indexes
from tdscaling.synth._modes import feasible_modes
from tdscaling.synth._planner import Planner, PlanningFailure

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def planner(catalog: Catalog) -> Planner:
    return Planner(catalog)


@pytest.fixture(scope="module")
def small(catalog: Catalog, indexes: Indexes) -> list[ClusterSpec]:
    """Small single-domain clusters of three domains (the diversity benchmark's skewed start), chain-feasible."""
    gen = ClusterGenerator(catalog.select(["online_store", "retail_bank", "hotel"]), seed=0, cross_domain_share=0.0)
    return [c for c in islice(gen, 40) if "sequential_chain" in feasible_modes(c, indexes)]


def _bound(binding: object) -> bool:
    return isinstance(binding, StepRef) or (isinstance(binding, Template) and
                                            any(isinstance(r, StepRef) for r in binding.refs.values()))


def test_most_small_clusters_get_a_chain_and_the_rest_say_why(planner: Planner, small: list[ClusterSpec]) -> None:
    outcomes: Counter[str] = Counter()
    for i, cluster in enumerate(small):
        try:
            bp = planner.plan(cluster, "sequential_chain", random.Random(i))
        except PlanningFailure as e:
            outcomes[e.reason] += 1
            continue
        outcomes["ok"] += 1
        assert len(bp.plan) >= 3
        assert bp.outcome.writes
    # before follow-up steps, 13 of these 38 clusters planned (26 now); a write that ran but left a chain too
    # short was reported as no_feasible_write
    assert outcomes["ok"] >= 0.5 * len(small), outcomes
    assert set(outcomes) <= {"ok", "chain_too_short", "no_feasible_write"}, outcomes
    assert outcomes["chain_too_short"] > 0


async def test_extended_chains_are_bound_throughout_and_verify_when_played(
        catalog: Catalog, planner: Planner, small: list[ClusterSpec]) -> None:
    harness = Harness(catalog, templates=planner.templates)
    played = 0
    for i, cluster in enumerate(small):
        try:
            bp = planner.plan(cluster, "sequential_chain", random.Random(i))
        except PlanningFailure:
            continue
        if not any(k.startswith("w") for k in bp.answer.refs) and " after that " not in bp.goal:
            continue  # not extended
        assert all(any(_bound(b) for b in s.args.values()) for s in bp.plan[1:]), bp.plan
        harness.add_clusters([cluster])
        t = await harness.run(bp)
        assert t.verdict == "accepted", (cluster.id, t.reasons, t.details)
        played += 1
        if played >= 6:
            break
    assert played >= 3
