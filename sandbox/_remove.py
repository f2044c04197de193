"""Remove a directory tree at any depth without leaving the directory it lives in.

The walk holds two descriptors at a time and goes down with ``openat(O_NOFOLLOW)`` and back up through
``..``, checking on the way up that ``..`` is the very directory it came from (device and inode), so no
recursion limit applies (a 3,000-deep tree made ``shutil.rmtree``-style recursion fail), a symlink is
removed as a link and never followed, and a directory moved away mid-walk stops the walk instead of
leading it elsewhere. Nothing outside ``parent/name`` is ever touched.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from tdscaling.sandbox._errors import SandboxBrokenError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _identity(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def _open_dir(parent_fd: int, name: str) -> int:
    """Open ``name`` under ``parent_fd`` as a directory, never through a symlink; make it readable if need be."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except PermissionError:  # a program chmod-ed it to 000 (a root server is not stopped by that)
        handle = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
        try:
            os.chmod(f"/proc/self/fd/{handle}", 0o700)  # the directory itself, not what a name points to
        finally:
            os.close(handle)
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)


def _clear_files(fd: int) -> str | None:
    """Unlink every non-directory in ``fd``; return one subdirectory's name, or None once it is empty."""
    if stat.S_IMODE(os.fstat(fd).st_mode) & 0o700 != 0o700:
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o700)
    while True:
        removed = False
        with os.scandir(fd) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    return entry.name
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.name, dir_fd=fd)
                removed = True
        if not removed:
            return None


def _empty(parent_fd: int, name: str) -> None:
    """Delete everything inside the directory ``name`` of ``parent_fd``, depth first."""
    current = _open_dir(parent_fd, name)
    trail: list[tuple[str, tuple[int, int]]] = []  # (subdirectory entered, identity of the one it is in)
    try:
        while True:
            sub = _clear_files(current)
            if sub is not None:
                child = _open_dir(current, sub)
                trail.append((sub, _identity(current)))
                os.close(current)
                current = child
                continue
            if not trail:
                return
            sub, expected = trail.pop()
            up = os.open("..", _DIR_FLAGS, dir_fd=current)
            if _identity(up) != expected:
                os.close(up)
                raise SandboxBrokenError(f"a directory under {name!r} was moved while it was being removed; stopped")
            os.close(current)
            current = up
            os.rmdir(sub, dir_fd=current)
    finally:
        os.close(current)


def remove_tree(parent: Path, name: str) -> bool:
    """Delete ``parent/name``: a file, a symlink (not its target) or a directory tree of any depth.

    Returns False when there was nothing to delete. Raises ``OSError`` or ``SandboxBrokenError`` when it
    cannot finish; callers at exit log that instead of raising.
    """
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"remove_tree takes one entry name, got {name!r}")
    top = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            info = os.stat(name, dir_fd=top, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(info.st_mode):
            _empty(top, name)
            os.rmdir(name, dir_fd=top)
        else:
            os.unlink(name, dir_fd=top)
        return True
    finally:
        os.close(top)
