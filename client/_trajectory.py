"""The trajectory: one episode's conversation in OpenAI chat format, its tool calls, verdict and labels.

This is the row a dataset is made of. ``messages`` holds system, user, assistant (with ``tool_calls``), tool
(with ``tool_call_id``) and a final assistant answer; ``tools`` the OpenAI function list the assistant saw.
``calls`` keeps each executed call with its real result, so verification and metrics never re-parse text.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Reason codes a verdict can carry. Kept as data so reports can group the rejection funnel.
REASON_CODES: dict[str, str] = {
    "state_mismatch": "the final state differs from the gold replay's",
    "missing_answer_facts": "the final answer lacks facts the goal asks for",
    "invented_id": "the assistant used an id it never saw (not from a tool result or the user)",
    "ungrounded_answer": "the final answer states a fact no tool result and no user message showed the assistant",
    "user_invented_id": "a user message names an id the blueprint never gave the user",
    "no_final_answer": "the conversation ended without a final assistant answer",
    "turn_limit": "the conversation hit the turn limit",
    "tool_call_limit": "the assistant hit the tool-call limit",
    "time_limit": "the episode hit its time limit",
    "tool_result_mismatch": "a recorded tool result differs from the re-executed one (tampered or non-deterministic)",
    "unknown_tool": "a recorded call names a tool the servers do not have",
    "malformed_trajectory": "the trajectory is not well-formed OpenAI chat (orphan tool reply, missing call id...)",
    "gold_replay_error": "the blueprint's own plan raised an unexpected tool error on replay",
    "initial_state_satisfies_outcome": "the initial state already satisfies the outcome: the blueprint is broken",
    "do_nothing_passes": "an episode with no tool calls would pass: the blueprint checks nothing",
    "server_died": "an MCP server died during the episode",
    "model_error": "the model backend failed (after retries)",
    "user_stopped_early": "the user simulator ended before the task was done",
}
Verdict = Literal["accepted", "rejected"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallRecord(_Model):
    """One executed tool call, as the hub recorded it."""

    call_id: str
    server: str
    tool: str
    arguments: dict[str, Any]
    is_error: bool
    text: str
    structured: dict[str, Any] | None = None
    latency_ms: float = 0.0
    turn: int = 0


class RoleUsage(_Model):
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
    id: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    calls: list[CallRecord] = Field(default_factory=list)
    sandbox_records: list[str] = Field(default_factory=list)
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)  # e.g. the state diff behind state_mismatch
    labels: Labels

    def final_answer(self) -> str | None:
        last = self.messages[-1] if self.messages else None
        if last and last.get("role") == "assistant" and not last.get("tool_calls"):
            content = last.get("content")
            return content if isinstance(content, str) else None
        return None
