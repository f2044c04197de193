"""One conversation: the user simulator and the assistant talking over a hub's tools, under limits.

It reads the way an agent loop should: ``run`` lets the user open and then takes ``step``s until the
conversation is over; a ``step`` is one ``query`` of the assistant, whose tool calls are ``execute``d or whose
message goes to the user (``hand_to_user``). A limit (turns, tool calls, time) or a failed model call ends
it with a reason code; a refused key (``ModelAuthError``) is raised, because no conversation can succeed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import anyio

from ._backend import ModelBackend
from ._errors import ModelAuthError, ModelError
from ._hub import Hub
from ._model_types import AssistantMessage, ToolCall, Usage
from ._user import UserSimulator, UserTurn


@dataclass(frozen=True)
class EpisodeLimits:
    """Bounds on one conversation: user turns, tool calls in all, wall-clock seconds."""

    max_turns: int = 12
    max_tool_calls: int = 32
    time_s: float = 300.0


class Conversation:
    """The messages of one conversation as it happens, and why it ended (``reasons``, ``details``)."""

    def __init__(self, hub: Hub, *, assistant: ModelBackend, user: UserSimulator, limits: EpisodeLimits,
                 system_prompt: str) -> None:
        self.hub = hub
        self.assistant = assistant
        self.user = user
        self.limits = limits
        self.tools = hub.openai_tools()
        self.messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}]
        self.usage = {"assistant": Usage(), "user": Usage()}
        self.model_calls = {"assistant": 0, "user": 0}
        self.reasons: list[str] = []
        self.details: dict[str, Any] = {}
        self.turns = 0
        self.tool_calls = 0
        self.over = False
        self._used_ids: set[str] = set()

    async def run(self) -> None:
        """The user opens; then one step after another until the conversation is over or out of time."""
        with anyio.move_on_after(self.limits.time_s) as scope:
            await anyio.lowlevel.checkpoint()  # a spent budget stops the episode even if no player ever waits
            opening = await self._user_says()
            self.messages.append({"role": "user", "content": opening.content})
            while not self.over:
                await anyio.lowlevel.checkpoint()  # the deadline holds between turns of players that never wait
                await self.step()
        if scope.cancelled_caught:
            self.reasons.append("time_limit")

    async def step(self) -> None:
        """One assistant turn: its tool calls are run, or its message goes to the user."""
        message = await self.query()
        if message is None:
            return
        if message.tool_calls:
            await self.execute(message.tool_calls)
        else:
            await self.hand_to_user(message)

    async def query(self) -> AssistantMessage | None:
        """The assistant's next message, added to the conversation (``None``: the model failed)."""
        try:
            reply = await self.assistant.complete(self.messages, self.tools)
        except ModelAuthError:
            raise  # no conversation can succeed: stop the run, do not reject episode after episode
        except ModelError as e:
            self._end("model_error")
            self.details["model_error"] = str(e)[:500]
            return None
        self.usage["assistant"] += reply.usage
        self.model_calls["assistant"] += 1
        message = _unique_ids(reply.message, self._used_ids, self.model_calls["assistant"])
        self.messages.append(message.to_openai())
        return message

    async def execute(self, calls: Sequence[ToolCall]) -> None:
        """Answer every call with a tool message; none runs past the tool-call limit."""
        limit = self.limits.max_tool_calls
        for tc in calls:
            if self.tool_calls >= limit:
                content = f"Not run: the limit of {limit} tool calls is reached."
            elif tc.arguments is None:
                self.tool_calls += 1
                content = tc.arguments_error or "The arguments were not valid JSON."
            else:
                self.tool_calls += 1
                content = (await self.hub.call(tc.name, tc.arguments)).text
            self.messages.append({"role": "tool", "tool_call_id": tc.id, "content": content})
        if self.tool_calls >= limit:
            self._end("tool_call_limit")

    async def hand_to_user(self, message: AssistantMessage) -> None:
        """The assistant spoke without calling tools: a turn ends, and the user answers or stops."""
        self.turns += 1
        if self.turns >= self.limits.max_turns:
            self._end("turn_limit")
            return
        answer = await self._user_says()
        if answer.stop:
            self.over = True
            self.details["user_stop"] = answer.content
            if _asks(message.content):  # the assistant was still waiting for an answer
                self.reasons.append("user_stopped_early")
        else:
            self.messages.append({"role": "user", "content": answer.content})

    async def _user_says(self) -> UserTurn:
        turn = await self.user.respond(self.messages)
        self.usage["user"] += turn.usage
        self.model_calls["user"] += 1
        return turn

    def _end(self, reason: str) -> None:
        self.reasons.append(reason)
        self.over = True


def _unique_ids(message: AssistantMessage, used: set[str], turn: int) -> AssistantMessage:
    """The message with every tool-call id unique in the episode: some providers send none, or restart
    their numbering every turn, and a repeated id would tie a reply to the wrong call."""
    calls = []
    for i, tc in enumerate(message.tool_calls):
        cid = tc.id if tc.id and tc.id not in used else f"call_{turn}_{i}"
        while cid in used:
            cid += "_"
        used.add(cid)
        calls.append(tc if cid == tc.id else replace(tc, id=cid))
    return AssistantMessage(content=message.content, tool_calls=tuple(calls)) if calls else message


def _asks(text: str | None) -> bool:
    return bool(text) and str(text).rstrip().endswith("?")
