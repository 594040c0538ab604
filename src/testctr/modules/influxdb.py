"""InfluxDB 1.x: the official ``influxdb:1.8`` image, the HTTP API on 8086.

    db = testctr.new(request, influxdb.IMAGE, influxdb.default(), influxdb.with_database("metrics"))
    client = influxdb.client(db)             # influxdb.InfluxDBClient, on "metrics"
    client.write_points([{"measurement": "cpu", "fields": {"load": 0.5}}])

``default()`` publishes 8086, keeps the data on tmpfs and waits until
``/ping`` answers 204 on the published port (the image's first-start setup
runs a server on the container's loopback first; that one does not count).
The helpers set the image's variables: :func:`with_database`
(``INFLUXDB_DB``), :func:`with_admin` (``INFLUXDB_ADMIN_USER``/``_PASSWORD``
and ``INFLUXDB_HTTP_AUTH_ENABLED``), :func:`with_user` (``INFLUXDB_USER``...,
all privileges on the database), and any server setting through
:func:`with_config` (``{"http.log-enabled": False}`` is
``INFLUXDB_HTTP_LOG_ENABLED=false``, which influxd reads itself).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from testctr.errors import InvalidOption
from testctr.modules import kit
from testctr.option import Option, with_env, with_port

if TYPE_CHECKING:
    from testctr.container import Container

IMAGE = "influxdb:1.8"
PORT = "8086/tcp"
DATA_DIR = "/var/lib/influxdb"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_SETTING = re.compile(r"^([a-z][a-z0-9-]*\.)?[a-z][a-z0-9-]*$")


def default() -> Option:
    """Port 8086, data on tmpfs, no per-query log lines, and a wait for ``/ping``."""
    return kit.options(
        with_port("8086"),
        kit.data_in_memory(DATA_DIR),
        # A line per query and per request only slows a test server down.
        kit.env_default("INFLUXDB_DATA_QUERY_LOG_ENABLED", "false"),
        kit.env_default("INFLUXDB_HTTP_LOG_ENABLED", "false"),
        kit.with_wait_for_http("/ping", "8086", status=204),
    )


def with_data_on_disk() -> Option:
    """Keep the data on the container's disk (after default()): it survives restart()."""
    return kit.data_on_disk(DATA_DIR, "influxdb")


def _name(value: object, what: str) -> str:
    text = kit.text(value, what)
    if not _NAME.match(text):
        raise InvalidOption(f"{what} must be a name of letters, digits, '_' or '-', got {text!r}")
    return text


def _password(value: object, what: str) -> str:
    text = kit.text(value, what)
    if "'" in text or "\\" in text:
        raise InvalidOption(f"{what} cannot contain quotes or backslashes (the image pastes it into InfluxQL)")
    return text


def with_database(name: str) -> Option:
    """A database made at first start (``INFLUXDB_DB``); :func:`client` uses it."""
    return with_env("INFLUXDB_DB", _name(name, "influxdb database"))


def with_admin(user: str, password: str) -> Option:
    """Turn authentication on, with this admin (``INFLUXDB_ADMIN_USER``); :func:`client` logs in as it."""
    return kit.options(
        with_env("INFLUXDB_HTTP_AUTH_ENABLED", "true"),
        with_env("INFLUXDB_ADMIN_USER", _name(user, "influxdb admin user")),
        with_env("INFLUXDB_ADMIN_PASSWORD", _password(password, "influxdb admin password")),
    )


def with_user(user: str, password: str) -> Option:
    """A user with all privileges on :func:`with_database`'s database (needs :func:`with_admin`)."""
    return kit.options(
        with_env("INFLUXDB_USER", _name(user, "influxdb user")),
        with_env("INFLUXDB_USER_PASSWORD", _password(password, "influxdb user password")),
    )


def with_config(settings: Mapping[str, object]) -> Option:
    """Server settings by ``section.key`` (``{"data.max-series-per-database": 0}``) or top-level key."""
    if not isinstance(settings, Mapping):
        raise InvalidOption(f"influxdb.with_config needs a mapping, got {type(settings).__name__}")
    if not settings:
        raise InvalidOption("influxdb.with_config needs at least one setting")
    opts = []
    for key, value in settings.items():
        if not isinstance(key, str):
            raise InvalidOption(f"influxdb.with_config keys must be str, got {key!r}")
        if not _SETTING.match(key):
            raise InvalidOption(f"influxdb.with_config keys are 'section.key' or 'key' in lower case, got {key!r}")
        text = "true" if value is True else "false" if value is False else kit.config_value(value, "influxdb config")
        opts.append(with_env("INFLUXDB_" + key.upper().replace(".", "_").replace("-", "_"), text))
    return kit.options(*opts)


def url(container: Container) -> str:
    """``http://HOST:PORT`` of the HTTP API."""
    return "http://" + container.endpoint(PORT)


def client(container: Container, database: str | None = None) -> Any:
    """An ``influxdb.InfluxDBClient`` on ``database`` (default: :func:`with_database`'s), as the admin when set.

    ``pip install testctr[influxdb]``.
    """
    import influxdb

    return influxdb.InfluxDBClient(
        host=container.host(),
        port=container.port(PORT),
        username=kit.env_of(container, "INFLUXDB_ADMIN_USER", "root"),
        password=kit.env_of(container, "INFLUXDB_ADMIN_PASSWORD", "root"),
        database=database if database is not None else kit.env_of(container, "INFLUXDB_DB") or None,
        timeout=30,
    )


__all__ = [
    "IMAGE",
    "client",
    "default",
    "url",
    "with_admin",
    "with_config",
    "with_data_on_disk",
    "with_database",
    "with_user",
]
