"""Command lines that start code inside the sandbox: a tiny ``sh`` launcher, then the isolation tool.

The launcher (dash on Debian, about a millisecond) runs with an environment of PATH/HOME/LANG
only, joins the run's cgroups, sets the rlimits and ``exec``s the next stage. Because bubblewrap
inherits that scrubbed environment, its pid-1 reaper (whose ``/proc/1/environ`` the sandboxed code
can read) holds no host secret.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tdscaling.sandbox._settings import Limits

Mechanism = Literal["bwrap", "unshare", "subprocess"]

SANDBOX_WORKSPACE = "/workspace"
LAUNCHER_ERROR_PREFIX = "tdscaling-sandbox-launcher:"
LAUNCHER_FAILED_EXIT = 125
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
_MERGED_USR_LINKS = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
_ETC_FILES = ("/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime")


@dataclass(frozen=True)
class Launch:
    """How to start one sandboxed command: argv plus the environment of the launcher."""

    argv: list[str]
    env: dict[str, str]


def sandbox_env(home: str) -> dict[str, str]:
    """The whole environment user code sees."""
    return {"PATH": SYSTEM_PATH, "HOME": home, "LANG": "C.UTF-8"}


def _fail(what: str) -> str:
    return f"{{ echo '{LAUNCHER_ERROR_PREFIX} {what}' >&2; exit {LAUNCHER_FAILED_EXIT}; }}"


def _launcher_script(
    *, limits: Limits, cgroup_procs: list[Path], cwd: Path | None, limit_address_space: bool, limit_nproc: bool
) -> str:
    lines = [f"echo $$ > {shlex.quote(str(p))} || {_fail('cannot join cgroup')}" for p in cgroup_procs]
    if cwd is not None:
        lines.append(f"cd {shlex.quote(str(cwd))} || {_fail('cannot enter workspace')}")
        lines.append("unset OLDPWD")
    lines += [
        f"ulimit -t {limits.cpu_s + 1}",
        f"ulimit -S -t {limits.cpu_s}",
        f"ulimit -f {limits.file_size_mb * 2048}",  # dash counts 512-byte blocks
        f"ulimit -n {limits.open_files}",
        "ulimit -c 0",
    ]
    if limit_address_space:
        # Only without a memory cgroup: RLIMIT_AS also caps threads' reserved stacks and arenas.
        lines.append(f"ulimit -v {limits.memory_mb * 1024}")
    if limit_nproc:
        lines.append(f"ulimit -p {limits.max_procs}")  # dash spells RLIMIT_NPROC -p
    lines.append('exec "$@"')
    return "; ".join(lines)


def _bwrap_args(*, workspace: Path, limits: Limits, seccomp_fd: int | None, status_fd: int | None) -> list[str]:
    args = [
        "--unshare-all",
        "--unshare-user",
        "--uid", "65534",
        "--gid", "65534",
        "--disable-userns",
        "--cap-drop", "ALL",
        "--die-with-parent",
        "--new-session",
        "--hostname", "sandbox",
        "--clearenv",
    ]  # fmt: skip
    for key, value in sandbox_env(SANDBOX_WORKSPACE).items():
        args += ["--setenv", key, value]
    args += ["--ro-bind", "/usr", "/usr"]
    for link in _MERGED_USR_LINKS:
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    for path in _ETC_FILES:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    args += [
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp",
        "--bind", str(workspace), SANDBOX_WORKSPACE,
        "--remount-ro", "/",  # the root tmpfs and /etc: only the workspace and /tmp stay writable
        "--chdir", SANDBOX_WORKSPACE,
    ]  # fmt: skip
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    if status_fd is not None:
        args += ["--json-status-fd", str(status_fd)]
    return [*args, "--"]


def _unshare_args(*, as_root: bool) -> list[str]:
    args = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--ipc", "--uts"]
    if not as_root:
        return [*args[:1], "--user", "--map-root-user", *args[1:], "--"]
    # As root, drop to nobody for real: then RLIMIT_NPROC applies and no capability is left.
    setpriv = [
        "setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
    ]  # fmt: skip
    return [*args, "--", *setpriv, "--"]


def build_launch(
    mechanism: Mechanism,
    command: list[str],
    *,
    workspace: Path,
    limits: Limits,
    cgroup_procs: list[Path],
    has_memory_cgroup: bool,
    seccomp_fd: int | None = None,
    status_fd: int | None = None,
    shell: str = "/bin/sh",
) -> Launch:
    """The argv and environment that run ``command`` under ``mechanism`` with every limit applied.

    ``command`` is in the sandbox's terms: the workspace is its working directory either way.
    """
    as_root = os.geteuid() == 0
    match mechanism:
        case "bwrap":
            wrapper = [
                "bwrap",
                *_bwrap_args(workspace=workspace, limits=limits, seccomp_fd=seccomp_fd, status_fd=status_fd),
            ]
            home, nproc = SANDBOX_WORKSPACE, False
        case "unshare":
            wrapper, home, nproc = _unshare_args(as_root=as_root), str(workspace), as_root
        case "subprocess":
            wrapper, home, nproc = [], str(workspace), not as_root
    script = _launcher_script(
        limits=limits,
        cgroup_procs=cgroup_procs,
        cwd=None if mechanism == "bwrap" else workspace,
        limit_address_space=not has_memory_cgroup,
        limit_nproc=nproc,
    )
    argv = [shell, "-c", script, "tdscaling-sandbox", *wrapper, *command]
    return Launch(argv=argv, env=sandbox_env(home))
