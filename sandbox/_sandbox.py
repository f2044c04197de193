"""The Sandbox: sessions over one backend, input checks, idle expiry and the execution record."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime

from pydantic import Field

from tdscaling.sandbox._backend import IsolationReport, SandboxBackend
from tdscaling.sandbox._errors import SandboxUsageError
from tdscaling.sandbox._recorder import ExecutionRecord, Recorder
from tdscaling.sandbox._results import ExecutionResult, Language
from tdscaling.sandbox._select import BackendPlan, plan_backend
from tdscaling.sandbox._session_id import SessionId
from tdscaling.sandbox._settings import SandboxSettings
from tdscaling.sandbox._workspace import FileInfo

_LANGUAGES = ("python", "bash")


class ExecuteCodeOutput(ExecutionResult):
    """What ``execute_code`` returns: the execution result plus where it is recorded."""

    record_id: str = Field(description="cite this id; it names the line in the execution record")
    session_id: str
    isolation_level: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Sandbox:
    """Sessions (workspaces that persist until reset or idle) over one backend; every run recorded."""

    def __init__(self, settings: SandboxSettings, backend: SandboxBackend, recorder: Recorder) -> None:
        self._settings = settings
        self._backend = backend
        self._recorder = recorder
        self._last_used: dict[str, float] = {}
        self._busy: dict[str, int] = {}

    @property
    def isolation(self) -> IsolationReport:
        return self._backend.isolation

    @property
    def settings(self) -> SandboxSettings:
        return self._settings

    def recent(self) -> list[ExecutionRecord]:
        return self._recorder.recent()

    def sessions(self) -> list[str]:
        return sorted(self._last_used)

    async def _expire_idle(self) -> None:
        cutoff = time.monotonic() - self._settings.session_idle_s
        for session_id, last in list(self._last_used.items()):
            if last < cutoff and not self._busy.get(session_id):
                await self.reset_session(session_id)

    @asynccontextmanager
    async def _use(self, session_id: str) -> AsyncIterator[SessionId]:
        """Hold ``session_id`` (checked: a name, never a path) busy for one call."""
        session_id = SessionId(session_id)
        await self._expire_idle()
        if session_id not in self._last_used and len(self._last_used) >= self._settings.max_sessions:
            raise SandboxUsageError(
                f"too many sessions ({self._settings.max_sessions}); reset one with reset_session first"
            )
        self._busy[session_id] = self._busy.get(session_id, 0) + 1
        self._last_used[session_id] = time.monotonic()
        try:
            yield session_id
        finally:
            self._busy[session_id] -= 1
            self._last_used[session_id] = time.monotonic()

    async def execute(
        self,
        code: str,
        *,
        language: str = "python",
        timeout_s: float | None = None,
        session_id: str = "default",
        persistent: bool = False,
    ) -> ExecuteCodeOutput:
        """Run ``code`` in the session's workspace and record it; a failing program is a result."""
        limits = self._settings.limits
        if language not in _LANGUAGES:
            raise SandboxUsageError(f"language {str(language)[:40]!r} is not supported; use 'python' or 'bash'")
        lang: Language = "python" if language == "python" else "bash"
        if not isinstance(code, str):
            raise SandboxUsageError("code must be a string")
        size = len(code.encode("utf-8", errors="surrogatepass"))
        if size > self._settings.max_code_bytes:
            raise SandboxUsageError(f"code has {size} bytes; the limit is {self._settings.max_code_bytes}")
        if "\x00" in code:
            raise SandboxUsageError("code contains a NUL character")
        timeout = limits.timeout_s if timeout_s is None else timeout_s
        if not 0 < timeout <= limits.timeout_s:
            raise SandboxUsageError(f"timeout_s must be in (0, {limits.timeout_s:g}] seconds, got {timeout_s!r}")
        if persistent and lang != "python":
            raise SandboxUsageError("persistent mode runs Python only; use language='python'")
        async with self._use(session_id) as session_id:
            started = _now()
            result = await self._backend.execute(
                session_id, code, language=lang, timeout_s=timeout, persistent=persistent
            )
            ended = _now()
        report = self.isolation
        record = ExecutionRecord(
            **result.model_dump(),
            record_id=f"exec-{uuid.uuid4().hex}",
            session_id=session_id,
            language=lang,
            persistent=persistent,
            code=code,
            code_sha256=hashlib.sha256(code.encode("utf-8", errors="surrogatepass")).hexdigest(),
            backend=report.backend,
            mechanism=report.mechanism,
            isolation_level=report.level,
            isolation_warnings=report.warnings,
            started_at=started,
            ended_at=ended,
        )
        await self._recorder.append(record)
        return ExecuteCodeOutput(
            **result.model_dump(), record_id=record.record_id, session_id=session_id, isolation_level=report.level
        )

    async def write_file(self, path: str, content: str, *, session_id: str = "default") -> int:
        """Write UTF-8 ``content`` to ``path`` in the workspace; returns the byte count."""
        data = content.encode("utf-8", errors="surrogatepass")
        if len(data) > self._settings.max_file_bytes:
            raise SandboxUsageError(f"content has {len(data)} bytes; the limit is {self._settings.max_file_bytes}")
        async with self._use(session_id) as session_id:
            await self._backend.write_file(session_id, path, data)
        return len(data)

    async def read_file(self, path: str, *, session_id: str = "default") -> str:
        """The UTF-8 text of ``path`` in the workspace (undecodable bytes replaced)."""
        async with self._use(session_id) as session_id:
            data = await self._backend.read_file(session_id, path, max_bytes=self._settings.max_file_bytes)
        return data.decode("utf-8", errors="replace")

    async def list_files(self, *, session_id: str = "default") -> tuple[list[FileInfo], bool]:
        async with self._use(session_id) as session_id:
            return await self._backend.list_files(session_id)

    async def reset_session(self, session_id: str = "default") -> bool:
        """Delete the session's workspace and interpreter; True if it existed."""
        session_id = SessionId(session_id)
        existed = self._last_used.pop(session_id, None) is not None
        self._busy.pop(session_id, None)
        await self._backend.close_session(session_id)
        return existed


@asynccontextmanager
async def open_sandbox(settings: SandboxSettings, *, plan: BackendPlan | None = None) -> AsyncIterator[Sandbox]:
    """Start the backend (probing the host unless ``plan`` is given) and the record; clean both up."""
    chosen = plan if plan is not None else plan_backend(settings)
    async with AsyncExitStack() as stack:
        backend = await stack.enter_async_context(chosen.build(settings))
        recorder = await stack.enter_async_context(
            Recorder(settings.record_path, fsync=settings.record_fsync, keep=settings.recent_executions)
        )
        yield Sandbox(settings, backend, recorder)
