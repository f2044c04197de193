"""Model strings are resolved inside the library: ``run_episode(model=...)`` and ``synthesize(RunConfig(model=...))``
play with the model they name, at ``api_base`` with ``api_key``, exactly as the CLI does; "scripted" calls no model.

Against the loopback fake OpenAI server, made to demand the key, so a test passes only if the key really went
with every request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fake_openai as fake
import pytest
from fake_openai import FakeOpenAI, Reply

from tdscaling.client import ModelAuthError, run_episode_async
from tdscaling.synth import RunConfig, synthesize_async

pytestmark = pytest.mark.anyio

SHIP = Path(__file__).resolve().parents[2] / "examples" / "blueprints" / "online_store_ship_paid_order.json"
KEY = "sk-only-in-memory-7f3a"


def _players(body: dict[str, Any]) -> Reply:
    """The simulated user (its system prompt says it role-plays one) stops; the assistant and the goal writer
    say something plain."""
    first = str(body["messages"][0].get("content") or "")
    return fake.text("Thanks, that's all. ###STOP###" if first.startswith("You are role-playing a user")
                     else "Here you go.")


def _models(server: FakeOpenAI) -> set[str]:
    return {r["model"] for r in server.requests}


async def test_run_episode_plays_the_named_models_and_scripted_calls_none(fake_openai: FakeOpenAI) -> None:
    fake_openai.api_key = KEY
    fake_openai.responder = _players
    t = await run_episode_async(SHIP, model="openai/assistant-model", user_model="openai/user-model",
                                api_base=fake_openai.base_url, api_key=KEY)
    assert t.labels.models == {"assistant": "openai/assistant-model", "user": "openai/user-model"}
    assert _models(fake_openai) == {"assistant-model", "user-model"}
    assert all(h.get("authorization") == f"Bearer {KEY}" for h in fake_openai.request_headers)
    assert t.messages[-1] == {"role": "assistant", "content": "Here you go."}
    fake_openai.reset()
    offline = await run_episode_async(SHIP)
    assert offline.verdict == "accepted" and offline.labels.models == {"assistant": "scripted", "user": "scripted"}
    assert fake_openai.hits == 0


async def test_synthesize_honours_the_config_models_and_never_writes_the_key(fake_openai: FakeOpenAI,
                                                                              tmp_path: Path) -> None:
    fake_openai.api_key = KEY
    fake_openai.responder = _players
    config = RunConfig(rounds=1, per_round=2, seed=4, model="openai/assistant-model", user_model="openai/user-model",
                       api_base=fake_openai.base_url, api_key=KEY)
    result = await synthesize_async(config, tmp_path / "run")
    assert result.accepted + result.rejected == 2
    assert _models(fake_openai) == {"assistant-model", "user-model"}
    writer = [r for r in fake_openai.requests if "Rewrite a customer's request" in str(r["messages"][0]["content"])]
    assert len(writer) == 2  # the model rewords every blueprint's goal, as the CLI's run does
    rows = (tmp_path / "run" / "rejected.jsonl").read_text() + (tmp_path / "run" / "trajectories.jsonl").read_text()
    assert '"assistant": "openai/assistant-model", "user": "openai/user-model"' in rows
    for path in (tmp_path / "run").iterdir():
        assert KEY not in path.read_text(errors="replace"), path.name
    assert "api_key" not in (tmp_path / "run" / "manifest.json").read_text()


async def test_synthesize_stops_at_a_refused_key_with_that_error_not_a_group(fake_openai: FakeOpenAI,
                                                                             tmp_path: Path) -> None:
    fake_openai.api_key = KEY
    config = RunConfig(rounds=1, per_round=3, model="openai/assistant-model", api_base=fake_openai.base_url,
                       api_key="sk-wrong")
    with pytest.raises(ModelAuthError) as caught:
        await synthesize_async(config, tmp_path / "run")
    assert caught.value.status_code == 401


async def test_an_offline_run_calls_no_model(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    result = await synthesize_async(RunConfig(rounds=1, per_round=3, seed=1), tmp_path / "run")
    assert result.accepted > 0 and fake_openai.hits == 0
