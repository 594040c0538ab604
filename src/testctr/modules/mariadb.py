"""MariaDB: the official ``mariadb`` image (``mariadb:11``), with per-test databases.

Like :mod:`testctr.modules.mysql`, with the MARIADB_* variables of the mariadb
image (which also honours MYSQL_*; MARIADB_* win, for the provider too) and
the ``mariadb`` client inside the container for the no-driver path.

    db = testctr.new(request, mariadb.IMAGE, mariadb.default())
    dsn = db.dsn(request)                    # mysql://test:test@127.0.0.1:PORT/t_test_x_<hash>
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from testctr.errors import InvalidOption
from testctr.modules._common import (
    admin_client_option,
    data_in_memory,
    data_on_disk,
    env_default,
    nonempty,
    use_provider,
)
from testctr.modules.mysql import DATA_DIR, READY, MySQLDSN, _config, _init_script
from testctr.option import Option, options, with_env, with_port, with_wait_for_log

IMAGE = "mariadb:11"


class MariaDBDSN(MySQLDSN):
    clients = ("mariadb", "mysql")


def default() -> Option:
    """Port 3306, a readiness wait, root password/user/password/database ``test``, the DSN provider."""
    return options(
        with_port("3306"),
        env_default("MARIADB_ROOT_PASSWORD", "test"),
        env_default("MARIADB_USER", "test"),
        env_default("MARIADB_PASSWORD", "test"),
        env_default("MARIADB_DATABASE", "test"),
        data_in_memory(DATA_DIR),
        with_wait_for_log(READY),
        use_provider(MariaDBDSN, "mariadb.dsn_provider"),
    )


def with_data_on_disk() -> Option:
    """Keep the data directory on the container's disk (after default()): data survives restart()."""
    return data_on_disk(DATA_DIR, "mariadb")


def with_password(password: str) -> Option:
    """The password of the user and of root (dsn() uses the user's)."""
    pw = nonempty(password, "mariadb password")
    return options(with_env("MARIADB_PASSWORD", pw), with_env("MARIADB_ROOT_PASSWORD", pw))


def with_user(user: str) -> Option:
    """The user dsn() connects as (MARIADB_USER), granted all on each test's database."""
    name = nonempty(user, "mariadb user")
    if name == "root":
        raise InvalidOption("mariadb.with_user('root'): root always exists; set its password with with_password")
    return with_env("MARIADB_USER", name)


def with_database(name: str) -> Option:
    """The database the image creates at start (MARIADB_DATABASE); per-test databases are separate."""
    return with_env("MARIADB_DATABASE", nonempty(name, "mariadb database"))


def with_init_script(path: str | os.PathLike[str]) -> Option:
    """Run a ``.sql``/``.sh`` file once at first start (/docker-entrypoint-initdb.d)."""
    return _init_script(path, "mariadb")


def with_config(settings: Mapping[str, object]) -> Option:
    """Server settings as ``--key=value`` flags; calls stack, a later value for a key wins."""
    return _config(settings, "mariadb")


def with_dsn_client(mode: str) -> Option:
    """How dsn() reaches the server: ``"driver"`` (PyMySQL), ``"exec"`` (the client inside), ``"auto"``."""
    return admin_client_option(MariaDBDSN, "mariadb", mode)


__all__ = [
    "IMAGE",
    "MariaDBDSN",
    "default",
    "with_data_on_disk",
    "with_config",
    "with_database",
    "with_dsn_client",
    "with_init_script",
    "with_password",
    "with_user",
]
