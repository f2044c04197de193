"""The seams of an episode: the world it runs on and the sandbox it replays code in.

A ``World`` is what an episode, the verifier and the planner need of a cluster's world; a
``tdscaling.servers.ClusterRuntime`` is one. Any object with these members can stand in (an RL environment's
world, a recorded one), and type checkers check every joint through it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from ._calls import ToolOutcome

if TYPE_CHECKING:
    import mcp_types as types
    from mcp.server import Server

    from tdscaling.servers import ClusterSpec, Store


class World(Protocol):
    """A cluster's live world: its MCP server over a state store, and fresh copies of its initial state."""

    cluster: ClusterSpec
    seed: int
    store: Store
    server: Server[Any]

    @property
    def name(self) -> str:
        """The service's name, for the assistant's system prompt."""
        ...

    @property
    def instructions(self) -> str:
        """What the service is and how it works, for the assistant's system prompt."""
        ...

    def fresh(self) -> World:
        """A new world over a copy of the initial (seeded) state; close it when done."""
        ...

    def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        """Run one tool call now, as ``tools/call`` would."""
        ...

    def tools(self) -> list[types.Tool]: ...

    def close(self) -> None: ...


SandboxCaller = Callable[[str, dict[str, Any]], Awaitable[ToolOutcome]]
"""Calls one sandbox tool by its name and arguments (over MCP) and returns what it answered."""
