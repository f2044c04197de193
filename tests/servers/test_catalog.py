"""The built-in catalog: every domain loads, is rich enough, and is internally consistent."""

from __future__ import annotations

import json
from typing import Any

from tdscaling.servers import Catalog, DomainSpec, domain_graph, tool_spec, unreachable_needs


def test_the_builtin_catalog_has_at_least_thirty_domains_across_many_areas(catalog: Catalog) -> None:
    assert len(catalog) >= 30
    categories = {d.category for d in catalog}
    for area in ("commerce", "travel", "health", "finance", "logistics", "people", "public services",
                 "software operations", "media", "education", "property", "food", "energy"):
        assert area in categories, f"no domain in {area}"


def test_every_domain_is_a_believable_service(domains: dict[str, DomainSpec]) -> None:
    for d in domains.values():
        assert len(d.entities) >= 3, d.name
        assert any(e.state_machine for e in d.entities.values()), d.name
        assert len(d.operations) >= 8, d.name
        assert any(op.preconditions for op in d.operations), f"{d.name} has no domain-specific preconditions"
        kinds = {op.kind for op in d.operations}
        assert {"get", "search", "create", "transition", "aggregate"} <= kinds, (d.name, kinds)


def test_every_operation_input_can_be_produced_by_a_path_from_an_entry_tool(domains: dict[str, DomainSpec]) -> None:
    for d in domains.values():
        assert unreachable_needs(domain_graph(d)) == [], d.name


def test_every_entity_can_be_found_by_a_search(domains: dict[str, DomainSpec]) -> None:
    for d in domains.values():
        searched = {op.entity for op in d.operations if op.kind == "search"}
        assert searched == set(d.entities), (d.name, set(d.entities) - searched)


def test_every_transition_is_fired_by_some_operation(domains: dict[str, DomainSpec]) -> None:
    for d in domains.values():
        fired = {(op.entity, op.transition) for op in d.operations if op.kind == "transition"}
        for op in d.operations:
            for eff in op.effects:
                if eff.kind == "fire":
                    target = tool_spec(d, op).param(eff.param)
                    assert target is not None and target.ref is not None
                    fired.add((target.ref, eff.transition))
        for ename, e in d.entities.items():
            for t in e.state_machine.transitions if e.state_machine else []:
                assert (ename, t.name) in fired, f"{d.name}.{ename}: transition {t.name} is never fired"


def test_domains_round_trip_through_json(domains: dict[str, DomainSpec]) -> None:
    for d in domains.values():
        text = d.model_dump_json(by_alias=True)
        assert DomainSpec.model_validate_json(text) == d
        assert DomainSpec.model_validate(json.loads(text)) == d


def test_names_and_descriptions_are_written_for_a_model(domains: dict[str, DomainSpec]) -> None:
    for d in domains.values():
        names = [op.name for op in d.operations]
        assert len(set(names)) == len(names)
        for op in d.operations:
            t = tool_spec(d, op)
            assert len(op.description.split()) >= 4, f"{d.name}.{op.name}: the description is too thin"
            for p in t.inputs:
                assert p.description, f"{d.name}.{op.name}.{p.name} has no description"


def test_entities_that_share_a_concept_let_domains_join(catalog: Catalog) -> None:
    from tdscaling.servers._build import Indexes
    from tdscaling.servers._generate import pairings

    pairs = pairings(Indexes({d.name: d for d in catalog}), catalog.names())
    joined = {p.left for p in pairs} | {p.right for p in pairs}
    assert len(pairs) >= 50
    assert len(joined) >= 20


def test_domains_show_lists_each_many_to_one_relation(cli: Any) -> None:
    r = cli("domains", "show", "online_store")
    assert r.returncode == 0, r.stderr
    assert "order.customer_id -> customer" in r.stdout and "order.product_id -> product" in r.stdout


def test_no_builtin_delete_can_leave_a_dangling_reference(domains: dict[str, DomainSpec]) -> None:
    """Deletes do not cascade, so each one must refuse while any record of any state still points at it."""
    for d in domains.values():
        for op in (o for o in d.operations if o.kind == "delete"):
            for ename, e in d.entities.items():
                for fname, f in e.fields.items():
                    if f.type != "ref" or f.ref != op.entity:
                        continue
                    guarded = {s for p in op.preconditions if p.kind == "no_dependents" and p.entity == ename
                               and p.ref_field == fname for s in p.states}
                    assert e.state_machine is not None and guarded == set(e.state_machine.states), (
                        d.name, op.name, f"{ename}.{fname}")
