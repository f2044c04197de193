"""A long-lived Python worker inside the sandbox that keeps variables between calls (notebook-like)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from importlib import resources

import anyio

from tdscaling.sandbox._cgroups import RunGroup
from tdscaling.sandbox._launch import Launch
from tdscaling.sandbox._process import CappedBuffer, Child, drain_now, nonblocking_pipe, pump
from tdscaling.sandbox._results import ExecutionResult
from tdscaling.sandbox._settings import Limits
from tdscaling.sandbox._supervise import classify_limit, limit_note

_HARD_KILL_GRACE_S = 2.0  # after the soft SIGALRM interrupt, before the worker is killed
_STARTUP_TIMEOUT_S = 15.0


def worker_source() -> str:
    """The worker program, passed to the sandbox's interpreter with ``-c``."""
    return resources.files("tdscaling.sandbox").joinpath("_worker_main.py").read_text()


# (command, group) -> the launch and extra fds for the child (target -> ours; closed after the spawn)
LaunchFactory = Callable[[list[str], RunGroup | None], tuple[Launch, dict[int, int]]]


class PersistentWorker:
    """One sandboxed interpreter. ``run`` executes a cell; a dead or killed worker is restarted lazily."""

    def __init__(
        self, *, python: str, limits: Limits, make_launch: LaunchFactory, new_group: Callable[[], RunGroup | None]
    ) -> None:
        self._python = python
        self._limits = limits
        self._make_launch = make_launch
        self._new_group = new_group
        self._child: Child | None = None
        self._group: RunGroup | None = None
        self._fds: dict[str, int] = {}

    @property
    def alive(self) -> bool:
        return self._child is not None and self._child.status is None

    async def _start(self) -> None:
        group = self._new_group()
        request_r, request_w = os.pipe2(os.O_CLOEXEC)
        out_r, out_w = nonblocking_pipe()
        err_r, err_w = nonblocking_pipe()
        reply_r, reply_w = nonblocking_pipe()
        os.set_blocking(request_w, False)
        command = [self._python, "-E", "-s", "-c", worker_source()]
        extra: dict[int, int] = {}
        try:
            launch, extra = self._make_launch(command, group)
            self._child = Child(launch, {0: request_r, 1: out_w, 2: err_w, 3: reply_w, **extra})
        except BaseException:
            for fd in (request_w, out_r, err_r, reply_r):
                os.close(fd)
            if group is not None:
                group.remove()
            raise
        finally:
            for fd in (request_r, out_w, err_w, reply_w, *extra.values()):
                os.close(fd)
        self._group = group
        self._fds = {"request": request_w, "stdout": out_r, "stderr": err_r, "reply": reply_r}

    async def _send(self, payload: bytes) -> None:
        fd = self._fds["request"]
        view = memoryview(payload)
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                await anyio.wait_writable(fd)

    async def _read_reply(self) -> bytes | None:
        fd, line = self._fds["reply"], bytearray()
        while not line.endswith(b"\n"):
            try:
                chunk = os.read(fd, 4096)
            except BlockingIOError:
                await anyio.wait_readable(fd)
                continue
            if not chunk:
                return None
            line += chunk
        return bytes(line)

    async def run(self, code: str, *, timeout_s: float, output_cap: int) -> ExecutionResult:
        """Run one cell; never raises for the cell's own failure."""
        fresh = not self.alive
        if fresh:
            await self.aclose()
            await self._start()
        out, err = CappedBuffer(output_cap), CappedBuffer(output_cap)
        drain_now(self._fds["stdout"], out)  # output a background thread wrote since the last cell
        drain_now(self._fds["stderr"], err)
        group = self._group
        oom_before = group.oom_kills() if group else 0
        pids_before = group.pids_refusals() if group else 0
        started = time.perf_counter()
        reply: bytes | None = None
        try:
            async with anyio.create_task_group() as readers:
                readers.start_soon(pump, self._fds["stdout"], out)
                readers.start_soon(pump, self._fds["stderr"], err)
                budget = timeout_s + _HARD_KILL_GRACE_S + (_STARTUP_TIMEOUT_S if fresh else 0.0)
                with anyio.move_on_after(budget) as deadline:
                    await self._send(json.dumps({"code": code, "timeout_s": timeout_s}).encode() + b"\n")
                    reply = await self._read_reply()
                if reply is None:
                    await self._kill()
                drain_now(self._fds["stdout"], out)
                drain_now(self._fds["stderr"], err)
                readers.cancel_scope.cancel()
        except BaseException:
            await self.aclose()
            raise
        duration_ms = (time.perf_counter() - started) * 1000
        oom = (group.oom_kills() if group else 0) - oom_before
        pids_refused = (group.pids_refusals() if group else 0) - pids_before
        cpu_ms: float | None
        rss: int | None
        blinded = False
        if reply is not None:
            fields = json.loads(reply)
            exit_code, timed_out = int(fields["exit_code"]), bool(fields["timed_out"])
            cpu_ms, rss = float(fields["cpu_ms"]), int(fields["max_rss_kb"])
            blinded = bool(fields.get("blinded"))
            if blinded:  # the worker is exiting: later cells would have run with no output at all
                await self.aclose()
        else:
            status = self._child.status if self._child else None
            exit_code = status.exit_code if status else 137
            timed_out = deadline.cancelled_caught
            cpu_ms = status.cpu_ms if status else None
            rss = status.max_rss_kb if status else None
            await self.aclose()
        limit = classify_limit(
            timed_out=timed_out,
            exit_code=exit_code,
            cpu_ms=cpu_ms,
            stderr_tail=err.text()[-200:],
            oom_kills=oom,
            pids_refusals=pids_refused,
            truncated=out.truncated or err.truncated,
            limits=self._limits,
        )
        restarted = reply is None or blinded
        note = ""
        if blinded:
            note = ("[sandbox] the cell closed or replaced stdout/stderr (fd 1 or 2), which would hide every later "
                    "cell's output; the interpreter was restarted: variables from earlier cells are gone\n")
        elif restarted:
            note = "[sandbox] the interpreter was restarted: variables from earlier cells are gone\n"
        return ExecutionResult(
            stdout=out.text(),
            stderr=err.text() + limit_note(limit, self._limits, out.dropped + err.dropped) + note,
            exit_code=exit_code,
            timed_out=timed_out,
            truncated=out.truncated or err.truncated,
            duration_ms=round(duration_ms, 3),
            cpu_ms=cpu_ms,
            max_rss_kb=rss,
            limit=limit,
            interpreter_restarted=restarted,
        )

    async def _kill(self) -> None:
        if self._child is not None:
            await self._child.aclose(also_kill=self._group.kill_all if self._group else None)

    async def aclose(self) -> None:
        """Kill the worker and free its pipes and cgroup (shielded, bounded)."""
        with anyio.CancelScope(shield=True):
            await self._kill()
            for fd in self._fds.values():
                os.close(fd)
            self._fds = {}
            if self._group is not None:
                self._group.remove()
            self._group = None
            self._child = None
