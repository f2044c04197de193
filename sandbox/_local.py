"""The local backend: bubblewrap (or ``unshare``, or a plain subprocess) with cgroups and rlimits."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import anyio

from tdscaling.sandbox import _workspace
from tdscaling.sandbox._backend import IsolationReport
from tdscaling.sandbox._cgroups import CgroupParent, RunGroup
from tdscaling.sandbox._errors import SandboxBrokenError, SandboxError, SandboxUsageError
from tdscaling.sandbox._isolation import LocalCapabilities, detect_local
from tdscaling.sandbox._launch import Launch, build_launch
from tdscaling.sandbox._mounts import is_mount_point, mount_tmpfs, unmount
from tdscaling.sandbox._ownership import owned_prefix
from tdscaling.sandbox._persistent import PersistentWorker
from tdscaling.sandbox._remove import remove_tree
from tdscaling.sandbox._results import ExecutionResult, Language
from tdscaling.sandbox._seccomp import deny_unix_sockets_bpf
from tdscaling.sandbox._session_id import SessionId
from tdscaling.sandbox._settings import SandboxSettings
from tdscaling.sandbox._supervise import PendingRun, to_result
from tdscaling.sandbox._workspace import FileInfo

logger = logging.getLogger(__name__)
_SECCOMP_FD = 4
_STATUS_FD = 5
_CODE_FD = 3
_NOBODY = (65534, 65534)


@dataclass
class _Session:
    workspace: Path
    worker: PersistentWorker | None = None
    warm: PendingRun | None = None  # a pre-started one-shot Python sandbox waiting for its program
    lock: anyio.Lock = field(default_factory=anyio.Lock)


class LocalBackend:
    """Runs code on this host with the strongest isolation detected at start (see :attr:`isolation`)."""

    def __init__(self, settings: SandboxSettings, *, capabilities: LocalCapabilities | None = None) -> None:
        self._settings = settings
        self._caps = capabilities
        self._sessions: dict[SessionId, _Session] = {}
        self._root: Path | None = None
        self._owns_root = False
        self._cgroups = CgroupParent(memory=None, pids=None)

    @property
    def isolation(self) -> IsolationReport:
        return self._capabilities.report

    @property
    def _capabilities(self) -> LocalCapabilities:
        if self._caps is None:
            raise RuntimeError("LocalBackend is used outside 'async with'")
        return self._caps

    async def __aenter__(self) -> Self:
        if self._caps is None:
            self._caps = await anyio.to_thread.run_sync(detect_local, self._settings)
        if self._settings.workspace_root is None:
            self._root, self._owns_root = Path(tempfile.mkdtemp(prefix=owned_prefix())), True
        else:
            self._root = self._settings.workspace_root
            self._root.mkdir(parents=True, exist_ok=True)
        self._root.chmod(0o711)  # nobody (unshare mode) must traverse it; listing stays private
        if self._caps.memory_cgroup or self._caps.pids_cgroup:
            self._cgroups = CgroupParent.create(owned_prefix() + uuid.uuid4().hex[:8])
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(30):
            for session_id in list(self._sessions):
                await self.close_session(session_id)
            self._cgroups.remove()
            if self._owns_root and self._root is not None:
                _remove_quietly(self._root.parent, self._root.name)

    # sessions

    def _owner(self) -> tuple[int, int] | None:
        return _NOBODY if self._capabilities.mechanism == "unshare" and os.geteuid() == 0 else None

    def _session(self, session_id: str) -> _Session:
        name = SessionId(session_id)
        session = self._sessions.get(name)
        if session is None:
            if self._root is None:
                raise RuntimeError("LocalBackend is used outside 'async with'")
            workspace = _workspace.session_dir(self._root, name, owner=self._owner())
            if self._capabilities.workspace_tmpfs and not is_mount_point(workspace):
                try:
                    mount_tmpfs(workspace, size_mb=self._settings.limits.workspace_mb, owner=self._owner())
                except OSError as e:
                    raise SandboxBrokenError(f"cannot mount the workspace's tmpfs: {e.strerror}") from e
            session = self._sessions[name] = _Session(workspace=workspace)
        return session

    async def close_session(self, session_id: str) -> None:
        """Stop the session's interpreter and delete its workspace (never anything outside the root)."""
        session = self._sessions.pop(SessionId(session_id), None)
        if session is None:
            return
        with anyio.CancelScope(shield=True):
            if session.worker is not None:
                await session.worker.aclose()
            if session.warm is not None:
                await session.warm.aclose()
            _remove_quietly(session.workspace.parent, session.workspace.name)

    # launching

    def _new_group(self) -> RunGroup | None:
        if self._cgroups.memory is None and self._cgroups.pids is None:
            return None
        limits = self._settings.limits
        return self._cgroups.new_group(memory_bytes=limits.memory_mb << 20, max_procs=limits.max_procs)

    def _launch(
        self, command: list[str], group: RunGroup | None, workspace: Path, *, status: bool
    ) -> tuple[Launch, dict[int, int], list[int]]:
        """The launch plus the fds the child gets (target -> ours) and ours to close after spawning."""
        caps = self._capabilities
        extra: dict[int, int] = {}
        to_close: list[int] = []
        if caps.mechanism == "bwrap" and caps.seccomp:
            read_end, write_end = os.pipe2(os.O_CLOEXEC)
            os.write(write_end, deny_unix_sockets_bpf())
            os.close(write_end)
            extra[_SECCOMP_FD] = read_end
            to_close.append(read_end)
        launch = build_launch(
            caps.mechanism,
            command,
            workspace=workspace,
            limits=self._settings.limits,
            cgroup_procs=group.procs_files if group is not None else [],
            has_memory_cgroup=group is not None and group.memory is not None,
            seccomp_fd=_SECCOMP_FD if _SECCOMP_FD in extra else None,
            status_fd=_STATUS_FD if status and caps.mechanism == "bwrap" else None,
        )
        return launch, extra, to_close

    # the backend interface

    async def execute(
        self, session_id: str, code: str, *, language: Language, timeout_s: float, persistent: bool
    ) -> ExecutionResult:
        session = self._session(session_id)
        async with session.lock:
            if persistent:
                if language != "python":
                    raise SandboxUsageError("persistent mode runs Python only; use language='python'")
                if session.worker is None:
                    session.worker = PersistentWorker(
                        python=str(self._settings.python),
                        limits=self._settings.limits,
                        make_launch=lambda command, group: self._worker_launch(command, group, session.workspace),
                        new_group=self._new_group,
                    )
                return await session.worker.run(
                    code, timeout_s=timeout_s, output_cap=self._settings.limits.output_kb * 1024
                )
            return await self._run_once(session, code, language=language, timeout_s=timeout_s)

    def _worker_launch(
        self, command: list[str], group: RunGroup | None, workspace: Path
    ) -> tuple[Launch, dict[int, int]]:
        launch, extra, _ = self._launch(command, group, workspace, status=False)
        return launch, extra  # the worker closes the extra fds once its child holds copies

    def _start(self, workspace: Path, *, language: Language, code_fd: int | None) -> PendingRun:
        """Launch a one-shot sandbox; with no ``code_fd`` Python waits for its program on a stdin pipe."""
        python = str(self._settings.python)
        fds: dict[int, int] = {}
        null_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        to_close = [null_fd]
        group = self._new_group()
        try:
            if language == "python":
                # The program comes on stdin ("-") so sys.path[0] is the workspace, as with "python file.py".
                command = [python, "-E", "-s", "-"]
                if code_fd is not None:
                    fds[0] = code_fd
            else:
                assert code_fd is not None, "bash always starts cold"
                command, fds = ["/bin/bash", f"/dev/fd/{_CODE_FD}"], {0: null_fd, _CODE_FD: code_fd}
            launch, extra, closers = self._launch(command, group, workspace, status=True)
            to_close += closers
            return PendingRun(
                launch,
                fds={**fds, **extra},
                output_cap=self._settings.limits.output_kb * 1024,
                group=group,
                status_target_fd=_STATUS_FD if self._capabilities.mechanism == "bwrap" else None,
                stdin_pipe=code_fd is None,
            )
        except BaseException:
            if group is not None:
                group.remove()
            raise
        finally:
            for fd in to_close:
                os.close(fd)

    async def _run_once(self, session: _Session, code: str, *, language: Language, timeout_s: float) -> ExecutionResult:
        program = code.encode("utf-8", errors="surrogatepass")
        warm, session.warm = session.warm, None
        payload: bytes | None = None
        if language == "python" and warm is not None and warm.waiting:
            run, payload = warm, program
        else:
            if warm is not None:
                await warm.aclose()
            code_fd = os.memfd_create("sandbox-code", os.MFD_CLOEXEC)
            try:
                os.write(code_fd, program)
                os.lseek(code_fd, 0, os.SEEK_SET)
                run = self._start(session.workspace, language=language, code_fd=code_fd)
            finally:
                os.close(code_fd)
        try:
            raw = await run.complete(timeout_s=timeout_s, program=payload)
            result = to_result(raw, group=run.group, limits=self._settings.limits)
        finally:
            await run.aclose()
        if self._settings.warm_start:
            # The next Python run's interpreter starts now, while the caller reads this result.
            session.warm = self._start(session.workspace, language="python", code_fd=None)
        return result

    async def write_file(self, session_id: str, path: str, data: bytes) -> None:
        session = self._session(session_id)
        async with session.lock:
            _workspace.write_file(session.workspace, path, data, owner=self._owner())

    async def read_file(self, session_id: str, path: str, *, max_bytes: int) -> bytes:
        session = self._session(session_id)
        async with session.lock:
            return _workspace.read_file(session.workspace, path, max_bytes=max_bytes)

    async def list_files(self, session_id: str) -> tuple[list[FileInfo], bool]:
        session = self._session(session_id)
        async with session.lock:
            return _workspace.list_files(session.workspace)


def _remove_quietly(parent: Path, name: str) -> None:
    """Unmount and remove ``parent/name`` at any depth; a failure is logged, never raised (this runs at reset
    and exit)."""
    try:
        if is_mount_point(parent / name):
            unmount(parent / name)
        remove_tree(parent, name)
    except (OSError, SandboxError) as e:
        logger.warning("could not remove %s: %s", parent / name, e)
