"""The retry loop and usage accounting, without a model."""

from __future__ import annotations

import pytest

from tdscaling.client import (
    FatalModelError,
    RetryableModelError,
    RetryPolicy,
    Usage,
    call_with_retries,
)

pytestmark = pytest.mark.anyio


class Script:
    """An attempt function that raises the scripted errors, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def transient(retry_after_s: float | None = None) -> RetryableModelError:
    return RetryableModelError("busy", model="m", status_code=429, retry_after_s=retry_after_s)


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay_s=1.0, max_delay_s=5.0, jitter=0.0)
    assert policy.delays() == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_is_bounded_and_the_same_for_the_same_seed() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay_s=1.0, max_delay_s=100.0, jitter=0.25, seed=7)
    delays = policy.delays()
    assert delays == RetryPolicy(max_attempts=5, base_delay_s=1.0, max_delay_s=100.0, jitter=0.25, seed=7).delays()
    assert all(0.75 * 2**k <= d <= 1.25 * 2**k for k, d in enumerate(delays))
    assert delays != [1.0, 2.0, 4.0, 8.0]


async def test_transient_errors_are_retried_until_success() -> None:
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    attempt = Script(transient(), transient(retry_after_s=10.0))
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.5, max_delay_s=8.0, jitter=0.0)
    assert await call_with_retries(attempt, policy, sleep=sleep) == ("ok", 3)
    assert waited == [0.5, 8.0]  # the Retry-After hint, capped by max_delay_s


async def test_a_fatal_error_is_raised_at_once() -> None:
    attempt = Script(transient(), FatalModelError("no key", model="m", status_code=401))

    async def sleep(seconds: float) -> None:
        pass

    with pytest.raises(FatalModelError) as caught:
        await call_with_retries(attempt, RetryPolicy(max_attempts=5, jitter=0.0), sleep=sleep)
    assert attempt.calls == 2
    assert caught.value.attempts == 2


def test_usage_adds_up_and_an_unknown_cost_stays_unknown() -> None:
    a = Usage(prompt_tokens=10, completion_tokens=5, cost_usd=0.01, latency_ms=100, attempts=1)
    b = Usage(prompt_tokens=1, completion_tokens=2, cost_usd=0.02, latency_ms=50, attempts=2)
    total = a + b
    assert (total.prompt_tokens, total.completion_tokens, total.total_tokens) == (11, 7, 18)
    assert total.cost_usd == pytest.approx(0.03)
    assert (total.latency_ms, total.attempts) == (150, 3)
    assert (a + Usage(cost_usd=None)).cost_usd is None
