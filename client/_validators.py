"""Compiled output-schema validators, shared between MCP sessions.

The MCP client re-validates every structured tool result against the tool's output schema. It compiles
that validator once per tool *per session*, and compiling starts with a check of the schema against the
JSON Schema meta-schema (about 2 ms of CPU). The harness opens new sessions for every episode (a fresh
world, the sandbox) that serve the same tools with the same schemas, so each episode paid for the same
compilations again: about a third of an offline episode's CPU. A ``ValidatorCache`` keeps one compiled
validator per distinct schema and hands it to each new session before the session would compile its own.

The hand-over writes the session's per-tool validator table, which the SDK does not expose publicly; when
the table is not there (another SDK version), priming does nothing and the session compiles as before.
A validator is built exactly as the SDK builds it, and a schema that fails the meta-schema check is never
cached, so the session still raises its own error for it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)


class ValidatorCache:
    """Compiled validators keyed by the schema's canonical JSON; at most ``max_entries`` are kept."""

    def __init__(self, *, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._validators: dict[str, Any] = {}
        self.compiled = 0  # how many schemas this cache compiled (each distinct schema once)

    def __len__(self) -> int:
        return len(self._validators)

    def prime(self, session: Any, tool: str, schema: Mapping[str, Any] | None) -> bool:
        """Give ``session`` the validator for ``tool``'s output ``schema`` unless it has one already.

        Returns whether the session now holds a validator from this cache.
        """
        table = getattr(session, "_tool_output_validators", None)
        if schema is None or not isinstance(table, dict):
            return False
        if tool in table:
            return True
        validator = self.validator(schema)
        if validator is None:
            return False
        table[tool] = validator
        return True

    def validator(self, schema: Mapping[str, Any]) -> Any:
        """The compiled validator for ``schema``, or ``None`` when it is not a valid JSON Schema."""
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            validator = _compile(dict(schema))
            if validator is None:
                return None
            if len(self._validators) >= self.max_entries:
                self._validators.clear()
            self._validators[key] = validator
            self.compiled += 1
        return validator


def _compile(schema: dict[str, Any]) -> Any:
    # As mcp.client.session.ClientSession._output_schema_validator does it.
    from jsonschema import SchemaError
    from jsonschema.validators import validator_for
    from referencing import Registry

    cls = validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError:
        logger.debug("output schema is not valid JSON Schema; the MCP session will report it")
        return None
    return cls(schema, registry=Registry())
