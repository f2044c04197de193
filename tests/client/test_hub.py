"""The hub against real MCP servers: in process, a stdio subprocess, streamable HTTP."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import anyio
import pytest
from loopback import ThreadedServer, closed_port
from toy_servers import API_KEY, crm_server, http_app, shop_server, stdio_params

from tdscaling.client import (
    HttpServer,
    Hub,
    HubConfigError,
    InProcessServer,
    NamingPolicy,
    ServerConnectError,
    StdioServer,
)

pytestmark = pytest.mark.anyio


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def http_shop() -> Iterator[ThreadedServer]:
    server = ThreadedServer(http_app(), lifespan="on")
    server.start()
    yield server
    server.stop()


def _stdio(name: str = "files") -> StdioServer:
    return StdioServer(name, stdio_params())


async def test_an_in_process_server_lists_its_tools_and_answers_calls() -> None:
    async with Hub([InProcessServer("shop", shop_server())]) as hub:
        assert [t.name for t in hub.tools] == ["add", "echo", "weather", "refuse"]
        record = await hub.call("add", {"a": 2, "b": 40})
    assert record.text == "42"
    assert record.structured == {"result": 42}
    assert (record.server, record.tool, record.is_error, record.error_kind) == ("shop", "add", False, None)


async def test_a_stdio_server_runs_as_a_subprocess_that_is_gone_after_the_hub_closes() -> None:
    async with Hub([_stdio()]) as hub:
        pid = int((await hub.call("pid")).text)
        assert _process_exists(pid)
        assert (await hub.call("echo", {"text": "hi"})).text == "files:hi"
    assert not _process_exists(pid)


async def test_an_http_server_receives_the_configured_header(http_shop: ThreadedServer) -> None:
    url = f"http://127.0.0.1:{http_shop.port}/mcp"
    async with Hub([HttpServer("shop", url, headers={"X-Api-Key": API_KEY})]) as hub:
        record = await hub.call("echo", {"text": "over http"})
    assert record.text == "shop:over http"


async def test_an_http_server_that_rejects_the_header_fails_the_hub_with_the_server_named(
    http_shop: ThreadedServer,
) -> None:
    url = f"http://127.0.0.1:{http_shop.port}/mcp"
    hub = Hub([InProcessServer("crm", crm_server()), HttpServer("shop", url, headers={"X-Api-Key": "wrong"})])
    with pytest.raises(ServerConnectError) as caught:
        async with hub:
            pass
    assert list(caught.value.failures) == ["shop"]
    assert "401" in caught.value.failures["shop"]
    assert [(r.server, r.kind) for r in hub.reports] == [("shop", "connect_failed")]


async def test_a_refused_http_connection_at_open_is_reported_by_server_name() -> None:
    url = f"http://127.0.0.1:{closed_port()}/mcp"
    with pytest.raises(ServerConnectError) as caught:
        async with Hub([HttpServer("down", url)]):
            pass
    assert "down" in str(caught.value)
    assert "ConnectError" in caught.value.failures["down"]


async def test_all_three_kinds_of_server_share_one_namespace(http_shop: ThreadedServer) -> None:
    url = f"http://127.0.0.1:{http_shop.port}/mcp"
    servers = [
        InProcessServer("crm", crm_server()),
        _stdio("files"),
        HttpServer("web", url, headers={"X-Api-Key": API_KEY}),
    ]
    async with Hub(servers) as hub:
        names = {t.name: (t.server, t.tool) for t in hub.tools}
        replies = [(await hub.call(f"{server}__echo", {"text": "x"})).text for server in ("crm", "files", "web")]
    assert names["crm__echo"] == ("crm", "echo")
    assert names["files__echo"] == ("files", "echo")
    assert names["web__echo"] == ("web", "echo")
    assert names["add"] == ("web", "add")  # unique names keep no prefix
    assert replies == ["crm:x", "files:x", "shop:x"]


async def test_colliding_tool_names_are_prefixed_and_routed_to_their_own_server() -> None:
    async with Hub([InProcessServer("shop", shop_server()), InProcessServer("crm", crm_server())]) as hub:
        names = [t.name for t in hub.tools]
        shop, crm = await hub.call("shop__echo", {"text": "a"}), await hub.call("crm__echo", {"text": "b"})
    assert "echo" not in names
    assert {"shop__echo", "crm__echo", "add"} <= set(names)
    assert (shop.text, shop.server) == ("shop:a", "shop")
    assert (crm.text, crm.server) == ("crm:b", "crm")


async def test_always_prefixing_with_a_custom_separator_maps_back_exactly() -> None:
    naming = NamingPolicy(prefix="always", separator="-")
    async with Hub([InProcessServer("shop", shop_server())], naming=naming) as hub:
        assert [t.name for t in hub.tools] == ["shop-add", "shop-echo", "shop-weather", "shop-refuse"]
        assert (await hub.call("shop-add", {"a": 1, "b": 1})).text == "2"


async def test_a_tool_name_openai_rejects_is_sanitized_and_still_routed() -> None:
    async with Hub([InProcessServer("crm", crm_server())]) as hub:
        tool = hub.resolve("find-customer_v2")
        record = await hub.call("find-customer_v2", {"email": "a@b.c"})
    assert tool is not None and tool.tool == "find-customer.v2"
    assert record.structured == {"id": "cus_1", "email": "a@b.c"}


async def test_tools_are_offered_in_openai_function_format() -> None:
    async with Hub([InProcessServer("shop", shop_server())]) as hub:
        add = next(t for t in hub.openai_tools() if t["function"]["name"] == "add")
    assert add["type"] == "function"
    assert add["function"]["description"] == "Add two integers."
    parameters = add["function"]["parameters"]
    assert parameters["type"] == "object"
    assert parameters["required"] == ["a", "b"]
    assert parameters["properties"]["a"]["type"] == "integer"


async def test_every_call_is_recorded_in_order_with_its_outcome() -> None:
    async with Hub([InProcessServer("shop", shop_server())]) as hub:
        await hub.call("add", {"a": 1, "b": 2})
        await hub.call("refuse", {"reason": "closed"})
        await hub.call("nope", {})
        await hub.call("weather", {"city": "Oslo"})
        calls = hub.log.calls
    assert [c.index for c in calls] == [0, 1, 2, 3]
    assert [c.name for c in calls] == ["add", "refuse", "nope", "weather"]
    assert [c.error_kind for c in calls] == [None, "tool", "unknown_tool", None]
    assert calls[0].arguments == {"a": 1, "b": 2}
    assert "refused: closed" in calls[1].text
    assert "Unknown tool 'nope'" in calls[2].text and "add" in calls[2].text
    assert calls[3].structured == {"city": "Oslo", "celsius": 21.5}
    assert all(c.latency_ms >= 0 and c.ended_at >= c.started_at for c in calls)


async def test_invalid_arguments_come_back_as_a_tool_error_not_an_exception() -> None:
    async with Hub([InProcessServer("shop", shop_server())]) as hub:
        record = await hub.call("add", {"a": "not a number"})
    assert record.is_error and record.error_kind == "tool"
    assert "validation error" in record.text


async def test_a_killed_stdio_server_becomes_an_error_result_and_a_report() -> None:
    async with Hub([_stdio("files"), InProcessServer("shop", shop_server())]) as hub:
        pid = int((await hub.call("pid")).text)
        os.kill(pid, signal.SIGKILL)
        failed = await hub.call("files__echo", {"text": "anyone?"})
        again = await hub.call("files__echo", {"text": "still?"})
        unaffected = await hub.call("shop__echo", {"text": "fine"})
        alive = hub.alive("files"), hub.alive("shop")
    assert (failed.is_error, failed.error_kind) == (True, "server_failed")
    assert "'files'" in failed.text
    assert (again.is_error, again.error_kind) == (True, "server_unavailable")
    assert unaffected.text == "shop:fine"
    assert alive == (False, True)
    [report] = hub.reports
    assert (report.server, report.kind) == ("files", "died")
    assert "Connection closed" in report.message


async def test_an_http_server_that_goes_away_becomes_an_error_result_and_a_report(
    http_shop: ThreadedServer,
) -> None:
    url = f"http://127.0.0.1:{http_shop.port}/mcp"
    async with Hub([HttpServer("web", url, headers={"X-Api-Key": API_KEY})], call_timeout_s=5) as hub:
        assert (await hub.call("echo", {"text": "1"})).text == "shop:1"
        http_shop.stop()
        failed = await hub.call("echo", {"text": "2"})
    assert failed.is_error and failed.error_kind == "server_failed"
    [report] = hub.reports
    assert (report.server, report.kind) == ("web", "died")


async def test_cancelling_mid_call_closes_every_connection_and_stops_the_subprocess() -> None:
    gate = anyio.Event()
    with anyio.fail_after(30), anyio.CancelScope() as scope:  # fail_after: a broken close would hang
        async with Hub([_stdio("files"), InProcessServer("crm", crm_server(gate))], close_timeout_s=5) as hub:
            pid = int((await hub.call("pid")).text)
            async with anyio.create_task_group() as tg:
                tg.start_soon(hub.call, "block")
                tg.start_soon(hub.call, "wait_for_gate")
                await anyio.wait_all_tasks_blocked()
                scope.cancel()
    assert scope.cancelled_caught
    assert not gate.is_set()
    assert not _process_exists(pid)
    assert [c.name for c in hub.log.calls] == ["pid"]  # the cancelled calls never completed


async def test_a_failing_server_at_open_closes_the_servers_that_did_connect() -> None:
    servers = [_stdio("files"), HttpServer("down", f"http://127.0.0.1:{closed_port()}/mcp")]
    hub = Hub(servers)
    with pytest.raises(ServerConnectError):
        async with hub:
            pass
    assert not any(hub.alive(name) for name in ("files", "down"))


async def test_concurrent_calls_are_bounded_by_the_limiter_passed_in() -> None:
    gate = anyio.Event()
    limiter = anyio.CapacityLimiter(1)
    async with Hub([InProcessServer("crm", crm_server(gate))], limiter=limiter) as hub:
        async with anyio.create_task_group() as tg:
            tg.start_soon(hub.call, "wait_for_gate")
            tg.start_soon(hub.call, "echo", {"text": "queued"})
            await anyio.wait_all_tasks_blocked()
            assert limiter.borrowed_tokens == 1
            assert len(hub.log) == 0  # echo waits for the limiter, behind the gate
            gate.set()
    assert [c.name for c in hub.log.calls] == ["wait_for_gate", "echo"]


def test_duplicate_server_names_are_refused() -> None:
    with pytest.raises(HubConfigError, match="shop"):
        Hub([InProcessServer("shop", shop_server()), InProcessServer("shop", crm_server())])


def test_a_separator_outside_the_openai_alphabet_is_refused() -> None:
    with pytest.raises(HubConfigError, match="separator"):
        NamingPolicy(separator=".")
