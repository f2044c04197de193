"""Retries with exponential backoff for model calls.

The loop is ours, not the provider library's, so its behaviour is exact: only a
``RetryableModelError`` is retried, a ``FatalModelError`` ends the call at once, and the
number of attempts and every delay are decided here.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
from pydantic import BaseModel, ConfigDict, Field

from ._errors import ModelError, RetryableModelError

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class RetryPolicy(BaseModel):
    """How often and how patiently to retry a transient model failure.

    The delay before retry ``k`` (1-based) is ``min(max_delay_s, base_delay_s * 2**(k-1))``,
    stretched to the server's ``Retry-After`` hint when that is longer (still capped by
    ``max_delay_s``), then scaled by a factor in ``[1 - jitter, 1 + jitter]`` drawn from a
    ``random.Random(seed)`` owned by the loop, so a given policy always waits the same.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=5, ge=1, description="attempts in total, the first one included")
    base_delay_s: float = Field(default=1.0, ge=0.0)
    max_delay_s: float = Field(default=30.0, ge=0.0)
    jitter: float = Field(default=0.1, ge=0.0, le=1.0)
    seed: int = 0

    def delays(self) -> list[float]:
        """The delays the loop would wait with no ``Retry-After`` hints (for docs and tests)."""
        rng = random.Random(self.seed)
        return [self.delay(k, None, rng) for k in range(1, self.max_attempts)]

    def delay(self, retry: int, retry_after_s: float | None, rng: random.Random) -> float:
        """The wait before retry number ``retry`` (1-based)."""
        delay = min(self.max_delay_s, self.base_delay_s * 2 ** (retry - 1))
        if retry_after_s is not None:
            delay = max(delay, min(self.max_delay_s, retry_after_s))
        if self.jitter:
            delay *= 1.0 + self.jitter * (2.0 * rng.random() - 1.0)
        return delay


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Sleep = anyio.sleep,
) -> tuple[T, int]:
    """Run ``attempt`` until it succeeds, raises a fatal error, or the policy runs out.

    Returns:
        The result and the number of attempts it took.

    Raises:
        RetryableModelError: the last transient failure, with ``attempts`` set.
        FatalModelError: at once, from any attempt.
    """
    rng = random.Random(policy.seed)
    for number in range(1, policy.max_attempts + 1):
        try:
            return await attempt(), number
        except ModelError as e:
            e.attempts = number
            if not isinstance(e, RetryableModelError) or number == policy.max_attempts:
                raise
            await sleep(policy.delay(number, e.retry_after_s, rng))
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
