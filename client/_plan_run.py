"""Running a blueprint's ground-truth plan: the planner's dry run and the verifier's gold replay.

``run_plan`` walks the plan in order, resolves each step's bindings against the facts and the actual
outputs of earlier steps, skips steps whose condition does not hold, and calls ``call(server, tool, args)``.
A step marked ``expect_error`` must fail; any other failure is recorded as unexpected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._bind import BindingError, holds, resolve
from ._blueprint import PlanStep
from ._calls import ToolOutcome


@dataclass
class StepResult:
    step: str
    server: str
    tool: str
    args: dict[str, Any]
    outcome: ToolOutcome | None  # None: skipped (its condition did not hold)


@dataclass
class PlanRun:
    results: list[StepResult] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)  # what went wrong that the plan did not expect

    @property
    def ok(self) -> bool:
        return not self.unexpected


Caller = Callable[[str, str, dict[str, Any]], ToolOutcome]
"""Runs one plan step now: ``(server, tool, arguments) -> what it answered``."""


def step_args(step: PlanStep, *, facts: Mapping[str, Any], outputs: Mapping[str, Any]) -> dict[str, Any]:
    return {name: resolve(b, facts=facts, outputs=outputs) for name, b in step.args.items()}


def run_plan(plan: Sequence[PlanStep], facts: Mapping[str, Any], call: Caller) -> PlanRun:
    """Execute ``plan`` through ``call``; never raises for a tool failure (it is recorded)."""
    run = PlanRun()
    for step in plan:
        if step.when is not None and not holds(step.when, outputs=run.outputs):
            run.results.append(StepResult(step.id, step.server, step.tool, {}, None))
            continue
        try:
            args = step_args(step, facts=facts, outputs=run.outputs)
        except BindingError as e:
            run.unexpected.append(f"{step.id} ({step.tool}): cannot bind its arguments: {e}")
            run.results.append(StepResult(step.id, step.server, step.tool, {}, None))
            continue
        outcome = call(step.server, step.tool, args)
        run.results.append(StepResult(step.id, step.server, step.tool, args, outcome))
        if outcome.is_error and not step.expect_error:
            run.unexpected.append(f"{step.id} ({step.tool}) failed: {outcome.text[:300]}")
        elif not outcome.is_error and step.expect_error:
            run.unexpected.append(f"{step.id} ({step.tool}) was expected to fail but succeeded")
        if not outcome.is_error:
            run.outputs[step.id] = outcome.structured if outcome.structured is not None else {"text": outcome.text}
    return run
