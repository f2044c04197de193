"""The run's report: ``report.md`` (config, metrics per round, rejection funnel, controller decisions,
distributions) and ``metrics.png`` (normalized entropies, CAC and distinct tool paths over rounds)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tdscaling.client import REASON_CODES

from ._evolution import Decision
from ._metrics import RoundMetrics

MAX_DECISIONS = 200


def reason_meaning(code: str) -> str:
    """What a rejection reason code (or ``planning:<reason>``) means, in words."""
    if code.startswith("planning:"):
        from ._planner import PLANNING_REASONS

        return "could not be planned: " + PLANNING_REASONS.get(code.removeprefix("planning:"), "")
    return REASON_CODES.get(code, "")


def markdown_table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A Markdown table; floats with 3 decimals, pipes and newlines escaped."""

    def cell(v: object) -> str:
        text = f"{v:.3f}" if isinstance(v, float) else str(v)
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return out


def _config(manifest: Mapping[str, Any]) -> list[str]:
    rows = [(f"`{k}`", v if isinstance(v, str | int | float | bool) or v is None else json.dumps(v, sort_keys=True))
            for k, v in manifest.items()]
    return markdown_table(("key", "value"), rows) if rows else ["(no manifest)"]


def _rounds(rounds: Sequence[RoundMetrics]) -> list[str]:
    head = ("round", "accepted", "rejected", "H_D", "H_D norm", "H_M", "H_M norm", "CAC", "CAC/traj", "paths",
            "coverage", "round H_D norm", "round H_M norm", "new paths")
    rows = [(m.round, m.accepted, m.rejected, m.domain_entropy, m.domain_entropy_norm, m.mode_entropy,
             m.mode_entropy_norm, f"{m.cac:.1f}", f"{m.cac_mean:.2f}", m.distinct_paths, m.tool_coverage,
             m.round_domain_entropy_norm, m.round_mode_entropy_norm, m.round_new_paths) for m in rounds]
    return markdown_table(head, rows)


def _funnel(rounds: Sequence[RoundMetrics], reasons: Counter[str]) -> list[str]:
    accepted = rounds[-1].accepted if rounds else 0
    rejected = rounds[-1].rejected if rounds else sum(reasons.values())
    total = accepted + rejected
    out = [f"{total} episodes: {accepted} accepted, {rejected} rejected"
           f"{f' ({rejected / total:.1%})' if total else ''}. A rejection can carry several reasons.", ""]
    if not reasons:
        return [*out, "No rejections."]
    n = sum(reasons.values())
    rows = [(f"`{code}`", count, f"{count / n:.1%}", reason_meaning(code)) for code, count in
            sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
    return out + markdown_table(("reason", "count", "share", "meaning"), rows)


def _decisions(decisions: Sequence[Decision]) -> list[str]:
    if not decisions:
        return ["The strategy made no decisions (a fixed baseline)."]
    counts = Counter(d.action for d in decisions)
    out = ["Per action: " + ", ".join(f"{a} {c}" for a, c in sorted(counts.items())) + ".", ""]
    out += markdown_table(("round", "action", "detail"),
                          [(d.round, d.action, d.detail) for d in decisions[:MAX_DECISIONS]])
    if len(decisions) > MAX_DECISIONS:
        out.append(f"\n... and {len(decisions) - MAX_DECISIONS} more.")
    return out


def _distribution(counts: Mapping[str, float], title: str) -> list[str]:
    total = sum(counts.values())
    if not total:
        return [f"No {title} yet."]
    rows = [(f"`{k}`", round(v, 2), f"{v / total:.1%}", "█" * max(1, round(30 * v / total)))
            for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return markdown_table((title, "trajectories", "share", ""), rows)


def render_report(rounds: Sequence[RoundMetrics], manifest: Mapping[str, Any], rejected_reasons: Counter[str],
                  decisions: Sequence[Decision]) -> str:
    last = rounds[-1] if rounds else None
    lines = ["# Synthesis report", ""]
    if last:
        lines += [f"After {last.round} rounds: {last.accepted} accepted trajectories; normalized domain entropy "
                  f"{last.domain_entropy_norm:.3f} over {last.domains_available} domains, normalized mode entropy "
                  f"{last.mode_entropy_norm:.3f} over {last.modes_available} modes; {last.distinct_paths} distinct "
                  f"tool paths; CAC {last.cac:.1f} in all ({last.cac_mean:.2f} per trajectory); tool coverage "
                  f"{last.tool_coverage:.1%}. Formulas: docs/metrics.md.", ""]
    lines += ["## Configuration", "", *_config(manifest), ""]
    lines += ["## Metrics per round", "", "Cumulative unless headed *round*. ![metrics](metrics.png)", ""]
    lines += [*(_rounds(rounds) if rounds else ["No rounds yet."]), ""]
    lines += ["## Rejection funnel", "", *_funnel(rounds, rejected_reasons), ""]
    lines += ["## Controller decisions", "", *_decisions(decisions), ""]
    lines += ["## Domains (observed; a cross-domain trajectory counts 1/k to each of its k domains)", "",
              *_distribution(last.domain_counts if last else {}, "domain"), ""]
    lines += ["## Reasoning modes (observed)", "", *_distribution(last.mode_counts if last else {}, "mode"), ""]
    return "\n".join(lines)


def plot_metrics(rounds: Sequence[RoundMetrics], path: Path) -> None:
    """A 2x2 PNG: normalized entropies, CAC (cumulative and per trajectory), distinct paths, tool coverage."""
    # The object-oriented API with the Agg canvas: no pyplot, no global backend state, no display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(10, 7), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2)
    x = [m.round for m in rounds]
    ax = axes[0][0]
    ax.plot(x, [m.domain_entropy_norm for m in rounds], marker="o", label="domain (H_D / ln D)")
    ax.plot(x, [m.mode_entropy_norm for m in rounds], marker="s", label="mode (H_M / ln 8)")
    ax.set_ylim(0, 1.05)
    ax.set_title("Normalized entropy (cumulative)")
    ax.legend(loc="lower right")
    ax = axes[0][1]
    ax.plot(x, [m.cac for m in rounds], marker="o", color="tab:red", label="CAC, cumulative")
    ax.set_title("Cumulative Action Complexity")
    twin = ax.twinx()
    twin.plot(x, [m.cac_mean for m in rounds], marker="s", color="tab:purple", label="per trajectory")
    ax.legend(loc="upper left")
    twin.legend(loc="lower right")
    ax = axes[1][0]
    ax.plot(x, [m.distinct_paths for m in rounds], marker="o", color="tab:green", label="tool-name paths")
    ax.plot(x, [m.distinct_patterns for m in rounds], marker="s", color="tab:olive", label="kind:entity patterns")
    ax.set_title("Distinct tool paths")
    ax.legend(loc="upper left")
    ax = axes[1][1]
    ax.plot(x, [m.tool_coverage for m in rounds], marker="o", color="tab:gray")
    ax.set_ylim(0, 1.05)
    ax.set_title("Tool coverage")
    for row in axes:
        for a in row:
            a.set_xlabel("round")
            a.xaxis.set_major_locator(MaxNLocator(integer=True))
            a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png")


def write_report(out_dir: Path, rounds: Sequence[RoundMetrics], manifest: Mapping[str, Any],
                 rejected_reasons: Counter[str], decisions: Sequence[Decision]) -> None:
    """Write ``report.md`` and ``metrics.png`` into ``out_dir`` (each replaced whole: written to a temporary
    name, then renamed, so a crash leaves the previous version)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "report.md"
    tmp = out_dir / ".report.md.tmp"
    tmp.write_text(render_report(rounds, manifest, rejected_reasons, decisions), encoding="utf-8")
    tmp.replace(md)
    png_tmp = out_dir / ".metrics.png.tmp"
    plot_metrics(rounds, png_tmp)
    png_tmp.replace(out_dir / "metrics.png")
