"""Django's test runner and pytest-django on a testctr database server.

Django creates (and clones, for ``--parallel``) its own test databases, so
testctr only starts the server, once, in the process that runs the suite, and
points ``DATABASES`` at it: every alias whose ENGINE is PostgreSQL or MySQL
gets one server of that module's image (``TESTCTR_IMAGES = {"default": ...}``
in settings picks another image). Spawned ``--parallel`` workers start none:
Django hands them the main process's connection settings.

    # settings.py
    TEST_RUNNER = "testctr.django.TestRunner"

    # conftest.py (pytest-django)
    from testctr.django.fixtures import django_db_modify_db_settings  # noqa: F401
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections
from django.test.runner import DiscoverRunner

from testctr.container import new
from testctr.modules import mysql, postgres
from testctr.owners import ScriptOwner


def _server_settings(engine: str) -> tuple[str, Any, Any] | None:
    """(image, default options, settings for Django) of the module that serves ``engine``, if any."""
    if engine.endswith(".postgresql"):

        def pg(c: Any) -> dict[str, str]:
            p = postgres.PostgresDSN(c.config)
            return {"USER": p.user, "PASSWORD": p.password, "PORT": str(c.port(postgres.PORT))}

        return postgres.IMAGE, postgres.default(), pg
    if engine.endswith(".mysql"):

        def my(c: Any) -> dict[str, str]:
            # Django's test database creation needs CREATE DATABASE: root.
            p = mysql.MySQLDSN(c.config)
            return {"USER": "root", "PASSWORD": p.root_password, "PORT": str(c.port(mysql.PORT))}

        return mysql.IMAGE, mysql.default(), my
    return None


def point_databases(owner: object) -> list[str]:
    """Start a server per PostgreSQL/MySQL alias, owned by ``owner``, and point the alias at it.

    Returns the aliases it pointed.
    """
    images: dict[str, str] = getattr(settings, "TESTCTR_IMAGES", {})
    pointed = []
    for alias in connections:
        settings_dict = connections[alias].settings_dict
        if settings_dict.get("TEST", {}).get("MIRROR"):
            continue  # a replica in tests reads its primary's database
        server = _server_settings(settings_dict.get("ENGINE", ""))
        if server is None:
            continue
        image, default, django_settings = server
        container = new(owner, images.get(alias, image), default)
        settings_dict.update(HOST=container.host(), **django_settings(container))
        pointed.append(alias)
    return pointed


class TestRunner(DiscoverRunner):  # type: ignore[misc]
    """``DiscoverRunner`` whose databases live on testctr servers, started once per run."""

    def setup_databases(self, **kwargs: Any) -> Any:
        self._testctr_owner = ScriptOwner("django-tests")
        try:
            point_databases(self._testctr_owner)
            return super().setup_databases(**kwargs)
        except BaseException:
            self._testctr_owner.close()
            raise

    def teardown_databases(self, old_config: Any, **kwargs: Any) -> None:
        try:
            super().teardown_databases(old_config, **kwargs)
        finally:
            self._testctr_owner.close()


__all__ = ["TestRunner", "point_databases"]
