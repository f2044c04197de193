"""The one HTTP serving layer, served for real on loopback: rebinding, tokens, session exhaustion, slowloris."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from served import HEADERS, INIT, Serve

from tdscaling.common import InsecureBindError, allowed_hosts_and_origins, check_bind, is_loopback

pytestmark = pytest.mark.anyio

LOOPBACK_SPELLINGS = ["127.0.0.1", "127.0.0.2", "::1", "0:0:0:0:0:0:0:1", "[::1]", "localhost"]
CUSTOMER = {"name": "Rebound", "email": "rebound@example.org", "city": "Oslo", "tier": "gold"}


def _recorder(statuses: list[int]) -> Any:
    async def record(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    return record


def _customers(served: Any) -> int:
    return int(served.runtime.store.count("online_store__customer"))


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
async def test_a_rebound_page_cannot_change_state_on_any_loopback_address(serve: Serve, host: str) -> None:
    async with serve(host=host) as served:
        before = _customers(served)
        for mode in ("auto", "legacy"):  # the 2026 era (no session) and the initialize handshake
            statuses: list[int] = []
            rebound = httpx2.AsyncClient(headers={"Host": "evil.example.com"},
                                         event_hooks={"response": [_recorder(statuses)]})
            with pytest.raises(ExceptionGroup):
                async with rebound, Client(streamable_http_client(served.url, http_client=rebound), mode=mode) as c:
                    await c.call_tool("create_customer", CUSTOMER)
            assert statuses and set(statuses) == {421}, (mode, statuses)
        async with httpx2.AsyncClient() as h:
            assert (await h.post(served.url, json=INIT, headers={**HEADERS, "Host": "evil.example.com"})
                    ).status_code == 421
            assert (await h.post(served.url, json=INIT, headers={**HEADERS, "Origin": "http://evil.example.com"})
                    ).status_code == 403
        assert _customers(served) == before
        async with Client(served.url) as c:  # the server's own address still works
            assert not (await c.call_tool("create_customer", CUSTOMER)).is_error
        assert _customers(served) == before + 1


async def test_the_bound_ipv6_loopback_is_accepted_in_each_usual_spelling(serve: Serve) -> None:
    async with serve(host="::1") as served, httpx2.AsyncClient() as h:
        for name in ("[::1]", "[0:0:0:0:0:0:0:1]", "localhost"):
            r = await h.post(served.url, json=INIT, headers={**HEADERS, "Host": f"{name}:{served.port}",
                                                             "Origin": f"http://{name}:{served.port}"})
            assert r.status_code == 200, (name, r.status_code, r.text)
        other_port = await h.post(served.url, json=INIT, headers={**HEADERS, "Host": f"[::1]:{served.port + 1}"})
        assert other_port.status_code == 421


def test_allowed_hosts_name_only_the_bound_address_and_localhost_on_its_port() -> None:
    hosts, origins = allowed_hosts_and_origins("127.0.0.2", 8123)
    assert hosts == ["localhost:8123", "127.0.0.2:8123"]
    assert origins == ["http://localhost:8123", "http://127.0.0.2:8123"]
    assert not any("*" in h for h in hosts + origins)


def test_every_loopback_spelling_counts_as_loopback_and_nothing_else_does() -> None:
    for host in [*LOOPBACK_SPELLINGS, "127.255.255.254", "LOCALHOST", "0000:0000:0000:0000:0000:0000:0000:0001"]:
        assert is_loopback(host), host
        check_bind(host, token=None, insecure=False, risk="x")
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com", "::ffff:127.0.0.1"):
        assert not is_loopback(host), host
        with pytest.raises(InsecureBindError, match="--token"):
            check_bind(host, token=None, insecure=False, risk="x")
        check_bind(host, token="t", insecure=False, risk="x")


async def test_with_a_token_only_its_holder_gets_in_and_rebinding_is_still_refused(serve: Serve) -> None:
    async with serve(token="s3cret") as served:
        async with httpx2.AsyncClient() as h:
            assert (await h.post(served.url, json=INIT, headers=HEADERS)).status_code == 401
            wrong = await h.post(served.url, json=INIT, headers={**HEADERS, "Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            rebound = await h.post(served.url, json=INIT, headers={**HEADERS, "Authorization": "Bearer s3cret",
                                                                   "Host": "evil.example.com"})
            assert rebound.status_code == 421
        http = httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret"})
        async with http, Client(streamable_http_client(served.url, http_client=http)) as c:
            assert not (await c.call_tool("create_customer", CUSTOMER)).is_error


async def _open_session(h: httpx2.AsyncClient, url: str) -> str:
    r = await h.post(url, json=INIT, headers=HEADERS)
    assert r.status_code == 200, r.text
    return r.headers["mcp-session-id"]


async def _alive(h: httpx2.AsyncClient, url: str, session_id: str) -> bool:
    r = await h.post(url, json={"jsonrpc": "2.0", "id": 7, "method": "ping"},
                     headers={**HEADERS, "mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"})
    assert r.status_code in (200, 404), r.text
    return r.status_code == 200


async def test_an_initialize_flood_keeps_at_most_the_cap_open_and_never_locks_out_a_new_client(
        serve: Serve) -> None:
    async with serve(max_sessions=4) as served, httpx2.AsyncClient() as h:
        flood: list[str] = []
        flooders = anyio.CapacityLimiter(3)  # fewer at once than the cap: each finished opening is idle

        async def one() -> None:
            async with flooders:
                flood.append(await _open_session(h, served.url))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for _ in range(40):
                    tg.start_soon(one)
        assert len(set(flood)) == 40  # every initialize was answered: none got 503
        alive = [s for s in flood if await _alive(h, served.url, s)]
        assert len(alive) <= 4
        async with Client(served.url, mode="legacy") as c:  # a new client gets in at once
            assert not (await c.call_tool("get_order", {"order_id": "ORD-000001"})).is_error


async def test_a_session_with_a_request_in_flight_is_never_the_one_evicted(serve: Serve) -> None:
    async with serve(max_sessions=2) as served, httpx2.AsyncClient(timeout=30) as h:
        busy = await _open_session(h, served.url)
        stream_headers = {"Accept": "text/event-stream", "mcp-session-id": busy, "mcp-protocol-version": "2025-11-25"}
        async with h.stream("GET", served.url, headers=stream_headers) as listening:  # a standing event stream
            assert listening.status_code == 200
            others = [await _open_session(h, served.url) for _ in range(6)]
            assert await _alive(h, served.url, busy)
            assert [await _alive(h, served.url, s) for s in others[:-1]] == [False] * 5


class _Watch(logging.Handler):
    def __init__(self, needle: str) -> None:
        super().__init__(logging.INFO)
        self.needle = needle
        self.seen = anyio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.seen.set()


@pytest.fixture
def idle_log() -> Iterator[_Watch]:
    """Fires when the SDK's session manager ends a session for idleness."""
    logger = logging.getLogger("mcp.server.streamable_http_manager")
    watch, level = _Watch("idle timeout"), logger.level
    logger.addHandler(watch)
    logger.setLevel(logging.INFO)
    try:
        yield watch
    finally:
        logger.removeHandler(watch)
        logger.setLevel(level)


async def test_an_idle_session_is_closed_and_its_id_then_refused(serve: Serve, idle_log: _Watch) -> None:
    async with serve(session_idle_s=0.3) as served, httpx2.AsyncClient() as h:
        session = await _open_session(h, served.url)
        with anyio.fail_after(10):
            await idle_log.seen.wait()
        assert not await _alive(h, served.url, session)


async def _until_closed(stream: Any) -> bytes:
    received = b""
    try:
        while True:
            received += await stream.receive()
    except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
        return received


async def test_a_slowloris_request_head_is_cut_off_at_the_header_deadline(serve: Serve) -> None:
    async with serve(header_timeout_s=0.5) as served:
        silent = await anyio.connect_tcp("127.0.0.1", served.port)
        slow = await anyio.connect_tcp("127.0.0.1", served.port)
        started = time.monotonic()
        await slow.send(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # and never the rest
        with anyio.fail_after(10):
            assert await _until_closed(slow) == b""
            assert await _until_closed(silent) == b""
        assert time.monotonic() - started >= 0.45
        await slow.aclose()
        await silent.aclose()
        async with Client(served.url) as c:  # the server itself is fine
            assert not (await c.call_tool("get_order", {"order_id": "ORD-000001"})).is_error


async def test_a_trickling_request_body_gets_408_and_the_connection_is_closed(serve: Serve) -> None:
    async with serve(body_timeout_s=0.5) as served:
        conn = await anyio.connect_tcp("127.0.0.1", served.port)
        await conn.send(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nContent-Type: application/json\r\n"
                        "Content-Length: 1000\r\n\r\n{\"jsonrpc\"".encode())
        with anyio.fail_after(10):
            reply = await _until_closed(conn)
        await conn.aclose()
        assert reply.startswith(b"HTTP/1.1 408"), reply
