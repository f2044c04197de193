"""The sandbox's exceptions.

A failing program is data (an :class:`~tdscaling.sandbox.ExecutionResult`); these are raised
only when the caller misused the sandbox or the sandbox itself broke.
"""

from __future__ import annotations

from tdscaling.common import UsageError


class SandboxError(Exception):
    """Base class of every error the sandbox raises."""


class SandboxUsageError(SandboxError, UsageError):
    """The caller asked for something invalid (bad session id, path, language, size); a
    ``tdscaling.common.UsageError``, so a command reports it in one line."""


class WorkspacePathError(SandboxUsageError):
    """A file path would leave the session workspace (``..``, absolute path, symlink pointing out)."""


class IsolationUnavailableError(SandboxError):
    """The host cannot provide the isolation level that was required."""


class SandboxBrokenError(SandboxError):
    """The sandbox machinery failed (launcher, bubblewrap, cgroups, container engine)."""
