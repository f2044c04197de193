"""A synthesis run in which some episodes are rejected and some tasks cannot be planned, so a test can kill
it and resume it with every kind of record on disk. Usage: python flaky_run.py OUT [--resume]."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from tdscaling.client import AssistantMessage, Blueprint, ChatMessage, ScriptedAssistant
from tdscaling.servers import Catalog
from tdscaling.synth import RunConfig
from tdscaling.synth._evolution import Task
from tdscaling.synth._run import SynthRun

CONFIG = RunConfig(rounds=3, per_round=14, seed=5, concurrency=4)


class Sloppy(ScriptedAssistant):
    """Does the work, then answers without the facts."""

    def next_message(self, messages: Sequence[ChatMessage]) -> AssistantMessage:
        m = super().next_message(messages)
        if m.tool_calls or not m.content or m.content.rstrip().endswith("?"):
            return m
        return AssistantMessage(content="All done.")


def sloppy_for(bp: Blueprint) -> Any:
    return Sloppy(bp) if int(hashlib.sha256(bp.id.encode()).hexdigest(), 16) % 3 == 0 else None


class Flaky(SynthRun):
    def _plan(self, task: Task, rng: Any) -> Any:
        if rng.random() < 0.2:
            return None, task, [(task.cluster.id, "test_unplannable")]
        return super()._plan(task, rng)


async def main(out: Path, resume: bool) -> None:
    await Flaky(CONFIG, out, catalog=Catalog.load(), resume=resume, assistant_factory=sloppy_for).run()


if __name__ == "__main__":
    anyio.run(main, Path(sys.argv[1]), "--resume" in sys.argv)
