"""Offline language for blueprints: personas and goal phrasings, chosen by a seeded random generator.

Many phrasings per situation, so a dataset does not repeat one sentence shape; an LLM writer can replace
these when ``--model`` is given (the planner keeps the structure either way).
"""

from __future__ import annotations

import hashlib
import random

from tdscaling.servers import ToolSpec

PERSONAS: tuple[str, ...] = (
    "a busy parent juggling errands between school runs",
    "a small-business owner who wants things done quickly and correctly",
    "a retiree who is careful and likes every step explained",
    "a nurse coming off a night shift, short on patience",
    "a university student on a tight budget",
    "an operations manager who double-checks numbers",
    "a freelance designer working from a café",
    "a new employee still learning the system",
    "a frequent traveller who knows exactly what they want",
    "a cautious customer who had a bad experience last time",
    "a team lead covering for a colleague on leave",
    "an accountant closing the month",
    "a landlord managing a few properties",
    "a software engineer on call this week",
    "a volunteer coordinator at a community centre",
    "a first-time user who is unsure of the terms",
    "a support agent handling a customer's request",
    "a project manager tracking a deadline",
)

OPENERS: tuple[str, ...] = ("Hi!", "Hello,", "Hey there.", "Good morning.", "Hi, quick one:", "Hello there,", "")
THANKS: tuple[str, ...] = (
    "Thanks, that's all I needed.", "Perfect, thank you!", "Great, thanks for your help.",
    "That's everything, thanks.", "Wonderful, much appreciated.", "Thanks a lot!",
)
ASK_FORGOT: tuple[str, ...] = (
    "Oh, sorry — {what} is {value}.", "Sure: {what} is {value}.", "Of course. It's {value} ({what}).",
    "Right, I should have said: {what} is {value}.", "{value} — that's {what}.",
)


def noun(entity: str) -> str:
    return entity.replace("_", " ")


def verb(tool: str, entity: str) -> str:
    """``ship_order`` -> ``ship``; ``mark_order_delivered`` -> ``mark as delivered`` (so "mark as delivered my
    order" and "mark as delivered it" still read)."""
    all_words = tool.split("_")
    ent = entity.split("_")
    words = [w for w in all_words if w not in ent]
    if len(words) >= 2 and words[-1].endswith("ed") and words[0] in ("mark", "set", "flag", "record"):
        words = [words[0], "as", *words[1:]]
    return " ".join(words) or tool.replace("_", " ")


def _stable(options: tuple[str, ...], key: str) -> str:
    return options[int.from_bytes(hashlib.blake2b(key.encode(), digest_size=2).digest(), "big") % len(options)]


def act(spec: ToolSpec, obj: str) -> str:
    """What a tool does to ``obj``, as a verb phrase that reads for any tool name: a transition moves the
    record to its target state ("set my order to shipped"), a create makes a new record, and so on."""
    entity = noun(spec.entity)
    if spec.kind == "transition" and spec.outputs.states:
        move = _stable(("set", "move", "change", "get"), spec.name)
        return f"{move} {obj} to {spec.outputs.states[0].replace('_', ' ')}"
    if spec.kind == "create":
        return f"create a new {entity}"
    if spec.kind == "update":
        return f"update {obj}"
    if spec.kind == "delete":
        return f"delete {obj}"
    if spec.kind == "transfer":
        amount = next((p.field or p.name for p in spec.inputs if p.role == "amount"), "amount")
        return f"move some {amount.replace('_', ' ')} from {obj} to another {entity}"
    return f"{verb(spec.name, spec.entity)} {obj}"


def pick(rng: random.Random, options: tuple[str, ...] | list[str]) -> str:
    return options[rng.randrange(len(options))]


def lookup_goal(rng: random.Random, ent: str, fields: list[str]) -> str:
    what = " and ".join(f.replace("_", " ") for f in fields)
    return pick(rng, (
        f"Find out the {what} of my {noun(ent)}.",
        f"I need to know the {what} of a {noun(ent)} of mine.",
        f"Can you tell me the {what} of my {noun(ent)}?",
        f"Look up my {noun(ent)} and tell me what it says for {what}.",
        f"What is the current {what} on my {noun(ent)}?",
    ))


def action_goal(rng: random.Random, spec: ToolSpec, extra: str = "") -> str:
    mine = act(spec, f"my {noun(spec.entity)}")
    return pick(rng, (
        f"Please {mine}{extra}, then confirm its new details.",
        f"I'd like you to {mine}{extra}, and tell me how it looks afterwards.",
        f"Can you {mine}{extra}? Let me know once it's done.",
        f"Go ahead and {mine}{extra}, and confirm the result.",
    ))


def fanout_goal(rng: random.Random, ent: str, things: list[str]) -> str:
    listed = ", ".join(things[:-1]) + f" and {things[-1]}" if len(things) > 1 else things[0]
    return pick(rng, (
        f"For my {noun(ent)}, I need several things at once: {listed}.",
        f"Pull up my {noun(ent)} and give me {listed}.",
        f"Starting from my {noun(ent)}, tell me {listed}.",
    ))


def branch_goal(rng: random.Random, ent: str, a: tuple[ToolSpec, list[str]], b: tuple[ToolSpec, list[str]]) -> str:
    (ta, sa), (tb, sb) = a, b
    va, vb = act(ta, "it"), act(tb, "it")
    when_a, when_b = " or ".join(s.replace("_", " ") for s in sa), " or ".join(s.replace("_", " ") for s in sb)
    return pick(rng, (
        f"Check my {noun(ent)}: if it is {when_a}, {va}; if it is {when_b}, {vb} instead. Tell me what you did.",
        f"Depending on its status, handle my {noun(ent)}: {va} when it's {when_a}, or {vb} when it's {when_b}. "
        "Report back.",
        f"Have a look at my {noun(ent)}. If it's {when_a} then {va}, but if it's {when_b} then {vb}. "
        "Let me know the outcome.",
    ))


def recovery_goal(rng: random.Random, ent: str, target: ToolSpec, fix: ToolSpec) -> str:
    mine, first = act(target, f"my {noun(ent)}"), act(fix, "it")
    return pick(rng, (
        f"Please {mine}. If something blocks it, you have my permission to {first} first.",
        f"I'd like you to {mine}; if the system won't allow it yet, {first} first and try again.",
        f"{mine[0].upper() + mine[1:]}, please — and if it can't be done yet, {first} and then try again.",
    ))


def code_goal(rng: random.Random, ent: str, what: str) -> str:
    return pick(rng, (
        f"Work out the {what} across my {noun(ent)} records — compute it exactly, don't estimate.",
        f"I need the exact {what} over the {noun(ent)} records that match; please calculate it.",
        f"Calculate the {what} for those {noun(ent)} records and give me the number.",
    ))


def cross_goal(rng: random.Random, ent_a: str, ent_b: str, dom_b: str, fields: list[str]) -> str:
    what = " and ".join(f.replace("_", " ") for f in fields)
    return pick(rng, (
        f"Using my {noun(ent_a)} details, find me in the {dom_b.replace('_', ' ')} system and tell me the {what} "
        f"of my {noun(ent_b)} record there.",
        f"I'm registered in both services. Look up my {noun(ent_a)} record, then find my {noun(ent_b)} record in "
        f"{dom_b.replace('_', ' ')} and tell me its {what}.",
    ))
