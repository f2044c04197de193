"""Cross-reference checks of a domain: everything a JSON Schema cannot say.

``problems(domain)`` returns (json path, message) pairs; an empty list means the domain is sound.
Paths name operations by their name (``operations.create_order.preconditions[0].param``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from ._kinds import KINDS, id_param_name
from ._spec import (
    FAKER_PATTERN_PREFIXES,
    FAKER_PROVIDERS,
    NUMERIC_TYPES,
    DomainSpec,
    EntitySpec,
    OperationSpec,
    Precondition,
    is_name,
)
from ._tools import ToolSpec, tool_spec

Problem = tuple[str, str]


def _typed_problems(domain: DomainSpec, e: EntitySpec, fname: str, fat: str) -> list[Problem]:
    """An enum's values, a ref's target, and neither on a field of another type."""
    f = e.fields[fname]
    out: list[Problem] = []
    if f.type == "enum":
        if not f.values:
            out.append((fat, "an enum field needs a non-empty 'values' list"))
        elif len(set(f.values)) != len(f.values):
            out.append((f"{fat}.values", "enum values must be distinct"))
    elif f.values is not None:
        out.append((f"{fat}.values", f"only enum fields take 'values' (this one is {f.type})"))
    if f.type == "ref":
        if not f.ref:
            out.append((fat, "a ref field needs 'ref': the entity it points to"))
        elif f.ref not in domain.entities:
            out.append((fat, f"references unknown entity '{f.ref}'; known entities are "
                        f"{sorted(domain.entities)}"))
    elif f.ref is not None:
        out.append((f"{fat}.ref", f"only ref fields take 'ref' (this one is {f.type})"))
    return out


def _value_problems(e: EntitySpec, fname: str, fat: str) -> list[Problem]:
    """How a field's values are made and bounded: its generator, choices and range."""
    f = e.fields[fname]
    out: list[Problem] = []
    if f.faker is not None and f.faker not in FAKER_PROVIDERS and not f.faker.startswith(FAKER_PATTERN_PREFIXES):
        out.append((f"{fat}.faker", f"unknown generator '{f.faker}'; use one of {sorted(FAKER_PROVIDERS)} "
                    "or a 'bothify:'/'numerify:' pattern, or give 'choices'"))
    if f.choices is not None and (not f.choices or f.type not in ("string",)):
        out.append((f"{fat}.choices", "'choices' must be a non-empty list and only string fields take it"))
    if f.min is not None and f.max is not None and f.min > f.max:
        out.append((fat, f"min ({f.min}) is greater than max ({f.max})"))
    elif f.type == "integer" and f.min is not None and f.max is not None and math.ceil(f.min) > math.floor(f.max):
        out.append((fat, f"[{f.min:g}, {f.max:g}] holds no whole number; an integer field needs one"))
    return out


def _field_problems(domain: DomainSpec, ename: str, e: EntitySpec, fname: str, fat: str) -> list[Problem]:
    f = e.fields[fname]
    out: list[Problem] = []
    if fname == "id" or not is_name(fname):
        out.append((fat, "a field name must be lower_snake_case and not 'id' (every entity has an id)"))
    out += _typed_problems(domain, e, fname, fat)
    out += _value_problems(e, fname, fat)
    if fname == id_param_name(ename):
        out.append((fat, f"a field of '{ename}' cannot be named '{fname}': that is the name of its id input"))
    if f.unique and f.type not in ("string", "enum"):
        out.append((f"{fat}.unique", f"only string and enum fields can be unique (this one is {f.type})"))
    return out


def _reachable(e: EntitySpec) -> set[str]:
    """The states a record of ``e`` can reach from its initial state."""
    sm = e.state_machine
    if sm is None:
        return set()
    seen, todo = {sm.initial}, deque([sm.initial])
    while todo:
        cur = todo.popleft()
        for t in sm.transitions:
            if cur in t.source and t.target not in seen:
                seen.add(t.target)
                todo.append(t.target)
    return seen


def _state_machine_problems(e: EntitySpec, sat: str) -> list[Problem]:
    sm = e.state_machine
    if sm is None:
        return []
    out: list[Problem] = []
    state_field = e.fields.get(sm.field)
    if state_field is None:
        out.append((f"{sat}.field", f"unknown field '{sm.field}'; add an enum field holding the state"))
    elif state_field.type != "enum" or sorted(state_field.values or []) != sorted(sm.states):
        out.append((f"{sat}.field", f"'{sm.field}' must be an enum whose values are exactly the states "
                    f"{sm.states}"))
    if len(set(sm.states)) != len(sm.states):
        out.append((f"{sat}.states", "states must be distinct"))
    if sm.initial not in sm.states:
        out.append((f"{sat}.initial", f"unknown state '{sm.initial}'; the states are {sm.states}"))
    names = [t.name for t in sm.transitions]
    for i, t in enumerate(sm.transitions):
        tat = f"{sat}.transitions[{i}]"
        if names.count(t.name) > 1:
            out.append((f"{tat}.name", f"transition '{t.name}' is defined twice"))
        for s in [*t.source, t.target]:
            if s not in sm.states:
                out.append((tat, f"unknown state '{s}'; the states are {sm.states}"))
    if sm.initial in sm.states:
        seen = _reachable(e)
        unreachable = [s for s in sm.states if s not in seen]
        if unreachable:
            out.append((f"{sat}.states", f"states {unreachable} cannot be reached from '{sm.initial}'"))
    return out


def _entity_problems(domain: DomainSpec, ename: str, e: EntitySpec) -> list[Problem]:
    at = f"entities.{ename}"
    out: list[Problem] = []
    if not is_name(ename):
        out.append((at, "an entity name must be lower_snake_case"))
    for fname in e.fields:
        out += _field_problems(domain, ename, e, fname, f"{at}.fields.{fname}")
    if e.join_key is not None and e.join_key not in e.fields:
        out.append((f"{at}.join_key", f"unknown field '{e.join_key}'; the entity has {sorted(e.fields)}"))
    if e.join_key is not None and e.concept is None:
        out.append((f"{at}.join_key", "a join_key needs a 'concept' to join on"))
    out += _state_machine_problems(e, f"{at}.state_machine")
    return out


def _id_param_entity(domain: DomainSpec, op: OperationSpec, param: str, at: str) -> tuple[str | None, list[Problem]]:
    tool = tool_spec(domain, op)
    p = tool.param(param)
    if p is None:
        return None, [(at, f"unknown input '{param}'; the tool's inputs are {[q.name for q in tool.inputs]}")]
    if p.type != "ref" or p.ref is None:
        return None, [(at, f"input '{param}' is not an id; expected one of "
                       f"{[q.name for q in tool.inputs if q.type == 'ref']}")]
    return p.ref, []


def _numeric_input(tool: ToolSpec, name: str, at: str, what: str) -> list[Problem]:
    """``name`` must be an input of ``tool`` holding a number."""
    p = tool.param(name)
    if p is None:
        return [(at, f"unknown input '{name}'; the tool's inputs are {[q.name for q in tool.inputs]}")]
    if p.type not in NUMERIC_TYPES:
        return [(at, f"input '{name}' is {p.type}; {what} must be an integer, number or money input")]
    return []


def precondition_problems(domain: DomainSpec, op: OperationSpec, preconditions: Sequence[Precondition],
                          at: str) -> list[Problem]:
    """What is wrong with ``preconditions`` on ``op`` (its own, or a cluster's policies on its tool)."""
    out: list[Problem] = []
    tool = tool_spec(domain, op)
    for i, pre in enumerate(preconditions):
        pat = f"{at}[{i}]"
        if pre.kind in ("state", "no_dependents") and not KINDS[op.kind].has_target:
            out.append((pat, f"a '{pre.kind}' precondition needs a record the operation acts on, and a {op.kind} "
                        "acts on none"))
            continue
        if pre.kind in ("ref_state", "sufficient"):
            ent, errs = _id_param_entity(domain, op, pre.param, f"{pat}.param")
            out += errs
            if ent is None:
                continue
            target = domain.entities[ent]
            if pre.kind == "ref_state":
                states = target.state_machine.states if target.state_machine else []
                bad = [s for s in pre.states if s not in states]
                if bad:
                    out.append((f"{pat}.states", f"unknown states {bad} of '{ent}'; its states are {states}"))
            else:
                f = target.fields.get(pre.field)
                if f is None or f.type not in NUMERIC_TYPES:
                    out.append((f"{pat}.field", f"'{pre.field}' must be a numeric field of '{ent}'"))
                if isinstance(pre.amount, str):
                    out += _numeric_input(tool, pre.amount, f"{pat}.amount", "the amount")
        elif pre.kind == "state":
            sm = domain.entities[op.entity].state_machine
            states = sm.states if sm else []
            bad = [s for s in pre.states if s not in states]
            if bad:
                out.append((f"{pat}.states", f"unknown states {bad} of '{op.entity}'; its states are {states}"))
        elif pre.kind == "compare":
            out += _numeric_input(tool, pre.param, f"{pat}.param", "a compared input")
            if (pre.value is None) == (pre.ref_param is None):
                out.append((pat, "a compare needs either 'value' or 'ref_param' with 'field'"))
            if pre.ref_param is not None:
                ent, errs = _id_param_entity(domain, op, pre.ref_param, f"{pat}.ref_param")
                out += errs
                f = domain.entities[ent].fields.get(pre.field or "") if ent is not None else None
                if ent is not None and (f is None or f.type not in NUMERIC_TYPES):
                    out.append((f"{pat}.field", f"'{pre.field}' must be a numeric field of '{ent}'"))
        elif pre.kind == "unique":
            if pre.field not in domain.entities[op.entity].fields:
                out.append((f"{pat}.field", f"unknown field '{pre.field}' of '{op.entity}'"))
        elif pre.kind == "no_dependents":
            dep = domain.entities.get(pre.entity)
            if dep is None:
                out.append((f"{pat}.entity", f"references unknown entity '{pre.entity}'"))
                continue
            rf = dep.fields.get(pre.ref_field)
            if rf is None or rf.ref != op.entity:
                out.append((f"{pat}.ref_field", f"'{pre.entity}.{pre.ref_field}' must be a ref to '{op.entity}'"))
            states = dep.state_machine.states if dep.state_machine else []
            bad = [s for s in pre.states if s not in states]
            if bad:
                out.append((f"{pat}.states", f"unknown states {bad} of '{pre.entity}'"))
    return out


def _rule_problems(domain: DomainSpec, op: OperationSpec, at: str) -> list[Problem]:
    out = precondition_problems(domain, op, op.preconditions, f"{at}.preconditions")
    tool = tool_spec(domain, op)
    for i, eff in enumerate(op.effects):
        eat = f"{at}.effects[{i}]"
        ent, errs = _id_param_entity(domain, op, eff.param, f"{eat}.param")
        out += errs
        if ent is None:
            continue
        target = domain.entities[ent]
        if eff.kind == "adjust":
            f = target.fields.get(eff.field)
            if f is None or f.type not in NUMERIC_TYPES:
                out.append((f"{eat}.field", f"'{eff.field}' must be a numeric field of '{ent}'"))
            if isinstance(eff.by, str):
                out += _numeric_input(tool, eff.by, f"{eat}.by", "'by'")
        else:
            sm = target.state_machine
            if sm is None or sm.transition(eff.transition) is None:
                known = [t.name for t in sm.transitions] if sm else []
                out.append((f"{eat}.transition", f"unknown transition '{eff.transition}' of '{ent}'; "
                            f"known: {known}"))
    return out


def problems(domain: DomainSpec) -> list[Problem]:
    """Every cross-reference problem in ``domain``; empty when it is sound."""
    out: list[Problem] = []
    for ename, e in domain.entities.items():
        out += _entity_problems(domain, ename, e)
    prefixes = [e.id_prefix for e in domain.entities.values()]
    for ename, e in domain.entities.items():
        if prefixes.count(e.id_prefix) > 1:
            out.append((f"entities.{ename}.id_prefix", f"'{e.id_prefix}' is used by another entity"))
    if out:
        return out  # operations are only checked against sound entities
    names = [op.name for op in domain.operations]
    for i, op in enumerate(domain.operations):
        at = f"operations.{op.name}" if names.count(op.name) == 1 else f"operations[{i}]"
        if names.count(op.name) > 1:
            out.append((f"{at}.name", f"operation '{op.name}' is defined more than once"))
        if op.kind not in KINDS:
            out.append((f"{at}.kind", f"unknown kind '{op.kind}'; known kinds are {sorted(KINDS)}"))
            continue
        if op.entity not in domain.entities:
            out.append((f"{at}.entity", f"references unknown entity '{op.entity}'; known entities are "
                        f"{sorted(domain.entities)}"))
            continue
        kind_problems = [(f"{at}.{p}", m) for p, m in KINDS[op.kind].check(domain, op)]
        out += kind_problems
        if not kind_problems:
            inputs = [p.name for p in tool_spec(domain, op).inputs]
            twice = sorted({n for n in inputs if inputs.count(n) > 1})
            if twice:
                out.append((f"{at}.fields", f"the tool would take {twice} twice; rename the field"))
            out += _rule_problems(domain, op, at)
    return out
