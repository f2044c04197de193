"""``tdscaling serve --transport http``: real subprocesses, real clients, real HTTP."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

pytestmark = pytest.mark.anyio

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def test_an_http_server_without_a_token_serves_loopback_clients_and_refuses_foreign_hosts(
        http_server: Any) -> None:
    async with http_server("online_store", "--db", ":memory:") as (url, _):
        async with Client(url) as c:
            tools = (await c.list_tools()).tools
            assert "get_order" in {t.name for t in tools}
            r = await c.call_tool("get_order", {"order_id": "ORD-000001"})
            assert not r.is_error and r.structured_content["id"] == "ORD-000001"  # type: ignore[index]
        async with httpx2.AsyncClient() as h:
            rebound = await h.post(url, json=INIT, headers={**HEADERS, "Host": "evil.example.com"})
            assert rebound.status_code == 421  # DNS-rebinding protection is on for loopback
            foreign = await h.post(url, json=INIT, headers={**HEADERS, "Origin": "http://evil.example.com"})
            assert foreign.status_code == 403


async def test_on_another_loopback_address_a_rebound_host_cannot_change_state(http_server: Any) -> None:
    async with http_server("online_store", "--db", ":memory:", "--host", "127.0.0.2") as (url, _):
        assert url.startswith("http://127.0.0.2:")
        customer = {"name": "Rebound", "email": "rebound@example.org", "city": "Oslo", "tier": "gold"}
        create = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                  "params": {"name": "create_customer", "arguments": customer}}
        async with httpx2.AsyncClient() as h:
            modern = {**HEADERS, "MCP-Protocol-Version": "2026-07-28"}
            assert (await h.post(url, json=create, headers={**modern, "Host": "evil.example.com"})).status_code == 421
            assert (await h.post(url, json=INIT, headers={**HEADERS, "Host": "evil.example.com"})).status_code == 421
            assert (await h.post(url, json=INIT, headers={**HEADERS, "Origin": "http://evil.example.com"})
                    ).status_code == 403
        async with Client(url) as c:
            found = await c.call_tool("search_customers", {"email": "rebound@example.org"})
            assert found.structured_content["total"] == 0  # type: ignore[index]


async def test_with_a_token_only_clients_that_send_it_get_in(http_server: Any) -> None:
    async with http_server("online_store", "--db", ":memory:", "--token", "s3cret") as (url, _):
        async with httpx2.AsyncClient() as h:
            assert (await h.post(url, json=INIT, headers=HEADERS)).status_code == 401
            wrong = await h.post(url, json=INIT, headers={**HEADERS, "Authorization": "Bearer nope"})
            assert wrong.status_code == 401
        http = httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret"})
        async with http, Client(streamable_http_client(url, http_client=http)) as c:
            r = await c.call_tool("search_orders", {"status": "paid", "limit": 1})
            assert not r.is_error and r.structured_content["total"] > 0  # type: ignore[index]


async def test_the_session_flags_cap_the_open_sessions_of_a_served_cluster(http_server: Any) -> None:
    async with http_server("online_store", "--db", ":memory:", "--max-http-sessions", "2") as (url, _):
        async with httpx2.AsyncClient() as h:
            opened = []
            for _ in range(4):
                r = await h.post(url, json=INIT, headers=HEADERS)
                assert r.status_code == 200, r.text  # never 503: the longest-idle session made room
                opened.append(r.headers["mcp-session-id"])
            ping = {"jsonrpc": "2.0", "id": 9, "method": "ping"}
            alive = [(await h.post(url, json=ping, headers={**HEADERS, "mcp-session-id": s,
                                                             "mcp-protocol-version": "2025-11-25"})).status_code
                     for s in opened]
        assert alive == [404, 404, 200, 200]


def test_binding_a_non_loopback_address_without_a_token_is_refused(cli: Any) -> None:
    r = cli("serve", "online_store", "--transport", "http", "--host", "0.0.0.0", "--db", ":memory:")
    assert r.returncode == 2
    assert "--token" in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


async def test_two_hundred_concurrent_calls_over_http_all_succeed_and_all_writes_land(http_server: Any) -> None:
    async with http_server("online_store", "--db", ":memory:") as (url, _):
        results: list[Any] = []

        async def session(k: int) -> None:
            async with Client(url) as c:
                async def one(i: int) -> None:
                    if i % 2:
                        results.append(await c.call_tool("create_customer", {
                            "name": f"Load {k}-{i}", "email": f"load{k}-{i}@example.org", "city": "Oslo",
                            "tier": "standard"}))
                    else:
                        results.append(await c.call_tool("search_orders", {"status": "paid", "limit": 5}))

                async with anyio.create_task_group() as tg:
                    for i in range(50):
                        tg.start_soon(one, i)

        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                for k in range(4):
                    tg.start_soon(session, k)
        assert len(results) == 200 and not [r for r in results if r.is_error]
        ids = {r.structured_content["id"] for r in results if "id" in (r.structured_content or {})}
        assert len(ids) == 100
        async with Client(url) as c:
            found = await c.call_tool("search_customers", {"city": "Oslo", "limit": 100})
            assert {x["id"] for x in found.structured_content["records"]} >= ids  # type: ignore[index]


async def test_every_acknowledged_write_survives_a_kill_9_of_a_file_backed_server(
        http_server: Any, tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite3"
    made: dict[str, Any] = {}
    async with http_server("online_store", "--db", str(db)) as (url, proc):
        async with Client(url) as c:
            for i in range(25):
                r = await c.call_tool("create_customer", {"name": f"Kept {i}", "email": f"kept{i}@example.org",
                                                          "city": "Bergen", "tier": "gold"})
                assert not r.is_error
                made[r.structured_content["id"]] = r.structured_content  # type: ignore[index]
            paid = await c.call_tool("pay_order", {"order_id": next(
                o["id"] for o in (await c.call_tool("search_orders", {"status": "pending", "limit": 1}))
                .structured_content["records"])})  # type: ignore[index]
            assert not paid.is_error
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    async with http_server("online_store", "--db", str(db)) as (url, _):
        async with Client(url) as c:
            for id_, rec in made.items():
                assert (await c.call_tool("get_customer", {"customer_id": id_})).structured_content == rec
            order = await c.call_tool("get_order", {"order_id": paid.structured_content["id"]})  # type: ignore[index]
            assert order.structured_content["status"] == "paid"  # type: ignore[index]
            count = await c.call_tool("search_customers", {"limit": 1})
            assert count.structured_content["total"] == 60 + 25  # type: ignore[index]  (not reseeded)
