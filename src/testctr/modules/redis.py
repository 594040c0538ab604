"""Redis: the official ``redis`` image (``redis:7-alpine``), with a logical database per test.

    r = testctr.new(request, redis.IMAGE, redis.default())
    url = r.dsn(request)                     # redis://127.0.0.1:PORT/3

``default()`` publishes 6379, waits for "Ready to accept connections" and
installs the DSN provider: each test gets a free database index (1 and up;
0 stays the default one that plain clients use), flushed before it is handed
out and again, in the background, after the test. A server has 16 databases unless
``with_config({"databases": 64})`` asks for more; when all are in use, dsn()
raises :class:`RedisDatabasesExhausted`.

The provider uses redis-py from the host when it is installed
(``pip install testctr[redis]``), else ``redis-cli`` inside the container.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from testctr.backend.types import ContainerConfig
from testctr.dsn import DatabaseLimitReached
from testctr.errors import InvalidOption, TestctrError
from testctr.modules._common import (
    BoundProvider,
    admin_client_option,
    check_exec,
    config_key,
    config_value,
    nonempty,
    use_provider,
)
from testctr.modules._common import (
    url as format_url,
)
from testctr.option import Option, options, with_args, with_port, with_wait_for_log

if TYPE_CHECKING:
    from testctr.container import Container

IMAGE = "redis:7-alpine"
PORT = "6379/tcp"


class RedisDatabasesExhausted(DatabaseLimitReached):
    """Every logical database of the server is held by a running test."""


def _last_flag(args: list[str], flag: str) -> str | None:
    """The value of the last ``--flag value`` (or ``--flag=value``) in a redis-server command line."""
    value = None
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(flag + "="):
            value = arg[len(flag) + 1 :]
    return value


class RedisDSN(BoundProvider):
    """DSN provider for Redis: the handle is a database index."""

    driver_module = "redis"
    driver_install = "pip install 'testctr[redis]'"

    max_name_length = 63  # only names the test's slot; the handle is the index

    def __init__(self, config: ContainerConfig) -> None:
        super().__init__(config)
        self._lock = threading.Lock()
        self._in_use: set[int] = set()
        self._count: int | None = None

    @property
    def password(self) -> str:
        return _last_flag([*(self._config.command or []), *self._config.args], "--requirepass") or ""

    # --- DSNProvider ----------------------------------------------------------------------

    def create_database(self, container: Container, name: str) -> str:
        count = self._database_count(container)
        with self._lock:
            free = [i for i in range(1, count) if i not in self._in_use]
            if not free:
                raise RedisDatabasesExhausted(
                    f"all {count - 1} Redis databases of {container.name} (1-{count - 1}) are held by running "
                    f"tests; ask for more with redis.with_config({{'databases': {count * 4}}})"
                )
            index = free[0]
            self._in_use.add(index)
        try:
            # A leftover of an earlier use of this index is wiped, never reused.
            self._flush(container, index)
        except BaseException:
            with self._lock:
                self._in_use.discard(index)
            raise
        return str(index)

    def drop_database(self, container: Container, handle: str) -> None:
        index = int(handle)
        try:
            self._flush(container, index)
        finally:
            with self._lock:
                self._in_use.discard(index)

    def format_dsn(self, container: Container, handle: str, driver: str | None = None) -> str:
        if driver not in (None, "redis"):
            raise InvalidOption(f"redis dsn: unknown driver {driver!r} (known: None, 'redis')")
        return format_url("redis", "", self.password, container.endpoint(PORT), handle)

    # --- server commands ------------------------------------------------------------------

    def _redis_cli(self, container: Container, *args: str) -> str:
        env = {"REDISCLI_AUTH": self.password} if self.password else None
        result = container.exec(["redis-cli", "--raw", *args], env=env, timeout=60)
        out = check_exec(result, f"redis-cli {' '.join(args)} in {container.name}")
        # redis-cli exits 0 on error replies; they start with ERR/NOAUTH/WRONGPASS...
        first = out.strip().split("\n", 1)[0]
        if first.split(" ", 1)[0] in ("ERR", "NOAUTH", "WRONGPASS", "NOPERM"):
            raise TestctrError(f"redis-cli {' '.join(args)} in {container.name}: {first}")
        return out

    def _client(self, container: Container, index: int) -> object:
        import redis

        return redis.Redis(
            host=container.host(),
            port=container.port(PORT),
            password=self.password or None,
            db=index,
            socket_timeout=30,
            single_connection_client=True,
        )

    def _database_count(self, container: Container) -> int:
        if self._count is None:
            if self.uses_exec():
                lines = self._redis_cli(container, "CONFIG", "GET", "databases").split()
            else:
                client = self._client(container, 0)
                try:
                    reply = client.config_get("databases")  # type: ignore[attr-defined]
                finally:
                    client.close()  # type: ignore[attr-defined]
                lines = ["databases", str(reply.get("databases", "16"))]
            self._count = int(lines[1]) if len(lines) >= 2 and lines[1].isdigit() else 16
        return self._count

    def _flush(self, container: Container, index: int) -> None:
        if self.uses_exec():
            self._redis_cli(container, "-n", str(index), "FLUSHDB")
            return
        client = self._client(container, index)
        try:
            client.flushdb()  # type: ignore[attr-defined]
        finally:
            client.close()  # type: ignore[attr-defined]


# --- options ---------------------------------------------------------------------------------


def default() -> Option:
    """Port 6379, a readiness wait and the DSN provider."""
    return options(
        with_port("6379"),
        with_wait_for_log("Ready to accept connections"),
        use_provider(RedisDSN, "redis.dsn_provider"),
    )


def url(container: Container, driver: str | None = None) -> str:
    """The server's database 0 as a URL (``redis://[:PASSWORD@]HOST:PORT/0``): shared, never flushed by testctr."""
    return RedisDSN(container.config).format_dsn(container, "0", driver)


def with_password(password: str) -> Option:
    """``--requirepass``: clients (and dsn()) must authenticate."""
    return with_args("--requirepass", nonempty(password, "redis password"))


def with_config(settings: Mapping[str, object]) -> Option:
    """Server settings as ``--key value`` flags; calls stack, a later value for a key wins."""
    if not isinstance(settings, Mapping) or not settings:
        raise InvalidOption(f"redis.with_config needs a non-empty mapping, got {settings!r}")
    flags: list[str] = []
    for key, value in settings.items():
        text = "yes" if value is True else "no" if value is False else config_value(value, "redis config")
        flags += [f"--{config_key(key, 'redis config')}", text]
    return with_args(*flags)


def with_dsn_client(mode: str) -> Option:
    """How dsn() reaches the server: ``"driver"`` (redis-py), ``"exec"`` (redis-cli inside), ``"auto"``."""
    return admin_client_option(RedisDSN, "redis", mode)


__all__ = [
    "IMAGE",
    "RedisDSN",
    "RedisDatabasesExhausted",
    "default",
    "url",
    "with_config",
    "with_dsn_client",
    "with_password",
]
