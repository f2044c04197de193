"""Removing what killed sandboxes left: temp roots (with their workspace mounts) and cgroups.

The names say whose they are (``_ownership``); ``remove_leftovers`` removes exactly those whose owner no
longer runs (and only ones this user owns), unmounting workspace tmpfs mounts first. A live process's
sandbox is never touched.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from tdscaling.sandbox._cgroups import remove_stale_parents
from tdscaling.sandbox._errors import SandboxError
from tdscaling.sandbox._mounts import mounts_under, unmount
from tdscaling.sandbox._ownership import OWNED_NAME, pid_alive
from tdscaling.sandbox._remove import remove_tree

logger = logging.getLogger(__name__)


def _dead_owner(entry: Path) -> bool:
    found = OWNED_NAME.fullmatch(entry.name)
    if found is None or not entry.is_dir() or entry.is_symlink():
        return False
    return entry.stat().st_uid == os.geteuid() and not pid_alive(int(found.group(1)))


def remove_leftovers(*, temp_dir: Path | None = None) -> list[Path]:
    """Remove the temp roots (unmounting their workspaces) and cgroups that sandboxes of dead processes left.

    ``temp_dir`` defaults to the temp directory (``TMPDIR``). Returns what was removed; what cannot be removed
    is logged and left.
    """
    base = Path(temp_dir or tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = sorted(base.iterdir())
    except OSError as e:
        logger.warning("cannot look for sandbox leftovers in %s: %s", base, e)
        entries = []
    for entry in entries:
        try:
            if not _dead_owner(entry):
                continue
            for mount in mounts_under(entry):
                unmount(mount)
            remove_tree(base, entry.name)
        except (OSError, SandboxError) as e:
            logger.warning("cannot remove the sandbox leftover %s: %s", entry, e)
            continue
        removed.append(entry)
    removed += remove_stale_parents(pid_alive, OWNED_NAME)
    return removed
