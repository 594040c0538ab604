"""Whether a published host port is still held: the cheap sign that a container still runs.

While a container runs, its engine holds each published host port (docker-proxy,
Podman's conmon or rootlessport, Docker Desktop's forwarder); once the container
stops or is removed, the port is free again. Trying to bind it costs a few
microseconds and no engine round trip, so :meth:`testctr.Container.port` asks
the engine again only when the port was let go.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import os
import socket
import threading

#: How long an answer that a container runs is trusted unchecked (seconds): the engine's
#: state of a container whose host ports this machine cannot probe, a server's answer to
#: the database pool (:mod:`testctr.dbpool`).
UNCHECKED_STATE_AGE = 1.0

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
    family = _family(host_ip)
    if family is None:
        return None
    address = host_ip.strip("[]") or "0.0.0.0"
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with _probes_lock:
        sock = _probes.pop((family, kind), None)
    if sock is None:
        try:
            sock = socket.socket(family, kind)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        except OSError:
            return None
    try:
        sock.bind((address, port))
    except OSError as e:
        # A bind that failed leaves the socket unbound: the next probe reuses it
        # (a third of the cost: socket() and close() are most of a cold probe).
        with _probes_lock:
            spare = _probes.setdefault((family, kind), sock)
        if spare is not sock:
            sock.close()
        # EACCES: a privileged port we may not bind; EADDRNOTAVAIL: not this machine's address.
        return True if e.errno == errno.EADDRINUSE else None
    sock.close()  # it holds the port now: let it go
    return False


@functools.lru_cache(maxsize=64)
def _family(host_ip: str) -> int | None:
    """The address family of a binding's address; None for a name (not this machine's to check)."""
    try:
        version = ipaddress.ip_address(host_ip.strip("[]") or "0.0.0.0").version
    except ValueError:
        return None
    return socket.AF_INET6 if version == 6 else socket.AF_INET


#: Unbound sockets that probes reuse, one per (family, type); a probe takes it out while it binds.
_probes: dict[tuple[int, int], socket.socket] = {}
_probes_lock = threading.Lock()


def _forget_probes_in_child() -> None:
    # A child shares the parent's sockets: a bind in one would bind the other's.
    global _probes_lock
    _probes.clear()
    _probes_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_probes_in_child)
