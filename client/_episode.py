"""One episode: a blueprint, a fresh world, the sandbox beside it, user and assistant talking, then the verdict.

``run_episode`` connects a hub to a fresh copy of the cluster's world and to the sandbox (both in process,
through the real MCP SDK), lets the user simulator and the assistant talk under limits on turns, tool calls
and time, and returns the ``Trajectory``, judged by the same replay ``episode verify`` uses for trajectories
made elsewhere.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from typing import Any

import anyio

from ._backend import ModelBackend
from ._blueprint import Blueprint
from ._call_log import CallRecord as HubCall
from ._errors import ModelAuthError, ModelError
from ._hub import Hub
from ._model_types import AssistantMessage, Usage
from ._plan_run import CallOutcome
from ._prompts import assistant_system_prompt
from ._scripted import ScriptedAssistant
from ._servers import InProcessServer, ServerConfig
from ._trajectory import CallRecord, Labels, RoleUsage, Trajectory
from ._user import ScriptedUser, UserSimulator
from ._validators import ValidatorCache
from ._verify import GoldCheck, Verifier


@dataclass(frozen=True)
class EpisodeLimits:
    """Bounds on one conversation: user turns, tool calls in all, wall-clock seconds."""

    max_turns: int = 12
    max_tool_calls: int = 32
    time_s: float = 300.0


def episode_id(blueprint: Blueprint, seed: int, attempt: int = 0) -> str:
    """Deterministic: the same blueprint, seed and attempt always name the same episode."""
    raw = f"{blueprint.id}|{seed}|{attempt}"
    return "ep-" + hashlib.sha256(raw.encode()).hexdigest()[:16]


def _role_usage(u: Usage, calls: int) -> RoleUsage:
    return RoleUsage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens, cost_usd=u.cost_usd,
                     model_calls=calls)


async def run_episode(
    blueprint: Blueprint,
    runtime: Any,
    sandbox_server: Any,
    *,
    assistant: ModelBackend | None = None,
    user: UserSimulator | None = None,
    limits: EpisodeLimits | None = None,
    seed: int = 0,
    attempt: int = 0,
    cluster_server: ServerConfig | None = None,
    gold_check: GoldCheck | None = None,
    validators: ValidatorCache | None = None,
) -> Trajectory:
    """Run one episode of ``blueprint`` over ``runtime`` (a seeded ``ClusterRuntime``; each episode gets
    ``runtime.fresh()``) with ``sandbox_server`` (an MCP server object) beside it.

    ``assistant`` and ``user`` default to the scripted, offline players. ``cluster_server`` reaches the
    cluster another way (a stdio subprocess, an HTTP URL) serving the same freshly seeded world; the
    verdict still replays on ``runtime``. ``gold_check`` is the blueprint's earlier ``Verifier.check()`` on
    ``runtime``; without it the gold replay and self-checks run again in this episode. ``validators``
    shares compiled output-schema validators between episodes (see ``ValidatorCache``).
    """
    limits = limits or EpisodeLimits()
    eid = episode_id(blueprint, seed, attempt)
    world = runtime.fresh()
    started = time.perf_counter()
    reasons: list[str] = []
    details: dict[str, Any] = {}
    messages: list[dict[str, Any]] = []
    usage = {"assistant": Usage(), "user": Usage()}
    counts = {"assistant": 0, "user": 0}
    cluster = cluster_server if cluster_server is not None else InProcessServer("cluster", world.server)
    hub = Hub([cluster, InProcessServer("sandbox", sandbox_server)], validators=validators)
    async with hub:
        names = {(t.server, t.tool): t.name for t in hub.tools}
        tools = hub.openai_tools()
        player = assistant or ScriptedAssistant(blueprint, names=names, session_id=eid)
        person = user or ScriptedUser(blueprint)
        messages.append({"role": "system", "content": assistant_system_prompt(world, session_id=eid)})
        tool_calls = turns = 0
        used_ids: set[str] = set()
        ended = False
        with anyio.move_on_after(limits.time_s) as scope:
            await anyio.lowlevel.checkpoint()  # a spent budget stops the episode even if no player ever waits
            first = await person.respond(messages)
            usage["user"] += first.usage
            counts["user"] += 1
            messages.append({"role": "user", "content": first.content})
            while not ended:
                await anyio.lowlevel.checkpoint()  # the deadline holds between turns of players that never wait
                try:
                    reply = await player.complete(messages, tools)
                except ModelAuthError:
                    raise  # no conversation can succeed: stop the run, do not reject episode after episode
                except ModelError as e:
                    reasons.append("model_error")
                    details["model_error"] = str(e)[:500]
                    break
                usage["assistant"] += reply.usage
                counts["assistant"] += 1
                message = _unique_ids(reply.message, used_ids, counts["assistant"])
                messages.append(message.to_openai())
                if message.tool_calls:
                    for tc in message.tool_calls:
                        if tool_calls >= limits.max_tool_calls:  # answer every call, run none past the limit
                            content = f"Not run: the limit of {limits.max_tool_calls} tool calls is reached."
                        elif tc.arguments is None:
                            tool_calls += 1
                            content = tc.arguments_error or "The arguments were not valid JSON."
                        else:
                            tool_calls += 1
                            content = (await hub.call(tc.name, tc.arguments)).text
                        messages.append({"role": "tool", "tool_call_id": tc.id, "content": content})
                    if tool_calls >= limits.max_tool_calls:
                        reasons.append("tool_call_limit")
                        break
                    continue
                turns += 1
                if turns >= limits.max_turns:
                    reasons.append("turn_limit")
                    break
                answer = await person.respond(messages)
                usage["user"] += answer.usage
                counts["user"] += 1
                if answer.stop:
                    ended = True
                    details["user_stop"] = answer.content
                    if _asks(message.content):  # the assistant was still waiting for an answer
                        reasons.append("user_stopped_early")
                else:
                    messages.append({"role": "user", "content": answer.content})
        if scope.cancelled_caught:
            reasons.append("time_limit")
        if hub.reports:
            reasons.append("server_died")
            details["server_reports"] = [r.message for r in hub.reports]
        episode_calls = list(hub.log.calls)
        wall_ms = (time.perf_counter() - started) * 1000

        async def sandbox_call(tool: str, args: dict[str, Any]) -> CallOutcome:
            replay_args = {**args, "session_id": f"{args.get('session_id', 'default')}-replay"}
            rec = await hub.call(names.get(("sandbox", tool), tool), replay_args)
            return CallOutcome(rec.is_error, rec.text, rec.structured)

        judgement = await Verifier(blueprint, runtime, sandbox=sandbox_call, gold_check=gold_check).judge(messages)
        await hub.call(names.get(("sandbox", "reset_session"), "reset_session"), {"session_id": f"{eid}-replay"})
        await hub.call(names.get(("sandbox", "reset_session"), "reset_session"), {"session_id": eid})
    world.close()
    if judgement.final_state is not None:
        judgement.final_state.close()
    reasons = sorted(set(reasons) | set(judgement.reasons))
    details.update(judgement.details)
    return Trajectory(
        id=eid,
        messages=messages,
        tools=tools,
        calls=[_call(c) for c in episode_calls],
        sandbox_records=_records(episode_calls),
        verdict="rejected" if reasons else "accepted",
        reasons=reasons,
        details=details,
        labels=Labels(
            blueprint_id=blueprint.id,
            cluster_id=runtime.cluster.id,
            domains=list(runtime.cluster.domains),
            planned_mode=blueprint.mode,
            tool_path=[c.name for c in episode_calls],
            tool_errors=sum(c.is_error for c in episode_calls),
            turns=turns,
            wall_ms=round(wall_ms, 3),
            tool_ms=round(sum(c.latency_ms for c in episode_calls), 3),
            usage={role: _role_usage(u, counts[role]) for role, u in usage.items()},
            models={"assistant": player.name, "user": person.name},
            seed=seed,
        ),
    )


def _unique_ids(message: AssistantMessage, used: set[str], turn: int) -> AssistantMessage:
    """The message with every tool-call id unique in the episode: some providers send none, or restart
    their numbering every turn, and a repeated id would tie a reply to the wrong call."""
    calls = []
    for i, tc in enumerate(message.tool_calls):
        cid = tc.id if tc.id and tc.id not in used else f"call_{turn}_{i}"
        while cid in used:
            cid += "_"
        used.add(cid)
        calls.append(tc if cid == tc.id else replace(tc, id=cid))
    return AssistantMessage(content=message.content, tool_calls=tuple(calls)) if calls else message


def _asks(text: str | None) -> bool:
    return bool(text) and str(text).rstrip().endswith("?")


def _call(c: HubCall) -> CallRecord:
    return CallRecord(call_id=str(c.index), server=c.server or "", tool=c.tool or c.name, arguments=dict(c.arguments),
                      is_error=c.is_error, text=c.text, structured=c.structured, latency_ms=round(c.latency_ms, 3))


def _records(calls: list[HubCall]) -> list[str]:
    out = []
    for c in calls:
        if c.server == "sandbox" and c.tool == "execute_code" and c.structured and c.structured.get("record_id"):
            out.append(str(c.structured["record_id"]))
    return out
