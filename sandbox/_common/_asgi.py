"""Small ASGI helpers the serving layer's middlewares share."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import Message, Receive, Scope, Send


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case) in an HTTP scope."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then reads on from ``receive``."""
    pending = deque(messages)

    async def replaying() -> Message:
        return pending.popleft() if pending else await receive()

    return replaying


async def respond(send: Send, status: int, text: str, *, close: bool = False) -> None:
    """A short plain-text response; ``close`` asks the server to drop the connection after it."""
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
