"""A lean backend for any OpenAI-compatible chat-completions server (vLLM, SGLang, llama.cpp, Ollama, ...).

One POST to ``{api_base}/chat/completions`` per attempt, over one shared ``httpx2.AsyncClient`` whose
connection pool is sized for the expected concurrency. It exists for throughput: litellm spends about
10 ms of CPU per call in this process (request building, provider mapping, cost lookup, response objects),
which caps a process at roughly 100 model calls per second whatever the server's speed; this backend
spends a fraction of that (see docs/benchmarks.md, "Harness throughput"). Retries, errors, tool-call
repair and usage follow ``LiteLLMBackend`` exactly: our own ``RetryPolicy`` loop, retry on 408/429/5xx,
timeouts and connection failures, abort on other 4xx and malformed responses.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import anyio
import httpx2

from ._errors import FatalModelError, ModelAuthError, RetryableModelError
from ._json_repair import parse_arguments
from ._model_types import AssistantMessage, ChatMessage, GenerationSettings, ModelReply, ToolCall, Usage
from ._retry import RetryPolicy, Sleep, call_with_retries

_TRANSIENT_STATUS = frozenset({408, 429})  # and every 5xx, as LiteLLMBackend decides


class OpenAICompatBackend:
    """A ``ModelBackend`` speaking the OpenAI chat-completions wire format directly.

    Args:
        model: the model name the server expects (sent as ``model``; no provider prefix).
        api_base: the server's base URL, up to and including ``/v1`` (``http://127.0.0.1:8000/v1``).
        api_key: sent as ``Authorization: Bearer ...`` when given.
        settings: default sampling settings; ``complete(settings=...)`` overrides them.
        retry: how transient failures are retried.
        max_connections: the connection pool's size; make it at least the number of concurrent calls.
        price_per_mtok: (input, output) USD per million tokens; without it ``cost_usd`` is ``None``.
        headers: more headers for every request.
        extra: more fields for every request body (``{"top_p": 0.9}``).
        sleep: the backoff's sleep (tests pass a recorder; defaults to ``anyio.sleep``).

    The HTTP client is created on first use and bound to that event loop; ``aclose()`` (or ``async with``)
    closes it.
    """

    def __init__(
        self,
        model: str,
        *,
        api_base: str,
        api_key: str | None = None,
        settings: GenerationSettings | None = None,
        retry: RetryPolicy | None = None,
        max_connections: int = 64,
        price_per_mtok: tuple[float, float] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        if not model:
            raise ValueError("model must be the name the server serves, such as 'Qwen/Qwen3-8B'")
        if not api_base.startswith(("http://", "https://")):
            raise ValueError(f"api_base must be an http(s) URL such as 'http://127.0.0.1:8000/v1', not {api_base!r}")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.model = model
        self.api_base = api_base.rstrip("/")
        self.settings = settings or GenerationSettings()
        self.retry = retry or RetryPolicy()
        self.max_connections = max_connections
        self.price_per_mtok = price_per_mtok
        self.extra = dict(extra or {})
        self._headers = {"content-type": "application/json", **(headers or {})}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._sleep = sleep
        self._http: httpx2.AsyncClient | None = None

    @property
    def name(self) -> str:
        return self.model

    def __repr__(self) -> str:  # never show the key
        return f"OpenAICompatBackend(model={self.model!r}, api_base={self.api_base!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections (a later call opens new ones)."""
        http, self._http = self._http, None
        if http is not None:
            with anyio.CancelScope(shield=True):
                await http.aclose()

    def _client(self) -> httpx2.AsyncClient:
        if self._http is None:
            limits = httpx2.Limits(max_connections=self.max_connections,
                                   max_keepalive_connections=self.max_connections)
            self._http = httpx2.AsyncClient(limits=limits, headers=self._headers)
        return self._http

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[Mapping[str, Any]] = (),
        *,
        settings: GenerationSettings | None = None,
    ) -> ModelReply:
        """Ask the model for the next assistant message; see ``ModelBackend``."""
        chosen = settings or self.settings
        body = json.dumps(self._request(messages, tools, chosen)).encode()
        started = time.perf_counter()
        data, attempts = await call_with_retries(lambda: self._attempt(body, chosen.timeout_s), self.retry,
                                                 sleep=self._sleep)
        latency_ms = (time.perf_counter() - started) * 1000.0
        return self._reply(data, latency_ms=latency_ms, attempts=attempts)

    def _request(
        self, messages: Sequence[ChatMessage], tools: Sequence[Mapping[str, Any]], settings: GenerationSettings
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "messages": list(messages), **self.extra}
        if tools:
            request["tools"] = list(tools)
            if settings.tool_choice is not None:
                request["tool_choice"] = settings.tool_choice
        optional = {"temperature": settings.temperature, "max_tokens": settings.max_tokens, "seed": settings.seed}
        request.update({k: v for k, v in optional.items() if v is not None})
        return request

    async def _attempt(self, body: bytes, timeout_s: float) -> dict[str, Any]:
        url = f"{self.api_base}/chat/completions"
        try:
            with anyio.fail_after(timeout_s):
                response = await self._client().post(url, content=body, timeout=timeout_s)
        except TimeoutError as e:
            raise RetryableModelError(f"{self.model}: no answer within {timeout_s:.1f} s", model=self.model) from e
        except httpx2.TimeoutException as e:
            raise RetryableModelError(f"{self.model}: timed out ({type(e).__name__})", model=self.model) from e
        except httpx2.TransportError as e:
            raise RetryableModelError(f"{self.model}: cannot reach {url}: {type(e).__name__}: {e}",
                                      model=self.model) from e
        status = response.status_code
        if status >= 400:
            message = f"{self.model}: HTTP {status} from {url}: {_error_message(response)}"
            if status in _TRANSIENT_STATUS or status >= 500:
                raise RetryableModelError(message, model=self.model, status_code=status,
                                          retry_after_s=_retry_after(response))
            if status in (401, 403):
                raise ModelAuthError(f"{message} (the server refused the credentials; pass the right api_key)",
                                     model=self.model, status_code=status)
            raise FatalModelError(message, model=self.model, status_code=status)
        try:
            data = response.json()
        except ValueError as e:
            raise FatalModelError(f"{self.model}: the response is not JSON ({e})", model=self.model,
                                  status_code=status) from e
        if not isinstance(data, dict):
            raise FatalModelError(f"{self.model}: the response is not a JSON object", model=self.model,
                                  status_code=status)
        return data

    def _reply(self, data: Mapping[str, Any], *, latency_ms: float, attempts: int) -> ModelReply:
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise FatalModelError(f"{self.model}: the response has no choices", model=self.model)
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            raise FatalModelError(f"{self.model}: the response's choice has no message", model=self.model)
        raw_calls = message.get("tool_calls") or ()
        calls = tuple(_tool_call(raw, index) for index, raw in enumerate(raw_calls) if isinstance(raw, dict))
        raw_usage = data.get("usage")
        usage: Mapping[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
        prompt = _int(usage.get("prompt_tokens"))
        completion = _int(usage.get("completion_tokens"))
        cost = None
        if self.price_per_mtok is not None:
            cost = (prompt * self.price_per_mtok[0] + completion * self.price_per_mtok[1]) / 1e6
        content = message.get("content")
        return ModelReply(
            message=AssistantMessage(content=content if isinstance(content, str) else None, tool_calls=calls),
            usage=Usage(prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost, latency_ms=latency_ms,
                        attempts=attempts),
            model=str(data.get("model") or self.model),
            finish_reason=choice.get("finish_reason"),
        )


def _tool_call(raw: Mapping[str, Any], index: int) -> ToolCall:
    raw_function = raw.get("function")
    function: Mapping[str, Any] = raw_function if isinstance(raw_function, dict) else {}
    name = str(function.get("name") or "")
    arguments = function.get("arguments")
    if isinstance(arguments, Mapping):  # some servers hand back an object, not a string
        arguments = json.dumps(arguments)
    text = arguments if isinstance(arguments, str) else ""
    parsed = parse_arguments(text, tool_name=name or "the tool")
    return ToolCall(
        id=str(raw.get("id") or f"call_{index}"),
        name=name,
        arguments=parsed.value,
        raw_arguments=text,
        arguments_error=parsed.error,
        repaired=parsed.repaired,
    )


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _error_message(response: httpx2.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300] or "(empty body)"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:300]
    return json.dumps(data)[:300]


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # an HTTP date; the exponential backoff is good enough
