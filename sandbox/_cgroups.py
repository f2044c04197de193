"""cgroup v1 ``memory`` and ``pids`` groups for sandboxed runs, created under the server's own cgroup.

Groups are made below the cgroup the server already runs in, so whoever confines the server keeps
confining its sandboxes. A run's processes join the group from the launcher (``echo $$ > procs``)
before bubblewrap starts, so every descendant is counted and can be killed, including daemons that
left the process group. Everything here is a few small sysfs writes: synchronous on purpose.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_CONTROLLERS = ("memory", "pids", "cpuacct")


def _v1_mounts(mountinfo: str) -> dict[str, Path]:
    mounts: dict[str, Path] = {}
    for line in mountinfo.splitlines():
        pre, _, post = line.partition(" - ")
        fields, post_fields = pre.split(), post.split()
        if len(post_fields) < 3 or post_fields[0] != "cgroup":
            continue
        for option in post_fields[2].split(","):
            if option in _CONTROLLERS:
                mounts[option] = Path(fields[4])
    return mounts


def _own_paths(proc_cgroup: str) -> dict[str, str]:
    paths: dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                paths[controller] = parts[2]
    return paths


def _own_bases() -> list[Path]:
    """Where this process's groups live, one directory per writable v1 controller (parents are made inside)."""
    try:
        mountinfo = Path("/proc/self/mountinfo").read_text()
        own = _own_paths(Path("/proc/self/cgroup").read_text())
    except OSError:
        return []
    return [mount / own.get(controller, "/").lstrip("/") for controller, mount in _v1_mounts(mountinfo).items()]


def owned_cgroups(pid: int) -> list[Path]:
    """The cgroups the sandboxes of process ``pid`` hold under this process's own cgroups (a killed run's are
    what ``remove_leftovers`` removes)."""
    prefix = f"tdscaling-sandbox-{pid}-"
    return [p for base in _own_bases() if base.is_dir() for p in base.iterdir() if p.name.startswith(prefix)]


def _kill_members(group: Path) -> bool:
    """SIGKILL every process in ``group``; True when there were any."""
    try:
        members = [int(pid) for pid in (group / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return False
    for pid in members:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return bool(members)


def _remove_group(group: Path) -> None:
    """Kill what is in ``group`` and remove it; a group whose last process is still exiting is retried."""
    for _ in range(1000):
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY:
                return
            _kill_members(group)


def remove_stale_parents(alive: Callable[[int], bool], owned: re.Pattern[str]) -> list[Path]:
    """Remove parent groups named by ``owned`` (group 1: the owner's pid) whose owner is not ``alive``,
    with every run group inside them (their processes are killed first)."""
    removed = []
    for base in _own_bases():
        try:
            children = sorted(p for p in base.iterdir() if p.is_dir())
        except OSError:
            continue
        for parent in children:
            found = owned.fullmatch(parent.name)
            if found is None or alive(int(found.group(1))):
                continue
            for group in [p for p in parent.iterdir() if p.is_dir()]:
                _remove_group(group)
            _remove_group(parent)
            if not parent.exists():
                removed.append(parent)
    return removed


@dataclass
class CgroupParent:
    """The server's private parent groups, one per available controller."""

    memory: Path | None
    pids: Path | None
    cpuacct: Path | None = None

    @classmethod
    def create(cls, tag: str) -> CgroupParent:
        """Make ``<own cgroup>/<tag>`` in each writable v1 controller; skip the rest."""
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
            own = _own_paths(Path("/proc/self/cgroup").read_text())
        except OSError:
            return cls(memory=None, pids=None)
        made: dict[str, Path | None] = {}
        for controller, mount in _v1_mounts(mountinfo).items():
            path = mount / own.get(controller, "/").lstrip("/") / tag
            try:
                path.mkdir(exist_ok=True)
            except OSError:
                continue
            made[controller] = path
        return cls(memory=made.get("memory"), pids=made.get("pids"), cpuacct=made.get("cpuacct"))

    def new_group(self, *, memory_bytes: int | None, max_procs: int | None) -> RunGroup:
        """A fresh group for one run (or one persistent worker) with the limits set."""
        name = uuid.uuid4().hex[:16]
        group = RunGroup(
            memory=self.memory / name if self.memory else None,
            pids=self.pids / name if self.pids else None,
            cpuacct=self.cpuacct / name if self.cpuacct else None,
        )
        try:
            if group.cpuacct is not None:
                group.cpuacct.mkdir()
            if group.memory is not None:
                group.memory.mkdir()
                if memory_bytes is not None:
                    (group.memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
                    with contextlib.suppress(OSError):  # absent when swap accounting is off
                        (group.memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
            if group.pids is not None:
                group.pids.mkdir()
                if max_procs is not None:
                    (group.pids / "pids.max").write_text(str(max_procs))
        except OSError:
            group.remove()
            raise
        return group

    def remove(self) -> None:
        """Remove the parent groups (children must be gone)."""
        for path in (self.memory, self.pids, self.cpuacct):
            if path is not None:
                with contextlib.suppress(OSError):
                    path.rmdir()


@dataclass
class RunGroup:
    """One run's groups. ``procs_files`` are what the launcher writes its pid into."""

    memory: Path | None
    pids: Path | None
    cpuacct: Path | None = None

    @property
    def procs_files(self) -> list[Path]:
        return [p / "cgroup.procs" for p in (self.memory, self.pids, self.cpuacct) if p is not None]

    def cpu_ms(self) -> float | None:
        """CPU time used by every process that ever ran in the group (killed ones included)."""
        if self.cpuacct is None:
            return None
        try:
            return round(int((self.cpuacct / "cpuacct.usage").read_text()) / 1e6, 3)
        except (OSError, ValueError):
            return None

    def peak_memory_kb(self) -> int | None:
        """Peak memory of the whole group (the rusage peak would include the server, inherited over vfork)."""
        if self.memory is None:
            return None
        try:
            return int((self.memory / "memory.max_usage_in_bytes").read_text()) // 1024
        except (OSError, ValueError):
            return None

    def oom_kills(self) -> int:
        """How many processes the kernel killed at this group's memory limit."""
        if self.memory is None:
            return 0
        try:
            text = (self.memory / "memory.oom_control").read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def memory_failures(self) -> int:
        """How many times an allocation hit the memory limit (a kill is likelier than not)."""
        if self.memory is None:
            return 0
        try:
            return int((self.memory / "memory.failcnt").read_text())
        except (OSError, ValueError):
            return 0

    def pids_refusals(self) -> int:
        """How many forks the pids limit refused."""
        if self.pids is None:
            return 0
        try:
            return int((self.pids / "pids.events").read_text().split()[-1])
        except (OSError, ValueError, IndexError):
            return 0

    def _members(self) -> set[int]:
        members: set[int] = set()
        for procs in self.procs_files:
            with contextlib.suppress(OSError, ValueError):
                members.update(int(pid) for pid in procs.read_text().split())
        return members

    def kill_all(self) -> None:
        """SIGKILL every member until the group is empty (forks racing the kill are caught next round)."""
        for _ in range(100):
            members = self._members()
            if not members:
                return
            for pid in members:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        """Kill what is left and remove the groups; a group whose last process is still exiting is retried."""
        self.kill_all()
        for path in (self.memory, self.pids, self.cpuacct):
            if path is not None:
                _remove_group(path)
