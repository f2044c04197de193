"""What a dataset card states about a run and its exported rows: how the data was made, what the
conversations look like, and what was thrown away on the way (the rejection funnel).

Everything is read from the run's own files (``manifest.json``, ``rounds.jsonl``, ``rejected.jsonl``,
``failures.jsonl``, through ``RunFolder``) and from the accepted trajectories as they are exported, so the card
describes exactly the rows beside it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tdscaling.sandbox import EXECUTE_CODE
from tdscaling.servers import SpecError

from ._run_folder import RunFolder


@dataclass
class Shape:
    """Counts over the exported conversations (one ``add`` per row)."""

    rows: int = 0
    user_turns: Counter[int] = field(default_factory=Counter)  # user messages per row -> rows
    tool_calls: Counter[int] = field(default_factory=Counter)  # tool calls per row -> rows
    call_messages: int = 0  # assistant messages with tool calls
    parallel_messages: int = 0  # ... with more than one
    rows_with_parallel: int = 0
    calls: int = 0
    code_calls: int = 0
    rows_with_code: int = 0
    rows_with_tool_errors: int = 0
    cross_domain_rows: int = 0
    domains: dict[str, float] = field(default_factory=dict)  # a k-domain row counts 1/k to each
    modes: Counter[str] = field(default_factory=Counter)
    tools: Counter[str] = field(default_factory=Counter)
    characters: int = 0

    def add(self, trajectory: Mapping[str, Any]) -> None:
        messages = trajectory.get("messages") or []
        labels = trajectory.get("labels") or {}
        self.rows += 1
        self.user_turns[sum(1 for m in messages if m.get("role") == "user")] += 1
        per_message = [len(m.get("tool_calls") or []) for m in messages if m.get("role") == "assistant"]
        n_calls = sum(per_message)
        self.tool_calls[n_calls] += 1
        self.calls += n_calls
        self.call_messages += sum(1 for n in per_message if n)
        parallel = sum(1 for n in per_message if n > 1)
        self.parallel_messages += parallel
        self.rows_with_parallel += parallel > 0
        names = [tc["function"]["name"] for m in messages for tc in m.get("tool_calls") or []]
        code = sum(1 for n in names if n == EXECUTE_CODE)
        self.code_calls += code
        self.rows_with_code += code > 0
        self.tools.update(names)
        self.rows_with_tool_errors += int(labels.get("tool_errors") or 0) > 0
        domains = list(labels.get("domains") or [])
        self.cross_domain_rows += len(domains) > 1
        for d in domains:
            self.domains[d] = self.domains.get(d, 0.0) + 1 / len(domains)
        self.modes[str(labels.get("observed_mode") or labels.get("planned_mode") or "")] += 1
        self.characters += sum(len(str(m.get("content") or "")) for m in messages)


@dataclass(frozen=True)
class Funnel:
    """What the run threw away: rejected episodes by reason, and tasks no cluster could be planned for."""

    accepted: int
    rejected: int
    rejected_reasons: Counter[str]
    unplannable: int
    unplannable_reasons: Counter[str]


@dataclass(frozen=True)
class RunFacts:
    """The run's own record: its manifest, its last round's metrics and every round's, its funnel."""

    manifest: Mapping[str, Any]
    rounds: list[dict[str, Any]]
    funnel: Funnel


def run_facts(run_dir: Path, *, accepted: int) -> RunFacts:
    """The run's manifest, rounds and funnel; a file the run has not written yet counts as empty."""
    folder = RunFolder(run_dir)
    manifest_path = folder / RunFolder.MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    except (OSError, ValueError) as e:
        raise SpecError(f"cannot read the run's manifest: {e}", source=str(manifest_path)) from None
    rejected = list(folder.rejected())
    failures = list(folder.failures())
    funnel = Funnel(accepted=accepted, rejected=len(rejected),
                    rejected_reasons=Counter(r for row in rejected for r in row.reasons or ["(none)"]),
                    unplannable=len(failures),
                    unplannable_reasons=Counter(f.reason or "(none)" for f in failures))
    return RunFacts(manifest=manifest if isinstance(manifest, dict) else {},
                    rounds=[m.model_dump(mode="json") for m in folder.rounds()], funnel=funnel)
