"""The domain specification: entities, fields, state machines, operations, preconditions, effects.

A domain is data (a JSON file, see docs/domain-format.md). These pydantic models are its schema;
``DomainSpec.model_validate`` checks shapes, and ``tdscaling.servers._validate`` checks everything
that crosses references (a ref to an unknown entity, a transition from an unknown state, ...).
Operation kinds live in ``_kinds``: what inputs and outputs an operation has is derived there.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime", "enum", "money", "ref"]
NUMERIC_TYPES: frozenset[str] = frozenset({"integer", "number", "money"})
ORDERED_TYPES: frozenset[str] = frozenset({"integer", "number", "money", "date", "datetime"})

# Value generators a field may name in ``faker``: Faker providers, or ``bothify:``/``numerify:``
# patterns (``#`` a digit, ``?`` a letter). Kept to a fixed list so a domain file cannot call anything else.
FAKER_PROVIDERS: frozenset[str] = frozenset({
    "name", "first_name", "last_name", "email", "phone_number", "street_address", "address", "city",
    "country", "postcode", "state", "company", "job", "word", "sentence", "paragraph", "catch_phrase", "bs",
    "license_plate", "iban", "url", "domain_name", "user_name", "color_name", "file_name", "isbn13", "ean13",
    "ssn", "swift", "currency_code", "language_name", "ipv4", "uuid4", "credit_card_number", "building_number",
})
FAKER_PATTERN_PREFIXES: tuple[str, ...] = ("bothify:", "numerify:")

DEFAULT_ROWS = 60  # rows seeded per entity when neither the entity nor the caller says
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
_NAME_RE = re.compile(NAME_PATTERN)


def is_name(value: str) -> bool:
    return bool(_NAME_RE.match(value))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldSpec(_Strict):
    """One typed field of an entity.

    ``required`` fields must be given when a record is created. ``values`` lists the members of an
    ``enum``; ``ref`` names the entity an id field points to. ``faker`` (a Faker provider such as
    ``name``, ``email``, ``street_address``) or ``choices`` tell the seeder what realistic values look
    like; ``min``/``max`` bound numbers and money, and for dates are days relative to the world's
    anchor date.
    """

    type: FieldType
    description: str = ""
    required: bool = True
    values: list[str] | None = None
    ref: str | None = None
    min: float | None = None
    max: float | None = None
    faker: str | None = None
    choices: list[str] | None = None
    unique: bool = False


class Transition(_Strict):
    """A named move of a state machine: from any of ``source`` states to ``target``."""

    name: str = Field(pattern=NAME_PATTERN)
    source: list[str] = Field(alias="from", min_length=1)
    target: str = Field(alias="to")


class StateMachine(_Strict):
    """The lifecycle of an entity, held in its enum field ``field``."""

    field: str = "status"
    initial: str
    states: list[str] = Field(min_length=2)
    transitions: list[Transition] = Field(min_length=1)

    def transition(self, name: str) -> Transition | None:
        return next((t for t in self.transitions if t.name == name), None)

    def can_undo(self, move: Transition) -> bool:
        """Whether some sequence of this machine's transitions leads from ``move``'s target back to one of its
        source states (``freeze`` can be undone by ``unfreeze``; ``cancel`` of an order, then only ``refund``, not)."""
        seen, frontier = {move.target}, [move.target]
        while frontier:
            state = frontier.pop()
            for t in self.transitions:
                if state in t.source and t.target not in seen:
                    seen.add(t.target)
                    frontier.append(t.target)
        return not seen.isdisjoint(move.source)


class EntitySpec(_Strict):
    """A record type. Every entity has an implicit string ``id`` such as ``ORD-000123``.

    ``concept`` (``person``, ``organization``, ``place``, ...) marks entities that mean the same
    real-world thing across domains; two domains join through a shared concept, matched on the
    entity's ``join_key`` field (an e-mail, a registration number).
    """

    description: str
    id_prefix: str = Field(pattern=r"^[A-Z]{2,5}$")
    fields: dict[str, FieldSpec] = Field(min_length=1)
    state_machine: StateMachine | None = None
    concept: str | None = None
    join_key: str | None = None
    rows: int | None = Field(default=None, ge=1, le=100_000)  # default: DEFAULT_ROWS


# --- preconditions -------------------------------------------------------------------------------
AggregateFunction = Literal["count", "sum", "avg", "min", "max"]
AGGREGATE_FUNCTIONS: tuple[AggregateFunction, ...] = ("count", "sum", "avg", "min", "max")
CompareOp = Literal["<", "<=", ">", ">=", "==", "!="]


class RefState(_Strict):
    """The record named by input ``param`` (an id) must be in one of ``states``."""

    kind: Literal["ref_state"] = "ref_state"
    param: str
    states: list[str] = Field(min_length=1)
    message: str | None = None


class SelfState(_Strict):
    """The operation's own target record must be in one of ``states`` (update, delete, transfer)."""

    kind: Literal["state"] = "state"
    states: list[str] = Field(min_length=1)
    message: str | None = None


class Compare(_Strict):
    """Input ``param`` compared with a constant ``value``, or with ``field`` of the record named by
    ``ref_param`` (for example: a refund's amount <= the payment's amount)."""

    kind: Literal["compare"] = "compare"
    param: str
    op: CompareOp
    value: float | None = None
    ref_param: str | None = None
    field: str | None = None
    message: str | None = None


class Sufficient(_Strict):
    """The record named by ``param`` must hold at least ``amount`` (a number or an input name) in its
    numeric ``field``: free seats, stock, credit. Pair it with an ``adjust`` effect to consume it."""

    kind: Literal["sufficient"] = "sufficient"
    param: str
    field: str
    amount: float | str = 1
    message: str | None = None


class Unique(_Strict):
    """No existing record of the operation's entity may already have this value in ``field``."""

    kind: Literal["unique"] = "unique"
    field: str
    message: str | None = None


class NoDependents(_Strict):
    """No record of ``entity`` that points at the target through ``ref_field`` may be in ``states``
    (you cannot close a customer who still has open orders)."""

    kind: Literal["no_dependents"] = "no_dependents"
    entity: str
    ref_field: str
    states: list[str] = Field(min_length=1)
    message: str | None = None


Precondition = Annotated[
    RefState | SelfState | Compare | Sufficient | Unique | NoDependents, Field(discriminator="kind")
]


# --- effects -------------------------------------------------------------------------------------
class Adjust(_Strict):
    """Add ``sign * by`` to numeric ``field`` of the record named by input ``param``; never below zero."""

    kind: Literal["adjust"] = "adjust"
    param: str
    field: str
    by: float | str = 1
    sign: Literal[-1, 1] = -1


class Fire(_Strict):
    """Fire ``transition`` on the record named by input ``param`` (guarded by its state machine)."""

    kind: Literal["fire"] = "fire"
    param: str
    transition: str


Effect = Annotated[Adjust | Fire, Field(discriminator="kind")]


def kind_tags(union: Any) -> frozenset[str]:
    """The ``kind`` values of a discriminated union such as ``Precondition`` or ``Effect``."""
    members = get_args(get_args(union)[0])
    return frozenset(tag for m in members for tag in get_args(m.model_fields["kind"].annotation))


class OperationSpec(_Strict):
    """One operation; it compiles to one MCP tool.

    What the options mean depends on ``kind`` (see ``_kinds``): ``fields`` are the writable fields of
    create/update/transition and the filterable fields of search/aggregate; ``transition`` names the
    state-machine move of a transition; ``quantity_field`` is what a transfer moves; ``measures`` and
    ``functions`` are what an aggregate may compute.
    """

    name: str = Field(pattern=NAME_PATTERN)
    kind: str
    entity: str
    description: str = Field(min_length=10)
    fields: list[str] = Field(default_factory=list)
    transition: str | None = None
    quantity_field: str | None = None
    measures: list[str] = Field(default_factory=list)
    functions: list[AggregateFunction] = Field(default_factory=lambda: list(AGGREGATE_FUNCTIONS))
    preconditions: list[Precondition] = Field(default_factory=list)
    effects: list[Effect] = Field(default_factory=list)


class DomainSpec(_Strict):
    """A believable service: its entities and the operations a model may call on them."""

    name: str = Field(pattern=NAME_PATTERN)
    title: str
    description: str = Field(min_length=10)
    category: str
    entities: dict[str, EntitySpec] = Field(min_length=1)
    operations: list[OperationSpec] = Field(min_length=1)
    format_version: Literal[1] = 1

    def operation(self, name: str) -> OperationSpec:
        for op in self.operations:
            if op.name == name:
                return op
        raise KeyError(name)

    def relations(self) -> list[Relation]:
        """Many-to-one links, one per ``ref`` field."""
        return [
            Relation(source=ename, field=fname, target=f.ref)
            for ename, e in self.entities.items()
            for fname, f in e.fields.items()
            if f.type == "ref" and f.ref is not None
        ]


class Relation(_Strict):
    """``source.field`` holds the id of a ``target`` record (many-to-one)."""

    source: str
    field: str
    target: str
