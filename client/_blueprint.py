"""The blueprint contract: what an episode must achieve and the ground-truth plan that achieves it.

``synth`` makes blueprints (and proves each feasible by a dry run); the harness follows them. A plan's
arguments are *bindings*, never copied values: a user fact, a path into the actual output of an earlier step,
a constant the plan chooses (a function name), or a template (sandbox code) filled from such references. The
scripted assistant and the gold replay both resolve bindings against what the tools really returned.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tdscaling.servers import ClusterSpec

ReasoningMode = Literal[
    "lookup",  # read what the user asks for
    "sequential_chain",  # each call needs what the previous one returned
    "parallel_fanout",  # independent calls issued together from one earlier result
    "conditional_branch",  # what to do depends on a state the agent must observe first
    "error_recovery",  # a call fails on a precondition; the agent fixes the cause and retries
    "code_aggregation",  # the agent computes an answer with code in the sandbox over tool results
    "clarification",  # the user leaves out a needed fact; the agent must ask for it
    "cross_domain",  # the task crosses two services joined through a shared concept
]
REASONING_MODES: tuple[ReasoningMode, ...] = (
    "lookup", "sequential_chain", "parallel_fanout", "conditional_branch", "error_recovery", "code_aggregation",
    "clarification", "cross_domain",
)
Scalar = str | int | float | bool
ServerName = Literal["cluster", "sandbox"]
"""Where a plan step runs: the cluster's MCP server, or the sandbox's (the names a hub knows them by)."""
CLUSTER: ServerName = "cluster"
SANDBOX: ServerName = "sandbox"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact(_Model):
    """Something the user knows. ``upfront`` facts are in the first message; ``on_request`` ones only when
    the assistant asks for them (clarification)."""

    name: str
    value: Scalar
    description: str
    reveal: Literal["upfront", "on_request"] = "upfront"


class FactRef(_Model):
    """A value the user states: the fact ``name`` of the blueprint."""

    kind: Literal["fact"] = "fact"
    name: str


class StepRef(_Model):
    """A value from the actual output of an earlier step: ``path`` into its structured content, such as
    ``records[0].id``, ``value``, or ``stdout`` (an empty path is the whole output)."""

    kind: Literal["step"] = "step"
    step: str
    path: str = ""


class Const(_Model):
    """A value the plan chooses itself (an aggregate's function, say)."""

    kind: Literal["const"] = "const"
    value: Any


class Template(_Model):
    """Text with ``{name}`` placeholders filled from references (JSON-encoded unless a string)."""

    kind: Literal["template"] = "template"
    text: str
    refs: dict[str, FactRef | StepRef] = Field(default_factory=dict)


Binding = Annotated[FactRef | StepRef | Const | Template, Field(discriminator="kind")]


class Condition(_Model):
    """A step is taken only when the referenced actual value satisfies ``op value``."""

    ref: StepRef
    op: Literal["==", "!=", "in", "not_in", "<", "<=", ">", ">="]
    value: Any


class PlanStep(_Model):
    """One ground-truth tool call. ``server`` is ``cluster`` or ``sandbox``; ``tool`` is the tool name as the
    server lists it. Steps sharing a ``group`` are issued together in one assistant turn (parallel)."""

    id: str
    server: ServerName = CLUSTER
    tool: str
    args: dict[str, Binding] = Field(default_factory=dict)
    group: int
    when: Condition | None = None
    expect_error: bool = False
    say: str = ""


class ExpectedOutcome(_Model):
    """What the gold plan leaves behind: the hash of the tables it may touch, and the facts (strings) the
    final answer must contain."""

    tables: list[str]
    state_hash: str
    answer_facts: list[str] = Field(default_factory=list)
    writes: bool


class Blueprint(_Model):
    """What an episode must achieve: the cluster and reasoning mode, the persona and goal the user has, the
    facts the user knows, the ground-truth plan (bound to real outputs), the answer and the expected outcome.
    ``tdscaling.synth.plan`` makes one; ``run_episode`` plays it and ``verify`` judges against it."""

    id: str
    cluster: str | ClusterSpec
    mode: ReasoningMode
    persona: str
    goal: str
    facts: list[Fact] = Field(default_factory=list)
    plan: list[PlanStep]
    answer: Template
    outcome: ExpectedOutcome
    seed: int | None = None
    rows: int | None = None
    notes: str = ""

    def step(self, step_id: str) -> PlanStep:
        for s in self.plan:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def fact(self, name: str) -> Fact:
        for f in self.facts:
            if f.name == name:
                return f
        raise KeyError(name)
