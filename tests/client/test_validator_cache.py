"""Compiled output-schema validators are shared between hubs, so a new session does not recompile them."""

from __future__ import annotations

import pytest
from toy_servers import shop_server

from tdscaling.client import Hub, InProcessServer
from tdscaling.client._validators import ValidatorCache

pytestmark = pytest.mark.anyio


async def test_a_second_hub_reuses_the_validators_the_first_one_compiled() -> None:
    cache = ValidatorCache()
    server = shop_server()
    held = []
    for _ in range(2):
        async with Hub([InProcessServer("shop", server)], validators=cache) as hub:
            record = await hub.call("weather", {"city": "Oslo"})
            assert not record.is_error and record.structured == {"city": "Oslo", "celsius": 21.5}
            # The SDK validates with the validator the cache handed over; if a new SDK keeps its validators
            # elsewhere, this fails instead of the speed-up silently disappearing.
            session = hub._by_server["shop"].client.session  # type: ignore[union-attr]
            held.append(session._tool_output_validators["weather"])
    assert held[0] is held[1]
    assert cache.compiled == 1  # only the tool that was called, once across both hubs


async def test_a_result_that_breaks_its_schema_is_still_caught() -> None:
    cache = ValidatorCache()
    async with Hub([InProcessServer("shop", shop_server())], validators=cache) as hub:
        tool = hub.resolve("weather")
        assert tool is not None and tool.output_schema is not None
        session = hub._by_server["shop"].client.session  # type: ignore[union-attr]
        assert cache.prime(session, "weather", tool.output_schema)
        validator = session._tool_output_validators["weather"]
        assert list(validator.iter_errors({"city": "Oslo"}))  # celsius is required


def test_an_invalid_schema_is_not_cached_so_the_session_reports_it() -> None:
    cache = ValidatorCache()
    assert cache.validator({"type": "no-such-type"}) is None
    assert len(cache) == 0
