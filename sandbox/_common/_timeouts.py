"""Request header and body deadlines: a client that sends slowly (slowloris) is disconnected.

uvicorn's h11 protocol has a keep-alive timeout *between* requests but none while a request's head is
arriving, so a connection that sends one header byte at a time was held open forever. ``header_deadline``
gives the protocol one: the whole head must arrive within ``seconds`` of its first byte (or of the
connection). ``BodyDeadline`` reads a request body whole, within its own deadline and size cap, before the
app sees it; a late body gets 408 and the connection is closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from ._asgi import replay, respond

if TYPE_CHECKING:
    import asyncio

    from starlette.types import ASGIApp, Message, Receive, Scope, Send


def header_deadline(seconds: float) -> type[Any]:
    """uvicorn's h11 protocol class, closing a connection whose request head takes longer than ``seconds``."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class DeadlineH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE:  # a request head has begun and is not complete yet
                self._arm()
            else:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _expire(self) -> None:
            self._head_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return DeadlineH11Protocol


class BodyDeadline:
    """Reads each request body whole within ``seconds`` and ``max_bytes`` before the app runs."""

    def __init__(self, app: ASGIApp, *, seconds: float, max_bytes: int) -> None:
        self._app = app
        self._seconds = seconds
        self._max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self._app(scope, receive, send)  # no body; a GET may hold an event stream open for long
            return
        body, size, done = [], 0, False
        with anyio.move_on_after(self._seconds):
            while True:
                message: Message = await receive()
                if message["type"] != "http.request":
                    body.append(message)  # a disconnect: let the app see it
                    done = True
                    break
                size += len(message.get("body", b""))
                if size > self._max_bytes:
                    await respond(send, 413, f"request body over {self._max_bytes} bytes", close=True)
                    return
                body.append(message)
                if not message.get("more_body", False):
                    done = True
                    break
        if not done:
            await respond(send, 408, f"request body not received within {self._seconds:g} s", close=True)
            return
        joined: Message = {"type": "http.request", "body": b"".join(m.get("body", b"") for m in body
                                                                     if m["type"] == "http.request"),
                           "more_body": False}
        trailing = [m for m in body if m["type"] != "http.request"]
        await self._app(scope, replay([joined, *trailing], receive), send)
