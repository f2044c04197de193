"""OpenAICompatBackend against the loopback fake OpenAI server (the same cases as LiteLLMBackend's)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import fake_openai as fake
import pytest
from fake_openai import FakeOpenAI
from loopback import closed_port
from model_fixtures import MESSAGES, TOOLS, RecordingSleep

from tdscaling.client import (
    FatalModelError,
    GenerationSettings,
    ModelBackend,
    OpenAICompatBackend,
    RetryableModelError,
    RetryPolicy,
)

pytestmark = pytest.mark.anyio



@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def model(fake_openai: FakeOpenAI, sleep: RecordingSleep) -> AsyncIterator[OpenAICompatBackend]:
    async with backend(fake_openai.base_url, sleep=sleep) as b:
        yield b


def backend(base_url: str, *, attempts: int = 4, sleep: RecordingSleep | None = None, timeout_s: float = 10.0,
            price: tuple[float, float] | None = None) -> OpenAICompatBackend:
    return OpenAICompatBackend(
        "fake-model",
        api_base=base_url,
        api_key="sk-test",
        settings=GenerationSettings(timeout_s=timeout_s),
        retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.5, max_delay_s=4.0, jitter=0.0),
        sleep=sleep or RecordingSleep(),
        price_per_mtok=price,
    )


def test_the_backend_fits_the_model_backend_protocol_and_hides_the_key() -> None:
    b = OpenAICompatBackend("m", api_base="http://127.0.0.1:1/v1", api_key="sk-secret")
    assert isinstance(b, ModelBackend)
    assert b.name == "m"
    assert "sk-secret" not in repr(b)


def test_a_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        OpenAICompatBackend("m", api_base="127.0.0.1:8000/v1")


async def test_a_text_answer_comes_back_with_token_counts(fake_openai: FakeOpenAI,
                                                          model: OpenAICompatBackend) -> None:
    fake_openai.script(fake.text("Four.", prompt_tokens=13, completion_tokens=3))
    reply = await model.complete(MESSAGES, TOOLS, settings=GenerationSettings(temperature=0.2, seed=7))
    assert reply.message.content == "Four."
    assert reply.message.tool_calls == ()
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (13, 3, 16)
    assert reply.usage.attempts == 1
    assert reply.usage.latency_ms > 0
    assert reply.finish_reason == "stop"
    sent = fake_openai.requests[0]
    assert sent["model"] == "fake-model"
    assert sent["messages"] == MESSAGES
    assert sent["tools"] == TOOLS
    assert (sent["temperature"], sent["seed"]) == (0.2, 7)
    assert "max_tokens" not in sent  # unset settings are left to the server
    assert fake_openai.request_headers[0]["authorization"] == "Bearer sk-test"


async def test_tool_calls_are_parsed_into_ids_names_and_argument_objects(fake_openai: FakeOpenAI,
                                                                        model: OpenAICompatBackend) -> None:
    fake_openai.script(fake.tool_calls(("add", '{"a": 2, "b": 2}'), ("add", '{"a": 1, "b": 0}')))
    reply = await model.complete(MESSAGES, TOOLS)
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


async def test_malformed_tool_json_is_repaired_and_written_back_as_valid_json(fake_openai: FakeOpenAI,
                                                                             model: OpenAICompatBackend) -> None:
    fake_openai.script(fake.tool_calls(("add", "```json\n{'a': 2, 'b': True,}\n```")))
    reply = await model.complete(MESSAGES, TOOLS)
    [call] = reply.message.tool_calls
    assert call.arguments == {"a": 2, "b": True}
    assert call.repaired and call.arguments_error is None
    assert json.loads(call.to_openai()["function"]["arguments"]) == {"a": 2, "b": True}


async def test_unrepairable_tool_json_is_surfaced_with_a_message_for_the_model(fake_openai: FakeOpenAI,
                                                                              model: OpenAICompatBackend) -> None:
    fake_openai.script(fake.tool_calls(("add", '{"a": 2, "b": "unterminated')))
    reply = await model.complete(MESSAGES, TOOLS)
    [call] = reply.message.tool_calls
    assert call.arguments is None
    assert call.arguments_error is not None
    assert "add" in call.arguments_error and "not valid JSON" in call.arguments_error
    assert call.to_openai()["function"]["arguments"] == '{"a": 2, "b": "unterminated'


async def test_a_rate_limit_is_retried_with_backoff_then_succeeds(fake_openai: FakeOpenAI, model: OpenAICompatBackend,
                                                                  sleep: RecordingSleep) -> None:
    fake_openai.script(fake.error(429), fake.error(429), fake.text("done"))
    reply = await model.complete(MESSAGES)
    assert reply.message.content == "done"
    assert fake_openai.hits == 3
    assert reply.usage.attempts == 3
    assert sleep.delays == [0.5, 1.0]


async def test_a_retry_after_header_stretches_the_backoff(fake_openai: FakeOpenAI, model: OpenAICompatBackend,
                                                          sleep: RecordingSleep) -> None:
    fake_openai.script(fake.error(429, headers={"retry-after": "3"}), fake.text("done"))
    await model.complete(MESSAGES)
    assert sleep.delays == [3.0]


async def test_server_errors_are_retried_then_succeed(fake_openai: FakeOpenAI, model: OpenAICompatBackend) -> None:
    fake_openai.script(fake.error(500), fake.error(503), fake.error(502), fake.text("recovered"))
    reply = await model.complete(MESSAGES)
    assert reply.message.content == "recovered"
    assert fake_openai.hits == 4


async def test_server_errors_past_the_attempt_budget_raise_a_retryable_error(fake_openai: FakeOpenAI,
                                                                            sleep: RecordingSleep) -> None:
    fake_openai.script(*[fake.error(500, "overloaded")] * 3, fake.text("too late"))
    async with backend(fake_openai.base_url, attempts=3, sleep=sleep) as model:
        with pytest.raises(RetryableModelError) as caught:
            await model.complete(MESSAGES)
    assert fake_openai.hits == 3
    assert (caught.value.status_code, caught.value.attempts, caught.value.model) == (500, 3, "fake-model")
    assert "overloaded" in str(caught.value)  # the server's own message is kept
    assert sleep.delays == [0.5, 1.0]


@pytest.mark.parametrize("status", [401, 403, 400, 404])
async def test_auth_and_bad_request_errors_abort_without_a_retry(fake_openai: FakeOpenAI, model: OpenAICompatBackend,
                                                                 sleep: RecordingSleep, status: int) -> None:
    fake_openai.script(fake.error(status), fake.text("never reached"))
    with pytest.raises(FatalModelError) as caught:
        await model.complete(MESSAGES)
    assert fake_openai.hits == 1
    assert sleep.delays == []
    assert caught.value.status_code == status
    assert caught.value.attempts == 1


async def test_a_response_without_choices_is_fatal(fake_openai: FakeOpenAI, model: OpenAICompatBackend) -> None:
    fake_openai.script(fake.Reply(body={"id": "x", "object": "chat.completion", "choices": []}))
    with pytest.raises(FatalModelError, match="no choices"):
        await model.complete(MESSAGES)
    assert fake_openai.hits == 1


async def test_a_slow_answer_times_out_and_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(fake.slow(2.0), fake.text("quick"))
    async with backend(fake_openai.base_url, timeout_s=0.3) as model:
        reply = await model.complete(MESSAGES)
    assert reply.message.content == "quick"
    assert reply.usage.attempts == 2
    assert fake_openai.hits == 2


async def test_a_refused_connection_is_retryable() -> None:
    async with backend(f"http://127.0.0.1:{closed_port()}/v1", attempts=2) as model:
        with pytest.raises(RetryableModelError, match="cannot reach") as caught:
            await model.complete(MESSAGES)
    assert caught.value.attempts == 2


async def test_the_cost_is_none_without_a_price_and_computed_with_one(fake_openai: FakeOpenAI,
                                                                      model: OpenAICompatBackend) -> None:
    fake_openai.script(fake.text("free?", prompt_tokens=1000, completion_tokens=100))
    assert (await model.complete(MESSAGES)).usage.cost_usd is None
    fake_openai.script(fake.text("priced", prompt_tokens=1000, completion_tokens=100))
    async with backend(fake_openai.base_url, price=(0.15, 0.60)) as priced:
        reply = await priced.complete(MESSAGES)
    assert reply.usage.cost_usd == pytest.approx(1000 * 0.15e-6 + 100 * 0.6e-6)


async def test_concurrent_calls_through_one_backend_all_get_their_answers(fake_openai: FakeOpenAI,
                                                                         model: OpenAICompatBackend) -> None:
    fake_openai.default = fake.text("ok", delay_s=0.05)
    try:
        replies: list[str | None] = []

        async def ask() -> None:
            replies.append((await model.complete(MESSAGES)).message.content)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                for _ in range(16):
                    tg.start_soon(ask)
    finally:
        fake_openai.default = fake.text("ok")
    assert replies == ["ok"] * 16
    assert fake_openai.hits == 16
