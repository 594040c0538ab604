"""Per-test PostgreSQL databases through Container.dsn, with psycopg 3 doing real work.

Three module-scoped servers: the driver path, the no-driver path (psql inside
the container) with an SQL template, and the driver path with a callable
template. The last test of the file checks that every database the earlier
tests made is gone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

import testctr
from testctr.modules import postgres
from testctr.owners import ScriptOwner
from testctr.parsing import database_name

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


def record(container: testctr.Container, dsn: str) -> str:
    made.append((container.id, db_of(dsn)))
    return dsn


def test_dsn_is_a_working_database_of_its_own(request: pytest.FixtureRequest, pg: testctr.Container) -> None:
    dsn = record(pg, pg.dsn(request))
    assert dsn.startswith(f"postgresql://test:test@{pg.endpoint(5432)}/t_")
    assert db_of(dsn) == database_name(request.node.nodeid, 63)
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
    other_owner.close()  # its teardown: the database is dropped at once
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
    assert not {db_of(d) for d in results.values()} & databases(pg)


def test_a_leftover_database_with_the_same_name_is_replaced(
    request: pytest.FixtureRequest, pg: testctr.Container
) -> None:
    name = database_name(request.node.nodeid, postgres.PostgresDSN.max_name_length)
    pg.exec_simple("psql", "-U", "test", "-d", "postgres", "-c", f"CREATE DATABASE {name}")
    pg.exec_simple("psql", "-U", "test", "-d", name, "-c", "CREATE TABLE stale (id int)")
    dsn = record(pg, pg.dsn(request))
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
    assert postgres.TEMPLATE_DATABASE in databases(pg_template)


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
    expected_gone = {(pg.id, name), *made}
    for container_id, db in expected_gone:
        assert db not in databases(all_containers[container_id]), db
