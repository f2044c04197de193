"""Real generated clusters, and skewed histories built from them, for the metrics and controller tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from tdscaling.servers import Catalog, ClusterSpec, domain_cluster
from tdscaling.servers._build import Indexes
from tdscaling.servers._generate import ClusterGenerator, generate_clusters
from tdscaling.synth._metrics import MetricsTracker, RoundMetrics, TrajectoryMeasure


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="session")
def indexes(catalog: Catalog) -> Indexes:
    return Indexes({d.name: d for d in catalog})


@pytest.fixture(scope="session")
def pool(catalog: Catalog) -> list[ClusterSpec]:
    """Sixty clusters the generator makes from the whole catalog (about a third cross-domain)."""
    return list(generate_clusters(list(catalog), 60, seed=7))


@pytest.fixture(scope="session")
def store(catalog: Catalog) -> ClusterSpec:
    """The whole online_store domain as one cluster: every mode but cross-domain fits it."""
    return domain_cluster(catalog.get("online_store"))


@pytest.fixture(scope="session")
def cross(catalog: Catalog) -> ClusterSpec:
    """A generated cluster joining two domains."""
    gen = ClusterGenerator(list(catalog), seed=1, cross_domain_share=1.0)
    return next(c for c in gen if len(c.domains) == 2)


@pytest.fixture
def skewed_round() -> Callable[[MetricsTracker, Sequence[ClusterSpec], Sequence[ClusterSpec], int], RoundMetrics]:
    """Feed a tracker one round of ``n`` stand-in trajectories: 90% over ``heavy`` clusters in mode lookup,
    10% round-robin over ``light`` clusters and the other modes; return the round's metrics."""
    others = ("sequential_chain", "parallel_fanout", "error_recovery")

    def feed(tracker: MetricsTracker, heavy: Sequence[ClusterSpec], light: Sequence[ClusterSpec],
             n: int = 100) -> RoundMetrics:
        base = len(tracker.history) * n
        for i in range(n):
            skew = i < n * 9 // 10
            c = heavy[i % len(heavy)] if skew else light[i % len(light)]
            mode = "lookup" if skew else others[i % len(others)]
            path = tuple(c.tool_names())
            tracker.add_measure(TrajectoryMeasure(id=f"t{base + i}", domains=tuple(c.domains), mode=mode, cac=3.0,
                                                  path=path, pattern=path, tools=frozenset(path)), c)
        return tracker.end_round()

    return feed
