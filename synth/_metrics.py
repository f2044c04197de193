"""Diversity metrics over accepted trajectories, per round and cumulative (formulas: docs/metrics.md).

* Domain Entropy ``H_D = -sum_d p_d ln p_d``. A trajectory has unit mass, split evenly over the domains whose
  tools it called successfully (the cluster's domains if none): a cross-domain trajectory gives ``1/k`` to
  each of its ``k`` domains, so it neither counts twice nor inflates the total. Normalized:
  ``H_D / ln(D)`` with ``D`` the domains available to the run (the catalog or ``--domains``).
* Reasoning Mode Entropy ``H_M`` likewise over the *observed* mode (``observed_mode``), normalized by
  ``ln(8)``, the modes available.
* Cumulative Action Complexity: per action (tool call) ``a``,
  ``c(a) = 1 + w_arg * n_args + w_dep * n_bound + w_write * writes + w_code * min(code_lines, cap)
  + w_recover * recovers`` (``ComplexityWeights``); ``CAC(t) = sum_a c(a)``. ``cac`` in ``RoundMetrics``
  is the cumulative total over every accepted trajectory; ``cac_mean`` divides it by ``accepted``.
* Distinct tool paths: distinct sequences of ``domain.operation`` (``sandbox.<tool>`` for sandbox calls)
  in call order; ``distinct_patterns`` the domain-free variant, sequences of ``kind:entity``.
* Tool coverage: distinct cluster tools (``domain.operation``) called / tools of the clusters seen.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from tdscaling.client import REASONING_MODES, SANDBOX, Trajectory
from tdscaling.sandbox import EXECUTE_CODE
from tdscaling.servers import READ_KINDS, ClusterSpec

from ._modes import bound_arguments, observed_mode


def entropy(counts: Mapping[str, float]) -> float:
    """Shannon entropy in nats, ``-sum p ln p`` over the categories with positive mass."""
    total = sum(v for v in counts.values() if v > 0)
    if total <= 0:
        return 0.0
    return sum((v / total) * math.log(total / v) for v in counts.values() if v > 0)


def normalized_entropy(counts: Mapping[str, float], categories: int) -> float:
    """``H / ln(K)`` for ``K`` categories available: 1.0 for a uniform spread over all of them, 0.0 for one
    category (and by convention when ``K <= 1``)."""
    if categories <= 1:
        return 0.0
    return entropy(counts) / math.log(categories)


@dataclass(frozen=True)
class ComplexityWeights:
    """The weights of the per-action complexity ``c(a)`` (see the module docstring)."""

    arg: float = 0.25  # per argument given
    dep: float = 1.0  # per argument bound to a value an earlier result revealed
    write: float = 1.0  # the tool changes state (create, update, transition, delete, transfer)
    code_line: float = 0.1  # per non-blank line of sandbox code
    code_lines_cap: int = 50  # a long dump is not proportionally more reasoning
    recover: float = 1.0  # a successful retry of a tool that failed earlier


def action_complexities(trajectory: Trajectory, cluster: ClusterSpec,
                        weights: ComplexityWeights = ComplexityWeights()) -> list[float]:
    """``c(a)`` for each call of the trajectory, in order."""
    kinds = {t.name: t.kind for t in cluster.tools}
    failed: set[tuple[str, str]] = set()
    out = []
    for call, bound in zip(trajectory.calls, bound_arguments(trajectory.calls), strict=True):
        c = 1.0 + weights.arg * len(call.arguments) + weights.dep * bound
        if call.server != SANDBOX and kinds.get(call.tool, "get") not in READ_KINDS:
            c += weights.write
        if call.server == SANDBOX and call.tool == EXECUTE_CODE:
            code = call.arguments.get("code")
            lines = sum(1 for ln in code.splitlines() if ln.strip()) if isinstance(code, str) else 0
            c += weights.code_line * min(lines, weights.code_lines_cap)
        key = (call.server, call.tool)
        if call.is_error:
            failed.add(key)
        elif key in failed:
            c += weights.recover
            failed.discard(key)
        out.append(c)
    return out


@dataclass(frozen=True)
class TrajectoryMeasure:
    """What the metrics keep of one accepted trajectory."""

    id: str
    domains: tuple[str, ...]
    mode: str
    cac: float
    path: tuple[str, ...]
    pattern: tuple[str, ...]
    tools: frozenset[str]


def measure(trajectory: Trajectory, cluster: ClusterSpec,
            weights: ComplexityWeights = ComplexityWeights()) -> TrajectoryMeasure:
    """Observed domains, observed mode, CAC, tool path and pattern of a trajectory of ``cluster``."""
    by_name = {t.name: t for t in cluster.tools}
    path, pattern, tools, domains = [], [], set(), []
    for c in trajectory.calls:
        t = by_name.get(c.tool) if c.server != SANDBOX else None
        if t is None:
            path.append(f"{c.server}.{c.tool}")
            pattern.append(f"{c.server}:{c.tool}")
            continue
        path.append(f"{t.domain}.{t.operation}")
        pattern.append(f"{t.kind}:{t.entity}")
        tools.add(f"{t.domain}.{t.operation}")
        if not c.is_error and t.domain not in domains:
            domains.append(t.domain)
    return TrajectoryMeasure(
        id=trajectory.id, domains=tuple(sorted(domains or cluster.domains)), mode=observed_mode(trajectory, cluster),
        cac=sum(action_complexities(trajectory, cluster, weights)), path=tuple(path), pattern=tuple(pattern),
        tools=frozenset(tools),
    )


class RoundMetrics(BaseModel):
    """One line of rounds.jsonl. Unprefixed fields are cumulative over rounds 1..``round``; ``round_*``
    fields cover this round alone. ``domain_counts`` and ``mode_counts`` are the cumulative distributions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    round: int
    accepted: int
    rejected: int
    domain_entropy: float
    domain_entropy_norm: float
    mode_entropy: float
    mode_entropy_norm: float
    cac: float
    cac_mean: float
    distinct_paths: int
    distinct_patterns: int
    tool_coverage: float
    tools_used: int
    tools_available: int
    domains_available: int
    modes_available: int
    round_accepted: int
    round_rejected: int
    round_domain_entropy_norm: float
    round_mode_entropy_norm: float
    round_cac: float
    round_cac_mean: float
    round_new_paths: int
    domain_counts: dict[str, float]
    mode_counts: dict[str, int]


@dataclass
class _Tally:
    domains: dict[str, float] = field(default_factory=dict)
    modes: Counter[str] = field(default_factory=Counter)
    accepted: int = 0
    rejected: int = 0
    cac: float = 0.0

    def add(self, m: TrajectoryMeasure) -> None:
        for d in m.domains:
            self.domains[d] = self.domains.get(d, 0.0) + 1 / len(m.domains)
        self.modes[m.mode] += 1
        self.accepted += 1
        self.cac += m.cac


class MetricsTracker:
    """Ingests a round's accepted trajectories (and counts its rejections), then closes the round.

    ``domains`` are the domains available to the run (the denominator of the normalized domain entropy);
    a domain outside them still counts, and widens the denominator. A trajectory id seen before is ignored,
    so re-ingesting after a resume does not double count.
    """

    def __init__(self, *, domains: Sequence[str], modes: Sequence[str] = REASONING_MODES,
                 weights: ComplexityWeights = ComplexityWeights()) -> None:
        self.domains = sorted(set(domains))
        self.modes = list(modes)
        self.weights = weights
        self.history: list[RoundMetrics] = []
        self._total = _Tally()
        self._round = _Tally()
        self._ids: set[str] = set()
        self._paths: set[tuple[str, ...]] = set()
        self._round_new_paths = 0
        self._patterns: set[tuple[str, ...]] = set()
        self._used: set[str] = set()
        self._available: set[str] = set()

    def see(self, cluster: ClusterSpec) -> None:
        """Count ``cluster``'s tools as available (done for every cluster a trajectory is added with)."""
        self._available.update(f"{t.domain}.{t.operation}" for t in cluster.tools)

    def add(self, trajectory: Trajectory, cluster: ClusterSpec) -> TrajectoryMeasure:
        """Measure an accepted trajectory of ``cluster`` and count it in this round."""
        m = measure(trajectory, cluster, self.weights)
        self.add_measure(m, cluster)
        return m

    def add_measure(self, m: TrajectoryMeasure, cluster: ClusterSpec) -> None:
        self.see(cluster)
        if m.id in self._ids:
            return
        self._ids.add(m.id)
        self._total.add(m)
        self._round.add(m)
        if m.path not in self._paths:
            self._paths.add(m.path)
            self._round_new_paths += 1
        self._patterns.add(m.pattern)
        self._used |= m.tools

    def reject(self, cluster: ClusterSpec | None = None) -> None:
        """Count one rejected trajectory (its reasons belong to the report's funnel, not to the metrics)."""
        if cluster is not None:
            self.see(cluster)
        self._total.rejected += 1
        self._round.rejected += 1

    def end_round(self) -> RoundMetrics:
        """The metrics of the round just ingested (cumulative and per round); starts the next round."""
        n_domains = len(set(self.domains) | set(self._total.domains))
        n_modes = len(set(self.modes) | set(self._total.modes))
        t, r = self._total, self._round
        out = RoundMetrics(
            round=len(self.history) + 1, accepted=t.accepted, rejected=t.rejected,
            domain_entropy=entropy(t.domains), domain_entropy_norm=normalized_entropy(t.domains, n_domains),
            mode_entropy=entropy(t.modes), mode_entropy_norm=normalized_entropy(t.modes, n_modes),
            cac=t.cac, cac_mean=t.cac / t.accepted if t.accepted else 0.0,
            distinct_paths=len(self._paths), distinct_patterns=len(self._patterns),
            tool_coverage=len(self._used) / len(self._available) if self._available else 0.0,
            tools_used=len(self._used), tools_available=len(self._available),
            domains_available=n_domains, modes_available=n_modes,
            round_accepted=r.accepted, round_rejected=r.rejected,
            round_domain_entropy_norm=normalized_entropy(r.domains, n_domains),
            round_mode_entropy_norm=normalized_entropy(r.modes, n_modes),
            round_cac=r.cac, round_cac_mean=r.cac / r.accepted if r.accepted else 0.0,
            round_new_paths=self._round_new_paths,
            domain_counts={d: round(v, 6) for d, v in sorted(t.domains.items())},
            mode_counts=dict(sorted(t.modes.items())),
        )
        self.history.append(out)
        self._round = _Tally()
        self._round_new_paths = 0
        return out
