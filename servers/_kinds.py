"""Operation kinds: the one place that says what each kind of operation takes and gives.

A kind derives, from a domain and an operation, the tool's inputs (``Param``), its outputs
(``Outputs``: which ids it reveals, which states it reaches), its annotations, and the checks its
options must pass. To add a kind, subclass ``OperationKind`` here and list it in ``KINDS``; the graph,
the generator and the JSON Schemas pick it up from there, and the runtime's ``_semantics`` executes
it under the same name.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from ._spec import NUMERIC_TYPES, ORDERED_TYPES, DomainSpec, EntitySpec, FieldType, OperationSpec

ParamRole = Literal["id", "ref", "field", "filter", "range_min", "range_max", "page", "choice", "amount"]
Problem = tuple[str, str]  # (json path inside the operation, message)
MAX_OFFSET = 1_000_000  # more rows than any seeded world holds; keeps the offset inside SQLite's integers


class Param(BaseModel):
    """One input of a tool, as data. ``ref`` names the entity whose id the parameter holds."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: FieldType | Literal["array"]
    required: bool
    description: str
    role: ParamRole
    ref: str | None = None
    values: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    field: str | None = None  # the entity field the parameter reads or writes


class Outputs(BaseModel):
    """What a tool gives back: the shape, the entities whose ids it reveals, the states it reaches."""

    model_config = ConfigDict(frozen=True)

    returns: Literal["record", "records", "aggregate", "deleted", "transfer"]
    entity: str
    ids: tuple[str, ...]
    states: tuple[str, ...] = ()


def id_param_name(entity: str) -> str:
    return f"{entity}_id"


def _id_param(domain: DomainSpec, entity: str, *, role: Literal["id", "ref"] = "id", name: str | None = None,
              what: str | None = None) -> Param:
    e = domain.entities[entity]
    return Param(
        name=name or id_param_name(entity),
        type="ref",
        required=True,
        role=role,
        ref=entity,
        description=what or f"Id of the {entity.replace('_', ' ')}, such as {e.id_prefix}-000123.",
    )


def _field_param(entity: EntitySpec, name: str, *, required: bool, role: ParamRole = "field") -> Param:
    f = entity.fields[name]
    return Param(
        name=name,
        type=f.type,
        required=required,
        role=role,
        description=f.description or name.replace("_", " ").capitalize() + ".",
        ref=f.ref,
        values=tuple(f.values) if f.values else None,
        minimum=f.min if f.type in NUMERIC_TYPES else None,
        maximum=f.max if f.type in NUMERIC_TYPES else None,
        field=name,
    )


def _filter_params(entity: EntitySpec, names: list[str]) -> list[Param]:
    out: list[Param] = []
    for name in names:
        f = entity.fields[name]
        if f.type in ORDERED_TYPES:
            label = f.description.rstrip(".") or name.replace("_", " ")
            bounds: tuple[tuple[ParamRole, str, str], ...] = (("range_min", "min", "at least"),
                                                              ("range_max", "max", "at most"))
            for role, suffix, word in bounds:
                out.append(Param(name=f"{name}_{suffix}", type=f.type, required=False, role=role,
                                 description=f"Only records whose {label} is {word} this.", field=name))
        else:
            p = _field_param(entity, name, required=False, role="filter")
            how = "contains this text (case-insensitive)" if f.type == "string" else "equals this"
            out.append(p.model_copy(update={"description": f"Only records whose {name.replace('_', ' ')} {how}."}))
    return out


def _ids_in(domain: DomainSpec, entity: str) -> tuple[str, ...]:
    e = domain.entities[entity]
    refs = [f.ref for f in e.fields.values() if f.type == "ref" and f.ref]
    return tuple(dict.fromkeys([entity, *refs]))


def _fields_exist(entity: EntitySpec, names: list[str], where: str) -> list[Problem]:
    return [(f"{where}[{i}]", f"unknown field '{n}'; the entity has {sorted(entity.fields)}")
            for i, n in enumerate(names) if n not in entity.fields]


class OperationKind:
    """The behaviour of one kind of operation, as data the rest of the system reads."""

    name: ClassVar[str]
    read_only: ClassVar[bool] = False
    idempotent: ClassVar[bool] = False
    has_target: ClassVar[bool] = True  # acts on existing records (so ``state``/``no_dependents`` can apply)

    def check(self, domain: DomainSpec, op: OperationSpec) -> list[Problem]:
        return []

    def destructive(self, domain: DomainSpec, op: OperationSpec) -> bool:
        """Whether the call removes something or cannot be undone with the domain's own operations (MCP's
        ``destructiveHint``). Reads and creates only add; an update can write the old values back."""
        return False

    def inputs(self, domain: DomainSpec, op: OperationSpec) -> list[Param]:
        raise NotImplementedError

    def outputs(self, domain: DomainSpec, op: OperationSpec) -> Outputs:
        raise NotImplementedError

    def returns_text(self, domain: DomainSpec, op: OperationSpec) -> str:
        raise NotImplementedError

    def required_states(self, domain: DomainSpec, op: OperationSpec) -> tuple[str, ...]:
        """States the target record must be in before the call (only transitions have any)."""
        return ()


class GetKind(OperationKind):
    name = "get"
    read_only = True
    idempotent = True

    def check(self, domain: DomainSpec, op: OperationSpec) -> list[Problem]:
        return [("fields", "a get takes no fields")] if op.fields else []

    def inputs(self, domain: DomainSpec, op: OperationSpec) -> list[Param]:
        return [_id_param(domain, op.entity)]

    def outputs(self, domain: DomainSpec, op: OperationSpec) -> Outputs:
        return Outputs(returns="record", entity=op.entity, ids=_ids_in(domain, op.entity))

    def returns_text(self, domain: DomainSpec, op: OperationSpec) -> str:
        return f"Returns the full {op.entity.replace('_', ' ')} record. Fails if the id does not exist."


class SearchKind(OperationKind):
    name = "search"
    read_only = True
    idempotent = True
    has_target = False

    def check(self, domain: DomainSpec, op: OperationSpec) -> list[Problem]:
        return _fields_exist(domain.entities[op.entity], op.fields, "fields")

    def inputs(self, domain: DomainSpec, op: OperationSpec) -> list[Param]:
        return [
            *_filter_params(domain.entities[op.entity], op.fields),
            Param(name="limit", type="integer", required=False, role="page", minimum=1, maximum=100,
                  description="How many records to return (1-100, default 20)."),
            Param(name="offset", type="integer", required=False, role="page", minimum=0, maximum=MAX_OFFSET,
                  description="How many matching records to skip, for paging (default 0)."),
        ]

    def outputs(self, domain: DomainSpec, op: OperationSpec) -> Outputs:
        return Outputs(returns="records", entity=op.entity, ids=_ids_in(domain, op.entity))

    def returns_text(self, domain: DomainSpec, op: OperationSpec) -> str:
        return ("Returns matching records in a stable order (by id), the total count and next_offset "
                "(null when there are no more pages). All filters are optional and combine with AND.")


class CreateKind(OperationKind):
    name = "create"
    has_target = False

    def check(self, domain: DomainSpec, op: OperationSpec) -> list[Problem]:
        e = domain.entities[op.entity]
        problems = _fields_exist(e, op.fields, "fields")
        state_field = e.state_machine.field if e.state_machine else None
        for fname, f in e.fields.items():
            if f.required and fname not in op.fields and fname != state_field:
                problems.append(("fields", f"a create must accept the required field '{fname}'"))
        if state_field and state_field in op.fields:
            problems.append(("fields", f"'{state_field}' is set by the state machine, not by create"))
        return problems

    def inputs(self, domain: DomainSpec, op: OperationSpec) -> list[Param]:
        e = domain.entities[op.entity]
        return [_field_param(e, n, required=e.fields[n].required) for n in op.fields]

    def outputs(self, domain: DomainSpec, op: OperationSpec) -> Outputs:
        sm = domain.entities[op.entity].state_machine
        return Outputs(returns="record", entity=op.entity, ids=_ids_in(domain, op.entity),
                       states=(sm.initial,) if sm else ())

    def returns_text(self, domain: DomainSpec, op: OperationSpec) -> str:
        return f"Returns the new {op.entity.replace('_', ' ')} record with its id."


class UpdateKind(OperationKind):
    name = "update"
    idempotent = True

    def check(self, domain: DomainSpec, op: OperationSpec) -> list[Problem]:
        e = domain.entities[op.entity]
        problems = _fields_exist(e, op.fields, "fields")
        if not op.fields:
            problems.append(("fields", "an update must name at least one field it may change"))
        if e.state_machine and e.state_machine.field in op.fields:
            problems.append(("fields", f"'{e.state_machine.field}' changes only through transitions"))
        return problems

    def inputs(self, domain: DomainSpec, op: OperationSpec) -> list[Param]:
        e = domain.entities[op.entity]
        return [_id_param(domain, op.entity), *[_field_param(e, n, required=False) for n in op.fields]]

    def outputs(self, domain: DomainSpec, op: OperationSpec) -> Outputs:
        return Outputs(returns="record", entity=op.entity, ids=_ids_in(domain, op.entity))

    def returns_text(self, domain: DomainSpec, op: OperationSpec) -> str:
        return "Changes only the fields you pass and returns the updated record."


class TransitionKind(OperationKind):
    name = "transition"
    idempotent = False

    def check(self, domain: DomainSpec, op: OperationSpec) -> list[Problem]:
        e = domain.entities[op.entity]
        if e.state_machine is None:
            return [("entity", f"entity '{op.entity}' has no state_machine to transition")]
        problems = _fields_exist(e, op.fields, "fields")
        if op.transition is None:
            problems.append(("transition", "a transition must name one of the state machine's transitions "
                             f"{[t.name for t in e.state_machine.transitions]}"))
        elif e.state_machine.transition(op.transition) is None:
            problems.append(("transition", f"unknown transition '{op.transition}'; the state machine has "
                             f"{[t.name for t in e.state_machine.transitions]}"))
        return problems

    def inputs(self, domain: DomainSpec, op: OperationSpec) -> list[Param]:
        e = domain.entities[op.entity]
        return [_id_param(domain, op.entity), *[_field_param(e, n, required=e.fields[n].required)
                                                 for n in op.fields]]

    def outputs(self, domain: DomainSpec, op: OperationSpec) -> Outputs:
        sm = domain.entities[op.entity].state_machine
        t = sm.transition(op.transition) if sm and op.transition else None
        return Outputs(returns="record", entity=op.entity, ids=_ids_in(domain, op.entity),
                       states=(t.target,) if t else ())

    def required_states(self, domain: DomainSpec, op: OperationSpec) -> tuple[str, ...]:
        sm = domain.entities[op.entity].state_machine
        t = sm.transition(op.transition) if sm and op.transition else None
        return tuple(t.source) if t else ()

    def destructive(self, domain: DomainSpec, op: OperationSpec) -> bool:
        """A move no sequence of moves can take back (a refund, a cancellation that can only be refunded)."""
        sm = domain.entities[op.entity].state_machine
        t = sm.transition(op.transition) if sm and op.transition else None
        return t is not None and sm is not None and not sm.can_undo(t)

    def returns_text(self, domain: DomainSpec, op: OperationSpec) -> str:
        sm = domain.entities[op.entity].state_machine
        t = sm.transition(op.transition) if sm and op.transition else None
        if t is None:
            return "Returns the record in its new state."
        return (f"Moves it from {' or '.join(t.source)} to {t.target} and returns the record. "
                f"Fails, naming the current state, if it is in any other state.")


class DeleteKind(OperationKind):
    name = "delete"
    idempotent = True

    def destructive(self, domain: DomainSpec, op: OperationSpec) -> bool:
        return True

    def check(self, domain: DomainSpec, op: OperationSpec) -> list[Problem]:
        return [("fields", "a delete takes no fields")] if op.fields else []

    def inputs(self, domain: DomainSpec, op: OperationSpec) -> list[Param]:
        return [_id_param(domain, op.entity)]

    def outputs(self, domain: DomainSpec, op: OperationSpec) -> Outputs:
        return Outputs(returns="deleted", entity=op.entity, ids=())

    def returns_text(self, domain: DomainSpec, op: OperationSpec) -> str:
        return "Permanently removes the record and returns its id. This cannot be undone."


class AggregateKind(OperationKind):
    name = "aggregate"
    read_only = True
    idempotent = True
    has_target = False

    def check(self, domain: DomainSpec, op: OperationSpec) -> list[Problem]:
        e = domain.entities[op.entity]
        problems = _fields_exist(e, op.fields, "fields") + _fields_exist(e, op.measures, "measures")
        for i, m in enumerate(op.measures):
            if m in e.fields and e.fields[m].type not in NUMERIC_TYPES:
                problems.append((f"measures[{i}]", f"'{m}' is {e.fields[m].type}; a measure must be integer, "
                                 "number or money"))
        if not op.measures and set(op.functions) != {"count"}:
            problems.append(("functions", "without measures an aggregate can only count: use [\"count\"]"))
        if not op.functions:
            problems.append(("functions", "an aggregate needs at least one function"))
        return problems

    def inputs(self, domain: DomainSpec, op: OperationSpec) -> list[Param]:
        e = domain.entities[op.entity]
        params = [Param(name="function", type="enum", required=True, role="choice", values=tuple(op.functions),
                        description="What to compute over the matching records.")]
        if op.measures:
            params.append(Param(name="measure", type="enum", required=False, role="choice",
                                values=tuple(op.measures),
                                description="The numeric field to sum, average, or take the min/max of "
                                            "(not needed for count)."))
        return [*params, *_filter_params(e, op.fields)]

    def outputs(self, domain: DomainSpec, op: OperationSpec) -> Outputs:
        return Outputs(returns="aggregate", entity=op.entity, ids=())

    def returns_text(self, domain: DomainSpec, op: OperationSpec) -> str:
        return "Returns the computed value and how many records matched the filters."


class TransferKind(OperationKind):
    name = "transfer"

    def destructive(self, domain: DomainSpec, op: OperationSpec) -> bool:
        """Takes the amount away from the source record; only another transfer, from the receiver, returns it."""
        return True

    def check(self, domain: DomainSpec, op: OperationSpec) -> list[Problem]:
        e = domain.entities[op.entity]
        q = op.quantity_field
        if q is None:
            return [("quantity_field", "a transfer must name the numeric field it moves")]
        if q not in e.fields:
            return [("quantity_field", f"unknown field '{q}'; the entity has {sorted(e.fields)}")]
        if e.fields[q].type not in NUMERIC_TYPES:
            return [("quantity_field", f"'{q}' is {e.fields[q].type}; it must be integer, number or money")]
        return []

    def inputs(self, domain: DomainSpec, op: OperationSpec) -> list[Param]:
        e = domain.entities[op.entity]
        q = op.quantity_field or ""
        qtype = e.fields[q].type if q in e.fields else "number"
        noun = op.entity.replace("_", " ")
        return [
            _id_param(domain, op.entity, name=f"from_{op.entity}_id",
                      what=f"Id of the {noun} to take from, such as {e.id_prefix}-000123."),
            _id_param(domain, op.entity, name=f"to_{op.entity}_id",
                      what=f"Id of the {noun} to move to; must differ from the source."),
            Param(name="amount", type=qtype, required=True, role="amount", minimum=0, field=q,
                  description=f"How much {q.replace('_', ' ')} to move; must be positive."),
        ]

    def outputs(self, domain: DomainSpec, op: OperationSpec) -> Outputs:
        return Outputs(returns="transfer", entity=op.entity, ids=(op.entity,))

    def returns_text(self, domain: DomainSpec, op: OperationSpec) -> str:
        q = (op.quantity_field or "quantity").replace("_", " ")
        return (f"Moves the amount atomically and returns both records. Fails without changing anything if "
                f"the source would go below zero {q}.")


KINDS: dict[str, OperationKind] = {k.name: k for k in (
    GetKind(), SearchKind(), CreateKind(), UpdateKind(), TransitionKind(), DeleteKind(), AggregateKind(),
    TransferKind(),
)}


def kind_of(op: OperationSpec) -> OperationKind:
    return KINDS[op.kind]

READ_KINDS: frozenset[str] = frozenset(name for name, kind in KINDS.items() if kind.read_only)
"""Kinds that only read (get, search, aggregate): the one place the split is made."""
WRITE_KINDS: frozenset[str] = frozenset(KINDS) - READ_KINDS
"""Kinds that change state (create, update, transition, delete, transfer)."""
