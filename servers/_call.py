"""One tool call in flight: the bound tool, its arguments, the store, and the failures it can raise.

``ToolFailure`` is a call the caller can fix (an unknown id, an illegal move, too little stock); its
message is what the agent reads, so it names the facts and a way forward. Any other exception raised
while running a call is a bug in the server, never reported as the caller's fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import ServersError
from ._spec import DomainSpec, EntitySpec, Precondition
from ._store import Row, Store, table_name
from ._tools import ToolSpec


class ToolFailure(ServersError):
    """A call failed for a reason the caller can fix; ``str(error)`` tells the agent how."""


def noun(entity: str) -> str:
    return entity.replace("_", " ")


def say(message: str | None, facts: str) -> str:
    """The domain's own wording first (when it has one), then the facts in brackets."""
    if message:
        text = message.strip().rstrip(".")
        return f"{text[:1].upper()}{text[1:]} ({facts})."
    return f"{facts[:1].upper()}{facts[1:]}."


def states_text(states: tuple[str, ...] | list[str]) -> str:
    return " or ".join(f"'{s}'" for s in states)


@dataclass(frozen=True)
class World:
    """Facts about the whole cluster that error messages point to (which tool finds or moves what)."""

    domains: Mapping[str, DomainSpec]
    search_tools: Mapping[tuple[str, str], str]  # (domain, entity) -> served search tool
    transition_tools: Mapping[tuple[str, str], tuple[tuple[str, tuple[str, ...]], ...]]  # -> (tool, sources)

    def entity(self, domain: str, entity: str) -> EntitySpec:
        return self.domains[domain].entities[entity]

    def find_hint(self, domain: str, entity: str) -> str:
        tool = self.search_tools.get((domain, entity))
        prefix = self.entity(domain, entity).id_prefix
        if tool:
            return f"Use {tool} to find the right {noun(entity)} id (ids look like {prefix}-000123)."
        return f"Check the id; {noun(entity)} ids look like {prefix}-000123."

    def moves_from(self, domain: str, entity: str, state: str) -> list[str]:
        return [t for t, sources in self.transition_tools.get((domain, entity), ()) if state in sources]


@dataclass(frozen=True)
class BoundTool:
    """A tool as the cluster serves it: its spec, its domain, and all its preconditions (policies too)."""

    name: str
    spec: ToolSpec
    domain: DomainSpec
    preconditions: tuple[Precondition, ...]

    @property
    def table(self) -> str:
        return table_name(self.domain.name, self.spec.entity)

    @property
    def entity(self) -> EntitySpec:
        return self.domain.entities[self.spec.entity]


@dataclass
class Call:
    tool: BoundTool
    args: dict[str, Any]
    store: Store
    world: World
    targets: list[Row] = field(default_factory=list)  # the records the call acts on (loaded first)

    @property
    def domain(self) -> str:
        return self.tool.domain.name

    def ref_entity(self, param: str) -> str | None:
        p = self.tool.spec.param(param)
        return p.ref if p is not None else None

    def record(self, entity: str, id: str, *, param: str) -> Row:
        """The record ``id`` of ``entity``, or a failure naming the id and how to find a real one."""
        row = self.store.get(table_name(self.domain, entity), id)
        if row is None:
            raise ToolFailure(f"No {noun(entity)} has the id '{id}' (argument '{param}'). "
                              + self.world.find_hint(self.domain, entity))
        return row

    def state_of(self, entity: str, row: Row) -> str | None:
        sm = self.world.entity(self.domain, entity).state_machine
        return row.get(sm.field) if sm else None
