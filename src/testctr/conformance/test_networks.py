"""Clause networks: create, reach peers by alias, isolation, internal networks, removal.

Every address a test reaches is a container of the test itself: the
"outside" an internal network must not reach is another container on the
engine's default network, never an address beyond this machine.
"""

from __future__ import annotations

import pytest

import testctr
from testctr import settings
from testctr.backend.protocols import NetworkManager
from testctr.conformance._support import BUSYBOX, record_unsupported, resolve_backend, sleeper_command

pytestmark = [pytest.mark.clause("networks"), pytest.mark.engine]

PORT = 8080


def _network(request: pytest.FixtureRequest, *, internal: bool = False) -> testctr.Network | None:
    """A network for the test, or None when the backend refuses (recorded as ok*)."""
    try:
        return testctr.network(request, internal=internal)
    except testctr.UnsupportedOption as e:
        record_unsupported(request, e.option)
        return None


def _server(request: pytest.FixtureRequest, text: str, *options: testctr.Option) -> testctr.Container:
    """A busybox httpd on PORT answering ``text``."""
    serve = f"mkdir -p /www && echo {text} > /www/index.html && httpd -p {PORT} -h /www && echo serving"
    return testctr.new(
        request,
        BUSYBOX,
        testctr.with_command(*sleeper_command(serve)),
        testctr.with_wait_for_log("serving"),
        *options,
    )


def _peer(request: pytest.FixtureRequest, *options: testctr.Option) -> testctr.Container:
    return testctr.new(
        request,
        BUSYBOX,
        testctr.with_command(*sleeper_command()),
        testctr.with_wait_for_log("ready"),
        *options,
    )


def _fetch(peer: testctr.Container, host: str) -> testctr.ExecResult:
    # `timeout`, not wget's -T: Debian's busybox wget crashes with -T.
    return peer.exec(["timeout", "5", "wget", "-q", "-O-", f"http://{host}:{PORT}/"], timeout=30)


def test_peers_reach_each_other_by_alias(request: pytest.FixtureRequest) -> None:
    net = _network(request)
    if net is None:
        return
    assert net.name.startswith("testctr-") and net.id and net.backend_name
    try:
        server = _server(request, "hello-db", testctr.with_network(net, aliases=["db", "db.internal"]))
        names = ["db", "db.internal"]
    except testctr.UnsupportedOption as e:
        record_unsupported(request, e.option)
        server = _server(request, "hello-db", testctr.with_network(net))
        names = [server.name]
    peer = _peer(request, testctr.with_network(net))
    for name in names:
        result = _fetch(peer, name)
        assert result.ok and result.stdout.strip() == "hello-db", result.output
    address = server.internal_ip(net)
    assert _fetch(peer, address).stdout.strip() == "hello-db"
    with pytest.raises(testctr.TestctrError, match="not attached"):
        server.internal_ip("testctr-conformance-no-such-network")


def test_networks_are_isolated_from_each_other(request: pytest.FixtureRequest) -> None:
    net_a = _network(request)
    net_b = _network(request)
    if net_a is None or net_b is None:
        return
    server = _server(request, "only-on-b", testctr.with_network(net_b))
    on_a = _peer(request, testctr.with_network(net_a))
    on_b = _peer(request, testctr.with_network(net_b))
    address = server.internal_ip(net_b)
    assert _fetch(on_b, address).stdout.strip() == "only-on-b", "a peer on the same network reaches it"
    assert not _fetch(on_a, address).ok, "a peer on another network must not reach it"


def test_internal_network_has_no_way_out(request: pytest.FixtureRequest) -> None:
    net = _network(request, internal=True)
    if net is None:
        return
    outside = _server(request, "outside")  # on the engine's default network
    control = _peer(request)
    assert _fetch(control, outside.internal_ip()).stdout.strip() == "outside", "the outside server answers"
    inside = _server(request, "inside", testctr.with_network(net))
    peer = _peer(request, testctr.with_network(net))
    assert _fetch(peer, inside.internal_ip(net)).stdout.strip() == "inside", "peers on it reach each other"
    assert not _fetch(peer, outside.internal_ip()).ok, "nothing outside the network is reachable"


def test_connect_and_disconnect_a_running_container(request: pytest.FixtureRequest) -> None:
    net = _network(request)
    if net is None:
        return
    server = _server(request, "late")
    peer = _peer(request, testctr.with_network(net))
    try:
        server.connect(net, aliases=["late-joiner"])
    except testctr.UnsupportedOption as e:
        record_unsupported(request, e.option)
        return
    assert _fetch(peer, "late-joiner").stdout.strip() == "late"
    server.disconnect(net)
    with pytest.raises(testctr.TestctrError, match="not attached"):
        server.internal_ip(net)


def test_network_is_removed(request: pytest.FixtureRequest) -> None:
    backend = resolve_backend()
    if not isinstance(backend, NetworkManager):
        with pytest.raises(testctr.UnsupportedOption):
            testctr.network(request)
        record_unsupported(request, "testctr.network")
        return
    label = settings.current().label

    def listed() -> set[str]:
        return {n.name for n in backend.list_networks(label)}

    try:
        with testctr.network_run() as net:
            named = listed()
    except testctr.UnsupportedOption as e:
        record_unsupported(request, e.option)
        return
    # A backend whose engine records no labels lists nothing; one that lists must list it.
    assert not named or net.name in named
    assert net.name not in listed(), "removed when the block ended"
    removed = _network(request)
    assert removed is not None
    removed.remove()
    removed.remove()  # again: a no-op
    with pytest.raises(testctr.TestctrError):
        _peer(request, testctr.with_network(removed))
