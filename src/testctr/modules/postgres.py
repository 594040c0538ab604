"""PostgreSQL: the official ``postgres`` image (``postgres:16``), with per-test databases.

    pg = testctr.new(request, postgres.IMAGE, postgres.default())
    dsn = pg.dsn(request)                    # postgresql://test:test@127.0.0.1:PORT/tp_<session>_...: the test's own
    pg.dsn(request, driver="psycopg")       # postgresql+psycopg://... (SQLAlchemy)
    postgres.url(pg)                         # postgresql://test:test@127.0.0.1:PORT/test: the server's own database

``default()`` publishes 5432, waits for the server (the entrypoint's temporary
init server does not count), sets user, password and database ``test``, turns
durability off (``fsync``, ``synchronous_commit``, ``full_page_writes``: a
throwaway server needs none, and CREATE DATABASE gets several times faster) and
checkpoint logging (each database made checkpoints twice: four lines per test
would bury the server's own lines in its log), and installs the DSN provider.
At its first database the provider stores the password stretched once
instead of 4096 times (same password, on servers that log in with SCRAM:
logins cost the test's process ~4 ms less each).
Each test's database is made with CREATE DATABASE
(or cloned from the template of :func:`with_template`), ahead of time by the
database pool (:mod:`testctr.dbpool`), and dropped ``WITH (FORCE)`` in the
background after the test.

The provider talks to the server with psycopg 3 from the host when it is
installed (``pip install testctr[postgres]``), else with ``psql`` inside the
container; :func:`with_dsn_client` forces one.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import inspect
import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from testctr import sessions
from testctr.backend.types import ContainerConfig
from testctr.errors import InvalidOption
from testctr.modules._common import (
    BoundProvider,
    ConnectionCache,
    DatabaseAdminError,
    TemplateBuild,
    admin_client_option,
    args_first,
    check_exec,
    config_key,
    config_value,
    data_in_memory,
    data_on_disk,
    env_default,
    init_script,
    nonempty,
    provider_of,
    use_provider,
)
from testctr.modules._common import (
    url as format_url,
)
from testctr.option import Option, Spec, options, with_args, with_env, with_port, with_wait_for_log

if TYPE_CHECKING:
    from testctr.container import Container

IMAGE = "postgres:16"
#: The image's PGDATA.
DATA_DIR = "/var/lib/postgresql/data"
PORT = "5432/tcp"
#: The template of :func:`with_template` is built once per container, in a database
#: named this plus a hash of the template (see :func:`template_name`).
TEMPLATE_DATABASE = "testctr_template"
#: psql/libpq's admin database, present on every server.
ADMIN_DATABASE = "postgres"

_SCHEMES = {
    None: "postgresql",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "psycopg": "postgresql+psycopg",
    "psycopg2": "postgresql+psycopg2",
    "asyncpg": "postgresql+asyncpg",
    "pg8000": "postgresql+pg8000",
}
#: ``driver="keyword"``: libpq's ``host=... dbname=...`` form.
KEYWORD_FORMS = ("keyword", "libpq")

Template = str | Callable[[str], None]


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def template_name(template: Template, base: str | None = None) -> str:
    """The database a template is built in: named after what it builds, so a container
    that outlives runs (with_reuse) builds each template once and a changed one anew.

    SQL text by its text; a callable by its source (its name and bytecode when
    the source cannot be read): migrations read from files it does not
    contain are not seen, so pass their text, or rename the callable, when
    they change.
    """
    if isinstance(template, str):
        text = template
    else:
        try:
            text = inspect.getsource(template)
        except (OSError, TypeError):
            code = getattr(template, "__code__", None)
            text = repr((getattr(template, "__module__", ""), getattr(template, "__qualname__", repr(template))))
            text += code.co_code.hex() if code is not None else ""
    if base is not None:  # the same migrations on another base (postgis) build another template
        text = f"{base}\x00{text}"
    return f"{TEMPLATE_DATABASE}_{hashlib.sha256(text.encode()).hexdigest()[:16]}"


#: The first server_version_num with CREATE DATABASE ... STRATEGY.
_STRATEGY_VERSION = 150000


def create_statement(name: str, source: str | None, server_version_num: int) -> str:
    """CREATE DATABASE ``name`` (cloned from ``source`` when given), copied file by file.

    PostgreSQL 15 made WAL_LOG the default: every block of the template goes
    through the WAL, which pays off on a durable server with a real disk. On
    the throwaway server of default() (durability off, data on tmpfs)
    FILE_COPY, what every earlier version did, is the cheaper one to make and
    to drop; the database pool's work per test is mostly these two, and the
    time a 50-test suite waited for the pool halved with it.
    """
    statement = f"CREATE DATABASE {quote_ident(name)}"
    if source is not None:
        statement += f" TEMPLATE {quote_ident(source)}"
    if server_version_num >= _STRATEGY_VERSION:
        statement += " STRATEGY FILE_COPY"
    return statement


#: PBKDF2 rounds in the password secret the provider stores on its server.
PASSWORD_ITERATIONS = 1


def scram_secret(password: str, iterations: int = PASSWORD_ITERATIONS, salt: bytes | None = None) -> str:
    """PostgreSQL's stored form of ``password`` for SCRAM-SHA-256 (RFC 5802, 7677), stretched ``iterations`` times.

    The server stores a secret given in this form as it is; clients still log in
    with ``password``, and redo the stretching at every connection.
    """
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _keyword_value(value: str) -> str:
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class PostgresDSN(BoundProvider):
    """DSN provider for PostgreSQL; reads user and password from the container's env at dsn time."""

    driver_module = "psycopg"
    driver_install = "pip install 'testctr[postgres]'"

    max_name_length = 63  # NAMEDATALEN - 1
    #: What databases are cloned from when there is no with_template (None: the server's template1).
    base_template: str | None = None

    def __init__(self, config: ContainerConfig) -> None:
        super().__init__(config)
        self._conn = ConnectionCache()
        self._template: Template | None = None
        # Built once per template and per server life; a failed build fails later tests at once.
        self._template_build = TemplateBuild()
        self._template_version = 0
        self._template_builds = 0
        self._version_num: int | None = None
        self._base_warmed = False
        self._password_stored = False
        # A test's dsn() and the database pool may both need the template first.
        self._template_lock = threading.Lock()

    @property
    def template(self) -> Template | None:
        return self._template

    @template.setter
    def template(self, template: Template | None) -> None:
        with self._template_lock:
            self._template = template
            self._template_build = TemplateBuild()
            self._template_version += 1

    # --- settings, read when needed so every option counts, in any order ---------------

    @property
    def user(self) -> str:
        return self._config.env.get("POSTGRES_USER") or "postgres"

    @property
    def password(self) -> str:
        return self._config.env.get("POSTGRES_PASSWORD", "")

    # --- DSNProvider ----------------------------------------------------------------------

    def create_database(self, container: Container, name: str) -> str:
        for attempt in range(2):
            source, build = self._build_template(container), self._template_builds
            create = create_statement(name, source, self._server_version(container))
            try:
                self._replacing(container, name, create)
                return name
            except DatabaseAdminError as e:
                # A restart with the data on tmpfs takes the template with it: build it again, once.
                if source is None or attempt == 1 or f'template database "{source}" does not exist' not in str(e):
                    raise
                with self._template_lock:
                    if self._template_builds == build:  # no other thread has rebuilt it meanwhile
                        self._template_build = TemplateBuild()
        raise AssertionError("unreachable: the second attempt returns or raises")

    def drop_database(self, container: Container, handle: str) -> None:
        self.admin(container, [f"DROP DATABASE IF EXISTS {quote_ident(handle)} WITH (FORCE)"])

    def _server_version(self, container: Container) -> int:
        """The server's ``server_version_num``, asked once (a restart keeps the image, so the version)."""
        if self._version_num is None:
            self._version_num = int(self.query(container, "SHOW server_version_num")[0])
        return self._version_num

    # --- the pool's capabilities (testctr.dsn) -----------------------------------------------

    def list_databases(self, container: Container, prefix: str) -> list[str]:
        pattern = prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
        return self.query(container, f"SELECT datname FROM pg_database WHERE datname LIKE '{pattern}%'")

    def database_version(self) -> object:
        return self._template_version

    def _replacing(self, container: Container, name: str, statement: str) -> None:
        """Run ``statement``, which makes database ``name``; a leftover of an earlier run is replaced, never reused."""
        drop = f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)"
        if self.uses_exec():
            self.admin(container, [drop, statement])  # one exec either way
            return
        import psycopg

        try:
            self.admin(container, [statement])  # one round trip in the usual case: no leftover
        except DatabaseAdminError as e:
            if not isinstance(e.__cause__, psycopg.errors.DuplicateDatabase):
                raise
            self.admin(container, [drop, statement])

    def format_dsn(self, container: Container, handle: str, driver: str | None = None) -> str:
        if driver in KEYWORD_FORMS:
            host, port = container.host(), container.port(PORT)
            parts = {"host": host, "port": str(port), "user": self.user, "password": self.password, "dbname": handle}
            return " ".join(f"{k}={_keyword_value(v)}" for k, v in parts.items() if v)
        scheme = _SCHEMES.get(driver)
        if scheme is None:
            known = ", ".join(repr(k) for k in [*_SCHEMES, *KEYWORD_FORMS] if k is not None)
            raise InvalidOption(f"postgres dsn: unknown driver {driver!r} (known: None, {known})")
        return format_url(scheme, self.user, self.password, container.endpoint(PORT), handle)

    # --- admin statements -----------------------------------------------------------------

    def admin(self, container: Container, statements: list[str], database: str = ADMIN_DATABASE) -> None:
        """Run statements one by one, outside any transaction (CREATE DATABASE needs that)."""
        if self.uses_exec():
            self._admin_exec(container, statements, database)
        elif database == ADMIN_DATABASE:
            self._admin_driver(container, statements)
        else:
            self._run_once(container, statements, database)

    def _admin_exec(self, container: Container, statements: list[str], database: str) -> str:
        argv = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", self.user, "-d", database]
        for statement in statements:
            argv += ["-c", statement]
        result = container.exec(argv, env={"PGPASSWORD": self.password}, timeout=120)
        return check_exec(result, f"psql in {container.name} ({statements[-1][:80]})")

    def query(self, container: Container, sql: str) -> list[str]:
        """The first column of a query's rows, in the admin database."""
        if self.uses_exec():
            return self._admin_exec(container, [sql], ADMIN_DATABASE).split()

        def use(conn: Any) -> list[str]:
            return [str(row[0]) for row in conn.execute(sql).fetchall()]

        return self._conn.run(lambda: self._connect(container, ADMIN_DATABASE), use, lambda c: bool(c.broken))  # type: ignore[attr-defined]

    def _connect(self, container: Container, database: str) -> Any:
        import psycopg

        return psycopg.connect(
            host=container.host(),
            port=container.port(PORT),
            user=self.user,
            password=self.password,
            dbname=database,
            autocommit=True,
            connect_timeout=10,
        )

    def _admin_driver(self, container: Container, statements: list[str]) -> None:
        import psycopg

        def use(conn: Any) -> None:
            for statement in statements:
                try:
                    conn.execute(statement)
                except psycopg.Error as e:
                    if conn.broken:
                        raise
                    raise DatabaseAdminError(f"postgres in {container.name}: {statement[:80]}: {e}") from e

        self._conn.run(lambda: self._connect(container, ADMIN_DATABASE), use, lambda c: bool(c.broken))  # type: ignore[attr-defined]

    def _run_once(self, container: Container, statements: list[str], database: str) -> None:
        import psycopg

        with self._connect(container, database) as conn:
            for statement in statements:
                try:
                    conn.execute(statement)
                except psycopg.Error as e:
                    raise DatabaseAdminError(f"postgres in {container.name}/{database}: {e}") from e

    # --- template -------------------------------------------------------------------------

    def _build_template(self, container: Container) -> str | None:
        """The database to clone from: the template's, built first if this server lacks it."""
        with self._template_lock:
            if not self._password_stored:
                self._password_stored = True
                self._store_cheap_password(container)
            if self._template is None:
                if not self._base_warmed:
                    self._base_warmed = True
                    self._warm_relation_cache(container, self.base_template or "template1")
                return self.base_template
            name = template_name(self._template, self.base_template)
            template = self._template

            def build() -> None:
                self._build_template_locked(container, template, name)
                self._template_builds += 1

            self._template_build.ensure(build)
            return name

    def _warm_relation_cache(self, container: Container, database: str) -> None:
        """Connect once to ``database``, the source of clones, so that it holds a relation cache file.

        A first connection to a database builds that file from the catalogs;
        CREATE DATABASE (file by file) copies the source's, so the first
        connection to each test's database then skips the build: about 3 ms of
        every test here (12.8 -> 10.5 ms to connect). Best effort: a source that
        refuses connections only loses the gain. A clone made meanwhile by
        another run waits for this session to end (PostgreSQL waits up to 5 s
        for the source's sessions), so this is done once per server and run,
        and not at all where the file is there already (a server kept from
        an earlier run): asking costs a query, the connection a login.
        """
        if self.uses_exec():
            return  # an exec would cost more than the file saves
        import psycopg

        literal = database.replace("'", "''")
        has_file = (
            "SELECT (pg_stat_file('base/' || oid || '/pg_internal.init', true)).size IS NOT NULL "
            f"FROM pg_database WHERE datname = '{literal}'"
        )
        try:
            if self.query(container, has_file) == ["True"]:
                return
        except (psycopg.Error, DatabaseAdminError):
            pass  # not allowed to look (not a superuser): warm it
        with contextlib.suppress(psycopg.Error, DatabaseAdminError):
            self._run_once(container, ["SELECT 1"], database)

    def _store_cheap_password(self, container: Container) -> None:
        """Store the user's password stretched once, not PostgreSQL's 4096 times: every later login is ~4 ms cheaper.

        A client stretches the password at each SCRAM login, as many times as
        the server's stored secret says: 4.8 ms of the test process's CPU per
        connection here. This is a throwaway server whose password is in its
        env: stretching guards nothing. The password stays the same; new roles
        get the server's default.
        Best effort, once per server and run (a restart on tmpfs brings back the default).
        """
        if self.uses_exec() or not self.password or not self.password.isascii():
            # An exec costs more than it saves; a client prepares a non-ASCII password
            # (SASLprep) before stretching it, which this does not; no password: no login.
            return
        # Only where logins use SCRAM already: an older server's md5 logins stay md5.
        statement = (
            "DO $testctr$ BEGIN "
            "IF (SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = current_user) THEN "
            f"EXECUTE format('ALTER ROLE %I PASSWORD %L', current_user, '{scram_secret(self.password)}'); "
            "END IF; END $testctr$"
        )
        with contextlib.suppress(DatabaseAdminError):
            self.admin(container, [statement])

    def _build_template_locked(self, container: Container, template: Template, name: str) -> None:
        # A container that outlives runs has it already: only finished templates carry the name.
        if self.query(container, f"SELECT datname FROM pg_database WHERE datname = '{name}'"):
            return
        # Built under this run's own name, then renamed: runs racing to build it never
        # see a half-built one, and a dead run's leftover is dropped by the next run.
        building = f"t{sessions.token()}_tpl_{name[-16:]}"
        tpl = quote_ident(building)
        create = f"CREATE DATABASE {tpl}"
        if self.base_template is not None:
            create += f" TEMPLATE {quote_ident(self.base_template)}"
        self.admin(container, [f"DROP DATABASE IF EXISTS {tpl} WITH (FORCE)", create])
        if isinstance(template, str):
            self.admin(container, [template], database=building)
        else:
            template(self.format_dsn(container, building))
        self._warm_relation_cache(container, building)  # after the migration's last DDL
        # Sessions a migration left open would make CREATE ... TEMPLATE fail:
        # end them, and refuse new ones (a template must have none).
        self.admin(
            container,
            [
                f"ALTER DATABASE {tpl} WITH ALLOW_CONNECTIONS false",
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{building}' AND pid <> pg_backend_pid()",
            ],
        )
        try:
            self.admin(container, [f"ALTER DATABASE {tpl} RENAME TO {quote_ident(name)}"])
        except DatabaseAdminError:
            if not self.query(container, f"SELECT datname FROM pg_database WHERE datname = '{name}'"):
                raise
            self.admin(container, [f"DROP DATABASE IF EXISTS {tpl} WITH (FORCE)"])  # another run's came first


# --- options ---------------------------------------------------------------------------------


def _provider() -> Option:
    return use_provider(PostgresDSN, "postgres.dsn_provider")


#: default()'s server flags, ahead of the user's (a later ``-c`` wins); see the module's docstring.
FLAGS = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "log_checkpoints=off")


def default() -> Option:
    """Port 5432, a readiness wait, user/password/database ``test``, durability off, data on
    tmpfs (see :func:`with_data_on_disk`), the DSN provider."""
    return options(
        with_port("5432"),
        env_default("POSTGRES_USER", "test"),
        env_default("POSTGRES_PASSWORD", "test"),
        env_default("POSTGRES_DB", "test"),
        args_first(*FLAGS),
        data_in_memory(DATA_DIR),
        # The entrypoint's init server says it once, listening on the socket only; the real one says it again.
        with_wait_for_log("database system is ready to accept connections", occurrences=2),
        _provider(),
    )


def with_data_on_disk() -> Option:
    """Keep the data directory on the container's disk (after default()): data survives restart()."""
    return data_on_disk(DATA_DIR, "postgres")


def with_password(password: str) -> Option:
    return with_env("POSTGRES_PASSWORD", nonempty(password, "postgres password"))


def with_user(user: str) -> Option:
    """The superuser's name (POSTGRES_USER); dsn() connects as this user."""
    return with_env("POSTGRES_USER", nonempty(user, "postgres user"))


def with_database(name: str) -> Option:
    """The database the image creates at start (POSTGRES_DB); per-test databases are separate."""
    return with_env("POSTGRES_DB", nonempty(name, "postgres database"))


def with_init_script(path: str | os.PathLike[str]) -> Option:
    """Run a ``.sql``/``.sh`` file once at first start (/docker-entrypoint-initdb.d)."""
    return init_script(path, "postgres")


def with_config(settings: Mapping[str, object]) -> Option:
    """Server settings as ``-c key=value`` flags; calls stack, a later value for a key wins."""
    if not isinstance(settings, Mapping) or not settings:
        raise InvalidOption(f"postgres.with_config needs a non-empty mapping, got {settings!r}")
    flags: list[str] = []
    for key, value in settings.items():
        flags += ["-c", f"{config_key(key, 'postgres config')}={config_value(value, 'postgres config')}"]
    return with_args(*flags)


def url(container: Container, driver: str | None = None) -> str:
    """The server's own database (POSTGRES_DB) as a URL, for scripts, frameworks and shared data.

    ``driver`` gives the same forms as ``dsn(t, driver=...)``; unlike ``dsn(t)``
    the database is not the test's own: everything using it shares it.
    """
    provider = PostgresDSN(container.config)
    return provider.format_dsn(container, container.config.env.get("POSTGRES_DB") or provider.user, driver)


def with_template(template: Template) -> Option:
    """Build a template database once per container; every test's database is cloned from it.

    ``template`` is SQL (run in the template database) or a callable given the
    template's DSN (run your migrations there). Cloning is a file copy: faster
    than replaying migrations per test.
    """
    if not (isinstance(template, str) and template.strip() and "\x00" not in template) and not callable(template):
        raise InvalidOption(
            f"postgres.with_template needs SQL text (without NUL bytes) or a callable(dsn), got {template!r}"
        )

    def apply(spec: Spec) -> None:
        provider_of(spec, PostgresDSN).template = template

    return Option("postgres.with_template(...)", apply)


def with_dsn_client(mode: str) -> Option:
    """How dsn() reaches the server: ``"driver"`` (psycopg), ``"exec"`` (psql inside), ``"auto"``."""
    return admin_client_option(PostgresDSN, "postgres", mode)


__all__ = [
    "IMAGE",
    "PostgresDSN",
    "default",
    "url",
    "with_config",
    "with_data_on_disk",
    "with_database",
    "with_dsn_client",
    "with_init_script",
    "with_password",
    "with_template",
    "with_user",
]
