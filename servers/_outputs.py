"""Output JSON Schemas of served tools: exactly the shapes ``_semantics`` returns.

MCP clients validate ``structuredContent`` against ``outputSchema`` and refuse a mismatch, so these
schemas must be true for every successful result (error results carry text only).
"""

from __future__ import annotations

from typing import Any

from ._spec import EntitySpec
from ._tools import ToolSpec

_JSON_TYPES = {"integer": "integer", "number": "number", "money": "number", "boolean": "boolean"}


def record_schema(entity: EntitySpec) -> dict[str, Any]:
    """A record: its id and every field, null where the field is optional."""
    props: dict[str, Any] = {"id": {"type": "string", "pattern": f"^{entity.id_prefix}-\\d{{6}}$"}}
    for name, f in entity.fields.items():
        s: dict[str, Any] = {"type": _JSON_TYPES.get(f.type, "string")}
        if f.type == "enum" and f.values:
            s["enum"] = list(f.values)
        if f.description:
            s["description"] = f.description
        if not f.required:
            s["type"] = [s["type"], "null"]
            if "enum" in s:
                s["enum"] = [*s["enum"], None]
        props[name] = s
    required = ["id", *(n for n, f in entity.fields.items() if f.required)]
    return {"type": "object", "properties": props, "required": required}


def output_schema(tool: ToolSpec, entity: EntitySpec) -> dict[str, Any]:
    rec = record_schema(entity)
    returns = tool.outputs.returns
    if returns == "record":
        return rec
    if returns == "records":
        return {"type": "object", "properties": {
            "records": {"type": "array", "items": rec},
            "total": {"type": "integer", "description": "How many records match in all."},
            "next_offset": {"type": ["integer", "null"], "description": "Pass as offset for the next page; "
                                                                         "null on the last page."},
        }, "required": ["records", "total", "next_offset"]}
    if returns == "aggregate":
        return {"type": "object", "properties": {
            "function": {"type": "string"},
            "measure": {"type": ["string", "null"]},
            "value": {"type": ["number", "null"], "description": "Null when no record matched (except count "
                                                                 "and sum, which are 0)."},
            "matched": {"type": "integer", "description": "How many records matched the filters."},
        }, "required": ["function", "measure", "value", "matched"]}
    if returns == "deleted":
        return {"type": "object", "properties": {"id": {"type": "string"}, "deleted": {"const": True}},
                "required": ["id", "deleted"]}
    return {"type": "object", "properties": {"from": rec, "to": rec, "amount": {"type": "number"}},
            "required": ["from", "to", "amount"]}
