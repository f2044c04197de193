"""Episodes end to end: scripted players through real MCP, verified by replay; faulty players are caught."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from mcp import StdioServerParameters

from tdscaling.client._blueprint import Blueprint
from tdscaling.client._harness import Harness, load_blueprint
from tdscaling.client._model_types import AssistantMessage, ChatMessage, ToolCall
from tdscaling.client._scripted import ScriptedAssistant
from tdscaling.client._servers import StdioServer
from tdscaling.client._trajectory import Trajectory
from tdscaling.servers import Catalog

pytestmark = pytest.mark.anyio

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "blueprints").glob("*.json"))
SHIP = next(p for p in EXAMPLES if p.name == "online_store_ship_paid_order.json")


@pytest.fixture(scope="module")
def harness() -> Harness:
    return Harness(Catalog.load())


def test_there_are_enough_example_blueprints_across_domains_and_modes() -> None:
    bps = [load_blueprint(p) for p in EXAMPLES]
    assert len(bps) >= 6
    assert len({str(b.cluster) for b in bps}) >= 3
    assert len({b.mode for b in bps}) >= 4
    assert any(s.server == "sandbox" for b in bps for s in b.plan)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
async def test_a_scripted_episode_of_every_example_blueprint_is_accepted_and_verifies_unchanged(
    harness: Harness, path: Path
) -> None:
    bp = load_blueprint(path)
    t = await harness.run(bp)
    assert t.verdict == "accepted", (t.reasons, t.details)
    assert t.messages[0]["role"] == "system" and t.messages[1]["role"] == "user"
    assert t.messages[-1]["role"] == "assistant" and not t.messages[-1].get("tool_calls")
    assert [c.tool for c in t.calls if c.server == "cluster"] == [s.tool for s in _executed_plan(bp, t)]
    assert {f["function"]["name"] for f in t.tools} >= {s.tool for s in bp.plan}
    if any(s.server == "sandbox" for s in bp.plan):
        assert t.sandbox_records and all(r.startswith("exec-") for r in t.sandbox_records)
    again = await harness.verify(bp, json.loads(t.model_dump_json())["messages"])
    assert again.verdict == "accepted", (again.reasons, again.details)


def _executed_plan(bp: Blueprint, t: Trajectory) -> list[Any]:
    called = {m["tool_call_id"] for m in t.messages if m["role"] == "tool"}
    return [s for s in bp.plan if s.server == "cluster" and f"call_{s.id}" in called]


async def test_an_episode_over_a_stdio_server_is_accepted(harness: Harness) -> None:
    bp = load_blueprint(SHIP)
    rt = harness.runtime(bp)
    server = StdioServer("cluster", StdioServerParameters(
        command=sys.executable, args=["-m", "tdscaling.synth", "serve", "online_store", "--db", ":memory:",
                                      "--seed", str(rt.seed)]))
    from tdscaling.client._episode import play_episode as run_episode

    t = await run_episode(bp, rt, harness.sandbox_server, cluster_server=server)
    assert t.verdict == "accepted", (t.reasons, t.details)
    assert "ship_order" in t.labels.tool_path


# --- faulty assistants ------------------------------------------------------------------------------------
class SkipsTheWrite(ScriptedAssistant):
    """Does every step but the state-changing one."""

    def __init__(self, bp: Blueprint, tool: str, **kw: Any) -> None:
        super().__init__(bp.model_copy(update={"plan": [s for s in bp.plan if s.tool != tool]}), **kw)


class InventsAnId(ScriptedAssistant):
    """Replaces the id of the state-changing call with one it never saw."""

    def __init__(self, bp: Blueprint, tool: str, **kw: Any) -> None:
        super().__init__(bp, **kw)
        self.tool = tool

    def next_message(self, messages: Sequence[ChatMessage]) -> AssistantMessage:
        m = super().next_message(messages)
        calls = []
        for tc in m.tool_calls:
            if tc.name == self.tool and tc.arguments:
                args = {k: ("ORD-000999" if k.endswith("_id") else v) for k, v in tc.arguments.items()}
                tc = ToolCall(id=tc.id, name=tc.name, arguments=args, raw_arguments=json.dumps(args))
            calls.append(tc)
        return AssistantMessage(content=m.content, tool_calls=tuple(calls))


class StopsEarly(ScriptedAssistant):
    """Answers as soon as it has seen one tool result."""

    def next_message(self, messages: Sequence[ChatMessage]) -> AssistantMessage:
        if any(m.get("role") == "tool" for m in messages):
            return AssistantMessage(content="All done, your order is taken care of.")
        return super().next_message(messages)


class WrongAnswer(ScriptedAssistant):
    """Does everything right, then tells the user something else."""

    def next_message(self, messages: Sequence[ChatMessage]) -> AssistantMessage:
        m = super().next_message(messages)
        if m.tool_calls or not m.content or m.content.endswith("?"):
            return m
        return AssistantMessage(content="Done: your order is now pending, placed on 2025-01-01.")


@pytest.mark.parametrize(("player", "reason"), [
    (lambda bp: SkipsTheWrite(bp, "ship_order"), "state_mismatch"),
    (lambda bp: InventsAnId(bp, "ship_order"), "invented_id"),
    (StopsEarly, "state_mismatch"),
    (WrongAnswer, "missing_answer_facts"),
], ids=["skips a step", "invents an id", "stops early", "wrong final answer"])
async def test_a_faulty_assistant_is_rejected_with_the_right_reason(harness: Harness, player: Any,
                                                                    reason: str) -> None:
    bp = load_blueprint(SHIP)
    t = await harness.run(bp, assistant=player(bp))
    assert t.verdict == "rejected"
    assert reason in t.reasons, (t.reasons, t.details)
    if reason == "missing_answer_facts":
        assert t.reasons == ["missing_answer_facts"]
        assert set(t.details["missing_facts"]) <= set(bp.outcome.answer_facts)
    if reason == "state_mismatch":
        assert "online_store__order" in t.details["state_diff"]


# --- hand-edited trajectories ---------------------------------------------------------------------------
@pytest.fixture
async def accepted(harness: Harness) -> list[dict[str, Any]]:
    t = await harness.run(load_blueprint(SHIP))
    assert t.verdict == "accepted"
    return [dict(m) for m in json.loads(t.model_dump_json())["messages"]]


def _call_index(messages: Sequence[Mapping[str, Any]], tool: str) -> tuple[int, dict[str, Any]]:
    for i, m in enumerate(messages):
        for tc in m.get("tool_calls") or []:
            if tc["function"]["name"] == tool:
                return i, tc
    raise AssertionError(f"no call of {tool}")


async def test_a_changed_tool_result_is_caught(harness: Harness, accepted: list[dict[str, Any]]) -> None:
    messages = copy.deepcopy(accepted)
    _, tc = _call_index(messages, "ship_order")
    reply = next(m for m in messages if m.get("tool_call_id") == tc["id"])
    reply["content"] = reply["content"].replace('"shipped"', '"delivered"')
    j = await harness.verify(load_blueprint(SHIP), messages)
    assert j.verdict == "rejected" and "tool_result_mismatch" in j.reasons
    assert j.details["mismatches"][0]["tool"] == "ship_order"


async def test_a_call_removed_with_its_reply_is_caught(harness: Harness, accepted: list[dict[str, Any]]) -> None:
    messages = copy.deepcopy(accepted)
    i, tc = _call_index(messages, "ship_order")
    messages[i]["tool_calls"] = [c for c in messages[i]["tool_calls"] if c is not tc]
    if not messages[i]["tool_calls"]:
        del messages[i]["tool_calls"]
    messages = [m for m in messages if m.get("tool_call_id") != tc["id"]]
    j = await harness.verify(load_blueprint(SHIP), messages)
    assert j.verdict == "rejected" and "state_mismatch" in j.reasons


async def test_a_changed_argument_is_caught(harness: Harness, accepted: list[dict[str, Any]]) -> None:
    messages = copy.deepcopy(accepted)
    _, tc = _call_index(messages, "ship_order")
    args = json.loads(tc["function"]["arguments"])
    args["tracking_number"] = "1Z00000000000"
    tc["function"]["arguments"] = json.dumps(args)
    j = await harness.verify(load_blueprint(SHIP), messages)
    assert j.verdict == "rejected" and "tool_result_mismatch" in j.reasons


async def test_an_orphan_tool_reply_is_a_malformed_trajectory(harness: Harness,
                                                             accepted: list[dict[str, Any]]) -> None:
    messages = [*copy.deepcopy(accepted)]
    messages.insert(2, {"role": "tool", "tool_call_id": "call_nobody", "content": "{}"})
    j = await harness.verify(load_blueprint(SHIP), messages)
    assert "malformed_trajectory" in j.reasons


async def test_a_do_nothing_conversation_is_rejected(harness: Harness, accepted: list[dict[str, Any]]) -> None:
    messages = [*accepted[:2], {"role": "assistant", "content": "Your order has been shipped."}]
    j = await harness.verify(load_blueprint(SHIP), messages)
    assert j.verdict == "rejected" and "state_mismatch" in j.reasons


async def test_a_blueprint_whose_outcome_already_holds_is_rejected_as_broken(harness: Harness) -> None:
    bp = load_blueprint(SHIP)
    broken = bp.model_copy(update={"plan": [s for s in bp.plan if s.tool != "ship_order"
                                            and s.tool != "get_order"]})
    t = await harness.run(broken)
    assert t.verdict == "rejected"
    assert "gold_replay_error" in t.reasons or "initial_state_satisfies_outcome" in t.reasons


# --- the litellm path ----------------------------------------------------------------------------------
async def test_an_episode_driven_by_a_model_over_http_is_accepted_and_accounted(harness: Harness,
                                                                                fake_openai: Any) -> None:
    from fake_openai import Reply, _completion, usage

    from tdscaling.client._litellm import LiteLLMBackend

    bp = load_blueprint(SHIP)
    brain = ScriptedAssistant(bp)

    def decide(body: dict[str, Any]) -> Reply:
        m = brain.next_message(body["messages"]).to_openai()
        return Reply(body=_completion(m, "tool_calls" if m.get("tool_calls") else "stop", usage(120, 30)))

    fake_openai.responder = decide
    model = LiteLLMBackend("openai/fake-model", api_base=fake_openai.base_url, api_key="x")
    t = await harness.run(bp, assistant=model)
    assert t.verdict == "accepted", (t.reasons, t.details)
    assert fake_openai.hits == t.labels.usage["assistant"].model_calls >= 4
    assert t.labels.usage["assistant"].prompt_tokens == 120 * fake_openai.hits
    assert t.labels.models["assistant"] == model.name
    sent = fake_openai.requests[-1]
    assert sent["tools"] and sent["messages"][0]["role"] == "system"
