"""Files replaced whole or not at all: written beside their target, fsync'd, then renamed into place."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[IO[str]]:
    """A text handle on a temporary file beside ``path`` (``.<name>.<random>.part``), renamed to ``path`` when
    the block ends normally. On any exception the temporary file is removed and ``path`` is as it was."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):  # gone already when the rename succeeded
            os.unlink(tmp)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` whole with ``text`` (see ``atomic_writer``)."""
    with atomic_writer(path) as f:
        f.write(text)
