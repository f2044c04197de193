"""A synthesis run: rounds of planned, concurrent episodes steered by the evolution controller.

Each round the strategy picks (cluster, mode) tasks; each task is planned into a blueprint (its own
seeded random generator, so the same run makes the same blueprints and episode ids), run as an episode,
verified, and appended to ``trajectories.jsonl`` or ``rejected.jsonl`` (planning failures to
``failures.jsonl``) the moment it finishes. A round ends with a line in ``rounds.jsonl`` and a fresh
report. ``resume`` replays the controller over finished rounds from those files, then skips every task of
the unfinished round that already has a line: nothing lost, nothing run twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field

from tdscaling.client import Blueprint, EpisodeLimits, Harness, Trajectory
from tdscaling.common import JsonlAppender, json_line, read_jsonl, write_atomic
from tdscaling.servers import Catalog, ClusterGenerator, ClusterSpec, Indexes, SpecError, read_clusters

from ._evolution import Task, make_strategy
from ._metrics import MetricsTracker, RoundMetrics, TrajectoryMeasure, measure
from ._modes import feasible_modes
from ._planner import Planner, PlanningFailure
from ._report import write_report
from ._writer import GoalWriter

logger = logging.getLogger(__name__)
StrategyName = Literal["evolve", "uniform", "quantity"]
RETRIES = 3  # other clusters tried when a task's cluster cannot give its mode
FILES = ("trajectories.jsonl", "rejected.jsonl", "failures.jsonl", "clusters.jsonl", "rounds.jsonl",
         "blueprints.jsonl")


class RunConfig(BaseModel):
    """Everything that decides what a run makes (stored in the manifest; a resume must match it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: int = Field(ge=1)
    per_round: int = Field(ge=1)
    strategy: StrategyName = "evolve"
    seed: int = 0
    concurrency: int = Field(default=8, ge=1)
    model: str | None = None
    user_model: str | None = None
    api_base: str | None = None
    domains: list[str] | None = None
    clusters_file: str | None = None
    pool_size: int = Field(default=0, ge=0)  # 0: 4 x per_round, at most 400
    pool_skew: list[str] | None = None  # start from a pool drawn mostly from these domains (benchmarks)
    rows: int | None = None
    # Wall-clock seconds for one task's model work: the goal rewrite and the whole conversation. A model call
    # still running at the deadline is cancelled and the task recorded as rejected with ``time_limit``.
    task_time_s: float = Field(default=300.0, gt=0, le=86_400)


def _same_config(old: Any, new: RunConfig) -> bool:
    """Whether a manifest's config is ``new``; a field the old manifest predates counts as its default."""
    if not isinstance(old, dict):
        return False
    current = new.model_dump(mode="json")
    for name, value in current.items():
        field = RunConfig.model_fields[name]
        expected = old[name] if name in old else field.get_default(call_default_factory=True)
        if expected != value:
            return False
    return set(old) <= set(current)


@dataclass
class RoundProgress:
    round: int
    rounds: int
    done: int
    total: int
    accepted: int
    rejected: int
    failed: int
    metrics: RoundMetrics | None = None


@dataclass
class RunResult:
    out: Path
    rounds: list[RoundMetrics]
    accepted: int
    rejected: int
    failed: int  # tasks no cluster could be planned for (after retries)
    failure_reasons: Counter[str] = field(default_factory=Counter)  # every failed planning attempt, by reason
    rejection_reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("tdscaling", "mcp", "litellm", "pydantic", "networkx"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _initial_pool(config: RunConfig, catalog: Catalog, domains: Sequence[str]) -> list[ClusterSpec]:
    if config.clusters_file:
        given = list(read_clusters(Path(config.clusters_file)))
        if not given:
            raise SpecError("holds no clusters", source=config.clusters_file)
        return given
    size = config.pool_size or min(400, 4 * config.per_round)
    chosen = catalog.select(list(domains))
    if config.pool_skew:
        heavy = catalog.select(config.pool_skew)
        gen_heavy = ClusterGenerator(heavy, seed=config.seed, cross_domain_share=0.0)
        gen_all = ClusterGenerator(chosen, seed=config.seed + 1)
        pool: list[ClusterSpec] = []
        for c in gen_heavy:
            pool.append(c)
            if len(pool) >= int(size * 0.85):
                break
        for c in gen_all:
            if len(pool) >= size:
                break
            pool.append(c)
        return pool
    gen = ClusterGenerator(chosen, seed=config.seed)
    out = []
    for c in gen:
        out.append(c)
        if len(out) >= size:
            break
    return out


def _task_rng(seed: int, rnd: int, slot: int) -> random.Random:
    return random.Random(int.from_bytes(hashlib.blake2b(f"{seed}:{rnd}:{slot}".encode(), digest_size=8).digest(),
                                        "big"))


def _round_rng(seed: int, rnd: int) -> random.Random:
    return _task_rng(seed, rnd, -1)


def task_key(rnd: int, slot: int) -> str:
    return f"r{rnd:03d}-{slot:04d}"


class SynthRun:
    """One run over ``out``; call ``await run()``. ``on_progress`` hears about every finished task."""

    def __init__(self, config: RunConfig, out: Path, *, catalog: Catalog, resume: bool = False,
                 on_progress: Callable[[RoundProgress], None] | None = None,
                 assistant_factory: Callable[[Blueprint], Any] | None = None,
                 user_factory: Callable[[Blueprint], Any] | None = None,
                 goal_writer: GoalWriter | None = None,
                 manifest_extra: Mapping[str, Any] | None = None) -> None:
        self.config = config
        self.manifest_extra = dict(manifest_extra or {})
        self.goal_writer = goal_writer
        self.out = out
        self.catalog = catalog
        self.resume = resume
        self.on_progress = on_progress
        self.assistant_factory = assistant_factory
        self.user_factory = user_factory
        self.domains = list(config.domains or catalog.names())
        self.indexes = Indexes({d.name: d for d in catalog})
        self.planner = Planner(catalog, rows=config.rows)
        self.harness = Harness(catalog, rows=config.rows, templates=self.planner.templates)
        self.tracker = MetricsTracker(domains=self.domains)
        self.rejection_reasons: Counter[str] = Counter()
        self.failure_reasons: Counter[str] = Counter()
        self.history: list[RoundMetrics] = []
        self._known_clusters: set[str] = set()
        self._feasible_cache: dict[str, set[str]] = {}
        self.failed_tasks = 0
        self._round_counts: dict[int, tuple[TrajectoryMeasure | None, ClusterSpec]] = {}
        self._blueprints_written: set[str] = set()
        self._pool: Callable[[], list[ClusterSpec]] = list
        self._clusters: dict[str, ClusterSpec] = {}

    # --- files ---------------------------------------------------------------------------------------
    def _check_out(self) -> None:
        """Refuse before any work starts: a fresh run needs an empty --out, a resume a run made with the same
        configuration and catalog."""
        if self.out.exists() and not self.out.is_dir():
            raise SpecError("is a file; --out takes a directory", source=str(self.out))
        manifest_path = self.out / "manifest.json"
        if self.resume:
            if not self.out.is_dir():
                raise SpecError("does not exist, so there is no run to resume; drop --resume to start one",
                                source=str(self.out))
            if not manifest_path.is_file():
                raise SpecError("has no manifest.json: not a tdscaling run to resume", source=str(self.out))
            try:
                old = json.loads(manifest_path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as e:
                raise SpecError(f"cannot be read ({type(e).__name__}: {str(e)[:120]}); not a run this version can "
                                "resume", source=str(manifest_path)) from None
            if not isinstance(old, dict):
                raise SpecError("is not a run manifest (not a JSON object)", source=str(manifest_path))
            if not _same_config(old.get("config"), self.config):
                raise SpecError("was made with another configuration; --resume needs the same flags "
                                f"(the run used {old.get('config')})", source=str(self.out))
            if old.get("catalog") != self._digests():
                held = old.get("catalog")
                catalog: dict[str, str] = held if isinstance(held, dict) else {}
                changed = sorted(set(catalog.items()) ^ set(self._digests().items()))
                raise SpecError("was made with another domain catalog; resume with the same --catalog "
                                f"directories (differs in {sorted({n for n, _ in changed})})", source=str(self.out))
        elif self.out.exists() and any(self.out.iterdir()):
            raise SpecError("the output directory is not empty; pass --resume to continue that run, or choose "
                            "a new --out", source=str(self.out))

    def _prepare(self) -> None:
        manifest_path = self.out / "manifest.json"
        self.out.mkdir(parents=True, exist_ok=True)
        if not manifest_path.exists():
            write_atomic(manifest_path, json.dumps({
                "config": self.config.model_dump(mode="json"), "versions": _versions(),
                "catalog": self._digests(), **self.manifest_extra,
                "started": datetime.now(UTC).isoformat(timespec="seconds"), "seed": self.config.seed,
            }, indent=2))
        self.files = {name: JsonlAppender(self.out / name) for name in FILES}

    def _digests(self) -> dict[str, str]:
        return {d.name: self.indexes[d.name].digest for d in self.catalog}

    def _close(self) -> None:
        for f in self.files.values():
            f.close()

    def _remember_cluster(self, c: ClusterSpec) -> None:
        self._clusters[c.id] = c
        if c.id not in self._known_clusters:
            self._known_clusters.add(c.id)
            self.files["clusters.jsonl"].append(c.model_dump_json())

    # --- resume: rebuild the controller and the metrics from the files ----------------------------------
    def _load_done(self) -> tuple[dict[str, dict[str, Any]], list[RoundMetrics]]:
        done: dict[str, dict[str, Any]] = {}
        for name in ("trajectories.jsonl", "rejected.jsonl", "failures.jsonl"):
            for rec in read_jsonl(self.out / name):
                key = rec.get("task") or (rec.get("labels") or {}).get("task")
                if key:
                    done[key] = {"file": name, **rec}
        self._blueprints_written = {str(r.get("task")) for r in read_jsonl(self.out / "blueprints.jsonl")}
        for rec in read_jsonl(self.out / "clusters.jsonl"):
            c = ClusterSpec.model_validate(rec)
            self._clusters[c.id] = c
            self._known_clusters.add(c.id)
        rounds = [RoundMetrics.model_validate(r) for r in read_jsonl(self.out / "rounds.jsonl")]
        return done, rounds

    # --- one task --------------------------------------------------------------------------------------
    async def _task(self, rnd: int, slot: int, task: Task, limiter: anyio.CapacityLimiter,
                    results: dict[str, dict[int, Task]], progress: RoundProgress) -> None:
        async with limiter:
            key = task_key(rnd, slot)
            rng = _task_rng(self.config.seed, rnd, slot)
            planned = task
            bp, task, reasons = self._plan(task, rng)
            if bp is None:
                self.failure_reasons.update(r for _, r in reasons)
                self.files["failures.jsonl"].append(json_line({
                    "task": key, "round": rnd, "cluster_id": task.cluster.id, "mode": task.mode,
                    "reason": reasons[0][1], "attempts": [{"cluster_id": c, "reason": r} for c, r in reasons]}))
                results["failed"][slot] = task
                progress.failed += 1
                self.failed_tasks += 1
            else:
                self.failure_reasons.update(r for _, r in reasons)
                # One deadline for the task's model work: a hung call (to the writer, the assistant or the user)
                # is cancelled at it, so no single task can hold its round open.
                deadline = anyio.current_time() + self.config.task_time_s
                if self.goal_writer is not None:
                    with anyio.move_on_after(self.config.task_time_s):
                        bp = await self.goal_writer.rewrite(bp)  # cancelled: the template's goal stays
                assistant = self.assistant_factory(bp) if self.assistant_factory else None
                user = self.user_factory(bp) if self.user_factory else None
                self.harness.add_clusters([task.cluster])
                remaining = max(0.0, deadline - anyio.current_time())
                t = await self.harness.run(bp, assistant=assistant, user=user, seed=self.config.seed,
                                           attempt=rnd * 100_000 + slot, limits=EpisodeLimits(time_s=remaining))
                if key not in self._blueprints_written:  # a resumed task may have written it before the kill
                    self._blueprints_written.add(key)
                    self.files["blueprints.jsonl"].append(json_line({"task": key, "round": rnd,
                                                                     "blueprint": bp.model_dump(mode="json")}))
                self._record(key, rnd, slot, t, task, attempts=reasons)
                results["accepted" if t.verdict == "accepted" else "rejected"][slot] = task
                if task.cluster.id != planned.cluster.id:  # the planned pair failed; the controller must know
                    results["retried"][slot] = planned
                if t.verdict == "accepted":
                    progress.accepted += 1
                else:
                    progress.rejected += 1
            progress.done += 1
            if self.on_progress:
                self.on_progress(progress)

    def _plan(self, task: Task, rng: random.Random) -> tuple[Blueprint | None, Task, list[tuple[str, str]]]:
        """Plan ``task``; when its cluster cannot give that mode, retry on up to ``RETRIES`` other clusters of
        the pool that can (chosen by the task's own generator). Failures are kept by reason."""
        reasons: list[tuple[str, str]] = []
        candidates = [task.cluster]
        others = [c for c in self._pool() if c.id != task.cluster.id and task.mode in self._feasible(c)]
        rng_alt = random.Random(rng.random())
        candidates += rng_alt.sample(others, min(RETRIES, len(others)))
        for cluster in candidates:
            self._remember_cluster(cluster)
            try:
                return self.planner.plan(cluster, task.mode, rng), Task(cluster, task.mode), reasons
            except PlanningFailure as e:
                reasons.append((cluster.id, e.reason))
        return None, task, reasons

    def _feasible(self, cluster: ClusterSpec) -> set[str]:
        known = self._feasible_cache.get(cluster.id)
        if known is None:
            known = self._feasible_cache[cluster.id] = set(feasible_modes(cluster, self.indexes))
        return known

    def _record(self, key: str, rnd: int, slot: int, t: Trajectory, task: Task, *,
                attempts: Sequence[tuple[str, str]] = ()) -> None:
        self._count(slot, t, task.cluster)
        row = t.model_dump(mode="json")
        row["task"] = key
        row["round"] = rnd
        row["planning_attempts"] = [{"cluster_id": c, "reason": r} for c, r in attempts]
        self.files["trajectories.jsonl" if t.verdict == "accepted" else "rejected.jsonl"].append(json_line(row))

    def _count(self, slot: int, t: Trajectory, cluster: ClusterSpec) -> None:
        """Measure now (the row carries the observed mode); add to the metrics at the round's end, in slot
        order, so the sums are the same whatever order episodes finished in (and after a resume)."""
        if t.verdict == "accepted":
            m = measure(t, cluster, self.tracker.weights)
            t.labels.observed_mode = m.mode
            self._round_counts[slot] = (m, cluster)
        else:
            self.rejection_reasons.update(t.reasons)
            self._round_counts[slot] = (None, cluster)

    def _close_round(self) -> RoundMetrics:
        for slot in sorted(self._round_counts):
            m, cluster = self._round_counts[slot]
            if m is None:
                self.tracker.reject(cluster)
            else:
                self.tracker.add_measure(m, cluster)
        self._round_counts.clear()
        return self.tracker.end_round()

    # --- the run -----------------------------------------------------------------------------------------
    async def run(self) -> RunResult:
        started = time.perf_counter()
        self._check_out()
        pool = _initial_pool(self.config, self.catalog, self.domains)  # a bad input fails before any file is written
        self._prepare()
        if self.resume:  # the killed run could not clean up after its sandbox
            for path in self.harness.remove_sandbox_leftovers():
                logger.info("removed %s, left by a sandbox whose process is gone", path)
        try:
            async with self.harness.keep_sandbox():
                return await self._run(started, pool)
        finally:
            self._close()

    async def _run(self, started: float, pool: list[ClusterSpec]) -> RunResult:
        cfg = self.config
        done, finished_rounds = self._load_done() if self.resume else ({}, [])
        strategy = make_strategy(cfg.strategy, pool, self.indexes, domains=self.domains)
        self._pool = lambda: strategy.pool
        limiter = anyio.CapacityLimiter(cfg.concurrency)
        for rnd in range(1, cfg.rounds + 1):
            tasks = strategy.plan_round(cfg.per_round, _round_rng(cfg.seed, rnd))
            results: dict[str, dict[int, Task]] = {"accepted": {}, "rejected": {}, "failed": {}, "retried": {}}
            progress = RoundProgress(rnd, cfg.rounds, 0, len(tasks), 0, 0, 0)
            pending = []
            for slot, task in enumerate(tasks):
                rec = done.get(task_key(rnd, slot))
                if rec is None:
                    pending.append((slot, task))
                    continue
                self._replay_record(rec, slot, task, results, progress)
            if rnd <= len(finished_rounds):
                metrics = finished_rounds[rnd - 1]
                self._close_round()
            else:
                async with anyio.create_task_group() as tg:
                    for slot, task in pending:
                        tg.start_soon(self._task, rnd, slot, task, limiter, results, progress)
                metrics = self._close_round()
                self.files["rounds.jsonl"].append(metrics.model_dump_json())
            self.history.append(metrics)
            ordered = {k: [v[i] for i in sorted(v)] for k, v in results.items()}  # slot order, as on a resume
            strategy.observe(metrics, accepted=ordered["accepted"], rejected=ordered["rejected"],
                             planning_failures=[*ordered["failed"], *ordered["retried"]])
            progress.metrics = metrics
            if self.on_progress:
                self.on_progress(progress)
            self._report(strategy)
        return RunResult(self.out, self.history, self.history[-1].accepted, self.history[-1].rejected,
                         self.failed_tasks, self.failure_reasons, self.rejection_reasons,
                         time.perf_counter() - started)

    def _replay_record(self, rec: dict[str, Any], slot: int, task: Task, results: dict[str, dict[int, Task]],
                       progress: RoundProgress) -> None:
        """Count a task finished before a resume exactly as if it had just run."""
        progress.done += 1
        if rec["file"] == "failures.jsonl":
            self.failure_reasons.update(a["reason"] for a in rec.get("attempts") or [{"reason": rec["reason"]}])
            self.failed_tasks += 1
            results["failed"][slot] = task
            progress.failed += 1
            return
        t = Trajectory.model_validate({k: v for k, v in rec.items()
                                       if k not in ("file", "task", "round", "planning_attempts")})
        self.failure_reasons.update(a["reason"] for a in rec.get("planning_attempts") or [])
        # the episode may have run on another cluster than planned (a retry): count the one it ran on, and
        # the planned pair as a planning failure, exactly as the live run did
        if t.labels.cluster_id != task.cluster.id:
            results["retried"][slot] = task
        task = Task(self._clusters.get(t.labels.cluster_id, task.cluster), task.mode)
        self._count(slot, t, task.cluster)
        if t.verdict == "accepted":
            results["accepted"][slot] = task
            progress.accepted += 1
        else:
            results["rejected"][slot] = task
            progress.rejected += 1

    def _report(self, strategy: Any) -> None:
        manifest = json.loads((self.out / "manifest.json").read_text())
        funnel = Counter(self.rejection_reasons)
        for reason, n in self.failure_reasons.items():
            funnel[f"planning:{reason}"] += n
        write_report(self.out, self.history, manifest, funnel, strategy.decisions)


async def synth_run(config: RunConfig, out: Path, *, catalog: Catalog, resume: bool = False,
                    on_progress: Callable[[RoundProgress], None] | None = None,
                    assistant_factory: Callable[[Blueprint], Any] | None = None,
                    user_factory: Callable[[Blueprint], Any] | None = None,
                    goal_writer: GoalWriter | None = None,
                    manifest_extra: Mapping[str, Any] | None = None) -> RunResult:
    """Run (or resume) a synthesis run into ``out``. ``goal_writer`` rewords each blueprint's goal with a
    model (``tdscaling synth run --model`` does this)."""
    run = SynthRun(config, out, catalog=catalog, resume=resume, on_progress=on_progress,
                   assistant_factory=assistant_factory, user_factory=user_factory, goal_writer=goal_writer,
                   manifest_extra=manifest_extra)
    return await run.run()
