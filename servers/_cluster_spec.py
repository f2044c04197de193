"""ClusterSpec: a Business Cluster as data (one JSON object; a line of clusters.jsonl).

A cluster is a connected, coherent slice of one domain's tool graph, or of two domains joined through a
shared concept. It names its tools (with their input schemas), the dependency edges between them, a seed
recipe for its data, and any extra policies mutations added. ``id`` is a content hash; ``signature`` is
a Weisfeiler-Lehman hash of the tool graph labelled by operation kind and entity, used to deduplicate.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._spec import Precondition

MAX_ROWS = 100_000  # rows per entity; the same bound as a domain's ``rows`` and ``serve --rows``
EdgeReason = Literal["produces_id", "enables_state", "informs"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClusterTool(_Model):
    """A tool of the cluster: ``operation`` of ``domain``, served under ``name``."""

    name: str
    domain: str
    operation: str
    kind: str
    entity: str
    input_schema: dict[str, Any]


class ClusterEdge(_Model):
    """``source``'s output is what ``target`` needs; ``reason`` says how, ``detail`` says what."""

    source: str
    target: str
    reason: EdgeReason
    detail: str = ""


class Join(_Model):
    """Two entities of two domains that mean the same real-world thing, matched on their join keys."""

    concept: str
    left: str  # "domain.entity"
    right: str
    left_key: str
    right_key: str


class SeedRecipe(_Model):
    """How to seed the cluster's world: the seed, rows per entity ("domain.entity"), the joins."""

    seed: int
    rows: dict[str, Annotated[int, Field(ge=1, le=MAX_ROWS)]]
    joins: list[Join] = Field(default_factory=list)


class Policy(_Model):
    """An extra precondition a mutation attached to one tool (a spending cap, a required state)."""

    tool: str
    precondition: Precondition


class ClusterSpec(_Model):
    """A Business Cluster as data: its tools (with their schemas), the dependency edges between them, its
    policies and the recipe that seeds its world; ``id`` hashes the content, ``signature`` the structure."""

    id: str
    signature: str
    domains: list[str]
    domain_digests: dict[str, str] = Field(default_factory=dict)
    tools: list[ClusterTool]
    edges: list[ClusterEdge]
    seed_recipe: SeedRecipe
    policies: list[Policy] = Field(default_factory=list)
    origin: str = "generated"  # "generated", "domain", or "mutation:<operator>:<parent id>"

    def tool(self, name: str) -> ClusterTool:
        for t in self.tools:
            if t.name == name:
                return t
        raise KeyError(name)

    def tool_names(self) -> list[str]:
        return [t.name for t in self.tools]


def content_id(domains: list[str], tools: list[ClusterTool], edges: list[ClusterEdge], recipe: SeedRecipe,
               policies: list[Policy]) -> str:
    """A stable id from everything that makes the cluster what it is (not its origin)."""
    body = {
        "domains": domains,
        "tools": sorted(f"{t.domain}.{t.operation}>{t.name}" for t in tools),
        "edges": sorted(f"{e.source}>{e.target}:{e.reason}" for e in edges),
        "seed": recipe.model_dump(mode="json"),
        "policies": sorted(json.dumps(p.model_dump(mode="json"), sort_keys=True) for p in policies),
    }
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "cl-" + hashlib.sha256(raw.encode()).hexdigest()[:16]
