"""Fixtures for the client tests: one event loop for the session, and the fake OpenAI server.

The network guard that keeps every test on loopback lives in the top-level tests/conftest.py.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator

import pytest
from fake_openai import FakeOpenAI


@pytest.fixture
async def close_litellm_clients(anyio_backend: str) -> AsyncIterator[None]:
    """Close litellm's cached HTTP clients on the test's own event loop when the test ends.

    litellm caches clients per event loop; left open on a finished loop they warn (warnings are errors
    here). A session-wide loop would avoid that but leaves a loop running between tests, which breaks
    tests elsewhere that call ``anyio.run``.
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
def fake_openai(fake_openai_server: FakeOpenAI, close_litellm_clients: None) -> FakeOpenAI:
    """The session's fake OpenAI server, with an empty script and no recorded requests."""
    fake_openai_server.reset()
    return fake_openai_server
