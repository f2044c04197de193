"""Reading and writing cluster files (JSON Lines of ClusterSpec), and their statistics.

Writes go to a temporary file renamed into place at the end (``tdscaling.common.atomic_writer``), so an
interrupted run never leaves a half-written file behind; reads stream, so a 30,000-line file never sits in
memory.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from pydantic import BaseModel

from tdscaling.common import atomic_writer

from ._cluster_spec import ClusterSpec
from ._errors import SpecError, UnknownNameError
from ._json_files import load_model, parse_model


class ClusterFileWriter:
    """Context manager writing one cluster per line to a temporary file, renamed to ``path`` on success.

    Raises ``SpecError`` (naming the path) when the file cannot be written; no temporary file is left behind.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stack = contextlib.ExitStack()
        self._tmp: IO[str] | None = None
        self.count = 0

    def _cannot(self, e: OSError) -> SpecError:
        return SpecError(f"cannot write the cluster file: {e.strerror or e}", source=str(self.path))

    def __enter__(self) -> ClusterFileWriter:
        if self.path.is_dir():
            raise SpecError("is a directory; give the path of a .jsonl file to write", source=str(self.path))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._tmp = self._stack.enter_context(atomic_writer(self.path))
        except OSError as e:
            raise self._cannot(e) from None
        return self

    def write(self, cluster: ClusterSpec) -> None:
        if self._tmp is None:
            raise RuntimeError("ClusterFileWriter.write outside its 'with' block")
        self._tmp.write(cluster.model_dump_json())
        self._tmp.write("\n")
        self.count += 1

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        try:
            self._stack.__exit__(exc_type, exc, None)  # renamed into place, or removed on an exception
        except OSError as e:
            raise self._cannot(e) from None
        finally:
            self._tmp = None


def write_clusters(path: Path, clusters: Iterable[ClusterSpec]) -> int:
    """Write ``clusters`` to ``path`` as JSON Lines, whole or not at all; returns how many were written.

    ``clusters`` may be a generator (``generate_clusters``): they are written as they come. A path that cannot
    be written raises ``SpecError`` naming it, and no temporary file is left behind.

    Example::

        from pathlib import Path
        from tdscaling.servers import Catalog, generate_clusters, write_clusters

        written = write_clusters(Path("clusters.jsonl"), generate_clusters(Catalog.load(), 100, seed=1))
    """
    with ClusterFileWriter(path) as out:
        for cluster in clusters:
            out.write(cluster)
    return out.count


def read_clusters(path: Path) -> Iterator[ClusterSpec]:
    """Stream the clusters of a JSON Lines file; a bad line raises ``SpecError`` naming its number.

    Example::

        from pathlib import Path
        from tdscaling.servers import read_clusters

        cross_domain = [c for c in read_clusters(Path("clusters.jsonl")) if len(c.domains) > 1]
    """
    try:
        handle = path.open(encoding="utf-8")
    except OSError as e:
        raise SpecError(f"cannot read the cluster file: {e.strerror}", source=str(path)) from None
    with handle:
        lineno = 0
        try:
            for lineno, line in enumerate(handle, start=1):
                if line.strip():
                    yield parse_model(ClusterSpec, line, source=f"{path.name}: line {lineno}",
                                      hint="expected one ClusterSpec JSON object per line")
        except UnicodeDecodeError:
            raise SpecError(f"line {lineno + 1}: not UTF-8 text; a cluster file is JSON Lines in UTF-8",
                            source=str(path)) from None
        except OSError as e:
            raise SpecError(f"cannot read the cluster file: {e.strerror or e}", source=str(path)) from None


def load_cluster_file(path: Path) -> ClusterSpec:
    """One ClusterSpec from a JSON file (a single object)."""
    return load_model(ClusterSpec, path, what="cluster", hint="expected one ClusterSpec JSON object")


def find_cluster(path: Path, cluster_id: str) -> ClusterSpec:
    """The cluster of the file at ``path`` whose id is ``cluster_id`` (or starts with it, when that is
    unambiguous); ``UnknownNameError`` otherwise.

    Example::

        from pathlib import Path
        from tdscaling.servers import find_cluster

        cluster = find_cluster(Path("clusters.jsonl"), "cl-1a2b3c")
    """
    matches: list[ClusterSpec] = []
    for c in read_clusters(path):
        if c.id == cluster_id:
            return c
        if c.id.startswith(cluster_id) and len(matches) < 2:
            matches.append(c)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UnknownNameError(f"'{cluster_id}' matches several clusters ({', '.join(m.id for m in matches)}, ...);"
                               " give more of the id")
    raise UnknownNameError(f"no cluster with id '{cluster_id}' in {path}; "
                           f"`tdscaling clusters stats {path}` lists what is there")


class ClusterStats(BaseModel):
    """What ``cluster_stats`` counts over a cluster file."""

    count: int
    distinct_signatures: int
    per_domain: dict[str, int]
    size_histogram: dict[int, int]
    cross_domain_share: float
    with_policies: int
    origins: dict[str, int]


def cluster_stats(clusters: Path | Iterable[ClusterSpec]) -> ClusterStats:
    """Count, distinct signatures, per-domain counts, tools-per-cluster histogram, cross-domain share of a
    cluster file (streamed) or of any clusters.

    Example::

        from pathlib import Path
        from tdscaling.servers import cluster_stats

        stats = cluster_stats(Path("clusters.jsonl"))
        print(stats.count, stats.distinct_signatures, stats.cross_domain_share)
    """
    if isinstance(clusters, Path):
        clusters = read_clusters(clusters)
    count = cross = policies = 0
    sigs: set[str] = set()
    per_domain: Counter[str] = Counter()
    sizes: Counter[int] = Counter()
    origins: Counter[str] = Counter()
    for c in clusters:
        count += 1
        sigs.add(c.signature)
        per_domain.update(c.domains)
        sizes[len(c.tools)] += 1
        cross += len(c.domains) > 1
        policies += bool(c.policies)
        origins[":".join(c.origin.split(":")[:2])] += 1
    return ClusterStats(
        count=count,
        distinct_signatures=len(sigs),
        per_domain=dict(sorted(per_domain.items())),
        size_histogram=dict(sorted(sizes.items())),
        cross_domain_share=round(cross / count, 4) if count else 0.0,
        with_policies=policies,
        origins=dict(sorted(origins.items())),
    )

