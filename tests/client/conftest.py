"""Fixtures for the client tests: one event loop for the session, and the fake OpenAI server.

The network guard that keeps every test on loopback lives in the top-level tests/conftest.py.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator

import pytest
from fake_openai import FakeOpenAI


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
