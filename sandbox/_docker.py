"""The Docker backend: one warm, locked-down container per session (docker SDK, run in worker threads).

Each container: the configured image, no network, memory/CPU/pids limits, read-only root, a tmpfs
workspace and /tmp, all capabilities dropped, no-new-privileges, user 65534. Code runs through
``docker exec`` under coreutils ``timeout -s KILL`` (the wall-clock limit); output is streamed and
capped. A container is removed at session end and at server exit. Persistent mode is not offered
here: ``execute(..., persistent=True)`` runs the code once and says so on stderr.
"""

from __future__ import annotations

import io
import shlex
import socket
import tarfile
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import anyio

from tdscaling.sandbox._backend import IsolationReport, Layer
from tdscaling.sandbox._errors import SandboxBrokenError, SandboxUsageError, WorkspacePathError
from tdscaling.sandbox._process import CappedBuffer
from tdscaling.sandbox._results import ExecutionResult, Language
from tdscaling.sandbox._session_id import SessionId
from tdscaling.sandbox._settings import SandboxSettings
from tdscaling.sandbox._supervise import classify_limit, limit_note
from tdscaling.sandbox._workspace import FileInfo, split_path

_WORKSPACE = "/workspace"


def docker_client() -> Any:
    """A connected docker client, or :class:`SandboxBrokenError` saying why there is none."""
    import docker
    from docker.utils import kwargs_from_env

    base_url = str(kwargs_from_env().get("base_url") or "unix:///var/run/docker.sock")
    if "unix://" in base_url:
        # The SDK leaks its socket when a Unix-socket connect fails; probe with our own first.
        path = base_url.split("unix://", 1)[1]
        with socket.socket(socket.AF_UNIX) as probe:
            probe.settimeout(2)
            try:
                probe.connect(path)
            except OSError as e:
                raise SandboxBrokenError(f"no Docker engine reachable at {path}: {e.strerror or e}") from e
    client = None
    try:
        # A pinned API version: with "auto" the constructor itself calls the engine and, when that
        # fails, leaks its socket before we could close the client. 1.41 is Docker 20.10 and later.
        client = docker.from_env(version="1.41", timeout=10)
        client.ping()
    except Exception as e:  # the SDK raises many types for "no engine"; all mean the same here
        if client is not None:
            client.close()
        raise SandboxBrokenError(f"no Docker engine reachable: {e}") from e
    return client


def docker_report(image: str) -> IsolationReport:
    return IsolationReport(
        backend="docker",
        mechanism=f"docker container ({image})",
        level="strong",
        layers=[
            Layer(name="container", active=True, detail="own namespaces; one warm container per session"),
            Layer(name="no network", active=True, detail="network_mode=none"),
            Layer(name="filesystem", active=True, detail="read-only root; tmpfs /workspace and /tmp"),
            Layer(name="unprivileged uid", active=True, detail="user 65534, cap_drop ALL, no-new-privileges"),
            Layer(name="limits", active=True, detail="memory, CPU, pids limits; wall-clock kill with timeout -s KILL"),
        ],
        warnings=[],
        interpreter="python3 (from the image)",
    )


@dataclass
class _Container:
    handle: Any
    lock: anyio.Lock = field(default_factory=anyio.Lock)


class DockerBackend:
    """Runs code in Docker containers; needs a reachable engine (see :func:`docker_client`)."""

    def __init__(self, settings: SandboxSettings) -> None:
        self._settings = settings
        self._client: Any = None
        self._containers: dict[str, _Container] = {}
        self._report = docker_report(settings.docker_image)

    @property
    def isolation(self) -> IsolationReport:
        return self._report

    async def __aenter__(self) -> Self:
        self._client = await anyio.to_thread.run_sync(docker_client)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(60):
            for session_id in list(self._containers):
                await self.close_session(session_id)
            if self._client is not None:
                self._client.close()

    def _start_container(self, session_id: str) -> Any:
        limits = self._settings.limits
        return self._client.containers.run(
            self._settings.docker_image,
            command=["sleep", "infinity"],
            detach=True,
            name=f"tdscaling-sandbox-{session_id}-{int(time.time() * 1000)}",
            labels={"tdscaling.sandbox": "1"},
            network_mode="none",
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",
            nano_cpus=1_000_000_000,
            pids_limit=limits.max_procs,
            read_only=True,
            tmpfs={_WORKSPACE: f"size={limits.workspace_mb}m,uid=65534,gid=65534,mode=0755",
                   "/tmp": f"size={limits.tmp_mb}m"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            user="65534:65534",
            working_dir=_WORKSPACE,
            environment={"HOME": _WORKSPACE, "LANG": "C.UTF-8"},
            ulimits=[
                {"Name": "cpu", "Soft": limits.cpu_s, "Hard": limits.cpu_s + 1},
                {"Name": "nofile", "Soft": limits.open_files, "Hard": limits.open_files},
                {"Name": "fsize", "Soft": limits.file_size_mb << 20, "Hard": limits.file_size_mb << 20},
            ],
            auto_remove=False,
        )

    async def _container(self, session_id: str) -> _Container:
        session_id = SessionId(session_id)  # it is part of the container's name
        if session_id not in self._containers:
            try:
                handle = await anyio.to_thread.run_sync(self._start_container, session_id)
            except Exception as e:
                raise SandboxBrokenError(f"cannot start a container: {e}") from e
            self._containers[session_id] = _Container(handle)
        return self._containers[session_id]

    async def close_session(self, session_id: str) -> None:
        container = self._containers.pop(session_id, None)
        if container is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: container.handle.remove(force=True))

    def _exec(self, handle: Any, argv: list[str], cap: int) -> tuple[CappedBuffer, CappedBuffer, int, float]:
        api = self._client.api
        started = time.perf_counter()
        exec_id = api.exec_create(handle.id, argv, workdir=_WORKSPACE, user="65534:65534")["Id"]
        out, err = CappedBuffer(cap), CappedBuffer(cap)
        for stdout, stderr in api.exec_start(exec_id, stream=True, demux=True):
            if stdout:
                out.feed(stdout)
            if stderr:
                err.feed(stderr)
        exit_code = api.exec_inspect(exec_id)["ExitCode"]
        return out, err, int(exit_code if exit_code is not None else 137), (time.perf_counter() - started) * 1000

    async def execute(
        self, session_id: str, code: str, *, language: Language, timeout_s: float, persistent: bool
    ) -> ExecutionResult:
        container = await self._container(session_id)
        limits = self._settings.limits
        program = shlex.quote(code)
        interpreter = "python3 -c" if language == "python" else "bash -c"
        script = f"exec timeout -s KILL {timeout_s:.3f} {interpreter} {program}"
        async with container.lock:
            try:
                out, err, exit_code, duration_ms = await anyio.to_thread.run_sync(
                    self._exec, container.handle, ["sh", "-c", script], limits.output_kb * 1024
                )
                # Daemons the code left behind: kill -1 signals every process of the user except
                # itself and the container's init.
                await anyio.to_thread.run_sync(self._exec, container.handle, ["kill", "-9", "-1"], 1024)
            except Exception as e:
                raise SandboxBrokenError(f"docker exec failed: {e}") from e
        timed_out = exit_code == 137 and duration_ms >= timeout_s * 1000
        limit = classify_limit(
            timed_out=timed_out,
            exit_code=exit_code,
            cpu_ms=None,
            stderr_tail=err.text()[-200:],
            oom_kills=0,
            pids_refusals=0,
            truncated=out.truncated or err.truncated,
            limits=limits,
        )
        note = "[sandbox] persistent mode is not available on the Docker backend; ran once\n" if persistent else ""
        return ExecutionResult(
            stdout=out.text(),
            stderr=err.text() + limit_note(limit, limits, out.dropped + err.dropped) + note,
            exit_code=exit_code,
            timed_out=timed_out,
            truncated=out.truncated or err.truncated,
            duration_ms=round(duration_ms, 3),
            limit=limit,
        )

    async def write_file(self, session_id: str, path: str, data: bytes) -> None:
        parts = split_path(path)
        container = await self._container(session_id)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo("/".join(parts))
            info.size, info.uid, info.gid, info.mode = len(data), 65534, 65534, 0o644
            tar.addfile(info, io.BytesIO(data))
        async with container.lock:
            ok = await anyio.to_thread.run_sync(lambda: container.handle.put_archive(_WORKSPACE, buffer.getvalue()))
        if not ok:
            raise WorkspacePathError(f"cannot write {path!r} in the container workspace")

    async def read_file(self, session_id: str, path: str, *, max_bytes: int) -> bytes:
        parts = split_path(path)
        container = await self._container(session_id)
        argv = [
            "sh",
            "-c",
            'test -f "$1" && test ! -L "$1" && head -c "$2" -- "$1"',
            "sh",
            "/".join(parts),
            str(max_bytes + 1),
        ]
        async with container.lock:
            out, _, code, _ = await anyio.to_thread.run_sync(self._exec, container.handle, argv, max_bytes + 1)
        if code != 0:
            raise SandboxUsageError(f"no regular file {path!r} in the workspace (symlinks are not followed)")
        if len(out.data) > max_bytes:
            raise SandboxUsageError(f"{path!r} is larger than {max_bytes} bytes")
        return bytes(out.data)

    async def list_files(self, session_id: str) -> tuple[list[FileInfo], bool]:
        container = await self._container(session_id)
        argv = ["find", ".", "-mindepth", "1", "-printf", "%y %s %P\\n"]
        async with container.lock:
            out, _, _, _ = await anyio.to_thread.run_sync(self._exec, container.handle, argv, 1 << 20)
        kinds = {"f": "file", "d": "dir", "l": "symlink"}
        found = []
        for line in out.text().splitlines():
            kind, size, rel = line.split(" ", 2)
            found.append(FileInfo(path=rel, kind=kinds.get(kind, "other"), size=int(size) if kind == "f" else 0))
        return found, out.truncated
