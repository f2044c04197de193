"""A synthesis run: rounds of planned, concurrent episodes steered by the evolution controller.

Each round the strategy picks (cluster, mode) tasks; each task is planned into a blueprint (its own
seeded random generator, so the same run makes the same blueprints and episode ids), played and judged by
the executor, and its row appended to the run's folder (``RunFolder``) the moment it finishes. A round
ends with a line in ``rounds.jsonl`` and a fresh report. ``resume`` replays the controller over finished
rounds from those files, then skips every task of the unfinished round that already has a row: nothing lost,
nothing run twice.
"""

from __future__ import annotations

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
from typing import Any

import anyio

from tdscaling.client import Blueprint, EpisodeLimits, Harness, ModelBackend, Trajectory, UserSimulator
from tdscaling.servers import Catalog, ClusterSpec, Indexes, SpecError

from ._evolution import Strategy, Task, make_strategy
from ._executor import EpisodeExecutor
from ._metrics import MetricsTracker, RoundMetrics, TrajectoryMeasure, measure
from ._modes import feasible_modes
from ._planner import Planner, PlanningFailure
from ._pool import initial_pool, round_rng, task_key, task_rng
from ._report import write_report
from ._rows import BlueprintRow, FailureRow, PlanningAttempt, TrajectoryRow
from ._run_config import RunConfig, same_config
from ._run_folder import RunAppender, RunFolder
from ._writer import GoalWriter

logger = logging.getLogger(__name__)
RETRIES = 3  # other clusters tried when a task's cluster cannot give its mode
Outcomes = dict[str, dict[int, Task]]  # "accepted" | "rejected" | "failed" | "retried" -> slot -> task


@dataclass
class RoundProgress:
    """Where a run is: after every finished task, and at the end of each round (with its ``metrics``)."""

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
    """What a run made: its folder, the metrics after each round, and its counts."""

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


class SynthRun:
    """One run over ``out``; call ``await run()``. ``on_progress`` hears about every finished task.

    The players come from ``config`` (``RunConfig.players``) unless ``assistant_factory``/``user_factory``
    make them per blueprint (``None`` from a factory: the scripted player); with a ``config.model`` the goals
    are reworded by it unless ``goal_writer`` is given. ``executor`` plays the episodes (a ``Harness`` by
    default).
    """

    files: RunAppender  # open while ``run`` runs

    def __init__(self, config: RunConfig, out: Path, *, catalog: Catalog, resume: bool = False,
                 on_progress: Callable[[RoundProgress], None] | None = None,
                 assistant_factory: Callable[[Blueprint], ModelBackend | None] | None = None,
                 user_factory: Callable[[Blueprint], UserSimulator | None] | None = None,
                 goal_writer: GoalWriter | None = None, executor: EpisodeExecutor | None = None,
                 manifest_extra: Mapping[str, Any] | None = None) -> None:
        self.config = config
        self.manifest_extra = dict(manifest_extra or {})
        self.folder = RunFolder(out)
        self.out = out
        self.catalog = catalog
        self.resume = resume
        self.on_progress = on_progress
        players = config.players()
        self.assistant_factory = assistant_factory or (lambda bp: players.assistant)
        self.user_factory = user_factory or players.user_for
        self.goal_writer = goal_writer or (GoalWriter(players.assistant) if players.assistant else None)
        self.domains = list(config.domains or catalog.names())
        self.indexes = Indexes({d.name: d for d in catalog})
        self.planner = Planner(catalog, rows=config.rows)
        self.executor = executor or Harness(catalog, rows=config.rows, templates=self.planner.templates)
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

    # --- the folder ----------------------------------------------------------------------------------------
    def _check_out(self) -> None:
        """Refuse before any work starts: a fresh run needs an empty --out, a resume a run made with the same
        configuration and catalog."""
        out = self.out
        if out.exists() and not out.is_dir():
            raise SpecError("is a file; --out takes a directory", source=str(out))
        if not self.resume:
            if out.exists() and any(out.iterdir()):
                raise SpecError("the output directory is not empty; pass --resume to continue that run, or choose "
                                "a new --out", source=str(out))
            return
        if not out.is_dir():
            raise SpecError("does not exist, so there is no run to resume; drop --resume to start one",
                            source=str(out))
        if not (self.folder / RunFolder.MANIFEST).is_file():
            raise SpecError("has no manifest.json: not a tdscaling run to resume", source=str(out))
        old = self.folder.read_manifest()
        if not same_config(old.get("config"), self.config):
            raise SpecError("was made with another configuration; --resume needs the same flags "
                            f"(the run used {old.get('config')})", source=str(out))
        if old.get("catalog") != self._digests():
            held = old.get("catalog")
            catalog: dict[str, str] = held if isinstance(held, dict) else {}
            changed = sorted(set(catalog.items()) ^ set(self._digests().items()))
            raise SpecError("was made with another domain catalog; resume with the same --catalog "
                            f"directories (differs in {sorted({n for n, _ in changed})})", source=str(out))

    def _prepare(self) -> RunAppender:
        self.out.mkdir(parents=True, exist_ok=True)
        if not (self.folder / RunFolder.MANIFEST).exists():
            self.folder.write_manifest({
                "config": self.config.model_dump(mode="json"), "versions": _versions(),
                "catalog": self._digests(), **self.manifest_extra,
                "started": datetime.now(UTC).isoformat(timespec="seconds"), "seed": self.config.seed,
            })
        return self.folder.appender()

    def _digests(self) -> dict[str, str]:
        return {d.name: self.indexes[d.name].digest for d in self.catalog}

    def _remember_cluster(self, c: ClusterSpec) -> None:
        self._clusters[c.id] = c
        if c.id not in self._known_clusters:
            self._known_clusters.add(c.id)
            self.files.cluster(c)

    # --- resume: rebuild the controller and the metrics from the files ----------------------------------
    def _load_done(self) -> tuple[dict[str, TrajectoryRow | FailureRow], list[RoundMetrics]]:
        done: dict[str, TrajectoryRow | FailureRow] = {}
        rows: list[TrajectoryRow | FailureRow] = [*self.folder.trajectories(), *self.folder.rejected(),
                                                  *self.folder.failures()]
        for row in rows:
            done[row.task] = row
        self._blueprints_written = {r.task for r in self.folder.blueprints()}
        for c in self.folder.clusters():
            self._clusters[c.id] = c
            self._known_clusters.add(c.id)
        return done, list(self.folder.rounds())

    # --- one task --------------------------------------------------------------------------------------
    async def _task(self, rnd: int, slot: int, task: Task, limiter: anyio.CapacityLimiter, results: Outcomes,
                    progress: RoundProgress) -> None:
        async with limiter:
            key = task_key(rnd, slot)
            planned = task
            bp, task, reasons = self._plan(task, task_rng(self.config.seed, rnd, slot))
            self.failure_reasons.update(r for _, r in reasons)
            attempts = [PlanningAttempt(cluster_id=c, reason=r) for c, r in reasons]
            if bp is None:
                self.files.failure(FailureRow(task=key, round=rnd, cluster_id=task.cluster.id, mode=task.mode,
                                              reason=reasons[0][1], attempts=attempts))
                results["failed"][slot] = task
                progress.failed += 1
                self.failed_tasks += 1
            else:
                t = await self._episode(bp, task, rnd=rnd, slot=slot)
                if key not in self._blueprints_written:  # a resumed task may have written it before the kill
                    self._blueprints_written.add(key)
                    self.files.blueprint(BlueprintRow(task=key, round=rnd, blueprint=bp))
                self._record(key, rnd, slot, t, task, attempts=attempts)
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

    async def _episode(self, bp: Blueprint, task: Task, *, rnd: int, slot: int) -> Trajectory:
        """The task's episode, under one deadline for its model work: a hung call (to the writer, the assistant
        or the user) is cancelled at it, so no single task can hold its round open."""
        deadline = anyio.current_time() + self.config.task_time_s
        if self.goal_writer is not None:
            with anyio.move_on_after(self.config.task_time_s):
                bp = await self.goal_writer.rewrite(bp)  # cancelled: the template's goal stays
        assistant = self.assistant_factory(bp)
        user = self.user_factory(bp)
        self.executor.add_clusters([task.cluster])
        remaining = max(0.0, deadline - anyio.current_time())
        return await self.executor.run(bp, assistant=assistant, user=user, seed=self.config.seed,
                                       attempt=rnd * 100_000 + slot, limits=EpisodeLimits(time_s=remaining))

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
                attempts: Sequence[PlanningAttempt] = ()) -> None:
        self._count(slot, t, task.cluster)
        self.files.trajectory(TrajectoryRow.model_validate({**dict(t), "task": key, "round": rnd,
                                                            "planning_attempts": list(attempts)}))

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
        """Run (or resume) every round; the files, worlds and sandbox it opened are closed however it ends."""
        started = time.perf_counter()
        try:
            self._check_out()
            pool = initial_pool(self.config, self.catalog, self.domains)  # a bad input fails before any file
            with self._prepare() as self.files:
                if self.resume:  # the killed run could not clean up after its sandbox
                    for path in self.executor.remove_sandbox_leftovers():
                        logger.info("removed %s, left by a sandbox whose process is gone", path)
                async with self.executor.keep_sandbox():
                    await self._rounds(pool)
        finally:
            self.executor.close()
            self.planner.close()
        return RunResult(self.out, self.history, self.history[-1].accepted, self.history[-1].rejected,
                         self.failed_tasks, self.failure_reasons, self.rejection_reasons,
                         time.perf_counter() - started)

    async def _rounds(self, pool: list[ClusterSpec]) -> None:
        cfg = self.config
        done, finished_rounds = self._load_done() if self.resume else ({}, [])
        strategy = make_strategy(cfg.strategy, pool, self.indexes, domains=self.domains)
        self._pool = lambda: strategy.pool
        limiter = anyio.CapacityLimiter(cfg.concurrency)
        for rnd in range(1, cfg.rounds + 1):
            tasks = strategy.plan_round(cfg.per_round, round_rng(cfg.seed, rnd))
            results: Outcomes = {"accepted": {}, "rejected": {}, "failed": {}, "retried": {}}
            progress = RoundProgress(rnd, cfg.rounds, 0, len(tasks), 0, 0, 0)
            pending = []
            for slot, task in enumerate(tasks):
                row = done.get(task_key(rnd, slot))
                if row is None:
                    pending.append((slot, task))
                    continue
                self._replay_row(row, slot, task, results, progress)
            if rnd <= len(finished_rounds):
                metrics = finished_rounds[rnd - 1]
                self._close_round()
            else:
                async with anyio.create_task_group() as tg:
                    for slot, task in pending:
                        tg.start_soon(self._task, rnd, slot, task, limiter, results, progress)
                metrics = self._close_round()
                self.files.round(metrics)
            self.history.append(metrics)
            ordered = {k: [v[i] for i in sorted(v)] for k, v in results.items()}  # slot order, as on a resume
            strategy.observe(metrics, accepted=ordered["accepted"], rejected=ordered["rejected"],
                             planning_failures=[*ordered["failed"], *ordered["retried"]])
            progress.metrics = metrics
            if self.on_progress:
                self.on_progress(progress)
            self._report(strategy)

    def _replay_row(self, row: TrajectoryRow | FailureRow, slot: int, task: Task, results: Outcomes,
                    progress: RoundProgress) -> None:
        """Count a task finished before a resume exactly as if it had just run."""
        progress.done += 1
        if isinstance(row, FailureRow):
            self.failure_reasons.update(a.reason for a in row.attempts or [PlanningAttempt(cluster_id="",
                                                                                             reason=row.reason)])
            self.failed_tasks += 1
            results["failed"][slot] = task
            progress.failed += 1
            return
        self.failure_reasons.update(a.reason for a in row.planning_attempts)
        # the episode may have run on another cluster than planned (a retry): count the one it ran on, and
        # the planned pair as a planning failure, exactly as the live run did
        if row.labels.cluster_id != task.cluster.id:
            results["retried"][slot] = task
        task = Task(self._clusters.get(row.labels.cluster_id, task.cluster), task.mode)
        self._count(slot, row, task.cluster)
        if row.verdict == "accepted":
            results["accepted"][slot] = task
            progress.accepted += 1
        else:
            results["rejected"][slot] = task
            progress.rejected += 1

    def _report(self, strategy: Strategy) -> None:
        manifest = self.folder.read_manifest()
        funnel = Counter(self.rejection_reasons)
        for reason, n in self.failure_reasons.items():
            funnel[f"planning:{reason}"] += n
        write_report(self.out, self.history, manifest, funnel, strategy.decisions)


async def synth_run(config: RunConfig, out: Path, *, catalog: Catalog, resume: bool = False,
                    on_progress: Callable[[RoundProgress], None] | None = None,
                    assistant_factory: Callable[[Blueprint], ModelBackend | None] | None = None,
                    user_factory: Callable[[Blueprint], UserSimulator | None] | None = None,
                    goal_writer: GoalWriter | None = None, executor: EpisodeExecutor | None = None,
                    manifest_extra: Mapping[str, Any] | None = None) -> RunResult:
    """``SynthRun(...).run()``: a run whose players, goal writer or executor are given as objects (the public
    ``synthesize`` takes them from the config)."""
    run = SynthRun(config, out, catalog=catalog, resume=resume, on_progress=on_progress,
                   assistant_factory=assistant_factory, user_factory=user_factory, goal_writer=goal_writer,
                   executor=executor, manifest_extra=manifest_extra)
    return await run.run()
