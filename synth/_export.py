"""Exporting a run's accepted trajectories for training: one JSON Lines file, or a Hugging Face dataset folder.

``export(run, "train.jsonl")`` writes the rows to one file, as before. ``export(run, "out/", folder=True)``
writes a folder that ``datasets.load_dataset("out")`` reads with no arguments::

    out/README.md              the dataset card (YAML header with configs, features, license, task, size)
    out/data/train.jsonl       the rows
    out/data/train.parquet     the same rows (with ``parquet``)
    out/verify/blueprints.jsonl, out/verify/clusters.jsonl   what ``tdscaling episode verify`` needs

Either is written whole or not at all: a file through a temporary file renamed into place, a folder built
beside its target and renamed into place (replacing only an earlier export's folder). The run's own files
are never written. Rows are made by ``_export_rows``, the card by ``_export_card``. With
``options.check_template`` every row is first rendered through that chat template, and nothing is written
unless all render (``TemplateCheckFailed``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tdscaling.common import write_atomic
from tdscaling.servers import SpecError

from ._export_card import DATA_JSONL, DATA_PARQUET, MARK, render_card
from ._export_options import ExportOptions
from ._export_shape import Shape, run_facts
from ._export_source import rows
from ._run_folder import RunFolder
from ._template_check import TemplateCheckFailed, TemplateReport, check_export

_EXPORT_ENTRIES = frozenset({"README.md", "data", "verify"})


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: ``rows`` rows to ``path`` (a file, or a folder when ``folder``); ``template`` is
    the chat-template check's report when one was asked for."""

    path: Path
    rows: int
    folder: bool
    data_bytes: int
    template: TemplateReport | None = None


def export(run_dir: Path, output: Path, *, options: ExportOptions | None = None,
           folder: bool | None = None) -> ExportResult:
    """Write the run's accepted trajectories to ``output``: a JSON Lines file, or (``folder``; by default when
    ``output`` is an existing directory) a dataset folder with its card. Bad input raises ``SpecError`` before
    anything is written; rows that fail ``options.check_template`` raise ``TemplateCheckFailed`` (with the
    report) and nothing is written.

    Example::

        from pathlib import Path
        from tdscaling.synth import ExportOptions, export

        export(Path("runs/r1"), Path("runs/r1-dataset"), folder=True)          # a Hugging Face dataset folder
        export(Path("runs/r1"), Path("train.jsonl"), options=ExportOptions(parallel_calls="split",
                                                                          check_template="llama3_1"))
    """
    options = options or ExportOptions()
    if (problem := options.problem()) is not None:
        raise SpecError(problem)
    if not run_dir.is_dir():
        raise SpecError("is not a run directory (the --out of `tdscaling synth run`)", source=str(run_dir))
    as_folder = output.is_dir() if folder is None else folder
    if output.resolve() == run_dir.resolve() or (output.resolve().parent == run_dir.resolve()
                                                 and output.name in RunFolder.FILES):
        raise SpecError("is the run itself or one of its files; choose another -o", source=str(output))
    _check_target(output, options, folder=as_folder)
    report = None
    if options.check_template is not None:
        report = check_export(run_dir, options, options.check_template)
        if not report.passed:
            raise TemplateCheckFailed(report)
    written = _write_folder(run_dir, output, options) if as_folder else _write_file(run_dir, output, options)
    return ExportResult(written.path, written.rows, written.folder, written.data_bytes, report)


def _write_file(run_dir: Path, output: Path, options: ExportOptions) -> ExportResult:
    lines = [json.dumps(row, ensure_ascii=False) for _, row in rows(run_dir, options)]
    text = "".join(line + "\n" for line in lines)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(output, text)
    except OSError as e:
        raise SpecError(f"cannot write the export: {e.strerror or e}", source=str(output)) from None
    return ExportResult(output, len(lines), False, len(text.encode()))


def _check_target(output: Path, options: ExportOptions, *, folder: bool) -> None:
    if not folder:
        if output.is_dir():
            raise SpecError("is a directory; end -o with / to write a dataset folder, or give a file path",
                            source=str(output))
        if options.parquet:
            raise SpecError("--parquet needs a folder: end -o with / (out/) to write a dataset folder")
        return
    if output.exists() and not output.is_dir():
        raise SpecError("is a file; a dataset folder needs a directory path", source=str(output))
    if output.is_dir() and any(output.iterdir()):
        card = output / "README.md"
        ours = card.is_file() and MARK in card.read_text(encoding="utf-8", errors="replace")
        if not ours or not {p.name for p in output.iterdir()} <= _EXPORT_ENTRIES:
            raise SpecError("is not empty and is not an earlier `tdscaling export` folder; choose another -o",
                            source=str(output))


def _write_folder(run_dir: Path, output: Path, options: ExportOptions) -> ExportResult:
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
        source = RunFolder(run_dir)
        _copy_matching(source.blueprints(), build / "verify" / RunFolder.BLUEPRINTS, "task", tasks)
        _copy_matching(source.clusters(), build / "verify" / RunFolder.CLUSTERS, "id", clusters)
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


def _copy_matching(source: Iterable[BaseModel], target: Path, key: str, wanted: set[str]) -> None:
    """The rows of ``source`` whose ``key`` is in ``wanted``, one JSON line each."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        for row in source:
            record = row.model_dump(mode="json")
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
