"""What each operation kind, precondition and effect does, through the real MCP client in process."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import pytest
from mcp import Client

from tdscaling.servers import (
    Catalog,
    ClusterRuntime,
    Policy,
    Templates,
    domain_cluster,
    parse_domain,
)
from tdscaling.servers._spec import Compare

pytestmark = pytest.mark.anyio

BANK: dict[str, Any] = {
    "name": "test_bank", "title": "Test bank", "category": "finance",
    "description": "A small bank whose operations use every precondition and effect kind.",
    "entities": {
        "account": {
            "description": "An account.", "id_prefix": "ACC",
            "fields": {
                "owner": {"type": "string", "faker": "name"},
                "email": {"type": "string", "faker": "email", "unique": True},
                "balance": {"type": "money", "min": 0, "max": 1000},
                "points": {"type": "integer", "min": 0, "max": 50},
                "opened_at": {"type": "datetime", "required": False},
                "status": {"type": "enum", "values": ["active", "frozen", "closed"]},
            },
            "state_machine": {"initial": "active", "states": ["active", "frozen", "closed"], "transitions": [
                {"name": "freeze", "from": ["active"], "to": "frozen"},
                {"name": "unfreeze", "from": ["frozen"], "to": "active"},
                {"name": "close", "from": ["active", "frozen"], "to": "closed"}]},
        },
        "payment": {
            "description": "A payment from an account.", "id_prefix": "PAY",
            "fields": {
                "account_id": {"type": "ref", "ref": "account"},
                "amount": {"type": "money", "min": 1, "max": 500},
                "status": {"type": "enum", "values": ["pending", "settled", "refunded"]},
            },
            "state_machine": {"initial": "pending", "states": ["pending", "settled", "refunded"], "transitions": [
                {"name": "settle", "from": ["pending"], "to": "settled"},
                {"name": "refund", "from": ["settled"], "to": "refunded"}]},
        },
        "refund": {
            "description": "Money returned for a payment.", "id_prefix": "REF",
            "fields": {"payment_id": {"type": "ref", "ref": "payment"}, "amount": {"type": "money"}},
        },
    },
    "operations": [
        {"name": "get_account", "kind": "get", "entity": "account", "description": "Look up one account."},
        {"name": "search_accounts", "kind": "search", "entity": "account", "description": "Find accounts.",
         "fields": ["owner", "email", "status", "balance", "opened_at"]},
        {"name": "open_account", "kind": "create", "entity": "account", "description": "Open an account.",
         "fields": ["owner", "email", "balance", "points", "opened_at"],
         "preconditions": [{"kind": "unique", "field": "email", "message": "this e-mail already has an account"}]},
        {"name": "update_account", "kind": "update", "entity": "account", "description": "Change an account.",
         "fields": ["owner", "points", "email"],
         "preconditions": [{"kind": "state", "states": ["active"], "message": "only active accounts change"}]},
        {"name": "freeze_account", "kind": "transition", "entity": "account", "transition": "freeze",
         "description": "Freeze an account."},
        {"name": "close_account", "kind": "transition", "entity": "account", "transition": "close",
         "description": "Close an account.",
         "preconditions": [{"kind": "no_dependents", "entity": "payment", "ref_field": "account_id",
                            "states": ["pending"], "message": "settle its pending payments first"}]},
        {"name": "delete_account", "kind": "delete", "entity": "account", "description": "Erase an account.",
         "preconditions": [{"kind": "state", "states": ["closed"]}]},
        {"name": "move_points", "kind": "transfer", "entity": "account", "quantity_field": "points",
         "description": "Move loyalty points.", "preconditions": [{"kind": "state", "states": ["active"]}]},
        {"name": "move_money", "kind": "transfer", "entity": "account", "quantity_field": "balance",
         "description": "Move money between accounts."},
        {"name": "pay", "kind": "create", "entity": "payment", "description": "Pay from an account.",
         "fields": ["account_id", "amount"],
         "preconditions": [
             {"kind": "ref_state", "param": "account_id", "states": ["active"], "message": "the account is not open"},
             {"kind": "sufficient", "param": "account_id", "field": "balance", "amount": "amount",
              "message": "not enough money"}],
         "effects": [{"kind": "adjust", "param": "account_id", "field": "balance", "by": "amount", "sign": -1}]},
        {"name": "charge_fee", "kind": "create", "entity": "payment", "description": "Charge a fee to an account.",
         "fields": ["account_id", "amount"],
         "effects": [{"kind": "adjust", "param": "account_id", "field": "balance", "by": "amount", "sign": -1}]},
        {"name": "settle_payment", "kind": "transition", "entity": "payment", "transition": "settle",
         "description": "Settle a payment."},
        {"name": "get_payment", "kind": "get", "entity": "payment", "description": "Look up one payment."},
        {"name": "search_payments", "kind": "search", "entity": "payment", "description": "Find payments.",
         "fields": ["account_id", "status", "amount"]},
        {"name": "refund_payment", "kind": "create", "entity": "refund", "description": "Refund a payment.",
         "fields": ["payment_id", "amount"],
         "preconditions": [
             {"kind": "ref_state", "param": "payment_id", "states": ["settled"]},
             {"kind": "compare", "param": "amount", "op": "<=", "ref_param": "payment_id", "field": "amount",
              "message": "cannot refund more than was paid"},
             {"kind": "compare", "param": "amount", "op": "<=", "value": 400}],
         "effects": [{"kind": "fire", "param": "payment_id", "transition": "refund"}]},
        {"name": "payment_stats", "kind": "aggregate", "entity": "payment", "description": "Payment statistics.",
         "fields": ["account_id", "status", "amount"], "measures": ["amount"]},
    ],
}


@pytest.fixture(scope="module")
def bank_catalog() -> Catalog:
    return Catalog([parse_domain(BANK, source="test_bank")])


@pytest.fixture
def bank(bank_catalog: Catalog) -> ClusterRuntime:
    return ClusterRuntime(domain_cluster(bank_catalog.get("test_bank")), bank_catalog, rows=30)


@pytest.fixture
def store_rt(catalog: Catalog, templates: Templates) -> ClusterRuntime:
    return ClusterRuntime(domain_cluster(catalog.get("online_store")), catalog, templates=templates)


def _text(r: Any) -> str:
    return str(r.content[0].text)


def _first(rt: ClusterRuntime, table: str, **match: Any) -> dict[str, Any]:
    return next(r for r in rt.store.rows(table) if all(r[k] == v for k, v in match.items()))


async def _fails(c: Client, rt: ClusterRuntime, tool: str, args: dict[str, Any], *needles: str) -> str:
    """The call fails with an isError naming every needle, and changes nothing."""
    before = rt.store.state_hash()
    r = await c.call_tool(tool, args)
    assert r.is_error, (tool, args, r.structured_content)
    text = _text(r)
    for n in needles:
        assert n in text, (n, text)
    assert "Internal error" not in text
    assert rt.store.state_hash() == before
    return text


async def test_an_order_goes_from_creation_to_delivery_and_the_statistics_follow(store_rt: ClusterRuntime) -> None:
    rt = store_rt
    customer = _first(rt, "online_store__customer", status="active")
    product = max(rt.store.rows("online_store__product"), key=lambda r: r["stock"])
    async with Client(rt.server) as c:
        delivered = (await c.call_tool("order_statistics", {"function": "count", "status": "delivered"}))
        before = delivered.structured_content["matched"]  # type: ignore[index]
        r = await c.call_tool("place_order", {"customer_id": customer["id"], "product_id": product["id"],
                                              "quantity": 2, "total": 19.99, "placed_on": "2026-06-01"})
        order = r.structured_content
        assert not r.is_error and order is not None
        assert order["id"] == "ORD-000061" and order["status"] == "pending" and order["total"] == 19.99
        assert rt.store.get("online_store__product", product["id"])["stock"] == product["stock"] - 2  # type: ignore[index]
        got = await c.call_tool("get_order", {"order_id": order["id"]})
        assert got.structured_content == order
        for tool, extra, state in (("pay_order", {}, "paid"), ("ship_order", {"tracking_number": "1Z999"}, "shipped"),
                                   ("mark_order_delivered", {}, "delivered")):
            r = await c.call_tool(tool, {"order_id": order["id"], **extra})
            assert not r.is_error and r.structured_content["status"] == state  # type: ignore[index]
        assert rt.store.get("online_store__order", order["id"])["tracking_number"] == "1Z999"  # type: ignore[index]
        after = await c.call_tool("order_statistics", {"function": "count", "status": "delivered"})
        assert after.structured_content["matched"] == before + 1  # type: ignore[index]
        mine = await c.call_tool("search_orders", {"customer_id": customer["id"], "status": "delivered"})
        assert order["id"] in [o["id"] for o in mine.structured_content["records"]]  # type: ignore[index]


@pytest.mark.parametrize("name", Catalog.load().names())
async def test_a_created_record_can_be_read_moved_and_counted_in_its_new_state(
        name: str, catalog: Catalog, templates: Templates, arg_maker: Any) -> None:
    """create -> get -> transition -> search/aggregate, wherever a domain has that chain."""
    rt = ClusterRuntime(domain_cluster(catalog.get(name)), catalog, templates=templates)
    maker = arg_maker(rt)
    tools = {t.name: maker.specs[t.name][1] for t in rt.cluster.tools}
    chains = [(c, t) for c in tools.values() for t in tools.values() if c.kind == "create" and t.kind == "transition"
              and t.entity == c.entity and set(c.outputs.states) & set(t.source_states)]
    if not chains:
        pytest.skip(f"{name} has no create followed by a transition of the same entity")
    create, move = chains[0]
    get = next((t for t in tools.values() if t.kind == "get" and t.entity == create.entity), None)
    count = next((t for t in tools.values() if t.kind in ("aggregate", "search") and t.entity == create.entity), None)
    async with Client(rt.server) as c:
        for args in maker.candidates(create.name):
            made = await c.call_tool(create.name, args)
            if not made.is_error:
                break
        assert not made.is_error, _text(made)
        rec = made.structured_content
        assert rec is not None
        id_param = f"{create.entity}_id"
        if get is not None:
            assert (await c.call_tool(get.name, {id_param: rec["id"]})).structured_content == rec
        args = {p.name: v for p, v in zip(move.inputs, [rec["id"]], strict=False)}
        extra = maker.candidates(move.name)[0]
        args.update({k: v for k, v in extra.items() if k != id_param})
        moved = await c.call_tool(move.name, args)
        assert not moved.is_error, _text(moved)
        target = move.outputs.states[0]
        sm = catalog.get(name).entities[create.entity].state_machine
        assert sm is not None and moved.structured_content[sm.field] == target  # type: ignore[index]
        assert rt.store.get(f"{name}__{create.entity}", rec["id"])[sm.field] == target  # type: ignore[index]
        if count is not None and count.param(sm.field) is not None:
            found = await c.call_tool(count.name, {sm.field: target, **({"function": "count"} if count.kind ==
                                                                         "aggregate" else {"limit": 100})})
            expected = sum(r[sm.field] == target for r in rt.store.rows(f"{name}__{create.entity}"))
            key = "matched" if count.kind == "aggregate" else "total"
            assert found.structured_content[key] == expected  # type: ignore[index]


async def test_get_of_an_unknown_id_names_it_and_suggests_the_search_tool(store_rt: ClusterRuntime) -> None:
    async with Client(store_rt.server) as c:
        await _fails(c, store_rt, "get_order", {"order_id": "ORD-999999"}, "ORD-999999", "search_orders")


async def test_search_filters_pages_and_keeps_a_stable_order(store_rt: ClusterRuntime) -> None:
    rows = store_rt.store.rows("online_store__order")
    paid = [r["id"] for r in rows if r["status"] == "paid"]
    async with Client(store_rt.server) as c:
        first = (await c.call_tool("search_orders", {"status": "paid", "limit": 3})).structured_content
        assert first is not None and first["total"] == len(paid) and first["next_offset"] == 3
        ids = [r["id"] for r in first["records"]]
        offset: int | None = first["next_offset"]
        while offset is not None:
            page = (await c.call_tool("search_orders", {"status": "paid", "limit": 3, "offset": offset}))
            assert page.structured_content is not None
            ids += [r["id"] for r in page.structured_content["records"]]
            offset = page.structured_content["next_offset"]
        assert ids == sorted(paid)
        everything = (await c.call_tool("search_orders", {})).structured_content
        assert everything is not None and len(everything["records"]) == 20 and everything["total"] == len(rows)
        lo, hi = 100, 900
        ranged = (await c.call_tool("search_orders", {"total_min": lo, "total_max": hi, "limit": 100}))
        assert [r["id"] for r in ranged.structured_content["records"]] == [  # type: ignore[index]
            r["id"] for r in rows if lo <= r["total"] <= hi]
        name = store_rt.store.rows("online_store__customer")[0]["name"]
        word = name.split()[0][1:].upper()
        people = (await c.call_tool("search_customers", {"name": word, "limit": 100})).structured_content
        assert people is not None and people["total"] >= 1
        assert all(word.lower() in r["name"].lower() for r in people["records"])


async def test_create_checks_references_and_unique_values_and_numbers_ids_after_the_seeded_ones(
        bank: ClusterRuntime) -> None:
    async with Client(bank.server) as c:
        r = await c.call_tool("open_account", {"owner": "Ada", "email": "ada@example.org", "balance": 10.1,
                                               "points": 3, "opened_at": "2026-05-01T09:30:00+02:00"})
        acc = r.structured_content
        assert not r.is_error and acc is not None
        assert acc["id"] == "ACC-000031" and acc["status"] == "active" and acc["opened_at"] == "2026-05-01T07:30:00"
        await _fails(c, bank, "open_account", {"owner": "Bob", "email": "ada@example.org", "balance": 1,
                                               "points": 1}, "This e-mail already has an account", acc["id"])
        await _fails(c, bank, "pay", {"account_id": "ACC-000999", "amount": 1}, "ACC-000999", "search_accounts")
        await _fails(c, bank, "open_account", {"owner": "Bob", "email": "b@example.org", "balance": 1, "points": 1,
                                               "opened_at": "2026-02-30T10:00:00"}, "opened_at", "not a real")


async def test_update_needs_a_field_and_says_which_ones_may_change(bank: ClusterRuntime) -> None:
    acc = _first(bank, "test_bank__account", status="active")
    async with Client(bank.server) as c:
        await _fails(c, bank, "update_account", {"account_id": acc["id"]}, "owner", "points", "email")
        r = await c.call_tool("update_account", {"account_id": acc["id"], "points": 7})
        assert r.structured_content == {**acc, "points": 7}
        other = next(a for a in bank.store.rows("test_bank__account") if a["id"] != acc["id"])
        await _fails(c, bank, "update_account", {"account_id": acc["id"], "email": other["email"]}, other["id"])


async def test_an_illegal_transition_names_the_current_state_and_the_states_it_may_move_from(
        store_rt: ClusterRuntime) -> None:
    shipped = _first(store_rt, "online_store__order", status="shipped")
    async with Client(store_rt.server) as c:
        text = await _fails(c, store_rt, "pay_order", {"order_id": shipped["id"]}, "'shipped'", "'pending'")
        assert "mark_order_delivered" in text


async def test_delete_removes_the_record_and_a_second_delete_says_it_is_gone(bank: ClusterRuntime) -> None:
    closed = _first(bank, "test_bank__account", status="closed")
    active = _first(bank, "test_bank__account", status="active")
    async with Client(bank.server) as c:
        await _fails(c, bank, "delete_account", {"account_id": active["id"]}, "'active'", "'closed'")
        r = await c.call_tool("delete_account", {"account_id": closed["id"]})
        assert r.structured_content == {"id": closed["id"], "deleted": True}
        assert bank.store.get("test_bank__account", closed["id"]) is None
        await _fails(c, bank, "get_account", {"account_id": closed["id"]}, closed["id"])


async def test_aggregates_match_a_computation_over_the_rows_with_money_in_cents(bank: ClusterRuntime) -> None:
    pays = [r for r in bank.store.rows("test_bank__payment") if r["status"] == "settled"]
    cents = [Decimal(str(r["amount"])) for r in pays]
    expected = {"count": len(pays), "sum": float(sum(cents)), "min": float(min(cents)), "max": float(max(cents)),
                "avg": float((sum(cents) / len(cents)).quantize(Decimal("0.01")))}
    async with Client(bank.server) as c:
        for fn, value in expected.items():
            r = await c.call_tool("payment_stats", {"function": fn, "measure": "amount", "status": "settled"})
            out = r.structured_content
            assert out is not None and out["matched"] == len(pays)
            assert out["value"] == pytest.approx(value, abs=1e-9), fn
        await _fails(c, bank, "payment_stats", {"function": "sum"}, "measure", "amount")
        none = await c.call_tool("payment_stats", {"function": "max", "measure": "amount", "amount_min": 10_000})
        assert none.structured_content == {"function": "max", "measure": "amount", "value": None, "matched": 0}


async def test_a_transfer_moves_exact_amounts_atomically_and_never_below_zero(bank: ClusterRuntime) -> None:
    a, b = [r for r in bank.store.rows("test_bank__account") if r["status"] == "active"][:2]
    async with Client(bank.server) as c:
        r = await c.call_tool("move_money", {"from_account_id": a["id"], "to_account_id": b["id"], "amount": 0.1})
        out = r.structured_content
        assert out is not None
        assert Decimal(str(out["from"]["balance"])) == Decimal(str(a["balance"])) - Decimal("0.1")
        assert Decimal(str(out["to"]["balance"])) == Decimal(str(b["balance"])) + Decimal("0.1")
        await _fails(c, bank, "move_money", {"from_account_id": a["id"], "to_account_id": b["id"],
                                             "amount": out["from"]["balance"] + 0.01}, a["id"], "Nothing was moved")
        await _fails(c, bank, "move_money", {"from_account_id": a["id"], "to_account_id": a["id"], "amount": 1},
                     "different")
        await _fails(c, bank, "move_money", {"from_account_id": a["id"], "to_account_id": b["id"], "amount": 0},
                     "amount", "greater than 0")
        frozen = _first(bank, "test_bank__account", status="frozen")
        await _fails(c, bank, "move_points", {"from_account_id": frozen["id"], "to_account_id": a["id"],
                                              "amount": 1}, frozen["id"], "'frozen'", "'active'")


async def test_each_precondition_kind_fails_with_the_facts_an_agent_needs(bank: ClusterRuntime) -> None:
    frozen = _first(bank, "test_bank__account", status="frozen")
    rich = next(r for r in bank.store.rows("test_bank__account") if r["status"] == "active" and r["balance"] < 400)
    pending = _first(bank, "test_bank__payment", status="pending")
    settled = next(r for r in bank.store.rows("test_bank__payment") if r["status"] == "settled" and r["amount"] < 399)
    owner = _first(bank, "test_bank__account", id=pending["account_id"])
    async with Client(bank.server) as c:
        # ref_state
        await _fails(c, bank, "pay", {"account_id": frozen["id"], "amount": 1}, "The account is not open",
                     "'frozen'", "'active'")
        # sufficient
        await _fails(c, bank, "pay", {"account_id": rich["id"], "amount": rich["balance"] + 1}, "Not enough money",
                     str(rich["balance"]).rstrip("0").rstrip("."))
        # state (a SelfState on update)
        await _fails(c, bank, "update_account", {"account_id": frozen["id"], "points": 1}, "Only active accounts",
                     "'frozen'")
        # compare against another record's field, and against a constant
        await _fails(c, bank, "refund_payment", {"payment_id": settled["id"], "amount": settled["amount"] + 1},
                     "Cannot refund more than was paid", settled["id"])
        await _fails(c, bank, "refund_payment", {"payment_id": pending["id"], "amount": 1}, "'pending'",
                     "'settled'")
        big = next(r for r in bank.store.rows("test_bank__payment") if r["status"] == "settled" and r["amount"] > 401)
        await _fails(c, bank, "refund_payment", {"payment_id": big["id"], "amount": 401}, "401", "<= 400")
        # no_dependents
        if owner["status"] != "closed":
            await _fails(c, bank, "close_account", {"account_id": owner["id"]}, "Settle its pending payments",
                         pending["id"])
        # unique: above; the effect "fire" is guarded too: refunding a settled payment moves it
        r = await c.call_tool("refund_payment", {"payment_id": settled["id"], "amount": settled["amount"]})
        assert not r.is_error, _text(r)
        assert bank.store.get("test_bank__payment", settled["id"])["status"] == "refunded"  # type: ignore[index]


async def test_an_adjust_effect_applies_with_the_call_or_not_at_all(bank: ClusterRuntime) -> None:
    acc = max((r for r in bank.store.rows("test_bank__account") if r["status"] == "active"),
              key=lambda r: r["balance"])
    poor = next(r for r in bank.store.rows("test_bank__account") if r["balance"] < 400)
    async with Client(bank.server) as c:
        r = await c.call_tool("charge_fee", {"account_id": acc["id"], "amount": 1.3})
        assert not r.is_error
        after = bank.store.get("test_bank__account", acc["id"])
        assert after is not None and Decimal(str(after["balance"])) == Decimal(str(acc["balance"])) - Decimal("1.3")
        await _fails(c, bank, "charge_fee", {"account_id": poor["id"], "amount": poor["balance"] + 1},
                     poor["id"], "below zero")


async def test_a_cluster_policy_adds_a_precondition_to_its_tool(bank_catalog: Catalog) -> None:
    base = domain_cluster(bank_catalog.get("test_bank"))
    capped = base.model_copy(update={"policies": [Policy(tool="pay", precondition=Compare(
        param="amount", op="<=", value=5, message="payments above 5 need approval"))]})
    rt = ClusterRuntime(capped, bank_catalog, rows=30)
    acc = max((r for r in rt.store.rows("test_bank__account") if r["status"] == "active"), key=lambda r: r["balance"])
    async with Client(rt.server) as c:
        tool = next(t for t in (await c.list_tools()).tools if t.name == "pay")
        assert "payments above 5 need approval" in (tool.description or "")
        await _fails(c, rt, "pay", {"account_id": acc["id"], "amount": 6}, "Payments above 5 need approval")
        assert not (await c.call_tool("pay", {"account_id": acc["id"], "amount": 5})).is_error


async def test_arguments_are_checked_against_the_schema_before_anything_runs(store_rt: ClusterRuntime) -> None:
    async with Client(store_rt.server) as c:
        await _fails(c, store_rt, "place_order", {"customer_id": "CUS-000001"},
                     "Missing required argument 'product_id'", "such as PRD-000123")
        await _fails(c, store_rt, "search_orders", {"status": "lost"}, "'status'", '"pending"')
        await _fails(c, store_rt, "search_orders", {"limit": 1000}, "'limit'", "from 1 to 100")
        await _fails(c, store_rt, "get_order", {"order_id": 12}, "'order_id'", "ORD-000123")
        await _fails(c, store_rt, "get_order", {"order_id": "ORD-000001", "verbose": True},
                     "Unknown argument 'verbose'")
        await _fails(c, store_rt, "no_such_tool", {}, "Unknown tool", "get_order")


async def test_a_bug_in_the_server_is_logged_and_reported_as_an_internal_error(
        store_rt: ClusterRuntime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from tdscaling.servers import _semantics

    def broken(self: object, call: object) -> dict[str, Any]:
        raise ZeroDivisionError("secret detail 42")

    monkeypatch.setattr(_semantics.GetSemantics, "apply", broken)
    with caplog.at_level(logging.ERROR):
        async with Client(store_rt.server, mode="legacy") as c:
            r = await c.call_tool("get_order", {"order_id": "ORD-000001"})
            assert r.is_error and "Internal error" in _text(r) and "bug in the server" in _text(r)
            assert "secret detail 42" not in _text(r)
            assert not (await c.call_tool("search_customers", {"limit": 1})).is_error  # still serving
    assert any(rec.exc_info and rec.exc_info[0] is ZeroDivisionError for rec in caplog.records)


async def test_results_carry_the_same_json_as_text_and_structured_content(store_rt: ClusterRuntime) -> None:
    async with Client(store_rt.server) as c:
        r = await c.call_tool("order_statistics", {"function": "avg", "measure": "total"})
        assert json.loads(_text(r)) == r.structured_content
        value = r.structured_content["value"]  # type: ignore[index]
        assert round(value, 2) == value


async def test_money_takes_whole_cents_so_transfers_neither_create_nor_lose_money(bank: ClusterRuntime) -> None:
    a, b = [r for r in bank.store.rows("test_bank__account") if r["status"] == "active"][:2]

    def total() -> Decimal:
        return sum((Decimal(str(r["balance"])) for r in bank.store.rows("test_bank__account")), Decimal(0))

    before = total()
    async with Client(bank.server) as c:
        for amount in (0.005, 0.004, 1.001):
            await _fails(c, bank, "move_money", {"from_account_id": a["id"], "to_account_id": b["id"],
                                                 "amount": amount}, "'amount'", "at most 2 decimals (cents)")
        await _fails(c, bank, "pay", {"account_id": a["id"], "amount": 1.015}, "'amount'", "at most 2 decimals")
        await _fails(c, bank, "open_account", {"owner": "Cy", "email": "cy@example.org", "balance": 10.001,
                                               "points": 1}, "'balance'", "at most 2 decimals")
        await _fails(c, bank, "search_accounts", {"balance_min": 0.001}, "'balance_min'", "at most 2 decimals")
        for _ in range(3):
            r = await c.call_tool("move_money", {"from_account_id": a["id"], "to_account_id": b["id"],
                                                 "amount": 0.01})
            assert not r.is_error, _text(r)
    assert total() == before
    moved = bank.store.get("test_bank__account", a["id"])
    assert moved is not None and Decimal(str(moved["balance"])) == Decimal(str(a["balance"])) - Decimal("0.03")


@pytest.mark.parametrize("name", ["ev_charging", "electric_utility", "fleet_maintenance", "parcel_delivery"])
def test_aggregates_over_number_fields_show_no_float_noise(name: str, catalog: Catalog, templates: Templates) -> None:
    rt = ClusterRuntime(domain_cluster(catalog.get(name)), catalog, templates=templates)
    checked = 0
    for t in rt.cluster.tools:
        if t.kind != "aggregate":
            continue
        entity = catalog.get(name).entities[t.entity]
        for m in t.input_schema["properties"].get("measure", {}).get("enum", []):
            if entity.fields[m].type != "number":
                continue
            values = [Decimal(str(r[m])) for r in rt.store.rows(f"{name}__{t.entity}") if r[m] is not None]
            r = rt.call(t.name, {"function": "sum", "measure": m})
            assert r.structured_content is not None
            assert Decimal(str(r.structured_content["value"])) == sum(values, Decimal(0)), (t.name, m)
            checked += 1
    assert checked
