"""Fixtures for the shared layer: a real cluster server behind the serving layer, on loopback, in process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from served import Serve, Served

from tdscaling.common import HttpOptions, serve_http_async
from tdscaling.servers import Catalog, ClusterRuntime, domain_cluster


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture
def serve(catalog: Catalog) -> Serve:
    """``async with serve(host=..., **options) as served``: online_store over the serving layer, until exit."""

    @asynccontextmanager
    async def start(**options: Any) -> AsyncIterator[Served]:
        runtime = ClusterRuntime(domain_cluster(catalog.get("online_store")), catalog)
        stop, ready, urls = anyio.Event(), anyio.Event(), []

        def on_ready(url: str) -> None:
            urls.append(url)
            ready.set()

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: serve_http_async(runtime.server, HttpOptions(port=0, **options),
                                                       on_ready=on_ready, stop=stop))
                with anyio.fail_after(30):
                    await ready.wait()
                try:
                    yield Served(urls[0], int(urls[0].rsplit(":", 1)[1].split("/")[0]), runtime)
                finally:
                    stop.set()
        finally:
            runtime.close()

    return start
