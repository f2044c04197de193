"""Parse a model's tool-call arguments, repairing only what is trivially repairable.

Repairs, applied in one pass that tracks string boundaries (so text inside strings is
never touched): code fences around the JSON, single-quoted strings and Python's string
escapes (``\\'``, ``\\xNN``, ``\\UNNNNNNNN``), Python literals
``True``/``False``/``None``, unquoted object keys, trailing commas, raw newlines inside
strings, missing closing braces or brackets at the end, and a JSON object encoded
twice as a JSON string. Anything else (an unterminated string, mismatched brackets,
prose around the JSON, a value that is not an object) is not guessed at: the result
carries an error message the model can read and react to.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?\s*```$", re.DOTALL)
_PY_LITERALS = {"True": "true", "False": "false", "None": "null", "true": "true", "false": "false", "null": "null"}
_CLOSER = {"{": "}", "[": "]"}
_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class ParsedArguments:
    """The outcome of parsing: an object, or an error that says why not."""

    value: dict[str, Any] | None
    repaired: bool = False
    error: str | None = None


def parse_arguments(raw: str | None, *, tool_name: str = "the tool") -> ParsedArguments:
    """Parse ``raw`` into a JSON object, repairing trivial damage.

    An empty string means "no arguments" (``{}``), as several providers send it for
    parameterless tools.
    """
    if raw is None or not raw.strip():
        return ParsedArguments({})
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as first_error:
        # The message names the model's own text, not our repaired version of it.
        detail = f"{first_error.msg}, line {first_error.lineno} column {first_error.colno}"
        repaired = _repair(raw)
        if repaired is None:
            return _failure(tool_name, detail)
        try:
            value = json.loads(repaired)
        except json.JSONDecodeError:
            return _failure(tool_name, detail)
        return _as_object(value, tool_name, repaired=True)
    return _as_object(value, tool_name, repaired=False)


def _as_object(value: Any, tool_name: str, *, repaired: bool) -> ParsedArguments:
    if isinstance(value, str):
        # An object serialized twice: '"{\"a\": 1}"'.
        try:
            inner = json.loads(value)
        except json.JSONDecodeError:
            inner = None
        if isinstance(inner, dict):
            return ParsedArguments(inner, repaired=True)
    if isinstance(value, dict):
        return ParsedArguments(value, repaired=repaired)
    kind = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    got = "null" if value is None else kind.get(type(value), type(value).__name__)
    return ParsedArguments(
        None,
        error=(
            f"The arguments for {tool_name} must be one JSON object of named parameters, but got {got}. "
            f'Call {tool_name} again with an object such as {{"name": value}}.'
        ),
    )


def _failure(tool_name: str, detail: str) -> ParsedArguments:
    return ParsedArguments(
        None,
        error=(
            f"The arguments for {tool_name} are not valid JSON ({detail}). "
            f"Call {tool_name} again with the arguments as one JSON object."
        ),
    )


def _repair(raw: str) -> str | None:
    """Return a repaired JSON text, or ``None`` when the damage is not trivial."""
    text = raw.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    scan = _Scan(text)
    i: int | None = 0
    while i is not None and i < len(text):
        i = scan.in_string(i) if scan.quote is not None else scan.outside(i)
    if i is None or scan.quote is not None:
        return None  # damage that is not trivial, or an unterminated string: where it ends is a guess
    _drop_trailing_comma(scan.out)
    scan.out.extend(_CLOSER[opener] for opener in reversed(scan.stack))
    return "".join(scan.out)


@dataclass
class _Scan:
    """One left-to-right pass over the text: JSON written so far, open brackets, the open string's quote.
    Each step reads from index ``i`` and returns where the next one starts (``None``: not repairable)."""

    text: str
    out: list[str] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    quote: str | None = None

    def in_string(self, i: int) -> int:
        c = self.text[i]
        if c == "\\" and i + 1 < len(self.text):
            escape, width = _python_escape(self.text, i)
            self.out.append(escape)
            return i + width
        if c == self.quote:
            self.out.append('"')
            self.quote = None
        elif c == '"':
            self.out.append('\\"')  # a double quote inside a single-quoted string
        elif c == "\n":
            self.out.append("\\n")
        else:
            self.out.append(c)
        return i + 1

    def outside(self, i: int) -> int | None:
        c = self.text[i]
        if c in "\"'":
            self.quote = c
            self.out.append('"')
        elif c in "{[":
            self.stack.append(c)
            self.out.append(c)
        elif c in "}]":
            if not self.stack or _CLOSER[self.stack.pop()] != c:
                return None
            _drop_trailing_comma(self.out)
            self.out.append(c)
        elif c.isalpha() or c == "_":
            return self.word(i)
        else:
            self.out.append(c)
        return i + 1

    def word(self, i: int) -> int | None:
        """A bare word: an unquoted key, or a Python literal (``True``, ``None``); anything else is not JSON."""
        text, j = self.text, i
        while j < len(text) and (text[j].isalnum() or text[j] == "_"):
            j += 1
        word = text[i:j]
        if text[j:].lstrip().startswith(":") and self.stack and self.stack[-1] == "{":
            self.out.append(json.dumps(word))  # an unquoted key
        elif word in _PY_LITERALS:
            self.out.append(_PY_LITERALS[word])
        else:
            return None
        return j


def _python_escape(text: str, i: int) -> tuple[str, int]:
    """Translate the escape at ``text[i]`` (a backslash) to JSON, and say how long it was.

    Python's ``repr`` writes ``\\'``, ``\\xNN`` and ``\\UNNNNNNNN``, which JSON lacks.
    """
    nxt = text[i + 1]
    if nxt == "'":
        return "'", 2
    for letter, width in (("x", 2), ("U", 8)):
        digits = text[i + 2 : i + 2 + width]
        if nxt == letter and len(digits) == width and all(d in _HEX for d in digits):
            return json.dumps(chr(int(digits, 16)))[1:-1], 2 + width
    return text[i : i + 2], 2


def _drop_trailing_comma(out: list[str]) -> None:
    k = len(out) - 1
    while k >= 0 and out[k].isspace():
        k -= 1
    if k >= 0 and out[k] == ",":
        del out[k]
