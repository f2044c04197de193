"""Names that say which process owns a sandbox's temp directory or cgroup, so a killed one's can be found.

Every temp directory and cgroup a sandbox makes starts with ``tdscaling-sandbox-[probe-]<pid>-``. A process
killed with ``kill -9`` cannot clean up; its names stay behind with a pid that no longer runs.
"""

from __future__ import annotations

import os
import re

OWNED_NAME = re.compile(r"tdscaling-sandbox-(?:probe-)?(\d+)-.+")


def owned_prefix(kind: str = "") -> str:
    """The start of a name that marks this process as the owner (``kind``: e.g. ``probe``)."""
    return f"tdscaling-sandbox-{kind + '-' if kind else ''}{os.getpid()}-"


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists (one we may not signal exists too, and is left alone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
