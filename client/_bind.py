"""Resolving plan bindings against what the tools actually returned.

Used by the scripted assistant (to build its calls), by the gold replay and by the planner's dry run, so a
plan means the same thing everywhere. A path is a dotted/indexed walk into a step's structured output:
``records[0].id``, ``from.balance``, ``value``, ``stdout`` (empty: the whole output).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ._blueprint import Binding, Condition, Const, FactRef, StepRef, Template

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class BindingError(LookupError):
    """A binding names a fact, a step or a path that does not exist in what was observed."""


def walk(value: Any, path: str) -> Any:
    """Follow ``path`` into ``value``; raise ``BindingError`` naming the first missing part."""
    node = value
    for name, index in _TOKEN.findall(path):
        if index:
            i = int(index)
            if not isinstance(node, list) or i >= len(node):
                raise BindingError(f"no item [{i}] in {type(node).__name__} at '{path}'")
            node = node[i]
        else:
            if not isinstance(node, Mapping) or name not in node:
                raise BindingError(f"no key '{name}' at '{path}'")
            node = node[name]
    return node


def render(value: Any) -> str:
    """How a value reads in text: strings as they are, numbers without noise, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True)


def resolve(binding: Binding, *, facts: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
    """The concrete value of a binding, given user facts and the outputs of earlier steps."""
    if isinstance(binding, Const):
        return binding.value
    if isinstance(binding, FactRef):
        if binding.name not in facts:
            raise BindingError(f"unknown fact '{binding.name}'")
        return facts[binding.name]
    if isinstance(binding, StepRef):
        if binding.step not in outputs:
            raise BindingError(f"step '{binding.step}' has no output (not run, or it failed)")
        return walk(outputs[binding.step], binding.path)
    if isinstance(binding, Template):
        values = {k: resolve(ref, facts=facts, outputs=outputs) for k, ref in binding.refs.items()}
        return fill(binding.text, values)
    raise TypeError(f"not a binding: {binding!r}")  # pragma: no cover - the union is closed


def fill(text: str, values: Mapping[str, Any]) -> str:
    """Replace ``{name}`` placeholders (only names in ``values``; other braces are left alone)."""

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        return render(values[key]) if key in values else m.group(0)

    return re.sub(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}", sub, text)


def holds(cond: Condition, *, outputs: Mapping[str, Any]) -> bool:
    """Whether a step's condition holds on the actual outputs (a missing value means it does not)."""
    try:
        actual = resolve(cond.ref, facts={}, outputs=outputs)
    except BindingError:
        return False
    op, want = cond.op, cond.value
    if op == "==":
        return bool(actual == want)
    if op == "!=":
        return bool(actual != want)
    if op == "in":
        return actual in want
    if op == "not_in":
        return actual not in want
    try:
        if op == "<":
            return bool(actual < want)
        if op == "<=":
            return bool(actual <= want)
        if op == ">":
            return bool(actual > want)
        return bool(actual >= want)
    except TypeError:
        return False
