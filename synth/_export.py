"""Exporting a run's accepted trajectories for training.

``openai``: one row per trajectory with ``messages`` and ``tools`` in OpenAI chat format (what chat-template
SFT takes; loads with ``datasets.load_dataset("json", ...)``). ``sharegpt``: ``conversations`` with
``human`` / ``gpt`` / ``function_call`` / ``observation`` turns, ``system`` and ``tools`` (a JSON string), as
LLaMA-Factory-style trainers read them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from tdscaling.servers import SpecError

from . import _jsonl

ExportFormat = Literal["openai", "sharegpt"]


def _clean_message(m: Mapping[str, Any]) -> dict[str, Any]:
    role = m["role"]
    if role == "tool":
        return {"role": "tool", "tool_call_id": m["tool_call_id"], "content": str(m.get("content") or "")}
    out: dict[str, Any] = {"role": role, "content": m.get("content")}
    if role == "assistant" and m.get("tool_calls"):
        out["tool_calls"] = [{"id": tc["id"], "type": "function",
                              "function": {"name": tc["function"]["name"], "arguments": tc["function"]["arguments"]}}
                             for tc in m["tool_calls"]]
    elif out["content"] is None:
        out["content"] = ""
    return out


def _tools(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": t["function"]["name"],
                                              "description": t["function"].get("description", ""),
                                              "parameters": t["function"].get("parameters") or {"type": "object"}}}
            for t in row.get("tools") or []]


def openai_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """``messages`` and ``tools`` in OpenAI chat format, plus the trajectory id and its labels."""
    return {"id": row["id"], "messages": [_clean_message(m) for m in row["messages"]], "tools": _tools(row),
            "labels": row.get("labels", {})}


def sharegpt_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """LLaMA-Factory's ShareGPT layout: human/observation turns at odd positions, gpt/function_call at even."""
    system = ""
    turns: list[dict[str, str]] = []
    pending_obs: list[str] = []
    for m in row["messages"]:
        role = m["role"]
        if role == "system":
            system = str(m.get("content") or "")
        elif role == "tool":
            pending_obs.append(str(m.get("content") or ""))
            continue
        if pending_obs:
            turns.append({"from": "observation", "value": pending_obs[0] if len(pending_obs) == 1
                          else json.dumps(pending_obs, ensure_ascii=False)})
            pending_obs = []
        if role == "user":
            turns.append({"from": "human", "value": str(m.get("content") or "")})
        elif role == "assistant":
            calls = m.get("tool_calls") or []
            if calls:
                parsed = [{"name": c["function"]["name"], "arguments": _arguments(c["function"]["arguments"])}
                          for c in calls]
                turns.append({"from": "function_call", "value": json.dumps(parsed[0] if len(parsed) == 1 else parsed,
                                                                           ensure_ascii=False)})
            else:
                turns.append({"from": "gpt", "value": str(m.get("content") or "")})
    if pending_obs:
        turns.append({"from": "observation", "value": json.dumps(pending_obs, ensure_ascii=False)})
    tools = [t["function"] for t in _tools(row)]
    return {"id": row["id"], "conversations": turns, "system": system, "tools": json.dumps(tools, ensure_ascii=False)}


def _arguments(raw: Any) -> Any:
    """A call's arguments as data; a string that is not JSON stays a string (the model wrote it so)."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw or "{}")
    except json.JSONDecodeError:
        return raw


def rows(run_dir: Path, fmt: ExportFormat) -> Iterator[dict[str, Any]]:
    source = run_dir / "trajectories.jsonl"
    if not source.is_file():
        raise SpecError("has no trajectories.jsonl; is it the --out of a `tdscaling synth run`?", source=str(run_dir))
    convert = openai_row if fmt == "openai" else sharegpt_row
    with source.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield convert(json.loads(line))
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                raise SpecError(f"not a trajectory row ({type(e).__name__}: {e})",
                                source=f"{source}: line {lineno}") from None


def export(run_dir: Path, fmt: ExportFormat, output: Path) -> int:
    """Write the run's accepted trajectories to ``output`` (JSON Lines) in ``fmt``; return the row count.
    The file is written whole or not at all, and never over one of the run's own files."""
    if output.exists() and output.is_dir():
        raise SpecError("is a directory; -o takes the path of the file to write", source=str(output))
    if output.resolve().parent == run_dir.resolve() and output.name in _RUN_FILES:
        raise SpecError("is one of the run's own files; choose another -o", source=str(output))
    lines = [json.dumps(r, ensure_ascii=False) for r in rows(run_dir, fmt)]
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        _jsonl.write_atomic(output, "".join(line + "\n" for line in lines))
    except OSError as e:
        raise SpecError(f"cannot write the export: {e.strerror or e}", source=str(output)) from None
    return len(lines)


_RUN_FILES = frozenset({"trajectories.jsonl", "rejected.jsonl", "failures.jsonl", "clusters.jsonl", "rounds.jsonl",
                        "blueprints.jsonl", "manifest.json", "report.md", "metrics.png"})
