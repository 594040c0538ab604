"""Databases on servers other runs use too: per-run names, and dropping those of ended runs."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import testctr
from testctr import dbpool, housekeeping, sessions, settings
from testctr.backends.memory import MemoryBackend
from testctr.container import Container
from testctr.labels import SESSION_ID
from testctr.owners import ScriptOwner
from testctr.parsing import database_name, database_session


class Provider:
    max_name_length = 63

    def __init__(self, existing: list[str]) -> None:
        self.databases = list(existing)
        self.dropped: list[str] = []

    def create_database(self, container: Container, name: str) -> str:
        self.databases.append(name)
        return name

    def drop_database(self, container: Container, handle: str) -> None:
        self.databases.remove(handle)
        self.dropped.append(handle)

    def format_dsn(self, container: Container, handle: str, driver: str | None = None) -> str:
        return f"mem://{handle}"

    def list_databases(self, container: Container, prefix: str) -> list[str]:
        return [name for name in self.databases if name.startswith(prefix)]


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(housekeeping, "_checked", set())
    # Databases made and dropped on the test's path (the pool's sweep has its own tests).
    settings.configure(db_pool=False)


def ended_runs_token() -> str:
    code = "from testctr import sessions; print(sessions.token())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_a_reused_containers_databases_carry_the_runs_token_and_ended_runs_are_dropped(memory: MemoryBackend) -> None:
    dead = ended_runs_token()
    left = database_name("tests/t.py::test_old", 63, dead)
    unknown = database_name("tests/t.py::test_elsewhere", 63, "0badc0de")  # another host's run
    provider = Provider([left, unknown, "postgres", "t_plain_0123456789"])
    owner = ScriptOwner("tests/t.py::test_new")
    c = testctr.new(owner, "app:1", testctr.with_reuse(), testctr.with_dsn_provider(provider))
    dsn = c.dsn(owner)
    assert database_session(dsn.removeprefix("mem://")) == sessions.token()
    assert provider.dropped == [left]
    assert sorted(provider.databases) == sorted([unknown, "postgres", "t_plain_0123456789", dsn[6:]])
    owner.close()
    assert provider.dropped == [left, dsn[6:]]  # the test's own, at its end


def test_a_throwaway_containers_databases_carry_no_token(memory: MemoryBackend) -> None:
    provider = Provider([])
    owner = ScriptOwner("tests/t.py::test_new")
    c = testctr.new(owner, "app:1", testctr.with_dsn_provider(provider))
    assert c.dsn(owner) == "mem://" + database_name("tests/t.py::test_new")


def this_runs(dsn: str) -> bool:
    """Whether the database of ``dsn`` is named for this run: made for its test, or by its pool."""
    name = dsn.removeprefix("mem://")
    return database_session(name) == sessions.token() or name.startswith(f"{dbpool.PREFIX}{SESSION_ID}_")


def test_with_the_pool_a_reused_containers_databases_are_named_for_the_run_too(memory: MemoryBackend) -> None:
    settings.configure(db_pool=True)
    dead = ended_runs_token()
    left = database_name("tests/t.py::test_old", 63, dead)
    provider = Provider([left])
    owner = ScriptOwner("tests/t.py::test_new")
    c = testctr.new(owner, "app:1", testctr.with_reuse(), testctr.with_dsn_provider(provider))
    assert this_runs(c.dsn(owner))
    other = ScriptOwner("tests/t.py::test_two")
    assert this_runs(c.dsn(other))
    assert c._db is not None and c._db.settle(5)
    assert provider.dropped[0] == left  # once per container, before any of this run's
    other.close()
    owner.close()


class SlowDropProvider(Provider):
    """Drops of ``slow`` wait until ``go`` is set."""

    def __init__(self, existing: list[str], slow: str) -> None:
        super().__init__(existing)
        self.slow = slow
        self.go = threading.Event()

    def drop_database(self, container: Container, handle: str) -> None:
        if handle == self.slow:
            assert self.go.wait(5)
        super().drop_database(container, handle)


def test_with_the_pool_ended_runs_databases_are_dropped_off_the_tests_path(memory: MemoryBackend) -> None:
    settings.configure(db_pool=True)
    dead = ended_runs_token()
    left = database_name("tests/t.py::test_old", 63, dead)
    provider = SlowDropProvider([left], slow=left)
    owner = ScriptOwner("tests/t.py::test_new")
    c = testctr.new(owner, "app:1", testctr.with_reuse(), testctr.with_dsn_provider(provider))
    dsn = c.dsn(owner)  # returns while the ended run's database is still being dropped
    assert left in provider.databases and this_runs(dsn)
    provider.go.set()
    assert c._db is not None and c._db.settle(5)
    assert left not in provider.databases
    assert not sessions.dead(dead)  # its file is gone with its databases: nothing left to check
    owner.close()


def test_with_the_pool_a_reused_container_has_a_database_ready_before_the_first_dsn(memory: MemoryBackend) -> None:
    settings.configure(db_pool=True)
    provider = Provider([])
    owner = ScriptOwner("tests/t.py::test_new")
    c = testctr.new(owner, "app:1", testctr.with_reuse(), testctr.with_dsn_provider(provider))
    deadline = time.monotonic() + 5
    while not any(name.startswith(dbpool.PREFIX) for name in provider.databases):
        assert time.monotonic() < deadline, "the pool did not fill before the first dsn()"
        time.sleep(0.01)
    (ready,) = provider.databases
    assert c.dsn(owner) == "mem://" + ready  # taken as it was made: the test made none on its path
    owner.close()
