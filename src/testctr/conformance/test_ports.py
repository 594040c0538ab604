"""Clause ports: tcp and udp, several ports, port()/endpoint() reachable from the host."""

from __future__ import annotations

import os
import socket
import time
import urllib.request

import pytest

import testctr
from testctr.conformance._support import BUSYBOX, REDIS, sleeper_command, wait_until

pytestmark = [pytest.mark.clause("ports"), pytest.mark.engine]


def _connect(host: str, port: int, timeout: float = 30) -> socket.socket:
    """Connect, retrying while the engine's port forwarding comes up."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection((host, port), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_tcp_port_reachable_from_the_host(request: pytest.FixtureRequest) -> None:
    redis = testctr.new(
        request, REDIS, testctr.with_port("6379/tcp"), testctr.with_wait_for_log("Ready to accept connections")
    )
    port = redis.port(6379)
    assert port == redis.port("6379/tcp") > 0
    with _connect(redis.host(), port) as conn:
        conn.sendall(b"PING\r\n")
        assert conn.recv(64).startswith(b"+PONG")


def test_endpoint_is_host_and_port(request: pytest.FixtureRequest) -> None:
    redis = testctr.new(
        request, REDIS, testctr.with_port("6379"), testctr.with_wait_for_log("Ready to accept connections")
    )
    host, _, port = redis.endpoint(6379).rpartition(":")
    assert int(port) == redis.port(6379)
    assert host.strip("[]") == redis.host()
    with _connect(host.strip("[]"), int(port)) as conn:
        conn.sendall(b"ECHO endpoint-ok\r\n")
        assert b"endpoint-ok" in conn.recv(64)


def test_several_ports_each_reachable(request: pytest.FixtureRequest) -> None:
    ports = [8080, 8081, 8082]
    script = "; ".join(
        f"mkdir -p /www{p} && echo served-by-{p} > /www{p}/index.html && httpd -p {p} -h /www{p}" for p in ports
    )
    c = testctr.new(
        request,
        BUSYBOX,
        *(testctr.with_port(p) for p in ports),
        testctr.with_command(*sleeper_command(f"{script}; echo serving")),
        testctr.with_wait_for_log("serving"),
    )
    host_ports = [c.port(p) for p in ports]
    assert len(set(host_ports)) == len(ports), f"distinct host ports expected, got {host_ports}"
    for p in ports:

        def fetch(p: int = p) -> str | None:
            try:
                with urllib.request.urlopen(f"http://{c.endpoint(p)}/", timeout=5) as response:
                    return str(response.read().decode())
            except OSError:
                return None

        assert wait_until(fetch, 30, f"http on port {p}").strip() == f"served-by-{p}"


# A UDP listener that prints each datagram: busybox nc -u (Alpine, the official
# image) or perl (Debian-based stand-ins, where busybox's nc has no -u).
_UDP_LISTENER = r"""
if nc --help 2>&1 | grep -q -- '-u'; then echo udp-listening; exec nc -u -l -p 5353
elif command -v perl >/dev/null; then exec perl -MIO::Socket::INET -e '
  $| = 1; my $s = IO::Socket::INET->new(LocalPort => 5353, Proto => "udp") or die "bind: $!";
  print "udp-listening\n"; while (1) { $s->recv(my $m, 2048); print "$m\n"; }'
else echo "no udp listener in this image" >&2; exit 1; fi
"""


def test_udp_port_reachable_from_the_host(request: pytest.FixtureRequest) -> None:
    c = testctr.new(
        request,
        REDIS,
        testctr.with_port("5353/udp"),
        testctr.with_entrypoint("sh", "-c", _UDP_LISTENER),
        testctr.with_wait_for_log("udp-listening"),
    )
    port = c.port("5353/udp")
    assert port > 0
    token = "udp-token-" + os.urandom(4).hex()
    family = socket.AF_INET6 if ":" in c.host() else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:

        def delivered() -> bool:
            # Datagrams sent before the forwarding is ready are lost: resend.
            sock.sendto(token.encode(), (c.host(), port))
            return token in c.logs()

        wait_until(delivered, 30, f"a UDP datagram to {c.host()}:{port} to arrive", interval=0.3)


def test_unpublished_port_is_an_error(request: pytest.FixtureRequest) -> None:
    redis = testctr.new(
        request, REDIS, testctr.with_port("6379"), testctr.with_wait_for_log("Ready to accept connections")
    )
    with pytest.raises(testctr.PortNotPublished):
        redis.port(6380)
