"""Bad input never hurts a server: an isError (or a protocol error), the state unchanged, still serving."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from tdscaling.servers import Catalog, ClusterRuntime, Templates, domain_cluster

pytestmark = pytest.mark.anyio

NESTED: Any = "x"
for _ in range(120):  # as deep as the client can serialise; deeper nesting is sent raw over stdio
    NESTED = [NESTED]

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("get_order", {"order_id": 123}, "'order_id'"),
    ("get_order", {"order_id": None}, "'order_id'"),
    ("get_order", {}, "Missing required argument 'order_id'"),
    ("get_order", {"order_id": "ORD-000001", "extra": 1}, "Unknown argument 'extra'"),
    ("search_customers", {"name": "x" * 10_000_000}, "a string of 10000000 characters"),
    ("search_customers", {"name": NESTED}, "a JSON array"),
    ("get_order", {"order_id": {"$gt": ""}}, "a JSON object"),
    ("place_order", {"customer_id": "CUS-000001", "product_id": "PRD-000001", "quantity": 1.5, "total": 1,
                     "placed_on": "2026-06-01"}, "'quantity'"),
    ("place_order", {"customer_id": "CUS-000001", "product_id": "PRD-000001", "quantity": 1, "total": "1",
                     "placed_on": "yesterday"}, "'total'"),
    ("search_orders", {"limit": -1, "offset": -5}, "'limit'"),
    ("nope", {"order_id": "ORD-000001"}, "Unknown tool 'nope'"),
    ("create_customer", {"name": "A\ud800b", "email": "s@example.org", "city": "Oslo", "tier": "gold"},
     "Argument 'name' holds a lone surrogate (\\ud800)"),
    ("search_customers", {"city": "\udcff"}, "Argument 'city' holds a lone surrogate"),
    ("search_customers", {"\ud800": 1}, "Unknown argument '"),  # the auto-mode client replaces it on the way
    ("x" * 100_000, {}, "Unknown tool"),
]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_bad_arguments_get_an_error_naming_the_problem_and_change_nothing(
        mode: str, catalog: Catalog, templates: Templates) -> None:
    rt = ClusterRuntime(domain_cluster(catalog.get("online_store")), catalog, templates=templates)
    before = rt.store.state_hash()
    async with Client(rt.server, mode=mode) as c:  # type: ignore[arg-type]
        for tool, args, needle in BAD:
            r = await c.call_tool(tool, args)
            text = r.content[0].text  # type: ignore[union-attr]
            assert r.is_error and needle in text and len(text) < 2000, (tool, needle, text[:300])
        assert rt.store.state_hash() == before
        ok = await c.call_tool("get_order", {"order_id": "ORD-000001"})
        assert not ok.is_error


NUMBERS: list[tuple[str, str, dict[str, Any], str]] = [
    ("retail_bank", "transfer_funds", {"from_account_id": "ACC-000001", "to_account_id": "ACC-000002",
                                       "amount": float("nan")}, "Argument 'amount' is NaN; it must be a finite number"),
    ("retail_bank", "transfer_funds", {"from_account_id": "ACC-000001", "to_account_id": "ACC-000002",
                                       "amount": float("inf")}, "'amount' is Infinity"),
    ("online_store", "search_orders", {"offset": 10**30}, "'offset'"),
    ("online_store", "search_orders", {"total_max": 1e20}, "'total_max' is 1e+20"),
    ("online_store", "search_orders", {"total_min": float("nan")}, "'total_min' is NaN"),
    ("online_store", "search_orders", {"quantity_min": 10**25}, "'quantity_min'"),
    ("online_store", "place_order", {"customer_id": "CUS-000001", "product_id": "PRD-000001", "quantity": 1,
                                     "total": float("nan"), "placed_on": "2026-06-01"}, "'total' is NaN"),
    ("ev_charging", "add_vehicle", {"driver_id": "DRV-000001", "vin": "1HGCM82633A004352", "plate": "ABC123",
                                    "model": "Model Y", "battery_kwh": float("nan"), "connector": "ccs1"},
     "'battery_kwh' is NaN"),
    ("ev_charging", "add_vehicle", {"driver_id": "DRV-000001", "vin": "1HGCM82633A004352", "plate": "ABC123",
                                    "model": "Model Y", "battery_kwh": -1e300, "connector": "ccs1"}, "'battery_kwh'"),
]


@pytest.mark.parametrize(("domain", "tool", "args", "needle"), NUMBERS, ids=[f"{n[1]}-{n[3]}" for n in NUMBERS])
def test_non_finite_and_huge_numbers_are_refused_naming_the_argument(
        domain: str, tool: str, args: dict[str, Any], needle: str, catalog: Catalog, templates: Templates) -> None:
    rt = ClusterRuntime(domain_cluster(catalog.get(domain)), catalog, templates=templates)
    before = rt.store.state_hash()
    r = rt.call(tool, args)
    text = r.content[0].text  # type: ignore[union-attr]
    assert r.is_error and needle in text and "Internal error" not in text, text
    assert rt.store.state_hash() == before


def test_search_offsets_have_a_documented_maximum(catalog: Catalog, templates: Templates) -> None:
    rt = ClusterRuntime(domain_cluster(catalog.get("online_store")), catalog, templates=templates)
    offset = next(t for t in rt.tools() if t.name == "search_orders").input_schema["properties"]["offset"]
    assert offset["maximum"] == 1_000_000
    r = rt.call("search_orders", {"offset": 1_000_000})
    assert not r.is_error and r.structured_content == {"records": [], "total": 60, "next_offset": None}
