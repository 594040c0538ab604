"""ZooKeeper: the official ``zookeeper`` image (``zookeeper:3.8``), one server on 2181.

    zk = testctr.new(request, zookeeper.IMAGE, zookeeper.default())
    client = zookeeper.client(zk)           # a started kazoo KazooClient
    client.create("/app/config", b"v1", makepath=True)

``default()`` publishes 2181, keeps the data and transaction log on tmpfs,
turns the AdminServer (an embedded Jetty on 8080 that nothing here uses) off,
gives the JVM flags that start it faster (``JVMFLAGS``), and waits until the
server runs and takes sessions. The helpers set the image's ``ZOO_*``
variables: :func:`with_config` adds ``zoo.cfg`` lines (``ZOO_CFG_EXTRA``),
:func:`with_four_letter_words` allows commands such as ``ruok`` or ``mntr``
(``ZOO_4LW_COMMANDS_WHITELIST``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from testctr.errors import InvalidOption
from testctr.modules import kit
from testctr.option import Option, Spec, with_env, with_port

if TYPE_CHECKING:
    from testctr.container import Container

IMAGE = "zookeeper:3.8"
PORT = "2181/tcp"
DATA_DIR = "/data"
DATA_LOG_DIR = "/datalog"

_WORD = re.compile(r"^[a-z]{4}$")


def default() -> Option:
    """Port 2181, data on tmpfs, no AdminServer, and a wait for the client port."""
    return kit.options(
        with_port("2181"),
        kit.data_in_memory(DATA_DIR),
        kit.data_in_memory(DATA_LOG_DIR),
        kit.env_default("ZOO_ADMINSERVER_ENABLED", "false"),
        # A short-lived test server starts faster without the JIT's top tier and with the simplest GC.
        kit.env_default("JVMFLAGS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"),
        # The port is bound before the database is loaded ("binding to port"); this line
        # comes once the server is running and takes sessions.
        kit.with_wait_for_log(re.compile(r"ZooKeeper audit is (dis|en)abled")),
    )


def with_data_on_disk() -> Option:
    """Keep data and transaction log on the container's disk (after default()): znodes survive restart()."""
    return kit.options(kit.data_on_disk(DATA_DIR, "zookeeper"), kit.data_on_disk(DATA_LOG_DIR, "zookeeper"))


def with_config(settings: Mapping[str, object]) -> Option:
    """``zoo.cfg`` lines (``{"maxSessionTimeout": 60000}``); calls stack."""
    if not isinstance(settings, Mapping):
        raise InvalidOption(f"zookeeper.with_config needs a mapping, got {type(settings).__name__}")
    if not settings:
        raise InvalidOption("zookeeper.with_config needs at least one setting")
    entries = []
    for key, value in settings.items():
        text = "true" if value is True else "false" if value is False else kit.config_value(value, "zookeeper config")
        if " " in text:
            raise InvalidOption(f"zookeeper config values cannot contain spaces (ZOO_CFG_EXTRA splits on them): {key}")
        entries.append(f"{kit.config_key(key, 'zookeeper config')}={text}")

    def apply(spec: Spec) -> None:
        env = spec.config.env
        env["ZOO_CFG_EXTRA"] = " ".join(filter(None, [env.get("ZOO_CFG_EXTRA", ""), *entries]))

    return Option(f"zookeeper.with_config({entries!r})", apply)


def with_four_letter_words(*words: str) -> Option:
    """Allow these four-letter-word commands (``"ruok"``, ``"mntr"``, or ``"*"`` for all)."""
    if not words:
        raise InvalidOption("zookeeper.with_four_letter_words needs at least one command")
    for word in words:
        if kit.text(word, "zookeeper four-letter word") != "*" and not _WORD.match(word):
            raise InvalidOption(f"zookeeper four-letter words are like 'ruok', got {word!r}")
    return with_env("ZOO_4LW_COMMANDS_WHITELIST", ",".join(words))


def hosts(container: Container) -> str:
    """``HOST:PORT``, the connect string clients take."""
    return container.endpoint(PORT)


def client(container: Container, timeout: float = 15.0) -> Any:
    """A started ``kazoo.client.KazooClient``; call ``stop()`` and ``close()`` when done.

    ``pip install testctr[zookeeper]``.
    """
    from kazoo.client import KazooClient

    zk = KazooClient(hosts=hosts(container), timeout=timeout)
    zk.start(timeout=timeout)
    return zk


__all__ = [
    "IMAGE",
    "client",
    "default",
    "hosts",
    "with_config",
    "with_data_on_disk",
    "with_four_letter_words",
]
