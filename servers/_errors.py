"""The exception tree of tdscaling.servers.

``ServersError`` is the root. ``SpecError`` is misuse by the caller (a malformed domain or cluster
file, an unknown name), so it is also a ``tdscaling.common.UsageError``: the CLI turns it into one line and
exit code 2. Everything else is a failure at run time.
"""

from __future__ import annotations

from tdscaling.common import UsageError


class ServersError(Exception):
    """Root of every error raised by tdscaling.servers."""


class SpecError(ServersError, UsageError):
    """A domain or cluster specification is malformed, or names something that does not exist.

    ``str(error)`` is one line that names the file, the JSON path and what was expected, for example
    ``clinic.json: entities.appointment.fields.doctor_id: references unknown entity 'physician'``.
    """

    def __init__(self, message: str, *, source: str | None = None, path: str | None = None) -> None:
        self.source = source
        self.path = path
        self.detail = message
        parts = [p for p in (source, path) if p]
        super().__init__(": ".join([*parts, message]))


class UnknownNameError(SpecError):
    """A domain, cluster or tool name that is not known; the message lists the known ones."""
