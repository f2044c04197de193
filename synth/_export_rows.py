"""One accepted trajectory as a training row: OpenAI chat, or LLaMA-Factory's ShareGPT.

Both layouts carry the same columns beside the conversation: ``id``, ``tools`` (one JSON string per row: tool
schemas of different shapes do not unify in Arrow, see docs/export.md) and ``metadata`` (a fixed set of
provenance fields; not ``labels``, which trainers take as token labels).

``openai``: ``messages`` with tool calls whose ``arguments`` are JSON objects (what TRL, axolotl and the
Qwen2.5 / Llama-3.1 templates expect; ``arguments="string"`` keeps the JSON strings the API sends, for
templates such as DeepSeek-V3's), tool replies with the tool's ``name``. ``sharegpt``: ``conversations`` of
human / gpt / function_call / observation turns, strictly alternating, as LLaMA-Factory 0.9.5 reads them.
``parallel_calls="split"`` turns an assistant message with several calls into consecutive single-call turns,
each followed by its reply (for templates that reject parallel calls, such as Llama-3.1's).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, assert_never

from ._export_options import ArgumentsMode, ExportOptions, ParallelCalls

# LLaMA-Factory 0.9.5 parses a function_call turn's JSON between these words and keeps any text around them
# (FunctionFormatter with the default tool_call_words); its converter joins parallel results with OBSERVATIONS.
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
OBSERVATIONS = "\n</tool_response>\n<tool_response>\n"


def metadata(row: Mapping[str, Any]) -> dict[str, Any]:
    """Provenance with the same keys and types in every row (a stable Arrow struct in every datasets release)."""
    labels = row.get("labels") or {}
    models = labels.get("models") or {}
    return {
        "task": str(row.get("task") or ""), "round": int(row.get("round") or 0),
        "blueprint_id": str(labels.get("blueprint_id") or ""), "cluster_id": str(labels.get("cluster_id") or ""),
        "domains": [str(d) for d in labels.get("domains") or []],
        "planned_mode": str(labels.get("planned_mode") or ""), "observed_mode": str(labels.get("observed_mode") or ""),
        "tool_path": [str(t) for t in labels.get("tool_path") or []],
        "turns": int(labels.get("turns") or 0), "tool_errors": int(labels.get("tool_errors") or 0),
        "seed": int(labels.get("seed") or 0),
        "assistant_model": str(models.get("assistant") or ""), "user_model": str(models.get("user") or ""),
    }


def tools_json(row: Mapping[str, Any], *, bare: bool = False) -> str:
    """The tool list as one JSON string: OpenAI ``{"type": "function", "function": {...}}`` entries, or the
    bare function definitions LLaMA-Factory reads (``bare``)."""
    functions = [{"name": t["function"]["name"], "description": t["function"].get("description", ""),
                  "parameters": t["function"].get("parameters") or {"type": "object", "properties": {}}}
                 for t in row.get("tools") or []]
    listed = functions if bare else [{"type": "function", "function": f} for f in functions]
    return json.dumps(listed, ensure_ascii=False)


def parsed_arguments(raw: Any) -> Any:
    """A call's arguments as data; a string that is not JSON stays a string (the model wrote it so)."""
    if not isinstance(raw, str):
        return raw if raw is not None else {}
    try:
        return json.loads(raw or "{}")
    except json.JSONDecodeError:
        return raw


def _text(m: Mapping[str, Any]) -> str:
    return str(m.get("content") or "")


def split_parallel(messages: Sequence[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """The same conversation with every multi-call assistant message as consecutive single-call messages, each
    followed by its reply; the text beside the calls stays on the first."""
    i = 0
    while i < len(messages):
        m = messages[i]
        calls = m.get("tool_calls") or []
        if m.get("role") != "assistant" or len(calls) < 2:
            yield dict(m)
            i += 1
            continue
        j = i + 1
        replies: dict[str, dict[str, Any]] = {}
        while j < len(messages) and messages[j].get("role") == "tool":
            replies.setdefault(str(messages[j].get("tool_call_id")), dict(messages[j]))
            j += 1
        for n, call in enumerate(calls):
            yield {"role": "assistant", "content": m.get("content") if n == 0 else None, "tool_calls": [call]}
            if (reply := replies.pop(str(call.get("id")), None)) is not None:
                yield reply
        yield from replies.values()  # replies that answer no call of this message: kept, in their order
        i = j


def _openai_messages(row: Mapping[str, Any], arguments: ArgumentsMode) -> list[dict[str, Any]]:
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for m in row["messages"]:
        role = m["role"]
        if role == "tool":
            call_id = str(m["tool_call_id"])
            out.append({"role": "tool", "tool_call_id": call_id, "name": names.get(call_id, ""), "content": _text(m)})
            continue
        message: dict[str, Any] = {"role": role, "content": m.get("content")}
        if role == "assistant" and m.get("tool_calls"):
            calls = []
            for tc in m["tool_calls"]:
                fn = tc["function"]
                names[str(tc["id"])] = fn["name"]
                args = fn.get("arguments")
                value = parsed_arguments(args) if arguments == "object" else (
                    args if isinstance(args, str) else json.dumps(args, ensure_ascii=False))
                calls.append({"id": tc["id"], "type": "function", "function": {"name": fn["name"], "arguments": value}})
            message["tool_calls"] = calls
        elif message["content"] is None:
            message["content"] = ""
        out.append(message)
    return out


def openai_row(row: Mapping[str, Any], *, arguments: ArgumentsMode = "object",
               parallel_calls: ParallelCalls = "keep") -> dict[str, Any]:
    """``id``, ``messages`` (OpenAI chat format), ``tools`` (a JSON string) and ``metadata``."""
    messages = _openai_messages(row, arguments)
    if parallel_calls == "split":
        messages = list(split_parallel(messages))
    return {"id": row["id"], "messages": messages, "tools": tools_json(row), "metadata": metadata(row)}


def _function_call(m: Mapping[str, Any]) -> str:
    calls = [{"name": c["function"]["name"], "arguments": parsed_arguments(c["function"].get("arguments"))}
             for c in m.get("tool_calls") or []]
    body = json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)
    text = _text(m).strip()
    return f"{text}\n{CALL_OPEN}{body}{CALL_CLOSE}" if text else body


def sharegpt_row(row: Mapping[str, Any], *, parallel_calls: ParallelCalls = "keep") -> dict[str, Any]:
    """LLaMA-Factory's ShareGPT layout: human/observation turns at odd positions, gpt/function_call at even.
    The text an assistant says beside its calls precedes them (``text\\n<tool_call>JSON</tool_call>``); each
    parallel result gets its own ``<tool_response>`` block, as LLaMA-Factory's own converter writes them."""
    messages: Sequence[Mapping[str, Any]] = row["messages"]
    if parallel_calls == "split":
        messages = list(split_parallel(messages))
    system = ""
    turns: list[dict[str, str]] = []
    results: list[str] = []
    for m in messages:
        role = m["role"]
        if role == "tool":
            results.append(_text(m))
            continue
        if results:
            turns.append({"from": "observation", "value": OBSERVATIONS.join(results)})
            results = []
        if role == "system":
            system = _text(m)
        elif role == "user":
            turns.append({"from": "human", "value": _text(m)})
        elif role == "assistant":
            if m.get("tool_calls"):
                turns.append({"from": "function_call", "value": _function_call(m)})
            else:
                turns.append({"from": "gpt", "value": _text(m)})
    if results:
        turns.append({"from": "observation", "value": OBSERVATIONS.join(results)})
    return {"id": row["id"], "conversations": turns, "system": system, "tools": tools_json(row, bare=True),
            "metadata": metadata(row)}


def convert(row: Mapping[str, Any], options: ExportOptions) -> dict[str, Any]:
    """The training row of one accepted trajectory (a line of ``trajectories.jsonl``)."""
    match options.fmt:
        case "openai":
            return openai_row(row, arguments=options.arguments, parallel_calls=options.parallel_calls)
        case "sharegpt":
            return sharegpt_row(row, parallel_calls=options.parallel_calls)
        case _:
            assert_never(options.fmt)
