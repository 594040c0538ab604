"""Service modules: one ``default()`` option bundle per service, plus typed ``with_*`` helpers.

    from testctr.modules import postgres
    pg = testctr.new(request, postgres.IMAGE, postgres.default(), postgres.with_password("s3cret"))
    dsn = pg.dsn(request)          # a fresh database for this test

Each module names its official image in ``IMAGE``. ``default()`` and the
``with_*`` helpers may be given in any order: the helpers win.
"""

from __future__ import annotations

__all__ = ["mariadb", "memcached", "mosquitto", "mysql", "nats", "postgres", "rabbitmq", "redis"]
__all__ += ["azurite", "chroma", "mail", "moto", "selenium"]
