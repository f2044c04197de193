"""Session ids are names, never paths: one validated type, used by the Sandbox, every backend and the tool schemas.

A session id names a workspace directory directly under the sandbox's root (and a Docker container), so it
must never be able to say "the root itself" (``.``), "the directory above" (``..``) or any path at all.
Only letters, digits, ``-`` and ``_`` are allowed, 1 to 64 of them; there is no dot, so ``.`` and ``..``
cannot be spelled.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import WithJsonSchema

from tdscaling.sandbox._errors import SandboxUsageError

PATTERN = "^[A-Za-z0-9_-]{1,64}$"
RULE = "a session id is a name of 1-64 letters, digits, '-' or '_' (no '.', no '/': never a path)"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # fullmatch: '$' in a pattern would also accept a trailing newline


class SessionId(str):
    """A checked session id. ``SessionId(value)`` raises :class:`SandboxUsageError` naming the rule."""

    __slots__ = ()

    def __new__(cls, value: object) -> SessionId:
        if isinstance(value, SessionId):
            return value
        if not isinstance(value, str) or _NAME.fullmatch(value) is None:
            shown = repr(value[:80]) if isinstance(value, str) else type(value).__name__
            raise SandboxUsageError(f"session_id {shown} is invalid: {RULE}")
        return super().__new__(cls, value)


SessionIdParam = Annotated[
    str,
    WithJsonSchema({"type": "string", "pattern": PATTERN, "minLength": 1, "maxLength": 64,
                    "description": f"the workspace to use: {RULE} (default 'default')"}),
]
"""How the tools declare a session id: the pattern is published in their schema; ``SessionId`` enforces it."""
