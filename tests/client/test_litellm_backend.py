"""LiteLLMBackend against the loopback fake OpenAI server."""

from __future__ import annotations

import json
import sys

import fake_openai as fake
import pytest
from fake_openai import FakeOpenAI
from model_fixtures import MESSAGES, TOOLS, RecordingSleep

from tdscaling.client import (
    FatalModelError,
    GenerationSettings,
    LiteLLMBackend,
    ModelBackend,
    RetryableModelError,
    RetryPolicy,
)

pytestmark = pytest.mark.anyio



def backend(
    server: FakeOpenAI,
    *,
    model: str = "openai/fake-model",
    attempts: int = 4,
    sleep: RecordingSleep | None = None,
    timeout_s: float = 10.0,
) -> LiteLLMBackend:
    return LiteLLMBackend(
        model,
        api_base=server.base_url,
        api_key="sk-test",
        settings=GenerationSettings(timeout_s=timeout_s),
        retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.5, max_delay_s=4.0, jitter=0.0),
        sleep=sleep or RecordingSleep(),
    )


def test_the_backend_fits_the_model_backend_protocol() -> None:
    assert isinstance(LiteLLMBackend("openai/x"), ModelBackend)


def test_constructing_a_backend_does_not_import_litellm() -> None:
    import subprocess

    code = (
        "import sys; from tdscaling.client import LiteLLMBackend; LiteLLMBackend('openai/x'); "
        "print('litellm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


async def test_a_text_answer_comes_back_with_token_counts(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake.text("Four.", prompt_tokens=13, completion_tokens=3))
    reply = await backend(fake_openai).complete(MESSAGES, TOOLS, settings=GenerationSettings(temperature=0.2))
    assert reply.message.content == "Four."
    assert reply.message.tool_calls == ()
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (13, 3, 16)
    assert reply.usage.attempts == 1
    assert reply.usage.latency_ms > 0
    sent = fake_openai.requests[0]
    assert sent["messages"] == MESSAGES
    assert sent["tools"] == TOOLS
    assert sent["temperature"] == 0.2
    assert fake_openai.request_headers[0]["authorization"] == "Bearer sk-test"


async def test_tool_calls_are_parsed_into_ids_names_and_argument_objects(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake.tool_calls(("add", '{"a": 2, "b": 2}'), ("add", '{"a": 1, "b": 0}')))
    reply = await backend(fake_openai).complete(MESSAGES, TOOLS)
    first, second = reply.message.tool_calls
    assert (first.id, first.name, first.arguments) == ("call_0", "add", {"a": 2, "b": 2})
    assert (second.id, second.arguments) == ("call_1", {"a": 1, "b": 0})
    assert not first.repaired and first.arguments_error is None
    assert reply.finish_reason == "tool_calls"
    assert reply.message.to_openai() == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_0", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 2}'}},
            {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 0}'}},
        ],
    }


async def test_malformed_tool_json_is_repaired_and_written_back_as_valid_json(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake.tool_calls(("add", "```json\n{'a': 2, 'b': True,}\n```")))
    reply = await backend(fake_openai).complete(MESSAGES, TOOLS)
    [call] = reply.message.tool_calls
    assert call.arguments == {"a": 2, "b": True}
    assert call.repaired and call.arguments_error is None
    assert json.loads(call.to_openai()["function"]["arguments"]) == {"a": 2, "b": True}


async def test_unrepairable_tool_json_is_surfaced_with_a_message_for_the_model(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake.tool_calls(("add", '{"a": 2, "b": "unterminated')))
    reply = await backend(fake_openai).complete(MESSAGES, TOOLS)
    [call] = reply.message.tool_calls
    assert call.arguments is None
    assert call.arguments_error is not None
    assert "add" in call.arguments_error and "not valid JSON" in call.arguments_error
    assert call.to_openai()["function"]["arguments"] == '{"a": 2, "b": "unterminated'


async def test_a_rate_limit_is_retried_with_backoff_then_succeeds(fake_openai: FakeOpenAI) -> None:
    sleep = RecordingSleep()
    fake_openai.script(fake.error(429), fake.error(429), fake.text("done"))
    reply = await backend(fake_openai, sleep=sleep).complete(MESSAGES)
    assert reply.message.content == "done"
    assert fake_openai.hits == 3
    assert reply.usage.attempts == 3
    assert sleep.delays == [0.5, 1.0]


async def test_a_retry_after_header_stretches_the_backoff(fake_openai: FakeOpenAI) -> None:
    sleep = RecordingSleep()
    fake_openai.script(fake.error(429, headers={"retry-after": "3"}), fake.text("done"))
    await backend(fake_openai, sleep=sleep).complete(MESSAGES)
    assert sleep.delays == [3.0]


async def test_server_errors_are_retried_then_succeed(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake.error(500), fake.error(503), fake.error(502), fake.text("recovered"))
    reply = await backend(fake_openai).complete(MESSAGES)
    assert reply.message.content == "recovered"
    assert fake_openai.hits == 4


async def test_server_errors_past_the_attempt_budget_raise_a_retryable_error(fake_openai: FakeOpenAI) -> None:
    sleep = RecordingSleep()
    fake_openai.script(*[fake.error(500)] * 3, fake.text("too late"))
    with pytest.raises(RetryableModelError) as caught:
        await backend(fake_openai, attempts=3, sleep=sleep).complete(MESSAGES)
    assert fake_openai.hits == 3
    assert (caught.value.status_code, caught.value.attempts, caught.value.model) == (500, 3, "openai/fake-model")
    assert sleep.delays == [0.5, 1.0]
    assert caught.value.__cause__ is not None  # translated at the boundary, cause kept


@pytest.mark.parametrize("status", [401, 403, 400, 404])
async def test_auth_and_bad_request_errors_abort_without_a_retry(fake_openai: FakeOpenAI, status: int) -> None:
    sleep = RecordingSleep()
    fake_openai.script(fake.error(status), fake.text("never reached"))
    with pytest.raises(FatalModelError) as caught:
        await backend(fake_openai, sleep=sleep).complete(MESSAGES)
    assert fake_openai.hits == 1
    assert sleep.delays == []
    assert caught.value.status_code == status
    assert caught.value.attempts == 1


async def test_a_slow_answer_times_out_and_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake.slow(2.0), fake.text("quick"))
    reply = await backend(fake_openai, timeout_s=0.3).complete(MESSAGES)
    assert reply.message.content == "quick"
    assert reply.usage.attempts == 2
    assert fake_openai.hits == 2


async def test_timeouts_past_the_attempt_budget_raise_a_retryable_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake.slow(2.0))
    with pytest.raises(RetryableModelError, match=r"no answer within|[Tt]imed? ?out"):
        await backend(fake_openai, attempts=1, timeout_s=0.3).complete(MESSAGES)


async def test_the_cost_is_computed_for_a_model_with_a_known_price(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake.text("priced", prompt_tokens=1000, completion_tokens=100))
    reply = await backend(fake_openai, model="openai/gpt-4o-mini").complete(MESSAGES)
    # gpt-4o-mini in litellm's bundled map: $0.15 per 1M input tokens, $0.60 per 1M output tokens.
    assert reply.usage.cost_usd == pytest.approx(1000 * 0.15e-6 + 100 * 0.6e-6)


async def test_the_cost_is_none_for_a_model_with_an_unknown_price(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake.text("free?"))
    reply = await backend(fake_openai, model="openai/no-such-model-anywhere").complete(MESSAGES)
    assert reply.usage.cost_usd is None
    assert reply.usage.prompt_tokens == 11


async def test_litellm_does_no_retrying_of_its_own(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake.error(429), fake.text("ok"))
    with pytest.raises(RetryableModelError):
        await backend(fake_openai, attempts=1).complete(MESSAGES)
    assert fake_openai.hits == 1
