"""Per-test PostgreSQL databases through Container.dsn, with psycopg 3 doing real work.

Three module-scoped servers: the driver path, the no-driver path (psql inside
the container) with an SQL template, and the driver path with a callable
template. Databases come from the pool (testctr.dbpool) and are dropped in the
background: ``settle`` waits for the drops. The last test of the file checks
that every database the earlier tests made is gone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

import testctr
from testctr import dbpool, settings
from testctr.labels import SESSION_ID
from testctr.modules import postgres
from testctr.owners import ScriptOwner
from testctr.parsing import database_name

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.engine

#: Databases handed to tests of this file in this process, checked by the last test.
made: list[tuple[str, str]] = []


def start(request: pytest.FixtureRequest, *opts: testctr.Option) -> testctr.Container:
    return testctr.new(request, "postgres:16", postgres.default(), testctr.with_runtime("docker"), *opts)


@pytest.fixture(scope="module")
def pg(request: pytest.FixtureRequest) -> testctr.Container:
    return start(request)


@pytest.fixture(scope="module")
def pg_exec(request: pytest.FixtureRequest) -> testctr.Container:
    """No driver: psql inside the container; the template is SQL; a password that needs quoting."""
    return start(
        request,
        postgres.with_dsn_client("exec"),
        postgres.with_password("p@ss w:rd/'x"),
        postgres.with_template("CREATE TABLE seeded (id int); INSERT INTO seeded VALUES (1), (2), (3);"),
    )


def migrate(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (name text)")
        conn.execute("INSERT INTO users VALUES ('ada'), ('grace')")


@pytest.fixture(scope="module")
def pg_template(request: pytest.FixtureRequest) -> testctr.Container:
    return start(request, postgres.with_template(migrate))


def db_of(dsn: str) -> str:
    return dsn.rsplit("/", 1)[1]


def tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def databases(container: testctr.Container) -> set[str]:
    out = container.exec_simple("psql", "-U", "test", "-d", "postgres", "-Atc", "SELECT datname FROM pg_database")
    return set(out.split())


def named_for(test_id: str, dsn: str) -> bool:
    """The database is named after the test (made on its path) or is one of this run's pool's."""
    return db_of(dsn) == database_name(test_id, 63) or db_of(dsn).startswith(f"{dbpool.PREFIX}{SESSION_ID}_")


def record(container: testctr.Container, dsn: str) -> str:
    made.append((container.id, db_of(dsn)))
    return dsn


def settle(container: testctr.Container) -> None:
    """Wait for the background drops of the databases of finished tests."""
    assert container._db is None or container._db.settle(60)


def test_dsn_is_a_working_database_of_its_own(request: pytest.FixtureRequest, pg: testctr.Container) -> None:
    dsn = record(pg, pg.dsn(request))
    assert dsn.startswith(f"postgresql://test:test@{pg.endpoint(5432)}/t")
    assert named_for(request.node.nodeid, dsn)
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('hello')")
        assert conn.execute("SELECT current_database(), body FROM notes").fetchone() == (db_of(dsn), "hello")


def test_calling_twice_returns_the_same_database(request: pytest.FixtureRequest, pg: testctr.Container) -> None:
    first = record(pg, pg.dsn(request))
    with psycopg.connect(first, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int)")
    assert pg.dsn(request) == first
    assert tables(pg.dsn(request)) == {"kept"}


def test_a_table_in_one_database_is_absent_in_another(request: pytest.FixtureRequest, pg: testctr.Container) -> None:
    mine = record(pg, pg.dsn(request))
    other_owner = ScriptOwner("tests/another-test")
    other = pg.dsn(other_owner)
    assert db_of(other) != db_of(mine)
    with psycopg.connect(mine, autocommit=True) as conn:
        conn.execute("CREATE TABLE only_mine (id int)")
    assert tables(mine) == {"only_mine"}
    assert tables(other) == set()
    other_owner.close()  # its teardown: the database is dropped in the background
    settle(pg)
    assert db_of(other) not in databases(pg)
    assert db_of(mine) in databases(pg)


@pytest.mark.parametrize("worker", range(4))
def test_parallel_tests_see_only_their_own_data(
    request: pytest.FixtureRequest, pg: testctr.Container, worker: int
) -> None:
    dsn = record(pg, pg.dsn(request))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE marks (worker int)")
        conn.execute("INSERT INTO marks VALUES (%s)", (worker,))
        time.sleep(0.2)  # overlap with the other tests when run under -n 2
        assert conn.execute("SELECT worker FROM marks").fetchall() == [(worker,)]


def test_many_threads_on_one_container(pg: testctr.Container) -> None:
    owners = [ScriptOwner(f"tests/thread-{i}") for i in range(8)]
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            dsn = pg.dsn(owners[i])
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"CREATE TABLE only_{i} (id int)")
            results[i] = dsn
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert len({db_of(d) for d in results.values()}) == 8
    for i, dsn in results.items():
        assert tables(dsn) == {f"only_{i}"}
    for owner in owners:
        owner.close()
    settle(pg)
    assert not {db_of(d) for d in results.values()} & databases(pg)


def test_a_leftover_database_with_the_same_name_is_replaced(request: pytest.FixtureRequest) -> None:
    fresh = start(request)  # its first database is made on the test's path, under the test's name
    name = database_name(request.node.nodeid, postgres.PostgresDSN.max_name_length)
    fresh.exec_simple("psql", "-U", "test", "-d", "postgres", "-c", f"CREATE DATABASE {name}")
    fresh.exec_simple("psql", "-U", "test", "-d", name, "-c", "CREATE TABLE stale (id int)")
    dsn = fresh.dsn(request)
    assert db_of(dsn) == name
    assert tables(dsn) == set()


def test_driver_variants(request: pytest.FixtureRequest, pg: testctr.Container) -> None:
    plain = record(pg, pg.dsn(request))
    assert pg.dsn(request, driver="psycopg") == plain.replace("postgresql://", "postgresql+psycopg://", 1)
    assert pg.dsn(request, driver="asyncpg").startswith("postgresql+asyncpg://test:test@")
    keyword = pg.dsn(request, driver="keyword")
    assert keyword == f"host={pg.host()} port={pg.port(5432)} user=test password=test dbname={db_of(plain)}"
    with psycopg.connect(keyword) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (db_of(plain),)
    with pytest.raises(testctr.InvalidOption, match="unknown driver"):
        pg.dsn(request, driver="jdbc")


def test_url_is_the_servers_own_database(pg: testctr.Container) -> None:
    assert postgres.url(pg) == f"postgresql://test:test@{pg.endpoint(5432)}/test"
    assert postgres.url(pg, driver="psycopg").startswith("postgresql+psycopg://")
    with psycopg.connect(postgres.url(pg)) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("test",)


def test_the_password_is_stored_stretched_once_and_still_checked(
    request: pytest.FixtureRequest, pg: testctr.Container
) -> None:
    """A test's logins skip PostgreSQL's 4096 PBKDF2 rounds; the password itself is unchanged and enforced."""
    dsn = record(pg, pg.dsn(request))
    with psycopg.connect(dsn) as conn:
        (secret,) = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = current_user").fetchone()
    assert secret.startswith(f"SCRAM-SHA-256${postgres.PASSWORD_ITERATIONS}:")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(dsn.replace(":test@", ":wrong@")).close()


def test_a_tests_database_comes_with_its_relation_cache_file(
    request: pytest.FixtureRequest, pg: testctr.Container
) -> None:
    """Cloned from a source that has one: the test's first login skips rebuilding it (see _warm_relation_cache)."""
    name = db_of(record(pg, pg.dsn(request)))
    with psycopg.connect(postgres.url(pg)) as conn:  # not to the test's database: that would make the file
        (has_file,) = conn.execute(
            "SELECT (pg_stat_file('base/' || oid || '/pg_internal.init', true)).size IS NOT NULL "
            "FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
    assert has_file


def test_no_driver_path_with_sql_template(request: pytest.FixtureRequest, pg_exec: testctr.Container) -> None:
    provider = pg_exec._spec.dsn_provider
    assert isinstance(provider, postgres.PostgresDSN) and provider.uses_exec()
    dsn = record(pg_exec, pg_exec.dsn(request))
    assert dsn.startswith("postgresql://test:p%40ss%20w%3Ard%2F%27x@")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM seeded").fetchone() == (3,)
        conn.execute("INSERT INTO seeded VALUES (4)")  # a clone: the template is untouched
    keyword = pg_exec.dsn(request, driver="keyword")
    assert "password='p@ss w:rd/\\'x'" in keyword
    with psycopg.connect(keyword) as conn:
        assert conn.execute("SELECT count(*) FROM seeded").fetchone() == (4,)


def test_no_driver_path_clones_fresh_each_time(request: pytest.FixtureRequest, pg_exec: testctr.Container) -> None:
    owner = ScriptOwner("tests/clone-check")
    dsn = pg_exec.dsn(owner)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM seeded").fetchone() == (3,)
    owner.close()
    settle(pg_exec)
    assert db_of(dsn) not in databases(pg_exec)
    dsn = record(pg_exec, pg_exec.dsn(request))
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM seeded").fetchone() == (3,)


@pytest.mark.parametrize("n", range(2))
def test_callable_template_runs_once_and_every_test_gets_a_copy(
    request: pytest.FixtureRequest, pg_template: testctr.Container, n: int
) -> None:
    dsn = record(pg_template, pg_template.dsn(request))
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT name FROM users ORDER BY name").fetchall() == [("ada",), ("grace",)]
        conn.execute("DELETE FROM users")
    assert any(name.startswith(postgres.TEMPLATE_DATABASE + "_") for name in databases(pg_template))


def test_a_warm_pool_hands_out_complete_unused_clones(pg_template: testctr.Container) -> None:
    owners = [ScriptOwner(f"tests/warm-{i}") for i in range(4)]
    pooled = []
    for owner in owners:
        time.sleep(0.1)  # a test's run: the pool refills meanwhile
        dsn = pg_template.dsn(owner)
        assert named_for(owner.test_id, dsn)
        pooled += [dsn] if db_of(dsn).startswith(dbpool.PREFIX) else []
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("SELECT name FROM users ORDER BY name").fetchall() == [("ada",), ("grace",)]
            conn.execute("INSERT INTO users VALUES ('mine')")  # no other test sees it
    assert len(pooled) >= 3  # the first may have started the pool
    for owner in owners:
        owner.close()
    settle(pg_template)


def test_pass_fail_and_keep_failed(pg: testctr.Container) -> None:
    passed, failed, kept = ScriptOwner("tests/passes"), ScriptOwner("tests/fails"), ScriptOwner("tests/kept")
    names = {o.test_id: db_of(pg.dsn(o)) for o in (passed, failed, kept)}
    passed.close()
    failed.error = True
    failed.close()
    settings.configure(keep_failed=True)
    try:
        kept.error = True
        kept.close()
    finally:
        settings.configure(keep_failed=False)
    settle(pg)
    present = databases(pg)
    assert names["tests/passes"] not in present and names["tests/fails"] not in present
    assert names["tests/kept"] in present
    pg.exec_simple("psql", "-U", "test", "-d", "postgres", "-c", f"DROP DATABASE {names['tests/kept']}")


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def test_a_later_dsn_drops_the_pooled_databases_of_a_dead_session(request: pytest.FixtureRequest) -> None:
    fresh = start(request)
    host_tag = dbpool.pooled_name(1).split("_")[2]
    dead = f"tp_{'0' * 12}_{host_tag}_{dead_pid()}_0_7"
    alive = f"tp_{'1' * 12}_{host_tag}_{os.getpid()}_0_7"
    for name in (dead, alive):
        fresh.exec_simple("psql", "-U", "test", "-d", "postgres", "-c", f"CREATE DATABASE {name}")
    dsn = fresh.dsn(request)
    settle(fresh)
    present = databases(fresh)
    assert dead not in present
    assert alive in present and db_of(dsn) in present
    assert [db for db in present if db.startswith(f"tp_{SESSION_ID}_")]  # the pool's own ready one


def test_without_the_pool_databases_are_made_and_dropped_on_the_tests_path(request: pytest.FixtureRequest) -> None:
    settings.configure(db_pool=False)
    try:
        plain = start(request)
        owners = [ScriptOwner(f"tests/direct-{i}") for i in range(2)]
        names = [db_of(plain.dsn(o)) for o in owners]
        assert names == [database_name(o.test_id, 63) for o in owners]
        owners[0].close()
        assert names[0] not in databases(plain)  # dropped at once
        assert not [db for db in databases(plain) if db.startswith(dbpool.PREFIX)]
        owners[1].close()
    finally:
        settings.configure(db_pool=True)


def test_after_a_restart_a_test_still_gets_a_complete_database(request: pytest.FixtureRequest) -> None:
    """The data is on tmpfs: the pool's ready databases are gone with the restart."""
    fresh = start(request, postgres.with_template("CREATE TABLE seeded (id int)"))
    fresh.dsn(ScriptOwner("tests/before"))
    assert fresh._db is not None
    time.sleep(0.5)  # the pool fills
    fresh.restart()
    deadline = time.monotonic() + 60
    while fresh.exec(["pg_isready", "-h", "127.0.0.1", "-U", "test"]).exit_code != 0:
        assert time.monotonic() < deadline, "postgres did not come back"
        time.sleep(0.2)
    time.sleep(1)  # the entrypoint's init server hands over to the real one
    for i in range(3):
        owner = ScriptOwner(f"tests/after-{i}")
        dsn = fresh.dsn(owner)
        assert tables(dsn) == {"seeded"}
        owner.close()
    settle(fresh)


KEPT_RUN = """
import pytest
import testctr
from testctr.modules import postgres

@pytest.fixture(scope="module")
def pg(request):
    c = testctr.new(request, "postgres:16", postgres.default(), testctr.with_runtime("docker"))
    print("NAME=" + c.name)
    return c

def test_passes(request, pg):
    print("DB=" + pg.dsn(request).rsplit("/", 1)[1])

def test_fails(request, pg):
    print("DB=" + pg.dsn(request).rsplit("/", 1)[1])
    assert False, "deliberate"
"""


def test_a_kept_server_holds_the_failed_tests_database_only(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESTCTR_IMAGE_MAP", os.environ["TESTCTR_IMAGE_MAP"])
    pytester.makepyfile(KEPT_RUN)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--testctr-keep-failed")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    (name,) = set(re.findall(r"NAME=(testctr-[\w-]+)", output))
    try:
        passed_db, failed_db = dict.fromkeys(re.findall(r"DB=(t\w+)", output))
        assert f"{failed_db} (test test_a_kept_server_holds_the_failed_tests_database_only.py::test_fails)" in output
        listed = subprocess.run(
            ["docker", "exec", name, "psql", "-U", "test", "-d", "postgres", "-Atc", "SELECT datname FROM pg_database"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.split()
        assert failed_db in listed
        assert passed_db not in listed
        # The pool's were dropped at exit; the failed test's own may be one it took.
        assert [db for db in listed if db.startswith(dbpool.PREFIX)] in ([], [failed_db])
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60, check=False)


@pytest.fixture
def all_containers(
    pg: testctr.Container, pg_exec: testctr.Container, pg_template: testctr.Container
) -> Iterator[dict[str, testctr.Container]]:
    yield {c.id: c for c in (pg, pg_exec, pg_template)}


def test_zz_databases_of_earlier_tests_are_gone(
    request: pytest.FixtureRequest, all_containers: dict[str, testctr.Container]
) -> None:
    # Runs last in this file (per xdist worker too); the earlier tests' teardowns have run.
    owner = ScriptOwner("tests/last")
    pg = next(iter(all_containers.values()))
    name = db_of(pg.dsn(owner))
    owner.close()
    # As at the end of a run on a server that outlives it: the pool's ready databases go too.
    for container in all_containers.values():
        if container._db is not None:  # under xdist, this worker may not have used it
            container._db.retire()
        settle(container)
    expected_gone = {(pg.id, name), *made}
    for container_id, db in expected_gone:
        assert db not in databases(all_containers[container_id]), db
    for container in all_containers.values():
        assert not [db for db in databases(container) if db.startswith(dbpool.PREFIX)]
