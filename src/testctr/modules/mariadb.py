"""MariaDB: the official ``mariadb`` image (``mariadb:11``), with per-test databases.

Like :mod:`testctr.modules.mysql`, with the MARIADB_* variables of the mariadb
image (which also honours MYSQL_*; MARIADB_* win, for the provider too) and
the ``mariadb`` client inside the container for the no-driver path.

    db = testctr.new(request, mariadb.IMAGE, mariadb.default())
    dsn = db.dsn(request)                    # mysql://test:test@127.0.0.1:PORT/t_test_x_<hash>
"""

from __future__ import annotations

from testctr.modules.mysql import DATA_DIR, MySQLDSN, ServerOptions

IMAGE = "mariadb:11"


class MariaDBDSN(MySQLDSN):
    clients = ("mariadb", "mysql")


_OPTIONS = ServerOptions("mariadb", "MARIADB_", MariaDBDSN)
default = _OPTIONS.default
with_data_on_disk = _OPTIONS.with_data_on_disk
with_password = _OPTIONS.with_password
with_user = _OPTIONS.with_user
with_database = _OPTIONS.with_database
with_init_script = _OPTIONS.with_init_script
with_config = _OPTIONS.with_config
with_dsn_client = _OPTIONS.with_dsn_client
with_template = _OPTIONS.with_template
url = _OPTIONS.url


__all__ = [
    "DATA_DIR",
    "IMAGE",
    "MariaDBDSN",
    "default",
    "url",
    "with_config",
    "with_data_on_disk",
    "with_database",
    "with_dsn_client",
    "with_init_script",
    "with_password",
    "with_template",
    "with_user",
]
