"""Verification by replay: a trajectory is judged only by re-executing what it did.

``Verifier.judge(messages)`` reads the tool calls out of an OpenAI-format conversation (ours, another
model's, another tool's, or one edited by hand), re-executes them in order on a fresh copy of the initial
state, compares every recorded tool reply with the re-executed one, and then checks the re-executed final
state against the blueprint's gold replay (with a diff), the final answer against the expected facts, and
every id the assistant used against what it had been shown. Each blueprint is also checked once: its gold
replay must raise nothing unexpected, its initial state must not already satisfy the outcome, and a
do-nothing conversation must fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._blueprint import Blueprint
from ._plan_run import CallOutcome, run_plan
from ._user import first_message

ID_PATTERN = re.compile(r"\b[A-Z]{2,5}-\d{6}\b")
SANDBOX_TOOLS = frozenset({"execute_code", "write_file", "read_file", "list_files", "reset_session"})
_VOLATILE = frozenset({"record_id", "duration_ms", "cpu_ms", "max_rss_kb", "session_id", "started_at", "ended_at",
                       "isolation_level"})
_NUMBER = re.compile(r"(?<![\d.])-?\d[\d,]*(?:\.\d+)?(?![\d])")

SandboxCaller = Callable[[str, dict[str, Any]], Awaitable[CallOutcome]]


@dataclass
class Judgement:
    verdict: str
    reasons: list[str]
    details: dict[str, Any] = field(default_factory=dict)
    final_state: Any = None  # the re-executed runtime, for callers that want to look


@dataclass(frozen=True)
class ExtractedCall:
    call_id: str
    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str
    reply: str | None
    index: int  # position of the assistant message in the conversation


def text_of(content: Any) -> str:
    """A message's content as text: a string as it is, OpenAI content parts joined, anything else as JSON."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") if isinstance(p, Mapping) else str(p) for p in content]
        if all(isinstance(p, Mapping) and p.get("type") == "text" for p in content):
            return "".join(str(x) for x in parts)
    return json.dumps(content, ensure_ascii=False, sort_keys=True)


def extract_calls(messages: Sequence[Mapping[str, Any]]) -> tuple[list[ExtractedCall], list[str]]:
    """The tool calls of a conversation in order, with their recorded replies, and any format problems.
    Never raises on a malformed conversation: what cannot be read is reported as a problem."""
    replies: dict[str, str] = {}
    problems: list[str] = []
    issued: set[str] = set()
    for m in messages:
        if m.get("role") == "tool":
            cid = str(m.get("tool_call_id") or "")
            if not cid:
                problems.append("a tool message has no tool_call_id")
            if cid in replies:
                problems.append(f"tool call {cid!r} has more than one reply")
            replies[cid] = text_of(m.get("content"))
    calls: list[ExtractedCall] = []
    for i, m in enumerate(messages):
        if m.get("role") != "assistant":
            continue
        tool_calls = m.get("tool_calls") or []
        if not isinstance(tool_calls, list):
            problems.append(f"message {i}: tool_calls is not a list")
            continue
        for tc in tool_calls:
            fn = tc.get("function") if isinstance(tc, Mapping) else None
            if not isinstance(fn, Mapping):
                problems.append(f"message {i}: a tool call without a function object")
                continue
            cid = str(tc.get("id") or "")
            raw = fn.get("arguments")
            args: dict[str, Any] | None = None
            if isinstance(raw, str):
                try:
                    parsed = json.loads(raw or "{}")
                    args = parsed if isinstance(parsed, dict) else None
                except json.JSONDecodeError:
                    args = None
            elif isinstance(raw, Mapping):
                args, raw = dict(raw), json.dumps(raw)
            elif raw is None:
                args, raw = {}, "{}"
            else:
                problems.append(f"message {i}: tool call {cid!r} has arguments that are neither a JSON string nor "
                                "an object")
                raw = json.dumps(raw)
            if cid in issued:
                problems.append(f"tool call id {cid!r} is used twice")
            issued.add(cid)
            if cid not in replies:
                problems.append(f"tool call {cid!r} ({fn.get('name')}) has no tool reply")
            calls.append(ExtractedCall(cid, str(fn.get("name") or ""), args, str(raw), replies.get(cid), i))
    orphans = set(replies) - issued
    if orphans:
        problems.append(f"tool replies {sorted(orphans)} answer no tool call")
    return calls, problems


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


def _as_number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def contains_fact(text: str, fact: str) -> bool:
    """Whether ``text`` states ``fact`` as a whole token: words and codes case-insensitively and never as part
    of a longer word (``active`` is not in ``inactive``), numbers as the same number however written
    (``1249.5`` matches ``$1,249.50``; ``26`` is not in ``126``)."""
    want = _as_number(fact)
    if want is not None:
        for m in _NUMBER.finditer(text):
            got = _as_number(m.group())
            if got is not None and abs(got - want) < 0.0051:
                return True
    pattern = r"(?<![A-Za-z0-9])" + re.escape(fact) + r"(?![A-Za-z0-9])"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


def guessable(fact: str) -> bool:
    """A fact an answer could state by chance (a yes/no, a one-character value): it counts toward the answer,
    but it proves nothing, so a blueprint needs at least one fact that is not guessable and only the others
    are checked for grounding."""
    return len(fact) < 2 or fact.lower() in {"yes", "no", "true", "false", "none", "null", "10", "100"}


def final_answer(messages: Sequence[Mapping[str, Any]]) -> str | None:
    if not messages:
        return None
    last = messages[-1]
    if last.get("role") == "assistant" and not last.get("tool_calls") and last.get("content") is not None:
        return text_of(last.get("content"))
    return None


@dataclass(frozen=True)
class GoldCheck:
    """What judging needs from a blueprint's gold replay, worth keeping between episodes of that blueprint:
    what is wrong with the blueprint itself (empty when sound) and the hash of the gold final state."""

    problems: tuple[str, ...]
    state_hash: str


class Verifier:
    """Judges trajectories of one blueprint against ``runtime`` (a seeded cluster world).

    ``gold_check`` is the result of an earlier ``check()`` of the same blueprint on the same runtime; given,
    the gold replay is not repeated (it is rebuilt only to show a diff when a state differs).
    ``initial_hash`` is the state hash of ``runtime.fresh()``, the same for every blueprint of a runtime;
    without it it is computed when needed. (Hashing a world is most of what a check costs.)
    """

    def __init__(self, blueprint: Blueprint, runtime: Any, *, sandbox: SandboxCaller | None = None,
                 gold_check: GoldCheck | None = None, initial_hash: str | None = None) -> None:
        self.blueprint = blueprint
        self.runtime = runtime
        self.sandbox = sandbox
        self.cluster_tools = {t.name for t in runtime.tools()}
        self._check = gold_check
        self._initial_hash = initial_hash

    def initial_hash(self) -> str:
        """The state hash of a fresh world."""
        if self._initial_hash is None:
            initial = self.runtime.fresh()
            self._initial_hash = initial.store.state_hash()
            initial.close()
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

    async def _execute(self, world: Any, server: str, tool: str, args: dict[str, Any]) -> CallOutcome:
        if server == "sandbox":
            if self.sandbox is None:
                return CallOutcome(True, "no sandbox is available to re-execute this call", None)
            return await self.sandbox(tool, args)
        r = world.call(tool, args)
        text = "\n".join(c.text for c in r.content if hasattr(c, "text"))
        return CallOutcome(bool(r.is_error), text, r.structured_content)

    # --- the blueprint's own checks ---------------------------------------------------------------------
    def gold(self) -> tuple[Any, list[str]]:
        """The gold replay's final world (a new one on each call), and what the replay found wrong."""
        world, problems, _ = self._replay_gold()
        return world, problems

    def _replay_gold(self) -> tuple[Any, list[str], str]:
        bp = self.blueprint
        world = self.runtime.fresh()

        def call(server: str, tool: str, args: dict[str, Any]) -> CallOutcome:
            if server == "sandbox":
                return _sync_sandbox_placeholder(args)
            r = world.call(tool, args)
            text = "\n".join(c.text for c in r.content if hasattr(c, "text"))
            return CallOutcome(bool(r.is_error), text, r.structured_content)

        facts = {f.name: f.value for f in bp.facts}
        run = run_plan(bp.plan, facts, call)
        problems: list[str] = []
        if not run.ok:
            problems.append("gold_replay_error")
        tables = bp.outcome.tables
        if tables and world.store.state_hash(tables) != bp.outcome.state_hash:
            problems.append("gold_replay_error")
        full = world.store.state_hash()
        if bp.outcome.writes and self.initial_hash() == full:
            problems.append("initial_state_satisfies_outcome")
        return world, sorted(set(problems)), full

    async def check(self) -> GoldCheck:
        """The blueprint's self-checks (computed once per verifier unless given): its gold replay must raise
        nothing unexpected and reach the expected state, its initial state must not already satisfy the
        outcome, and a do-nothing conversation must fail."""
        if self._check is not None:
            return self._check
        world, problems, full = self._replay_gold()
        self._check = GoldCheck(tuple(problems), full)
        world.close()
        if not problems:
            nothing = [{"role": "system", "content": "You are a helpful assistant."},
                       {"role": "user", "content": first_message(self.blueprint)},
                       {"role": "assistant", "content": "I'm sorry, I can't help with that."}]
            idle = await self.judge(nothing, _self_check=True)
            if idle.final_state is not None:
                idle.final_state.close()
            if idle.verdict == "accepted":
                self._check = GoldCheck(("do_nothing_passes",), self._check.state_hash)
        return self._check

    # --- judging a conversation ---------------------------------------------------------------------------
    async def judge(self, messages: Sequence[Mapping[str, Any]], *, _self_check: bool = False) -> Judgement:
        reasons: list[str] = []
        details: dict[str, Any] = {}
        if not _self_check:
            broken = (await self.check()).problems
            if broken:
                return Judgement("rejected", list(broken), {"blueprint": "the blueprint failed its own checks"})
        calls, problems = extract_calls(messages)
        if problems:
            reasons.append("malformed_trajectory")
            details["format"] = problems
        world = self.runtime.fresh()
        bp = self.blueprint
        allowed_ids = set(ID_PATTERN.findall(" ".join([bp.goal, *(str(f.value) for f in bp.facts)])))
        said = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
        foreign = sorted({v for t in said for v in ID_PATTERN.findall(t)} - allowed_ids)
        if foreign:  # a user message names an id the blueprint never gave the user
            reasons.append("user_invented_id")
            details["user_invented_ids"] = foreign
        mismatches: list[dict[str, Any]] = []
        invented: list[str] = []
        grounds: list[str] = []  # what the assistant was really shown: the user's words and replayed results
        # (a system prompt is not evidence: it is the harness's, and a trajectory could carry a forged one)
        last_index = -1
        touched = False  # whether any call ran on the world (an untouched world hashes as the initial one)
        for c in calls:
            if c.index != last_index:
                grounds.extend(text_of(m.get("content")) for m in messages[last_index + 1:c.index]
                               if m.get("role") == "user")
                last_index = c.index
            context = "\n".join(grounds)
            shown_args = json.dumps(c.arguments, ensure_ascii=False) if c.arguments is not None else c.raw_arguments
            invented += [v for v in ID_PATTERN.findall(shown_args) if v not in context]
            route = self.route(c.name)
            if route is None:
                reasons.append("unknown_tool")
                details.setdefault("unknown_tools", []).append(c.name)
                continue
            if c.arguments is None:
                continue  # the model's malformed JSON was answered with an error; nothing ran, nothing was shown
            touched = touched or route[0] == "cluster"
            outcome = await self._execute(world, route[0], route[1], dict(c.arguments))
            grounds.append(outcome.text)
            if c.reply is not None and _comparable(c.reply) != _comparable(outcome.text):
                mismatches.append({"call_id": c.call_id, "tool": c.name, "recorded": c.reply[:500],
                                   "replayed": outcome.text[:500]})
        grounds.extend(text_of(m.get("content")) for m in messages[last_index + 1:] if m.get("role") == "user")
        if mismatches:
            reasons.append("tool_result_mismatch")
            details["mismatches"] = mismatches
        if invented:
            reasons.append("invented_id")
            details["invented_ids"] = sorted(set(invented))
        answer = final_answer(messages)
        if answer is None:
            reasons.append("no_final_answer")
        missing = [f for f in bp.outcome.answer_facts if answer is None or not contains_fact(answer, f)]
        if missing:
            reasons.append("missing_answer_facts")
            details["missing_facts"] = missing
        evidence = "\n".join(grounds)
        ungrounded = [f for f in bp.outcome.answer_facts
                      if f not in missing and not guessable(f) and not contains_fact(evidence, f)]
        if ungrounded:  # the answer states it, but nothing the assistant was shown did
            reasons.append("ungrounded_answer")
            details["ungrounded_facts"] = ungrounded
        gold_hash = self._check.state_hash if self._check is not None else (await self.check()).state_hash
        if (world.store.state_hash() if touched else self.initial_hash()) != gold_hash:
            reasons.append("state_mismatch")
            if not _self_check:  # the diff is for people; the self-check needs only the verdict
                gold, _ = self.gold()
                details["state_diff"] = _diff_summary(world.store.diff(gold.store, world.store))
                gold.close()
        verdict = "rejected" if reasons else "accepted"
        return Judgement(verdict, sorted(set(reasons)), details, world)


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


def _sync_sandbox_placeholder(args: dict[str, Any]) -> CallOutcome:
    """Sandbox steps change no cluster state; the gold replay does not need their output to compare states
    (answer facts were fixed when the blueprint was planned)."""
    return CallOutcome(False, "", {"stdout": "", "exit_code": 0})
