"""What the shared layer's tests share: a served cluster's address, and raw MCP requests to send it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from tdscaling.servers import ClusterRuntime

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@dataclass
class Served:
    """A cluster served over the serving layer: its URL, its port and the runtime behind it."""

    url: str
    port: int
    runtime: ClusterRuntime


Serve = Callable[..., AbstractAsyncContextManager[Served]]
