"""testctr.django on the tiny project in tests/django_project, on Docker.

Django's runner (with --parallel 2 under the spawn start method: one server,
a cloned database per worker) and pytest-django, each in its own process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import django  # noqa: F401  (the test extra installs it, and pytest-django)
import pytest

pytestmark = pytest.mark.engine

PROJECT = Path(__file__).parents[1] / "django_project"
SEEN = re.compile(r"DB (\S+) (\S+) pid (\d+)")


def run(argv: list[str], **env: str) -> list[tuple[str, str, str]]:
    result = subprocess.run(
        [sys.executable, *argv],
        cwd=PROJECT,
        env={**os.environ, "TESTCTR_RUNTIME": "docker", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return SEEN.findall(result.stdout + result.stderr)


def test_django_runner_in_parallel_with_spawn_uses_one_server() -> None:
    seen = run(["-m", "django", "test", "--settings=settings", "--parallel", "2", "notes"], TESTCTR_DJANGO_SPAWN="1")
    assert len(seen) == 2
    # Workers get the main process's settings: one server, a database per worker
    # (which worker runs which test is Django's choice).
    assert len({server for _, server, _ in seen}) == 1
    assert {db for db, _, _ in seen} <= {"test_app_1", "test_app_2"}


def test_django_runner_on_mysql() -> None:
    seen = run(["-m", "django", "test", "--settings=settings", "notes"], TESTCTR_DJANGO_ENGINE="mysql")
    assert [db for db, _, _ in seen] == ["test_app", "test_app"]


def test_pytest_django(tmp_path: Path) -> None:
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\nDJANGO_SETTINGS_MODULE = settings\n")
    argv = ["-m", "pytest", "-c", str(ini), "--rootdir", str(PROJECT), "-p", "no:cacheprovider", "-q", "-s"]
    seen = run([*argv, "notes/tests.py"])
    assert [db for db, _, _ in seen] == ["test_app", "test_app"]
