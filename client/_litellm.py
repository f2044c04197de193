"""The litellm backend: any model litellm reaches, with our own retry loop and accounting.

litellm is imported inside ``complete``, never at module import: importing it costs about
2 s and, unless ``LITELLM_LOCAL_MODEL_COST_MAP=True`` is set, looks up a remote cost map.
litellm's own retries are switched off per call (``num_retries=0``, ``max_retries=0``) so
that ``RetryPolicy`` alone decides how often a call is repeated.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import anyio

from ._errors import FatalModelError, ModelAuthError, ModelError, RetryableModelError
from ._json_repair import parse_arguments
from ._model_types import AssistantMessage, ChatMessage, GenerationSettings, ModelReply, ToolCall, Usage
from ._retry import RetryPolicy, Sleep, call_with_retries

logger = logging.getLogger(__name__)

# Our own guard above litellm's per-request timeout, for providers that do not honour it.
_TIMEOUT_GRACE_S = 5.0


class LiteLLMBackend:
    """A ``ModelBackend`` over ``litellm.acompletion``.

    Args:
        model: a litellm model string (``"openai/gpt-4o-mini"``, ``"anthropic/..."``,
            ``"ollama_chat/llama3.1"``, or ``"openai/<name>"`` with ``api_base`` for any
            OpenAI-compatible server).
        api_base: the server's base URL, when not the provider's default.
        api_key: the key; ``None`` lets litellm read the provider's usual env var.
        settings: default sampling settings; ``complete(settings=...)`` overrides them.
        retry: how transient failures are retried.
        extra: more keyword arguments passed to ``litellm.acompletion`` unchanged.
        sleep: the backoff's sleep (tests pass a recorder; defaults to ``anyio.sleep``).
    """

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        settings: GenerationSettings | None = None,
        retry: RetryPolicy | None = None,
        extra: Mapping[str, Any] | None = None,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        if not model:
            raise ValueError("model must be a litellm model string such as 'openai/gpt-4o-mini'")
        self.model = model
        self.api_base = api_base
        self.api_key = api_key
        self.settings = settings or GenerationSettings()
        self.retry = retry or RetryPolicy()
        self.extra = dict(extra or {})
        self._sleep = sleep

    @property
    def name(self) -> str:
        return self.model

    def __repr__(self) -> str:  # never show the key
        return f"LiteLLMBackend(model={self.model!r}, api_base={self.api_base!r})"

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[Mapping[str, Any]] = (),
        *,
        settings: GenerationSettings | None = None,
    ) -> ModelReply:
        """Ask the model for the next assistant message; see ``ModelBackend``."""
        chosen = settings or self.settings
        kwargs = self._request(messages, tools, chosen)
        started = time.perf_counter()
        response, attempts = await call_with_retries(
            lambda: self._attempt(kwargs, chosen.timeout_s), self.retry, sleep=self._sleep
        )
        latency_ms = (time.perf_counter() - started) * 1000.0
        return self._reply(response, latency_ms=latency_ms, attempts=attempts)

    def _request(
        self, messages: Sequence[ChatMessage], tools: Sequence[Mapping[str, Any]], settings: GenerationSettings
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "timeout": settings.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
            **self.extra,
        }
        if tools:
            kwargs["tools"] = [dict(t) for t in tools]
            if settings.tool_choice is not None:
                kwargs["tool_choice"] = settings.tool_choice
        optional = {
            "api_base": self.api_base,
            "api_key": self.api_key,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "seed": settings.seed,
        }
        kwargs.update({k: v for k, v in optional.items() if v is not None})
        return kwargs

    async def _attempt(self, kwargs: dict[str, Any], timeout_s: float) -> Any:
        import litellm
        import openai

        # litellm prints "Give Feedback / Get Help" banners to stdout on errors otherwise.
        litellm.suppress_debug_info = True
        try:
            with anyio.fail_after(timeout_s + _TIMEOUT_GRACE_S):
                return await litellm.acompletion(**kwargs)
        except TimeoutError as e:
            raise RetryableModelError(
                f"{self.model}: no answer within {timeout_s + _TIMEOUT_GRACE_S:.1f} s", model=self.model
            ) from e
        except openai.OpenAIError as e:
            raise _translate(e, self.model) from e

    def _reply(self, response: Any, *, latency_ms: float, attempts: int) -> ModelReply:
        if not getattr(response, "choices", None):
            raise FatalModelError(f"{self.model}: the response has no choices", model=self.model)
        choice = response.choices[0]
        message = choice.message
        calls = tuple(_tool_call(raw, index) for index, raw in enumerate(message.tool_calls or ()))
        usage = getattr(response, "usage", None)
        hidden = getattr(response, "_hidden_params", None) or {}
        cost = hidden.get("response_cost")
        return ModelReply(
            message=AssistantMessage(content=message.content, tool_calls=calls),
            usage=Usage(
                prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                cost_usd=float(cost) if isinstance(cost, int | float) else None,
                latency_ms=latency_ms,
                attempts=attempts,
            ),
            model=self.model,
            finish_reason=choice.finish_reason,
        )


def _tool_call(raw: Any, index: int) -> ToolCall:
    function = raw.function
    name = function.name or ""
    arguments = function.arguments
    if isinstance(arguments, Mapping):  # some providers hand back an object, not a string
        arguments = json.dumps(arguments)
    text = arguments if isinstance(arguments, str) else ""
    parsed = parse_arguments(text, tool_name=name or "the tool")
    return ToolCall(
        id=raw.id or f"call_{index}",
        name=name,
        arguments=parsed.value,
        raw_arguments=text,
        arguments_error=parsed.error,
        repaired=parsed.repaired,
    )


# What litellm's OpenAI path says when no key was given: it raises this as an InternalServerError (HTTP 500),
# which would otherwise be retried like a server fault.
_NO_KEY_WORDS = ("missing credentials", "api_key client option must be set", "no api key", "api key not found")


def _translate(error: Exception, model: str) -> ModelError:
    """Map a litellm/OpenAI exception onto retry (429, 408, 5xx, timeouts, connection) or abort; credentials
    missing or refused abort as ``ModelAuthError`` naming the key's environment variable."""
    import litellm

    status = getattr(error, "status_code", None)
    status = status if isinstance(status, int) else None
    message = f"{model}: {type(error).__name__} (HTTP {status}): {error}" if status else f"{model}: {error}"
    text = str(error).lower()
    if (isinstance(error, litellm.AuthenticationError) or status in (401, 403)
            or any(words in text for words in _NO_KEY_WORDS)):
        return ModelAuthError(f"{model}: the provider refused the credentials or none were given ({error})",
                              model=model, status_code=status, env_vars=_key_variables(model))
    transient = isinstance(error, litellm.Timeout | litellm.APIConnectionError) or status in (408, 429)
    if transient or (status is not None and status >= 500):
        return RetryableModelError(message, model=model, status_code=status, retry_after_s=_retry_after(error))
    return FatalModelError(message, model=model, status_code=status)


def _retry_after(error: Exception) -> float | None:
    # litellm keeps the provider's headers on the exception; its ``response`` is often synthetic.
    response = getattr(error, "response", None)
    for headers in (getattr(error, "litellm_response_headers", None), getattr(response, "headers", None)):
        value = headers.get("retry-after") if headers is not None else None
        if value is not None:
            try:
                return float(value)
            except ValueError:
                return None  # an HTTP date; the exponential backoff is good enough
    return None


def _key_variables(model: str) -> tuple[str, ...]:
    """The environment variables litellm reads ``model``'s API key from (``OPENAI_API_KEY``), when it knows."""
    import litellm

    try:
        missing = litellm.validate_environment(model=model).get("missing_keys") or []
    except Exception:  # only a hint inside another error's message: it must never replace that error
        return ()
    return tuple(str(k) for k in missing if str(k).endswith("_KEY"))
