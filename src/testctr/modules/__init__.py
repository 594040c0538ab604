"""Service modules: one ``default()`` option bundle per service, plus typed ``with_*`` helpers.

    from testctr.modules import postgres
    pg = testctr.new(request, postgres.IMAGE, postgres.default(), postgres.with_password("s3cret"))
    dsn = pg.dsn(request)          # a fresh database for this test

Each module names its official image in ``IMAGE``. ``default()`` and the
``with_*`` helpers may be given in any order: the helpers win.
:mod:`testctr.modules.kit` holds the pieces they are made of, for writing your
own (see docs/modules.md).
"""

from __future__ import annotations

__all__ = [
    "azurite",
    "chroma",
    "etcd",
    "influxdb",
    "kit",
    "mail",
    "mariadb",
    "memcached",
    "mosquitto",
    "moto",
    "mysql",
    "nats",
    "nginx",
    "openldap",
    "postgis",
    "postgres",
    "rabbitmq",
    "redis",
    "selenium",
    "sftp",
    "zookeeper",
]
