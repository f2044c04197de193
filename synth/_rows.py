"""The rows of a run's JSON Lines files, as types: what the run writes is what a resume or an export reads.

``trajectories.jsonl`` and ``rejected.jsonl`` hold ``TrajectoryRow`` (a ``Trajectory`` plus its task),
``failures.jsonl`` ``FailureRow``, ``blueprints.jsonl`` ``BlueprintRow``; ``clusters.jsonl`` holds
``ClusterSpec`` and ``rounds.jsonl`` ``RoundMetrics`` as they are. ``RunFolder`` reads and writes them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tdscaling.client import Blueprint, Trajectory


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanningAttempt(_Row):
    """A cluster a task could not be planned on, and why (a ``PLANNING_REASONS`` code)."""

    cluster_id: str
    reason: str


class TrajectoryRow(Trajectory):
    """An episode of a run: the trajectory, the task it ran (``r001-0007``), its round, and the clusters
    tried before the one it ran on."""

    task: str
    round: int
    planning_attempts: list[PlanningAttempt] = Field(default_factory=list)


class FailureRow(_Row):
    """A task no cluster could be planned for: the planned cluster and mode, the last reason, every attempt."""

    task: str
    round: int
    cluster_id: str
    mode: str
    reason: str
    attempts: list[PlanningAttempt] = Field(default_factory=list)


class BlueprintRow(_Row):
    """The blueprint of a task's episode, so any row of the run can be verified again."""

    task: str
    round: int
    blueprint: Blueprint
