"""The execution record: one JSON line per execution, flushed (and fsync'd) before the tool replies.

Lines are written by the shared ``tdscaling.common.JsonlAppender``: code may hold any string a caller can
send, lone UTF-16 surrogates included, and such a character is written as its JSON escape (valid UTF-8 and
JSON; reading it back gives exactly the recorded string) instead of failing the record.
"""

from __future__ import annotations

import collections
from pathlib import Path
from types import TracebackType
from typing import Self

import anyio
from pydantic import BaseModel

from tdscaling.common import JsonlAppender, json_line
from tdscaling.sandbox._results import ExecutionResult, Language
from tdscaling.sandbox._settings import IsolationLevel


class ExecutionRecord(ExecutionResult):
    """One line of the record file. ``record_id`` is what trajectories cite."""

    record_id: str
    session_id: str
    language: Language
    persistent: bool
    code: str
    code_sha256: str
    backend: str
    mechanism: str
    isolation_level: IsolationLevel
    isolation_warnings: list[str]
    started_at: str
    ended_at: str


class Recorder:
    """Appends records to a JSONL file (if any) and keeps the most recent ones in memory."""

    def __init__(self, path: Path | None, *, fsync: bool, keep: int) -> None:
        self._path = path
        self._fsync = fsync
        self._recent: collections.deque[ExecutionRecord] = collections.deque(maxlen=keep)
        self._file: JsonlAppender | None = None
        self._lock = anyio.Lock()

    async def __aenter__(self) -> Self:
        if self._path is not None:
            path, fsync = self._path, self._fsync
            self._file = await anyio.to_thread.run_sync(lambda: JsonlAppender(path, fsync=fsync))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    async def append(self, record: ExecutionRecord) -> None:
        """Durably append ``record`` (shielded: a cancelled call still leaves its line)."""
        with anyio.CancelScope(shield=True):
            async with self._lock:
                if self._file is not None:
                    line = json_line(record.model_dump(mode="json"), compact=True)
                    await anyio.to_thread.run_sync(self._file.append, line)
                self._recent.append(record)

    def recent(self) -> list[ExecutionRecord]:
        """The most recent records, oldest first."""
        return list(self._recent)


class RecentSummary(BaseModel):
    """A record without the full code and output, for the recent-executions resource."""

    record_id: str
    session_id: str
    language: Language
    code_sha256: str
    code_head: str
    exit_code: int
    timed_out: bool
    limit: str | None
    duration_ms: float
    isolation_level: IsolationLevel
    started_at: str

    @classmethod
    def of(cls, record: ExecutionRecord) -> RecentSummary:
        return cls(code_head=record.code[:200], **record.model_dump(include=set(cls.model_fields) - {"code_head"}))
