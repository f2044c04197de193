"""Benchmark: what the sandbox costs, layer by layer, against a bare interpreter start.

Every variant runs ``pass`` and is measured end to end (spawn, pipes, wait, result), interleaved
round by round so that machine noise hits all variants alike. The baseline is the same interpreter
the sandbox runs, Debian's ``/usr/bin/python3 -E -s -c pass``, spawned with the same primitives
(posix_spawn + pidfd) but with no launcher, namespaces or limits: like against like. pyenv's
python (the project venv's interpreter) is shown for reference only.

The cold rows start a fresh sandbox per call (``warm_start=False``); the warm row is the default:
each run pre-starts the session's next Python sandbox, which waits for its program on stdin.

Targets (issue 4): a trivial execution <= 1.5x the bare start; a persistent-session call <= 10 ms.

    python bench/bench_sandbox.py              # 30 rounds
    python bench/bench_sandbox.py --rounds 10
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
from mcp import Client
from rich.console import Console
from rich.table import Table

from tdscaling.sandbox import (
    EXECUTE_CODE,
    BackendPlan,
    Child,
    Launch,
    LocalBackend,
    LocalCapabilities,
    SandboxSettings,
    build_sandbox_server,
    detect_local,
    sandbox_env,
)

DEBIAN_PYTHON = "/usr/bin/python3"


async def bare_start(python: str, *flags: str) -> None:
    child = Child(Launch(argv=[python, *flags, "-c", "pass"], env=sandbox_env("/tmp")), {})
    status = await child.wait()
    assert status.exit_code == 0, status


def variants(settings: SandboxSettings) -> list[tuple[str, LocalCapabilities]]:
    """Local-backend recipes from least to most isolated; each row adds one layer to the one above."""
    plain = detect_local(settings, only="subprocess")
    unshare = detect_local(settings, only="unshare")
    full = detect_local(settings)
    no_cg = {"memory_cgroup": False, "pids_cgroup": False}
    rows = [
        ("+ launcher (sh, rlimits, pipes)", dataclasses.replace(plain, **no_cg)),
        ("+ cgroups (memory, pids, cpuacct)", plain),
    ]
    if unshare.mechanism == "unshare":
        rows.append(("unshare namespaces + setpriv + cgroups", unshare))
    if full.mechanism == "bwrap":
        rows.append(("bwrap namespaces, no seccomp, + cgroups", dataclasses.replace(full, seccomp=False)))
        rows.append(("bwrap + seccomp + cgroups (the default)", full))
    return rows


async def measure(rounds: int) -> None:
    settings = SandboxSettings(backend="local", record_fsync=True, warm_start=False)
    warm_settings = settings.model_copy(update={"warm_start": True})
    timings: dict[str, list[float]] = {}

    def timed(name: str, action: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            started = time.perf_counter()
            await action()
            timings.setdefault(name, []).append((time.perf_counter() - started) * 1000)

        return run

    pyenv = str(Path(sys.base_prefix) / "bin" / "python3")
    steps = [
        timed("bare: Debian python3 -E -s -c pass", lambda: bare_start(DEBIAN_PYTHON, "-E", "-s")),
        timed("reference: pyenv python3 -c pass (the venv's)", lambda: bare_start(pyenv)),
    ]
    backends = []
    for name, caps in variants(settings):
        backend = LocalBackend(settings, capabilities=caps)
        backends.append(backend)
        steps.append(
            timed(
                name,
                lambda b=backend: b.execute("s", "pass", language="python", timeout_s=10, persistent=False),  # type: ignore[misc]
            )
        )
    full = detect_local(settings)
    warm_backend = LocalBackend(warm_settings, capabilities=full)
    backends.append(warm_backend)
    steps.append(
        timed(
            "bwrap default, warm start (interpreter pre-started)",
            lambda: warm_backend.execute("w", "pass", language="python", timeout_s=10, persistent=False),
        )
    )
    server = build_sandbox_server(
        settings.model_copy(update={"record_path": Path("/tmp/tdscaling-bench-record.jsonl")}),
        plan=BackendPlan("local", full.report, full, None),
    )
    for backend in backends:
        await backend.__aenter__()
    try:
        persistent_backend = warm_backend
        await persistent_backend.execute("p", "x = 0", language="python", timeout_s=10, persistent=True)
        steps.append(
            timed(
                "persistent session call (backend)",
                lambda: persistent_backend.execute("p", "x += 1", language="python", timeout_s=10, persistent=True),
            )
        )
        async with Client(server) as client:
            await client.call_tool(EXECUTE_CODE, {"code": "y = 0", "persistent": True})
            steps.append(
                timed(
                    "persistent call via MCP in process (+ record, fsync)",
                    lambda: client.call_tool(EXECUTE_CODE, {"code": "y += 1", "persistent": True}),
                )
            )
            for step in steps:  # warm up caches once
                await step()
            timings.clear()
            for _ in range(rounds):
                for step in steps:
                    await step()
    finally:
        for backend in backends:
            await backend.__aexit__(None, None, None)

    bare = timings["bare: Debian python3 -E -s -c pass"]
    base, base_min = statistics.median(bare), min(bare)
    table = Table(title=f"sandbox cost, medians of {rounds} interleaved rounds (ratio vs bare Debian python)")
    table.add_column("variant")
    table.add_column("median ms", justify="right")
    table.add_column("min ms", justify="right")
    table.add_column("p90 ms", justify="right")
    table.add_column("x bare (median)", justify="right")
    table.add_column("x bare (min)", justify="right")
    for name, values in timings.items():
        values.sort()
        median = statistics.median(values)
        p90 = values[int(0.9 * (len(values) - 1))]
        table.add_row(
            name,
            f"{median:.2f}",
            f"{values[0]:.2f}",
            f"{p90:.2f}",
            f"{median / base:.2f}",
            f"{values[0] / base_min:.2f}",
        )
    Console(width=140).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    anyio.run(measure, args.rounds)


if __name__ == "__main__":
    main()
