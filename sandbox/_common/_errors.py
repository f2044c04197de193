"""The shared layer's exceptions: a caller's mistake at the edge, said in one line."""

from __future__ import annotations


class CommonError(Exception):
    """Root of every error raised by tdscaling.common."""


class UsageError(CommonError):
    """The caller asked for something that cannot work (a bad path, an unsafe bind); ``str`` is one line."""


class InsecureBindError(UsageError):
    """An HTTP server would listen beyond this machine without a token."""


class BadPathError(UsageError):
    """A path given on the command line cannot be used for what it is for."""
