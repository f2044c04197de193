"""One namespace for the tools of many servers, with an exact mapping back.

The rule (``NamingPolicy``):

1. A tool keeps its own name unless another connected server exposes a tool of the
   same name; then every tool of that name becomes ``<server><separator><tool>``.
   With ``prefix="always"`` every tool is prefixed.
2. The name is made valid for OpenAI function calling (``^[a-zA-Z0-9_-]{1,64}$``):
   any other character becomes ``_``, and a name longer than 64 characters is cut to
   55 and given ``_`` plus 8 hex digits of the SHA-1 of the unsanitized name.
3. If the result is still taken (sanitizing can merge names), ``_2``, ``_3``, ... is
   appended, in the order the servers were given and the tools were listed.

The hub keeps a dict from public name to ``(server, tool)``, so routing never parses
a public name.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ._errors import HubConfigError

MAX_NAME_LENGTH = 64
_INVALID = re.compile(r"[^a-zA-Z0-9_-]")
_VALID_SEPARATOR = re.compile(r"^[a-zA-Z0-9_-]{1,8}$")


@dataclass(frozen=True)
class NamingPolicy:
    """When to prefix a tool's name with its server's, and with what separator."""

    prefix: Literal["on_collision", "always"] = "on_collision"
    separator: str = "__"

    def __post_init__(self) -> None:
        if not _VALID_SEPARATOR.match(self.separator):
            raise HubConfigError(
                f"separator {self.separator!r} must be 1-8 characters from [a-zA-Z0-9_-], such as '__' or '-'"
            )


def sanitize(name: str) -> str:
    """Make ``name`` a valid OpenAI function name (see rule 2)."""
    clean = _INVALID.sub("_", name) or "tool"
    if len(clean) <= MAX_NAME_LENGTH:
        return clean
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{clean[: MAX_NAME_LENGTH - 9]}_{digest}"


def assign_names(tools: Sequence[tuple[str, str]], policy: NamingPolicy) -> list[str]:
    """Public names for ``(server, tool)`` pairs, in the same order, all distinct."""
    counts = Counter(tool for _, tool in tools)
    taken: set[str] = set()
    names: list[str] = []
    for server, tool in tools:
        prefixed = policy.prefix == "always" or counts[tool] > 1
        name = sanitize(f"{server}{policy.separator}{tool}" if prefixed else tool)
        candidate, k = name, 2
        while candidate in taken:
            suffix = f"_{k}"
            candidate = name[: MAX_NAME_LENGTH - len(suffix)] + suffix
            k += 1
        taken.add(candidate)
        names.append(candidate)
    return names
