"""File access confined to one session workspace: relative paths only, no ``..``, no symlinks followed.

Every lookup walks the path one component at a time with ``openat(O_NOFOLLOW)`` from a descriptor of
the workspace, so a symlink the sandboxed code planted (even one swapped in mid-call) can never lead
the server outside. Each refusal says what is allowed. The listing walks the same way, without
recursion, and stops at ``_MAX_PARTS`` levels (deeper entries cannot be named by the file tools anyway).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from tdscaling.sandbox._errors import SandboxBrokenError, SandboxUsageError, WorkspacePathError
from tdscaling.sandbox._session_id import SessionId

ALLOWED = "paths are relative to the session workspace, without '..' and not through symlinks"
_MAX_PARTS = 64
_MAX_LIST = 2000
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class FileInfo(BaseModel):
    """One entry of a workspace listing."""

    path: str
    kind: str  # "file", "dir", "symlink" or "other"
    size: int


def split_path(path: str) -> list[str]:
    """The components of a workspace path, or :class:`WorkspacePathError` with what is allowed."""
    if not path or "\x00" in path:
        raise WorkspacePathError(f"empty or NUL-containing path; {ALLOWED}")
    if path.startswith("/"):
        raise WorkspacePathError(f"absolute path {path!r} refused; {ALLOWED}")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise WorkspacePathError(f"path {path!r} contains '..'; {ALLOWED}")
    if not parts:
        raise WorkspacePathError(f"path {path!r} names the workspace itself; name a file in it")
    if len(parts) > _MAX_PARTS or any(len(p.encode()) > 255 for p in parts):
        raise WorkspacePathError(f"path {path[:80]!r}... is too long")
    return parts


def _open_dir(root: Path, parts: list[str], *, create: bool) -> int:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            try:
                next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except FileNotFoundError as e:
                raise SandboxUsageError(f"no directory {part!r} in the workspace") from e
            except (NotADirectoryError, OSError) as e:
                raise WorkspacePathError(f"{part!r} is not a plain directory (symlink or file); {ALLOWED}") from e
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_file(root: Path, path: str, data: bytes, *, owner: tuple[int, int] | None = None) -> None:
    """Create or replace ``path`` in the workspace with ``data``; parent directories are created."""
    parts = split_path(path)
    dir_fd = _open_dir(root, parts[:-1], create=True)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(parts[-1], flags, 0o644, dir_fd=dir_fd)
        except OSError as e:
            raise WorkspacePathError(f"cannot write {path!r}: {e.strerror}; {ALLOWED}") from e
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise WorkspacePathError(f"{path!r} exists and is not a regular file")
            if owner is not None:
                os.fchown(fd, *owner)
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(fd, view) :]
            except OSError as e:  # ENOSPC: the workspace's size cap; EFBIG: the file size limit
                with contextlib.suppress(OSError):
                    os.unlink(parts[-1], dir_fd=dir_fd)  # no half-written file is left behind
                raise SandboxUsageError(f"cannot write {path!r}: {e.strerror} (the workspace is full)") from e
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)


def read_file(root: Path, path: str, *, max_bytes: int) -> bytes:
    """The content of regular file ``path``; refuses symlinks, FIFOs, devices and files over ``max_bytes``."""
    parts = split_path(path)
    dir_fd = _open_dir(root, parts[:-1], create=False)
    try:
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
        except FileNotFoundError as e:
            raise SandboxUsageError(f"no file {path!r} in the workspace") from e
        except OSError as e:
            raise WorkspacePathError(f"cannot read {path!r}: {e.strerror}; {ALLOWED}") from e
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise WorkspacePathError(f"{path!r} is not a regular file")
            if info.st_size > max_bytes:
                raise SandboxUsageError(f"{path!r} has {info.st_size} bytes; the file tools move at most {max_bytes}")
            chunks, total = [], 0
            while chunk := os.read(fd, 1 << 20):
                total += len(chunk)
                if total > max_bytes:
                    raise SandboxUsageError(f"{path!r} grew past {max_bytes} bytes while being read")
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)


def session_dir(root: Path, session_id: SessionId, *, owner: tuple[int, int] | None = None) -> Path:
    """The workspace of ``session_id``: a real directory directly under ``root`` (made if missing).

    ``root/session_id`` must resolve to an entry of ``root`` itself, and an existing entry must be a
    directory, not a symlink (a planted link would be bound into the sandbox, or deleted through).
    """
    name = SessionId(session_id)
    workspace = root / name
    if workspace.resolve(strict=False).parent != root.resolve():
        raise SandboxBrokenError(f"the workspace of {name!r} would not lie directly in {root}")
    top = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o755, dir_fd=top)
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=top)
        except OSError as e:
            raise SandboxBrokenError(f"{workspace} is not a plain directory ({e.strerror}); refusing to use it") from e
        try:
            if owner is not None:
                os.fchown(fd, *owner)
        finally:
            os.close(fd)
    finally:
        os.close(top)
    return workspace


def _entries(fd: int) -> Iterator[os.DirEntry[str]]:
    """A directory's entries by name, at most as many as a listing can show."""
    with os.scandir(fd) as found:
        return iter(sorted(itertools.islice(found, _MAX_LIST + 1), key=lambda e: e.name))


def _info(entry: os.DirEntry[str], rel: str) -> FileInfo:
    if entry.is_symlink():
        return FileInfo(path=rel, kind="symlink", size=0)
    if entry.is_dir(follow_symlinks=False):
        return FileInfo(path=rel, kind="dir", size=0)
    info = entry.stat(follow_symlinks=False)
    if stat.S_ISREG(info.st_mode):
        return FileInfo(path=rel, kind="file", size=info.st_size)
    return FileInfo(path=rel, kind="other", size=0)


def list_files(root: Path) -> tuple[list[FileInfo], bool]:
    """Every entry under the workspace (symlinks listed, never followed) and whether the list was cut.

    Depth first in name order, without recursion; it is cut at ``_MAX_LIST`` entries and does not go
    below ``_MAX_PARTS`` levels.
    """
    found: list[FileInfo] = []
    top = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    stack: list[tuple[int, str, Iterator[os.DirEntry[str]]]] = [(top, "", iter(()))]
    try:
        stack[0] = (top, "", _entries(top))
        while stack:
            fd, prefix, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                os.close(fd)
                stack.pop()
                continue
            if len(found) >= _MAX_LIST:
                return found, True
            item = _info(entry, prefix + entry.name)
            found.append(item)
            if item.kind != "dir":
                continue
            if len(stack) >= _MAX_PARTS:
                return found, True
            try:
                child = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                continue  # swapped for a symlink, removed, or unreadable since it was read: not followed
            stack.append((child, item.path + "/", _entries(child)))
        return found, False
    finally:
        for fd, _, _ in stack:
            os.close(fd)
