"""Reading an OpenAI-format conversation: a message's text, the tool calls with their replies, the answer.

Never raises on a malformed conversation (made by another model, another tool, or edited by hand): what
cannot be read is reported as a problem, and the verifier rejects it as ``malformed_trajectory``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ExtractedCall:
    call_id: str
    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str
    reply: str | None
    index: int  # position of the assistant message in the conversation


def text_of(content: Any) -> str:
    """A message's content as text: a string as it is, OpenAI content parts joined, anything else as JSON."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") if isinstance(p, Mapping) else str(p) for p in content]
        if all(isinstance(p, Mapping) and p.get("type") == "text" for p in content):
            return "".join(str(x) for x in parts)
    return json.dumps(content, ensure_ascii=False, sort_keys=True)


def _replies(messages: Sequence[Mapping[str, Any]], problems: list[str]) -> dict[str, str]:
    """Each tool reply's text by the id of the call it answers."""
    replies: dict[str, str] = {}
    for m in messages:
        if m.get("role") == "tool":
            cid = str(m.get("tool_call_id") or "")
            if not cid:
                problems.append("a tool message has no tool_call_id")
            if cid in replies:
                problems.append(f"tool call {cid!r} has more than one reply")
            replies[cid] = text_of(m.get("content"))
    return replies


def _arguments(raw: Any, where: str, problems: list[str]) -> tuple[dict[str, Any] | None, str]:
    """A call's arguments as an object (``None`` when they are not one) and as the text the model wrote."""
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw or "{}")
        except json.JSONDecodeError:
            return None, raw
        return (parsed if isinstance(parsed, dict) else None), raw
    if isinstance(raw, Mapping):
        return dict(raw), json.dumps(raw)
    if raw is None:
        return {}, "{}"
    problems.append(f"{where} has arguments that are neither a JSON string nor an object")
    return None, json.dumps(raw)


def extract_calls(messages: Sequence[Mapping[str, Any]]) -> tuple[list[ExtractedCall], list[str]]:
    """The tool calls of a conversation in order, with their recorded replies, and any format problems."""
    problems: list[str] = []
    replies = _replies(messages, problems)
    issued: set[str] = set()
    calls: list[ExtractedCall] = []
    for i, m in enumerate(messages):
        if m.get("role") != "assistant":
            continue
        tool_calls = m.get("tool_calls") or []
        if not isinstance(tool_calls, list):
            problems.append(f"message {i}: tool_calls is not a list")
            continue
        for tc in tool_calls:
            fn = tc.get("function") if isinstance(tc, Mapping) else None
            if not isinstance(fn, Mapping):
                problems.append(f"message {i}: a tool call without a function object")
                continue
            cid = str(tc.get("id") or "")
            args, raw = _arguments(fn.get("arguments"), f"message {i}: tool call {cid!r}", problems)
            if cid in issued:
                problems.append(f"tool call id {cid!r} is used twice")
            issued.add(cid)
            if cid not in replies:
                problems.append(f"tool call {cid!r} ({fn.get('name')}) has no tool reply")
            calls.append(ExtractedCall(cid, str(fn.get("name") or ""), args, str(raw), replies.get(cid), i))
    orphans = set(replies) - issued
    if orphans:
        problems.append(f"tool replies {sorted(orphans)} answer no tool call")
    return calls, problems


def final_answer(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The last message's text when it is the assistant's answer (no tool calls), else ``None``."""
    if not messages:
        return None
    last = messages[-1]
    if last.get("role") == "assistant" and not last.get("tool_calls") and last.get("content") is not None:
        return text_of(last.get("content"))
    return None
