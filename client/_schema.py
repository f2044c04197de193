"""MCP tool definitions in the OpenAI function-calling format."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def openai_parameters(input_schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """An MCP ``inputSchema`` as OpenAI ``parameters``: a deep copy, always an object schema.

    ``$schema`` is dropped (some providers reject it); a schema without ``type`` becomes
    ``"object"``, and one without ``properties`` gets an empty mapping, which strict
    providers require. Nothing else is changed: ``required``, ``enum``, ``$defs``,
    ``additionalProperties`` reach the model as the server wrote them.
    """
    schema = copy.deepcopy(dict(input_schema or {}))
    schema.pop("$schema", None)
    schema.setdefault("type", "object")
    if schema["type"] == "object":
        schema.setdefault("properties", {})
    return schema


def openai_tool(name: str, description: str, input_schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{"type": "function", "function": {"name", "description", "parameters"}}``."""
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": openai_parameters(input_schema)},
    }
