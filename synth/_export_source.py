"""The rows an export writes, read from a run: its accepted trajectories, each with its training row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tdscaling.servers import SpecError

from ._export_options import ExportOptions
from ._export_rows import convert
from ._run_folder import RunFolder


def trajectories(run_dir: Path) -> Iterator[dict[str, Any]]:
    """The run's accepted trajectories as stored (read typed, as ``TrajectoryRow``); a line that is not one
    raises ``SpecError`` naming it."""
    folder = RunFolder(run_dir)
    if not (folder / RunFolder.TRAJECTORIES).is_file():
        raise SpecError("has no trajectories.jsonl; is it the --out of a `tdscaling synth run`?", source=str(run_dir))
    for row in folder.trajectories():
        yield row.model_dump(mode="json")


def rows(run_dir: Path, options: ExportOptions) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(trajectory, training row)`` for every accepted trajectory of the run."""
    source = run_dir / RunFolder.TRAJECTORIES
    for lineno, trajectory in enumerate(trajectories(run_dir), start=1):
        try:
            yield trajectory, convert(trajectory, options)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise SpecError(f"not a trajectory row ({type(e).__name__}: {e})",
                            source=f"{source}: row {lineno}") from None
