"""Append-only JSON Lines that survive ``kill -9``: one write and an fsync per line, torn tails repaired.

A process killed mid-write can leave a last line without its newline. ``repair`` cuts the file back to
the last complete line before anything is read or appended, so a resumed run sees only whole records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def repair(path: Path) -> int:
    """Drop a torn last line (no trailing newline); return how many bytes were cut."""
    if not path.exists():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return 0
        # walk back to the previous newline
        pos = size - 1
        chunk = 4096
        while pos > 0:
            start = max(0, pos - chunk)
            f.seek(start)
            block = f.read(pos - start)
            nl = block.rfind(b"\n")
            if nl >= 0:
                cut = start + nl + 1
                f.truncate(cut)
                return size - cut
            pos = start
        f.truncate(0)
        return size


def read(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete record of the file (none if it does not exist)."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.endswith("\n") and line.strip():
                yield json.loads(line)


class Appender:
    """Appends records to a JSON Lines file, each durable before ``append`` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        repair(path)
        self._f: IO[bytes] = path.open("ab")

    def append(self, record: dict[str, Any] | str) -> None:
        line = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)
        self._f.write(line.encode("utf-8") + b"\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` whole: write a temporary file beside it, fsync, rename; on any failure the temporary
    file is removed and ``path`` is as it was."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
