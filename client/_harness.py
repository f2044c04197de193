"""The harness: a blueprint's world and the sandbox, set up once for many episodes and verifications.

A run of many episodes shares one ``Harness`` (one sandbox server, one cache of seeded worlds, each
blueprint's self-checks computed once); ``run_episode`` and ``verify`` make one for a single call. Close it
(or use it as a context manager) to close the worlds it seeded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from mcp import Client

from tdscaling.servers import (
    Catalog,
    ClusterRuntime,
    ClusterSpec,
    SpecError,
    Templates,
    domain_cluster,
    load_cluster,
    load_model,
)

from ._backend import ModelBackend
from ._blueprint import Blueprint
from ._calls import ToolOutcome
from ._conversation import EpisodeLimits
from ._episode import play_episode
from ._trajectory import Trajectory
from ._user import UserSimulator
from ._validators import ValidatorCache
from ._verdict import Judgement
from ._verify import GoldCheck, Verifier
from ._world import SandboxCaller

if TYPE_CHECKING:
    from tdscaling.sandbox import SandboxSettings


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
                 sandbox_settings: SandboxSettings | None = None, templates: Templates | None = None) -> None:
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

    def close(self) -> None:
        """Close the seeded worlds this harness keeps (an episode in flight holds its own fresh copy)."""
        runtimes, self._runtimes = list(self._runtimes.values()), {}
        for rt in runtimes:
            rt.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

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

    async def run(self, blueprint: Blueprint, *, assistant: ModelBackend | None = None,
                  user: UserSimulator | None = None, limits: EpisodeLimits | None = None, seed: int = 0,
                  attempt: int = 0) -> Trajectory:
        """Play and judge one episode of ``blueprint`` (scripted players unless given)."""
        check = await self.gold_check(blueprint)
        return await play_episode(blueprint, self.runtime(blueprint), self.sandbox_server, assistant=assistant,
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
    async def sandbox_caller(self) -> AsyncIterator[SandboxCaller]:
        """An async ``(tool, args) -> ToolOutcome`` over an MCP connection to this harness's sandbox."""
        async with Client(self.sandbox_server) as client:
            async def call(tool: str, args: dict[str, Any]) -> ToolOutcome:
                return ToolOutcome.of(await client.call_tool(tool, args))

            yield call

    async def verify(self, blueprint: Blueprint, messages: Sequence[Mapping[str, Any]]) -> Judgement:
        """Judge a conversation made anywhere, by replaying its calls (see ``Verifier``)."""
        runtime = self.runtime(blueprint)  # resolve the cluster first: a bad reference is a plain SpecError
        check = await self.gold_check(blueprint)
        async with self.sandbox_caller() as call:
            async def replay_call(tool: str, args: dict[str, Any]) -> ToolOutcome:
                return await call(tool, {**args, "session_id": f"{args.get('session_id', 'default')}-verify"})

            judgement = await Verifier(blueprint, runtime, sandbox=replay_call, gold_check=check).judge(messages)
        return judgement
