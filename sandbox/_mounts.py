"""A size-capped tmpfs per session workspace, where this host lets the server mount one.

A workspace on the host disk was capped only per file (RLIMIT_FSIZE): a program filled 1.5 GiB with many
files. A tmpfs of ``workspace_mb`` mounted on the session's directory caps the whole workspace (writes past
it fail with ENOSPC inside the sandbox) and is bound into the sandbox like any directory. Mounting needs
root (CAP_SYS_ADMIN); ``tmpfs_works`` tries it once at start and the isolation report says when it is not
available. The calls go to libc through ctypes: Python has no ``mount``, and a ``mount`` process per
session would cost milliseconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import tempfile
from functools import cache
from pathlib import Path

from tdscaling.sandbox._ownership import owned_prefix

_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MNT_DETACH = 0x2
_INODES_PER_MB = 256  # inodes cost memory that "size" does not count; 64k for a 256 MB workspace


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def mount_tmpfs(target: Path, *, size_mb: int, owner: tuple[int, int] | None = None) -> None:
    """Mount a tmpfs of ``size_mb`` on the directory ``target`` (nosuid, nodev); ``OSError`` if refused."""
    options = f"size={size_mb}m,nr_inodes={max(1024, size_mb * _INODES_PER_MB)},mode=0755"
    if owner is not None:
        options += f",uid={owner[0]},gid={owner[1]}"
    if _libc().mount(b"tdscaling-workspace", os.fsencode(target), b"tmpfs", _MS_NOSUID | _MS_NODEV,
                     options.encode()) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), str(target))


def unmount(target: Path) -> None:
    """Detach the mount on ``target`` (lazily: a process still inside cannot keep it); ``OSError`` if refused."""
    if _libc().umount2(os.fsencode(target), _MNT_DETACH) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), str(target))


def is_mount_point(path: Path) -> bool:
    """True when something is mounted on ``path`` itself."""
    try:
        return os.path.ismount(path)
    except OSError:
        return False


def tmpfs_works() -> tuple[bool, str]:
    """Try to mount and unmount a small tmpfs now; (works, why not)."""
    with tempfile.TemporaryDirectory(prefix=owned_prefix("probe")) as probe:
        try:
            mount_tmpfs(Path(probe), size_mb=1)
        except OSError as e:
            return False, f"mounting a tmpfs is refused here ({e.strerror}; it needs root or CAP_SYS_ADMIN)"
        try:
            unmount(Path(probe))
        except OSError as e:
            return False, f"a tmpfs could be mounted but not unmounted ({e.strerror})"
    return True, "works"


def mounts_under(directory: Path) -> list[Path]:
    """Mount points strictly inside ``directory``, deepest first (for removing what a killed server left)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    prefix = str(directory).rstrip("/") + "/"
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) > 4:
            point = fields[4].replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
            if point.startswith(prefix):
                found.append(Path(point))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)
