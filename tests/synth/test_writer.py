"""The LLM goal writer: rewords a blueprint's goal, never leaks a value the user should only give when asked."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tdscaling.client import AssistantMessage, ModelReply, load_blueprint
from tdscaling.servers import Catalog
from tdscaling.synth import RunConfig
from tdscaling.synth._run import synth_run
from tdscaling.synth._writer import GoalWriter

pytestmark = pytest.mark.anyio
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "blueprints"


class Says:
    """A model backend that answers every request with the same text and records the prompts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.prompts: list[str] = []

    @property
    def name(self) -> str:
        return "says"

    async def complete(self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] = (), *,
                       settings: Any = None) -> ModelReply:
        self.prompts.append(str(messages[-1]["content"]))
        return ModelReply(message=AssistantMessage(content=self.text))


async def test_a_goal_is_reworded_without_showing_the_model_any_fact_value() -> None:
    bp = load_blueprint(EXAMPLES / "online_store_ship_paid_order.json")
    model = Says("Hi, my order is paid but still sitting there. Could you ship it and tell me its status?")
    out = await GoalWriter(model).rewrite(bp)
    assert out.goal == model.text and out.plan == bp.plan and out.id == bp.id
    assert bp.goal in model.prompts[0]
    assert all(str(f.value) not in model.prompts[0] or str(f.value) in bp.goal for f in bp.facts)
    assert "williamsphilip@example.com" not in model.prompts[0]


async def test_a_rewrite_that_names_a_withheld_value_is_refused() -> None:
    bp = load_blueprint(EXAMPLES / "clinic_prescription_clarification.json")
    secret = next(f for f in bp.facts if f.reveal == "on_request")
    writer = GoalWriter(Says(f"I'm {secret.value} and I need my prescription status."))
    assert (await writer.rewrite(bp)).goal == bp.goal
    assert writer.kept == 1 and writer.rewritten == 0


async def test_a_run_with_a_goal_writer_puts_the_worded_goal_in_the_users_first_message(tmp_path: Path) -> None:
    model = Says("Please take care of this for me the way we discussed, and tell me how it went.")
    config = RunConfig(rounds=1, per_round=6, seed=2, concurrency=3)
    result = await synth_run(config, tmp_path / "run", catalog=Catalog.load(), goal_writer=GoalWriter(model))
    rows = [json.loads(x) for x in (tmp_path / "run" / "trajectories.jsonl").read_text().splitlines()]
    assert rows and result.accepted == len(rows)
    assert all(model.text in r["messages"][1]["content"] for r in rows)
