"""Whether a published host port is still held: the cheap sign that a container still runs.

While a container runs, its engine holds each published host port (docker-proxy,
Podman's conmon or rootlessport, Docker Desktop's forwarder); once the container
stops or is removed, the port is free again. Trying to bind it costs a few
microseconds and no engine round trip, so :meth:`testctr.Container.port` asks
the engine again only when the port was let go.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

#: The host names whose ports are this machine's.
_LOCAL_NAMES = {"localhost", "localhost.localdomain"}


def is_local(host: str) -> bool:
    """True when ``host`` (a name or address) is this machine's loopback."""
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def port_held(host_ip: str, port: int, protocol: str = "tcp") -> bool | None:
    """True when something holds ``host_ip:port``; False when it is free; None when this cannot tell.

    ``host_ip`` is the binding's address on this machine ("" or "0.0.0.0"
    for every interface). SO_REUSEADDR keeps connections lingering in
    TIME_WAIT from looking like a holder.
    """
    address = host_ip.strip("[]") or "0.0.0.0"
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    except ValueError:
        return None
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    try:
        sock = socket.socket(family, kind)
    except OSError:
        return None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        return False
    except OSError as e:
        # EACCES: a privileged port we may not bind; EADDRNOTAVAIL: not this machine's address.
        return True if e.errno == errno.EADDRINUSE else None
    finally:
        sock.close()
