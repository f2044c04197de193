"""The seam every sandbox backend implements, and the isolation report each one gives."""

from __future__ import annotations

from types import TracebackType
from typing import Literal, Protocol, Self, runtime_checkable

from pydantic import BaseModel

from tdscaling.sandbox._results import ExecutionResult, Language
from tdscaling.sandbox._settings import IsolationLevel
from tdscaling.sandbox._workspace import FileInfo


class Layer(BaseModel):
    """One isolation layer, whether it is active, and why."""

    name: str
    active: bool
    detail: str


class IsolationReport(BaseModel):
    """Which isolation a backend runs with; the server states it in its instructions and records."""

    backend: Literal["local", "docker"]
    mechanism: str
    level: IsolationLevel
    layers: list[Layer]
    warnings: list[str]
    interpreter: str

    def headline(self) -> str:
        """One loud line: the level and the mechanism."""
        text = f"isolation: {self.level.upper()} ({self.backend} backend, {self.mechanism})"
        return text if self.level == "strong" else f"WARNING: {text}; {' '.join(self.warnings[:1])}"


@runtime_checkable
class SandboxBackend(Protocol):
    """Runs code in per-session workspaces. Implementations are async context managers.

    ``execute`` returns an :class:`ExecutionResult` for any program, failing or not; only a broken
    sandbox raises (:class:`~tdscaling.sandbox.SandboxBrokenError`). File methods raise
    :class:`~tdscaling.sandbox.WorkspacePathError` for paths that would leave the workspace.
    """

    @property
    def isolation(self) -> IsolationReport: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def execute(
        self, session_id: str, code: str, *, language: Language, timeout_s: float, persistent: bool
    ) -> ExecutionResult: ...

    async def write_file(self, session_id: str, path: str, data: bytes) -> None: ...

    async def read_file(self, session_id: str, path: str, *, max_bytes: int) -> bytes: ...

    async def list_files(self, session_id: str) -> tuple[list[FileInfo], bool]: ...

    async def close_session(self, session_id: str) -> None: ...
