"""Client harness overheads: hub routing vs a bare MCP client, and LiteLLMBackend concurrency.

Run: python bench/bench_client.py [--calls 500] [--concurrency 64] [--delay 0.1]

1. Hub overhead: sequential calls of a trivial in-process tool through ``Hub.call`` versus
   ``mcp.Client.call_tool`` on the same server (ratio = hub time / bare time).
2. Model backend throughput: ``concurrency`` tasks each make model calls against the
   loopback fake OpenAI server that answers after ``delay`` seconds; ideal throughput is
   ``concurrency / delay`` calls per second (ratio = measured / ideal).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "client"))

import anyio
from fake_openai import FakeOpenAI
from mcp import Client
from toy_servers import shop_server

from tdscaling.client import GenerationSettings, Hub, InProcessServer, LiteLLMBackend, RetryPolicy


async def hub_overhead(calls: int) -> tuple[float, float]:
    server = shop_server()
    async with Client(server) as client:
        for _ in range(20):
            await client.call_tool("add", {"a": 1, "b": 2})
        start = time.perf_counter()
        for _ in range(calls):
            await client.call_tool("add", {"a": 1, "b": 2})
        bare = time.perf_counter() - start
    async with Hub([InProcessServer("shop", server)]) as hub:
        for _ in range(20):
            await hub.call("add", {"a": 1, "b": 2})
        start = time.perf_counter()
        for _ in range(calls):
            await hub.call("add", {"a": 1, "b": 2})
        routed = time.perf_counter() - start
    return bare, routed


async def backend_throughput(base_url: str, concurrency: int, per_task: int) -> float:
    backend = LiteLLMBackend(
        "openai/fake-model",
        api_base=base_url,
        api_key="x",
        settings=GenerationSettings(timeout_s=30),
        retry=RetryPolicy(max_attempts=1),
    )
    messages = [{"role": "user", "content": "hi"}]
    await backend.complete(messages)  # warm-up: litellm's lazy imports

    async def worker() -> None:
        for _ in range(per_task):
            await backend.complete(messages)

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return concurrency * per_task / (time.perf_counter() - start)


async def main(args: argparse.Namespace) -> None:
    bare, routed = await hub_overhead(args.calls)
    print(f"{'measure':44} {'value':>12} {'ratio':>8}")
    print(f"{'bare Client.call_tool, ms/call':44} {bare / args.calls * 1000:12.3f}")
    print(f"{'Hub.call, ms/call':44} {routed / args.calls * 1000:12.3f} {routed / bare:8.2f}")
    fake = FakeOpenAI(fixed_delay_s=args.delay)
    fake.start()
    try:
        rate = await backend_throughput(fake.base_url, args.concurrency, args.per_task)
    finally:
        fake.stop()
    ideal = args.concurrency / args.delay
    label = f"model calls/s, {args.concurrency} tasks, {args.delay * 1000:g} ms fake"
    print(f"{label:44} {rate:12.1f} {rate / ideal:8.2f}")
    import litellm

    await litellm.close_litellm_async_clients()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--per-task", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.1)
    anyio.run(main, parser.parse_args())
