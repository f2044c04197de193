"""Append-only JSON Lines that survive ``kill -9``: one write and an fsync per line, torn tails repaired.

A process killed mid-write can leave a last line without its newline. ``repair`` cuts the file back to the
last complete line before anything is read or appended, so a resumed run (or a restarted server) sees only
whole records and never glues a new line onto a torn one.

Text may hold any string a caller can send, lone UTF-16 surrogates included (JSON spells one as
``"\\ud800"``; a model's repaired arguments can carry one). UTF-8 cannot encode such a character, so a line
made with the default encoder failed and the record that had happened was lost. ``JsonlAppender`` writes
every other character as itself and a lone surrogate as the JSON escape ``\\udXXX``: the line is valid UTF-8
and JSON, and reading it back gives exactly the written string.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


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


def read_jsonl(path: Path) -> Iterator[Any]:
    """Every complete record of the file (none if it does not exist)."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.endswith("\n") and line.strip():
                yield json.loads(line)


def json_line(value: Any, *, compact: bool = False) -> str:
    """``value`` as one line of JSON text (no newline), non-ASCII kept as itself."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":") if compact else None)


class JsonlAppender:
    """Appends lines to a JSON Lines file, each durable (flushed, and fsync'd unless ``fsync=False``) before
    ``append`` returns. Opening repairs a torn last line and makes the parent directory."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        self._fsync = fsync
        path.parent.mkdir(parents=True, exist_ok=True)
        repair(path)
        self._f: IO[bytes] = path.open("ab")

    def append(self, line: str) -> None:
        """Write ``line`` (one JSON text, without its newline) and make it durable."""
        data = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", line).encode("utf-8") + b"\n"
        self._f.write(data)
        self._f.flush()
        if self._fsync:
            os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
