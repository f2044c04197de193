"""Harness throughput (issue 5): offline episodes per second, harness overhead, model-server concurrency.

    python bench/bench_harness.py                       # about 2 minutes
    python bench/bench_harness.py --per-mode 6 --llm-episodes 32

1. Offline scripted episodes per second, in process. Blueprints are planned up front (the planning time is
   reported, not counted) on generated clusters across the catalog's domains, ``--per-mode`` per reasoning
   mode; code_aggregation runs real code in the sandbox. Each measured run uses blueprints it has not seen,
   so every episode pays its blueprint's gold replay and self-checks once, as in a synthesis run; a warm-up
   set on the same clusters first seeds their worlds and compiles their tools' output-schema validators
   (a long run pays those once per cluster or per schema, not per episode). Workloads: all modes, the
   modes without the sandbox, code_aggregation alone; each sequentially and with 4 and 8 concurrent episodes
   (an anyio task group and a CapacityLimiter). Target: >= 20 episodes/s.
2. Harness overhead = episode time / sum of tool-call times (``labels.tool_ms``: the latencies the hub
   records, i.e. an in-process MCP round trip around each tool), from the sequential runs, three ways:
   ``labels.wall_ms`` (hub open + conversation), the whole episode without verification, and the whole
   episode. Verification (the blueprint's gold check, then the replay that re-executes every call on a
   fresh world) is timed from the outside by wrapping ``Harness.gold_check`` and ``Verifier.judge``.
   Target: <= 2x.
3. Model-server concurrency. A fake OpenAI-compatible server (tests/client/fake_openai.py) answers every
   chat completion after ``--delay`` seconds, deciding the answer with the scripted assistant of the
   episode's blueprint (found by the episode id in the system prompt). It runs in a subprocess (as a real
   provider would, not competing for this process's GIL) and, for comparison, in a thread of this process.
   Each backend (LiteLLMBackend, OpenAICompatBackend) is measured twice: (a) model calls alone,
   ``--llm-episodes`` tasks making 5 calls each (ideal: 5 x delay); (b) ``--llm-episodes`` whole episodes at
   once with the backend as the assistant (the user stays scripted; gold checks done beforehand); ideal =
   every episode takes (its model calls x delay), so the ideal makespan is the largest of those; ratio =
   ideal / measured makespan. Target: >= 0.8. Client and server CPU per call are shown, and the CPU ceiling
   (ideal / this process's CPU time): the best ratio one process could reach however the waits overlap.

All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "client"))

import anyio
from rich.console import Console
from rich.table import Table

from tdscaling.client import (
    Blueprint,
    GenerationSettings,
    Harness,
    Hub,
    LiteLLMBackend,
    ModelBackend,
    OpenAICompatBackend,
    RetryPolicy,
    ScriptedAssistant,
    Trajectory,
    Verifier,
    episode_id,
)
from tdscaling.servers import Catalog, ClusterRuntime, ClusterSpec, generate_clusters
from tdscaling.synth import Planner, PlanningFailure

MODES = ("lookup", "sequential_chain", "parallel_fanout", "conditional_branch", "error_recovery",
         "clarification", "cross_domain", "code_aggregation")
SANDBOX_MODES = frozenset({"code_aggregation"})
TARGET_EPS = 20.0
TARGET_OVERHEAD = 2.0
TARGET_LLM = 0.8
SESSION = re.compile(r'session_id "(ep-[0-9a-f]{16})"')


# --- blueprints ----------------------------------------------------------------------------------------------
@dataclass
class Workload:
    clusters: list[ClusterSpec]
    sets: list[list[Blueprint]]  # sets[0] warms up; every measured run takes a set of its own
    plan_s: float
    planned: int


def plan_workload(catalog: Catalog, *, per_mode: int, n_sets: int, seed: int) -> Workload:
    """``per_mode`` clusters per mode, each with ``n_sets`` blueprints of that mode (one per set)."""
    planner = Planner(catalog)
    pool = list(generate_clusters(list(catalog), 400, seed=seed))
    random.Random(seed).shuffle(pool)
    sets: list[list[Blueprint]] = [[] for _ in range(n_sets)]
    used: dict[str, ClusterSpec] = {}
    started = time.perf_counter()
    planned = 0
    for mode in MODES:
        found = 0
        domains_seen: set[str] = set()
        # Prefer clusters of domains this mode has not used yet, so each mode spans many domains.
        candidates = sorted(pool, key=lambda c: (bool(set(c.domains) & domains_seen), 0))
        for cluster in candidates:
            if found == per_mode:
                break
            if mode == "cross_domain" and len(cluster.domains) < 2:
                continue
            if set(cluster.domains) & domains_seen:
                continue
            try:
                made = [planner.plan(cluster, mode, random.Random(f"{seed}|{cluster.id}|{mode}|{k}"))
                        for k in range(n_sets)]
            except PlanningFailure:
                continue
            planned += n_sets
            for k, bp in enumerate(made):
                sets[k].append(bp)
            used[cluster.id] = cluster
            domains_seen |= set(cluster.domains)
            found += 1
    return Workload(list(used.values()), sets, time.perf_counter() - started, planned)


# --- timing from the outside -------------------------------------------------------------------------------
@dataclass
class Phases:
    """Per-episode phase times in ms, recorded by wrappers around harness internals (sequential runs only)."""

    gold_ms: float = 0.0
    judge_ms: float = 0.0
    hub_open_ms: float = 0.0
    hub_close_ms: float = 0.0
    handler_ms: float = 0.0  # inside ClusterRuntime.call during the conversation (no MCP around it)
    in_verification: bool = False


class Probe:
    """Wraps a few methods with timers. The library is unchanged; only this process's classes are patched."""

    def __init__(self) -> None:
        self.current: Phases | None = None
        self._undo: list[Callable[[], None]] = []

    @contextmanager
    def episode(self) -> Iterator[Phases]:
        self.current = phases = Phases()
        try:
            yield phases
        finally:
            self.current = None

    def install(self) -> None:
        probe = self

        def wrap_async(cls: Any, name: str, add: Callable[[Phases, float, tuple[Any, ...], dict[str, Any]], None],
                       verification: bool = False) -> None:
            original = getattr(cls, name)

            async def timed(*args: Any, **kwargs: Any) -> Any:
                phases = probe.current
                if phases is None:
                    return await original(*args, **kwargs)
                outer = phases.in_verification
                phases.in_verification = outer or verification
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    phases.in_verification = outer
                    add(phases, (time.perf_counter() - started) * 1000, args, kwargs)

            setattr(cls, name, timed)
            self._undo.append(lambda: setattr(cls, name, original))

        def add_gold(p: Phases, ms: float, a: tuple[Any, ...], k: dict[str, Any]) -> None:
            p.gold_ms += ms

        def add_judge(p: Phases, ms: float, a: tuple[Any, ...], k: dict[str, Any]) -> None:
            if not k.get("_self_check"):  # the self-check's do-nothing judge is part of the gold check
                p.judge_ms += ms

        def add_open(p: Phases, ms: float, a: tuple[Any, ...], k: dict[str, Any]) -> None:
            p.hub_open_ms += ms

        def add_close(p: Phases, ms: float, a: tuple[Any, ...], k: dict[str, Any]) -> None:
            p.hub_close_ms += ms

        wrap_async(Harness, "gold_check", add_gold, verification=True)
        wrap_async(Verifier, "judge", add_judge, verification=True)
        wrap_async(Hub, "__aenter__", add_open)
        wrap_async(Hub, "__aexit__", add_close)

        call = ClusterRuntime.call

        def timed_call(rt: ClusterRuntime, name: str, arguments: dict[str, Any] | None) -> Any:
            phases = probe.current
            started = time.perf_counter()
            try:
                return call(rt, name, arguments)
            finally:
                if phases is not None and not phases.in_verification:
                    phases.handler_ms += (time.perf_counter() - started) * 1000

        ClusterRuntime.call = timed_call
        self._undo.append(lambda: setattr(ClusterRuntime, "call", call))

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()


# --- part 1 and 2: offline episodes ---------------------------------------------------------------------------
@dataclass
class EpisodeTiming:
    mode: str
    total_ms: float
    wall_ms: float
    tool_ms: float
    calls: int
    accepted: bool
    phases: Phases | None


@dataclass
class Run:
    workload: str
    concurrency: int
    episodes: list[EpisodeTiming] = field(default_factory=list)
    elapsed_s: float = 0.0
    cpu_s: float = 0.0

    @property
    def eps(self) -> float:
        return len(self.episodes) / self.elapsed_s

    @property
    def accepted(self) -> int:
        return sum(e.accepted for e in self.episodes)


def _timing(bp: Blueprint, t: Trajectory, total_ms: float, phases: Phases | None) -> EpisodeTiming:
    return EpisodeTiming(bp.mode, total_ms, t.labels.wall_ms, t.labels.tool_ms, len(t.calls),
                         t.verdict == "accepted", phases)


async def run_offline(harness: Harness, probe: Probe, blueprints: Sequence[Blueprint], *, workload: str,
                      concurrency: int) -> Run:
    run = Run(workload, concurrency)
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(bp: Blueprint, attempt: int) -> None:
        async with limiter:
            if concurrency == 1:
                with probe.episode() as phases:
                    started = time.perf_counter()
                    t = await harness.run(bp, attempt=attempt)
                    total = (time.perf_counter() - started) * 1000
                run.episodes.append(_timing(bp, t, total, phases))
            else:
                started = time.perf_counter()
                t = await harness.run(bp, attempt=attempt)
                run.episodes.append(_timing(bp, t, (time.perf_counter() - started) * 1000, None))

    started, cpu = time.perf_counter(), time.process_time()
    async with anyio.create_task_group() as tg:
        for i, bp in enumerate(blueprints):
            tg.start_soon(one, bp, i)
    run.elapsed_s, run.cpu_s = time.perf_counter() - started, time.process_time() - cpu
    return run


def _ratio(x: float, y: float) -> str:
    return f"{x / y:.2f}" if y else "-"


def throughput_table(runs: Sequence[Run], workload: Workload) -> Table:
    table = Table(title=f"1. Offline scripted episodes per second, in process ({os.cpu_count()} cores; "
                        f"target >= {TARGET_EPS:g}/s; planning {workload.planned} blueprints took "
                        f"{workload.plan_s:.1f} s = {workload.plan_s / workload.planned * 1000:.0f} ms each, "
                        f"not counted)")
    for col in ("workload", "concurrency", "episodes", "accepted", "seconds", "episodes/s", "/ target",
                "CPU ms/episode", "episodes/CPU-s"):
        table.add_column(col, justify="left" if col == "workload" else "right")
    for r in runs:
        table.add_row(r.workload, str(r.concurrency), str(len(r.episodes)), str(r.accepted), f"{r.elapsed_s:.2f}",
                      f"{r.eps:.1f}", _ratio(r.eps, TARGET_EPS), f"{r.cpu_s / len(r.episodes) * 1000:.1f}",
                      f"{len(r.episodes) / r.cpu_s:.1f}")
    return table


def _mean(xs: Sequence[float]) -> float:
    return statistics.fmean(xs) if xs else 0.0


def mode_table(runs: Sequence[Run]) -> Table:
    sequential = [e for r in runs if r.concurrency == 1 and r.workload == "all modes" for e in r.episodes]
    table = Table(title="1b. Per mode, sequential (all-modes run): mean per episode")
    for col in ("mode", "episodes", "episode ms", "episodes/s", "tool calls", "tool ms", "verification ms",
                "hub open+close ms"):
        table.add_column(col, justify="left" if col == "mode" else "right")
    for mode in MODES:
        es = [e for e in sequential if e.mode == mode]
        if not es:
            continue
        ph = [e.phases for e in es if e.phases]
        mean_total = _mean([e.total_ms for e in es])
        table.add_row(mode + (" (sandbox)" if mode in SANDBOX_MODES else ""), str(len(es)), f"{mean_total:.1f}",
                      f"{1000 / mean_total:.1f}", f"{_mean([e.calls for e in es]):.1f}",
                      f"{_mean([e.tool_ms for e in es]):.1f}",
                      f"{_mean([p.gold_ms + p.judge_ms for p in ph]):.1f}",
                      f"{_mean([p.hub_open_ms + p.hub_close_ms for p in ph]):.1f}")
    return table


def overhead_table(runs: Sequence[Run]) -> Table:
    table = Table(title=f"2. Harness overhead = episode time / sum of tool-call times (labels.tool_ms), sequential; "
                        f"target <= {TARGET_OVERHEAD:g}x")
    for col in ("workload", "tool ms/ep", "of which in handlers", "wall_ms / tool_ms",
                "episode w/o verification / tool_ms", "episode / tool_ms", "verification ms/ep"):
        table.add_column(col, justify="left" if col == "workload" else "right")
    for r in runs:
        if r.concurrency != 1:
            continue
        es = [e for e in r.episodes if e.phases is not None]
        tool = sum(e.tool_ms for e in es)
        verify = sum(e.phases.gold_ms + e.phases.judge_ms for e in es if e.phases)
        handler = sum(e.phases.handler_ms for e in es if e.phases and e.mode not in SANDBOX_MODES)
        tool_cluster = sum(e.tool_ms for e in es if e.mode not in SANDBOX_MODES)
        total = sum(e.total_ms for e in es)
        table.add_row(r.workload, f"{tool / len(es):.1f}",
                      f"{handler / tool_cluster:.0%}" if tool_cluster else "-",
                      _ratio(sum(e.wall_ms for e in es), tool), _ratio(total - verify, tool), _ratio(total, tool),
                      f"{verify / len(es):.1f}")
    return table


# --- part 3: a model over HTTP -------------------------------------------------------------------------------
def serve(blueprints_file: Path, delay_s: float) -> None:
    """The fake server process: answers as each episode's scripted assistant would, after ``delay_s``."""
    from fake_openai import FakeOpenAI

    table = {eid: Blueprint.model_validate(bp) for eid, bp in json.loads(blueprints_file.read_text()).items()}
    fake = FakeOpenAI(fixed_delay_s=delay_s)
    fake.responder = responder(table)
    fake.start()
    print(f"PORT {fake.base_url}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    fake.stop()


def responder(table: dict[str, Blueprint]) -> Callable[[dict[str, Any]], Any]:
    from fake_openai import Reply, _completion, usage

    def decide(body: dict[str, Any]) -> Reply:
        found = SESSION.search(str(body["messages"][0].get("content") or ""))
        if found is None or found.group(1) not in table:
            return Reply(status=400, body={"error": {"message": "unknown episode", "type": "invalid_request_error"}})
        eid = found.group(1)
        m = ScriptedAssistant(table[eid], session_id=eid).next_message(body["messages"]).to_openai()
        body.clear()  # the fake keeps every request body; these can be large
        return Reply(body=_completion(m, "tool_calls" if m.get("tool_calls") else "stop", usage(120, 30)))

    return decide


def _cpu_of(pid: int) -> Callable[[], float | None]:
    """Reads a process's CPU seconds (user + system) from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / ticks

    return read


@dataclass
class FakeServer:
    base_url: str
    cpu: Callable[[], float | None]  # the server process's CPU seconds so far (None when in this process)


@contextmanager
def fake_server(table: dict[str, Blueprint], delay_s: float, *, subprocess_: bool) -> Iterator[FakeServer]:
    if not subprocess_:
        from fake_openai import FakeOpenAI

        fake = FakeOpenAI(fixed_delay_s=delay_s)
        fake.responder = responder(table)
        fake.start()
        try:
            yield FakeServer(fake.base_url, lambda: None)
        finally:
            fake.stop()
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "blueprints.json"
        path.write_text(json.dumps({eid: bp.model_dump(mode="json") for eid, bp in table.items()}))
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(path), "--delay", str(delay_s)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.startswith("PORT "):
                raise RuntimeError(f"the fake server did not start: {line!r}")
            yield FakeServer(line.split()[1], _cpu_of(proc.pid))
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class LlmRun:
    backend: str
    server: str
    episodes: int
    accepted: int
    makespan_s: float
    ideal_s: float
    model_calls: int
    per_episode: float  # mean of (model calls x delay) / episode time
    cpu_s: float  # this process's CPU time during the batch
    server_cpu_s: float | None


@dataclass
class CallRun:
    backend: str
    server: str
    calls: int
    elapsed_s: float
    ideal_s: float
    cpu_s: float
    server_cpu_s: float | None


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def make_backend(kind: str, base_url: str, concurrency: int) -> ModelBackend:
    settings = GenerationSettings(timeout_s=60)
    # Retries without waiting: litellm's aiohttp pool can reuse a connection the server closed while idle
    # between runs (uvicorn's keep-alive is 5 s); the retry is what a run would do too.
    retry = RetryPolicy(max_attempts=3, base_delay_s=0.0)
    if kind == "LiteLLMBackend":
        return LiteLLMBackend("openai/fake-model", api_base=base_url, api_key="x", settings=settings, retry=retry)
    return OpenAICompatBackend("fake-model", api_base=base_url, api_key="x", settings=settings, retry=retry,
                               max_connections=concurrency)


async def run_llm(harness: Harness, blueprints: Sequence[Blueprint], warmup: Blueprint, *, kind: str,
                  fake: FakeServer, delay_s: float, server: str) -> LlmRun:
    backend = make_backend(kind, fake.base_url, len(blueprints))
    try:
        await harness.run(warmup, assistant=backend)  # lazy imports, the first connection
        durations: list[tuple[int, float]] = []
        accepted = 0

        async def one(bp: Blueprint) -> None:
            nonlocal accepted
            started = time.perf_counter()
            t = await harness.run(bp, assistant=backend)
            durations.append((t.labels.usage["assistant"].model_calls, time.perf_counter() - started))
            accepted += t.verdict == "accepted"

        started, cpu, server_cpu = time.perf_counter(), time.process_time(), fake.cpu()
        async with anyio.create_task_group() as tg:
            for bp in blueprints:
                tg.start_soon(one, bp)
        makespan, cpu = time.perf_counter() - started, time.process_time() - cpu
        server_cpu = _delta(server_cpu, fake.cpu())
    finally:
        if isinstance(backend, OpenAICompatBackend):
            await backend.aclose()
    ideal = max(calls for calls, _ in durations) * delay_s
    return LlmRun(kind, server, len(blueprints), accepted, makespan, ideal, sum(c for c, _ in durations),
                  _mean([c * delay_s / d for c, d in durations]), cpu, server_cpu)


async def run_calls(*, kind: str, fake: FakeServer, concurrency: int, per_task: int, delay_s: float,
                    server: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> CallRun:
    """Model calls alone: ``concurrency`` tasks, each making ``per_task`` calls one after another."""
    backend = make_backend(kind, fake.base_url, concurrency)
    try:
        await backend.complete(messages, tools)

        async def worker() -> None:
            for _ in range(per_task):
                await backend.complete(messages, tools)

        started, cpu, server_cpu = time.perf_counter(), time.process_time(), fake.cpu()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        server_cpu = _delta(server_cpu, fake.cpu())
    finally:
        if isinstance(backend, OpenAICompatBackend):
            await backend.aclose()
    return CallRun(kind, server, concurrency * per_task, elapsed, per_task * delay_s, cpu, server_cpu)


def _median_and_best(runs: Sequence[Any], ratio: Callable[[Any], float]) -> tuple[Any, float]:
    ordered = sorted(runs, key=ratio)
    return ordered[(len(ordered) - 1) // 2], ratio(ordered[-1])


def calls_table(groups: Sequence[Sequence[CallRun]], concurrency: int, delay_s: float) -> Table:
    first = groups[0][0]
    table = Table(title=f"3a. Model calls alone: {concurrency} tasks x {first.calls // concurrency} calls in a row "
                        f"(a real episode's request: system prompt, tools, a turn), fake server answering after "
                        f"{delay_s * 1000:g} ms; ideal = calls per task x delay; median of {len(groups[0])} rounds")
    for col in ("backend", "fake server", "calls", "calls/s", "ideal calls/s", "ideal / measured", "best",
                "client CPU ms/call", "server CPU ms/call"):
        table.add_column(col, justify="left" if col in ("backend", "fake server") else "right")
    for runs in groups:
        r, best = _median_and_best(runs, lambda x: x.ideal_s / x.elapsed_s)
        table.add_row(r.backend.removesuffix("Backend"), r.server, str(r.calls), f"{r.calls / r.elapsed_s:.0f}",
                      f"{r.calls / r.ideal_s:.0f}", f"{r.ideal_s / r.elapsed_s:.2f}", f"{best:.2f}",
                      f"{r.cpu_s / r.calls * 1000:.2f}", _per(r.server_cpu_s, r.calls))
    return table


def llm_table(groups: Sequence[Sequence[LlmRun]], delay_s: float) -> Table:
    first = groups[0][0]
    table = Table(title=f"3b. {first.episodes} concurrent episodes, the model behind a fake OpenAI server answering "
                        f"after {delay_s * 1000:g} ms; ratio = ideal / measured, ideal = largest (model calls x "
                        f"delay), target >= {TARGET_LLM:g}; per-episode = mean (calls x delay) / episode time; "
                        f"CPU ceiling = ideal / client CPU time; median of {len(groups[0])} rounds")
    for col in ("backend", "server", "episodes", "accepted", "calls", "ideal s", "measured s", "ratio", "best",
                "per-episode", "client CPU ms/ep", "server CPU ms/call", "CPU ceiling"):
        table.add_column(col, justify="left" if col in ("backend", "server") else "right")
    for runs in groups:
        r, best = _median_and_best(runs, lambda x: x.ideal_s / x.makespan_s)
        table.add_row(r.backend.removesuffix("Backend"), r.server, str(r.episodes), str(r.accepted),
                      str(r.model_calls), f"{r.ideal_s:.2f}", f"{r.makespan_s:.2f}", f"{r.ideal_s / r.makespan_s:.2f}",
                      f"{best:.2f}", f"{r.per_episode:.2f}", f"{r.cpu_s / r.episodes * 1000:.1f}",
                      _per(r.server_cpu_s, r.model_calls), f"{min(1.0, r.ideal_s / r.cpu_s):.2f}")
    return table


def _per(total_s: float | None, n: int) -> str:
    return "-" if total_s is None else f"{total_s / n * 1000:.2f}"


# --- main ----------------------------------------------------------------------------------------------------
async def main(args: argparse.Namespace) -> None:
    console = Console(width=160)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    workloads: dict[str, Callable[[Blueprint], bool]] = {
        "all modes": lambda bp: True,
        "without sandbox": lambda bp: bp.mode not in SANDBOX_MODES,
        "code_aggregation (sandbox)": lambda bp: bp.mode in SANDBOX_MODES,
    }
    n_sets = 1 + len(workloads) * len(concurrencies) + 1  # warm-up, the offline runs, the model runs
    catalog = Catalog.load()
    console.print(f"planning {args.per_mode} clusters x {len(MODES)} modes x {n_sets} sets ...")
    work = plan_workload(catalog, per_mode=args.per_mode, n_sets=n_sets, seed=args.seed)
    harness = Harness(catalog)
    harness.add_clusters(work.clusters)
    probe = Probe()
    probe.install()
    try:
        console.print(f"warm-up: {len(work.sets[0])} episodes on the same {len(work.clusters)} clusters ...")
        warm = await run_offline(harness, probe, work.sets[0], workload="warm-up", concurrency=1)
        runs: list[Run] = []
        k = 1
        for c in concurrencies:
            for name, keep in workloads.items():
                runs.append(await run_offline(harness, probe, [bp for bp in work.sets[k] if keep(bp)],
                                              workload=name, concurrency=c))
                k += 1
    finally:
        probe.uninstall()
    console.print(f"warm-up: {len(warm.episodes)} episodes, {warm.eps:.1f}/s (world seeding and validator "
                  f"compilation included)")
    console.print(throughput_table(runs, work))
    console.print(mode_table(runs))
    console.print(overhead_table(runs))

    pool = [bp for bp in work.sets[k] if bp.mode not in SANDBOX_MODES]
    chosen = [pool[i % len(pool)] for i in range(args.llm_episodes)]
    # Distinct episodes even when a blueprint repeats: each gets its own attempt number, hence its own id.
    llm_bps = [bp.model_copy(update={"id": f"{bp.id}-{i}"}) for i, bp in enumerate(chosen)]
    warmup = work.sets[0][0]
    table = {episode_id(bp, 0, 0): bp for bp in [*llm_bps, warmup]}
    for bp in [*llm_bps, warmup]:
        await harness.gold_check(bp)  # the same for every backend; not what this part measures
    # A request as an episode sends it: the system prompt and tools of a real world, then one user turn.
    probe_bp = llm_bps[0]
    first = await harness.run(probe_bp)
    request = list(first.messages[:2])
    llm_runs: dict[tuple[str, str], list[LlmRun]] = {}
    call_runs: dict[tuple[str, str], list[CallRun]] = {}
    for server in ("subprocess", "thread"):
        with fake_server(table, args.delay, subprocess_=server == "subprocess") as fake:
            for round_ in range(args.rounds):
                for kind in args.backends.split(","):  # interleaved, so machine noise hits both alike
                    console.print(f"model runs: {kind}, fake server in a {server}, round {round_ + 1} ...")
                    call_runs.setdefault((server, kind), []).append(await run_calls(
                        kind=kind, fake=fake, concurrency=args.llm_episodes, per_task=5, delay_s=args.delay,
                        server=server, messages=request, tools=first.tools))
                    llm_runs.setdefault((server, kind), []).append(await run_llm(
                        harness, llm_bps, warmup, kind=kind, fake=fake, delay_s=args.delay, server=server))
    console.print(calls_table(list(call_runs.values()), args.llm_episodes, args.delay))
    console.print(llm_table(list(llm_runs.values()), args.delay))
    if "litellm" in sys.modules:
        import litellm

        await litellm.close_litellm_async_clients()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-mode", type=int, default=10, help="clusters (and blueprints per set) per mode")
    parser.add_argument("--concurrency", default="1,4,8")
    parser.add_argument("--llm-episodes", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.1, help="the fake model server's answer delay, seconds")
    parser.add_argument("--backends", default="LiteLLMBackend,OpenAICompatBackend")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of part 3 (the median is shown)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve is not None:
        serve(arguments.serve, arguments.delay)
    else:
        anyio.run(main, arguments)
