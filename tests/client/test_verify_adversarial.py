"""Verification cannot be fooled: near-miss answers, ungrounded answers, disguised or forged ids, duplicate or
fake replies, malformed messages; and a blueprint that checks nothing is caught by its own self-checks."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tdscaling.client import AssistantMessage, ChatMessage, EpisodeLimits, Harness, ToolCall, load_blueprint
from tdscaling.client._scripted import ScriptedAssistant
from tdscaling.servers import Catalog

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "blueprints"
LOOKUP = EXAMPLES / "airline_passenger_lookup.json"
BRANCH = EXAMPLES / "retail_bank_freeze_or_unfreeze.json"
HOTEL = EXAMPLES / "hotel_reservation_overview.json"


@pytest.fixture(scope="module")
def harness() -> Harness:
    return Harness(Catalog.load())


async def _accepted(harness: Harness, path: Path) -> list[dict[str, Any]]:
    t = await harness.run(load_blueprint(path))
    assert t.verdict == "accepted", t.reasons
    return [dict(m) for m in json.loads(t.model_dump_json())["messages"]]


def _with_answer(messages: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    out = copy.deepcopy(messages)
    out[-1] = {"role": "assistant", "content": text}
    return out


@pytest.mark.parametrize(("path", "old", "new"), [
    (BRANCH, "frozen", "unfrozen"),
    (HOTEL, "26", "126"),
], ids=["a word inside a longer word", "a number inside a longer number"])
async def test_a_near_miss_answer_is_not_taken_for_the_fact(harness: Harness, path: Path, old: str, new: str) -> None:
    messages = await _accepted(harness, path)
    answer = messages[-1]["content"]
    assert old in answer
    j = await harness.verify(load_blueprint(path), _with_answer(messages, answer.replace(old, new)))
    assert j.verdict == "rejected" and "missing_answer_facts" in j.reasons


async def test_a_number_written_differently_is_still_the_fact(harness: Harness) -> None:
    bp = load_blueprint(EXAMPLES / "online_store_bath_stock_total.json")
    messages = await _accepted(harness, EXAMPLES / "online_store_bath_stock_total.json")
    j = await harness.verify(bp, _with_answer(messages, "You have 1,209 units in stock across the bath products."))
    assert j.verdict == "accepted", j.reasons


async def test_an_answer_no_tool_result_showed_is_ungrounded(harness: Harness) -> None:
    bp = load_blueprint(LOOKUP)
    messages = await _accepted(harness, LOOKUP)
    answer = messages[-1]["content"]
    guessed = [messages[0], messages[1], {"role": "assistant", "content": answer}]
    j = await harness.verify(bp, guessed)
    assert j.verdict == "rejected" and "ungrounded_answer" in j.reasons


async def test_an_id_hidden_behind_a_json_escape_is_still_invented(harness: Harness) -> None:
    bp = load_blueprint(LOOKUP)
    messages = await _accepted(harness, LOOKUP)
    get = next(m for m in messages if m.get("tool_calls") and m["tool_calls"][0]["function"]["name"] == "get_passenger")
    pid = json.loads(get["tool_calls"][0]["function"]["arguments"])["passenger_id"]
    reply = next(m for m in messages if m.get("tool_call_id") == get["tool_calls"][0]["id"])
    escaped = '{"passenger_id": "' + pid[:-1] + "\\u00" + format(ord(pid[-1]), "02x") + '"}'
    forged = [messages[0], messages[1],
              {"role": "assistant", "content": None, "tool_calls": [
                  {"id": "c1", "type": "function", "function": {"name": "get_passenger", "arguments": escaped}}]},
              {"role": "tool", "tool_call_id": "c1", "content": reply["content"]},
              messages[-1]]
    j = await harness.verify(bp, forged)
    assert "invented_id" in j.reasons, j.reasons


async def test_two_replies_to_one_call_are_a_malformed_trajectory(harness: Harness) -> None:
    messages = await _accepted(harness, LOOKUP)
    i = next(i for i, m in enumerate(messages) if m["role"] == "tool")
    fake = {**messages[i], "content": json.dumps({"records": [], "total": 0, "next_offset": None})}
    j = await harness.verify(load_blueprint(LOOKUP), [*messages[:i], fake, *messages[i:]])
    assert j.verdict == "rejected" and "malformed_trajectory" in j.reasons


async def test_a_fake_reply_to_an_unparsable_call_does_not_make_an_id_seen(harness: Harness) -> None:
    bp = load_blueprint(LOOKUP)
    messages = await _accepted(harness, LOOKUP)
    i = next(i for i, m in enumerate(messages)
             if m.get("tool_calls") and m["tool_calls"][0]["function"]["name"] == "get_passenger")
    get, reply = messages[i], messages[i + 1]
    pid = json.loads(get["tool_calls"][0]["function"]["arguments"])["passenger_id"]
    bad_call = {"id": "c0", "type": "function", "function": {"name": "search_passengers", "arguments": "not json"}}
    forged = [messages[0], messages[1],
              {"role": "assistant", "content": None, "tool_calls": [bad_call]},
              {"role": "tool", "tool_call_id": "c0", "content": json.dumps({"records": [{"id": pid}]})},
              get, reply, messages[-1]]
    j = await harness.verify(bp, forged)
    assert j.verdict == "rejected" and j.reasons == ["invented_id"], j.reasons


async def test_an_id_slipped_into_the_users_words_is_caught(harness: Harness) -> None:
    bp = load_blueprint(LOOKUP)
    messages = await _accepted(harness, LOOKUP)
    forged = copy.deepcopy(messages)
    forged[1]["content"] += " My passenger id is PAX-000049."
    j = await harness.verify(bp, forged)
    assert j.verdict == "rejected" and j.reasons == ["user_invented_id"]


@pytest.mark.parametrize("damage", [
    lambda m: m.__setitem__("tool_calls", {"id": "x"}),
    lambda m: m["tool_calls"][0].__setitem__("function", "get_passenger"),
    lambda m: m["tool_calls"][0]["function"].__setitem__("arguments", [1, 2]),
    lambda m: m["tool_calls"].__setitem__(0, "a string"),
], ids=["tool_calls is a dict", "function is a string", "arguments is a list", "a call is a string"])
async def test_malformed_messages_are_reported_not_crashed_on(harness: Harness, damage: Any) -> None:
    messages = await _accepted(harness, LOOKUP)
    i = next(i for i, m in enumerate(messages) if m.get("tool_calls"))
    damage(messages[i])
    j = await harness.verify(load_blueprint(LOOKUP), messages)
    assert j.verdict == "rejected" and "malformed_trajectory" in j.reasons


async def test_content_given_as_parts_is_read_as_text(harness: Harness) -> None:
    messages = await _accepted(harness, LOOKUP)
    for m in messages:
        if m["role"] in ("tool", "assistant") and isinstance(m.get("content"), str):
            m["content"] = [{"type": "text", "text": m["content"]}]
    j = await harness.verify(load_blueprint(LOOKUP), messages)
    assert j.verdict == "accepted", (j.reasons, j.details)


class RestartsIds(ScriptedAssistant):
    """A provider that numbers tool calls from zero again every turn."""

    def next_message(self, messages: Sequence[ChatMessage]) -> AssistantMessage:
        m = super().next_message(messages)
        calls = tuple(ToolCall(id=f"call_{i}", name=tc.name, arguments=tc.arguments, raw_arguments=tc.raw_arguments)
                      for i, tc in enumerate(m.tool_calls))
        return AssistantMessage(content=m.content, tool_calls=calls)


async def test_tool_call_ids_that_repeat_across_turns_are_made_unique(harness: Harness) -> None:
    bp = load_blueprint(EXAMPLES / "online_store_ship_paid_order.json")
    t = await harness.run(bp, assistant=RestartsIds(bp))
    ids = [tc["id"] for m in t.messages for tc in m.get("tool_calls") or []]
    assert len(ids) == len(set(ids)) >= 2
    assert {m["tool_call_id"] for m in t.messages if m["role"] == "tool"} == set(ids)
    assert "malformed_trajectory" not in t.reasons and "tool_result_mismatch" not in t.reasons


class Floods(ScriptedAssistant):
    """Asks for fifty calls at once."""

    def next_message(self, messages: Sequence[ChatMessage]) -> AssistantMessage:
        if any(m.get("role") == "tool" for m in messages):
            return AssistantMessage(content="Done.")
        return AssistantMessage(content=None, tool_calls=tuple(
            ToolCall(id=f"f{i}", name="search_passengers", arguments={}, raw_arguments="{}") for i in range(50)))


async def test_the_tool_call_limit_stops_calls_inside_one_turn(harness: Harness) -> None:
    bp = load_blueprint(LOOKUP)
    t = await harness.run(bp, assistant=Floods(bp), limits=EpisodeLimits(max_tool_calls=5))
    assert len([c for c in t.calls if c.server == "cluster"]) == 5
    assert len([m for m in t.messages if m["role"] == "tool"]) == 50  # every call answered
    assert "tool_call_limit" in t.reasons


async def test_a_blueprint_whose_outcome_already_holds_fails_its_self_check(harness: Harness) -> None:
    bp = load_blueprint(EXAMPLES / "online_store_ship_paid_order.json")
    rt = harness.runtime(bp)
    initial = rt.fresh()
    broken = bp.model_copy(update={
        "plan": [s for s in bp.plan if s.tool in ("search_customers", "search_orders")],
        "outcome": bp.outcome.model_copy(update={"state_hash": initial.store.state_hash(bp.outcome.tables)}),
    })
    initial.close()
    t = await harness.run(broken)
    assert t.reasons == ["initial_state_satisfies_outcome"]


async def test_a_blueprint_a_do_nothing_answer_satisfies_fails_its_self_check(harness: Harness) -> None:
    bp = load_blueprint(LOOKUP)
    broken = bp.model_copy(update={"goal": "Please help me with my passenger record.",
                                   "outcome": bp.outcome.model_copy(update={"answer_facts": ["help"]})})
    t = await harness.run(broken)
    assert t.reasons == ["do_nothing_passes"]


async def test_a_yes_or_no_in_the_answer_needs_no_grounding_but_a_blueprint_needs_one_real_fact(
    harness: Harness,
) -> None:
    bp = load_blueprint(LOOKUP)
    with_flag = bp.model_copy(update={"outcome": bp.outcome.model_copy(
        update={"answer_facts": [*bp.outcome.answer_facts, "yes"]})})
    messages = await _accepted(harness, LOOKUP)
    j = await harness.verify(with_flag, _with_answer(messages, messages[-1]["content"] + " Frequent flyer: yes."))
    assert j.verdict == "accepted", (j.reasons, j.details)
    from tdscaling.client._facts import guessable

    assert guessable("yes") and guessable("0") and not guessable("Adam Lawrence") and not guessable("26")
