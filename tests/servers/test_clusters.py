"""The Business Cluster generator and its mutations."""

from __future__ import annotations

import json
import random
import re
from itertools import islice
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tdscaling.servers import ClusterSpec, DomainSpec, cluster_problems, domain_cluster
from tdscaling.servers._build import Indexes
from tdscaling.servers._generate import ClusterGenerator, generate_clusters
from tdscaling.servers._mutations import MUTATIONS, mutate


def _connected(c: ClusterSpec) -> bool:
    g = nx.DiGraph()
    g.add_nodes_from(c.tool_names())
    g.add_edges_from((e.source, e.target) for e in c.edges)
    return nx.is_weakly_connected(g)


def test_every_generated_cluster_is_valid_connected_and_has_a_unique_signature(
    domains: dict[str, DomainSpec],
) -> None:
    clusters = list(generate_clusters(list(domains.values()), 1500, seed=7))
    assert len(clusters) == 1500
    assert len({c.signature for c in clusters}) == 1500
    assert len({c.id for c in clusters}) == 1500
    for c in clusters[:400]:
        assert cluster_problems(c, domains) == [], c.id
    assert all(_connected(c) for c in clusters)
    cross = [c for c in clusters if len(c.domains) == 2]
    assert 0.15 < len(cross) / len(clusters) < 0.45
    for c in cross:
        assert c.seed_recipe.joins and any(e.detail.endswith(f"via {c.seed_recipe.joins[0].right_key}")
                                           for e in c.edges)
    assert len({d for c in clusters for d in c.domains}) == len(domains)


def test_clusters_are_closed_every_needed_id_is_revealed_inside(domains: dict[str, DomainSpec]) -> None:
    idx = Indexes(domains)
    for c in islice(ClusterGenerator(list(domains.values()), seed=3), 500):
        for d in c.domains:
            ops = {t.operation for t in c.tools if t.domain == d}
            revealed = {e for o in ops for e in idx[d].tools[o].outputs.ids}
            needed = {e for o in ops for _, e in idx[d].tools[o].needs_ids()}
            assert needed <= revealed, (c.id, needed - revealed)


def test_a_cluster_round_trips_through_json(domains: dict[str, DomainSpec]) -> None:
    for c in islice(ClusterGenerator(list(domains.values()), seed=11), 50):
        again = ClusterSpec.model_validate_json(c.model_dump_json())
        assert again == ClusterSpec.model_validate(json.loads(c.model_dump_json()))
        assert again.model_dump_json() == c.model_dump_json()


def test_the_whole_domain_is_a_cluster_too(domains: dict[str, DomainSpec]) -> None:
    for d in domains.values():
        c = domain_cluster(d)
        assert len(c.tools) == len(d.operations)
        assert cluster_problems(c, domains) == []


def test_the_same_seed_gives_byte_identical_output_and_another_seed_does_not(tmp_path: Path, cli: Any) -> None:
    outs = []
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        r = cli("clusters", "generate", "-n", "300", "--seed", seed, "-o", str(tmp_path / f"{name}.jsonl"))
        assert r.returncode == 0, r.stderr
        outs.append((tmp_path / f"{name}.jsonl").read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]
    lines = outs[0].decode().splitlines()
    assert len(lines) == 300
    first = json.loads(lines[0])
    assert {"id", "signature", "domains", "tools", "edges"} <= set(first)
    assert {"name", "kind", "input_schema"} <= set(first["tools"][0])
    assert {"source", "target", "reason"} <= set(first["edges"][0])
    assert list(tmp_path.glob(".*part")) == []


def test_asking_for_more_clusters_than_the_catalog_can_give_says_so_and_writes_what_it_can(
    tmp_path: Path, cli: Any, example_domain: dict[str, Any]
) -> None:
    example_domain["name"] = "tiny"
    example_domain["operations"] = [op for op in example_domain["operations"]
                                    if op["name"] in ("search_customers", "get_customer", "create_customer",
                                                      "close_customer_account", "reopen_customer_account",
                                                      "search_products", "get_product", "restock_product")]
    cat = tmp_path / "cat"
    cat.mkdir()
    (cat / "tiny.json").write_text(json.dumps(example_domain))
    out = tmp_path / "c.jsonl"
    r = cli("clusters", "generate", "-n", "5000", "-o", str(out), "--catalog", str(cat), "--domains", "tiny")
    assert r.returncode == 0, r.stderr
    written = out.read_text().splitlines()
    assert 5 < len(written) < 5000
    assert f"the catalog gave only {len(written)} distinct clusters" in r.stderr
    assert len({json.loads(x)["signature"] for x in written}) == len(written)


def test_stats_and_show_read_a_cluster_file(tmp_path: Path, cli: Any) -> None:
    out = tmp_path / "c.jsonl"
    assert cli("clusters", "generate", "-n", "200", "-o", str(out)).returncode == 0
    r = cli("clusters", "stats", str(out), "--json")
    stats = json.loads(r.stdout)
    assert stats["count"] == 200 and stats["distinct_signatures"] == 200
    assert sum(stats["size_histogram"].values()) == 200
    assert 0 < stats["cross_domain_share"] < 1
    assert sum(stats["per_domain"].values()) >= 200
    first = json.loads(out.read_text().splitlines()[0])
    r = cli("clusters", "show", first["id"][:10], "--file", str(out))
    assert r.returncode == 0 and first["tools"][0]["name"] in r.stdout
    r = cli("clusters", "show", "cl-nope", "--file", str(out))
    assert r.returncode == 2 and "no cluster with id 'cl-nope'" in r.stderr
    (tmp_path / "bad.jsonl").write_text(out.read_text().splitlines()[0] + "\n{\"id\": 3}\n")
    r = cli("clusters", "stats", str(tmp_path / "bad.jsonl"))
    assert r.returncode == 2 and "bad.jsonl: line 2" in r.stderr and "Traceback" not in r.stderr


def _policies_by_operation(c: ClusterSpec) -> set[tuple[str, str, str]]:
    where = {t.name: (t.domain, t.operation) for t in c.tools}
    return {(*where[p.tool], p.precondition.model_dump_json()) for p in c.policies}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), steps=st.lists(st.sampled_from(sorted(MUTATIONS)), min_size=1, max_size=5),
       joined=st.booleans())
def test_mutations_keep_clusters_valid_and_connected(domains: dict[str, DomainSpec], seed: int,
                                                     steps: list[str], joined: bool) -> None:
    idx = Indexes(domains)
    rng = random.Random(seed)
    cluster = next(iter(ClusterGenerator(list(domains.values()), seed=seed, cross_domain_share=float(joined))))
    cluster = mutate(cluster, idx, rng, operator="add_policy") or cluster  # most mutations then carry a policy
    for op in steps:
        child = mutate(cluster, idx, rng, operator=op)
        if child is None:
            continue
        assert child.signature != cluster.signature
        assert child.origin == f"mutation:{op}:{cluster.id}"
        assert cluster_problems(child, domains) == []
        assert _connected(child)
        # a policy stays with its operation whatever name the child serves it under
        kept = {(t.domain, t.operation) for t in child.tools}
        assert {p for p in _policies_by_operation(cluster) if p[:2] in kept} <= _policies_by_operation(child)
        assert all({j.left.split(".")[0], j.right.split(".")[0]} <= set(child.domains)
                   for j in child.seed_recipe.joins), child.seed_recipe.joins
        cluster = child


def test_a_policy_follows_its_tool_when_a_joined_domain_renames_it(domains: dict[str, DomainSpec]) -> None:
    from tdscaling.servers import Policy, make_cluster
    from tdscaling.servers._mutations import join_domain
    from tdscaling.servers._spec import Compare

    idx = Indexes(domains)
    parent = make_cluster(idx, {"online_store": ["search_customers", "get_customer", "search_products",
                                                 "place_order", "pay_order", "get_order"]}, seed=1,
                          policies=[Policy(tool="place_order", precondition=Compare(param="quantity", op="<=",
                                                                                    value=5))])
    renamed = [c for s in range(300) if (c := join_domain(parent, idx, random.Random(s))) is not None
               and "online_store_place_order" in c.tool_names()]
    assert renamed
    for child in renamed:
        assert [p.tool for p in child.policies] == ["online_store_place_order"]
        assert cluster_problems(child, domains) == []


def test_each_mutation_applies_somewhere_and_does_what_it_says(domains: dict[str, DomainSpec]) -> None:
    idx = Indexes(domains)
    rng = random.Random(1)
    parents = list(islice(ClusterGenerator(list(domains.values()), seed=2, cross_domain_share=0.0), 60))
    seen: dict[str, int] = {}
    for p in parents:
        for op, fn in MUTATIONS.items():
            child = fn(p, idx, rng)
            if child is None:
                continue
            seen[op] = seen.get(op, 0) + 1
            if op in ("add_tool", "deepen_chain"):
                assert len(child.tools) > len(p.tools)
            elif op == "drop_leaf":
                assert len(child.tools) == len(p.tools) - 1
            elif op == "join_domain":
                assert len(child.domains) == 2 and child.seed_recipe.joins
            elif op == "add_policy":
                assert len(child.policies) == len(p.policies) + 1
    assert set(seen) == set(MUTATIONS), seen


def _broken(c: ClusterSpec, how: str) -> dict[str, Any]:
    data = json.loads(c.model_dump_json())
    if how == "schema":
        data["tools"][0]["input_schema"] = {"type": "object"}
    elif how == "policy":
        data["policies"] = [{"tool": data["tools"][0]["name"], "precondition": {
            "kind": "no_dependents", "entity": "ghost", "ref_field": "x", "states": ["a"]}}]
    elif how == "rows":
        key = next(iter(data["seed_recipe"]["rows"]))
        data["seed_recipe"]["rows"][key] = 10**9
    elif how == "digest":
        d = data["domains"][0]
        data["domain_digests"][d] = "0" * 12
    elif how == "join":
        data["seed_recipe"]["joins"][0]["right_key"] = "shoe_size"
    return data


BROKEN = [("schema", "its input_schema is not the one"),
          ("policy", "policies[0].precondition.entity: references unknown entity 'ghost'"),
          ("rows", "Input should be less than or equal to 100000"),
          ("digest", "changed since the cluster was made"),
          ("join", "seed_recipe.joins[0]:")]


def test_a_cluster_file_that_does_not_fit_the_catalog_is_refused_in_one_line(
        domains: dict[str, DomainSpec], tmp_path: Path, cli: Any) -> None:
    from tdscaling.servers import Catalog, ClusterRuntime, SpecError, load_cluster

    catalog = Catalog(domains.values())
    c = next(c for c in ClusterGenerator(list(domains.values()), seed=4, cross_domain_share=1.0)
             if c.seed_recipe.joins)
    assert cluster_problems(c, domains) == []
    for how, needle in BROKEN:
        f = tmp_path / f"{how}.json"
        f.write_text(json.dumps(_broken(c, how)))
        with pytest.raises(SpecError) as err:
            load_cluster(str(f), catalog)
        assert needle in str(err.value) and "\n" not in str(err.value), (how, str(err.value))
        if how != "rows":  # a spec that parses: the checks also hold in the runtime and in cluster_problems
            spec = ClusterSpec.model_validate(_broken(c, how))
            assert any(needle in p for p in cluster_problems(spec, domains)), how
            with pytest.raises(SpecError, match=re.escape(needle)):
                ClusterRuntime(spec, catalog)
    r = cli("serve", str(tmp_path / "policy.json"), "--db", ":memory:")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "unknown entity 'ghost'" in r.stderr, r.stderr
