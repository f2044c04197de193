"""Compare two run folders (``tdscaling demo`` or ``synth run`` outputs) file by file, after removing only what
varies between any two runs of the same code and seed.

    python bench/compare_runs.py RUN_A RUN_B          # exit 0 and "identical" when they match

What varies between two runs, and is therefore removed before comparing:

* timings: ``wall_ms``, ``tool_ms``, ``latency_ms``, ``duration_ms``, ``cpu_ms``, ``max_rss_kb`` wherever they
  occur, including inside tool-result text (a sandbox reply is JSON in a string);
* the sandbox's execution record ids (``exec-<uuid>``: in ``record_id`` and ``sandbox_records``) and the
  ``started_at``/``ended_at`` timestamps of executions;
* the manifest's ``started`` time and ``versions``; ``report.md``'s line with the start time; ``metrics.png``;
* the order of lines in the per-task files (``trajectories``, ``rejected``, ``failures``, ``blueprints``):
  a task's line is appended when it finishes, and concurrent episodes finish in any order. Those files are
  compared as sorted lists of lines, so a missing, extra or changed line still differs.

Everything else must be byte-identical: every other value, every key order, every separator.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

TIMINGS = frozenset({"wall_ms", "tool_ms", "latency_ms", "duration_ms", "cpu_ms", "max_rss_kb", "started_at",
                     "ended_at"})
RECORD_ID = re.compile(r"exec-[0-9a-f]{32}")
UNORDERED = frozenset({"trajectories.jsonl", "rejected.jsonl", "failures.jsonl", "blueprints.jsonl"})
SKIPPED = frozenset({"metrics.png"})
_STARTED_LINE = re.compile(r"^\| `started` \| .* \|$", re.MULTILINE)
# A JSON number in a key that varies, inside text that is itself JSON (as the sandbox's replies are).
_TIMING_IN_TEXT = re.compile(r'(\\*"(?:' + "|".join(sorted(TIMINGS)) + r')\\*": )(-?[0-9.eE+-]+|\\*"[^"\\]*\\*")')


def _scrub_text(text: str) -> str:
    return _TIMING_IN_TEXT.sub(r"\1null", RECORD_ID.sub("exec-<id>", text))


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<varies>" if k in TIMINGS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return _scrub_text(value)
    return value


def _jsonl(text: str, *, ordered: bool) -> list[str]:
    # Scrubbed as text, not re-encoded: a change of separators, key order or number format still differs.
    lines = [_scrub_text(line) for line in text.splitlines()]
    for line in lines:
        json.loads(line)  # every line must still be JSON after scrubbing
    return lines if ordered else sorted(lines)


def normalized(path: Path) -> str | None:
    """The file's text with what varies removed (None for files that are not compared)."""
    name = path.name
    if name in SKIPPED:
        return None
    text = path.read_text(encoding="utf-8")
    if name == "manifest.json":
        manifest = json.loads(text)
        manifest["started"] = "<varies>"
        manifest["versions"] = "<varies>"
        return json.dumps(_scrub(manifest), indent=2)
    if name == "report.md":
        return _STARTED_LINE.sub("| `started` | <varies> |", text)
    if name.endswith(".jsonl"):
        return "\n".join(_jsonl(text, ordered=name not in UNORDERED))
    return text


def compare(a: Path, b: Path) -> list[str]:
    """What differs between run folders ``a`` and ``b`` (empty when they are the same)."""
    problems: list[str] = []
    names_a = sorted(p.name for p in a.iterdir() if p.is_file())
    names_b = sorted(p.name for p in b.iterdir() if p.is_file())
    if names_a != names_b:
        problems.append(f"different files: {names_a} vs {names_b}")
    for name in sorted(set(names_a) & set(names_b)):
        left, right = normalized(a / name), normalized(b / name)
        if left == right:
            continue
        assert left is not None and right is not None
        lines_l, lines_r = left.splitlines(), right.splitlines()
        first = next((i for i, (x, y) in enumerate(zip(lines_l, lines_r, strict=False)) if x != y),
                     min(len(lines_l), len(lines_r)))
        show_l = lines_l[first][:300] if first < len(lines_l) else "<end>"
        show_r = lines_r[first][:300] if first < len(lines_r) else "<end>"
        problems.append(f"{name}: differs at line {first + 1} ({len(lines_l)} vs {len(lines_r)} lines)\n"
                        f"  A: {show_l}\n  B: {show_r}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = Path(argv[0]), Path(argv[1])
    problems = compare(a, b)
    compared = sorted(p.name for p in a.iterdir() if p.is_file() and p.name not in SKIPPED)
    if problems:
        print("\n".join(problems))
        return 1
    print(f"identical: {', '.join(compared)} (after removing timings, record ids, start time, versions; "
          "per-task files compared as sorted lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
