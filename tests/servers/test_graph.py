"""The dependency graph: edges say why, and the planner's queries return what they promise."""

from __future__ import annotations

import itertools

import networkx as nx

from tdscaling.servers import DomainSpec, branch_points, chains, domain_graph, entry_tools, fan_outs


def test_edges_say_whether_a_tool_produces_an_id_enables_a_state_or_informs(domains: dict[str, DomainSpec]) -> None:
    g = domain_graph(domains["online_store"])
    assert g.edges["pay_order", "ship_order"]["reason"] == "enables_state"
    assert g.edges["pay_order", "ship_order"]["detail"] == "order: paid"
    assert g.edges["search_customers", "get_customer"]["reason"] == "produces_id"
    assert g.edges["get_customer", "search_orders"]["reason"] == "informs"
    assert not g.has_edge("ship_order", "pay_order") or g.edges["ship_order", "pay_order"]["reason"] != "enables_state"
    assert not g.has_edge("search_products", "pay_order")


def test_entry_tools_need_nothing_but_facts_a_user_knows(domains: dict[str, DomainSpec]) -> None:
    for d in domains.values():
        g = domain_graph(d)
        entries = entry_tools(g)
        assert entries, d.name
        for n in entries:
            assert g.nodes[n]["tool"].needs_ids() == []
    assert "search_customers" in entry_tools(domain_graph(domains["online_store"]))
    assert "get_order" not in entry_tools(domain_graph(domains["online_store"]))


def test_chains_of_length_k_start_at_an_entry_tool_and_follow_edges(domains: dict[str, DomainSpec]) -> None:
    g = domain_graph(domains["online_store"])
    entries = set(entry_tools(g))
    for k in (1, 2, 3, 4):
        found = list(chains(g, k, limit=500))
        assert found
        for path in found:
            assert len(path) == k == len(set(path))
            assert path[0] in entries
            assert all(g.has_edge(a, b) for a, b in itertools.pairwise(path))
    assert ["search_orders", "pay_order", "ship_order", "mark_order_delivered"] in list(chains(g, 4, limit=100_000))


def test_fan_outs_feed_several_tools_and_branch_points_fork_on_state(domains: dict[str, DomainSpec]) -> None:
    g = domain_graph(domains["online_store"])
    fans = dict(fan_outs(g))
    assert {"get_customer", "place_order"} <= set(fans["search_customers"])
    branches = dict(branch_points(g))
    assert {"ship_order", "cancel_order", "refund_order"} <= set(branches["get_order"])
    assert "pay_order" not in branches  # only observations fork the path


def test_every_domain_graph_has_chains_and_is_mostly_connected(domains: dict[str, DomainSpec]) -> None:
    for d in domains.values():
        g = domain_graph(d)
        assert nx.is_weakly_connected(g), d.name
        assert next(chains(g, 3), None) is not None, d.name
