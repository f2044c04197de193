"""Missing or wrong credentials stop at once with a line saying what to set; they are never retried.

Against the loopback fake OpenAI server made to demand a key, as a real provider or a vLLM ``--api-key`` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import fake_openai as fake
import pytest
from fake_openai import FakeOpenAI
from model_fixtures import MESSAGES, RecordingSleep

from tdscaling.client import (
    GenerationSettings,
    LiteLLMBackend,
    ModelAuthError,
    OpenAICompatBackend,
    RetryPolicy,
)

pytestmark = pytest.mark.anyio

SHIP = Path(__file__).resolve().parents[2] / "examples" / "blueprints" / "online_store_ship_paid_order.json"
RETRY = RetryPolicy(max_attempts=5, base_delay_s=1.0, jitter=0.0)


def _litellm(server: FakeOpenAI, sleep: RecordingSleep, api_key: str | None) -> LiteLLMBackend:
    return LiteLLMBackend("openai/fake-model", api_base=server.base_url, api_key=api_key, retry=RETRY, sleep=sleep,
                          settings=GenerationSettings(timeout_s=10))


async def test_litellm_without_any_key_fails_at_once_naming_the_variable_to_set(
        fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    sleep = RecordingSleep()
    with pytest.raises(ModelAuthError) as caught:
        await _litellm(fake_openai, sleep, None).complete(MESSAGES)
    # litellm raises this as an HTTP 500 InternalServerError; it was retried five times before
    assert caught.value.attempts == 1 and sleep.delays == []
    assert caught.value.env_vars == ("OPENAI_API_KEY",)
    assert fake_openai.hits == 0


async def test_litellm_with_a_wrong_key_is_refused_once_and_not_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.api_key = "right"
    sleep = RecordingSleep()
    with pytest.raises(ModelAuthError) as caught:
        await _litellm(fake_openai, sleep, "wrong").complete(MESSAGES)
    assert (caught.value.status_code, caught.value.attempts, fake_openai.hits, sleep.delays) == (401, 1, 1, [])
    reply = await _litellm(fake_openai, sleep, "right").complete(MESSAGES)
    assert reply.message.content == "ok"


async def test_the_openai_compatible_backend_with_a_wrong_key_is_refused_once(fake_openai: FakeOpenAI) -> None:
    fake_openai.api_key = "right"
    sleep = RecordingSleep()
    async with OpenAICompatBackend("fake-model", api_base=fake_openai.base_url, api_key="wrong", retry=RETRY,
                                   sleep=sleep) as model:
        with pytest.raises(ModelAuthError) as caught:
            await model.complete(MESSAGES)
    assert (caught.value.status_code, fake_openai.hits, sleep.delays) == (401, 1, [])


def _tdscaling(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    started = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "tdscaling.synth", *args], capture_output=True, text=True, env=env,
                       timeout=300)
    return r, time.perf_counter() - started


def _one_clear_line(r: subprocess.CompletedProcess[str]) -> str:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def test_episode_run_says_to_pass_api_key_when_a_local_server_gets_none(fake_openai: FakeOpenAI) -> None:
    fake_openai.api_key = "s3cret"
    base = ["episode", "run", "--blueprint", str(SHIP), "--model", "openai/fake-model", "--api-base",
            fake_openai.base_url]
    r, _ = _tdscaling(*base)
    line = _one_clear_line(r)
    assert "--api-key" in line and "OPENAI_API_KEY" in line and "credentials" in line
    assert fake_openai.hits == 0  # litellm sends nothing without a key
    fake_openai.script(fake.text("Your order is shipped."))
    r, _ = _tdscaling(*base, "--api-key", "s3cret", "--json")
    assert r.returncode == 0, r.stderr
    assert fake_openai.request_headers[-1]["authorization"] == "Bearer s3cret"


def test_synth_run_with_a_refused_key_stops_at_the_first_calls_and_can_be_resumed(
        fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.api_key = "s3cret"
    out = tmp_path / "run"
    r, seconds = _tdscaling("synth", "run", "--out", str(out), "--rounds", "2", "--per-round", "6",
                            "--concurrency", "2", "--model", "openai/fake-model", "--api-base",
                            fake_openai.base_url, "--api-key", "wrong")
    line = _one_clear_line(r)
    assert "--api-key" in line and f"--resume --out {out}" in line
    assert fake_openai.hits <= 2, "a refused key was retried or the run went on"  # one per episode in flight
    assert not (out / "trajectories.jsonl").read_text() and not (out / "rejected.jsonl").read_text()
    assert "s3cret" not in (out / "manifest.json").read_text() and "wrong" not in (out / "manifest.json").read_text()
    assert seconds < 60
