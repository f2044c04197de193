"""Start a launcher process, read its output with byte caps, and reap it with its resource usage.

No ``subprocess.Popen`` (whose reaping we could not share) and no ``communicate()``: the child is
started with ``posix_spawn``, its pipes are read incrementally through ``anyio.wait_readable`` and
capped, and it is reaped with ``wait4`` once its pidfd says it exited, which also gives the CPU
time and peak RSS of the whole waited-for tree.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from tdscaling.sandbox._launch import Launch

_READ_CHUNK = 1 << 16
_HIGH_FD = 32  # sources are moved above every target fd so dup2 never clobbers one of them
_DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGXCPU, signal.SIGINT, signal.SIGTERM)


@dataclass
class CappedBuffer:
    """Keeps the first ``cap`` bytes of a stream and counts the rest."""

    cap: int
    data: bytearray = field(default_factory=bytearray)
    dropped: int = 0

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def feed(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ExitStatus:
    """How a process ended. ``exit_code`` is 128 + N for death by signal N, as in the shell."""

    exit_code: int
    signal: int | None
    cpu_ms: float
    max_rss_kb: int


async def pump(fd: int, sink: CappedBuffer) -> None:
    """Read ``fd`` (non-blocking) to EOF into ``sink``; bytes past the cap are read and dropped."""
    while True:
        try:
            chunk = os.read(fd, _READ_CHUNK)
        except BlockingIOError:
            await anyio.wait_readable(fd)
            continue
        if not chunk:
            return
        sink.feed(chunk)


def drain_now(fd: int, sink: CappedBuffer) -> None:
    """Read whatever is already in ``fd`` without waiting."""
    while True:
        try:
            chunk = os.read(fd, _READ_CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            return
        sink.feed(chunk)


def nonblocking_pipe() -> tuple[int, int]:
    """A close-on-exec pipe whose read end does not block."""
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    os.set_blocking(read_end, False)
    return read_end, write_end


class Child:
    """A spawned launcher: its pid, a pidfd to wait on, and a kill that never hits a reused pid."""

    def __init__(self, launch: Launch, fds: dict[int, int]) -> None:
        moved = {target: fcntl.fcntl(source, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD) for target, source in fds.items()}
        try:
            actions = [(os.POSIX_SPAWN_DUP2, source, target) for target, source in moved.items()]
            self.pid = os.posix_spawn(
                launch.argv[0],
                launch.argv,
                launch.env,
                file_actions=actions,
                setsid=True,
                setsigdef=_DEFAULT_SIGNALS,
                setsigmask=(),
            )
        finally:
            for source in moved.values():
                os.close(source)
        self.pidfd = os.pidfd_open(self.pid)
        self.status: ExitStatus | None = None

    def exited_now(self) -> bool:
        """True if the process has exited (not yet reaped); never blocks."""
        return self.status is None and bool(select.select([self.pidfd], [], [], 0)[0])

    def kill(self) -> None:
        """SIGKILL the launcher's process group (the child itself once it has exec'd the isolation tool)."""
        if self.status is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    async def wait(self) -> ExitStatus:
        """Wait for exit and reap; safe to call again after it returned."""
        while self.status is None:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)  # noqa: ASYNC222 - WNOHANG never blocks
            if pid == 0:
                await anyio.wait_readable(self.pidfd)
                continue
            sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            self.status = ExitStatus(
                exit_code=128 + sig if sig is not None else os.WEXITSTATUS(status),
                signal=sig,
                cpu_ms=round((usage.ru_utime + usage.ru_stime) * 1000, 3),
                max_rss_kb=usage.ru_maxrss,
            )
            os.close(self.pidfd)
        return self.status

    async def aclose(self, *, also_kill: Callable[[], None] | None = None) -> None:
        """Kill (if still running) and reap, shielded and bounded in time."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(10):
            if self.status is None:
                self.kill()
                if also_kill is not None:
                    also_kill()
                await self.wait()
