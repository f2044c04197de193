"""Benchmark: Business Cluster generation speed and memory (issue: 30,000 clusters, <= 60 s, <= 1 GiB).

Runs ``tdscaling clusters generate`` in fresh subprocesses pinned to one core (taskset) for several N,
side by side in one run, and prints wall time, clusters per second, peak RSS, and the ratios against the
targets and against the smallest N (memory must not grow with N: the output streams).

    python bench/bench_clusters.py            # N = 3,000 / 10,000 / 30,000
    python bench/bench_clusters.py --quick    # N = 1,000 / 3,000
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

CHILD = r"""
import resource, sys, time
from tdscaling.synth.cli import app
t = time.perf_counter()
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    wall = time.perf_counter() - t
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(f"BENCH {wall:.3f} {ru.ru_utime + ru.ru_stime:.3f} {ru.ru_maxrss}", file=sys.stderr)
"""


def run(n: int, out: Path, seed: int) -> tuple[float, float, int, int]:
    cmd = [sys.executable, "-c", CHILD, "clusters", "generate", "-n", str(n), "--seed", str(seed), "-o", str(out)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = next(x for x in r.stderr.splitlines() if x.startswith("BENCH "))
    _, wall, cpu, rss = line.split()
    lines = sum(1 for _ in out.open())
    return float(wall), float(cpu), int(rss), lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sizes = [1_000, 3_000] if args.quick else [3_000, 10_000, 30_000]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            out = Path(tmp) / f"c{n}.jsonl"
            wall, cpu, rss_kb, lines = run(n, out, args.seed)
            sigs = len({json.loads(x)["signature"] for x in out.open()})
            rows.append((n, wall, cpu, rss_kb, lines, sigs, out.stat().st_size))
    base_rss = rows[0][3]
    table = Table(title="tdscaling clusters generate (one core, fresh process each)")
    for col in ("N", "written", "distinct", "wall s", "cpu s", "clusters/s", "peak RSS MiB", "file MiB",
                "wall / 60 s", "RSS / 1 GiB", f"RSS / RSS(N={sizes[0]})"):
        table.add_column(col, justify="right")
    for n, wall, cpu, rss, lines, sigs, size in rows:
        table.add_row(f"{n:,}", f"{lines:,}", f"{sigs:,}", f"{wall:.2f}", f"{cpu:.2f}", f"{lines / wall:,.0f}",
                      f"{rss / 1024:.0f}", f"{size / 2**20:.0f}", f"{wall / 60:.2f}x", f"{rss / 2**20:.2f}x",
                      f"{rss / base_rss:.2f}x")
    Console(width=200).print(table)
    print(f"started {time.strftime('%Y-%m-%d %H:%M')}; {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
