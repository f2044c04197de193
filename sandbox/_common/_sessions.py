"""A bounded number of MCP HTTP sessions: when the table is full, the longest-idle session makes room.

The SDK's session manager refuses a new session with 503 once ``max_sessions`` are open and closes a
session only after ``session_idle_timeout`` without a request. A flood of ``initialize`` requests (each
opens a session and walks away) therefore locked every new client out until the flood's sessions expired.
``SessionLimiter`` sits in front of the manager and keeps its own table of the sessions it saw opened:
before a request that would open one more is passed on at the limit, it ends the session that has been idle
longest by sending the manager a ``DELETE`` for it, as that session's own client would (same credentials,
same Host); the manager then closes it and frees its memory. A session with a request in flight is never
chosen, so a busy server still answers 503. Requests reach this only after the Host and token checks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._asgi import header, replay

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

_SESSION_HEADER = b"mcp-session-id"
_VERSION_HEADER = b"mcp-protocol-version"
_PRUNE_GRACE_S = 1.0  # the manager expires a session at its idle timeout; forget it a little after that


@dataclass
class _Seen:
    in_flight: int
    last_used: float
    user: Any
    auth: Any
    host: bytes | None


def _opens_session(scope: Scope, messages: list[Message]) -> bool:
    """A POST without a session id whose body is (or holds) an ``initialize`` request."""
    version = header(scope, _VERSION_HEADER)
    if version is not None and not version.startswith(b"2024-") and not version.startswith(b"2025-"):
        return False  # the 2026 protocol era is served without sessions
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
    try:
        request = json.loads(body)
    except ValueError:
        return False
    requests = request if isinstance(request, list) else [request]
    return any(isinstance(r, dict) and r.get("method") == "initialize" for r in requests)


def _is_last(message: Message) -> bool:
    """The last message of a response: from then on the request no longer holds its session busy."""
    return message["type"] == "http.response.body" and not message.get("more_body", False)


def _done(seen: _Seen) -> None:
    seen.in_flight -= 1
    seen.last_used = time.monotonic()


class SessionLimiter:
    """Keeps at most ``max_sessions`` MCP sessions open by ending the longest-idle one when a new one comes."""

    def __init__(self, app: ASGIApp, *, max_sessions: int, idle_s: float, path: str) -> None:
        self._app = app
        self._max = max_sessions
        self._idle_s = idle_s
        self._path = path
        self._seen: dict[str, _Seen] = {}
        self._opening = 0  # initialize requests passed on whose session is not in the table yet

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        raw = header(scope, _SESSION_HEADER)
        if raw is not None:
            await self._existing(raw.decode("latin-1"), scope, receive, send)
            return
        if scope["method"] != "POST":
            await self._app(scope, receive, send)
            return
        first = await receive()  # the body deadline in front has already read it whole
        receive = replay([first], receive)
        if not _opens_session(scope, [first]):
            await self._app(scope, receive, send)
            return
        self._prune()
        if len(self._seen) + self._opening >= self._max:
            await self._evict_longest_idle(scope)
        await self._opening_request(scope, receive, send)

    async def _existing(self, session_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        seen = self._seen.get(session_id)
        if seen is None:
            await self._app(scope, receive, send)
            return
        seen.in_flight += 1
        status: list[int] = []
        finished = False

        async def watch(message: Message) -> None:
            nonlocal finished
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)
            if _is_last(message) and not finished:
                finished = True
                _done(seen)

        try:
            await self._app(scope, receive, watch)
        finally:
            if not finished:
                _done(seen)
        if bool(status) and (status[0] == 404 or (scope["method"] == "DELETE" and status[0] < 300)):
            self._seen.pop(session_id, None)

    async def _opening_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass an ``initialize`` on and remember the session its response opens, if any. Until the response
        names it, the session is counted as opening, so concurrent openings cannot overshoot the cap."""
        opened: _Seen | None = None
        finished = False

        async def watch(message: Message) -> None:
            nonlocal opened, finished
            if message["type"] == "http.response.start" and message["status"] < 400 and opened is None:
                session_id = next((bytes(v).decode("latin-1") for k, v in message.get("headers", ())
                                   if k.lower() == _SESSION_HEADER), None)
                if session_id is not None:
                    opened = self._seen[session_id] = _Seen(1, time.monotonic(), scope.get("user"),
                                                             scope.get("auth"), header(scope, b"host"))
                    self._opening -= 1
            await send(message)
            if _is_last(message) and opened is not None and not finished:
                finished = True
                _done(opened)

        self._opening += 1
        try:
            await self._app(scope, receive, watch)
        finally:
            if opened is None:
                self._opening -= 1
            elif not finished:
                _done(opened)

    def _prune(self) -> None:
        """Forget sessions the manager has expired by now (idle past its timeout)."""
        horizon = time.monotonic() - self._idle_s - _PRUNE_GRACE_S
        for session_id, seen in list(self._seen.items()):
            if seen.in_flight == 0 and seen.last_used < horizon:
                del self._seen[session_id]

    async def _evict_longest_idle(self, scope: Scope) -> None:
        idle = [(seen.last_used, session_id) for session_id, seen in self._seen.items() if seen.in_flight == 0]
        if not idle:
            return  # every session is busy: the manager answers 503, which is right under real load
        _, session_id = min(idle)
        seen = self._seen.pop(session_id)
        headers = [(_SESSION_HEADER, session_id.encode("latin-1"))]
        if seen.host is not None:
            headers.append((b"host", seen.host))
        delete: dict[str, Any] = {
            "type": "http", "asgi": scope.get("asgi", {"version": "3.0"}), "http_version": "1.1",
            "method": "DELETE", "scheme": scope.get("scheme", "http"), "path": self._path,
            "raw_path": self._path.encode(), "root_path": "", "query_string": b"", "headers": headers,
            "client": None, "server": scope.get("server"), "state": {}, "user": seen.user, "auth": seen.auth,
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def discard(message: Message) -> None:
            pass

        await self._app(delete, receive, discard)
