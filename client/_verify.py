"""Verification by replay: a trajectory is judged only by re-executing what it did.

``Verifier.judge(messages)`` reads the tool calls out of an OpenAI-format conversation (ours, another
model's, another tool's, or one edited by hand), re-executes them in order on a fresh copy of the initial
state, compares every recorded tool reply with the re-executed one, and then checks the re-executed final
state against the blueprint's gold replay (with a diff), the final answer against the expected facts, and
every id the assistant used against what it had been shown. Each blueprint is also checked once: its gold
replay must raise nothing unexpected, its initial state must not already satisfy the outcome, and a
do-nothing conversation must fail. Every world a judgement opens is closed before it returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tdscaling.sandbox import SANDBOX_TOOLS

from ._blueprint import Blueprint
from ._calls import ToolOutcome
from ._facts import contains_fact, guessable
from ._plan_run import run_plan
from ._transcript import ExtractedCall, extract_calls, final_answer, text_of
from ._user import first_message
from ._verdict import Judgement
from ._world import SandboxCaller, World

ID_PATTERN = re.compile(r"\b[A-Z]{2,5}-\d{6}\b")
_VOLATILE = frozenset({"record_id", "duration_ms", "cpu_ms", "max_rss_kb", "session_id", "started_at", "ended_at",
                       "isolation_level"})


def _comparable(text: str | None) -> Any:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text.strip()
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in _VOLATILE}
    return value


@dataclass(frozen=True)
class GoldCheck:
    """What judging needs from a blueprint's gold replay, worth keeping between episodes of that blueprint:
    what is wrong with the blueprint itself (empty when sound) and the hash of the gold final state."""

    problems: tuple[str, ...]
    state_hash: str


@dataclass
class _Replay:
    """What re-executing a conversation's calls found."""

    grounds: list[str] = field(default_factory=list)  # what the assistant was really shown
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    invented: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    touched: bool = False  # whether any call ran on the world (an untouched world hashes as the initial one)


class Verifier:
    """Judges trajectories of one blueprint against ``runtime`` (a seeded cluster world).

    ``gold_check`` is the result of an earlier ``check()`` of the same blueprint on the same runtime; given,
    the gold replay is not repeated (it is rebuilt only to show a diff when a state differs).
    ``initial_hash`` is the state hash of ``runtime.fresh()``, the same for every blueprint of a runtime;
    without it it is computed when needed. (Hashing a world is most of what a check costs.)
    """

    def __init__(self, blueprint: Blueprint, runtime: World, *, sandbox: SandboxCaller | None = None,
                 gold_check: GoldCheck | None = None, initial_hash: str | None = None) -> None:
        self.blueprint = blueprint
        self.runtime = runtime
        self.sandbox = sandbox
        self.cluster_tools = {t.name for t in runtime.tools()}
        self._check = gold_check
        self._initial_hash = initial_hash

    @contextmanager
    def _fresh(self) -> Iterator[World]:
        world = self.runtime.fresh()
        try:
            yield world
        finally:
            world.close()

    def initial_hash(self) -> str:
        """The state hash of a fresh world."""
        if self._initial_hash is None:
            with self._fresh() as initial:
                self._initial_hash = initial.store.state_hash()
        return self._initial_hash

    # --- routing a call by its public name ------------------------------------------------------------
    def route(self, name: str) -> tuple[str, str] | None:
        if name in self.cluster_tools:
            return "cluster", name
        if name in SANDBOX_TOOLS:
            return "sandbox", name
        for server in ("cluster", "sandbox"):
            prefix = f"{server}__"
            if name.startswith(prefix):
                rest = name[len(prefix):]
                known = self.cluster_tools if server == "cluster" else SANDBOX_TOOLS
                if rest in known:
                    return server, rest
        return None

    async def _execute(self, world: World, server: str, tool: str, args: dict[str, Any]) -> ToolOutcome:
        if server == "sandbox":
            if self.sandbox is None:
                return ToolOutcome.failure("no sandbox is available to re-execute this call")
            return await self.sandbox(tool, args)
        return ToolOutcome.of(world.call(tool, args))

    # --- the blueprint's own checks ---------------------------------------------------------------------
    @contextmanager
    def _gold(self) -> Iterator[tuple[World, list[str], str]]:
        """The gold replay's final world (closed on leaving), what the replay found wrong, its state hash."""
        bp = self.blueprint
        with self._fresh() as world:

            def call(server: str, tool: str, args: dict[str, Any]) -> ToolOutcome:
                if server == "sandbox":
                    return _sandbox_placeholder()
                return ToolOutcome.of(world.call(tool, args))

            run = run_plan(bp.plan, {f.name: f.value for f in bp.facts}, call)
            problems: list[str] = []
            if not run.ok:
                problems.append("gold_replay_error")
            tables = bp.outcome.tables
            if tables and world.store.state_hash(tables) != bp.outcome.state_hash:
                problems.append("gold_replay_error")
            full = world.store.state_hash()
            if bp.outcome.writes and self.initial_hash() == full:
                problems.append("initial_state_satisfies_outcome")
            yield world, sorted(set(problems)), full

    async def check(self) -> GoldCheck:
        """The blueprint's self-checks (computed once per verifier unless given): its gold replay must raise
        nothing unexpected and reach the expected state, its initial state must not already satisfy the
        outcome, and a do-nothing conversation must fail."""
        if self._check is not None:
            return self._check
        with self._gold() as (_, problems, full):
            self._check = GoldCheck(tuple(problems), full)
        if not problems:
            nothing = [{"role": "system", "content": "You are a helpful assistant."},
                       {"role": "user", "content": first_message(self.blueprint)},
                       {"role": "assistant", "content": "I'm sorry, I can't help with that."}]
            if (await self.judge(nothing, _self_check=True)).accepted:
                self._check = GoldCheck(("do_nothing_passes",), self._check.state_hash)
        return self._check

    # --- judging a conversation ---------------------------------------------------------------------------
    async def judge(self, messages: Sequence[Mapping[str, Any]], *, _self_check: bool = False) -> Judgement:
        """The verdict on ``messages``: replayed on a fresh world, then state, answer and ids checked."""
        if not _self_check:
            broken = (await self.check()).problems
            if broken:
                return Judgement(verdict="rejected", reasons=list(broken),
                                 details={"blueprint": "the blueprint failed its own checks"})
        reasons: list[str] = []
        details: dict[str, Any] = {}
        calls, problems = extract_calls(messages)
        if problems:
            reasons.append("malformed_trajectory")
            details["format"] = problems
        self._check_user_ids(messages, reasons, details)
        with self._fresh() as world:
            replay = await self._replay(world, calls, messages)
            self._check_replay(replay, reasons, details)
            self._check_answer(messages, "\n".join(replay.grounds), reasons, details)
            await self._check_state(world, touched=replay.touched, diff=not _self_check, reasons=reasons,
                                    details=details)
        return Judgement.of(reasons, details)

    def _check_user_ids(self, messages: Sequence[Mapping[str, Any]], reasons: list[str],
                        details: dict[str, Any]) -> None:
        bp = self.blueprint
        allowed = set(ID_PATTERN.findall(" ".join([bp.goal, *(str(f.value) for f in bp.facts)])))
        said = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
        foreign = sorted({v for t in said for v in ID_PATTERN.findall(t)} - allowed)
        if foreign:  # a user message names an id the blueprint never gave the user
            reasons.append("user_invented_id")
            details["user_invented_ids"] = foreign

    async def _replay(self, world: World, calls: Sequence[ExtractedCall],
                      messages: Sequence[Mapping[str, Any]]) -> _Replay:
        """Re-execute ``calls`` in order; what the assistant was shown is the users' words and the replayed
        results (a system prompt is not evidence: it is the harness's, and a trajectory could carry a forged
        one)."""
        out = _Replay()
        last_index = -1
        for c in calls:
            if c.index != last_index:
                out.grounds.extend(_said_by_user(messages[last_index + 1:c.index]))
                last_index = c.index
            context = "\n".join(out.grounds)
            shown_args = json.dumps(c.arguments, ensure_ascii=False) if c.arguments is not None else c.raw_arguments
            out.invented += [v for v in ID_PATTERN.findall(shown_args) if v not in context]
            route = self.route(c.name)
            if route is None:
                out.unknown.append(c.name)
                continue
            if c.arguments is None:
                continue  # the model's malformed JSON was answered with an error; nothing ran, nothing was shown
            out.touched = out.touched or route[0] == "cluster"
            outcome = await self._execute(world, route[0], route[1], dict(c.arguments))
            out.grounds.append(outcome.text)
            if c.reply is not None and _comparable(c.reply) != _comparable(outcome.text):
                out.mismatches.append({"call_id": c.call_id, "tool": c.name, "recorded": c.reply[:500],
                                       "replayed": outcome.text[:500]})
        out.grounds.extend(_said_by_user(messages[last_index + 1:]))
        return out

    @staticmethod
    def _check_replay(replay: _Replay, reasons: list[str], details: dict[str, Any]) -> None:
        if replay.unknown:
            reasons.append("unknown_tool")
            details["unknown_tools"] = replay.unknown
        if replay.mismatches:
            reasons.append("tool_result_mismatch")
            details["mismatches"] = replay.mismatches
        if replay.invented:
            reasons.append("invented_id")
            details["invented_ids"] = sorted(set(replay.invented))

    def _check_answer(self, messages: Sequence[Mapping[str, Any]], evidence: str, reasons: list[str],
                      details: dict[str, Any]) -> None:
        expected = self.blueprint.outcome.answer_facts
        answer = final_answer(messages)
        if answer is None:
            reasons.append("no_final_answer")
        missing = [f for f in expected if answer is None or not contains_fact(answer, f)]
        if missing:
            reasons.append("missing_answer_facts")
            details["missing_facts"] = missing
        ungrounded = [f for f in expected if f not in missing and not guessable(f) and not contains_fact(evidence, f)]
        if ungrounded:  # the answer states it, but nothing the assistant was shown did
            reasons.append("ungrounded_answer")
            details["ungrounded_facts"] = ungrounded

    async def _check_state(self, world: World, *, touched: bool, diff: bool, reasons: list[str],
                           details: dict[str, Any]) -> None:
        gold_hash = self._check.state_hash if self._check is not None else (await self.check()).state_hash
        if (world.store.state_hash() if touched else self.initial_hash()) == gold_hash:
            return
        reasons.append("state_mismatch")
        if diff:  # the diff is for people; the self-check needs only the verdict
            with self._gold() as (gold, _, _):
                details["state_diff"] = _diff_summary(world.store.diff(gold.store, world.store))


def _said_by_user(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    return [text_of(m.get("content")) for m in messages if m.get("role") == "user"]


def _diff_summary(diff: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-able summary of a store diff: per table, ids added, removed and changed (with fields)."""
    out: dict[str, Any] = {}
    for table, d in diff.items():
        if not (d.added or d.removed or d.changed):
            continue
        out[table] = {
            "added": [r.get("id") if isinstance(r, dict) else r for r in d.added][:20],
            "removed": [r.get("id") if isinstance(r, dict) else r for r in d.removed][:20],
            "changed": [{"id": c.id, "fields": {k: list(v) for k, v in c.fields.items()}} for c in d.changed][:20],
        }
    return out


def _sandbox_placeholder() -> ToolOutcome:
    """Sandbox steps change no cluster state; the gold replay does not need their output to compare states
    (answer facts were fixed when the blueprint was planned)."""
    return ToolOutcome(False, "", {"stdout": "", "exit_code": 0})
