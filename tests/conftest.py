"""Suite-wide test settings: offline litellm, a guard that keeps every test on loopback, opt-in slow tests."""

from __future__ import annotations

import os

# Before anything can import litellm: use the bundled cost map, never fetch one.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import sys
from collections.abc import Iterator

import pytest
from _network_guard import NetworkGuard

GUARD = NetworkGuard()
sys.addaudithook(GUARD.hook)


@pytest.fixture(autouse=True)
def network_guard() -> Iterator[NetworkGuard]:
    """Fail the test if it reached for a non-loopback address (see tests/_network_guard.py)."""
    GUARD.violations.clear()
    GUARD.enabled = True
    try:
        yield GUARD
    finally:
        GUARD.enabled = False
    violations, GUARD.violations = GUARD.violations, []
    if violations:
        pytest.fail("non-loopback network access during the test: " + "; ".join(violations), pytrace=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: opt in with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
