"""Run one launch to completion under a wall-clock limit, with capped output, and classify the ending."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from typing import assert_never

import anyio

from tdscaling.sandbox._cgroups import RunGroup
from tdscaling.sandbox._errors import SandboxBrokenError
from tdscaling.sandbox._launch import LAUNCHER_ERROR_PREFIX, LAUNCHER_FAILED_EXIT, Launch
from tdscaling.sandbox._process import CappedBuffer, Child, ExitStatus, nonblocking_pipe, pump
from tdscaling.sandbox._results import ExecutionResult, LimitHit
from tdscaling.sandbox._settings import Limits

_DRAIN_GRACE_S = 2.0  # after exit: a process outside our reach (weak isolation) may hold the pipes open


@dataclass
class RawRun:
    stdout: CappedBuffer
    stderr: CappedBuffer
    status: ExitStatus
    timed_out: bool
    duration_ms: float
    started_in_sandbox: bool


class PendingRun:
    """A started sandbox whose program may not have arrived yet.

    Cold path: the program is already on the child's stdin (a memfd) and :meth:`complete` is called
    at once. Warm path: the child was started ahead of time with a pipe on stdin (``python -`` blocks
    reading it), and :meth:`complete` writes the program and closes the pipe; the interpreter's
    start-up was paid before the call. The wall clock starts in :meth:`complete` either way.
    """

    def __init__(
        self,
        launch: Launch,
        *,
        fds: dict[int, int],
        output_cap: int,
        group: RunGroup | None,
        status_target_fd: int | None = None,
        stdin_pipe: bool = False,
    ) -> None:
        self.group = group
        self._output_cap = output_cap
        self._pipes = [nonblocking_pipe(), nonblocking_pipe()]
        self._status_pipe = nonblocking_pipe() if status_target_fd is not None else None
        self._stdin_w: int | None = None
        child_fds = {1: self._pipes[0][1], 2: self._pipes[1][1], **fds}
        to_close = [w for _, w in self._pipes]
        if self._status_pipe is not None and status_target_fd is not None:
            child_fds[status_target_fd] = self._status_pipe[1]
            to_close.append(self._status_pipe[1])
        if stdin_pipe:
            stdin_r, self._stdin_w = os.pipe2(os.O_CLOEXEC)
            os.set_blocking(self._stdin_w, False)
            child_fds[0] = stdin_r
            to_close.append(stdin_r)
        try:
            self._child = Child(launch, child_fds)
        except BaseException:
            self._close_fds()
            raise
        finally:
            for fd in to_close:
                os.close(fd)

    @property
    def waiting(self) -> bool:
        """A warm run that can still take its program (not exited, stdin not yet written)."""
        return self._stdin_w is not None and self._child.status is None and not self._child.exited_now()

    def _close_fds(self) -> None:
        fds = [r for r, _ in self._pipes] + ([self._status_pipe[0]] if self._status_pipe else [])
        if self._stdin_w is not None:
            fds.append(self._stdin_w)
            self._stdin_w = None
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._pipes, self._status_pipe = [], None

    async def _feed(self, program: bytes) -> None:
        fd, view = self._stdin_w, memoryview(program)
        assert fd is not None
        try:
            while view:
                try:
                    view = view[os.write(fd, view) :]
                except BlockingIOError:
                    await anyio.wait_writable(fd)
                except BrokenPipeError:
                    return  # the program died before reading it all; its exit status tells
        finally:
            os.close(fd)
            self._stdin_w = None

    async def complete(self, *, timeout_s: float, program: bytes | None = None) -> RawRun:
        """Send ``program`` (warm path), read capped output, kill the tree at ``timeout_s``, reap."""
        out, err = CappedBuffer(self._output_cap), CappedBuffer(self._output_cap)
        kill_group = self.group.kill_all if self.group is not None else None
        child = self._child
        started = time.perf_counter()
        timed_out = False
        try:
            async with anyio.create_task_group() as readers:
                drained = anyio.Event()
                remaining = [2]

                async def read(fd: int, sink: CappedBuffer) -> None:
                    await pump(fd, sink)
                    remaining[0] -= 1
                    if remaining[0] == 0:
                        drained.set()

                readers.start_soon(read, self._pipes[0][0], out)
                readers.start_soon(read, self._pipes[1][0], err)
                if program is not None:
                    readers.start_soon(self._feed, program)
                with anyio.move_on_after(timeout_s) as deadline:
                    status = await child.wait()
                if deadline.cancelled_caught:
                    timed_out = True
                    await child.aclose(also_kill=kill_group)
                    status = await child.wait()
                duration_ms = (time.perf_counter() - started) * 1000
                if kill_group is not None:
                    kill_group()  # daemons that outlived the main process
                with anyio.move_on_after(_DRAIN_GRACE_S):
                    await drained.wait()
                readers.cancel_scope.cancel()
            started_in_sandbox = True
            if self._status_pipe is not None:
                status_text = b""
                with contextlib.suppress(BlockingIOError):
                    status_text = os.read(self._status_pipe[0], 1 << 16)
                started_in_sandbox = b"child-pid" in status_text
        finally:
            await child.aclose(also_kill=kill_group)
        if status.exit_code == LAUNCHER_FAILED_EXIT and err.data.startswith(LAUNCHER_ERROR_PREFIX.encode()):
            raise SandboxBrokenError(err.text().strip())
        if not started_in_sandbox and not timed_out:
            raise SandboxBrokenError(f"the sandbox did not start: {err.text().strip()[:500]}")
        return RawRun(out, err, status, timed_out, duration_ms, started_in_sandbox)

    async def aclose(self) -> None:
        """Kill (if running) and reap, close every pipe, remove the cgroups. Shielded, bounded."""
        with anyio.CancelScope(shield=True):
            await self._child.aclose(also_kill=self.group.kill_all if self.group is not None else None)
            self._close_fds()
            if self.group is not None:
                self.group.remove()
                self.group = None


def classify_limit(
    *,
    timed_out: bool,
    exit_code: int,
    cpu_ms: float | None,
    stderr_tail: str,
    oom_kills: int,
    pids_refusals: int,
    truncated: bool,
    limits: Limits,
) -> LimitHit | None:
    """The first limit that ended or cut a run, if any (time, memory, cpu, file size, processes, output)."""
    if timed_out:
        return "time"
    if oom_kills > 0 or (exit_code != 0 and stderr_tail.rstrip().endswith("MemoryError")):
        return "memory"
    killed_at_cpu = exit_code == 128 + signal.SIGKILL and cpu_ms is not None and cpu_ms >= limits.cpu_s * 1000
    if exit_code == 128 + signal.SIGXCPU or killed_at_cpu:
        return "cpu"
    if exit_code == 128 + signal.SIGXFSZ:
        return "file_size"
    if pids_refusals > 0:
        return "processes"
    if truncated:
        return "output"
    return None


def to_result(raw: RawRun, *, group: RunGroup | None, limits: Limits) -> ExecutionResult:
    """An :class:`ExecutionResult` from a finished run, with a note on stderr when a limit ended it."""
    stderr = raw.stderr.text()
    group_cpu = group.cpu_ms() if group is not None else None
    cpu_ms = group_cpu if group_cpu is not None else raw.status.cpu_ms
    limit = classify_limit(
        timed_out=raw.timed_out,
        exit_code=raw.status.exit_code,
        cpu_ms=cpu_ms,
        stderr_tail=stderr[-200:],
        oom_kills=group.oom_kills() if group is not None else 0,
        pids_refusals=group.pids_refusals() if group is not None else 0,
        truncated=raw.stdout.truncated or raw.stderr.truncated,
        limits=limits,
    )
    return ExecutionResult(
        stdout=raw.stdout.text(),
        stderr=stderr + limit_note(limit, limits, raw.stdout.dropped + raw.stderr.dropped),
        exit_code=raw.status.exit_code,
        timed_out=raw.timed_out,
        truncated=raw.stdout.truncated or raw.stderr.truncated,
        duration_ms=round(raw.duration_ms, 3),
        cpu_ms=cpu_ms,
        max_rss_kb=(group.peak_memory_kb() if group is not None else None) or raw.status.max_rss_kb,
        limit=limit,
    )


def limit_note(limit: LimitHit | None, limits: Limits, dropped: int) -> str:
    """One line for the program's reader saying which limit ended or cut the run."""
    match limit:
        case None:
            return ""
        case "time":
            return "\n[sandbox] killed: wall-clock limit reached (timeout)\n"
        case "memory":
            return f"\n[sandbox] killed: memory limit of {limits.memory_mb} MB reached\n"
        case "cpu":
            return f"\n[sandbox] killed: CPU time limit of {limits.cpu_s} s reached\n"
        case "file_size":
            return f"\n[sandbox] killed: file size limit of {limits.file_size_mb} MB reached\n"
        case "processes":
            return f"\n[sandbox] note: process limit of {limits.max_procs} refused some forks\n"
        case "output":
            return f"\n[sandbox] output truncated at {limits.output_kb} KiB per stream ({dropped} bytes dropped)\n"
        case _:
            assert_never(limit)
