"""A guard that keeps every test on loopback (installed by tests/conftest.py).

It is an audit hook on ``socket.connect`` and ``socket.getaddrinfo``. While a test runs, a connection or
name lookup for anything but a loopback address (or a Unix socket) is recorded and refused: the hook raises
``NetworkBlockedError``, an ``OSError``, so the call fails at once instead of waiting on the network. After
the test the fixture fails it if anything was recorded, even when the code under test swallowed the error.
Audit hooks cannot be removed, so outside a test body the hook does nothing.
"""

from __future__ import annotations

import ipaddress
from typing import Any

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NetworkBlockedError(OSError):
    """Raised by the audit hook for a non-loopback connection during a test."""


def is_loopback(host: Any) -> bool:
    if host is None or (isinstance(host, str | bytes) and not host):
        return True  # getaddrinfo(None, port) means a local wildcard
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    if host.startswith("/") or host.startswith("\0"):
        return True  # a Unix socket path
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkGuard:
    def __init__(self) -> None:
        self.enabled = False
        self.violations: list[str] = []

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.enabled or event not in ("socket.connect", "socket.getaddrinfo"):
            return
        host = args[1] if event == "socket.connect" else args[0]
        if isinstance(host, tuple):
            host = host[0] if host else None
        if is_loopback(host):
            return
        target = f"{event} {args[1] if event == 'socket.connect' else args[:2]!r}"
        self.violations.append(target)
        raise NetworkBlockedError(f"tests must stay on loopback; blocked {target}")
