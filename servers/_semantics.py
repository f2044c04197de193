"""What each operation kind does to the store: one ``Semantics`` per name in ``_kinds.KINDS``.

``execute`` runs one validated call in a single SQLite transaction: load the records it acts on, check
the kind's guard, the preconditions (the operation's and the cluster's policies), apply the kind, then
the effects; any ``ToolFailure`` rolls everything back. To add a kind, add it to ``_kinds.KINDS`` and a
``Semantics`` under the same name to ``SEMANTICS`` below.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from ._call import BoundTool, Call, ToolFailure, World, noun, states_text
from ._kinds import id_param_name
from ._rules import apply_effects, check_preconditions, unique_holder
from ._store import CENT, Cond, Row, Store, stored_number

DEFAULT_LIMIT = 20


def normalize_args(tool: BoundTool, args: dict[str, Any]) -> dict[str, Any]:
    """Dates must be real dates; datetimes are stored as ``YYYY-MM-DDTHH:MM:SS`` (UTC when zoned)."""
    out = dict(args)
    for p in tool.spec.inputs:
        v = out.get(p.name)
        if not isinstance(v, str) or p.type not in ("date", "datetime"):
            continue
        try:
            if p.type == "date":
                date.fromisoformat(v)
            else:
                dt = datetime.fromisoformat(v)
                if dt.tzinfo is not None:
                    dt = dt.astimezone(UTC).replace(tzinfo=None)
                out[p.name] = dt.isoformat(timespec="seconds")
        except ValueError:
            raise ToolFailure(f"Argument '{p.name}': '{v}' is not a real calendar {p.type}.") from None
    return out


class Semantics:
    """How one kind of operation runs. ``load`` fetches the records it acts on, ``guard`` checks what
    the kind itself requires, ``apply`` changes the store and returns the structured result."""

    name: ClassVar[str]

    def load(self, call: Call) -> None:
        pass

    def guard(self, call: Call) -> None:
        pass

    def apply(self, call: Call) -> dict[str, Any]:
        raise NotImplementedError

    def refresh(self, call: Call, result: dict[str, Any]) -> dict[str, Any]:
        """The result re-read after effects (which may have touched the returned record)."""
        row = call.store.get(call.tool.table, result["id"]) if "id" in result else None
        return row if row is not None else result


class _OnTarget(Semantics):
    """Kinds that act on one existing record named by ``<entity>_id``."""

    def load(self, call: Call) -> None:
        param = id_param_name(call.tool.spec.entity)
        call.targets = [call.record(call.tool.spec.entity, call.args[param], param=param)]


def _field_values(call: Call) -> dict[str, Any]:
    return {p.field or p.name: call.args[p.name] for p in call.tool.spec.inputs
            if p.role == "field" and p.name in call.args}


def _check_written(call: Call, values: dict[str, Any]) -> None:
    """References must exist; unique fields must stay unique."""
    fields = call.tool.entity.fields
    for name, v in values.items():
        f = fields[name]
        if f.type == "ref" and f.ref and v is not None:
            call.record(f.ref, v, param=name)
        if f.unique and v is not None:
            holder = unique_holder(call, name, v)
            if holder is not None:
                raise ToolFailure(f"{noun(call.tool.spec.entity).capitalize()} {holder['id']} already has "
                                  f"{name} '{v}'; it must be unique. Use that record, or choose another {name}.")


def _filters(call: Call) -> list[Cond]:
    conds: list[Cond] = []
    for p in call.tool.spec.inputs:
        if p.name not in call.args:
            continue
        v = call.args[p.name]
        if p.role == "filter":
            conds.append(Cond(p.field or p.name, "contains" if p.type == "string" else "eq", v))
        elif p.role in ("range_min", "range_max"):
            conds.append(Cond(p.field or p.name, "ge" if p.role == "range_min" else "le", v))
    return conds


class GetSemantics(_OnTarget):
    name = "get"

    def apply(self, call: Call) -> dict[str, Any]:
        return call.targets[0]


class SearchSemantics(Semantics):
    name = "search"

    def apply(self, call: Call) -> dict[str, Any]:
        limit = int(call.args.get("limit", DEFAULT_LIMIT))
        offset = int(call.args.get("offset", 0))
        rows, total = call.store.select(call.tool.table, _filters(call), limit=limit, offset=offset)
        nxt = offset + len(rows)
        return {"records": rows, "total": total, "next_offset": nxt if nxt < total else None}


class CreateSemantics(Semantics):
    name = "create"

    def apply(self, call: Call) -> dict[str, Any]:
        e = call.tool.entity
        values = _field_values(call)
        _check_written(call, values)
        row: Row = {name: values.get(name) for name in e.fields}
        if e.state_machine:
            row[e.state_machine.field] = e.state_machine.initial
        row = {"id": call.store.next_id(call.tool.table, e.id_prefix), **row}
        call.store.insert(call.tool.table, row)
        return call.store.get(call.tool.table, row["id"]) or row


class UpdateSemantics(_OnTarget):
    name = "update"

    def guard(self, call: Call) -> None:
        if not _field_values(call):
            fields = [p.name for p in call.tool.spec.inputs if p.role == "field"]
            raise ToolFailure(f"Nothing to change: pass at least one of {', '.join(fields)} "
                              f"besides {id_param_name(call.tool.spec.entity)}.")

    def apply(self, call: Call) -> dict[str, Any]:
        values = _field_values(call)
        _check_written(call, values)
        call.store.update(call.tool.table, call.targets[0]["id"], values)
        return call.store.get(call.tool.table, call.targets[0]["id"]) or {}


class TransitionSemantics(_OnTarget):
    name = "transition"

    def guard(self, call: Call) -> None:
        row = call.targets[0]
        state = call.state_of(call.tool.spec.entity, row)
        sources = call.tool.spec.source_states
        if state not in sources:
            moves = call.world.moves_from(call.domain, call.tool.spec.entity, state or "")
            hint = (f" From '{state}' it can move with: {', '.join(moves)}." if moves
                    else f" No tool of this service moves it out of '{state}'.")
            raise ToolFailure(f"{noun(call.tool.spec.entity).capitalize()} {row['id']} is '{state}'; "
                              f"{call.tool.name} only works when it is {states_text(sources)}.{hint}")

    def apply(self, call: Call) -> dict[str, Any]:
        sm = call.tool.entity.state_machine
        assert sm is not None and len(call.tool.spec.outputs.states) == 1
        values = _field_values(call)
        _check_written(call, values)
        values[sm.field] = call.tool.spec.outputs.states[0]
        call.store.update(call.tool.table, call.targets[0]["id"], values)
        return call.store.get(call.tool.table, call.targets[0]["id"]) or {}


class DeleteSemantics(_OnTarget):
    name = "delete"

    def apply(self, call: Call) -> dict[str, Any]:
        id_ = call.targets[0]["id"]
        call.store.delete(call.tool.table, id_)
        return {"id": id_, "deleted": True}

    def refresh(self, call: Call, result: dict[str, Any]) -> dict[str, Any]:
        return result


class AggregateSemantics(Semantics):
    name = "aggregate"

    def guard(self, call: Call) -> None:
        fn = call.args["function"]
        if fn != "count" and call.args.get("measure") is None:
            p = call.tool.spec.param("measure")
            choices = ", ".join(p.values or ()) if p else "(none)"
            raise ToolFailure(f"'{fn}' needs a measure: pass measure as one of {choices}.")

    def apply(self, call: Call) -> dict[str, Any]:
        fn = call.args["function"]
        measure = call.args.get("measure") if fn != "count" else None
        value, matched = call.store.aggregate(call.tool.table, fn, measure, _filters(call))
        if fn == "avg" and isinstance(value, float) and measure and call.tool.entity.fields[measure].type != "money":
            value = round(value, 4)
        return {"function": fn, "measure": measure, "value": value, "matched": matched}

    def refresh(self, call: Call, result: dict[str, Any]) -> dict[str, Any]:
        return result


class TransferSemantics(Semantics):
    name = "transfer"

    def load(self, call: Call) -> None:
        e = call.tool.spec.entity
        src, dst = f"from_{e}_id", f"to_{e}_id"
        if call.args[src] == call.args[dst]:
            raise ToolFailure(f"{src} and {dst} are both '{call.args[src]}'; a transfer needs two different "
                              f"{noun(e)} records.")
        call.targets = [call.record(e, call.args[src], param=src), call.record(e, call.args[dst], param=dst)]

    def guard(self, call: Call) -> None:
        q = self._quantity(call)
        have, amount = call.targets[0].get(q) or 0, self._amount(call)
        if _dec(have) < amount:
            raise ToolFailure(f"{noun(call.tool.spec.entity).capitalize()} {call.targets[0]['id']} has only "
                              f"{have} {q.replace('_', ' ')}; it cannot give {amount}. Nothing was moved.")

    @staticmethod
    def _quantity(call: Call) -> str:
        p = call.tool.spec.param("amount")
        assert p is not None and p.field is not None
        return p.field

    def _amount(self, call: Call) -> Decimal:
        """The one amount both sides move by (money in whole cents), so a transfer never makes money."""
        amount = _dec(call.args["amount"])
        if call.tool.entity.fields[self._quantity(call)].type == "money":
            amount = amount.quantize(CENT)
        return amount

    def apply(self, call: Call) -> dict[str, Any]:
        q, amount = self._quantity(call), self._amount(call)
        ftype = call.tool.entity.fields[q].type
        src, dst = call.targets
        for row, sign in ((src, -1), (dst, 1)):
            new = _dec(row.get(q) or 0) + sign * amount
            call.store.update(call.tool.table, row["id"], {q: stored_number(new, ftype)})
        return self.refresh(call, {"amount": call.args["amount"]})

    def refresh(self, call: Call, result: dict[str, Any]) -> dict[str, Any]:
        src, dst = (call.store.get(call.tool.table, r["id"]) for r in call.targets)
        return {"from": src, "to": dst, "amount": result["amount"]}


def _dec(x: Any) -> Decimal:
    return Decimal(str(x))


SEMANTICS: dict[str, Semantics] = {s.name: s for s in (
    GetSemantics(), SearchSemantics(), CreateSemantics(), UpdateSemantics(), TransitionSemantics(),
    DeleteSemantics(), AggregateSemantics(), TransferSemantics(),
)}


def execute(tool: BoundTool, args: dict[str, Any], store: Store, world: World) -> dict[str, Any]:
    """Run one call whose arguments already match the tool's input schema; all or nothing.

    Raises:
        ToolFailure: the call cannot be done as asked (the store is unchanged).
    """
    sem = SEMANTICS[tool.spec.kind]
    call = Call(tool, normalize_args(tool, args), store, world)
    with store.transaction():
        sem.load(call)
        sem.guard(call)
        check_preconditions(call, tool.preconditions)
        result = sem.apply(call)
        if tool.spec.effects:
            apply_effects(call)
            result = sem.refresh(call, result)
    return result
