"""Where a run's episodes are played: the seam an executor fits.

``Harness`` (one process, anyio concurrency, one sandbox) is the executor a run uses unless given another;
a pool of worker processes or a Ray cluster would fit the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol

from tdscaling.client import Blueprint, EpisodeLimits, ModelBackend, Trajectory, UserSimulator
from tdscaling.servers import ClusterSpec


class EpisodeExecutor(Protocol):
    """Plays and judges a run's episodes."""

    def add_clusters(self, clusters: Sequence[ClusterSpec]) -> None:
        """Make ``clusters`` known, so blueprints that name them by id resolve."""
        ...

    async def run(self, blueprint: Blueprint, *, assistant: ModelBackend | None = None,
                  user: UserSimulator | None = None, limits: EpisodeLimits | None = None, seed: int = 0,
                  attempt: int = 0) -> Trajectory:
        """One judged episode of ``blueprint`` (scripted players where ``None``)."""
        ...

    def keep_sandbox(self) -> AbstractAsyncContextManager[None]:
        """Hold the sandbox up for the whole run (episodes do not start and stop it each)."""
        ...

    def remove_sandbox_leftovers(self) -> list[Path]:
        """Remove what sandboxes of killed processes left (a resume calls it first)."""
        ...

    def close(self) -> None: ...
