"""Detect, at start, the strongest local isolation this host allows, by trying each recipe for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tdscaling.sandbox._backend import IsolationReport, Layer
from tdscaling.sandbox._cgroups import CgroupParent
from tdscaling.sandbox._launch import Mechanism, build_launch
from tdscaling.sandbox._mounts import tmpfs_works
from tdscaling.sandbox._ownership import owned_prefix
from tdscaling.sandbox._seccomp import deny_unix_sockets_bpf, seccomp_supported
from tdscaling.sandbox._settings import IsolationLevel, Limits, SandboxSettings

_PROBE_TIMEOUT_S = 10.0
_LEVEL_OF: dict[Mechanism, IsolationLevel] = {"bwrap": "strong", "unshare": "weak", "subprocess": "none"}
_SECCOMP_TARGET_FD = 4


@dataclass(frozen=True)
class LocalCapabilities:
    """What the local backend may use, as probed."""

    mechanism: Mechanism
    seccomp: bool
    memory_cgroup: bool
    pids_cgroup: bool
    report: IsolationReport
    workspace_tmpfs: bool = False


def _probe(mechanism: Mechanism, *, python: str, seccomp: bool) -> tuple[bool, str]:
    """Run ``python -c pass`` under ``mechanism`` exactly as executions will; (works, why not)."""
    if mechanism == "bwrap" and shutil.which("bwrap") is None:
        return False, "bwrap is not installed (apt-get install bubblewrap)"
    if mechanism == "unshare" and shutil.which("unshare") is None:
        return False, "unshare is not installed"
    with tempfile.TemporaryDirectory(prefix=owned_prefix("probe")) as workspace:
        if mechanism == "unshare" and os.geteuid() == 0:
            os.chown(workspace, 65534, 65534)
        launch = build_launch(
            mechanism,
            [python, "-E", "-s", "-c", "pass"],
            workspace=Path(workspace),
            limits=Limits(),
            cgroup_procs=[],
            has_memory_cgroup=True,
            seccomp_fd=_SECCOMP_TARGET_FD if seccomp else None,
        )
        read_end, write_end = os.pipe()
        try:
            if seccomp:
                os.write(write_end, deny_unix_sockets_bpf())
            os.close(write_end)
            write_end = -1
            fd_map = f"exec {_SECCOMP_TARGET_FD}<&{read_end}; " if seccomp else ""
            argv = ["/bin/sh", "-c", fd_map + 'exec "$@"', "probe", *launch.argv]
            done = subprocess.run(
                argv, env=launch.env, pass_fds=[read_end], capture_output=True, timeout=_PROBE_TIMEOUT_S
            )
        except (OSError, subprocess.SubprocessError) as e:
            return False, f"{mechanism} failed to run: {e}"
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)
    if done.returncode != 0:
        return False, f"{mechanism} failed: {done.stderr.decode(errors='replace').strip()[:300]}"
    return True, "works"


def detect_local(settings: SandboxSettings, *, only: Mechanism | None = None) -> LocalCapabilities:
    """Try bubblewrap, then ``unshare``, then a plain subprocess; report every layer and why.

    ``only`` skips the stronger mechanisms (for tests and the benchmark's layer-by-layer costs).
    """
    python = str(settings.python)
    layers: list[Layer] = []
    warnings: list[str] = []
    seccomp = False
    mechanism: Mechanism = "subprocess"
    if only in (None, "bwrap"):
        ok, why = _probe("bwrap", python=python, seccomp=False)
    else:
        ok, why = False, f"skipped: only {only!r} was asked for"
    if ok:
        mechanism = "bwrap"
        if seccomp_supported():
            seccomp, seccomp_why = _probe("bwrap", python=python, seccomp=True)
        else:
            seccomp_why = "seccomp filter only built for x86-64"
        layers.append(
            Layer(name="bubblewrap", active=True, detail="user, pid, net, ipc, uts, cgroup, mount namespaces")
        )
        layers.append(Layer(name="no network", active=True, detail="empty network namespace: no loopback, no DNS"))
        layers.append(
            Layer(
                name="filesystem",
                active=True,
                detail="read-only /usr; workspace the only writable bind; private /tmp tmpfs",
            )
        )
        layers.append(
            Layer(
                name="unprivileged uid",
                active=True,
                detail="uid/gid 65534, all capabilities dropped, no new user namespaces",
            )
        )
        layers.append(
            Layer(name="seccomp: no AF_UNIX sockets", active=seccomp, detail="works" if seccomp else seccomp_why)
        )
        if not seccomp:
            warnings.append("no seccomp filter; host Unix sockets are hidden only by not being mounted")
    else:
        layers.append(Layer(name="bubblewrap", active=False, detail=why))
        if only in (None, "bwrap", "unshare"):
            ok, why = _probe("unshare", python=python, seccomp=False)
        else:
            ok, why = False, f"skipped: only {only!r} was asked for"
        layers.append(
            Layer(name="unshare namespaces", active=ok, detail="pid, net, ipc, uts namespaces" if ok else why)
        )
        if ok:
            mechanism = "unshare"
            warnings.append(
                "WEAK ISOLATION: no network and a private pid namespace, but the host filesystem is visible "
                "(world-readable files can be read). Install bubblewrap for strong isolation."
            )
        else:
            warnings.append(
                "NO ISOLATION: code runs as a plain subprocess with this server's user, files and network. "
                "Only rlimits and the wall-clock kill apply. Do not run untrusted code."
            )
    probe_parent = CgroupParent.create(owned_prefix("probe") + "cgroup")
    memory_cgroup, pids_cgroup = probe_parent.memory is not None, probe_parent.pids is not None
    probe_parent.remove()
    layers.append(
        Layer(
            name="memory cgroup",
            active=memory_cgroup,
            detail="cgroup v1 memory limit (OOM kill at the limit)"
            if memory_cgroup
            else "not writable here; RLIMIT_AS is used instead",
        )
    )
    layers.append(
        Layer(
            name="pids cgroup",
            active=pids_cgroup,
            detail="caps processes and threads; kills the whole tree"
            if pids_cgroup
            else "not writable here; processes are not capped",
        )
    )
    workspace_tmpfs, tmpfs_why = tmpfs_works()
    layers.append(
        Layer(
            name="workspace size cap",
            active=workspace_tmpfs,
            detail=f"a tmpfs of {settings.limits.workspace_mb} MB per session workspace"
            if workspace_tmpfs
            else f"{tmpfs_why}: the workspace is capped only per file ({settings.limits.file_size_mb} MB)",
        )
    )
    if not workspace_tmpfs:
        warnings.append("no workspace size cap: a program can fill the host disk with many files")
    layers.append(Layer(name="rlimits", active=True, detail="CPU seconds, file size, open files, no core dumps"))
    layers.append(
        Layer(
            name="wall-clock kill",
            active=True,
            detail="whole process tree"
            + (" (pid namespace)" if mechanism != "subprocess" else " (process group and cgroup only)"),
        )
    )
    if not pids_cgroup:
        warnings.append("no pids cgroup: a fork bomb is not capped (the pid namespace still kills it at the end)")
    if not memory_cgroup:
        warnings.append("no memory cgroup: memory is capped by RLIMIT_AS, which also limits threads")
    report = IsolationReport(
        backend="local",
        mechanism=mechanism,
        level=_LEVEL_OF[mechanism],
        layers=layers,
        warnings=warnings,
        interpreter=python,
    )
    return LocalCapabilities(mechanism, seccomp, memory_cgroup, pids_cgroup, report, workspace_tmpfs)
