"""A tiny Django project for tests/integration/test_django.py: one model, one test.

TESTCTR_DJANGO_ENGINE picks the database (postgresql or mysql); the NAME is
Django's, everything else testctr fills in.
"""

import os

ENGINE = os.environ.get("TESTCTR_DJANGO_ENGINE", "postgresql")
if ENGINE == "mysql":
    # PyMySQL standing in for mysqlclient, the driver Django expects.
    import pymysql

    pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()

if os.environ.get("TESTCTR_DJANGO_SPAWN"):
    # macOS's and Windows's start method: workers import settings afresh.
    import multiprocessing

    multiprocessing.set_start_method("spawn", force=True)

SECRET_KEY = "not-secret"
USE_TZ = True
INSTALLED_APPS = ["notes"]
DATABASES = {"default": {"ENGINE": f"django.db.backends.{ENGINE}", "NAME": "app"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TEST_RUNNER = "testctr.django.TestRunner"
