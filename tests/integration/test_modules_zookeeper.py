"""zookeeper module against the real ZooKeeper image, with kazoo: create, get, children, watch."""

from __future__ import annotations

import threading

import pytest
from kazoo.exceptions import NodeExistsError

import testctr
from testctr.modules import zookeeper

pytestmark = pytest.mark.engine


def test_create_and_get_znodes_on_every_runtime(request: pytest.FixtureRequest, runtime: str) -> None:
    zk = testctr.new(request, zookeeper.IMAGE, zookeeper.default(), testctr.with_runtime(runtime))
    client = zookeeper.client(zk)
    try:
        client.create("/app/config", b"v1", makepath=True)
        client.create("/app/workers/w-", b"", sequence=True, makepath=True)
        data, stat = client.get("/app/config")
        assert (data, stat.version) == (b"v1", 0)
        assert client.get_children("/app/workers") == ["w-0000000000"]
        with pytest.raises(NodeExistsError):
            client.create("/app/config", b"again")

        changed = threading.Event()

        def on_change(data: bytes | None, _stat: object) -> None:  # returning False would end the watch
            if data == b"v2":
                changed.set()

        client.DataWatch("/app/config", on_change)
        client.set("/app/config", b"v2")
        assert changed.wait(10)
    finally:
        client.stop()
        client.close()


def test_four_letter_words_and_config(request: pytest.FixtureRequest) -> None:
    zk = testctr.new(
        request,
        zookeeper.IMAGE,
        zookeeper.default(),
        zookeeper.with_four_letter_words("ruok", "conf"),
        zookeeper.with_config({"maxSessionTimeout": 30000}),
        testctr.with_runtime("docker"),
    )
    client = zookeeper.client(zk)
    try:
        assert client.command(b"ruok") == "imok"
        assert "maxSessionTimeout=30000" in client.command(b"conf")
    finally:
        client.stop()
        client.close()
