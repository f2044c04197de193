"""A resolved operation (``ToolSpec``): its inputs, outputs and preconditions as data, and its schema.

``tool_spec(domain, op)`` is what the graph, the generator and the runtime read; ``input_schema``
turns the inputs into the JSON Schema an MCP client sees.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from ._kinds import Outputs, Param, kind_of
from ._spec import DomainSpec, Effect, OperationSpec, Precondition

MAX_STRING = 2000
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?$"


class ToolSpec(BaseModel):
    """One operation of one domain, resolved: everything a tool is, as data."""

    model_config = ConfigDict(frozen=True)

    name: str
    domain: str
    operation: str
    kind: str
    entity: str
    description: str
    inputs: tuple[Param, ...]
    outputs: Outputs
    preconditions: tuple[Precondition, ...]
    effects: tuple[Effect, ...]
    read_only: bool
    destructive: bool
    idempotent: bool
    source_states: tuple[str, ...] = ()  # a transition's legal starting states

    def param(self, name: str) -> Param | None:
        return next((p for p in self.inputs if p.name == name), None)

    def needs_ids(self) -> list[tuple[str, str]]:
        """(param, entity) for every required id input: what must be known before calling."""
        return [(p.name, p.ref) for p in self.inputs if p.required and p.ref and p.type == "ref"]

    def needs_states(self) -> list[tuple[str, tuple[str, ...]]]:
        """(entity, states) that some record must be in for the call to succeed."""
        out: list[tuple[str, tuple[str, ...]]] = []
        if self.source_states:
            out.append((self.entity, self.source_states))
        for pre in self.preconditions:
            if pre.kind == "ref_state":
                p = self.param(pre.param)
                if p is not None and p.ref:
                    out.append((p.ref, tuple(pre.states)))
            elif pre.kind == "state":
                out.append((self.entity, tuple(pre.states)))
        return out


def _param_schema(p: Param, domain: DomainSpec) -> dict[str, Any]:
    s: dict[str, Any]
    if p.type == "ref":
        prefix = domain.entities[p.ref].id_prefix if p.ref else "[A-Z]+"
        s = {"type": "string", "pattern": f"^{re.escape(prefix)}-\\d{{6}}$"}
    elif p.type == "enum":
        s = {"type": "string", "enum": list(p.values or ())}
    elif p.type in ("integer",):
        s = {"type": "integer"}
    elif p.type in ("number", "money"):
        s = {"type": "number"}
    elif p.type == "boolean":
        s = {"type": "boolean"}
    elif p.type == "date":
        s = {"type": "string", "pattern": DATE_PATTERN}
    elif p.type == "datetime":
        s = {"type": "string", "pattern": DATETIME_PATTERN}
    else:
        s = {"type": "string", "minLength": 1, "maxLength": MAX_STRING}
    if p.minimum is not None and s.get("type") in ("integer", "number"):
        s["minimum"] = p.minimum if p.type != "integer" else int(p.minimum)
    if p.maximum is not None and s.get("type") in ("integer", "number"):
        s["maximum"] = p.maximum if p.type != "integer" else int(p.maximum)
    if p.role == "amount":
        s.pop("minimum", None)
        s["exclusiveMinimum"] = 0
    s["description"] = p.description
    return s


def input_schema(tool: ToolSpec, domain: DomainSpec) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a tool's arguments; unknown arguments are refused."""
    return {
        "type": "object",
        "properties": {p.name: _param_schema(p, domain) for p in tool.inputs},
        "required": [p.name for p in tool.inputs if p.required],
        "additionalProperties": False,
    }


def _fires_for_good(domain: DomainSpec, op: OperationSpec, inputs: tuple[Param, ...]) -> bool:
    """Whether an effect fires a move on another record that cannot be undone (a refund filed as a create)."""
    for effect in op.effects:
        if effect.kind != "fire":
            continue
        param = next((p for p in inputs if p.name == effect.param), None)
        target = domain.entities.get(param.ref) if param is not None and param.ref else None
        sm = target.state_machine if target is not None else None
        move = sm.transition(effect.transition) if sm is not None else None
        if sm is not None and move is not None and not sm.can_undo(move):
            return True
    return False


def tool_spec(domain: DomainSpec, op: OperationSpec) -> ToolSpec:
    """The tool an operation of ``domain`` compiles to: its inputs, outputs, preconditions and annotations."""
    kind = kind_of(op)
    inputs = tuple(kind.inputs(domain, op))
    return ToolSpec(
        name=op.name,
        domain=domain.name,
        operation=op.name,
        kind=op.kind,
        entity=op.entity,
        description=f"{op.description.rstrip()} {kind.returns_text(domain, op)}",
        inputs=inputs,
        outputs=kind.outputs(domain, op),
        preconditions=tuple(op.preconditions),
        effects=tuple(op.effects),
        read_only=kind.read_only,
        destructive=kind.destructive(domain, op) or _fires_for_good(domain, op, inputs),
        idempotent=kind.idempotent,
        source_states=kind.required_states(domain, op),
    )
