"""A model call that never answers cannot hold a round open: the task's deadline cancels it."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from tdscaling.client import Blueprint, ModelReply
from tdscaling.servers import Catalog
from tdscaling.synth import RunConfig
from tdscaling.synth._run import synth_run
from tdscaling.synth._writer import GoalWriter

pytestmark = pytest.mark.anyio


class Hangs:
    """A model backend whose calls never return (a provider that accepted the request and went silent)."""

    def __init__(self) -> None:
        self.calls = 0
        self.cancelled = 0

    @property
    def name(self) -> str:
        return "hangs"

    async def complete(self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] = (), *,
                       settings: Any = None) -> ModelReply:
        self.calls += 1
        try:
            await anyio.Event().wait()  # no answer, ever
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise
        raise AssertionError("unreachable")


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_a_hung_assistant_call_is_cancelled_at_the_task_deadline_while_the_rest_of_the_round_finishes(
        tmp_path: Path) -> None:
    hung = Hangs()
    chosen: list[str] = []

    def assistant(bp: Blueprint) -> Any:
        if not chosen:  # the first task's assistant hangs; the others are the scripted assistant
            chosen.append(bp.id)
            return hung
        return None

    config = RunConfig(rounds=1, per_round=4, seed=2, concurrency=4, task_time_s=2.0)
    started = time.monotonic()
    with anyio.fail_after(120):
        result = await synth_run(config, tmp_path / "run", catalog=Catalog.load(), assistant_factory=assistant)
    rejected = _rows(tmp_path / "run" / "rejected.jsonl")
    accepted = _rows(tmp_path / "run" / "trajectories.jsonl")
    assert [r["labels"]["blueprint_id"] for r in rejected] == chosen
    assert "time_limit" in rejected[0]["reasons"]
    assert hung.calls == hung.cancelled == 1  # the call was cancelled, not left running
    assert accepted and result.accepted == len(accepted)
    assert time.monotonic() - started < 100


async def test_a_hung_goal_writer_uses_up_the_task_and_the_task_is_rejected_with_time_limit(tmp_path: Path) -> None:
    writer_model = Hangs()
    config = RunConfig(rounds=1, per_round=2, seed=2, concurrency=2, task_time_s=1.0)
    with anyio.fail_after(120):
        await synth_run(config, tmp_path / "run", catalog=Catalog.load(), goal_writer=GoalWriter(writer_model))
    rejected = _rows(tmp_path / "run" / "rejected.jsonl")
    assert rejected and all("time_limit" in r["reasons"] for r in rejected)
    assert writer_model.calls == writer_model.cancelled == len(rejected)
    assert _rows(tmp_path / "run" / "trajectories.jsonl") == []
