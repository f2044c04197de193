"""Offline language for blueprints: personas and goal phrasings, chosen by a seeded random generator.

Many phrasings per situation, so a dataset does not repeat one sentence shape; an LLM writer can replace
these when ``--model`` is given (the planner keeps the structure either way).
"""

from __future__ import annotations

import random

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


def pick(rng: random.Random, options: tuple[str, ...] | list[str]) -> str:
    return options[rng.randrange(len(options))]


def lookup_goal(rng: random.Random, ent: str, fields: list[str]) -> str:
    what = " and ".join(f.replace("_", " ") for f in fields)
    return pick(rng, (
        f"Find out the {what} of my {noun(ent)}.",
        f"I need to know the {what} of a {noun(ent)} of mine.",
        f"Can you tell me the {what} of my {noun(ent)}?",
        f"Look up my {noun(ent)} and tell me its {what}.",
        f"What is the current {what} on my {noun(ent)}?",
    ))


def action_goal(rng: random.Random, tool: str, ent: str, extra: str = "") -> str:
    v = verb(tool, ent)
    return pick(rng, (
        f"Please {v} my {noun(ent)}{extra}, then confirm its new details.",
        f"I'd like you to {v} a {noun(ent)} of mine{extra}, and tell me how it looks afterwards.",
        f"Can you {v} my {noun(ent)}{extra}? Let me know once it's done.",
        f"Go ahead and {v} the {noun(ent)}{extra}, and confirm the result.",
    ))


def fanout_goal(rng: random.Random, ent: str, things: list[str]) -> str:
    listed = ", ".join(things[:-1]) + f" and {things[-1]}" if len(things) > 1 else things[0]
    return pick(rng, (
        f"For my {noun(ent)}, I need several things at once: {listed}.",
        f"Pull up my {noun(ent)} and give me {listed}.",
        f"Starting from my {noun(ent)}, tell me {listed}.",
    ))


def branch_goal(rng: random.Random, ent: str, a: tuple[str, list[str]], b: tuple[str, list[str]]) -> str:
    (va, sa), (vb, sb) = a, b
    return pick(rng, (
        f"Check my {noun(ent)}: if it is {' or '.join(sa)}, {va} it; if it is {' or '.join(sb)}, {vb} it instead. "
        "Tell me what you did.",
        f"Depending on its status, handle my {noun(ent)}: {va} it when it's {' or '.join(sa)}, or {vb} it when it's "
        f"{' or '.join(sb)}. Report back.",
        f"Have a look at my {noun(ent)}. If it's {' or '.join(sa)} then {va} it, but if it's {' or '.join(sb)} "
        f"then {vb} it. Let me know the outcome.",
    ))


def recovery_goal(rng: random.Random, ent: str, target: str, fix: str) -> str:
    return pick(rng, (
        f"Please {target} my {noun(ent)}. If something blocks it, you have my permission to {fix} it first.",
        f"I want my {noun(ent)} to get to the point where you can {target} it; {fix} it along the way if the "
        "system requires that.",
        f"{target.capitalize()} my {noun(ent)}, please — and if it can't be done yet, {fix} it and try again.",
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
