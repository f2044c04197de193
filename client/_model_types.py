"""What a model backend takes and returns: settings, tool calls, assistant messages, usage."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ChatMessage = Mapping[str, Any]
"""One message in OpenAI chat format (``role`` plus ``content`` / ``tool_calls`` / ``tool_call_id``)."""


class GenerationSettings(BaseModel):
    """Per-call sampling settings; ``None`` leaves the provider's default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, gt=0)
    timeout_s: float = Field(default=120.0, gt=0.0, description="per attempt, not for the whole retry loop")
    seed: int | None = None
    tool_choice: Literal["auto", "none", "required"] | None = None


@dataclass(frozen=True)
class ToolCall:
    """One function call the assistant asked for.

    ``arguments`` is the parsed JSON object, or ``None`` when the model's string could not be
    parsed even after trivial repairs; then ``arguments_error`` says what was wrong, in words
    meant to be sent back to the model as the tool's error reply.
    """

    id: str
    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str = ""
    arguments_error: str | None = None
    repaired: bool = False

    def to_openai(self) -> dict[str, Any]:
        """The call in OpenAI format; repaired arguments are written back as canonical JSON."""
        arguments = self.raw_arguments if self.arguments is None else json.dumps(self.arguments)
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": arguments}}


@dataclass(frozen=True)
class AssistantMessage:
    """What the assistant said: text, tool calls, or both."""

    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()

    def to_openai(self) -> dict[str, Any]:
        """The message in OpenAI chat format, ready to append to the conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.to_openai() for call in self.tool_calls]
        return message


@dataclass(frozen=True)
class Usage:
    """Tokens, cost and time of one model call, or of several summed with ``+``.

    ``cost_usd`` is ``None`` when the price of the model is unknown; a sum with an unknown
    part is unknown, never a silent undercount.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    latency_ms: float = 0.0
    attempts: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost_usd is None or other.cost_usd is None else self.cost_usd + other.cost_usd
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=cost,
            latency_ms=self.latency_ms + other.latency_ms,
            attempts=self.attempts + other.attempts,
        )


@dataclass(frozen=True)
class ModelReply:
    """A backend's answer: the assistant message plus its usage."""

    message: AssistantMessage
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str | None = None
