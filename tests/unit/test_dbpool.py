"""The database pool's logic with fake providers on the in-memory backend: no engine."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

import testctr
from testctr import dbpool, schedule, settings
from testctr.backends.memory import MemoryBackend
from testctr.container import Container
from testctr.dsn import DatabaseLimitReached
from testctr.errors import TestctrError
from testctr.labels import SESSION_ID
from testctr.owners import ScriptOwner

IMAGE = "app:1"


class Server:
    """What a fake provider's server holds, and what was done to it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.databases: dict[str, int] = {}  # name -> version it was made with
        self.log: list[str] = []


class FakeProvider:
    """Creates, drops and lists names in a :class:`Server`; no version."""

    max_name_length = 63

    def __init__(self, limit: int = 100) -> None:
        self.server = Server()
        self.limit = limit
        self.version = 0
        self.fail_drops = False
        self.create_delay = 0.0
        self.drop_delay = 0.0
        self.dropping = 0
        #: The most drops that ran at once.
        self.most_dropping = 0
        #: Pooled databases are made only once it is set.
        self.fill_gate = threading.Event()
        self.fill_gate.set()
        #: Drops finish only once it is set.
        self.drop_gate = threading.Event()
        self.drop_gate.set()

    def create_database(self, container: Container, name: str) -> str:
        time.sleep(self.create_delay)
        if name.startswith(dbpool.PREFIX):
            self.fill_gate.wait()
        with self.server.lock:
            if len(self.server.databases) >= self.limit:
                raise DatabaseLimitReached(f"{self.limit} databases")
            self.server.databases[name] = self.version
            self.server.log.append(f"create {name}")
        return name

    def drop_database(self, container: Container, handle: str) -> None:
        if self.fail_drops:
            raise TestctrError(f"cannot drop {handle}")
        with self.server.lock:
            self.dropping += 1
            self.most_dropping = max(self.most_dropping, self.dropping)
        time.sleep(self.drop_delay)
        self.drop_gate.wait()
        with self.server.lock:
            self.dropping -= 1
            self.server.databases.pop(handle, None)
            self.server.log.append(f"drop {handle}")

    def format_dsn(self, container: Container, handle: str, driver: str | None = None) -> str:
        return f"fake:///{handle}"

    def list_databases(self, container: Container, prefix: str) -> list[str]:
        with self.server.lock:
            return [name for name in self.server.databases if name.startswith(prefix)]


class VersionedProvider(FakeProvider):
    """With a template version, like PostgreSQL."""

    def database_version(self) -> object:
        return self.version


@pytest.fixture
def server(memory: MemoryBackend) -> Container:
    return testctr.new(ScriptOwner("server"), IMAGE)


def wait_until(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def ready(pool: dbpool.DatabasePool, n: int = 1) -> None:
    wait_until(lambda: len(pool._ready) >= n and pool.idle())


def test_the_first_database_is_made_at_once_then_tests_take_ready_ones_by_their_pooled_names(
    server: Container,
) -> None:
    provider = VersionedProvider()
    pool = dbpool.DatabasePool(server, provider)
    assert pool.create("t_first") == "t_first"
    ready(pool)
    (pooled,) = [line.split()[1] for line in provider.server.log if line.startswith("create tp_")]
    assert pooled.startswith(f"tp_{SESSION_ID}_")
    assert pool.create("t_second") == pooled
    assert sorted(provider.server.log) == sorted(["create t_first", f"create {pooled}"])  # either first; no call more
    pool.close()


def test_a_drop_is_only_queued_on_the_tests_path_and_done_in_the_background(server: Container) -> None:
    provider = FakeProvider()
    provider.drop_gate.clear()  # a drop that cannot finish: the test's path must not wait for it
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_a")
    pool.drop("t_a")
    assert "drop t_a" not in provider.server.log
    provider.drop_gate.set()
    assert pool.settle(5)
    assert "drop t_a" in provider.server.log
    pool.close()


def test_a_drop_does_not_wait_for_the_database_being_made(server: Container) -> None:
    provider = FakeProvider()
    provider.fill_gate.clear()
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_a")
    wait_until(lambda: pool._filling)
    pool.drop("t_a")
    assert pool.settle(5)
    assert "t_a" not in provider.server.databases
    provider.fill_gate.set()
    pool.close()


def test_a_backlog_of_drops_is_dropped_in_parallel(server: Container) -> None:
    provider = FakeProvider()
    provider.drop_delay = 0.05
    pool = dbpool.DatabasePool(server, provider)
    handles = [pool.create(f"t_{i}") for i in range(6)]
    assert pool.settle(5)
    for handle in handles:
        pool.drop(handle)
    assert pool.settle(5)
    assert 1 < provider.most_dropping <= dbpool.MAX_DROPPERS
    assert not [n for n in provider.server.databases if n.startswith("t_")]
    wait_until(lambda: pool._droppers == 1)  # the helpers end with the backlog
    pool.close()


def a_fill_held(server: Container, provider: FakeProvider) -> dbpool.DatabasePool:
    """A pool whose ready database a test took; the next one is being made, held at the gate."""
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_a")
    ready(pool)
    provider.fill_gate.clear()
    pool.create("t_b")
    wait_until(lambda: pool._filling)
    return pool


def test_the_pool_grows_when_a_test_waits_for_the_database_being_made(server: Container) -> None:
    provider = VersionedProvider()
    pool = a_fill_held(server, provider)
    threading.Timer(0.05, provider.fill_gate.set).start()
    pool.create("t_c")  # waits for it
    assert pool._target == 2
    ready(pool, 2)
    pool.close()


@pytest.fixture
def tests_left(monkeypatch: pytest.MonkeyPatch) -> Callable[[int | None], None]:
    """Start a test, as the pytest plugin does, with the number of tests after it."""
    monkeypatch.setattr(schedule, "tests_left", None)
    monkeypatch.setattr(schedule, "current_test", 0)
    return schedule.test_started


def pooled_made(provider: FakeProvider) -> int:
    return len([line for line in provider.server.log if line.startswith(f"create {dbpool.PREFIX}")])


def test_the_pool_makes_no_more_than_the_tests_left_can_take(
    server: Container, tests_left: Callable[[int | None], None]
) -> None:
    provider = VersionedProvider()
    pool = dbpool.DatabasePool(server, provider)
    pool._target = 4  # as after tests that found it empty
    tests_left(1)  # this test and one more
    pool.create("t_a")  # made on the test's path; one ready for the last test
    ready(pool)
    time.sleep(0.05)
    assert pooled_made(provider) == 1
    tests_left(0)
    pool.create("t_b")  # the last test takes it: none made after
    assert pool.settle(5) and pool.idle()
    time.sleep(0.05)
    assert pooled_made(provider) == 1 and not pool._ready
    pool.close()


def test_a_test_that_has_not_taken_its_database_yet_still_gets_one_made(
    server: Container, tests_left: Callable[[int | None], None]
) -> None:
    provider = VersionedProvider()
    pool = dbpool.DatabasePool(server, provider)
    tests_left(0)  # the only test: its database is made ahead, while its setup goes on
    pool.start()
    ready(pool)
    pool.create("t_only")
    assert pool.settle(5)
    time.sleep(0.05)
    assert pooled_made(provider) == 1 and not pool._ready
    tests_left(None)  # unknown (an xdist worker, a script): no cap
    pool.create("t_more")
    ready(pool)
    assert pooled_made(provider) >= 2
    pool.close()


class NotYetServing(VersionedProvider):
    """A server found running that does not answer until ``serving`` is set (its wait strategies still run)."""

    def __init__(self) -> None:
        super().__init__()
        self.serving = threading.Event()
        self.refused = 0

    def _answer(self) -> None:
        if not self.serving.is_set():
            self.refused += 1
            raise TestctrError("connection refused")

    def create_database(self, container: Container, name: str) -> str:
        self._answer()
        return super().create_database(container, name)

    def list_databases(self, container: Container, prefix: str) -> list[str]:
        self._answer()
        return super().list_databases(container, prefix)


def test_a_pool_started_during_the_wait_makes_databases_once_the_server_answers(server: Container) -> None:
    provider = NotYetServing()
    provider.serving.set()  # found running and ready, as usual
    pool = dbpool.databases_for(server, provider, outliving=True, waiting=time.monotonic() + 5)
    assert isinstance(pool, dbpool.DatabasePool)
    ready(pool)  # the sweep's answer let the fill start: no waited() yet
    assert provider.refused == 0
    pool.waited()
    assert pool.create("t_a").startswith(dbpool.PREFIX) and pool.take_errors() == []
    pool.close()


def test_a_pool_started_during_the_wait_tries_again_once_it_has_passed(server: Container) -> None:
    provider = NotYetServing()
    pool = dbpool.databases_for(server, provider, outliving=True, waiting=time.monotonic() + 5)
    assert isinstance(pool, dbpool.DatabasePool)
    wait_until(lambda: provider.refused >= 1)  # the sweep; the fill waits for an answer
    time.sleep(0.05)
    assert provider.refused == 1 and not pool._ready
    provider.serving.set()
    pool.waited()
    ready(pool)
    assert pool.create("t_a").startswith(dbpool.PREFIX) and pool.take_errors() == []
    pool.close()


def test_a_pool_closed_during_the_wait_gives_up_quietly(server: Container) -> None:
    provider = NotYetServing()
    pool = dbpool.databases_for(server, provider, outliving=True, waiting=time.monotonic() + 5)
    assert isinstance(pool, dbpool.DatabasePool)
    wait_until(lambda: provider.refused >= 1)
    pool.close()  # the wait failed: the container is replaced
    wait_until(lambda: not pool._filling and not pool._sweeping)
    assert provider.refused == 1 and pool.take_errors() == []


def test_a_pool_whose_wait_runs_out_makes_no_databases(server: Container) -> None:
    provider = NotYetServing()
    pool = dbpool.databases_for(server, provider, outliving=True, waiting=time.monotonic() + 0.2)
    assert isinstance(pool, dbpool.DatabasePool)
    wait_until(lambda: pool._fill_paused and not pool._sweeping)
    assert provider.refused == 1 and not pool._ready
    pool.close()


def test_after_the_wait_a_failure_is_reported_not_retried(server: Container) -> None:
    provider = NotYetServing()
    pool = dbpool.databases_for(server, provider, outliving=True)
    assert isinstance(pool, dbpool.DatabasePool)
    wait_until(lambda: not pool._sweeping)
    assert provider.refused >= 1 and any("failed" in e for e in pool.take_errors())
    pool.close()


def test_a_template_change_invalidates_ready_databases(server: Container) -> None:
    provider = VersionedProvider()
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_a")
    ready(pool)
    provider.version = 1
    pool.create("t_b")
    assert provider.server.databases["t_b"] == 1  # made with the new template, not taken from the pool
    # The one made before the change was never handed out: it is dropped.
    wait_until(lambda: all(v == 1 for n, v in provider.server.databases.items() if n != "t_a"))
    pool.close()


def test_a_test_waits_for_the_database_being_made_rather_than_making_another(server: Container) -> None:
    provider = VersionedProvider()
    provider.fill_gate.clear()
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_a")
    wait_until(lambda: pool._filling)
    threading.Timer(0.1, provider.fill_gate.set).start()
    assert pool.create("t_b").startswith(dbpool.PREFIX)
    assert "create t_b" not in provider.server.log  # the test did not make its own
    pool.close()


def test_a_database_begun_before_a_stop_is_not_handed_out_after_it(server: Container) -> None:
    """On tmpfs a restart loses it: the test would get a DSN of a database that is gone."""
    provider = FakeProvider()
    pool = a_fill_held(server, provider)
    pool.forget_ready()  # the container stops
    provider.fill_gate.set()  # made while the server was going down
    wait_until(pool.idle)
    assert not pool._ready and not pool._filling  # and no other begun until a test asks
    assert pool.create("t_c") == "t_c"  # made on its path: nothing ready it can trust
    pool.close()


def test_a_pool_that_keeps_more_than_one_ready_makes_them_side_by_side(server: Container) -> None:
    provider = FakeProvider()
    provider.fill_gate.clear()
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_a")
    wait_until(lambda: pool._filling == 1)
    with pool._cond:
        pool._target = 3
        pool._fill_wanted.notify_all()
    wait_until(lambda: pool._filling == dbpool.FILLERS)
    provider.fill_gate.set()
    ready(pool, 3)
    pool.close()


def test_the_pool_grows_when_tests_find_it_empty_up_to_a_bound(server: Container) -> None:
    provider = FakeProvider()
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_0")
    for _ in range(1000):
        with pool._cond:
            pool._ready.clear()
            pool._take_locked(None)  # a test that finds the pool empty (or waits for the one being made)
        if pool._target == dbpool.MAX_READY:
            break
    assert pool._target == dbpool.MAX_READY
    ready(pool, dbpool.MAX_READY)
    time.sleep(0.05)
    assert len(pool._ready) == dbpool.MAX_READY
    pool.close()


def test_the_pool_shrinks_when_tests_keep_finding_it_full(server: Container) -> None:
    provider = FakeProvider()
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_0")
    with pool._cond:
        pool._target = 4
        pool._fill_wanted.notify_all()
    for i in range(dbpool.SHRINK_AFTER):
        assert pool._target == 4  # one full pool is no trend
        ready(pool, 4)
        pool.create(f"t_{i + 1}")
    assert pool._target == 3
    pool.close()


def test_at_the_servers_limit_the_pool_stops_and_a_test_gets_the_error(server: Container) -> None:
    provider = FakeProvider(limit=2)
    pool = dbpool.DatabasePool(server, provider)
    first = pool.create("t_a")
    ready(pool)
    second = pool.create("t_b")
    wait_until(lambda: pool._at_limit)
    with pytest.raises(DatabaseLimitReached):
        pool.create("t_c")
    pool.drop(first)
    assert pool.settle(5)
    ready(pool)  # room again: the pool refills
    assert pool.create("t_c") not in (first, second)
    pool.raise_background_errors()  # the limit is no error
    pool.close()


def test_a_failed_background_drop_surfaces_at_the_next_dsn(server: Container) -> None:
    provider = FakeProvider()
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_a")
    provider.fail_drops = True
    pool.drop("t_a")
    assert pool.settle(5)
    with pytest.raises(TestctrError, match=r"in the background.*cannot drop t_a"):
        pool.create("t_b")
    provider.fail_drops = False
    assert pool.create("t_b")  # reported once
    pool.close()


def test_a_failed_fill_falls_back_to_making_the_database_in_the_test(server: Container) -> None:
    provider = FakeProvider()
    pool = dbpool.DatabasePool(server, provider)
    calls = 0
    create = provider.create_database

    def flaky(container: Container, name: str) -> str:
        nonlocal calls
        calls += 1
        if name.startswith(dbpool.PREFIX) and calls == 2:
            raise TestctrError("server busy")
        return create(container, name)

    provider.create_database = flaky  # type: ignore[method-assign]
    pool.create("t_a")
    wait_until(lambda: pool._fill_paused)
    assert pool.create("t_b") == "t_b"  # made here
    ready(pool)  # and the pool fills again
    pool.close()


def test_no_drop_is_attempted_once_the_container_is_removed(server: Container) -> None:
    provider = FakeProvider()
    provider.create_delay = 0.05
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_a")
    pool.close()
    pool.drop("t_a")
    time.sleep(0.1)
    assert not [line for line in provider.server.log if line.startswith("drop")]


def test_ready_databases_of_a_stopped_server_are_dropped_once_a_test_needs_it_again(server: Container) -> None:
    provider = FakeProvider()
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_a")
    ready(pool)
    (pooled,) = [n for n in provider.server.databases if n.startswith(dbpool.PREFIX)]
    pool.forget_ready()
    time.sleep(0.05)
    assert pooled in provider.server.databases  # not while it stops
    assert pool.create("t_b") != pooled
    wait_until(lambda: pooled not in provider.server.databases)
    pool.close()


def test_retire_drops_ready_databases_and_makes_no_more(server: Container) -> None:
    provider = FakeProvider()
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_kept")
    ready(pool)
    pool.retire()
    assert pool.settle(5)
    time.sleep(0.05)
    assert list(provider.server.databases) == ["t_kept"]
    pool.close()


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def test_a_new_pool_drops_pooled_databases_of_dead_sessions_only(server: Container) -> None:
    provider = FakeProvider()
    host_tag = dbpool.pooled_name(1).split("_")[2]
    dead = f"tp_{'0' * 12}_{host_tag}_{dead_pid()}_0_1"
    alive = f"tp_{'1' * 12}_{host_tag}_{os.getppid()}_0_1"
    elsewhere = f"tp_{'2' * 12}_ffff_{dead_pid()}_0_1"
    mine = dbpool.pooled_name(99)
    for name in (dead, alive, elsewhere, mine, "t_someone"):
        provider.server.databases[name] = 0
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_a")
    assert pool.settle(5)
    assert dead not in provider.server.databases
    assert {alive, mine, "t_someone"} <= set(provider.server.databases)
    if host_tag != "ffff":
        assert elsewhere in provider.server.databases
    pool.close()


def test_left_by_dead_session_needs_our_format() -> None:
    assert not dbpool.left_by_dead_session("tp_x")
    assert not dbpool.left_by_dead_session("t_tests_a_0123456789")
    assert not dbpool.left_by_dead_session(dbpool.pooled_name(1))


def test_the_end_of_the_process_drops_what_is_pending_and_reports_failures(
    server: Container, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = FakeProvider()
    pool = dbpool.DatabasePool(server, provider)
    pool.create("t_a")
    ready(pool)
    pool.drop("t_a")
    dbpool.finish_all(timeout=5)
    assert provider.server.databases == {}
    failing = FakeProvider()
    other = dbpool.DatabasePool(server, failing)
    other.create("t_b")
    failing.fail_drops = True
    other.drop("t_b")
    dbpool.finish_all(timeout=5)
    assert "cannot drop t_b" in capsys.readouterr().err


def test_container_dsn_uses_the_pool_and_its_teardown_hands_over(server: Container) -> None:
    provider = VersionedProvider()
    db = testctr.new(ScriptOwner("db"), IMAGE, testctr.with_dsn_provider(provider))
    first, second = ScriptOwner("tests/a"), ScriptOwner("tests/b")
    assert db.dsn(first).startswith("fake:///t_tests_a_")  # made on its path: the pool starts with it
    assert isinstance(db._db, dbpool.DatabasePool)
    ready(db._db)
    taken = db.dsn(second).removeprefix("fake:///")
    assert taken.startswith(dbpool.PREFIX)
    first.close()
    second.close()
    assert db._db.settle(5)
    assert taken not in provider.server.databases
    assert [n for n in provider.server.databases if n.startswith("t_")] == []
    db.terminate()


def test_keep_failed_hint_names_a_pooled_database_and_its_test(
    memory: MemoryBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.configure(keep_failed=True)
    provider = FakeProvider()
    owner = ScriptOwner("tests/failing")
    db = testctr.new(owner, IMAGE, testctr.with_dsn_provider(provider))
    db.dsn(ScriptOwner("tests/first"))
    assert isinstance(db._db, dbpool.DatabasePool)
    ready(db._db)
    handle = db.dsn(owner).rsplit("/", 1)[1]
    owner.error = True
    owner.close()
    assert f"{handle} (test tests/failing)" in capsys.readouterr().err
    assert handle in provider.server.databases


def test_the_setting_turns_the_pool_off(server: Container) -> None:
    settings.configure(db_pool=False)
    assert isinstance(dbpool.databases_for(server, FakeProvider()), dbpool.DirectDatabases)
    assert settings.Settings.from_env({"TESTCTR_DB_POOL": "0"}).db_pool is False


class CountingProvider(FakeProvider):
    """Counts format_dsn calls and says which thread made each DSN."""

    def __init__(self) -> None:
        super().__init__()
        self.formatted_by: list[str] = []

    def format_dsn(self, container: Container, handle: str, driver: str | None = None) -> str:
        self.formatted_by.append(threading.current_thread().name)
        return super().format_dsn(container, handle, driver) + ("" if driver is None else f"?driver={driver}")


def server_with_a_ready_database(provider: CountingProvider) -> tuple[Container, dbpool.DatabasePool, ScriptOwner]:
    """A server whose pool holds a ready database after a first test's dsn(); that test's owner."""
    db = testctr.new(ScriptOwner("db"), IMAGE, testctr.with_dsn_provider(provider))
    first = ScriptOwner("tests/a")
    db.dsn(first)
    assert isinstance(db._db, dbpool.DatabasePool)
    ready(db._db)
    provider.formatted_by.clear()
    return db, db._db, first


def test_a_ready_database_is_handed_out_with_the_dsn_the_pool_formatted(memory: MemoryBackend) -> None:
    provider = CountingProvider()
    db, _, first = server_with_a_ready_database(provider)
    second = ScriptOwner("tests/b")
    dsn = db.dsn(second)
    assert dsn.startswith(f"fake:///{dbpool.PREFIX}")
    # Nothing formatted on the test's thread: the DSN came with the database.
    assert all(name.startswith("testctr-dbpool-fill") for name in provider.formatted_by)
    assert db.dsn(second) == dsn  # the same database for the same test
    assert db.dsn(second, "psycopg") == dsn + "?driver=psycopg"  # another driver: formatted now
    first.close()
    second.close()
    db.terminate()


def test_a_server_not_heard_from_lately_gets_its_dsn_formatted_on_the_tests_path(memory: MemoryBackend) -> None:
    provider = CountingProvider()
    db, pool, first = server_with_a_ready_database(provider)
    with pool._cond:
        pool._answered_at -= dbpool.UNCHECKED_STATE_AGE  # its last answer is too old to vouch for it
    second = ScriptOwner("tests/b")
    assert db.dsn(second).startswith(f"fake:///{dbpool.PREFIX}")
    assert threading.current_thread().name in provider.formatted_by
    first.close()
    second.close()
    db.terminate()


def test_a_stopped_server_fails_dsn_even_with_a_database_ready(memory: MemoryBackend) -> None:
    class PortedProvider(FakeProvider):
        def format_dsn(self, container: Container, handle: str, driver: str | None = None) -> str:
            return f"fake://{container.endpoint('5432')}/{handle}"

    db = testctr.new(ScriptOwner("db"), IMAGE, testctr.with_port("5432"), testctr.with_dsn_provider(PortedProvider()))
    first = ScriptOwner("tests/a")
    db.dsn(first)
    assert isinstance(db._db, dbpool.DatabasePool)
    ready(db._db)
    db.stop()
    with pytest.raises(testctr.ContainerNotRunning):
        db.dsn(ScriptOwner("tests/b"))
    first.close()
    db.terminate()


def test_take_ready_leaves_background_errors_to_create(server: Container) -> None:
    failing = FakeProvider()
    pool = dbpool.DatabasePool(server, failing)
    pool.create("t_a")
    ready(pool)
    failing.fail_drops = True
    pool.drop("t_a")
    wait_until(pool.idle)
    assert pool.take_ready() is None
    with pytest.raises(TestctrError, match="cannot drop t_a"):
        pool.create("t_b")
    pool.close()
