"""Reading and writing cluster files (JSON Lines of ClusterSpec), and their statistics.

Writes go to a temporary file renamed into place at the end, so an interrupted run never leaves a
half-written file behind; reads stream, so a 30,000-line file never sits in memory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from pydantic import BaseModel

from ._cluster_spec import ClusterSpec
from ._errors import SpecError, UnknownNameError
from ._json_files import load_model, parse_model


class ClusterFileWriter:
    """Context manager writing one cluster per line to a temporary file, renamed to ``path`` on success.

    Raises ``SpecError`` (naming the path) when the file cannot be written; no temporary file is left behind.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp: IO[str] | None = None
        self._tmp_name = ""
        self.count = 0

    def _cannot(self, e: OSError) -> SpecError:
        return SpecError(f"cannot write the cluster file: {e.strerror or e}", source=str(self.path))

    def __enter__(self) -> ClusterFileWriter:
        if self.path.is_dir():
            raise SpecError("is a directory; give the path of a .jsonl file to write", source=str(self.path))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part",
                                                  dir=self.path.parent)
        except OSError as e:
            raise self._cannot(e) from None
        self._tmp = os.fdopen(fd, "w", encoding="utf-8")
        return self

    def write(self, cluster: ClusterSpec) -> None:
        assert self._tmp is not None
        self._tmp.write(cluster.model_dump_json())
        self._tmp.write("\n")
        self.count += 1

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._tmp is not None
        try:
            if exc_type is None:
                self._tmp.flush()
                os.fsync(self._tmp.fileno())
                self._tmp.close()
                os.replace(self._tmp_name, self.path)
            else:
                self._tmp.close()
        except OSError as e:
            raise self._cannot(e) from None
        finally:
            with contextlib.suppress(FileNotFoundError):  # gone already when the rename succeeded
                os.unlink(self._tmp_name)


def read_clusters(path: Path) -> Iterator[ClusterSpec]:
    """Stream the clusters of a JSON Lines file; a bad line raises ``SpecError`` naming its number."""
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
    """The cluster whose id is ``cluster_id`` (or starts with it, when that is unambiguous)."""
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
    count: int
    distinct_signatures: int
    per_domain: dict[str, int]
    size_histogram: dict[int, int]
    cross_domain_share: float
    with_policies: int
    origins: dict[str, int]


def cluster_stats(clusters: Iterable[ClusterSpec]) -> ClusterStats:
    """Count, distinct signatures, per-domain counts, tools-per-cluster histogram, cross-domain share."""
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

