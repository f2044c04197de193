"""Real generated clusters and skewed histories (metrics and controller tests); real offline runs to export,
with the Hugging Face libraries kept offline (export tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tdscaling.servers import Catalog, ClusterGenerator, ClusterSpec, Indexes, domain_cluster, generate_clusters
from tdscaling.synth._metrics import MetricsTracker, RoundMetrics, TrajectoryMeasure


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="session")
def indexes(catalog: Catalog) -> Indexes:
    return Indexes({d.name: d for d in catalog})


@pytest.fixture(scope="session")
def pool(catalog: Catalog) -> list[ClusterSpec]:
    """Sixty clusters the generator makes from the whole catalog (about a third cross-domain)."""
    return list(generate_clusters(list(catalog), 60, seed=7))


@pytest.fixture(scope="session")
def store(catalog: Catalog) -> ClusterSpec:
    """The whole online_store domain as one cluster: every mode but cross-domain fits it."""
    return domain_cluster(catalog.get("online_store"))


@pytest.fixture(scope="session")
def cross(catalog: Catalog) -> ClusterSpec:
    """A generated cluster joining two domains."""
    gen = ClusterGenerator(list(catalog), seed=1, cross_domain_share=1.0)
    return next(c for c in gen if len(c.domains) == 2)


@pytest.fixture
def skewed_round() -> Callable[[MetricsTracker, Sequence[ClusterSpec], Sequence[ClusterSpec], int], RoundMetrics]:
    """Feed a tracker one round of ``n`` stand-in trajectories: 90% over ``heavy`` clusters in mode lookup,
    10% round-robin over ``light`` clusters and the other modes; return the round's metrics."""
    others = ("sequential_chain", "parallel_fanout", "error_recovery")

    def feed(tracker: MetricsTracker, heavy: Sequence[ClusterSpec], light: Sequence[ClusterSpec],
             n: int = 100) -> RoundMetrics:
        base = len(tracker.history) * n
        for i in range(n):
            skew = i < n * 9 // 10
            c = heavy[i % len(heavy)] if skew else light[i % len(light)]
            mode = "lookup" if skew else others[i % len(others)]
            path = tuple(c.tool_names())
            tracker.add_measure(TrajectoryMeasure(id=f"t{base + i}", domains=tuple(c.domains), mode=mode, cac=3.0,
                                                  path=path, pattern=path, tools=frozenset(path)), c)
        return tracker.end_round()

    return feed


@pytest.fixture(scope="session", autouse=True)
def offline_hf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """datasets and transformers never reach for the Hub, and cache what they load in a fresh directory (a
    stale cache of an earlier export could hide a change)."""
    saved = {k: os.environ.get(k) for k in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE", "HF_DATASETS_CACHE")}
    os.environ.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1",
                      HF_DATASETS_CACHE=str(tmp_path_factory.mktemp("hf-datasets-cache")))
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _tdscaling(*args: str) -> subprocess.CompletedProcess[str]:
    """The real ``tdscaling`` command in a subprocess (stderr a pipe, as in a log)."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run([sys.executable, "-m", "tdscaling.synth", *args], capture_output=True, text=True,
                          timeout=900, env=env)


@pytest.fixture(scope="session")
def big_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real offline run whose export is over 10 MB (datasets <= 4.6 reads JSON in 10 MB chunks): 700 planned
    tasks in one round, with parallel calls, code execution and cross-domain rows among them."""
    out = tmp_path_factory.mktemp("runs") / "big"
    r = _tdscaling("synth", "run", "--out", str(out), "--rounds", "1", "--per-round", "700", "--seed", "5",
                  "--concurrency", "8")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="session")
def flaky_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small run with rejected episodes and unplannable tasks (every kind of record of the funnel)."""
    out = tmp_path_factory.mktemp("runs") / "flaky"
    r = subprocess.run([sys.executable, str(Path(__file__).with_name("flaky_run.py")), str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="session")
def folders(big_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The big run exported as dataset folders, every way a test reads it."""
    from tdscaling.synth import ExportOptions, export

    root = tmp_path_factory.mktemp("exports")
    made = {"objects": ExportOptions(parquet=True), "strings": ExportOptions(arguments="string"),
            "sharegpt": ExportOptions(fmt="sharegpt"), "split": ExportOptions(parallel_calls="split")}
    for name, options in made.items():
        export(big_run, root / name, options=options, folder=True)
    return {name: root / name for name in made}
