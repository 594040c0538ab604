"""Free host ports chosen here: Apple's `container` needs one for every port, and the Docker
family pins them so a restart keeps them."""

from __future__ import annotations

import socket
import threading
import time

from testctr.errors import PORT_ATTEMPTS as PORT_ATTEMPTS  # Apple's creations share the core's bound
from testctr.errors import TestctrError

_handed_out: dict[int, float] = {}
_handed_out_lock = threading.Lock()


def allocate_port(protocol: str = "tcp") -> int:
    """A port that is free on 127.0.0.1 now, not handed out recently by this process.

    Another process may still take it before the VM binds it: the caller
    handles that by re-creating with a new port. The recently-handed-out set
    stops two threads of this process from getting the same port.
    """
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with _handed_out_lock:
        now = time.monotonic()
        for port, when in list(_handed_out.items()):
            if now - when > 120:
                del _handed_out[port]
        for _ in range(50):
            with socket.socket(socket.AF_INET, kind) as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _handed_out:
                _handed_out[port] = now
                return port
    raise TestctrError("could not find a free port on 127.0.0.1")
