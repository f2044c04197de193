"""Exporting a run's accepted trajectories for training: one JSON Lines file, or a Hugging Face dataset folder.

``export(run, "train.jsonl")`` writes the rows to one file, as before. ``export(run, "out/", folder=True)``
writes a folder that ``datasets.load_dataset("out")`` reads with no arguments::

    out/README.md              the dataset card (YAML header with configs, features, license, task, size)
    out/data/train.jsonl       the rows
    out/data/train.parquet     the same rows (with ``parquet``)
    out/verify/blueprints.jsonl, out/verify/clusters.jsonl   what ``tdscaling episode verify`` needs

Either is written whole or not at all: a file through a temporary file renamed into place, a folder built
beside its target and renamed into place (replacing only an earlier export's folder). The run's own files
are never written. Rows are made by ``_export_rows``, the card by ``_export_card``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tdscaling.common import read_jsonl, write_atomic
from tdscaling.servers import SpecError

from ._export_card import DATA_JSONL, DATA_PARQUET, MARK, render_card
from ._export_options import ExportOptions
from ._export_rows import convert
from ._export_shape import Shape, run_facts

RUN_FILES = frozenset({"trajectories.jsonl", "rejected.jsonl", "failures.jsonl", "clusters.jsonl", "rounds.jsonl",
                       "blueprints.jsonl", "manifest.json", "report.md", "metrics.png"})
_EXPORT_ENTRIES = frozenset({"README.md", "data", "verify"})


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: ``rows`` rows to ``path`` (a file, or a folder when ``folder``)."""

    path: Path
    rows: int
    folder: bool
    data_bytes: int


def trajectories(run_dir: Path) -> Iterator[dict[str, Any]]:
    """The run's accepted trajectories, as stored; a line that is not one raises ``SpecError`` naming it."""
    source = run_dir / "trajectories.jsonl"
    if not source.is_file():
        raise SpecError("has no trajectories.jsonl; is it the --out of a `tdscaling synth run`?", source=str(run_dir))
    with source.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("messages"), list):
                    raise ValueError("no messages")
            except ValueError as e:
                raise SpecError(f"not a trajectory row ({e})", source=f"{source}: line {lineno}") from None
            yield row


def rows(run_dir: Path, options: ExportOptions) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(trajectory, training row)`` for every accepted trajectory of the run."""
    source = run_dir / "trajectories.jsonl"
    for lineno, trajectory in enumerate(trajectories(run_dir), start=1):
        try:
            yield trajectory, convert(trajectory, options)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise SpecError(f"not a trajectory row ({type(e).__name__}: {e})",
                            source=f"{source}: row {lineno}") from None


def export(run_dir: Path, output: Path, *, options: ExportOptions | None = None,
           folder: bool | None = None) -> ExportResult:
    """Write the run's accepted trajectories to ``output``: a JSON Lines file, or (``folder``; by default when
    ``output`` is an existing directory) a dataset folder with its card. Bad input raises ``SpecError`` before
    anything is written."""
    options = options or ExportOptions()
    if (problem := options.problem()) is not None:
        raise SpecError(problem)
    if not run_dir.is_dir():
        raise SpecError("is not a run directory (the --out of `tdscaling synth run`)", source=str(run_dir))
    as_folder = output.is_dir() if folder is None else folder
    if output.resolve() == run_dir.resolve() or (output.resolve().parent == run_dir.resolve()
                                                 and output.name in RUN_FILES):
        raise SpecError("is the run itself or one of its files; choose another -o", source=str(output))
    if as_folder:
        return _write_folder(run_dir, output, options)
    if output.is_dir():
        raise SpecError("is a directory; end -o with / to write a dataset folder, or give a file path",
                        source=str(output))
    if options.parquet:
        raise SpecError("--parquet needs a folder: end -o with / (out/) to write a dataset folder")
    lines = [json.dumps(row, ensure_ascii=False) for _, row in rows(run_dir, options)]
    text = "".join(line + "\n" for line in lines)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(output, text)
    except OSError as e:
        raise SpecError(f"cannot write the export: {e.strerror or e}", source=str(output)) from None
    return ExportResult(output, len(lines), False, len(text.encode()))


def _check_target(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise SpecError("is a file; a dataset folder needs a directory path", source=str(output))
    if output.is_dir() and any(output.iterdir()):
        card = output / "README.md"
        ours = card.is_file() and MARK in card.read_text(encoding="utf-8", errors="replace")
        if not ours or not {p.name for p in output.iterdir()} <= _EXPORT_ENTRIES:
            raise SpecError("is not empty and is not an earlier `tdscaling export` folder; choose another -o",
                            source=str(output))


def _write_folder(run_dir: Path, output: Path, options: ExportOptions) -> ExportResult:
    _check_target(output)
    build = output.parent / f".{output.name}.export-tmp"
    try:
        if build.exists():
            shutil.rmtree(build)  # left by an export that was killed: only ever ours, by its name
        (build / "data").mkdir(parents=True)
        shape = Shape()
        tasks: set[str] = set()
        clusters: set[str] = set()
        written: list[dict[str, Any]] = []
        with (build / DATA_JSONL).open("w", encoding="utf-8") as f:
            for trajectory, row in rows(run_dir, options):
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                shape.add(trajectory)
                tasks.add(str(trajectory.get("task") or ""))
                clusters.add(str((trajectory.get("labels") or {}).get("cluster_id") or ""))
                if options.parquet:
                    written.append(row)
        if options.parquet:
            _write_parquet(written, build / DATA_PARQUET)
        _copy_matching(run_dir / "blueprints.jsonl", build / "verify" / "blueprints.jsonl", "task", tasks)
        _copy_matching(run_dir / "clusters.jsonl", build / "verify" / "clusters.jsonl", "id", clusters)
        size = (build / DATA_JSONL).stat().st_size
        card = render_card(facts=run_facts(run_dir, accepted=shape.rows), shape=shape, options=options,
                           jsonl_bytes=size, run_name=run_dir.resolve().name)
        (build / "README.md").write_text(card, encoding="utf-8")
        _fsync_tree(build)
        _swap_in(build, output)
    except OSError as e:
        shutil.rmtree(build, ignore_errors=True)
        raise SpecError(f"cannot write the export: {e.strerror or e}", source=str(output)) from None
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return ExportResult(output, shape.rows, True, size)


def _write_parquet(written: list[dict[str, Any]], path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise SpecError("--parquet needs pyarrow: pip install 'tdscaling[train]'") from None
    try:
        table = pa.Table.from_pylist(written)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:  # one argument name holding a string here, a number there
        raise SpecError(f"the rows do not fit one Parquet schema ({e}); export with --arguments string, or without "
                        "--parquet") from None
    pq.write_table(table, path)


def _copy_matching(source: Path, target: Path, key: str, wanted: set[str]) -> None:
    """The lines of ``source`` whose ``key`` is in ``wanted``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        for record in read_jsonl(source):
            if str(record.get(key)) in wanted:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())


def _swap_in(build: Path, output: Path) -> None:
    """Rename ``build`` to ``output``; an earlier export there is moved aside first and removed after."""
    old = output.parent / f".{output.name}.export-old"
    if old.exists():
        shutil.rmtree(old)
    if output.exists():
        output.rename(old)
    try:
        build.rename(output)
    except OSError:
        if old.exists():
            old.rename(output)  # put the earlier export back
        raise
    shutil.rmtree(old, ignore_errors=True)
