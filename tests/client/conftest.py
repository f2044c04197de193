"""Fixtures for the client tests, and a guard that keeps them off the network.

The guard is an audit hook on ``socket.connect`` and ``socket.getaddrinfo``. While a test
runs, a connection or name lookup for anything but a loopback address is recorded and
refused (the hook raises ``NetworkBlockedError``, an ``OSError``, so the call fails at
once instead of waiting on the network); after the test the fixture fails it if anything
was recorded, even when the code under test swallowed the error. Audit hooks cannot be
removed, so outside the test body the hook does nothing.
"""

from __future__ import annotations

import os

# Before anything can import litellm: use the bundled cost map, never fetch one.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import ipaddress
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fake_openai import FakeOpenAI

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NetworkBlockedError(OSError):
    """Raised by the audit hook for a non-loopback connection during a test."""


class NetworkGuard:
    def __init__(self) -> None:
        self.enabled = False
        self.violations: list[str] = []

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.enabled or event not in ("socket.connect", "socket.getaddrinfo"):
            return
        host = args[1] if event == "socket.connect" else args[0]
        if isinstance(host, tuple):
            host = host[0] if host else None
        if _is_loopback(host):
            return
        target = f"{event} {args[1] if event == 'socket.connect' else args[:2]!r}"
        self.violations.append(target)
        raise NetworkBlockedError(f"tests must stay on loopback; blocked {target}")


def _is_loopback(host: Any) -> bool:
    if host is None or (isinstance(host, str | bytes) and not host):
        return True  # getaddrinfo(None, port) means a local wildcard
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    if host.startswith("/") or host.startswith("\0"):
        return True  # a Unix socket path
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


GUARD = NetworkGuard()
sys.addaudithook(GUARD.hook)


@pytest.fixture(autouse=True)
def network_guard() -> Iterator[NetworkGuard]:
    """Fail the test if it reached for a non-loopback address."""
    GUARD.violations.clear()
    GUARD.enabled = True
    try:
        yield GUARD
    finally:
        GUARD.enabled = False
    violations, GUARD.violations = GUARD.violations, []
    if violations:
        pytest.fail("non-loopback network access during the test: " + "; ".join(violations), pytrace=False)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
async def shared_event_loop(anyio_backend: str) -> AsyncIterator[None]:
    """Keep one event loop for the whole session and close litellm's clients on it at the end.

    litellm caches HTTP clients per event loop; with a loop per test they would be left
    open on dead loops and warn (warnings are errors here).
    """
    yield
    if "litellm" in sys.modules:
        import litellm

        await litellm.close_litellm_async_clients()
        litellm.in_memory_llm_clients_cache.flush_cache()


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> FakeOpenAI:
    """The session's fake OpenAI server, with an empty script and no recorded requests."""
    fake_openai_server.reset()
    return fake_openai_server
