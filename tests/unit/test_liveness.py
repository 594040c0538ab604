"""Whether a published host port is still held (testctr.liveness)."""

from __future__ import annotations

import socket

import pytest

from testctr import liveness
from testctr.liveness import is_local, port_held


@pytest.mark.parametrize("kind,protocol", [(socket.SOCK_STREAM, "tcp"), (socket.SOCK_DGRAM, "udp")])
def test_a_bound_port_is_held_and_a_released_one_is_not(kind: int, protocol: str) -> None:
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if protocol == "tcp":
        sock.listen()
    assert port_held("127.0.0.1", port, protocol) is True
    sock.close()
    assert port_held("127.0.0.1", port, protocol) is False


def test_a_connection_lingering_after_close_does_not_count_as_a_holder() -> None:
    server = socket.socket()
    # As servers and engine proxies set it (Go's listeners do).
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end lingers in TIME_WAIT
    client.close()
    server.close()
    assert port_held("127.0.0.1", port) is False


def test_an_address_of_another_machine_cannot_be_told() -> None:
    assert port_held("192.0.2.1", 80) is None  # TEST-NET-1: never this machine's
    assert port_held("not-an-address", 80) is None


@pytest.mark.parametrize(
    "host,local",
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("10.0.0.5", False),
        ("docker.example", False),
    ],
)
def test_is_local(host: str, local: bool) -> None:
    assert is_local(host) is local


def test_probes_reuse_one_unbound_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    made: list[socket.socket] = []
    real = socket.socket

    def counting(*args: object) -> socket.socket:
        made.append(real(*args))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(liveness, "_probes", {})
    monkeypatch.setattr(liveness.socket, "socket", counting)
    assert [port_held("127.0.0.1", port) for _ in range(5)] == [True] * 5
    assert len(made) == 1
    holder.close()
    # The probe that finds the port free holds it: that socket is let go, not kept.
    assert port_held("127.0.0.1", port) is False
    assert made[0].fileno() == -1
    assert port_held("127.0.0.1", port) is False
