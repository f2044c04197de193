"""Entropies, observed modes, CAC, the tracker, and structural mode feasibility."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from tdscaling.client import REASONING_MODES, CallRecord, Labels, Trajectory
from tdscaling.servers import ClusterSpec, Indexes, make_cluster, mutate
from tdscaling.synth._metrics import (
    ComplexityWeights,
    MetricsTracker,
    action_complexities,
    entropy,
    measure,
    normalized_entropy,
)
from tdscaling.synth._modes import bound_arguments, feasible_modes, observed_mode


# --- hand-built trajectories -----------------------------------------------------------------------------------
def call(tool: str, args: dict[str, Any], result: Any = None, *, error: str | None = None,
         server: str = "cluster") -> CallRecord:
    structured = result if isinstance(result, dict) else None
    text = error if error is not None else json.dumps(result)
    return CallRecord(call_id="", server=server, tool=tool, arguments=args, is_error=error is not None, text=text,
                      structured=structured)


def trajectory(cluster: ClusterSpec, *turns: CallRecord | list[CallRecord], ask_first: bool = False,
               planned: str = "lookup") -> Trajectory:
    """System and user messages, an optional question the user answers, one assistant message per turn (a
    list is one message with several tool calls) followed by its tool replies, and a final answer."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You help customers."},
                                      {"role": "user", "content": "I need help with my order."}]
    if ask_first:
        messages += [{"role": "assistant", "content": "Which order is it?"},
                     {"role": "user", "content": "ORD-000007."}]
    calls: list[CallRecord] = []
    for turn in turns:
        group = turn if isinstance(turn, list) else [turn]
        ids = []
        for c in group:
            c.call_id = f"call_{len(calls)}"
            calls.append(c)
            ids.append({"id": c.call_id, "type": "function",
                        "function": {"name": c.tool, "arguments": json.dumps(c.arguments)}})
        messages.append({"role": "assistant", "content": None, "tool_calls": ids})
        messages += [{"role": "tool", "tool_call_id": c.call_id, "content": c.text} for c in group]
    messages.append({"role": "assistant", "content": "Done."})
    labels = Labels(blueprint_id="bp", cluster_id=cluster.id, domains=cluster.domains, planned_mode=planned,
                    tool_path=[c.tool for c in calls])
    return Trajectory(id=f"t-{random.Random(len(calls)).random()}", messages=messages, tools=[], calls=calls,
                      verdict="accepted", labels=labels)


ORDER = {"id": "ORD-000007", "customer_id": "CUS-000001", "product_id": "PRD-000003", "status": "paid", "total": 42.5}


def _mode_examples(store: ClusterSpec, cross: ClusterSpec) -> dict[str, tuple[ClusterSpec, Trajectory]]:
    return {
        "lookup": (store, trajectory(store, call("search_products", {"category": "books"},
                                                 {"records": [{"id": "PRD-000003", "title": "Dune"}]}))),
        "sequential_chain": (store, trajectory(
            store,
            call("search_customers", {"email": "ann@example.org"}, {"records": [{"id": "CUS-000001"}]}),
            call("search_orders", {"customer_id": "CUS-000001"}, {"records": [ORDER]}),
            call("get_product", {"product_id": "PRD-000003"}, {"id": "PRD-000003", "stock": 4}))),
        "parallel_fanout": (store, trajectory(
            store, call("get_order", {"order_id": "ORD-000007"}, ORDER),
            [call("get_customer", {"customer_id": "CUS-000001"}, {"id": "CUS-000001"}),
             call("get_product", {"product_id": "PRD-000003"}, {"id": "PRD-000003"})])),
        "conditional_branch": (store, trajectory(
            store, call("get_order", {"order_id": "ORD-000007"}, ORDER),
            call("ship_order", {"order_id": "ORD-000007"}, {**ORDER, "status": "shipped"}))),
        "error_recovery": (store, trajectory(
            store, call("pay_order", {"order_id": "ORD-000007"}, error="order ORD-000007 is paid; needs pending"),
            call("get_order", {"order_id": "ORD-000009"}, {**ORDER, "id": "ORD-000009", "status": "pending"}),
            call("pay_order", {"order_id": "ORD-000009"}, {**ORDER, "id": "ORD-000009"}))),
        "code_aggregation": (store, trajectory(
            store, call("search_orders", {"status": "paid"}, {"records": [ORDER]}),
            call("execute_code", {"code": "print(sum([42.5]))"}, {"stdout": "42.5\n", "exit_code": 0},
                 server="sandbox"))),
        "clarification": (store, trajectory(store, call("get_order", {"order_id": "ORD-000007"}, ORDER),
                                            ask_first=True)),
        "cross_domain": (cross, trajectory(
            cross, call("get_branch", {"branch_id": "BRN-000001"}, {"id": "BRN-000001", "city": "Lyon"}),
            call("search_hotels", {"city": "Lyon"}, {"records": [{"id": "HTL-000002"}]}))),
    }


# --- entropy -------------------------------------------------------------------------------------------------
def test_a_uniform_spread_over_every_available_category_has_normalized_entropy_one() -> None:
    counts = {m: 5.0 for m in REASONING_MODES}
    assert entropy(counts) == pytest.approx(math.log(8))
    assert normalized_entropy(counts, 8) == pytest.approx(1.0)


def test_a_single_category_has_entropy_zero() -> None:
    assert entropy({"lookup": 40}) == 0.0
    assert normalized_entropy({"lookup": 40}, 8) == 0.0
    assert normalized_entropy({}, 8) == 0.0


def test_entropy_is_shannon_in_nats_and_normalized_by_the_categories_available_not_those_seen() -> None:
    assert entropy({"a": 3, "b": 1}) == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert normalized_entropy({"a": 1, "b": 1}, 4) == pytest.approx(0.5)
    assert normalized_entropy({"a": 1}, 1) == 0.0


# --- observed mode ---------------------------------------------------------------------------------------------
def test_each_of_the_eight_modes_is_observed_from_the_call_structure(store: ClusterSpec, cross: ClusterSpec) -> None:
    examples = _mode_examples(store, cross)
    assert set(examples) == set(REASONING_MODES)
    for mode, (cluster, traj) in examples.items():
        assert observed_mode(traj, cluster) == mode, mode


def test_the_planned_label_does_not_decide_the_observed_mode(store: ClusterSpec) -> None:
    t = trajectory(store, call("get_order", {"order_id": "ORD-000007"}, ORDER), planned="sequential_chain")
    assert observed_mode(t, store) == "lookup"


def test_a_read_then_a_transition_is_a_branch_only_where_the_cluster_branches(indexes: Indexes) -> None:
    # a cluster with one transition after get_order has no branch point: reading then paying is a plain lookup
    single = make_cluster(indexes, {"online_store": ["get_order", "pay_order", "search_orders"]}, seed=0)
    t = trajectory(single, call("get_order", {"order_id": "ORD-000007"}, ORDER),
                   call("pay_order", {"order_id": "ORD-000007"}, ORDER))
    assert observed_mode(t, single) == "lookup"


def test_a_chain_needs_every_later_call_bound_to_an_earlier_result(store: ClusterSpec) -> None:
    unbound = trajectory(store, call("search_products", {"category": "books"}, {"records": []}),
                         call("search_customers", {"city": "Lyon"}, {"records": []}),
                         call("get_product", {"product_id": "PRD-000003"}, {"id": "PRD-000003"}))
    assert observed_mode(unbound, store) == "lookup"
    assert bound_arguments(unbound.calls) == [0, 0, 0]


def test_sandbox_code_takes_precedence_over_a_parallel_turn(store: ClusterSpec) -> None:
    t = trajectory(store, [call("get_order", {"order_id": "ORD-000007"}, ORDER),
                           call("get_product", {"product_id": "PRD-000003"}, {"id": "PRD-000003"})],
                   call("execute_code", {"code": "print(1)"}, {"stdout": "1"}, server="sandbox"))
    assert observed_mode(t, store) == "code_aggregation"


# --- CAC --------------------------------------------------------------------------------------------------------
def test_cac_of_a_hand_built_trajectory_equals_the_documented_formula(store: ClusterSpec) -> None:
    order_args = {"customer_id": "CUS-000001", "product_id": "PRD-000002", "quantity": 1, "total": 25.0,
                  "placed_on": "2026-01-01"}
    t = trajectory(
        store,
        call("search_customers", {"email": "ann@example.org"}, {"records": [{"id": "CUS-000001", "name": "Ann"}]}),
        call("place_order", order_args, error="product PRD-000002 has 0 in stock; needs 1"),
        call("place_order", order_args, {"id": "ORD-000010", "status": "pending"}),
        call("execute_code", {"code": "x = 1\n\ny = 2\nprint(x + y)\n"}, {"stdout": "3"}, server="sandbox"),
    )
    # c(a) = 1 + 0.25 args + 1.0 bound + 1.0 writes + 0.1 code lines + 1.0 recovers
    expected = [
        1 + 0.25 * 1,  # a read with one argument, nothing earlier to bind to
        1 + 0.25 * 5 + 1.0 * 1 + 1.0,  # customer_id bound to the search's result; a write (that failed)
        1 + 0.25 * 5 + 1.0 * 1 + 1.0 + 1.0,  # the same write succeeding after the failure: a recovery
        1 + 0.25 * 1 + 0.1 * 3,  # three non-blank lines of code
    ]
    assert action_complexities(t, store) == pytest.approx(expected)
    assert measure(t, store).cac == pytest.approx(sum(expected)) == pytest.approx(12.3)
    heavy = ComplexityWeights(arg=0, dep=0, write=0, code_line=1.0, recover=0)
    assert action_complexities(t, store, heavy) == pytest.approx([1, 1, 1, 4])


def test_measure_reads_domains_paths_and_patterns_from_the_calls(cross: ClusterSpec, store: ClusterSpec) -> None:
    _, t = _mode_examples(store, cross)["cross_domain"]
    m = measure(t, cross)
    assert m.domains == ("car_rental", "hotel")
    assert m.path == ("car_rental.get_branch", "hotel.search_hotels")
    assert m.pattern == ("get:branch", "search:hotel")
    assert m.mode == "cross_domain"


# --- the tracker ------------------------------------------------------------------------------------------------
def test_the_tracker_reports_cumulative_and_per_round_metrics(store: ClusterSpec, cross: ClusterSpec) -> None:
    examples = _mode_examples(store, cross)
    tracker = MetricsTracker(domains=["online_store", "car_rental", "hotel", "airline"])
    for mode in ("lookup", "sequential_chain", "cross_domain"):
        cluster, t = examples[mode]
        tracker.add(t.model_copy(update={"id": mode}), cluster)
    tracker.reject(store)
    r1 = tracker.end_round()
    assert (r1.round, r1.accepted, r1.rejected, r1.round_accepted) == (1, 3, 1, 3)
    # the cross-domain trajectory gives half its mass to each of its two domains
    assert r1.domain_counts == {"car_rental": 0.5, "hotel": 0.5, "online_store": 2.0}
    assert r1.domain_entropy == pytest.approx(entropy({"a": 0.5, "b": 0.5, "c": 2.0}))
    assert r1.domain_entropy_norm == pytest.approx(r1.domain_entropy / math.log(4))
    assert r1.mode_entropy_norm == pytest.approx(math.log(3) / math.log(8))
    assert r1.distinct_paths == 3
    assert r1.tools_available == len(store.tools) + len(cross.tools)
    assert r1.tool_coverage == pytest.approx(r1.tools_used / r1.tools_available)
    cac1 = r1.cac

    cluster, t = examples["parallel_fanout"]
    tracker.add(t.model_copy(update={"id": "fan"}), cluster)
    tracker.add(t.model_copy(update={"id": "fan"}), cluster)  # a duplicate id (after a resume) counts once
    tracker.reject()
    r2 = tracker.end_round()
    assert (r2.round, r2.accepted, r2.rejected, r2.round_accepted, r2.round_rejected) == (2, 4, 2, 1, 1)
    assert r2.cac == pytest.approx(cac1 + r2.round_cac)
    assert r2.cac_mean == pytest.approx(r2.cac / 4)
    assert r2.round_new_paths == 1 and r2.distinct_paths == 4
    assert r2.mode_counts == {"cross_domain": 1, "lookup": 1, "parallel_fanout": 1, "sequential_chain": 1}
    assert tracker.history == [r1, r2]


# --- feasibility ------------------------------------------------------------------------------------------------
def test_a_whole_domain_supports_every_single_domain_mode(store: ClusterSpec, indexes: Indexes) -> None:
    assert feasible_modes(store, indexes) == set(REASONING_MODES) - {"cross_domain"}


def test_a_two_domain_cluster_supports_cross_domain(cross: ClusterSpec, indexes: Indexes) -> None:
    assert "cross_domain" in feasible_modes(cross, indexes)


def test_a_search_and_a_get_support_only_reads_and_code(indexes: Indexes) -> None:
    small = make_cluster(indexes, {"online_store": ["search_products", "get_product"]}, seed=0)
    assert feasible_modes(small, indexes) == {"lookup", "clarification", "code_aggregation"}


def test_a_policy_makes_error_recovery_feasible(indexes: Indexes) -> None:
    base = make_cluster(indexes, {"online_store": ["search_products", "get_product", "restock_product"]}, seed=0)
    assert "error_recovery" not in feasible_modes(base, indexes)
    child = mutate(base, indexes, random.Random(0), operator="add_policy")
    assert child is not None and child.policies
    assert "error_recovery" in feasible_modes(child, indexes)


def test_every_generated_cluster_supports_at_least_one_mode(pool: list[ClusterSpec], indexes: Indexes) -> None:
    for c in pool:
        modes = feasible_modes(c, indexes)
        assert modes, c.id
        assert ("cross_domain" in modes) == (len(c.domains) == 2)
