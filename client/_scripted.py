"""The scripted assistant: the offline model backend that plays the assistant by following a blueprint.

It keeps no state between calls. From the conversation alone it works out which plan steps have run and
what they returned, binds the next step's arguments to those actual outputs (and to facts the user has
actually said), asks the user when a needed fact has not been said, issues a group's calls together, and
ends with an answer rendered from what the tools returned. Its wording varies with a deterministic hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._bind import BindingError, fill, holds, render, resolve
from ._blueprint import SANDBOX, Blueprint, FactRef, PlanStep, Template
from ._model_types import AssistantMessage, ChatMessage, GenerationSettings, ModelReply, ToolCall, Usage

_NARRATION = (
    "Let me check that for you.", "One moment while I look this up.", "I'll take care of that now.",
    "Sure — let me do that.", "On it.", "Let me pull that up.", "I'll handle this step by step.", "",
)
_ASK = (
    "To find the right record I need {what}. Could you tell me?",
    "Could you give me {what}, please?",
    "Before I go on: what is {what}?",
    "I need one more detail — {what}. What is it?",
)
_FAILED = (
    "I'm sorry, I couldn't complete this: {error}",
    "Unfortunately this did not work: {error}",
)


def _pick(options: tuple[str, ...], *key: object) -> str:
    h = int.from_bytes(hashlib.blake2b("|".join(map(str, key)).encode(), digest_size=4).digest(), "big")
    return options[h % len(options)]


def call_id(step: PlanStep) -> str:
    return f"call_{step.id}"


def said_by_user(messages: Sequence[ChatMessage]) -> str:
    return "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")


def parse_output(text: str) -> tuple[bool, Any]:
    """A tool reply as the scripted assistant reads it: a JSON object is a result; anything else an error."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return False, text
    return isinstance(value, dict), value


class ScriptedAssistant:
    """A ``ModelBackend`` that follows ``blueprint``'s plan; ``names`` maps (server, tool) to the public name."""

    def __init__(self, blueprint: Blueprint, *, names: Mapping[tuple[str, str], str] | None = None,
                 session_id: str | None = None) -> None:
        self.blueprint = blueprint
        self.names = dict(names or {})
        self.session_id = session_id

    @property
    def name(self) -> str:
        return "scripted"

    def _public(self, step: PlanStep) -> str:
        return self.names.get((step.server, step.tool), step.tool)

    async def complete(self, messages: Sequence[ChatMessage], tools: Sequence[Mapping[str, Any]] = (), *,
                       settings: GenerationSettings | None = None) -> ModelReply:
        return ModelReply(message=self.next_message(messages), usage=Usage(), model="scripted")

    def next_message(self, messages: Sequence[ChatMessage]) -> AssistantMessage:
        bp = self.blueprint
        replies = {m.get("tool_call_id"): str(m.get("content") or "") for m in messages if m.get("role") == "tool"}
        # The calls already made, in order. They are matched to plan steps by position, not by id, so a
        # harness or provider that renames call ids does not lose the thread.
        issued = [tc.get("id") for m in messages if m.get("role") == "assistant" for tc in m.get("tool_calls") or []]
        heard = said_by_user(messages)
        facts = {f.name: f.value for f in bp.facts if render(f.value) in heard}
        outputs: dict[str, Any] = {}
        pending: list[PlanStep] = []
        made = 0
        for step in bp.plan:
            if step.when is not None and not holds(step.when, outputs=outputs):
                continue
            if made < len(issued):
                cid = issued[made]
                made += 1
                ok, value = parse_output(replies.get(cid, ""))
                if ok:
                    outputs[step.id] = value
                elif not step.expect_error:
                    return self._failed(value)
                continue
            if pending and step.group != pending[0].group:
                break
            missing = [b.name for b in step.args.values() if isinstance(b, FactRef) and b.name not in facts]
            if missing:
                if pending:
                    break
                return self._ask(missing[0])
            pending.append(step)
        if not pending:
            return AssistantMessage(content=self._answer(bp.answer, facts, outputs))
        return self._call(pending, facts, outputs)

    def _call(self, steps: Sequence[PlanStep], facts: Mapping[str, Any], outputs: Mapping[str, Any]
              ) -> AssistantMessage:
        """One message calling ``steps`` together, their arguments bound to what was said and returned."""
        calls = []
        for step in steps:
            try:
                args = {k: resolve(b, facts=facts, outputs=outputs) for k, b in step.args.items()}
            except BindingError as e:
                return self._failed(f"I could not work out the arguments for {step.tool} ({e}).")
            if step.server == SANDBOX and self.session_id and "session_id" not in args:
                args["session_id"] = self.session_id
            calls.append(ToolCall(id=call_id(step), name=self._public(step), arguments=args,
                                  raw_arguments=json.dumps(args)))
        text = steps[0].say.capitalize() + "." if steps[0].say and len(steps) == 1 else \
            _pick(_NARRATION, self.blueprint.id, steps[0].id)
        return AssistantMessage(content=text or None, tool_calls=tuple(calls))

    def _ask(self, fact_name: str) -> AssistantMessage:
        fact = self.blueprint.fact(fact_name)
        return AssistantMessage(content=_pick(_ASK, self.blueprint.id, fact_name).format(what=fact.description))

    def _failed(self, error: Any) -> AssistantMessage:
        return AssistantMessage(content=_pick(_FAILED, self.blueprint.id).format(error=str(error)[:300]))

    @staticmethod
    def _answer(answer: Template, facts: Mapping[str, Any], outputs: Mapping[str, Any]) -> str:
        values = {}
        for key, ref in answer.refs.items():
            try:
                values[key] = render(resolve(ref, facts=facts, outputs=outputs)).strip()
            except BindingError:
                values[key] = "(not available)"
        return fill(answer.text, values)
