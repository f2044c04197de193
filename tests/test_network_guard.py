"""The conftest guard refuses and reports non-loopback network access."""

from __future__ import annotations

import socket

import pytest
from _network_guard import NetworkBlockedError, NetworkGuard


def test_a_lookup_of_a_public_name_is_blocked_and_recorded(network_guard: NetworkGuard) -> None:
    with pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("example.com", 443)
    assert network_guard.violations == ["socket.getaddrinfo ('example.com', 443)"]
    network_guard.violations.clear()  # this test caused it on purpose


def test_a_connection_to_a_public_address_is_blocked_and_recorded(network_guard: NetworkGuard) -> None:
    with socket.socket() as sock, pytest.raises(NetworkBlockedError):
        sock.connect(("192.0.2.1", 80))
    assert len(network_guard.violations) == 1
    network_guard.violations.clear()


def test_loopback_connections_are_allowed(network_guard: NetworkGuard) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname()):
            pass
    socket.getaddrinfo("localhost", 80)
    assert network_guard.violations == []
