"""One episode: a blueprint, a fresh world, the sandbox beside it, user and assistant talking, then the verdict.

``play_episode`` connects a hub to a fresh copy of the cluster's world and to the sandbox (both in process,
through the real MCP SDK), lets the user simulator and the assistant talk (``Conversation``), and returns the
``Trajectory``, judged by the same replay ``verify`` uses for trajectories made elsewhere. The world and the
hub are closed however the episode ends.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

from mcp.server import Server
from mcp.server.mcpserver import MCPServer

from tdscaling.sandbox import EXECUTE_CODE, RESET_SESSION

from ._backend import ModelBackend
from ._blueprint import SANDBOX, Blueprint
from ._calls import CallRecord, ToolOutcome
from ._conversation import Conversation, EpisodeLimits
from ._hub import Hub
from ._model_types import Usage
from ._prompts import assistant_system_prompt
from ._scripted import ScriptedAssistant
from ._servers import InProcessServer, ServerConfig
from ._trajectory import Labels, RoleUsage, Trajectory
from ._user import ScriptedUser, UserSimulator
from ._validators import ValidatorCache
from ._verdict import Judgement
from ._verify import GoldCheck, Verifier
from ._world import World


def episode_id(blueprint: Blueprint, seed: int, attempt: int = 0) -> str:
    """Deterministic: the same blueprint, seed and attempt always name the same episode."""
    raw = f"{blueprint.id}|{seed}|{attempt}"
    return "ep-" + hashlib.sha256(raw.encode()).hexdigest()[:16]


async def play_episode(
    blueprint: Blueprint,
    runtime: World,
    sandbox_server: MCPServer[Any] | Server[Any],
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
    """Play one episode of ``blueprint`` over ``runtime`` (a seeded world; the episode gets ``runtime.fresh()``)
    with ``sandbox_server`` (the sandbox's MCP server object) beside it, and judge it.

    ``assistant`` and ``user`` default to the scripted, offline players. ``cluster_server`` reaches the
    cluster another way (a stdio subprocess, an HTTP URL) serving the same freshly seeded world; the
    verdict still replays on ``runtime``. ``gold_check`` is the blueprint's earlier ``Verifier.check()`` on
    ``runtime``; without it the gold replay and self-checks run again in this episode. ``validators``
    shares compiled output-schema validators between episodes (see ``ValidatorCache``).
    """
    eid = episode_id(blueprint, seed, attempt)
    started = time.perf_counter()
    world = runtime.fresh()
    try:
        cluster = cluster_server if cluster_server is not None else InProcessServer("cluster", world.server)
        async with Hub([cluster, InProcessServer(SANDBOX, sandbox_server)], validators=validators) as hub:
            names = {(t.server, t.tool): t.name for t in hub.tools}
            talk = Conversation(hub, assistant=assistant or ScriptedAssistant(blueprint, names=names, session_id=eid),
                                user=user or ScriptedUser(blueprint), limits=limits or EpisodeLimits(),
                                system_prompt=assistant_system_prompt(world, session_id=eid))
            await talk.run()
            if hub.reports:
                talk.reasons.append("server_died")
                talk.details["server_reports"] = [r.message for r in hub.reports]
            calls = list(hub.log.calls)
            wall_ms = (time.perf_counter() - started) * 1000
            judgement = await _judge(blueprint, runtime, hub, talk, gold_check=gold_check,
                                     sandbox_names=names, session_id=eid)
    finally:
        world.close()
    return Trajectory(id=eid, messages=talk.messages, tools=talk.tools, calls=calls,
                      sandbox_records=_records(calls), judgement=judgement,
                      labels=_labels(blueprint, runtime, talk, calls, wall_ms=wall_ms, seed=seed))


async def _judge(blueprint: Blueprint, runtime: World, hub: Hub, talk: Conversation, *,
                 gold_check: GoldCheck | None, sandbox_names: dict[tuple[str, str], str],
                 session_id: str) -> Judgement:
    """The episode's verdict: how the conversation ended, and the replay's judgement of what it did. Sandbox
    calls replay through the episode's own hub, in a session of their own; both sessions are reset after."""

    def public(tool: str) -> str:
        return sandbox_names.get((SANDBOX, tool), tool)

    async def sandbox_call(tool: str, args: dict[str, Any]) -> ToolOutcome:
        replay_args = {**args, "session_id": f"{args.get('session_id', 'default')}-replay"}
        return (await hub.call(public(tool), replay_args)).outcome

    replayed = await Verifier(blueprint, runtime, sandbox=sandbox_call, gold_check=gold_check).judge(talk.messages)
    await hub.call(public(RESET_SESSION), {"session_id": f"{session_id}-replay"})
    await hub.call(public(RESET_SESSION), {"session_id": session_id})
    details = {**talk.details}
    details.update(replayed.details)
    return Judgement.of([*talk.reasons, *replayed.reasons], details)


def _role_usage(u: Usage, calls: int) -> RoleUsage:
    return RoleUsage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens, cost_usd=u.cost_usd,
                     model_calls=calls)


def _labels(blueprint: Blueprint, runtime: World, talk: Conversation, calls: Sequence[CallRecord], *,
            wall_ms: float, seed: int) -> Labels:
    return Labels(
        blueprint_id=blueprint.id,
        cluster_id=runtime.cluster.id,
        domains=list(runtime.cluster.domains),
        planned_mode=blueprint.mode,
        tool_path=[c.name for c in calls],
        tool_errors=sum(c.is_error for c in calls),
        turns=talk.turns,
        wall_ms=round(wall_ms, 3),
        tool_ms=round(sum(c.latency_ms for c in calls), 3),
        usage={role: _role_usage(u, talk.model_calls[role]) for role, u in talk.usage.items()},
        models={"assistant": talk.assistant.name, "user": talk.user.name},
        seed=seed,
    )


def _records(calls: Sequence[CallRecord]) -> list[str]:
    """The sandbox record ids of the episode's code executions, in order."""
    return [str(c.structured["record_id"]) for c in calls
            if c.server == SANDBOX and c.tool == EXECUTE_CODE and c.structured and c.structured.get("record_id")]
