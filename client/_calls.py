"""One tool call and what came back: the outcome of an MCP result, and the record of a routed call.

``ToolOutcome.of(result)`` is the one place an MCP ``CallToolResult`` is read. Text parts are shown verbatim
(joined by newlines), an embedded text resource by its text, any other content as a short placeholder. The
hub, the verifier's replay, the gold replay and the planner's dry run all read results through it, so a
recorded reply and its re-execution are always compared under the same rule.

``CallRecord`` is one routed call with its outcome: what a hub logs, returns from ``call`` and what a
trajectory keeps in ``calls``. A dataset row holds its call fields; the hub's view of a live call (the
public name, why it failed, wall-clock times) is not written to rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import mcp_types as types
from pydantic import BaseModel, ConfigDict, Field, field_serializer

ErrorKind = Literal["tool", "unknown_tool", "server_unavailable", "server_failed", "timeout", "protocol"]
"""Why a call is an error: ``tool`` means the server answered ``isError``; ``unknown_tool``
that no server has the name; ``server_unavailable`` that the server had already failed;
``server_failed`` that it failed during this call; ``timeout`` that it did not answer in
time; ``protocol`` that its answer was malformed (a JSON-RPC error, an invalid result)."""


def content_text(result: types.CallToolResult) -> str:
    """The result's content as text: text parts verbatim, other parts as a short placeholder."""
    parts: list[str] = []
    for block in result.content:
        match block:
            case types.TextContent():
                parts.append(block.text)
            case types.EmbeddedResource(resource=types.TextResourceContents() as resource):
                parts.append(resource.text)
            case types.ImageContent() | types.AudioContent():
                parts.append(f"[{block.type} content, {block.mime_type}]")
            case types.ResourceLink():
                parts.append(f"[resource link {block.uri}]")
            case _:
                parts.append(f"[{block.type} content]")
    return "\n".join(parts)


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool answered: whether it is an error, the text a model is shown, the structured content."""

    is_error: bool
    text: str
    structured: dict[str, Any] | None = None

    @classmethod
    def of(cls, result: types.CallToolResult) -> ToolOutcome:
        """The outcome of an MCP tool result (the one conversion; see the module docstring)."""
        return cls(bool(result.is_error), content_text(result), result.structured_content)

    @classmethod
    def failure(cls, text: str) -> ToolOutcome:
        """An error no server produced (a call that could not be made), said in ``text``."""
        return cls(True, text, None)


class CallRecord(BaseModel):
    """One routed call: what was asked, what came back, how long it took.

    ``call_id`` is the hub's running index (as text); ``server`` is empty and ``tool`` the asked-for name
    when no server has the tool. ``text`` is what a model is shown as the tool's reply: the result's content
    (``ToolOutcome.of``) or, for an error the hub produced, a sentence saying what went wrong. ``structured``
    is the result's ``structuredContent`` when it had one. ``latency_ms`` is measured on a monotonic clock
    (rows keep it to the microsecond); ``started_at``/``ended_at`` are Unix seconds.
    """

    model_config = ConfigDict(extra="forbid")

    call_id: str
    server: str
    tool: str
    arguments: dict[str, Any]
    is_error: bool
    text: str
    structured: dict[str, Any] | None = None
    latency_ms: float = 0.0
    turn: int = 0
    # The hub's view of a live call; not part of a dataset row (a row read back has the defaults).
    name: str = Field(default="", exclude=True)
    error_kind: ErrorKind | None = Field(default=None, exclude=True)
    started_at: float = Field(default=0.0, exclude=True)
    ended_at: float = Field(default=0.0, exclude=True)

    def model_post_init(self, context: Any) -> None:
        if not self.name:
            self.name = self.tool

    @field_serializer("latency_ms")
    def _rounded(self, value: float) -> float:
        return round(value, 3)

    @property
    def index(self) -> int:
        """The call's position among the calls its hub routed."""
        return int(self.call_id)

    @property
    def outcome(self) -> ToolOutcome:
        return ToolOutcome(self.is_error, self.text, self.structured)
