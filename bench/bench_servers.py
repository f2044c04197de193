"""Benchmark of the cluster runtime, measured side by side in one run (interleaved), printed as a table.

    python bench/bench_servers.py [--calls 400] [--starts 5]

* in process: median latency of a generated get, search and create call vs a trivial hand-written
  MCPServer echo tool (target <= 1.5x);
* the per-episode state copy of a 1,000-row store (target <= 5 ms);
* stdio start-up to the first tools/list, ``tdscaling serve`` vs a minimal SDK server.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.server.mcpserver import MCPServer

from tdscaling.servers import Catalog, ClusterRuntime, domain_cluster

MINIMAL_SERVER = """
from mcp.server.mcpserver import MCPServer
mcp = MCPServer("echo", log_level="WARNING")
@mcp.tool()
def echo(text: str) -> str:
    return text
mcp.run("stdio")
"""


def _echo_server() -> MCPServer:
    server = MCPServer("echo", log_level="WARNING")

    @server.tool()
    def echo(text: str) -> str:
        return text

    return server


async def _latencies(calls: int) -> dict[str, float]:
    catalog = Catalog.load()
    rt = ClusterRuntime(domain_cluster(catalog.get("online_store")), catalog)
    counter = iter(range(10**9))
    samples: dict[str, list[float]] = {"echo": [], "get": [], "search": [], "create": []}
    async with Client(_echo_server()) as echo, Client(rt.server) as c:
        ops: dict[str, Callable[[], Awaitable[Any]]] = {
            "echo": lambda: echo.call_tool("echo", {"text": "hello"}),
            "get": lambda: c.call_tool("get_order", {"order_id": "ORD-000001"}),
            "search": lambda: c.call_tool("search_orders", {"status": "paid", "limit": 5}),
            "create": lambda: c.call_tool("create_customer", {"name": "Bench", "email": f"b{next(counter)}@x.org",
                                                              "city": "Oslo", "tier": "gold"}),
        }
        for _ in range(20):  # warm-up
            for op in ops.values():
                await op()
        for _ in range(calls):
            for name, op in ops.items():  # interleaved, so drift hits every column alike
                t = time.perf_counter()
                r = await op()
                samples[name].append(time.perf_counter() - t)
                assert not r.is_error, r
    return {k: statistics.median(v) * 1000 for k, v in samples.items()}


def _clone_ms() -> tuple[float, float, int]:
    catalog = Catalog.load()
    rt = ClusterRuntime(domain_cluster(catalog.get("online_store")), catalog, rows=334)
    n = sum(rt.store.count(t) for t in rt.store.tables)
    store_times, fresh_times = [], []
    for _ in range(200):
        t = time.perf_counter()
        s = rt.store.clone()
        store_times.append(time.perf_counter() - t)
        s.close()
        t = time.perf_counter()
        f = rt.fresh()
        fresh_times.append(time.perf_counter() - t)
        f.close()
    return statistics.median(store_times) * 1000, statistics.median(fresh_times) * 1000, n


async def _startup(starts: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "minimal.py"
        script.write_text(MINIMAL_SERVER)
        tds = Path(sys.executable).parent / "tdscaling"
        ours = StdioServerParameters(command=str(tds), args=["serve", "online_store", "--db", ":memory:"])
        base = StdioServerParameters(command=sys.executable, args=[str(script)])
        times: dict[str, list[float]] = {"ours": [], "base": []}
        for _ in range(starts):
            for key, params in (("ours", ours), ("base", base)):
                t = time.perf_counter()
                async with Client(params) as c:
                    await c.list_tools()
                    times[key].append(time.perf_counter() - t)
    return statistics.median(times["ours"]) * 1000, statistics.median(times["base"]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    lat = anyio.run(_latencies, args.calls)
    clone, fresh, n = _clone_ms()
    ours, base = anyio.run(_startup, args.starts)
    rows = [
        ("in-process get_order (median ms)", lat["get"], lat["echo"], "<= 1.5x"),
        ("in-process search_orders (median ms)", lat["search"], lat["echo"], "<= 1.5x"),
        ("in-process create_customer (median ms)", lat["create"], lat["echo"], "<= 1.5x"),
        (f"state clone, {n} rows (median ms)", clone, 5.0, "<= 5 ms"),
        (f"fresh() runtime, {n} rows (median ms)", fresh, 5.0, "<= 5 ms"),
        ("stdio start to first tools/list (median ms)", ours, base, "-"),
    ]
    print(f"{'measure':<46} {'ours':>9} {'baseline':>9} {'ratio':>7}  target")
    for name, a, b, target in rows:
        print(f"{name:<46} {a:>9.3f} {b:>9.3f} {a / b:>6.2f}x  {target}")
    print("baseline: an MCPServer echo tool in process; 5 ms for the clone; a minimal MCPServer over stdio")


if __name__ == "__main__":
    main()
