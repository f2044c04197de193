"""A loopback fake of the OpenAI chat-completions API, scripted per call.

The server runs in a uvicorn thread on 127.0.0.1 (see ``loopback.ThreadedServer``):
a client can connect the moment ``start()`` returns, with no readiness polling.

Each request to ``POST /v1/chat/completions`` consumes the next scripted
``Reply``; when the script is empty the ``default`` reply answers. Every request
body is recorded in ``requests`` (the hit count tests assert on).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from loopback import ThreadedServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass(frozen=True)
class Reply:
    """One scripted answer: an HTTP status, a JSON body, headers, and a delay before answering."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def usage(prompt: int = 11, completion: int = 7) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def text(content: str, *, prompt_tokens: int = 11, completion_tokens: int = 7, delay_s: float = 0.0) -> Reply:
    """An assistant message with plain text content."""
    message = {"role": "assistant", "content": content}
    return Reply(body=_completion(message, "stop", usage(prompt_tokens, completion_tokens)), delay_s=delay_s)


def tool_calls(*calls: tuple[str, str], content: str | None = None, delay_s: float = 0.0) -> Reply:
    """An assistant message calling tools; each call is ``(name, raw arguments string)``.

    The arguments string is sent verbatim, so a test can script malformed JSON.
    """
    message: dict[str, Any] = {
        "role": "assistant",
        "content": content,
        "tool_calls": [
            {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": arguments}}
            for i, (name, arguments) in enumerate(calls)
        ],
    }
    return Reply(body=_completion(message, "tool_calls", usage()), delay_s=delay_s)


def error(status: int, message: str = "scripted failure", *, headers: dict[str, str] | None = None) -> Reply:
    """An OpenAI-style error body with the given HTTP status."""
    kind = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error"}
    body = {"error": {"message": message, "type": kind.get(status, "server_error"), "code": None}}
    return Reply(status=status, body=body, headers=headers or {})


def slow(seconds: float) -> Reply:
    """A text reply that only arrives after ``seconds`` (for client timeouts)."""
    return text("too late", delay_s=seconds)


_ids = itertools.count()


def _completion(message: dict[str, Any], finish_reason: str, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{next(_ids)}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "fake-model",
        "choices": [{"index": 0, "finish_reason": finish_reason, "message": message}],
        "usage": usage,
    }


class FakeOpenAI:
    """A scripted OpenAI-compatible server on 127.0.0.1.

    Args:
        default: the reply used when the script is exhausted.
        fixed_delay_s: a delay added to every reply (for throughput benchmarks).

    Set ``api_key`` to demand ``Authorization: Bearer <api_key>``: any other request gets the 401 OpenAI sends
    for a wrong key (and is still recorded).
    """

    def __init__(self, *, default: Reply | None = None, fixed_delay_s: float = 0.0) -> None:
        self.default = default or text("ok")
        self.fixed_delay_s = fixed_delay_s
        self.api_key: str | None = None
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        self._script: deque[Reply] = deque()
        self.responder: Callable[[dict[str, Any]], Reply] | None = None  # decides replies from the request
        self._lock = threading.Lock()
        self._server = ThreadedServer(Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])]))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}/v1"

    @property
    def hits(self) -> int:
        return len(self.requests)

    def script(self, *replies: Reply) -> None:
        """Queue replies; each request consumes one, in order."""
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self.responder = None
            self.api_key = None
            self._script.clear()
            self.requests.clear()
            self.request_headers.clear()

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    async def _chat(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        with self._lock:
            self.requests.append(body)
            self.request_headers.append(dict(request.headers))
            if self.api_key is not None and request.headers.get("authorization") != f"Bearer {self.api_key}":
                reply = error(401, "Incorrect API key provided. You can find your API key at "
                                   "https://platform.openai.com/account/api-keys.")
            elif self._script:
                reply = self._script.popleft()
            elif self.responder is not None:
                reply = self.responder(body)
            else:
                reply = self.default
        delay = reply.delay_s + self.fixed_delay_s
        if delay:
            await anyio.sleep(delay)
        return JSONResponse(reply.body or {}, status_code=reply.status, headers=reply.headers)
