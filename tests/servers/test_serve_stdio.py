"""``tdscaling serve`` over stdio, as an MCP host runs it: real subprocesses, real clients, raw JSON-RPC."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.anyio


def _params(cmd: list[str], *args: str) -> StdioServerParameters:
    return StdioServerParameters(command=cmd[0], args=[*cmd[1:], "serve", *args], env=dict(os.environ))


async def test_a_stdio_server_lists_and_calls_tools_and_a_file_keeps_the_writes_across_restarts(
        tmp_path: Path, serve_command: list[str]) -> None:
    db = tmp_path / "shop.sqlite3"
    async with Client(_params(serve_command, "online_store", "--db", str(db))) as c:
        tools = {t.name for t in (await c.list_tools()).tools}
        assert {"get_order", "place_order", "pay_order"} <= tools
        order = (await c.call_tool("get_order", {"order_id": "ORD-000001"})).structured_content
        assert order is not None
        made = await c.call_tool("create_customer", {"name": "Ada Lovelace", "email": "ada@example.org",
                                                     "city": "London", "tier": "gold"})
        assert not made.is_error
    async with Client(_params(serve_command, "online_store", "--db", str(db)), mode="legacy") as c:
        again = await c.call_tool("search_customers", {"email": "ada@example.org"})
        assert again.structured_content is not None and again.structured_content["total"] == 1
        assert (await c.call_tool("get_order", {"order_id": "ORD-000001"})).structured_content == order


class _Raw:
    """JSON-RPC lines over a server's stdin/stdout, read with a deadline."""

    def __init__(self, proc: Process) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc = proc
        self.out = BufferedByteReceiveStream(proc.stdout)

    async def send(self, raw: bytes) -> None:
        assert self.proc.stdin is not None
        await self.proc.stdin.send(raw + b"\n")

    async def reply(self, id_: int) -> dict[str, Any]:
        with anyio.fail_after(30):
            while True:
                msg = json.loads(await self.out.receive_until(b"\n", 10_000_000))  # stdout carries only JSON
                if msg.get("id") == id_:
                    return dict(msg)
                assert msg.get("id") is None, msg  # only notifications or id-less parse errors in between


def _call(id_: int, name: str, arguments: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": id_, "method": "tools/call",
                       "params": {"name": name, "arguments": arguments}}).encode()


async def test_malformed_requests_get_protocol_errors_and_the_server_keeps_serving(
        tmp_path: Path, serve_command: list[str]) -> None:
    with (tmp_path / "err.log").open("wb") as err:
        proc = await anyio.open_process([*serve_command, "serve", "online_store", "--db", ":memory:"], stderr=err)
    async with proc:
        raw = _Raw(proc)
        await raw.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}}).encode())
        assert "result" in await raw.reply(1)
        await raw.send(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}')
        await raw.send(b"{this is not json")
        await raw.send(_call(2, "get_order", ["ORD-000001"]))
        assert (await raw.reply(2))["error"]["code"] == -32602
        await raw.send(b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_order","arguments":'
                       + b"[" * 100_000 + b"]" * 100_000 + b"}}")
        # too deep to parse, so the server cannot know the id: at most an error with id null, never a reply
        await raw.send(_call(4, "search_customers", {"name": "y" * 10_000_000}))
        huge = await raw.reply(4)
        assert huge["result"]["isError"] and "10000000 characters" in huge["result"]["content"][0]["text"]
        await raw.send(_call(5, "get_order", {"order_id": "ORD-000001"}))
        ok = await raw.reply(5)
        assert ok["result"].get("isError") is not True and ok["result"]["structuredContent"]["id"] == "ORD-000001"
        assert proc.stdin is not None
        await proc.stdin.aclose()
        with anyio.fail_after(15):
            await proc.wait()


async def test_lone_surrogates_over_stdio_never_reach_a_tool_and_the_server_keeps_serving(
        tmp_path: Path, serve_command: list[str]) -> None:
    # The SDK's JSON parser refuses a lone surrogate escape ("\ud800") before any tool runs (in process, where
    # the harness talks to clusters, it does arrive: test_runtime_bad_input holds that it is a caller error).
    with (tmp_path / "err.log").open("wb") as err:
        proc = await anyio.open_process([*serve_command, "serve", "online_store", "--db", ":memory:"], stderr=err)
    async with proc:
        raw = _Raw(proc)
        await raw.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}}).encode())
        assert "result" in await raw.reply(1)
        await raw.send(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}')
        # json.dumps writes a lone surrogate as the escape \ud800, exactly what a careless client sends
        await raw.send(_call(2, "create_customer", {"name": "A\ud800", "email": "lone.surrogate@example.net",
                                                     "city": "Oslo", "tier": "gold"}))
        await raw.send(_call(3, "nope\udcff", {}))
        await raw.send(_call(4, "search_customers", {"email": "lone.surrogate@example.net"}))
        assert (await raw.reply(4))["result"]["structuredContent"]["total"] == 0  # nothing was created
        assert proc.stdin is not None
        await proc.stdin.aclose()
        with anyio.fail_after(15):
            await proc.wait()
    assert "Traceback" not in (tmp_path / "err.log").read_text()
