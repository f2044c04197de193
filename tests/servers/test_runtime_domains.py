"""Every built-in domain, served in process through the real MCP client."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from mcp import Client

from tdscaling.servers import KINDS, Catalog, ClusterRuntime, Templates, domain_cluster
from tdscaling.servers._semantics import SEMANTICS

pytestmark = pytest.mark.anyio

DOMAINS = Catalog.load().names()


def _runtime(catalog: Catalog, templates: Templates, name: str) -> ClusterRuntime:
    return ClusterRuntime(domain_cluster(catalog.get(name)), catalog, templates=templates)


def test_every_operation_kind_has_semantics_under_the_same_name() -> None:
    assert set(SEMANTICS) == set(KINDS)


@pytest.mark.parametrize("name", DOMAINS)
async def test_a_domain_lists_each_tool_with_its_exact_schema_annotations_and_output_schema(
        name: str, catalog: Catalog, templates: Templates) -> None:
    rt = _runtime(catalog, templates, name)
    async with Client(rt.server) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert c.server_info.name == f"tdscaling-{name}"
    assert sorted(tools) == sorted(rt.cluster.tool_names())
    for ct in rt.cluster.tools:
        t = tools[ct.name]
        assert t.input_schema == ct.input_schema
        assert t.output_schema is not None and t.output_schema["type"] == "object"
        assert t.annotations is not None and t.annotations.open_world_hint is False
        assert t.annotations.read_only_hint == (ct.kind in ("get", "search", "aggregate"))
        if ct.kind in ("get", "search", "aggregate", "delete", "transfer"):  # the rest: test_annotations.py
            assert t.annotations.destructive_hint == (ct.kind in ("delete", "transfer"))
        assert t.description and len(t.description) > 40
        if ct.kind in ("get", "update", "transition", "delete"):
            assert "id does not exist" in t.description


@pytest.mark.parametrize("name", DOMAINS)
async def test_every_tool_of_a_domain_succeeds_with_arguments_made_from_its_schema_and_the_seeded_data(
        name: str, catalog: Catalog, templates: Templates, arg_maker: Any) -> None:
    rt = _runtime(catalog, templates, name)
    maker = arg_maker(rt)
    failures: dict[str, list[str]] = {}
    # deletes last, so they do not remove records other tools were going to use
    order = sorted(rt.cluster.tools, key=lambda t: (t.kind == "delete", t.name))
    async with Client(rt.server) as c:
        for t in order:
            errors: list[str] = []
            for args in maker.candidates(t.name):
                r = await c.call_tool(t.name, args)  # the client checks structuredContent against outputSchema
                text = r.content[0].text  # type: ignore[union-attr]
                assert "Internal error" not in text, (t.name, args, text)
                if not r.is_error:
                    assert json.loads(text) == r.structured_content
                    break
                errors.append(f"{args} -> {text}")
            else:
                failures[t.name] = errors
    assert not failures, json.dumps(failures, indent=1)[:4000]


@pytest.mark.parametrize("name", DOMAINS[:3])
async def test_a_legacy_era_client_gets_the_same_tools_and_results(name: str, catalog: Catalog,
                                                                    templates: Templates) -> None:
    rt = _runtime(catalog, templates, name)
    async with Client(rt.server, mode="legacy") as legacy, Client(rt.server) as modern:
        assert legacy.protocol_version != modern.protocol_version
        a = (await legacy.list_tools()).tools
        b = (await modern.list_tools()).tools
        assert [t.model_dump() for t in a] == [t.model_dump() for t in b]
        search = next(t.name for t in rt.cluster.tools if t.kind == "search")
        ra, rb = await legacy.call_tool(search, {"limit": 3}), await modern.call_tool(search, {"limit": 3})
        assert not ra.is_error and ra.structured_content == rb.structured_content
        bad = await legacy.call_tool("no_such_tool", {})
        assert bad.is_error and "Unknown tool" in bad.content[0].text  # type: ignore[union-attr]


async def test_resources_hold_the_cluster_spec_and_its_dependency_graph(catalog: Catalog,
                                                                         templates: Templates) -> None:
    rt = _runtime(catalog, templates, "online_store")
    async with Client(rt.server) as c:
        uris = {str(r.uri) for r in (await c.list_resources()).resources}
        assert uris == {"cluster://spec", "cluster://graph"}
        spec = json.loads((await c.read_resource("cluster://spec")).contents[0].text)  # type: ignore[union-attr]
        graph = json.loads((await c.read_resource("cluster://graph")).contents[0].text)  # type: ignore[union-attr]
    assert spec["id"] == rt.cluster.id
    assert {n["id"] for n in graph["nodes"]} == set(rt.cluster.tool_names())
    assert {(e["source"], e["target"]) for e in graph["edges"]} == {(e.source, e.target) for e in rt.cluster.edges}


async def test_instructions_describe_the_service_its_ids_and_its_clock(catalog: Catalog,
                                                                        templates: Templates) -> None:
    rt = _runtime(catalog, templates, "online_store")
    async with Client(rt.server, mode="legacy") as legacy, Client(rt.server) as modern:
        assert legacy.instructions == modern.instructions == rt.instructions
    for needle in ("Online store", "ORD-000123", "search", "2026-06-01"):
        assert needle in rt.instructions


@pytest.mark.parametrize("name", DOMAINS)
def test_a_seeded_world_keeps_references_honours_field_rules_and_spreads_states(
        name: str, catalog: Catalog, templates: Templates) -> None:
    domain = catalog.get(name)
    rt = _runtime(catalog, templates, name)
    seeded = {key.partition(".")[2] for key in rt.cluster.seed_recipe.rows}
    for ename, e in domain.entities.items():
        rows = rt.store.rows(f"{name}__{ename}")
        if ename not in seeded:
            continue
        assert len(rows) >= 10, ename
        assert all(r["id"].startswith(e.id_prefix + "-") for r in rows)
        for fname, f in e.fields.items():
            values = [r[fname] for r in rows]
            if f.required:
                assert None not in values, (ename, fname)
            present = [v for v in values if v is not None]
            if f.unique:
                assert len(set(present)) == len(present), (ename, fname)
            if f.type == "ref":
                targets = {r["id"] for r in rt.store.rows(f"{name}__{f.ref}")}
                assert set(present) <= targets, (ename, fname)
            if f.type == "enum":
                assert set(present) <= set(f.values or []), (ename, fname)
            if f.type in ("integer", "number", "money") and f.min is not None:
                assert min(present) >= f.min, (ename, fname)
            if f.type in ("integer", "number", "money") and f.max is not None:
                assert max(present) <= f.max, (ename, fname)
            if f.choices:
                assert set(present) <= set(f.choices)
        if e.state_machine and len(rows) >= len(e.state_machine.states):
            counts = Counter(r[e.state_machine.field] for r in rows)
            assert set(counts) == set(e.state_machine.states), (ename, counts)


def test_the_same_seed_gives_the_same_world_and_another_seed_another(catalog: Catalog) -> None:
    cluster = domain_cluster(catalog.get("online_store"))
    a = ClusterRuntime(cluster, catalog).store.state_hash()
    b = ClusterRuntime(cluster, catalog).store.state_hash()
    c = ClusterRuntime(cluster, catalog, seed=7).store.state_hash()
    assert a == b != c
    small = ClusterRuntime(cluster, catalog, rows=5)
    assert small.store.count("online_store__order") == 5


def test_fresh_gives_each_episode_its_own_copy_of_the_seeded_world(catalog: Catalog) -> None:
    rt = ClusterRuntime(domain_cluster(catalog.get("online_store")), catalog)
    pristine = rt.store.state_hash()
    one, two = rt.fresh(), rt.fresh()
    assert not one.call("pay_order", {"order_id": next(
        r["id"] for r in one.store.rows("online_store__order") if r["status"] == "pending")}).is_error
    assert one.store.state_hash() != pristine
    assert two.store.state_hash() == pristine == rt.store.state_hash()
    copy = one.clone()
    assert copy.store.state_hash() == one.store.state_hash()
    assert rt.fresh().store.state_hash() == pristine


def test_joined_worlds_share_people_by_join_key_but_not_by_id_number(catalog: Catalog,
                                                                      domains: dict[str, Any]) -> None:
    from itertools import islice

    from tdscaling.servers._generate import ClusterGenerator

    joined = same_number = 0
    clusters = [c for c in islice(ClusterGenerator(list(domains.values()), seed=5, cross_domain_share=1.0), 40)
                if c.seed_recipe.joins][:12]
    assert clusters
    for c in clusters:
        rt = ClusterRuntime(c, catalog)
        j = c.seed_recipe.joins[0]
        left = {r[j.left_key]: r for r in rt.store.rows(j.left.replace(".", "__"))}
        pairs = [(left[r[j.right_key]], r) for r in rt.store.rows(j.right.replace(".", "__"))
                 if r[j.right_key] in left]
        assert len(pairs) >= min(len(left), rt.store.count(j.right.replace(".", "__"))) * 3 // 4 > 0, c.id
        joined += len(pairs)
        same_number += sum(a["id"].split("-")[1] == b["id"].split("-")[1] for a, b in pairs)
        again = ClusterRuntime(c, catalog)  # deterministic for the seed
        assert again.store.state_hash() == rt.store.state_hash()
    assert same_number < joined * 0.1, (same_number, joined)


_HASHES = """
from itertools import islice
from tdscaling.servers import Catalog, ClusterRuntime, domain_cluster
from tdscaling.servers._generate import ClusterGenerator
cat = Catalog.load()
clusters = [domain_cluster(cat.get(n)) for n in ("online_store", "clinic", "retail_bank", "hotel")]
clusters += [c for c in islice(ClusterGenerator(list(cat), seed=9, cross_domain_share=1.0), 3)]
for c in clusters:
    print(c.id, ClusterRuntime(c, cat, rows=25).store.state_hash())
"""


def test_seeding_gives_the_same_world_in_processes_with_different_hash_seeds() -> None:
    import os
    import subprocess
    import sys

    outs = [subprocess.run([sys.executable, "-c", _HASHES], env={**os.environ, "PYTHONHASHSEED": seed},
                           capture_output=True, text=True, timeout=300, check=True).stdout
            for seed in ("1", "2")]
    assert len(outs[0].splitlines()) == 7
    assert outs[0] == outs[1]
