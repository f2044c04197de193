"""The harness's front door: load a blueprint, set up its world and the sandbox, run or verify an episode.

``run_blueprint`` and ``verify_trajectory`` are what ``tdscaling episode run`` and ``episode verify`` call;
a run of many episodes shares one ``Harness`` (one sandbox, one cache of seeded worlds).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client

from tdscaling.servers import Catalog, ClusterSpec, SpecError, domain_cluster
from tdscaling.servers._json_files import load_model
from tdscaling.servers._resolve import load_cluster
from tdscaling.servers._runtime import ClusterRuntime
from tdscaling.servers._seed import Templates

from ._backend import ModelBackend
from ._blueprint import Blueprint
from ._episode import EpisodeLimits, run_episode
from ._plan_run import CallOutcome
from ._trajectory import Trajectory
from ._validators import ValidatorCache
from ._verify import GoldCheck, Judgement, Verifier


def load_blueprint(path: Path) -> Blueprint:
    """A blueprint from a JSON file; a malformed one raises ``SpecError`` naming the file and the path."""
    return load_model(Blueprint, path, what="blueprint", hint="see examples/blueprints/ for the format")


def load_messages(path: Path) -> list[dict[str, Any]]:
    """The conversation of a trajectory file: a trajectory object with ``messages``, or a list of messages."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise SpecError(f"cannot read the trajectory: {e.strerror}", source=str(path)) from None
    except json.JSONDecodeError as e:
        raise SpecError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}", source=path.name) from None
    messages = data.get("messages") if isinstance(data, dict) else data
    if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
        raise SpecError("expected a trajectory object with 'messages' (OpenAI chat format) or a list of messages",
                        source=path.name, path="messages")
    return messages


MAX_WORLDS = 256  # seeded worlds a harness keeps (about 0.4 MB each)


class Harness:
    """Shared state for many episodes: the catalog, seeded worlds, one sandbox MCP server, and each
    blueprint's self-checks (its gold replay runs once per harness, not once per episode)."""

    def __init__(self, catalog: Catalog, *, clusters_file: Path | None = None, rows: int | None = None,
                 sandbox_settings: Any = None, templates: Templates | None = None) -> None:
        from tdscaling.sandbox import SandboxSettings, build_sandbox_server

        self.catalog = catalog
        self.clusters_file = clusters_file
        self.rows = rows
        self.templates = templates or Templates()
        self.sandbox_server = build_sandbox_server(sandbox_settings or SandboxSettings())
        self._clusters: dict[str, ClusterSpec] = {}
        self._runtimes: dict[tuple[str, int | None], ClusterRuntime] = {}
        self._resolved: dict[str, ClusterSpec] = {}
        self._gold_checks: dict[tuple[str, int | None, str], GoldCheck] = {}
        self._initial_hashes: dict[tuple[str, int | None], str] = {}
        self.validators = ValidatorCache()

    def add_clusters(self, clusters: Sequence[ClusterSpec]) -> None:
        for c in clusters:
            self._clusters[c.id] = c

    def cluster(self, ref: str | ClusterSpec) -> ClusterSpec:
        """The cluster a blueprint names: inline, known to this harness, a domain, or in the clusters file."""
        if isinstance(ref, ClusterSpec):
            return ref
        if ref in self._clusters:
            return self._clusters[ref]
        # Building a domain's cluster takes milliseconds; a run asks for the same few on every episode.
        if ref in self._resolved:
            return self._resolved[ref]
        cluster = self._resolve(ref)
        self._resolved[ref] = cluster
        return cluster

    def _resolve(self, ref: str) -> ClusterSpec:
        if ref.startswith("cl-") and self.clusters_file is None:
            for d in self.catalog:
                c = domain_cluster(d)
                if c.id == ref:
                    return c
        return load_cluster(ref, self.catalog, clusters_file=self.clusters_file if ref.startswith("cl-") else None)

    def runtime(self, blueprint: Blueprint) -> ClusterRuntime:
        cluster = self.cluster(blueprint.cluster)
        key = (cluster.id, blueprint.seed)
        rt = self._runtimes.get(key)
        if rt is None:
            if len(self._runtimes) >= MAX_WORLDS:  # a long run meets thousands of clusters; keep memory bounded
                self._runtimes.clear()  # dropped, not closed: an episode in flight may still hold one
            rt = self._runtimes[key] = ClusterRuntime(cluster, self.catalog, seed=blueprint.seed,
                                                      rows=blueprint.rows or self.rows, templates=self.templates)
        return rt

    async def gold_check(self, blueprint: Blueprint) -> GoldCheck:
        """The blueprint's self-checks and gold state hash, computed once per harness and blueprint.

        The key is the blueprint's content, not its id: an edited copy keeps the id but not the plan.
        """
        runtime = self.runtime(blueprint)
        digest = hashlib.sha256(blueprint.model_dump_json().encode()).hexdigest()
        key = (runtime.cluster.id, runtime.seed, digest)
        check = self._gold_checks.get(key)
        if check is None:
            verifier = Verifier(blueprint, runtime, initial_hash=self._initial_hashes.get(key[:2]))
            check = self._gold_checks[key] = await verifier.check()
            self._initial_hashes[key[:2]] = verifier.initial_hash()
        return check

    async def run(self, blueprint: Blueprint, *, assistant: ModelBackend | None = None, user: Any = None,
                  limits: EpisodeLimits | None = None, seed: int = 0, attempt: int = 0) -> Trajectory:
        check = await self.gold_check(blueprint)
        return await run_episode(blueprint, self.runtime(blueprint), self.sandbox_server, assistant=assistant,
                                 user=user, limits=limits, seed=seed, attempt=attempt, gold_check=check,
                                 validators=self.validators)

    def remove_sandbox_leftovers(self) -> list[Path]:
        """Remove the temp folders, workspace mounts and cgroups that sandboxes of killed processes left
        (a ``kill -9`` cannot clean up; see ``tdscaling.sandbox.remove_leftovers``)."""
        from tdscaling.sandbox import remove_leftovers

        return remove_leftovers()

    @asynccontextmanager
    async def keep_sandbox(self) -> AsyncIterator[None]:
        """Hold the sandbox up for a batch of episodes.

        The sandbox server starts its sandbox when the first connection opens and stops it when the last one
        closes, so one-after-another episodes would start and stop it every time; one connection held open
        around the batch keeps it running (sessions stay per episode)."""
        async with Client(self.sandbox_server):
            yield

    @asynccontextmanager
    async def sandbox_caller(self) -> AsyncIterator[Any]:
        """An async ``(tool, args) -> CallOutcome`` over an MCP connection to this harness's sandbox."""
        async with Client(self.sandbox_server) as client:
            async def call(tool: str, args: dict[str, Any]) -> CallOutcome:
                r = await client.call_tool(tool, args)
                text = "\n".join(c.text for c in r.content if hasattr(c, "text"))
                return CallOutcome(bool(r.is_error), text, r.structured_content)

            yield call

    async def verify(self, blueprint: Blueprint, messages: Sequence[Mapping[str, Any]]) -> Judgement:
        """Judge a conversation made anywhere, by replaying its calls (see ``Verifier``)."""
        runtime = self.runtime(blueprint)  # resolve the cluster first: a bad reference is a plain SpecError
        check = await self.gold_check(blueprint)
        async with self.sandbox_caller() as call:
            async def replay_call(tool: str, args: dict[str, Any]) -> CallOutcome:
                return await call(tool, {**args, "session_id": f"{args.get('session_id', 'default')}-verify"})

            judgement = await Verifier(blueprint, runtime, sandbox=replay_call, gold_check=check).judge(messages)
        return judgement


async def run_blueprint(blueprint_path: Path, *, catalog: Catalog, assistant: ModelBackend | None = None,
                        user: Any = None, clusters_file: Path | None = None, seed: int = 0) -> Trajectory:
    """One episode of the blueprint in ``blueprint_path`` (scripted players unless given)."""
    bp = load_blueprint(blueprint_path)
    harness = Harness(catalog, clusters_file=clusters_file)
    return await harness.run(bp, assistant=assistant, user=user(bp) if callable(user) else user, seed=seed)


async def verify_trajectory(blueprint_path: Path, trajectory_path: Path, *, catalog: Catalog,
                            clusters_file: Path | None = None) -> Judgement:
    """Judge the trajectory in ``trajectory_path`` against the blueprint in ``blueprint_path``."""
    bp = load_blueprint(blueprint_path)
    messages = load_messages(trajectory_path)
    return await Harness(catalog, clusters_file=clusters_file).verify(bp, messages)
