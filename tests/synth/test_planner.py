"""The blueprint planner: every mode is plannable somewhere, plans are bound to outputs, and gold replays verify."""

from __future__ import annotations

import random
from collections import Counter
from itertools import islice

import pytest

from tdscaling.client import REASONING_MODES, FactRef, Harness, StepRef, Template
from tdscaling.servers import Catalog, ClusterGenerator, ClusterSpec, Indexes, domain_cluster, mutate
from tdscaling.synth._modes import feasible_modes
from tdscaling.synth._planner import Planner, PlanningFailure

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="module")
def planner(catalog: Catalog) -> Planner:
    return Planner(catalog)


@pytest.fixture(scope="module")
def harness(catalog: Catalog, planner: Planner) -> Harness:
    return Harness(catalog, templates=planner.templates)


def _clusters(catalog: Catalog) -> list[ClusterSpec]:
    idx = Indexes({d.name: d for d in catalog})
    pool = [domain_cluster(d) for d in catalog]
    pool += list(islice(ClusterGenerator(list(catalog), seed=4, cross_domain_share=0.5), 60))
    pool += [c for i, p in enumerate(pool[:40]) if (c := mutate(p, idx, random.Random(i), operator="add_policy"))]
    return pool


def test_every_mode_is_planned_for_several_domains(catalog: Catalog, planner: Planner) -> None:
    made: Counter[str] = Counter()
    domains: dict[str, set[str]] = {m: set() for m in REASONING_MODES}
    for i, cluster in enumerate(_clusters(catalog)):
        for mode in REASONING_MODES:
            try:
                planner.plan(cluster, mode, random.Random(i))
            except PlanningFailure:
                continue
            made[mode] += 1
            domains[mode].update(cluster.domains)
    for mode in REASONING_MODES:
        assert made[mode] >= 5, (mode, made)
        assert len(domains[mode]) >= 3, (mode, domains[mode])


async def test_planned_blueprints_of_every_mode_verify_when_played(catalog: Catalog, planner: Planner,
                                                                   harness: Harness) -> None:
    seen: set[str] = set()
    for i, cluster in enumerate(_clusters(catalog)):
        for mode in REASONING_MODES:
            if mode in seen:
                continue
            try:
                bp = planner.plan(cluster, mode, random.Random(100 + i))
            except PlanningFailure:
                continue
            harness.add_clusters([cluster])
            t = await harness.run(bp)
            assert t.verdict == "accepted", (mode, cluster.id, t.reasons, t.details)
            seen.add(mode)
    assert seen == set(REASONING_MODES)


def test_plan_arguments_are_bindings_never_copied_outputs(catalog: Catalog, planner: Planner) -> None:
    bp = planner.plan(domain_cluster(catalog.get("online_store")), "sequential_chain", random.Random(5))
    order = {s.id: i for i, s in enumerate(bp.plan)}
    for step in bp.plan:
        for binding in step.args.values():
            if isinstance(binding, StepRef):
                assert order[binding.step] < order[step.id]
            elif isinstance(binding, FactRef):
                assert binding.name in {f.name for f in bp.facts}
            else:
                assert not isinstance(binding, Template) or step.server == "sandbox"
        ids = [b for b in step.args.values() if getattr(b, "kind", "") == "const"]
        assert all(not str(getattr(b, "value", "")).startswith(("ORD-", "CUS-")) for b in ids)


def test_the_same_random_seed_gives_the_same_blueprint(catalog: Catalog, planner: Planner) -> None:
    cluster = domain_cluster(catalog.get("clinic"))
    a = planner.plan(cluster, "clarification", random.Random(7))
    b = planner.plan(cluster, "clarification", random.Random(7))
    assert a == b
    assert any(f.reveal == "on_request" for f in a.facts)


def test_an_impossible_mode_fails_with_a_reason(catalog: Catalog, planner: Planner) -> None:
    with pytest.raises(PlanningFailure) as e:
        planner.plan(domain_cluster(catalog.get("online_store")), "cross_domain", random.Random(0))
    assert e.value.reason == "single_domain"


def test_feasibility_never_rules_out_what_the_planner_can_do(catalog: Catalog, planner: Planner) -> None:
    idx = Indexes({d.name: d for d in catalog})
    for i, cluster in enumerate(_clusters(catalog)[:60]):
        feasible = feasible_modes(cluster, idx)
        for mode in REASONING_MODES:
            if mode in feasible:
                continue
            with pytest.raises(PlanningFailure):
                planner.plan(cluster, mode, random.Random(i))


def test_every_planning_failure_code_is_explained_for_the_report() -> None:
    import re
    from pathlib import Path

    from tdscaling.synth._planner import PLANNING_REASONS

    source = (Path(__file__).resolve().parents[2] / "synth" / "_planner.py").read_text()
    codes = set(re.findall(r'PlanningFailure\("([a-z_]+)"', source))
    assert codes and codes <= set(PLANNING_REASONS)
