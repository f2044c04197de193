"""The blueprint planner: a feasible ground-truth plan for a cluster and a reasoning mode, bound to real data.

The planner works on a scratch copy of the cluster's seeded world and *runs each step as it adds it*, so every
choice is grounded in what the tools really return (a record in the right state, a search that finds exactly
one match). Arguments are recorded as bindings (a user fact, a path into an earlier output), never as copied
values. The finished plan is then replayed from a fresh copy (the dry run); a blueprint exists only when that
replay raises nothing unexpected and yields the outcome. Failures raise ``PlanningFailure`` with a reason code
so the run can count them.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Self

from tdscaling.client import (
    SANDBOX,
    Binding,
    Blueprint,
    Condition,
    Const,
    ExpectedOutcome,
    Fact,
    FactRef,
    PlanStep,
    ReasoningMode,
    StepRef,
    Template,
    ToolOutcome,
    guessable,
    holds,
    render,
    resolve,
    run_plan,
)
from tdscaling.sandbox import EXECUTE_CODE
from tdscaling.servers import (
    WRITE_KINDS,
    Catalog,
    ClusterRuntime,
    ClusterSpec,
    DomainSpec,
    Indexes,
    Snapshot,
    Templates,
    ToolSpec,
    table_name,
)

from . import _phrasing as say
from ._values import sample_value

_IDENTIFYING = ("email", "name", "title", "plate", "vin", "number", "code", "tax_id", "isbn", "address", "handle")


PLANNING_REASONS: dict[str, str] = {
    "unknown_mode": "no recipe for this reasoning mode",
    "empty_plan": "the recipe produced no step",
    "dry_run_failed": "the plan raised an unexpected error when replayed from a fresh copy",
    "nondeterministic": "the replay touched other tables than the build",
    "no_change": "the plan's writes left the state as it was",
    "nothing_to_check": "a read-only plan with no fact for the answer to state that could not be guessed",
    "cannot_locate": "no way for the user to point at the record (no unique search value, no parent)",
    "no_rows": "the entity has no seeded records",
    "no_read_tool": "the cluster has no get or search to read with",
    "read_failed": "a read the plan needs failed",
    "nothing_to_answer": "the record has no field worth answering with",
    "no_feasible_write": "no write tool could be bound to records in a valid state",
    "chain_too_short": "the write ran but no chain of three dependent steps could be built",
    "no_fanout": "no record feeds two or more independent reads here",
    "fanout_call_failed": "one of the parallel reads failed",
    "no_branch": "no entity here has two transitions from different states",
    "branch_call_failed": "the branch that applies failed",
    "no_recovery": "no state another transition fixes, and no policy cap, blocks a call here",
    "recovery_not_blocked": "the first try succeeded, so there is nothing to recover from",
    "recovery_fix_failed": "the fixing step failed",
    "recovery_retry_failed": "the retry after the fix failed",
    "no_numeric_search": "no search returns several records with a number to compute over",
    "code_failed": "the aggregation code did not print a number",
    "nothing_to_clarify": "no fact the user could withhold",
    "single_domain": "cross_domain needs a cluster joining two domains",
    "no_shared_records": "the joined domains share no records through their join key",
    "cannot_read_join_key": "no read here returns the join key of the shared record",
    "no_bridge_search": "the other domain has no search by the join key",
    "bridge_not_unique": "the search by the join key did not find exactly one record",
}


class PlanningFailure(Exception):
    """No feasible plan of this mode for this cluster (``reason`` is a short code the run counts)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def run_code_locally(code: str) -> ToolOutcome:
    """The planner's own generated aggregation code, run in a plain isolated interpreter for the dry run
    (the episode runs the same code in the real sandbox)."""
    r = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=30)
    out = {"stdout": r.stdout, "stderr": r.stderr, "exit_code": r.returncode}
    return ToolOutcome(r.returncode != 0, r.stdout if r.returncode == 0 else r.stderr, out)


@dataclass
class _Tool:
    name: str  # served name
    spec: ToolSpec
    domain: DomainSpec


@dataclass
class _Draft:
    """A plan under construction over a scratch world; each added step runs at once."""

    rt: ClusterRuntime
    steps: list[PlanStep] = field(default_factory=list)
    facts: dict[str, Fact] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    group: int = 0

    def fact(self, name: str, value: Any, description: str, reveal: str = "upfront") -> FactRef:
        base, i = name, 2
        while name in self.facts and self.facts[name].value != value:
            name, i = f"{base}_{i}", i + 1
        self.facts[name] = Fact(name=name, value=value, description=description, reveal=reveal)
        return FactRef(name=name)

    def add(self, tool: str, args: Mapping[str, Binding], *, server: str = "cluster", same_group: bool = False,
            expect_error: bool = False, when: Condition | None = None, note: str = "") -> tuple[str, ToolOutcome]:
        if not same_group:
            self.group += 1
        sid = f"s{len(self.steps) + 1}"
        step = PlanStep(id=sid, server=server, tool=tool, args=dict(args), group=self.group,
                        expect_error=expect_error, when=when, say=note)
        values = {k: resolve(b, facts={f.name: f.value for f in self.facts.values()}, outputs=self.outputs)
                  for k, b in step.args.items()}
        if server == SANDBOX:
            outcome = run_code_locally(str(values["code"]))
        else:
            outcome = ToolOutcome.of(self.rt.call(tool, values))
        self.steps.append(step)
        if not outcome.is_error:
            self.outputs[sid] = outcome.structured
        return sid, outcome

    def add_conditional(self, tool: str, args: Mapping[str, Binding], when: Condition, *, note: str = ""
                        ) -> tuple[str, ToolOutcome | None]:
        """A step taken only when ``when`` holds on the actual outputs; it runs now only if it does."""
        if holds(when, outputs=self.outputs):
            return self.add(tool, args, when=when, note=note)
        self.group += 1
        sid = f"s{len(self.steps) + 1}"
        self.steps.append(PlanStep(id=sid, tool=tool, args=dict(args), group=self.group, when=when, say=note))
        return sid, None

    def mark(self) -> tuple[int, dict[str, Any], dict[str, Fact], int, Snapshot]:
        return len(self.steps), dict(self.outputs), dict(self.facts), self.group, self.rt.store.snapshot()

    def rollback(self, mark: tuple[int, dict[str, Any], dict[str, Fact], int, Snapshot]) -> None:
        n, outputs, facts, group, snap = mark
        del self.steps[n:]
        self.outputs = dict(outputs)
        self.facts = dict(facts)
        self.group = group
        self.rt.store.restore(snap)


class Planner:
    """Makes blueprints for clusters. Share one per run: it caches seeded worlds and domain indexes."""

    def __init__(self, catalog: Catalog, *, rows: int | None = None, templates: Templates | None = None) -> None:
        self.catalog = catalog
        self.rows = rows
        self.templates = templates or Templates()
        self.indexes = Indexes({d.name: d for d in catalog})
        self._runtimes: dict[str, ClusterRuntime] = {}

    def close(self) -> None:
        """Close the seeded worlds this planner keeps."""
        runtimes, self._runtimes = list(self._runtimes.values()), {}
        for rt in runtimes:
            rt.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the cluster's world -------------------------------------------------------------------------
    def runtime(self, cluster: ClusterSpec) -> ClusterRuntime:
        rt = self._runtimes.get(cluster.id)
        if rt is None:
            if len(self._runtimes) > 256:
                self.close()  # planning runs no await: no plan is using one of them now
            rt = self._runtimes[cluster.id] = ClusterRuntime(cluster, self.catalog, rows=self.rows,
                                                             templates=self.templates)
        return rt

    def _tools(self, cluster: ClusterSpec) -> dict[str, _Tool]:
        return {t.name: _Tool(t.name, self.indexes[t.domain].tools[t.operation], self.indexes[t.domain].domain)
                for t in cluster.tools}

    # --- entry point ----------------------------------------------------------------------------------
    def plan(self, cluster: ClusterSpec, mode: ReasoningMode, rng: random.Random, *, blueprint_id: str | None = None
             ) -> Blueprint:
        """A feasible blueprint, or ``PlanningFailure``."""
        maker = _MODES.get(mode)
        if maker is None:
            raise PlanningFailure("unknown_mode", mode)
        draft = _Draft(self.runtime(cluster).fresh())
        try:
            goal, answer = maker(self, draft, self._tools(cluster), rng)
            if not draft.steps:
                raise PlanningFailure("empty_plan", mode)
            return self._finish(cluster, mode, draft, goal, answer, rng, blueprint_id)
        finally:
            draft.rt.close()

    def _finish(self, cluster: ClusterSpec, mode: ReasoningMode, draft: _Draft, goal: str, answer: Template,
                rng: random.Random, blueprint_id: str | None) -> Blueprint:
        base = self.runtime(cluster)
        with closing(base.fresh()) as initial, closing(base.fresh()) as replay:
            return self._proved(cluster, mode, draft, goal, answer, rng, blueprint_id, base=base, initial=initial,
                                replay=replay)

    def _proved(self, cluster: ClusterSpec, mode: ReasoningMode, draft: _Draft, goal: str, answer: Template,
                rng: random.Random, blueprint_id: str | None, *, base: ClusterRuntime, initial: ClusterRuntime,
                replay: ClusterRuntime) -> Blueprint:
        """The blueprint, once its plan replayed from a fresh copy (``replay``) does what the build did."""
        facts = {f.name: f.value for f in draft.facts.values()}

        def call(server: str, tool: str, args: dict[str, Any]) -> ToolOutcome:
            if server == SANDBOX:
                return run_code_locally(str(args.get("code", "")))
            return ToolOutcome.of(replay.call(tool, args))

        run = run_plan(draft.steps, facts, call)
        if not run.ok:
            raise PlanningFailure("dry_run_failed", "; ".join(run.unexpected)[:300])
        changed = [t for t, d in initial.store.diff(initial.store, replay.store).items()
                   if d.added or d.removed or d.changed]
        if changed != [t for t, d in initial.store.diff(initial.store, draft.rt.store).items()
                       if d.added or d.removed or d.changed]:
            raise PlanningFailure("nondeterministic", "the dry run touched other tables than the build")
        written = {table_name(self.indexes[t.domain].domain.name, t.entity) for t in cluster.tools
                   if t.kind in WRITE_KINDS and
                   any(s.tool == t.name for s in draft.steps)}
        tables = sorted(set(changed) | written)
        writes = bool(changed)
        state_hash = replay.store.state_hash(tables) if tables else ""
        if writes and initial.store.state_hash(tables) == state_hash:
            raise PlanningFailure("no_change", "the plan's writes leave the state as it was")
        answer_facts = [render(resolve(ref, facts=facts, outputs=run.outputs)).strip() for ref in answer.refs.values()]
        answer_facts = [f for f in dict.fromkeys(answer_facts) if f]
        if not writes and all(guessable(f) for f in answer_facts):
            raise PlanningFailure("nothing_to_check", "a read-only plan needs a fact in its answer that cannot be "
                                                      "guessed (not just 0, 1, yes or no)")
        persona = say.pick(rng, say.PERSONAS)
        body = json.dumps([cluster.id, mode, [s.model_dump(mode="json") for s in draft.steps], facts], sort_keys=True)
        bid = blueprint_id or "bp-" + hashlib.sha256(body.encode()).hexdigest()[:16]
        return Blueprint(
            id=bid, cluster=cluster.domains[0] if cluster.origin == "domain" else cluster.id, mode=mode,
            persona=persona, goal=goal, facts=list(draft.facts.values()),
            plan=draft.steps, answer=answer,
            outcome=ExpectedOutcome(tables=tables, state_hash=state_hash, answer_facts=answer_facts, writes=writes),
            seed=base.seed, rows=self.rows,
        )

    # --- locating records -----------------------------------------------------------------------------
    def locate(self, d: _Draft, tools: dict[str, _Tool], domain: str, entity: str, row: dict[str, Any],
               rng: random.Random, *, reveal: str = "upfront", allow_id_fact: bool = True
               ) -> tuple[StepRef | FactRef, str]:
        """Plan how the assistant finds ``row``: a search by something the user knows (unique), a search
        under a parent the user can name, or the id the user has. Returns the id binding and what the
        record was found by (for the goal text)."""
        options = []
        for t in tools.values():
            if t.spec.kind == "search" and t.spec.entity == entity and t.domain.name == domain:
                for p in t.spec.inputs:
                    if p.role == "filter" and p.type == "string" and isinstance(row.get(p.name), str):
                        options.append((0 if any(k in p.name for k in _IDENTIFYING) else 1, t.name, p.name))
        rng.shuffle(options)
        options.sort(key=lambda o: o[0])
        table = table_name(domain, entity)
        rows = d.rt.store.rows(table)
        for _, tool, param in options:
            value = row[param]
            hits = [r for r in rows if isinstance(r.get(param), str) and value.lower() in r[param].lower()]
            if len(hits) != 1 or len(value) < 3:
                continue
            mark = d.mark()
            ref = d.fact(f"{entity}_{param}", value, f"the {say.noun(param)} on your {say.noun(entity)} record", reveal)
            sid, out = d.add(tool, {param: ref}, note=f"find the {say.noun(entity)} by its {say.noun(param)}")
            if out.is_error or not out.structured or out.structured.get("total") != 1:
                d.rollback(mark)
                continue
            return StepRef(step=sid, path="records[0].id"), f"its {say.noun(param)}"
        parent = self._locate_via_parent(d, tools, domain, entity, row, rng, reveal)
        if parent is not None:
            return parent
        if not allow_id_fact:
            raise PlanningFailure("cannot_locate", f"{domain}.{entity}")
        return d.fact(f"{entity}_id", row["id"], f"your {say.noun(entity)} ID", reveal), "its id"

    def _locate_via_parent(self, d: _Draft, tools: dict[str, _Tool], domain: str, entity: str,
                           row: dict[str, Any], rng: random.Random, reveal: str) -> tuple[StepRef, str] | None:
        ent = self.indexes[domain].domain.entities[entity]
        state_field = ent.state_machine.field if ent.state_machine else None
        for t in tools.values():
            if not (t.spec.kind == "search" and t.spec.entity == entity and t.domain.name == domain):
                continue
            for p in t.spec.inputs:
                if p.role != "filter" or p.type != "ref" or not p.ref or not row.get(p.name):
                    continue
                parent_rows = [r for r in d.rt.store.rows(table_name(domain, p.ref)) if r["id"] == row[p.name]]
                if not parent_rows:
                    continue
                mark = d.mark()
                siblings = [r for r in d.rt.store.rows(table_name(domain, entity)) if r.get(p.name) == row[p.name]]
                args: dict[str, Binding] = {}
                if state_field and t.spec.param(state_field) is not None:
                    siblings = [r for r in siblings if r.get(state_field) == row.get(state_field)]
                    args[state_field] = d.fact(f"{entity}_{state_field}", row[state_field],
                                               f"the {say.noun(state_field)} of the {say.noun(entity)} you mean",
                                               reveal)
                if len(siblings) != 1:
                    d.rollback(mark)
                    continue
                try:
                    pref, _ = self.locate(d, tools, domain, p.ref, parent_rows[0], rng, reveal=reveal,
                                          allow_id_fact=False)
                except PlanningFailure:
                    d.rollback(mark)
                    continue
                args[p.name] = pref
                sid, out = d.add(t.name, args, note=f"list the {say.noun(entity)} records of that {say.noun(p.ref)}")
                if out.is_error or not out.structured or out.structured.get("total") != 1:
                    d.rollback(mark)
                    continue
                return StepRef(step=sid, path="records[0].id"), f"your {say.noun(p.ref)}"
        return None

    # --- values for non-id inputs ---------------------------------------------------------------------
    def values_for(self, d: _Draft, t: _Tool, rng: random.Random, *, skip: set[str],
                   target: dict[str, Any] | None = None) -> dict[str, Binding]:
        """Facts for the tool's required non-id inputs (and sometimes an optional one), as the user states them."""
        args: dict[str, Binding] = {}
        ent = t.domain.entities[t.spec.entity]
        for p in t.spec.inputs:
            if p.name in skip or p.type == "ref" or p.role in ("page", "filter", "range_min", "range_max"):
                continue
            if not p.required and rng.random() < 0.6:
                continue
            if p.role == "amount":
                have = float((target or {}).get(p.field or "", 0) or 0)
                value: Any = round(max(1.0, min(have * rng.uniform(0.1, 0.4), 500.0)), 2 if p.type != "integer" else 0)
                if p.type == "integer":
                    value = max(1, int(value))
            elif p.role == "choice":
                value = (p.values or ("count",))[0]
                args[p.name] = Const(value=value)
                continue
            else:
                f = ent.fields.get(p.field or p.name)
                if f is None:
                    continue
                value = sample_value(f, rng)
            args[p.name] = d.fact(f"{t.spec.entity}_{p.name}", value,
                                  f"the {say.noun(p.name)} for the {say.noun(t.spec.entity)}")
        return args


# --- the modes ------------------------------------------------------------------------------------------
Made = tuple[str, Template]


def _rows(d: _Draft, domain: str, entity: str) -> list[dict[str, Any]]:
    return d.rt.store.rows(table_name(domain, entity))


def _answer_fields(row: dict[str, Any], rng: random.Random, k: int = 2) -> list[str]:
    fields = [f for f, v in row.items() if f != "id" and not f.endswith("_id") and v not in (None, "")]
    rng.shuffle(fields)
    fields.sort(key=lambda f: (f not in ("status", "state"), isinstance(row[f], str) and len(row[f]) > 40))
    return fields[:k]


def _readable(tools: dict[str, _Tool]) -> list[tuple[str, str]]:
    return sorted({(t.domain.name, t.spec.entity) for t in tools.values() if t.spec.kind in ("get", "search")})


def _get_tool(tools: dict[str, _Tool], domain: str, entity: str) -> str | None:
    return next((t.name for t in tools.values() if t.spec.kind == "get" and t.spec.entity == entity
                 and t.domain.name == domain), None)


def _mode_lookup(pl: Planner, d: _Draft, tools: dict[str, _Tool], rng: random.Random, *,
                 reveal: str = "upfront") -> Made:
    options = _readable(tools)
    if not options:
        raise PlanningFailure("no_read_tool")
    domain, entity = rng.choice(options)
    rows = _rows(d, domain, entity)
    if not rows:
        raise PlanningFailure("no_rows", f"{domain}.{entity}")
    row = rng.choice(rows)
    ref, _ = pl.locate(d, tools, domain, entity, row, rng, reveal=reveal)
    get = _get_tool(tools, domain, entity)
    if get is not None and (isinstance(ref, FactRef) or rng.random() < 0.5):
        sid, out = d.add(get, {f"{entity}_id": ref}, note=f"read the {say.noun(entity)}")
        if out.is_error:
            raise PlanningFailure("read_failed", out.text[:200])
        src = StepRef(step=sid)
    elif isinstance(ref, StepRef):
        src = StepRef(step=ref.step, path="records[0]")
    else:
        raise PlanningFailure("no_read_tool", f"no get for {entity}")
    fields = _answer_fields(row, rng)
    if not fields:
        raise PlanningFailure("nothing_to_answer")
    refs = {f"v{i}": StepRef(step=src.step, path=f"{src.path}.{f}" if src.path else f) for i, f in enumerate(fields)}
    text = "; ".join(f"{f.replace('_', ' ')}: {{v{i}}}" for i, f in enumerate(fields))
    return say.lookup_goal(rng, entity, fields), Template(text=f"Your {say.noun(entity)}: {text}.", refs=refs)




def _try_write(pl: Planner, d: _Draft, tools: dict[str, _Tool], t: _Tool, rng: random.Random,
               reveal: str = "upfront", *, force: tuple[str, Any, str] | None = None,
               blocked_by: str | None = None) -> tuple[str, StepRef] | None:
    """Bind and run one write tool on suitable records; None when no candidate works.

    ``force`` is (input, value, description): the user states that value for that input. With
    ``blocked_by``, the call must fail with an error containing that text (the first try of a recovery)."""
    domain, entity = t.domain.name, t.spec.entity
    ids = [p for p in t.spec.inputs if p.type == "ref" and p.required]
    for _ in range(6):
        args: dict[str, Binding] = {}
        mark = d.mark()
        target_row: dict[str, Any] | None = None
        ok = True
        for p in ids:
            cand = _rows(d, domain, p.ref or "")
            if not cand:
                ok = False
                break
            if p.role == "id" and t.spec.source_states:
                sm = t.domain.entities[entity].state_machine
                cand = [r for r in cand if sm and r.get(sm.field) in t.spec.source_states]
            if p.name.startswith("to_"):
                cand = [r for r in cand if target_row is None or r["id"] != target_row["id"]]
            if not cand:
                ok = False
                break
            row = rng.choice(cand)
            if p.role == "id" or p.name.startswith("from_"):
                target_row = row
            ref, _ = pl.locate(d, tools, domain, p.ref or "", row, rng, reveal=reveal)
            args[p.name] = ref
        if ok:
            args.update(pl.values_for(d, t, rng, skip=set(args) | ({force[0]} if force else set()),
                                      target=target_row))
            if force is not None:
                args[force[0]] = d.fact(f"{entity}_{force[0]}", force[1], force[2])
            sid, out = d.add(t.name, args, note=say.act(t.spec, f"the {say.noun(entity)}"),
                             expect_error=blocked_by is not None)
            if blocked_by is None and not out.is_error:
                return sid, StepRef(step=sid)
            if blocked_by is not None and out.is_error and blocked_by.lower() in out.text.lower():
                return sid, StepRef(step=sid)
        d.rollback(mark)  # try other records
    return None


def _bound_throughout(steps: list[PlanStep]) -> bool:
    """Every step after the first takes an argument from an earlier step's output: the plan is one chain, as
    ``observed_mode`` reads a sequential chain (a step bound only to user facts starts a second thread)."""
    def refers(b: Binding) -> bool:
        return isinstance(b, StepRef) or (isinstance(b, Template) and any(isinstance(r, StepRef)
                                                                          for r in b.refs.values()))

    return all(any(refers(b) for b in s.args.values()) for s in steps[1:])


@dataclass
class _FollowUp:
    extra: str  # for the goal: ", then look up its customer"
    label: str  # for the answer: what ``ref`` shows
    ref: StepRef | None
    tool: _Tool
    step: str
    kind: str


_Option = tuple[_Tool, dict[str, Binding], str, str]  # a follow-up: tool, args, goal extra, kind


def _follow_up(pl: Planner, d: _Draft, tools: dict[str, _Tool], t: _Tool, sid: str, record_path: str,
               rng: random.Random, *, visited: set[str]) -> _FollowUp | None:
    """One more step bound to the record ``t`` produced (the output of step ``sid``), for a chain that is still
    too short: a read of a record it references or of the records that reference it, else the next transition
    of its state machine that leads to a state the chain has not ``visited`` (no undoing what it just did)."""
    rec = d.outputs.get(sid)
    rec = rec.get("from", rec) if record_path and isinstance(rec, dict) else rec
    if not isinstance(rec, dict) or "id" not in rec:
        return None
    at = f"{record_path}." if record_path else ""
    options = [*_related_reads(tools, t, rec, sid, at), *_next_transitions(pl, d, tools, t, rec, sid, at, rng,
                                                                          visited=visited)]
    rng.shuffle(options)
    options.sort(key=lambda o: o[3] == "transition")  # reads first: a second write is a bigger request
    for u, args, extra, kind in options:
        mark = d.mark()
        fid, out = d.add(u.name, args, note=f"then {say.act(u.spec, 'it')}" if kind == "transition"
                         else f"look up the related {say.noun(u.spec.entity)}")
        if out.is_error or not isinstance(out.structured, dict):
            d.rollback(mark)
            continue
        return _followed(u, fid, out.structured, extra, kind, rng)
    return None


def _related_reads(tools: dict[str, _Tool], t: _Tool, rec: dict[str, Any], sid: str, at: str) -> list[_Option]:
    """Reads of a record ``rec`` references (a get), or of the records that reference it (a search or count)."""
    domain, entity = t.domain.name, t.spec.entity
    ent = t.domain.entities[entity]
    options: list[_Option] = []
    for u in tools.values():
        if u.domain.name != domain or u is t:
            continue
        if u.spec.kind == "get" and u.spec.entity != entity:
            for f, fs in ent.fields.items():
                if fs.ref == u.spec.entity and rec.get(f):
                    options.append((u, {f"{u.spec.entity}_id": StepRef(step=sid, path=at + f)},
                                    f", then look up its {say.noun(u.spec.entity)}", "get"))
                    break
        elif u.spec.kind in ("search", "aggregate") and u.spec.entity != entity:
            p = next((p for p in u.spec.inputs if p.ref == entity and p.role == "filter"), None)
            if p is not None:
                args: dict[str, Binding] = {p.name: StepRef(step=sid, path=at + "id")}
                if u.spec.kind == "aggregate":
                    args["function"] = Const(value="count")
                options.append((u, args, f", then tell me how many {say.noun(u.spec.entity)} records it has"
                                if u.spec.kind == "aggregate" else f", then list its {say.noun(u.spec.entity)} records",
                                u.spec.kind))
    return options


def _next_transitions(pl: Planner, d: _Draft, tools: dict[str, _Tool], t: _Tool, rec: dict[str, Any], sid: str,
                      at: str, rng: random.Random, *, visited: set[str]) -> list[_Option]:
    """Transitions of ``rec``'s entity that start from its state and reach none the chain has visited."""
    entity = t.spec.entity
    sm = t.domain.entities[entity].state_machine
    if sm is None:
        return []
    visited.add(str(rec.get(sm.field)))
    options: list[_Option] = []
    for u in tools.values():
        if u is not t and u.domain is t.domain and u.spec.kind == "transition" and u.spec.entity == entity \
                and rec.get(sm.field) in u.spec.source_states and not set(u.spec.outputs.states) & visited:
            values = pl.values_for(d, u, rng, skip={f"{entity}_id"})
            options.append((u, {f"{entity}_id": StepRef(step=sid, path=at + "id"), **values},
                            f" and after that {say.act(u.spec, 'it')}", "transition"))
    return options


def _followed(u: _Tool, fid: str, out: dict[str, Any], extra: str, kind: str, rng: random.Random) -> _FollowUp:
    """The follow-up step ``fid`` just added, with what the answer can show of it."""
    noun = say.noun(u.spec.entity)
    if kind == "get":
        shown = _answer_fields(out, rng, 1)
        return _FollowUp(extra, f"its {noun}'s {shown[0].replace('_', ' ')}" if shown else "",
                         StepRef(step=fid, path=shown[0]) if shown else None, u, fid, kind)
    if kind == "search":
        return _FollowUp(extra, f"{noun} records", StepRef(step=fid, path="total"), u, fid, kind)
    if kind == "aggregate":
        return _FollowUp(extra, f"{noun} count", StepRef(step=fid, path="value"), u, fid, kind)
    return _FollowUp(extra, "", None, u, fid, kind)


def _mode_chain(pl: Planner, d: _Draft, tools: dict[str, _Tool], rng: random.Random, *,
                reveal: str = "upfront") -> Made:
    """A write bound to located records, then a read of the result, three or more steps each bound to an
    earlier one. A chain still short after the confirming read gets up to two follow-up steps
    (``_follow_up``: a related read ends it, a further transition may be followed again); a plan with a step
    that takes no earlier output is kept only when no write gives one chain throughout."""
    writes = [t for t in tools.values() if t.spec.kind in WRITE_KINDS and t.spec.kind != "delete"]
    rng.shuffle(writes)
    start = d.mark()
    wrote = False
    fallback: tuple[list[PlanStep], tuple[int, dict[str, Any], dict[str, Fact], int, Snapshot], Made] | None = None
    for t in writes:
        d.rollback(start)
        done = _try_write(pl, d, tools, t, rng, reveal)
        if done is None:
            continue
        wrote = True
        sid, _ = done
        out = d.outputs[sid]
        entity = t.spec.entity
        get = _get_tool(tools, t.domain.name, entity)
        record_path = "from" if t.spec.kind == "transfer" else ""
        if get is not None and isinstance(out, dict) and "id" in (out.get("from") or out):
            rec_id = StepRef(step=sid, path=f"{record_path}.id" if record_path else "id")
            gid, gout = d.add(get, {f"{entity}_id": rec_id}, note=f"confirm the {say.noun(entity)}")
            if not gout.is_error:
                sid, record_path = gid, ""
        follows, sid, record_path = _extend_chain(pl, d, tools, t, sid, record_path, rng, first=start[0])
        if len(d.steps) - start[0] < 3:
            continue
        answer = _chain_answer(d, entity, sid, record_path, follows, rng)  # draws before the goal, as it did
        made = say.action_goal(rng, t.spec, "".join(f.extra for f in follows)), answer
        if _bound_throughout(d.steps[start[0]:]):
            return made
        if fallback is None:
            fallback = (list(d.steps), d.mark(), made)
    if fallback is not None:
        steps, mark, made = fallback
        d.steps = list(steps)
        d.rollback(mark)
        return made
    if wrote:
        raise PlanningFailure("chain_too_short", "the writes worked, but no chain of three bound steps follows")
    raise PlanningFailure("no_feasible_write", "no write tool could be bound to records in a valid state")


def _extend_chain(pl: Planner, d: _Draft, tools: dict[str, _Tool], t: _Tool, sid: str, record_path: str,
                  rng: random.Random, *, first: int) -> tuple[list[_FollowUp], str, str]:
    """Up to two follow-ups while the chain since step ``first`` is shorter than three (a read ends it, a
    transition may be followed again); returns them and the step and path of the record the chain ends on."""
    follows: list[_FollowUp] = []
    cur = t
    visited = set(t.spec.source_states) if t.spec.kind == "transition" else set()
    while len(d.steps) - first < 3 and len(follows) < 2:
        follow = _follow_up(pl, d, tools, cur, sid, record_path, rng, visited=visited)
        if follow is None:
            break
        follows.append(follow)
        if follow.kind != "transition":
            break
        cur, sid, record_path = follow.tool, follow.step, ""  # the record as the transition left it
    return follows, sid, record_path


def _chain_answer(d: _Draft, entity: str, sid: str, record_path: str, follows: list[_FollowUp],
                  rng: random.Random) -> Template:
    """The answer of a chain: the record it ends on (its id and two fields) and what each follow-up showed."""
    rec = d.outputs[sid]
    rec = rec.get("from", rec) if record_path else rec
    fields = _answer_fields(rec, rng, 2)
    refs: dict[str, StepRef | FactRef] = {
        f"v{i}": StepRef(step=sid, path=f"{record_path + '.' if record_path else ''}{f}")
        for i, f in enumerate(fields)}
    if "id" in rec:
        refs["rid"] = StepRef(step=sid, path=f"{record_path + '.' if record_path else ''}id")
    text = f"Done: {say.noun(entity)} {{rid}} — " if "rid" in refs else "Done — "
    text += "; ".join(f"{f.replace('_', ' ')}: {{v{i}}}" for i, f in enumerate(fields)) + "."
    for i, f in enumerate(follows):
        if f.ref is not None:
            refs[f"w{i}"] = f.ref
            text += f" Also, {f.label}: {{w{i}}}."
    return Template(text=text, refs=refs)


_Branch = tuple[str, dict[str, Binding], str]  # a fan-out read: tool, args bound to the record ("?"), what it gets


def _fanout_branches(pl: Planner, tools: dict[str, _Tool], domain: str, entity: str,
                     row: dict[str, Any]) -> list[_Branch]:
    """Reads ``row`` feeds: a get of a record it references, a search or count of the records referencing it."""
    ent = pl.indexes[domain].domain.entities[entity]
    branches: list[_Branch] = []
    for t in tools.values():
        if t.domain.name != domain or not t.spec.read_only:
            continue
        if t.spec.kind == "get" and t.spec.entity != entity:
            refs = [f for f, fs in ent.fields.items() if fs.ref == t.spec.entity and row.get(f)]
            if refs:
                branches.append((t.name, {f"{t.spec.entity}_id": StepRef(step="?", path=refs[0])},
                                 f"the {say.noun(t.spec.entity)} details"))
        elif t.spec.kind in ("search", "aggregate") and t.spec.entity != entity:
            p = next((p for p in t.spec.inputs if p.ref == entity and p.role == "filter"), None)
            if p is not None:
                extra: dict[str, Binding] = {p.name: StepRef(step="?", path="id")}
                if t.spec.kind == "aggregate":
                    extra["function"] = Const(value="count")
                branches.append((t.name, extra, f"the related {say.noun(t.spec.entity)} records"
                                 if t.spec.kind == "search" else f"how many {say.noun(t.spec.entity)} records "
                                 "it has"))
    return branches


def _fan_out(d: _Draft, tools: dict[str, _Tool], base: StepRef, branches: list[_Branch],
             rng: random.Random) -> Template:
    """The branches issued together, bound to the record at ``base``; the answer shows what each returned."""
    answer_refs: dict[str, StepRef | FactRef] = {}
    parts = []
    for i, (tool, args, what) in enumerate(branches):
        bound = {k: (StepRef(step=base.step, path=f"{base.path}.{v.path}" if base.path else v.path)
                     if isinstance(v, StepRef) else v) for k, v in args.items()}
        bsid, bout = d.add(tool, bound, same_group=i > 0, note=f"get {what}")
        if bout.is_error:
            raise PlanningFailure("fanout_call_failed", bout.text[:200])
        spec = tools[tool].spec
        if spec.kind == "get":
            f = _answer_fields(bout.structured or {}, rng, 1)
            if f:
                answer_refs[f"v{i}"] = StepRef(step=bsid, path=f[0])
                parts.append(f"{say.noun(spec.entity)} {f[0].replace('_', ' ')}: {{v{i}}}")
        elif spec.kind == "search":
            answer_refs[f"v{i}"] = StepRef(step=bsid, path="total")
            parts.append(f"{say.noun(spec.entity)} records: {{v{i}}}")
        else:
            answer_refs[f"v{i}"] = StepRef(step=bsid, path="value")
            parts.append(f"{say.noun(spec.entity)} count: {{v{i}}}")
    return Template(text="Here is what I found — " + "; ".join(parts) + ".", refs=answer_refs)


def _mode_fanout(pl: Planner, d: _Draft, tools: dict[str, _Tool], rng: random.Random) -> Made:
    options = _readable(tools)
    rng.shuffle(options)
    for domain, entity in options:
        rows = _rows(d, domain, entity)
        if not rows:
            continue
        row = rng.choice(rows)
        branches = _fanout_branches(pl, tools, domain, entity, row)
        if len(branches) < 2:
            continue
        rng.shuffle(branches)
        branches = branches[:3]
        ref, _ = pl.locate(d, tools, domain, entity, row, rng)
        get = _get_tool(tools, domain, entity)
        if get is None and isinstance(ref, FactRef):
            continue
        if get is not None:
            sid, out = d.add(get, {f"{entity}_id": ref}, note=f"read the {say.noun(entity)}")
            if out.is_error:
                continue
            base = StepRef(step=sid)
        else:
            assert isinstance(ref, StepRef)
            base = StepRef(step=ref.step, path="records[0]")
        answer = _fan_out(d, tools, base, branches, rng)
        goal = say.fanout_goal(rng, entity, [b[2] for b in branches])
        return goal, answer
    raise PlanningFailure("no_fanout", "no record feeds two or more independent reads in this cluster")


def _mode_branch(pl: Planner, d: _Draft, tools: dict[str, _Tool], rng: random.Random) -> Made:
    by_entity: dict[tuple[str, str], list[_Tool]] = {}
    for t in tools.values():
        if t.spec.kind == "transition":
            by_entity.setdefault((t.domain.name, t.spec.entity), []).append(t)
    options = [(k, ts) for k, ts in sorted(by_entity.items(), key=lambda kv: kv[0]) if len(ts) >= 2]
    rng.shuffle(options)
    for (domain, entity), ts in options:
        sm = pl.indexes[domain].domain.entities[entity].state_machine
        if sm is None:
            continue
        pairs = [(a, b) for a in ts for b in ts if a.name < b.name
                 and set(a.spec.source_states) - set(b.spec.source_states)
                 and set(b.spec.source_states) - set(a.spec.source_states)]
        rng.shuffle(pairs)
        for a, b in pairs:
            sa = sorted(set(a.spec.source_states) - set(b.spec.source_states))
            sb = sorted(set(b.spec.source_states) - set(a.spec.source_states))
            rows = [r for r in _rows(d, domain, entity) if r.get(sm.field) in sa + sb]
            if not rows:
                continue
            row = rng.choice(rows)
            ref, _ = pl.locate(d, tools, domain, entity, row, rng)
            get = _get_tool(tools, domain, entity)
            if get is not None:
                oid, seen = d.add(get, {f"{entity}_id": ref}, note=f"check the {say.noun(entity)}'s state first")
                if seen.is_error:
                    continue
                state_ref = StepRef(step=oid, path=sm.field)
                id_ref: Binding = StepRef(step=oid, path="id")
            elif isinstance(ref, StepRef):
                state_ref = StepRef(step=ref.step, path=f"records[0].{sm.field}")
                id_ref = ref
            else:
                continue
            for t, states in ((a, sa), (b, sb)):
                extra = pl.values_for(d, t, rng, skip={f"{entity}_id"})
                cond = Condition(ref=state_ref, op="in", value=states)
                _, branch = d.add_conditional(t.name, {f"{entity}_id": id_ref, **extra}, cond,
                                              note=f"{say.act(t.spec, 'it')} if it is {' or '.join(states)}")
                if branch is not None and branch.is_error:
                    raise PlanningFailure("branch_call_failed", branch.text[:200])
            taken = next(s for s in reversed(d.steps) if s.id in d.outputs and s.when is not None)
            refs = {"rid": StepRef(step=taken.id, path="id"), "v0": StepRef(step=taken.id, path=sm.field)}
            goal = say.branch_goal(rng, entity, (a.spec, sa), (b.spec, sb))
            return goal, Template(text=f"I checked {say.noun(entity)} {{rid}} and acted on it; it is now {{v0}}.",
                                  refs=refs)
    raise PlanningFailure("no_branch", "no entity here has two transitions from different states")


def _mode_recovery(pl: Planner, d: _Draft, tools: dict[str, _Tool], rng: random.Random) -> Made:
    trans = [t for t in tools.values() if t.spec.kind == "transition"]
    rng.shuffle(trans)
    for target in trans:
        sm = target.domain.entities[target.spec.entity].state_machine
        if sm is None:
            continue
        for fix in trans:
            if fix is target or fix.spec.entity != target.spec.entity or fix.domain is not target.domain:
                continue
            reached = set(fix.spec.outputs.states)
            if not reached & set(target.spec.source_states):
                continue
            start = [s for s in fix.spec.source_states if s not in target.spec.source_states]
            rows = [r for r in _rows(d, target.domain.name, target.spec.entity) if r.get(sm.field) in start]
            if not rows:
                continue
            entity = target.spec.entity
            row = rng.choice(rows)
            ref, _ = pl.locate(d, tools, target.domain.name, entity, row, rng)
            extra_t = pl.values_for(d, target, rng, skip={f"{entity}_id"})
            _, first = d.add(target.name, {f"{entity}_id": ref, **extra_t}, expect_error=True,
                             note=f"try to {say.act(target.spec, 'it')}")
            if not first.is_error:
                raise PlanningFailure("recovery_not_blocked", "the first attempt succeeded")
            extra_f = pl.values_for(d, fix, rng, skip={f"{entity}_id"})
            _, fixed = d.add(fix.name, {f"{entity}_id": ref, **extra_f},
                             note=f"the error says why; {say.act(fix.spec, 'it')} first")
            if fixed.is_error:
                raise PlanningFailure("recovery_fix_failed", fixed.text[:200])
            sid, done = d.add(target.name, {f"{entity}_id": ref, **extra_t}, note="retry")
            if done.is_error:
                raise PlanningFailure("recovery_retry_failed", done.text[:200])
            refs = {"rid": StepRef(step=sid, path="id"), "v0": StepRef(step=sid, path=sm.field)}
            goal = say.recovery_goal(rng, entity, target.spec, fix.spec)
            return goal, Template(text=f"{say.noun(entity).capitalize()} {{rid}} needed a step first; it is now "
                                       "{v0}.", refs=refs)
    made = _recover_from_policy(pl, d, tools, rng)
    if made is not None:
        return made
    raise PlanningFailure("no_recovery", "no transition here is blocked by a state another transition fixes, "
                                         "and no policy caps an amount")


def _recover_from_policy(pl: Planner, d: _Draft, tools: dict[str, _Tool], rng: random.Random) -> Made | None:
    """A cap the cluster's policy puts on an amount: the user asks for more, the call is refused with the
    policy's message, and the assistant does it again at the most the policy allows, as the user said."""
    cluster = d.rt.cluster
    caps = [p for p in cluster.policies if p.precondition.kind == "compare" and p.precondition.value is not None
            and p.precondition.op in ("<=", "<") and p.tool in tools]
    rng.shuffle(caps)
    for pol in caps:
        pre = pol.precondition
        assert pre.kind == "compare" and pre.value is not None
        t = tools[pol.tool]
        param = t.spec.param(pre.param)
        if param is None:
            continue
        cap = pre.value if pre.op == "<=" else pre.value - 1
        integer = param.type == "integer"
        allowed: Any = int(cap) if integer else round(cap, 2)
        over: Any = int(cap * 1.5) + 1 if integer else round(cap * 1.5 + 1, 2)
        if param.maximum is not None and over > param.maximum:
            continue
        start = d.mark()
        what = f"the {say.noun(pre.param)} you want for the {say.noun(t.spec.entity)}"
        first = _try_write(pl, d, tools, t, rng, force=(pre.param, over, what), blocked_by="policy")
        if first is None:
            d.rollback(start)
            continue
        step = d.steps[-1]
        fallback = d.fact(f"{t.spec.entity}_{pre.param}_fallback", allowed,
                          f"the {say.noun(pre.param)} to use instead if a limit applies")
        sid, out = d.add(t.name, {**step.args, pre.param: fallback}, note=f"retry within the limit ({allowed})")
        if out.is_error:
            d.rollback(start)
            continue
        refs: dict[str, StepRef | FactRef] = {"v0": fallback}
        rec = out.structured or {}
        if "id" in rec:
            refs["rid"] = StepRef(step=sid, path="id")
        goal = say.pick(rng, (
            f"Please {say.act(t.spec, 'my ' + say.noun(t.spec.entity))} with {say.noun(pre.param)} {over}. "
            "If a limit stops that, "
            f"use {allowed} instead.",
            f"I'd like to {say.act(t.spec, 'my ' + say.noun(t.spec.entity))} for {over} ({say.noun(pre.param)}); "
            "if there's a cap, "
            f"go with {allowed}.",
        ))
        text = "That was over the limit, so I used {v0} instead" + (" ({rid})." if "rid" in refs else ".")
        return goal, Template(text=text, refs=refs)
    return None


_NUMERIC = ("money", "number", "integer")
_CODE = {
    "sum": ("sum of the {f}", "print(f'{sum(values):.2f}', end='')"),
    "avg": ("average {f}", "print(f'{sum(values) / len(values):.2f}', end='')"),
    "max": ("highest {f}", "print(f'{max(values):.2f}', end='')"),
    "min": ("lowest {f}", "print(f'{min(values):.2f}', end='')"),
}


def _mode_code(pl: Planner, d: _Draft, tools: dict[str, _Tool], rng: random.Random) -> Made:
    searches = [t for t in tools.values() if t.spec.kind == "search"]
    rng.shuffle(searches)
    for t in searches:
        ent = t.domain.entities[t.spec.entity]
        numeric = [f for f, fs in ent.fields.items() if fs.type in _NUMERIC]
        if not numeric:
            continue
        rows = _rows(d, t.domain.name, t.spec.entity)
        filters = [p for p in t.spec.inputs if p.role == "filter" and p.type in ("ref", "enum", "boolean")]
        rng.shuffle(filters)
        for p in filters:
            groups: dict[Any, int] = {}
            for r in rows:
                groups[r.get(p.name)] = groups.get(r.get(p.name), 0) + 1
            good = [v for v, n in groups.items() if v is not None and 3 <= n <= 100]
            if not good:
                continue
            value = rng.choice(sorted(good, key=str))
            args: dict[str, Binding] = {"limit": Const(value=100)}
            if p.type == "ref":
                parent = next(r for r in _rows(d, t.domain.name, p.ref or "") if r["id"] == value)
                ref, _ = pl.locate(d, tools, t.domain.name, p.ref or "", parent, rng)
                args[p.name] = ref
            else:
                args[p.name] = d.fact(f"{t.spec.entity}_{p.name}", value,
                                      f"the {say.noun(p.name)} of the {say.noun(t.spec.entity)} records to include")
            sid, out = d.add(t.name, args, note=f"list the matching {say.noun(t.spec.entity)} records")
            if out.is_error or not out.structured or out.structured.get("next_offset") is not None:
                continue
            f = rng.choice(numeric)
            fn = rng.choice(sorted(_CODE))
            what, line = _CODE[fn]
            code = ("import json\n"
                    "rows = json.loads(r'''{rows}''')\n"
                    f"values = [float(r['{f}']) for r in rows if r.get('{f}') is not None]\n"
                    f"{line}\n")
            cid, cout = d.add(EXECUTE_CODE, {"code": Template(text=code, refs={"rows": StepRef(step=sid,
                                                                                             path="records")}),
                                             "language": Const(value="python")},
                              server="sandbox", note="compute it exactly with code")
            stdout = str((cout.structured or {}).get("stdout", ""))
            try:
                float(stdout)
            except ValueError:
                raise PlanningFailure("code_failed", f"the aggregation printed {stdout[:80]!r}") from None
            goal = say.code_goal(rng, t.spec.entity, what.format(f=f.replace("_", " ")))
            return goal, Template(text=f"The {what.format(f=f.replace('_', ' '))} is {{v0}}.",
                                  refs={"v0": StepRef(step=cid, path="stdout")})
    raise PlanningFailure("no_numeric_search", "no search here returns several records with a number to compute")


def _mode_clarify(pl: Planner, d: _Draft, tools: dict[str, _Tool], rng: random.Random) -> Made:
    if rng.random() < 0.5:
        start = d.mark()
        try:
            made = _mode_chain(pl, d, tools, rng, reveal="on_request")
        except PlanningFailure:
            d.rollback(start)
            made = _mode_lookup(pl, d, tools, rng, reveal="on_request")
    else:
        made = _mode_lookup(pl, d, tools, rng, reveal="on_request")
    if not any(f.reveal == "on_request" for f in d.facts.values()):
        raise PlanningFailure("nothing_to_clarify")
    return made


def _mode_cross(pl: Planner, d: _Draft, tools: dict[str, _Tool], rng: random.Random) -> Made:
    cluster = d.rt.cluster
    if len(cluster.domains) != 2 or not cluster.seed_recipe.joins:
        raise PlanningFailure("single_domain", "cross_domain needs a cluster joining two domains")
    j = rng.choice(cluster.seed_recipe.joins)
    (da, ea), (db, eb) = j.left.split("."), j.right.split(".")
    rows_a, rows_b = _rows(d, da, ea), _rows(d, db, eb)
    keys_b = {r.get(j.right_key): r for r in rows_b if r.get(j.right_key)}
    shared = [r for r in rows_a if r.get(j.left_key) in keys_b]
    if not shared:
        raise PlanningFailure("no_shared_records", f"{j.left} and {j.right} share no {j.left_key}")
    row_a = rng.choice(shared)
    row_b = keys_b[row_a[j.left_key]]
    ref, _ = pl.locate(d, tools, da, ea, row_a, rng)
    get_a = _get_tool(tools, da, ea)
    if get_a is not None:
        sid, out = d.add(get_a, {f"{ea}_id": ref}, note=f"read the {say.noun(ea)} in {da}")
        if out.is_error:
            raise PlanningFailure("read_failed", out.text[:200])
        key_ref = StepRef(step=sid, path=j.left_key)
    elif isinstance(ref, StepRef):
        key_ref = StepRef(step=ref.step, path=f"records[0].{j.left_key}")
    else:
        raise PlanningFailure("cannot_read_join_key")
    search_b = next((t for t in tools.values() if t.domain.name == db and t.spec.entity == eb
                     and t.spec.kind == "search" and t.spec.param(j.right_key) is not None), None)
    if search_b is None:
        raise PlanningFailure("no_bridge_search")
    bid, bout = d.add(search_b.name, {j.right_key: key_ref}, note=f"find the same person in {db}")
    if bout.is_error or not bout.structured or bout.structured.get("total") != 1:
        found = bout.structured.get("total") if bout.structured else None
        raise PlanningFailure("bridge_not_unique", f"{j.right_key} matched {found}")
    fields = _answer_fields(row_b, rng, 2)
    refs = {f"v{i}": StepRef(step=bid, path=f"records[0].{f}") for i, f in enumerate(fields)}
    text = "; ".join(f"{f.replace('_', ' ')}: {{v{i}}}" for i, f in enumerate(fields))
    goal = say.cross_goal(rng, ea, eb, db, fields)
    return goal, Template(text=f"In {db.replace('_', ' ')}, your {say.noun(eb)} record shows {text}.", refs=refs)


_MODES: dict[str, Any] = {
    "lookup": _mode_lookup,
    "sequential_chain": _mode_chain,
    "parallel_fanout": _mode_fanout,
    "conditional_branch": _mode_branch,
    "error_recovery": _mode_recovery,
    "code_aggregation": _mode_code,
    "clarification": _mode_clarify,
    "cross_domain": _mode_cross,
}
