"""Per-test MySQL/MariaDB databases through Container.dsn, with PyMySQL doing real work.

Two module-scoped servers: the mariadb module on the driver path, and the
mysql module (MYSQL_* contract) on the no-driver path (the client inside the
container). The last test checks that the earlier tests' databases are gone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from urllib.parse import unquote, urlsplit

import pymysql
import pytest

import testctr
from testctr import command, dbpool, kept_databases, settings
from testctr.labels import SESSION_ID
from testctr.modules import mariadb, mysql
from testctr.modules._common import TemplateBuildFailed
from testctr.owners import ScriptOwner
from testctr.parsing import database_name

pytestmark = pytest.mark.engine

made: list[tuple[str, str]] = []


@pytest.fixture(scope="module")
def maria(request: pytest.FixtureRequest) -> testctr.Container:
    return testctr.new(request, "mariadb:11", mariadb.default(), testctr.with_runtime("docker"))


@pytest.fixture(scope="module")
def my_exec(request: pytest.FixtureRequest) -> testctr.Container:
    return testctr.new(
        request,
        "mysql:8",
        mysql.with_password("s3cr:t@"),
        mysql.with_user("app"),
        mysql.default(),
        mysql.with_dsn_client("exec"),
        testctr.with_runtime("docker"),
    )


def connect(dsn: str) -> pymysql.connections.Connection:
    parts = urlsplit(dsn)
    return pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=parts.path.lstrip("/"),
        autocommit=True,
        connect_timeout=10,
    )


def tables(dsn: str) -> set[str]:
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        return {row[0] for row in cur.fetchall()}


def databases(container: testctr.Container) -> set[str]:
    out = container.exec(["mysql", "-uroot", "-N", "-e", "SHOW DATABASES"], env={"MYSQL_PWD": root_password(container)})
    assert out.exit_code == 0, out.output
    return set(out.stdout.split())


def root_password(container: testctr.Container) -> str:
    provider = container._spec.dsn_provider
    assert isinstance(provider, mysql.MySQLDSN)
    return provider.root_password


def db_of(dsn: str) -> str:
    return dsn.rsplit("/", 1)[1]


def record(container: testctr.Container, dsn: str) -> str:
    made.append((container.id, db_of(dsn)))
    return dsn


def settle(container: testctr.Container) -> None:
    """Wait for the background drops of the databases of finished tests."""
    assert container._db is None or container._db.settle(60)


def test_dsn_is_a_working_database_of_its_own(request: pytest.FixtureRequest, maria: testctr.Container) -> None:
    dsn = record(maria, maria.dsn(request))
    assert dsn.startswith(f"mysql://test:test@{maria.endpoint(3306)}/t")
    # The server's first database has the test's name; the pool's keep theirs.
    assert db_of(dsn) == database_name(request.node.nodeid, 64) or db_of(dsn).startswith(f"tp_{SESSION_ID}_")
    assert maria.dsn(request) == dsn
    assert maria.dsn(request, driver="pymysql") == dsn.replace("mysql://", "mysql+pymysql://", 1)
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE notes (body TEXT)")
        cur.execute("INSERT INTO notes VALUES ('hello')")
        cur.execute("SELECT DATABASE(), body FROM notes")
        assert cur.fetchone() == (db_of(dsn), "hello")


def test_isolation_and_grants(request: pytest.FixtureRequest, maria: testctr.Container) -> None:
    mine = record(maria, maria.dsn(request))
    other_owner = ScriptOwner("tests/another-test")
    other = maria.dsn(other_owner)
    with connect(mine) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE only_mine (id INT)")
        # The user is granted each test's database by name.
        cur.execute("SHOW GRANTS")
        grants = " ".join(row[0] for row in cur.fetchall())
    assert tables(mine) == {"only_mine"}
    assert tables(other) == set()
    assert f"ON `{db_of(mine)}`.*" in grants and f"ON `{db_of(other)}`.*" in grants, grants
    other_owner.close()
    settle(maria)
    assert db_of(other) not in databases(maria)
    with pytest.raises(pymysql.err.OperationalError):
        connect(other)  # gone, and the grant with it


@pytest.mark.parametrize("worker", range(3))
def test_parallel_tests_see_only_their_own_data(
    request: pytest.FixtureRequest, maria: testctr.Container, worker: int
) -> None:
    dsn = record(maria, maria.dsn(request))
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE marks (worker INT)")
        cur.execute("INSERT INTO marks VALUES (%s)", (worker,))
        cur.execute("SELECT worker FROM marks")
        assert cur.fetchall() == ((worker,),)


def test_a_leftover_database_with_the_same_name_is_replaced(
    request: pytest.FixtureRequest, maria: testctr.Container
) -> None:
    name = database_name(request.node.nodeid, 64)
    maria.exec_simple(
        "sh", "-c", f'MYSQL_PWD=test mysql -uroot -e "CREATE DATABASE {name}; CREATE TABLE {name}.stale (id INT)"'
    )
    dsn = record(maria, maria.dsn(request))
    assert tables(dsn) == set()


def test_no_driver_path_mysql_contract(request: pytest.FixtureRequest, my_exec: testctr.Container) -> None:
    provider = my_exec._spec.dsn_provider
    assert isinstance(provider, mysql.MySQLDSN) and provider.uses_exec()
    dsn = record(my_exec, my_exec.dsn(request))
    assert dsn.startswith("mysql://app:s3cr%3At%40@")
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT)")
        cur.execute("INSERT INTO t VALUES (1)")
    assert tables(dsn) == {"t"}


TEMPLATE_SQL = """
CREATE TABLE teams (id INT PRIMARY KEY, name TEXT);
CREATE TABLE players (id INT PRIMARY KEY, team INT, FOREIGN KEY (team) REFERENCES teams (id));
INSERT INTO teams VALUES (1, 'seed');
"""


@pytest.fixture(scope="module")
def templated(request: pytest.FixtureRequest) -> testctr.Container:
    return testctr.new(
        request,
        "mysql:8",
        mysql.default(),
        mysql.with_user("app"),
        mysql.with_template(TEMPLATE_SQL),
        testctr.with_runtime("docker"),
    )


@pytest.mark.parametrize("round", range(2))
def test_template_gives_every_test_its_own_copy(
    request: pytest.FixtureRequest, templated: testctr.Container, round: int
) -> None:
    dsn = record(templated, templated.dsn(request))
    assert tables(dsn) == {"teams", "players"}
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT name FROM teams")
        assert cur.fetchall() == (("seed",),)  # the other round's insert is not here
        cur.execute("INSERT INTO teams VALUES (2, 'mine')")
        with pytest.raises(pymysql.err.IntegrityError):
            cur.execute("INSERT INTO players VALUES (1, 99)")  # the foreign key came along


def test_url_is_the_servers_own_database(templated: testctr.Container, maria: testctr.Container) -> None:
    assert mysql.url(templated) == f"mysql://app:test@{templated.endpoint(3306)}/test"
    assert mariadb.url(maria, driver="pymysql").startswith("mysql+pymysql://test:test@")
    with connect(mysql.url(templated)) as conn, conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        assert cur.fetchone() == ("test",)


def test_a_failing_template_fails_once_with_its_error(request: pytest.FixtureRequest) -> None:
    calls: list[str] = []

    def migrate(dsn: str) -> None:
        calls.append(dsn)
        raise RuntimeError("migration 0042 failed: no such column")

    db = testctr.new(
        request, "mariadb:11", mariadb.default(), mariadb.with_template(migrate), testctr.with_runtime("docker")
    )
    first, second = ScriptOwner("tests/first"), ScriptOwner("tests/second")
    with pytest.raises(RuntimeError, match="migration 0042"):
        db.dsn(first)
    with pytest.raises(TemplateBuildFailed, match="migration 0042"):
        db.dsn(second)
    assert len(calls) == 1
    first.close()
    second.close()


def test_a_warm_pool_hands_out_fresh_granted_databases(maria: testctr.Container) -> None:
    for i in range(3):
        owner = ScriptOwner(f"tests/warm-{i}")
        time.sleep(0.1)  # a test's run: the pool refills meanwhile
        dsn = maria.dsn(owner)
        assert tables(dsn) == set()
        with connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE mine (id INT)")
        owner.close()
    settle(maria)


def test_keep_failed_hint_maps_a_pooled_database_to_its_test(
    maria: testctr.Container, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.configure(keep_failed=True)
    owner = ScriptOwner("tests/kept")
    try:
        db = testctr.new(owner, "mariadb:11", mariadb.default(), testctr.with_runtime("docker"))
        db.dsn(ScriptOwner("tests/first"))
        assert db._db is not None
        time.sleep(1)  # the pool fills
        name = db_of(db.dsn(owner))
        owner.error = True
        owner.close()
    finally:
        settings.configure(keep_failed=False)
    err = capsys.readouterr().err
    try:
        assert f"{name} (test tests/kept)" in err
        assert name in databases(db)
        # The hint scrolls away; `testctr ls` still says whose the database was.
        assert command.main(["ls", "--runtime", "docker"]) == 0
        listing = capsys.readouterr().out.splitlines()
        row = next(i for i, line in enumerate(listing) if line.split()[:1] == [db.name])
        assert listing[row + 1].strip().startswith("databases kept: ")
        assert f"{name} (test tests/kept)" in listing[row + 1]
    finally:
        db.terminate()
        kept_databases.forget(db.name)


def test_a_later_dsn_drops_the_pooled_databases_of_a_dead_session(request: pytest.FixtureRequest) -> None:
    fresh = testctr.new(request, "mariadb:11", mariadb.default(), testctr.with_runtime("docker"))
    host_tag = dbpool.pooled_name(1).split("_")[2]
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    dead = f"tp_{'0' * 12}_{host_tag}_{child.pid}_0_3"
    alive = f"tp_{'1' * 12}_{host_tag}_{os.getpid()}_0_3"
    fresh.exec_simple("sh", "-c", f'MYSQL_PWD=test mariadb -uroot -e "CREATE DATABASE {dead}; CREATE DATABASE {alive}"')
    fresh.dsn(request)
    settle(fresh)
    present = databases(fresh)
    assert dead not in present and alive in present


def test_zz_databases_of_earlier_tests_are_gone(
    maria: testctr.Container, my_exec: testctr.Container, templated: testctr.Container
) -> None:
    containers = {c.id: c for c in (maria, my_exec, templated)}
    for container_id, db in made:
        assert db not in databases(containers[container_id]), db
    owner = ScriptOwner("tests/last")
    name = db_of(my_exec.dsn(owner))
    assert name in databases(my_exec)
    owner.close()
    # As at the end of a run on a server that outlives it: the pool's ready databases go too.
    for container in containers.values():
        if container._db is not None:  # under xdist, this worker may not have used it
            container._db.retire()
        settle(container)
    assert name not in databases(my_exec)
    for container in containers.values():
        assert not [db for db in databases(container) if db.startswith(dbpool.PREFIX)]
