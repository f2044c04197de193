"""Which addresses are this machine's own, how to bind one, and what Host and Origin a browser sends to it.

The MCP SDK turns its DNS-rebinding check on by itself only for the host strings ``127.0.0.1``,
``localhost`` and ``::1``; every other loopback spelling (``127.0.0.2``, ``0:0:0:0:0:0:0:1``, ``[::1]``)
was served with no check at all. So the allowed Host and Origin values are derived here from the address
actually bound, for every loopback address, and passed to the SDK explicitly.
"""

from __future__ import annotations

import ipaddress
import socket

from ._errors import InsecureBindError

_LOCALHOST = ("localhost", "localhost.localdomain")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and every address of 127.0.0.0/8 or ``::1``, in any spelling (brackets too)."""
    if host.lower() in _LOCALHOST:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, token: str | None, insecure: bool, risk: str) -> None:
    """Refuse to listen beyond loopback with nobody asked for a token; ``risk`` says what a stranger could do."""
    if not is_loopback(host) and not token and not insecure:
        raise InsecureBindError(f"refusing to serve on {host} without --token: anyone who can reach it {risk}; "
                                "bind 127.0.0.1 (the default), pass --token T, or --insecure if a proxy in front "
                                "of it authenticates")


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host`` (any spelling; ``localhost`` is 127.0.0.1) and ``port`` (0: any)."""
    address = "127.0.0.1" if host.lower() in _LOCALHOST else host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def url_host(host: str) -> str:
    """``host`` as it is written in a URL (IPv6 in brackets)."""
    bare = host.strip("[]")
    return f"[{bare}]" if ":" in bare else bare


def _spellings(host: str) -> list[str]:
    """The names a client may put in its Host header for ``host``, as written in a URL."""
    names = ["localhost", url_host(host)]
    bare = "127.0.0.1" if host.lower() in _LOCALHOST else host.strip("[]")
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        pass
    else:
        names += [url_host(str(ip)), url_host(ip.exploded)]
        if ip.version == 6:
            names.append(url_host(":".join(f"{int(group, 16):x}" for group in ip.exploded.split(":"))))
    return list(dict.fromkeys(names))


def allowed_hosts_and_origins(host: str, port: int) -> tuple[list[str], list[str]]:
    """The Host and Origin values a loopback server on ``host:port`` accepts: its own address in every usual
    spelling and ``localhost``, on exactly that port (a foreign name, as DNS rebinding sends, gets 421)."""
    hosts: list[str] = []
    origins: list[str] = []
    for name in _spellings(host):
        hosts.append(f"{name}:{port}")
        origins.append(f"http://{name}:{port}")
        if port == 80:
            hosts.append(name)
            origins.append(f"http://{name}")
    return hosts, origins
