"""The run's report: report.md with its tables, and a real PNG plot."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from tdscaling.servers import ClusterSpec, Indexes
from tdscaling.synth._evolution import Evolve
from tdscaling.synth._metrics import MetricsTracker, RoundMetrics
from tdscaling.synth._report import write_report

Feed = Callable[[MetricsTracker, Sequence[ClusterSpec], Sequence[ClusterSpec], int], RoundMetrics]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_report_has_the_config_the_round_table_the_funnel_the_decisions_and_a_png(
        tmp_path: Path, pool: list[ClusterSpec], indexes: Indexes, skewed_round: Feed) -> None:
    evolve = Evolve(pool, indexes)
    tracker = MetricsTracker(domains=sorted(indexes.domains))
    rounds = []
    for r in range(3):
        tasks = evolve.plan_round(20, random.Random(r))
        m = skewed_round(tracker, [t.cluster for t in tasks[:10]], [t.cluster for t in tasks[10:]], 20)
        tracker.reject()
        rounds.append(m)
        evolve.observe(m, accepted=tasks, rejected=[], planning_failures=[])
    reasons = Counter({"state_mismatch": 2, "invented_id": 1})
    manifest = {"strategy": "evolve", "rounds": 3, "per_round": 20, "seed": 0, "versions": {"tdscaling": "0.1.0"}}

    write_report(tmp_path, rounds, manifest, reasons, evolve.decisions)

    md = (tmp_path / "report.md").read_text()
    assert "| `strategy` | evolve |" in md
    assert '| `versions` | {"tdscaling": "0.1.0"} |' in md
    header = next(line for line in md.splitlines() if line.startswith("| round | accepted |"))
    assert "H_D norm" in header and "H_M norm" in header and "CAC" in header and "paths" in header
    for m in rounds:
        assert f"| {m.round} | {m.accepted} | {m.rejected} | {m.domain_entropy:.3f} |" in md
    assert "| `state_mismatch` | 2 | 66.7% |" in md and "the final state differs" in md
    assert "| `invented_id` | 1 | 33.3% |" in md
    assert "| 1 | mix |" in md and "| spawn |" in md
    assert "| `lookup` | 54 | 90.0% |" in md  # the cumulative observed modes
    assert "![metrics](metrics.png)" in md

    png = (tmp_path / "metrics.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) > 20_000
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_report_before_any_round_still_writes_both_files(tmp_path: Path) -> None:
    write_report(tmp_path / "out", [], {}, Counter(), [])
    md = (tmp_path / "out" / "report.md").read_text()
    assert "No rounds yet." in md and "No rejections." in md
    assert (tmp_path / "out" / "metrics.png").read_bytes().startswith(PNG_SIGNATURE)
