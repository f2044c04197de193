"""User simulators: the person on the other side, who knows the goal and the hidden facts and nothing else.

A simulator answers the conversation so far with a ``UserTurn``: what the user says, and ``stop`` when the
conversation is over (the stop message itself is not part of the trajectory). ``ScriptedUser`` is the
offline default and never says a fact the blueprint does not hold; ``LLMUser`` plays the same role with any
model through a ``ModelBackend``, with the blueprint's facts as the only things it may state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ._backend import ModelBackend
from ._bind import render
from ._blueprint import Blueprint, Fact
from ._model_types import ChatMessage, GenerationSettings, Usage

STOP = "###STOP###"

_OPEN = ("Hi!", "Hello,", "Hey there.", "Good morning.", "Hi, quick one:", "Hello there,", "Hi —")
_FACT = (
    "{What} is {value}.", "For reference, {what}: {value}.", "({What}: {value}.)",
    "You'll need {what}: {value}.",
)
_REVEAL = (
    "Oh, sorry — {what} is {value}.", "Sure: {what} is {value}.", "Of course. {What}: {value}.",
    "Right, I should have said: {what} is {value}.", "It's {value}.",
)
_NOTHING = (
    "I don't have any other details, sorry — please go ahead with what you have.",
    "That's all I know; can you continue?",
)
_THANKS = (
    "Thanks, that's all I needed.", "Perfect, thank you!", "Great, thanks for your help.",
    "That's everything, thanks.", "Wonderful, much appreciated.", "Thanks a lot!",
)


def _pick(options: tuple[str, ...], *key: object) -> str:
    h = int.from_bytes(hashlib.blake2b("|".join(map(str, key)).encode(), digest_size=4).digest(), "big")
    return options[h % len(options)]


def _about(f: Fact) -> str:
    return f.description.removeprefix("the ").removeprefix("The ")


@dataclass(frozen=True)
class UserTurn:
    content: str
    stop: bool = False
    usage: Usage = field(default_factory=Usage)


class UserSimulator(Protocol):
    """Plays the user: answers the conversation so far with what the user says, or a stop."""

    @property
    def name(self) -> str: ...

    async def respond(self, messages: Sequence[ChatMessage]) -> UserTurn: ...


def first_message(bp: Blueprint) -> str:
    facts = " ".join(_pick(_FACT, bp.id, f.name).format(what=_about(f), What=_about(f).capitalize(),
                                                        value=render(f.value))
                     for f in bp.facts if f.reveal == "upfront")
    return " ".join(x for x in (_pick(_OPEN, bp.id), bp.goal, facts) if x)


def _is_question(text: str) -> bool:
    t = text.strip().lower()
    asks = ("could you tell me", "could you give me", "what is", "please provide")
    return t.endswith("?") or any(k in t for k in asks)


class ScriptedUser:
    """Follows the blueprint: states the goal and upfront facts, reveals the others when asked, stops when
    the assistant has answered. It never states anything that is not in the blueprint."""

    def __init__(self, blueprint: Blueprint) -> None:
        self.blueprint = blueprint

    @property
    def name(self) -> str:
        return "scripted"

    async def respond(self, messages: Sequence[ChatMessage]) -> UserTurn:
        bp = self.blueprint
        if not any(m.get("role") == "user" for m in messages):
            return UserTurn(first_message(bp))
        last = messages[-1]
        text = str(last.get("content") or "") if last.get("role") == "assistant" else ""
        said = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")
        if _is_question(text):
            hidden = [f for f in bp.facts if render(f.value) not in said]
            asked = [f for f in hidden if any(w in text.lower() for w in _about(f).lower().split() if len(w) > 3)]
            for f in asked or hidden[:1]:
                return UserTurn(_pick(_REVEAL, bp.id, f.name).format(what=_about(f), What=_about(f).capitalize(),
                                                                     value=render(f.value)))
            return UserTurn(_pick(_NOTHING, bp.id, len(messages)))
        return UserTurn(_pick(_THANKS, bp.id), stop=True)


USER_SYSTEM = """You are role-playing a user who is talking to a customer-service assistant.
Who you are: {persona}.
What you want: {goal}
Facts you know and may state (state a fact only as given; you know nothing else):
{facts}
Rules:
- Start by saying what you want, with the facts marked (say upfront). Keep the others until the assistant asks.
- Never invent names, ids, numbers, dates or any other detail that is not listed above.
- Answer the assistant's questions briefly and in your own words.
- When the assistant has done what you asked and told you the result, or cannot help, reply with exactly {stop}.
- Never call tools, never mention these instructions."""


class LLMUser:
    """A model plays the user; the blueprint's facts are all it may say (see ``USER_SYSTEM``)."""

    def __init__(self, blueprint: Blueprint, backend: ModelBackend, *,
                 settings: GenerationSettings | None = None) -> None:
        self.blueprint = blueprint
        self.backend = backend
        self.settings = settings

    @property
    def name(self) -> str:
        return self.backend.name

    def _system(self) -> str:
        bp = self.blueprint
        when = {"upfront": "say upfront", "on_request": "only if asked"}
        facts = "\n".join(f"- {f.description}: {render(f.value)} ({when[f.reveal]})" for f in bp.facts) or "- (none)"
        return USER_SYSTEM.format(persona=bp.persona, goal=bp.goal, facts=facts, stop=STOP)

    async def respond(self, messages: Sequence[ChatMessage]) -> UserTurn:
        # The simulator sees the conversation from the user's side: its own words are "assistant".
        flipped: list[dict[str, object]] = [{"role": "system", "content": self._system()}]
        for m in messages:
            if m.get("role") == "user":
                flipped.append({"role": "assistant", "content": m.get("content") or ""})
            elif m.get("role") == "assistant" and m.get("content"):
                flipped.append({"role": "user", "content": m.get("content")})
        if len(flipped) == 1:
            flipped.append({"role": "user", "content": "(The assistant is waiting for you to start.)"})
        reply = await self.backend.complete(flipped, (), settings=self.settings)
        text = (reply.message.content or "").strip()
        if STOP in text or not text:
            return UserTurn(_pick(_THANKS, self.blueprint.id), stop=True, usage=reply.usage)
        return UserTurn(text, usage=reply.usage)
