"""A run's folder: the one place its file names are spelled and its rows read and written.

    manifest.json        what made the run (config, versions, catalog digests, start time); written once
    trajectories.jsonl   accepted episodes (``TrajectoryRow``)      rejected.jsonl   rejected ones, same rows
    failures.jsonl       tasks that could not be planned (``FailureRow``)
    blueprints.jsonl     the blueprint of every episode (``BlueprintRow``)
    clusters.jsonl       every cluster a task was planned on (``ClusterSpec``)
    rounds.jsonl         cumulative metrics after each round (``RoundMetrics``)
    report.md, metrics.png   the report, rewritten after each round

Rows are appended durably, one line each (``tdscaling.common.JsonlAppender``), and read back typed; a line
that is not its file's row raises ``SpecError`` naming the file and the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ValidationError

from tdscaling.common import JsonlAppender, json_line, write_atomic
from tdscaling.servers import ClusterSpec, SpecError

from ._metrics import RoundMetrics
from ._rows import BlueprintRow, FailureRow, TrajectoryRow

R = TypeVar("R", bound=BaseModel)


class RunFolder:
    """The folder at ``path`` as a run's files."""

    MANIFEST = "manifest.json"
    TRAJECTORIES = "trajectories.jsonl"
    REJECTED = "rejected.jsonl"
    FAILURES = "failures.jsonl"
    CLUSTERS = "clusters.jsonl"
    ROUNDS = "rounds.jsonl"
    BLUEPRINTS = "blueprints.jsonl"
    REPORT = "report.md"
    PLOT = "metrics.png"
    ROW_FILES = (TRAJECTORIES, REJECTED, FAILURES, CLUSTERS, ROUNDS, BLUEPRINTS)
    FILES = frozenset({MANIFEST, *ROW_FILES, REPORT, PLOT})

    def __init__(self, path: Path) -> None:
        self.path = path

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # --- the manifest ------------------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any]:
        """The manifest as written; ``SpecError`` when it is missing, torn or not an object."""
        where = self / self.MANIFEST
        try:
            manifest = json.loads(where.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise SpecError(f"cannot be read ({type(e).__name__}: {str(e)[:120]}); not a run this version can "
                            "resume", source=str(where)) from None
        if not isinstance(manifest, dict):
            raise SpecError("is not a run manifest (not a JSON object)", source=str(where))
        return manifest

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write the manifest once, whole (a resumed run keeps the one it started with)."""
        write_atomic(self / self.MANIFEST, json.dumps(manifest, indent=2))

    # --- reading rows --------------------------------------------------------------------------------------
    def _rows(self, name: str, row: type[R]) -> Iterator[R]:
        path = self / name
        if not path.exists():
            return
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.endswith("\n") or not line.strip():
                    continue  # a torn last line (a killed run) is not a row; the next append cuts it
                try:
                    yield row.model_validate_json(line)
                except ValidationError as e:
                    err = e.errors(include_url=False)[0]
                    where = ".".join(str(x) for x in err["loc"]) or "(top level)"
                    raise SpecError(f"not a {row.__name__} ({where}: {err['msg']})",
                                    source=f"{path}: line {lineno}") from None

    def trajectories(self) -> Iterator[TrajectoryRow]:
        """The accepted episodes, in the order they finished."""
        return self._rows(self.TRAJECTORIES, TrajectoryRow)

    def rejected(self) -> Iterator[TrajectoryRow]:
        return self._rows(self.REJECTED, TrajectoryRow)

    def failures(self) -> Iterator[FailureRow]:
        return self._rows(self.FAILURES, FailureRow)

    def blueprints(self) -> Iterator[BlueprintRow]:
        return self._rows(self.BLUEPRINTS, BlueprintRow)

    def clusters(self) -> Iterator[ClusterSpec]:
        return self._rows(self.CLUSTERS, ClusterSpec)

    def rounds(self) -> Iterator[RoundMetrics]:
        return self._rows(self.ROUNDS, RoundMetrics)

    # --- writing rows --------------------------------------------------------------------------------------
    def appender(self) -> RunAppender:
        """Open every row file for appending (a torn last line is cut first); close it when the run ends."""
        return RunAppender(self)


class RunAppender:
    """Appends rows to a run's files, each durable before the call returns."""

    def __init__(self, folder: RunFolder) -> None:
        self._files: dict[str, JsonlAppender] = {}
        try:
            for name in RunFolder.ROW_FILES:
                self._files[name] = JsonlAppender(folder / name)
        except BaseException:
            self.close()
            raise

    def trajectory(self, row: TrajectoryRow) -> None:
        """An episode: to ``trajectories.jsonl`` when accepted, else to ``rejected.jsonl``."""
        name = RunFolder.TRAJECTORIES if row.verdict == "accepted" else RunFolder.REJECTED
        self._files[name].append(json_line(row.model_dump(mode="json")))

    def failure(self, row: FailureRow) -> None:
        self._files[RunFolder.FAILURES].append(json_line(row.model_dump(mode="json")))

    def blueprint(self, row: BlueprintRow) -> None:
        self._files[RunFolder.BLUEPRINTS].append(json_line(row.model_dump(mode="json")))

    def cluster(self, cluster: ClusterSpec) -> None:
        self._files[RunFolder.CLUSTERS].append(cluster.model_dump_json())

    def round(self, metrics: RoundMetrics) -> None:
        self._files[RunFolder.ROUNDS].append(metrics.model_dump_json())

    def close(self) -> None:
        for f in self._files.values():
            f.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
