"""Networks on docker and podman: aliases, isolation, cleanup, bad input."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

import testctr
from testctr.backends.docker_family import remove_args
from testctr.conformance._support import blocked, sleeper_command

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.engine

SERVE = "mkdir -p /www && echo {text} > /www/index.html && httpd -p 8080 -h /www && echo serving"


def networks(runtime: str, *filters: str) -> list[str]:
    """Names of the networks that match the filters."""
    argv = [runtime, "network", "ls", "--format", "{{.Name}}"]
    for f in filters:
        argv += ["--filter", f]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout.split()


def server(request: pytest.FixtureRequest, runtime: str, text: str, *options: testctr.Option) -> testctr.Container:
    return testctr.new(
        request,
        "busybox",
        testctr.with_runtime(runtime),
        testctr.with_command(*sleeper_command(SERVE.format(text=text))),
        testctr.with_wait_for_log("serving"),
        *options,
    )


def fetch(peer: testctr.Container, host: str) -> testctr.ExecResult:
    # `timeout`, not wget's -T: Debian's busybox wget crashes with -T.
    return peer.exec(["timeout", "5", "wget", "-q", "-O-", f"http://{host}:8080/"], timeout=30)


def test_peers_reach_each_other_by_alias(request: pytest.FixtureRequest, runtime: str) -> None:
    net = testctr.network(request, runtime=runtime)
    other = testctr.network(request, runtime=runtime)
    db = server(request, runtime, "from-db", testctr.with_network(net, aliases=["db"]))
    cache = server(
        request,
        runtime,
        "from-cache",
        testctr.with_network(other, aliases=["cache"]),
        testctr.with_network(net, aliases=["cache", "redis.internal"]),
    )
    app = server(request, runtime, "from-app", testctr.with_network(net))
    assert fetch(app, "db").stdout.strip() == "from-db"
    assert fetch(app, "redis.internal").stdout.strip() == "from-cache"
    assert fetch(db, "cache").stdout.strip() == "from-cache"
    assert cache.internal_ip(net) != cache.internal_ip(other)
    assert cache.internal_ip() in (cache.internal_ip(net), cache.internal_ip(other))


def test_two_networks_isolate(request: pytest.FixtureRequest, runtime: str) -> None:
    net_a = testctr.network(request, runtime=runtime)
    net_b = testctr.network(request, runtime=runtime)
    on_b = server(request, runtime, "only-on-b", testctr.with_network(net_b, aliases=["b"]))
    peer_a = server(request, runtime, "on-a", testctr.with_network(net_a))
    assert blocked(lambda: fetch(peer_a, on_b.internal_ip(net_b)).ok)
    assert not fetch(peer_a, "b").ok, "an alias resolves only on its own network"
    peer_a.connect(net_b)
    assert fetch(peer_a, "b").stdout.strip() == "only-on-b"
    peer_a.disconnect(net_b)
    assert not fetch(peer_a, "b").ok
    with pytest.raises(testctr.TestctrError, match="not attached"):
        peer_a.internal_ip(net_b)


def test_bad_input_fails_at_once(request: pytest.FixtureRequest, runtime: str) -> None:
    with pytest.raises(testctr.InvalidOption, match="alias"):
        testctr.with_network("any", aliases=["my db"])
    with pytest.raises(testctr.InvalidOption, match="alias"):
        testctr.with_network("any", aliases=["-db"])
    with pytest.raises(testctr.InvalidOption, match="network name"):
        testctr.network(request, "bad name", runtime=runtime)
    missing = "testctr-no-such-network-" + os.urandom(3).hex()
    with pytest.raises(testctr.TestctrError, match=f"network '{missing}' does not exist"):
        testctr.new(
            request,
            "busybox",
            testctr.with_runtime(runtime),
            testctr.with_command(*sleeper_command()),
            testctr.with_network(missing),
        )


INNER = """
import testctr

def test_fails(request):
    net = testctr.network(request, runtime={runtime!r})
    testctr.new(request, "busybox", testctr.with_runtime({runtime!r}), testctr.with_network(net, aliases=["x"]),
                testctr.with_command("sleep", "300"))
    print("NET=" + net.name)
    assert False, "deliberate"

def test_passes(request):
    net = testctr.network(request, runtime={runtime!r})
    testctr.new(request, "busybox", testctr.with_runtime({runtime!r}), testctr.with_network(net),
                testctr.with_command("sleep", "300"))
    print("NET=" + net.name)
"""


@pytest.mark.parametrize("keep_failed", [False, True])
def test_networks_are_removed_after_their_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, runtime: str, keep_failed: bool
) -> None:
    monkeypatch.setenv("TESTCTR_IMAGE_MAP", os.environ["TESTCTR_IMAGE_MAP"])
    pytester.makepyfile(INNER.format(runtime=runtime))
    result = pytester.runpytest_subprocess(
        "-s", "-p", "no:cacheprovider", *(["--testctr-keep-failed"] if keep_failed else [])
    )
    result.assert_outcomes(passed=1, failed=1)
    failed_net, passed_net = dict.fromkeys(re.findall(r"NET=(testctr-\S+)", result.stdout.str()))
    try:
        assert not networks(runtime, f"name=^{passed_net}$")
        assert bool(networks(runtime, f"name=^{failed_net}$")) == keep_failed
    finally:
        if keep_failed:
            for cid in subprocess.run(
                [runtime, "ps", "-aq", "--filter", f"network={failed_net}"], capture_output=True, text=True, check=True
            ).stdout.split():
                subprocess.run([runtime, *remove_args(runtime), cid], capture_output=True, check=False)
            subprocess.run([runtime, "network", "rm", failed_net], capture_output=True, check=False)


SESSION_INNER = """
import pytest
import testctr

@pytest.fixture(scope="session")
def net(request):
    n = testctr.network(request, runtime={runtime!r})
    print("USED_NET=" + n.name)
    return n

@pytest.fixture(scope="session")
def db(request, net):
    c = testctr.new(request, "busybox", testctr.with_runtime({runtime!r}), testctr.with_network(net, aliases=["db"]),
                    testctr.with_command("sleep", "300"))
    print("DB=" + c.id)
    return c

@pytest.fixture(scope="session")
def other_net(request):
    n = testctr.network(request, runtime={runtime!r})
    print("OTHER_NET=" + n.name)
    return n

def test_0_passes(other_net):
    pass

def test_1_fails(db):
    assert False, "deliberate"
"""


def test_keep_failed_keeps_a_session_network_only_for_a_failed_test_that_used_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    monkeypatch.setenv("TESTCTR_IMAGE_MAP", os.environ["TESTCTR_IMAGE_MAP"])
    pytester.makepyfile(test_inner=SESSION_INNER.format(runtime=runtime))
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--testctr-keep-failed")
    output = result.stdout.str()
    made = dict(re.findall(r"\b(USED_NET|OTHER_NET|DB)=(\S+)", output))
    try:
        assert set(made) == {"USED_NET", "OTHER_NET", "DB"}, output
        result.assert_outcomes(passed=1, failed=1)
        # The failed test used the network through its container's fixture: both stay, and the hint says why.
        assert networks(runtime, f"name=^{made['USED_NET']}$")
        assert subprocess.run(
            [runtime, "ps", "-aq", "--filter", f"id={made['DB']}"], capture_output=True, text=True, check=True
        ).stdout.split()
        assert (
            f"kept network {made['USED_NET']} (session fixture `net`), used by failed test test_inner.py::test_1_fails"
            in output
        )
        assert not networks(runtime, f"name=^{made['OTHER_NET']}$"), "a network no failed test used was kept"
    finally:
        if "DB" in made:
            subprocess.run([runtime, *remove_args(runtime), made["DB"]], capture_output=True, check=False)
        for name in (made.get("USED_NET"), made.get("OTHER_NET")):
            if name:
                subprocess.run([runtime, "network", "rm", name], capture_output=True, check=False)


def test_clean_removes_networks_of_dead_sessions_after_their_containers(runtime: str) -> None:
    from testctr import housekeeping, settings
    from testctr.backend.protocols import NetworkManager
    from testctr.backends.cli import CLIBackend, find_runtime
    from testctr.labels import owner_labels

    label = "testctr-net-leftovers-" + os.urandom(3).hex()
    backend = CLIBackend(find_runtime(runtime))
    assert isinstance(backend, NetworkManager)
    dead = {**owner_labels(label, "test_dead"), f"{label}.pid": "999999999", f"{label}.session": "gone"}
    alive = owner_labels(label, "test_alive")
    dead_net = "testctr-dead-" + os.urandom(3).hex()
    alive_net = "testctr-alive-" + os.urandom(3).hex()
    backend.create_network(dead_net, dead)
    backend.create_network(alive_net, alive)
    settings.configure(backend="cli", runtime=runtime)
    try:
        with testctr.run(
            "busybox", testctr.with_command(*sleeper_command()), testctr.with_network(dead_net)
        ) as on_dead:
            leftovers = housekeeping.find_leftover_networks(label, 0)
            assert [n.name for n in leftovers] == [dead_net]
            # Still in use: left alone, reported, not an error.
            assert housekeeping.remove_networks(leftovers) == 0
            on_dead.terminate()
            assert housekeeping.remove_networks(leftovers) == 1
        assert not networks(runtime, f"name=^{dead_net}$")
        assert networks(runtime, f"name=^{alive_net}$")
    finally:
        settings.reset()
        for name in (dead_net, alive_net):
            subprocess.run([runtime, "network", "rm", name], capture_output=True, check=False)
