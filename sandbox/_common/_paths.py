"""Paths from the command line, checked before any work starts: one line naming the path and the fix.

Each check creates nothing and leaves nothing behind; it answers "would writing here work?" using the
path's nearest existing ancestor, so ``README.md/run`` (a file in the way), ``/proc/x`` (a file system
that refuses) and a read-only directory are caught before a run has done anything.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import BadPathError


def _existing_ancestor(path: Path) -> Path:
    """The nearest ancestor of ``path`` (itself included) that exists, or a file standing where a directory
    must be."""
    current = path.absolute()
    while not os.path.lexists(current) and current != current.parent:
        current = current.parent
    return current


def _creatable_under(path: Path, *, flag: str) -> None:
    """``path`` does not exist: it can be made when its nearest existing ancestor is a writable directory."""
    ancestor = _existing_ancestor(path.parent)
    if not ancestor.is_dir():
        raise BadPathError(f"{flag} {path}: {ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise BadPathError(f"{flag} {path}: cannot create anything in {ancestor} (not writable)")
    if _refuses_new_names(ancestor):  # /proc and /sys pass the access check and refuse every new name
        raise BadPathError(f"{flag} {path}: {ancestor} does not take new files")


_PSEUDO_FILE_SYSTEMS = frozenset({"proc", "sysfs", "cgroup", "cgroup2", "devpts", "securityfs", "debugfs",
                                  "tracefs", "configfs", "pstore", "bpf", "efivarfs"})


def _refuses_new_names(directory: Path) -> bool:
    """True when ``directory`` lies on a kernel pseudo file system, where ordinary files cannot be made."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    best, kind = "", ""
    resolved = str(directory.resolve())
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind in _PSEUDO_FILE_SYSTEMS


def _exists(path: Path, *, flag: str) -> bool:
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as e:
        raise BadPathError(f"{flag} {path}: {e.strerror or e}") from None
    return True


def check_output_dir(path: Path, *, flag: str) -> None:
    """``path`` is, or can be made as, a directory this process can write in."""
    if _exists(path, flag=flag):
        if not path.is_dir():
            raise BadPathError(f"{flag} {path}: is a file; {flag} takes a directory")
        if not os.access(path, os.W_OK | os.X_OK):
            raise BadPathError(f"{flag} {path}: the directory is not writable")
        return
    _creatable_under(path, flag=flag)


def check_output_file(path: Path, *, flag: str) -> None:
    """``path`` is, or can be made as, a regular file this process can write (its parents may be made)."""
    if _exists(path, flag=flag):
        if path.is_dir():
            raise BadPathError(f"{flag} {path}: is a directory; {flag} takes a file")
        if not os.access(path, os.W_OK):
            raise BadPathError(f"{flag} {path}: the file is not writable")
        return
    _creatable_under(path, flag=flag)
