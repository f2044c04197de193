"""The trajectory: one episode's conversation in OpenAI chat format, its tool calls, verdict and labels.

This is the row a dataset is made of. ``messages`` holds system, user, assistant (with ``tool_calls``), tool
(with ``tool_call_id``) and a final assistant answer; ``tools`` the OpenAI function list the assistant saw.
``calls`` keeps each executed call with its real result, so verification and metrics never re-parse text.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from ._calls import CallRecord
from ._verdict import Judgement, VerdictName

_VERDICT_FIELDS = ("verdict", "reasons", "details")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoleUsage(_Model):
    """Tokens, cost and model calls one role (assistant or user) spent in an episode."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    model_calls: int = 0


class Labels(_Model):
    """Provenance and structure of a trajectory: enough to replay it and to measure diversity."""

    blueprint_id: str
    cluster_id: str
    domains: list[str]
    planned_mode: str
    tool_path: list[str]
    tool_errors: int = 0
    turns: int = 0
    wall_ms: float = 0.0
    tool_ms: float = 0.0
    usage: dict[str, RoleUsage] = Field(default_factory=dict)  # per role: "assistant", "user"
    models: dict[str, str] = Field(default_factory=dict)  # per role
    seed: int = 0
    observed_mode: str | None = None


class Trajectory(_Model):
    """One episode: its conversation, the tools it was offered, the calls it made, its verdict and labels.

    ``judgement`` is the episode's ``Judgement``; a row keeps its fields (``verdict``, ``reasons``,
    ``details``) at the top level, where they always were; ``Trajectory(verdict=..., reasons=...)`` takes them
    there too, and ``t.verdict``, ``t.reasons``, ``t.details`` read them.
    """

    id: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    calls: list[CallRecord] = Field(default_factory=list)
    sandbox_records: list[str] = Field(default_factory=list)
    judgement: Judgement
    labels: Labels

    @model_validator(mode="before")
    @classmethod
    def _nest_verdict(cls, data: Any) -> Any:
        if isinstance(data, dict) and "judgement" not in data and any(k in data for k in _VERDICT_FIELDS):
            data = {**{k: v for k, v in data.items() if k not in _VERDICT_FIELDS},
                    "judgement": {k: data[k] for k in _VERDICT_FIELDS if k in data}}
        return data

    @model_serializer(mode="wrap")
    def _flat_verdict(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in handler(self).items():
            if key == "judgement" and isinstance(value, dict):
                out.update(value)  # in its place: the row's keys keep their order
            else:
                out[key] = value
        return out

    @property
    def verdict(self) -> VerdictName:
        return self.judgement.verdict

    @property
    def reasons(self) -> list[str]:
        return self.judgement.reasons

    @property
    def details(self) -> dict[str, Any]:
        """Evidence behind the verdict (e.g. the state diff behind ``state_mismatch``)."""
        return self.judgement.details

    def final_answer(self) -> str | None:
        last = self.messages[-1] if self.messages else None
        if last and last.get("role") == "assistant" and not last.get("tool_calls"):
            content = last.get("content")
            return content if isinstance(content, str) else None
        return None
