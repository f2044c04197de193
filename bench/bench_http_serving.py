"""Benchmark of the HTTP serving layer against the SDK's own app, each served by a real subprocess.

    python bench/bench_http_serving.py [--flood 3000] [--calls 300]

* an ``initialize`` flood (sessions opened and abandoned, 20 at a time): the server's memory before and
  after, what the flood got, and whether a new client is let in right after;
* a slowloris connection (a request head that never ends): how long until the server closes it;
* the median latency of a tool call over HTTP with the guards in front vs without.

"bare" is ``tdscaling.servers``' runtime behind ``server.streamable_http_app()`` with the SDK's defaults
(10,000 sessions, 30 min idle timeout, Host checks only for 127.0.0.1/localhost/::1); "ours" is
``tdscaling serve --transport http`` (64 sessions, longest-idle evicted, 10 s head and 30 s body deadlines).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import anyio
import httpx2
from mcp import Client

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "flood", "version": "0"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
BARE = """
import sys, uvicorn
from tdscaling.servers import Catalog, ClusterRuntime, domain_cluster
catalog = Catalog.load()
runtime = ClusterRuntime(domain_cluster(catalog.get("online_store")), catalog)
uvicorn.run(runtime.server.streamable_http_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="critical")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _start(kind: str, port: int) -> subprocess.Popen[bytes]:
    if kind == "bare":
        argv = [sys.executable, "-c", BARE, str(port)]
    else:
        tdscaling = str(Path(sys.executable).with_name("tdscaling"))
        argv = [tdscaling, "serve", "online_store", "--transport", "http", "--db", ":memory:", "--port", str(port)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _wait_up(url: str) -> None:
    with anyio.fail_after(60):
        async with httpx2.AsyncClient() as h:
            while True:
                try:
                    await h.get(url)
                    return
                except httpx2.TransportError:
                    await anyio.sleep(0.05)


async def _flood(url: str, n: int) -> Counter[int]:
    codes: Counter[int] = Counter()
    limiter = anyio.CapacityLimiter(20)
    async with httpx2.AsyncClient(timeout=30) as h:

        async def one() -> None:
            async with limiter:
                codes[(await h.post(url, json=INIT, headers=HEADERS)).status_code] += 1

        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(one)
    return codes


async def _slowloris(port: int, give_up_s: float) -> float | None:
    stream = await anyio.connect_tcp("127.0.0.1", port)
    started = time.monotonic()
    await stream.send(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    with anyio.move_on_after(give_up_s):
        try:
            while await stream.receive():
                pass
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            await stream.aclose()
            return time.monotonic() - started
    await stream.aclose()
    return None


async def _latencies(urls: dict[str, str], calls: int) -> dict[str, float]:
    """Median latency of get_order per server, the calls interleaved so both see the same machine load."""
    samples: dict[str, list[float]] = {kind: [] for kind in urls}
    async with Client(urls["bare"], mode="legacy") as bare, Client(urls["ours"], mode="legacy") as ours:
        clients = {"bare": bare, "ours": ours}
        for _ in range(calls):
            for kind, client in clients.items():
                t = time.perf_counter()
                await client.call_tool("get_order", {"order_id": "ORD-000001"})
                samples[kind].append((time.perf_counter() - t) * 1000)
    return {kind: statistics.median(values) for kind, values in samples.items()}


async def _abuse(kind: str, url: str, port: int, pid: int, flood: int, give_up_s: float) -> dict[str, str]:
    before = _rss_mb(pid)
    t = time.perf_counter()
    codes = await _flood(url, flood)
    seconds = time.perf_counter() - t
    after = _rss_mb(pid)
    async with httpx2.AsyncClient() as h:
        newcomer = (await h.post(url, json=INIT, headers=HEADERS)).status_code
    closed = await _slowloris(port, give_up_s)
    return {
        "server": kind,
        "flood answers": ", ".join(f"{n}x {code}" for code, n in sorted(codes.items())),
        "flood s": f"{seconds:.1f}",
        "RSS MB before -> after": f"{before:.0f} -> {after:.0f}",
        "a new client then gets": str(newcomer),
        "slowloris closed after s": f"{closed:.1f}" if closed is not None else f"not in {give_up_s:g}",
    }


async def main(flood: int, calls: int, give_up_s: float) -> None:
    ports = {kind: _free_port() for kind in ("bare", "ours")}
    procs = {kind: _start(kind, port) for kind, port in ports.items()}
    urls = {kind: f"http://127.0.0.1:{port}/mcp" for kind, port in ports.items()}
    try:
        for url in urls.values():
            await _wait_up(url)
        latency = await _latencies(urls, calls)
        rows = [{**await _abuse(kind, urls[kind], ports[kind], procs[kind].pid, flood, give_up_s),
                 "get_order ms (median, interleaved)": f"{latency[kind]:.2f}"} for kind in urls]
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(timeout=30)
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(row[k] for k in keys) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=3000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--give-up-s", type=float, default=60.0)
    args = parser.parse_args()
    anyio.run(main, args.flood, args.calls, args.give_up_s)
