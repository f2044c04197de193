"""Preconditions and effects of an operation (and a cluster's policies), evaluated against the store.

Each failing precondition raises ``ToolFailure`` with the domain's ``message`` (when it has one) plus
the facts an agent needs to recover: the current state and the allowed ones, what is available, which
records are in the way. Effects run inside the call's transaction, so they apply with it or not at all.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ._call import Call, ToolFailure, noun, say, states_text
from ._spec import Adjust, Compare, Fire, NoDependents, Precondition, RefState, SelfState, Sufficient, Unique
from ._store import CENT, Cond, Row, stored_number, table_name

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}


def _num(x: Any) -> Decimal:
    return Decimal(str(x))


def _amount(call: Call, by: float | str) -> Decimal | None:
    """A constant, or the value of the input it names (None when that input was not given)."""
    if isinstance(by, str):
        v = call.args.get(by)
        return None if v is None else _num(v)
    return _num(by)


def _show(x: Decimal | float | int | None) -> str:
    if x is None:
        return "nothing"
    d = _num(x).normalize()
    return format(d, "f")


def _named(call: Call, param: str) -> tuple[str, Row] | None:
    """(entity, record) named by input ``param``; None when the input was not given."""
    id_ = call.args.get(param)
    entity = call.ref_entity(param)
    if id_ is None or entity is None:
        return None
    return entity, call.record(entity, id_, param=param)


def unique_holder(call: Call, fieldname: str, value: Any) -> Row | None:
    """A record other than the call's target that already has ``value`` in ``fieldname``."""
    rows, _ = call.store.select(call.tool.table, [Cond(fieldname, "eq", value)], limit=2)
    mine = {t["id"] for t in call.targets}
    return next((r for r in rows if r["id"] not in mine), None)


def _ref_state(call: Call, pre: RefState) -> None:
    named = _named(call, pre.param)
    if named is None:
        return
    entity, row = named
    state = call.state_of(entity, row)
    if state not in pre.states:
        raise ToolFailure(say(pre.message, f"{noun(entity)} {row['id']} is '{state}'; {call.tool.name} needs it "
                                           f"to be {states_text(pre.states)}"))


def _self_state(call: Call, pre: SelfState) -> None:
    for row in call.targets:
        state = call.state_of(call.tool.spec.entity, row)
        if state not in pre.states:
            raise ToolFailure(say(pre.message, f"{noun(call.tool.spec.entity)} {row['id']} is '{state}'; "
                                               f"{call.tool.name} needs it to be {states_text(pre.states)}"))


def _compare(call: Call, pre: Compare) -> None:
    value = call.args.get(pre.param)
    if value is None:
        return
    if pre.ref_param is not None:
        named = _named(call, pre.ref_param)
        if named is None or pre.field is None or named[1].get(pre.field) is None:
            return
        entity, row = named
        other, what = row[pre.field], f"the {pre.field.replace('_', ' ')} of {noun(entity)} {row['id']}"
    else:
        other, what = pre.value, ""
    if not _COMPARE[pre.op](_num(value), _num(other)):
        bound = f"{_show(other)}, {what}" if what else _show(other)
        raise ToolFailure(say(pre.message, f"{pre.param} is {_show(value)} but must be {pre.op} {bound}"))


def _sufficient(call: Call, pre: Sufficient) -> None:
    named = _named(call, pre.param)
    need = _amount(call, pre.amount)
    if named is None or need is None:
        return
    entity, row = named
    have = _num(row.get(pre.field) or 0)
    if have < need:
        raise ToolFailure(say(pre.message, f"{noun(entity)} {row['id']} has {_show(have)} "
                                           f"{pre.field.replace('_', ' ')} available; {_show(need)} needed"))


def _unique(call: Call, pre: Unique) -> None:
    value = call.args.get(pre.field)
    if value is None:
        return
    holder = unique_holder(call, pre.field, value)
    if holder is not None:
        raise ToolFailure(say(pre.message, f"{noun(call.tool.spec.entity)} {holder['id']} already has "
                                           f"{pre.field} '{value}'"))


def _no_dependents(call: Call, pre: NoDependents) -> None:
    table = table_name(call.domain, pre.entity)
    for row in call.targets:
        conds = [Cond(pre.ref_field, "eq", row["id"])]
        sm = call.world.entity(call.domain, pre.entity).state_machine
        deps = [r for r in call.store.select(table, conds)[0] if sm and r.get(sm.field) in pre.states]
        if deps:
            ids = ", ".join(r["id"] for r in deps[:5]) + (" and more" if len(deps) > 5 else "")
            raise ToolFailure(say(pre.message, f"{noun(call.tool.spec.entity)} {row['id']} still has "
                                               f"{len(deps)} {noun(pre.entity)} record(s) in state "
                                               f"{states_text(pre.states)}: {ids}"))


_CHECKS: dict[str, Callable[[Call, Any], None]] = {
    "ref_state": _ref_state, "state": _self_state, "compare": _compare, "sufficient": _sufficient,
    "unique": _unique, "no_dependents": _no_dependents,
}


def check_preconditions(call: Call, preconditions: tuple[Precondition, ...]) -> None:
    for pre in preconditions:
        _CHECKS[pre.kind](call, pre)


def _adjust(call: Call, eff: Adjust) -> None:
    named = _named(call, eff.param)
    by = _amount(call, eff.by)
    if named is None or by is None:
        return
    entity, row = named
    ftype = call.world.entity(call.domain, entity).fields[eff.field].type
    if ftype == "money":
        by = by.quantize(CENT)  # the amount the record gains or loses is whole cents, like every balance
    have = _num(row.get(eff.field) or 0)
    new = have + eff.sign * by
    if new < 0:
        raise ToolFailure(f"{noun(entity).capitalize()} {row['id']} has {_show(have)} "
                          f"{eff.field.replace('_', ' ')}; taking {_show(by)} would go below zero.")
    call.store.update(table_name(call.domain, entity), row["id"], {eff.field: stored_number(new, ftype)})


def _fire(call: Call, eff: Fire) -> None:
    named = _named(call, eff.param)
    if named is None:
        return
    entity, row = named
    sm = call.world.entity(call.domain, entity).state_machine
    t = sm.transition(eff.transition) if sm else None
    if sm is None or t is None:
        raise RuntimeError(f"effect fires unknown transition {entity}.{eff.transition}")
    state = row.get(sm.field)
    if state not in t.source:
        raise ToolFailure(f"This call would also {eff.transition} {noun(entity)} {row['id']}, but it is "
                          f"'{state}' and must be {states_text(t.source)} for that; nothing was changed.")
    call.store.update(table_name(call.domain, entity), row["id"], {sm.field: t.target})


def apply_effects(call: Call) -> None:
    for eff in call.tool.spec.effects:
        if eff.kind == "adjust":
            _adjust(call, eff)
        else:
            _fire(call, eff)


def describe_failures(preconditions: tuple[Precondition, ...],
                      param_entity: Callable[[str], str | None]) -> list[str]:
    """One line per precondition saying when the tool refuses, for the tool's description."""
    out: list[str] = []
    for pre in preconditions:
        why = f" ({pre.message})" if pre.message else ""
        if pre.kind == "ref_state":
            out.append(f"the {noun(param_entity(pre.param) or pre.param)} given as {pre.param} is not "
                       f"{states_text(pre.states)}{why}")
        elif pre.kind == "state":
            out.append(f"the record is not {states_text(pre.states)}{why}")
        elif pre.kind == "compare":
            rhs = _show(pre.value) if pre.value is not None else f"the {pre.field} of {pre.ref_param}"
            out.append(f"{pre.param} is not {pre.op} {rhs}{why}")
        elif pre.kind == "sufficient":
            amount = pre.amount if isinstance(pre.amount, str) else _show(pre.amount)
            out.append(f"the {pre.field.replace('_', ' ')} of {pre.param} is less than {amount}{why}")
        elif pre.kind == "unique":
            out.append(f"another record already has this {pre.field}{why}")
        else:
            out.append(f"it still has {noun(pre.entity)} records in {states_text(pre.states)}{why}")
    return out
