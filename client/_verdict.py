"""The verdict: accepted or rejected, the reason codes, and the evidence behind them.

One type for every judgement made: ``verify`` returns it for a conversation made anywhere, and every
``Trajectory`` carries the one its episode got (a dataset row keeps its fields at the top level).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

VerdictName = Literal["accepted", "rejected"]

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


class Judgement(BaseModel):
    """A verdict: ``accepted`` exactly when there is no reason to reject; ``reasons`` are codes of
    ``REASON_CODES``, sorted; ``details`` the evidence (the state diff, the mismatched replies, ...)."""

    model_config = ConfigDict(extra="forbid")

    verdict: VerdictName
    reasons: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, reasons: Iterable[str], details: Mapping[str, Any] | None = None) -> Judgement:
        """The verdict that ``reasons`` (any order, repeats allowed) give."""
        codes = sorted(set(reasons))
        return cls(verdict="rejected" if codes else "accepted", reasons=codes, details=dict(details or {}))

    @property
    def accepted(self) -> bool:
        return self.verdict == "accepted"
