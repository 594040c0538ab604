"""Per-test Redis databases (an index each) through Container.dsn, with redis-py doing real work."""

from __future__ import annotations

import time

import pytest
import redis as redis_py

import testctr
from testctr.modules import redis
from testctr.owners import ScriptOwner

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> testctr.Container:
    return testctr.new(request, "redis:7", redis.default(), redis.with_password("pw"), testctr.with_runtime("docker"))


def settle(container: testctr.Container) -> None:
    """Wait for the background flushes of the databases of finished tests."""
    assert container._db is None or container._db.settle(60)


@pytest.fixture(scope="module")
def small_server(request: pytest.FixtureRequest) -> testctr.Container:
    """Three databases (0 stays free), no driver: redis-cli inside the container."""
    return testctr.new(
        request,
        "redis:7",
        redis.with_config({"databases": 3}),
        redis.with_dsn_client("exec"),
        redis.default(),
        testctr.with_runtime("docker"),
    )


def test_each_test_gets_its_own_database(request: pytest.FixtureRequest, server: testctr.Container) -> None:
    url = server.dsn(request)
    assert url.startswith(f"redis://:pw@{server.endpoint(6379)}/")
    assert server.dsn(request) == url
    other_owner = ScriptOwner("tests/other")
    other = server.dsn(other_owner)
    assert other != url
    mine, theirs = redis_py.Redis.from_url(url), redis_py.Redis.from_url(other)
    mine.set("k", "mine")
    assert theirs.get("k") is None
    theirs.set("k", "theirs")
    assert mine.get("k") == b"mine"
    other_owner.close()
    settle(server)
    assert theirs.dbsize() == 0  # flushed after its teardown
    mine.close()
    theirs.close()


def test_url_is_database_zero(server: testctr.Container) -> None:
    assert redis.url(server) == f"redis://:pw@{server.endpoint(6379)}/0"
    client = redis_py.Redis.from_url(redis.url(server))
    assert client.ping()
    client.close()


def test_a_leftover_in_the_handed_out_database_is_flushed(request: pytest.FixtureRequest) -> None:
    # A server of its own: leftovers come before its first dsn(), as from an earlier run.
    server = testctr.new(request, "redis:7", redis.default(), testctr.with_runtime("docker"))
    plain = redis_py.Redis(host=server.host(), port=server.port(6379))
    for index in range(1, 16):
        plain.execute_command("SELECT", index)  # one connection: SELECT sticks
        plain.set("stale", "x")
    for i in range(3):  # made at once, then from the pool
        time.sleep(0.1)
        client = redis_py.Redis.from_url(server.dsn(ScriptOwner(f"tests/leftover-{i}")))
        assert client.dbsize() == 0
        client.close()
    plain.close()


def test_no_driver_path_and_a_clear_error_when_exhausted(small_server: testctr.Container) -> None:
    provider = small_server._spec.dsn_provider
    assert isinstance(provider, redis.RedisDSN) and provider.uses_exec()
    owners = [ScriptOwner(f"tests/slot-{i}") for i in range(3)]
    urls = [small_server.dsn(owners[0]), small_server.dsn(owners[1])]
    assert sorted(u.rsplit("/", 1)[1] for u in urls) == ["1", "2"]
    with pytest.raises(redis.RedisDatabasesExhausted, match=r"all 2 Redis databases .* redis.with_config"):
        small_server.dsn(owners[2])
    client = redis_py.Redis.from_url(urls[0])
    client.set("a", "1")
    owners[0].close()
    settle(small_server)
    assert client.dbsize() == 0
    assert small_server.dsn(owners[2]) == urls[0]  # the freed index is handed out again
    client.close()
    for owner in owners[1:]:
        owner.close()
