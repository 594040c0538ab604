"""MySQL: the official ``mysql`` image (``mysql:8``), with per-test databases.

    db = testctr.new(request, mysql.IMAGE, mysql.default())
    dsn = db.dsn(request)                    # mysql://test:test@127.0.0.1:PORT/tp_<session>_...: the test's own
    db.dsn(request, driver="pymysql")       # mysql+pymysql://... (SQLAlchemy)
    mysql.url(db)                            # mysql://test:test@127.0.0.1:PORT/test: the server's own database

``default()`` publishes 3306, waits for the real server (the entrypoint's init
server listens on no port), sets root password, user, password and database
``test`` (MYSQL_* variables) and installs the DSN provider. Each test's
database is made with CREATE DATABASE as root, the user (MYSQL_USER) is granted
all on it, and it is dropped after the test; the database pool
(:mod:`testctr.dbpool`) makes them ahead. dsn() connects as MYSQL_USER, or as root when no user is set.

The provider talks to the server with PyMySQL from the host when it is
installed (``pip install testctr[mysql]``), else with the ``mysql``/``mariadb``
client inside the container; :func:`with_dsn_client` forces one.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from testctr.backend.types import ContainerConfig
from testctr.errors import InvalidOption
from testctr.modules._common import (
    BoundProvider,
    ConnectionCache,
    DatabaseAdminError,
    TemplateBuild,
    admin_client_option,
    check_exec,
    config_key,
    config_value,
    data_in_memory,
    data_on_disk,
    env_default,
    first_env,
    init_script,
    is_missing_binary,
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

IMAGE = "mysql:8"
PORT = "3306/tcp"
#: The real server's "ready for connections" line names its port; the init server's says "port: 0".
READY = re.compile(r"port: 3306\b")
#: The images' data directory.
DATA_DIR = "/var/lib/mysql"

#: "Can't create database; database exists".
ER_DB_CREATE_EXISTS = 1007
#: "There is no such grant defined for user".
ER_NONEXISTING_GRANT = 1141
#: Where the template of :func:`with_template` is built, once per container.
TEMPLATE_DATABASE = "testctr_template"
#: Its dump inside the container, loaded into every test's database.
TEMPLATE_DUMP = "/tmp/testctr_template.sql"

Template = str | Callable[[str], None]

_SCHEMES = {
    None: "mysql",
    "mysql": "mysql",
    "pymysql": "mysql+pymysql",
    "mysqldb": "mysql+mysqldb",
    "mysqlclient": "mysql+mysqldb",
    "mysqlconnector": "mysql+mysqlconnector",
    "aiomysql": "mysql+aiomysql",
    "asyncmy": "mysql+asyncmy",
    "mariadbconnector": "mariadb+mariadbconnector",
}


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def quote_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def grant_target(name: str) -> str:
    """A database name in GRANT/REVOKE.

    There ``_`` is a one-character wildcard, but escaping it (``\\_``) counts
    toward the 64-character limit and long test names no longer fit. Left
    as is: a pattern that ends in a 10-hex-digit hash of the test id matches
    no other test's database in practice.
    """
    return quote_ident(name)


class MySQLDSN(BoundProvider):
    """DSN provider for MySQL and MariaDB; reads credentials from the container's env at dsn time.

    MARIADB_* variables win over MYSQL_* ones, as in the mariadb image.
    """

    driver_module = "pymysql"
    driver_install = "pip install 'testctr[mysql]'"

    max_name_length = 64
    #: Client programs inside the container, tried in order.
    clients: tuple[str, ...] = ("mysql", "mariadb")

    def __init__(self, config: ContainerConfig) -> None:
        super().__init__(config)
        self._conn = ConnectionCache()
        self._client: str | None = None
        self.template: Template | None = None
        self._template = TemplateBuild()

    def _env(self, name: str, default: str = "") -> str:
        return first_env(self._config.env, f"MARIADB_{name}", f"MYSQL_{name}", default=default)

    @property
    def root_password(self) -> str:
        return self._env("ROOT_PASSWORD")

    @property
    def user(self) -> str:
        return self._env("USER") or "root"

    @property
    def password(self) -> str:
        return self._env("PASSWORD") if self.user != "root" else self.root_password

    @property
    def database(self) -> str:
        """The database the image creates at start."""
        return self._env("DATABASE")

    @property
    def user_host(self) -> str:
        return self._config.env.get("MARIADB_USER_HOST") or "%"

    # --- DSNProvider ----------------------------------------------------------------------

    def create_database(self, container: Container, name: str) -> str:
        db = quote_ident(name)
        statements = [f"CREATE DATABASE {db}"]
        if self.user != "root":
            statements.append(
                f"GRANT ALL ON {grant_target(name)}.* TO {quote_string(self.user)}@{quote_string(self.user_host)}"
            )
        # A leftover of an earlier run with this name is replaced, never reused.
        drop = f"DROP DATABASE IF EXISTS {db}"
        if self.template is not None:
            # Built (or its failure reported) once per container, before any test's database.
            self._template.ensure(lambda: self._build_template(container))
        if self.uses_exec():
            self.admin(container, [drop, *statements])  # one exec either way
        else:
            try:
                self.admin(container, statements)  # no DROP round trip in the usual case: no leftover
            except DatabaseAdminError as e:
                if getattr(e.__cause__, "args", (None,))[0] != ER_DB_CREATE_EXISTS:
                    raise
                self.admin(container, [drop, *statements])
        if self.template is not None:
            self._load_template(container, name)
        return name

    def drop_database(self, container: Container, handle: str) -> None:
        self.admin(container, [f"DROP DATABASE IF EXISTS {quote_ident(handle)}"])
        if self.user == "root":
            return
        # The grant outlives the database otherwise. After the DROP: a
        # missing grant must not keep the database alive.
        account = f"{quote_string(self.user)}@{quote_string(self.user_host)}"
        try:
            self.admin(container, [f"REVOKE ALL ON {grant_target(handle)}.* FROM {account}"])
        except DatabaseAdminError as e:
            # A database made without one (e.g. a dead session's, half made) has nothing to revoke.
            if not re.search(rf"\b{ER_NONEXISTING_GRANT}\b", str(e)):
                raise

    def list_databases(self, container: Container, prefix: str) -> list[str]:
        """For the database pool's leftover sweep."""
        pattern = prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
        return self.query(container, f"SHOW DATABASES LIKE {quote_string(pattern + '%')}")

    def format_dsn(self, container: Container, handle: str, driver: str | None = None) -> str:
        scheme = _SCHEMES.get(driver)
        if scheme is None:
            known = ", ".join(repr(k) for k in _SCHEMES if k is not None)
            raise InvalidOption(f"mysql dsn: unknown driver {driver!r} (known: None, {known})")
        return format_url(scheme, self.user, self.password, container.endpoint(PORT), handle)

    # --- template -------------------------------------------------------------------------
    #
    # MySQL has no CREATE DATABASE ... TEMPLATE. The template database is built
    # once, dumped once inside the container, and the dump is loaded into each
    # test's database: replaying a migration tool per test costs seconds, a
    # dump's load tens of milliseconds.

    def _build_template(self, container: Container) -> None:
        tpl = quote_ident(TEMPLATE_DATABASE)
        statements = [f"DROP DATABASE IF EXISTS {tpl}", f"CREATE DATABASE {tpl}"]
        if self.user != "root":
            account = f"{quote_string(self.user)}@{quote_string(self.user_host)}"
            statements.append(f"GRANT ALL ON {grant_target(TEMPLATE_DATABASE)}.* TO {account}")
        self.admin(container, statements)
        if isinstance(self.template, str):
            self._client_exec(container, ["-D", TEMPLATE_DATABASE, "-e", self.template], "template SQL")
        elif self.template is not None:
            self.template(self.format_dsn(container, TEMPLATE_DATABASE))
        # Positional parameters: names never pass through the shell's parser.
        dump = (
            'd=$(command -v mariadb-dump || command -v mysqldump) && "$d" --protocol=socket -hlocalhost -uroot '
            '--no-create-db --skip-comments --routines --triggers "$1" > "$2"'
        )
        result = container.exec(
            ["sh", "-c", dump, "sh", TEMPLATE_DATABASE, TEMPLATE_DUMP], env={"MYSQL_PWD": self.root_password}
        )
        check_exec(result, f"dumping the template database in {container.name}")

    def _load_template(self, container: Container, name: str) -> None:
        load = '"$0" --protocol=socket -hlocalhost -uroot -D "$1" < "$2"'
        for client in [self._client] if self._client else list(self.clients):
            argv = ["sh", "-c", load, client, name, TEMPLATE_DUMP]
            result = container.exec(argv, env={"MYSQL_PWD": self.root_password})
            if is_missing_binary(result):
                continue
            self._client = client
            check_exec(result, f"loading the template into {name} in {container.name}")
            return
        raise DatabaseAdminError(f"{container.name} has no MySQL client (tried {', '.join(self.clients)})")

    # --- admin statements -----------------------------------------------------------------

    def admin(self, container: Container, statements: list[str]) -> None:
        if self.uses_exec():
            self._admin_exec(container, statements)
        else:
            self._admin_driver(container, statements)

    def query(self, container: Container, sql: str) -> list[str]:
        """The first column of a statement's rows."""
        if self.uses_exec():
            return self._admin_exec(container, [sql]).split()
        return self._admin_driver(container, [sql])

    def _admin_exec(self, container: Container, statements: list[str]) -> str:
        sql = "".join(s + ";\n" for s in statements)
        return self._client_exec(container, ["-N", "-B", "-e", sql], statements[-1][:80])

    def _client_exec(self, container: Container, args: list[str], what: str) -> str:
        """Run the server's client inside the container as root over the socket."""
        env = {"MYSQL_PWD": self.root_password}
        for client in [self._client] if self._client else list(self.clients):
            argv = [client, "--protocol=socket", "-hlocalhost", "-uroot", *args]
            result = container.exec(argv, env=env, timeout=120)
            if is_missing_binary(result):
                continue
            self._client = client
            return check_exec(result, f"{client} in {container.name} ({what})")
        raise DatabaseAdminError(f"{container.name} has no MySQL client (tried {', '.join(self.clients)})")

    def _admin_driver(self, container: Container, statements: list[str]) -> list[str]:
        """Runs the statements; the first column of the last one's rows."""
        # Imported by name: PyMySQL ships no type hints, and it is optional.
        pymysql: Any = importlib.import_module("pymysql")

        def connect() -> Any:
            return pymysql.connect(
                host=container.host(),
                port=container.port(PORT),
                user="root",
                password=self.root_password,
                autocommit=True,
                connect_timeout=10,
                # A DROP waits for metadata locks that a test's open transaction
                # holds; the server's own lock wait is a year by default.
                read_timeout=120,
                write_timeout=120,
                init_command="SET SESSION lock_wait_timeout = 60",
            )

        def use(conn: Any) -> list[str]:
            with conn.cursor() as cursor:
                for statement in statements:
                    try:
                        cursor.execute(statement)
                    except pymysql.MySQLError as e:  # a lost connection is retried by the cache
                        raise DatabaseAdminError(f"mysql in {container.name}: {statement[:80]}: {e}") from e
                return [str(row[0]) for row in cursor.fetchall()]

        def broken(conn: Any) -> bool:
            try:
                conn.ping(reconnect=False)
            except Exception:
                return True
            return False

        return self._conn.run(connect, use, broken)


# --- options ---------------------------------------------------------------------------------


class ServerOptions:
    """The options of a MySQL-family image; ``prefix`` names its env vars (MYSQL_, MARIADB_).

    The mysql and mariadb modules differ only in those names, the admin client
    and the module name in messages: one set of options serves both.
    """

    def __init__(self, module: str, prefix: str, provider: type[MySQLDSN]) -> None:
        self.module, self.prefix, self.provider = module, prefix, provider

    def default(self) -> Option:
        """Port 3306, a readiness wait, root password/user/password/database ``test``, data
        on tmpfs (see ``with_data_on_disk``), the DSN provider."""
        p = self.prefix
        return options(
            with_port("3306"),
            env_default(f"{p}ROOT_PASSWORD", "test"),
            env_default(f"{p}USER", "test"),
            env_default(f"{p}PASSWORD", "test"),
            env_default(f"{p}DATABASE", "test"),
            data_in_memory(DATA_DIR),
            with_wait_for_log(READY),
            use_provider(self.provider, f"{self.module}.dsn_provider"),
        )

    def with_data_on_disk(self) -> Option:
        """Keep the data directory on the container's disk (after default()): data survives restart()."""
        return data_on_disk(DATA_DIR, self.module)

    def with_password(self, password: str) -> Option:
        """The password of the user and of root (dsn() uses the user's)."""
        pw = nonempty(password, f"{self.module} password")
        return options(with_env(f"{self.prefix}PASSWORD", pw), with_env(f"{self.prefix}ROOT_PASSWORD", pw))

    def with_user(self, user: str) -> Option:
        """The user dsn() connects as, granted all on each test's database."""
        name = nonempty(user, f"{self.module} user")
        if name == "root":
            raise InvalidOption(
                f"{self.module}.with_user('root'): root always exists; set its password with with_password"
            )
        return with_env(f"{self.prefix}USER", name)

    def with_database(self, name: str) -> Option:
        """The database the image creates at start; per-test databases are separate."""
        return with_env(f"{self.prefix}DATABASE", nonempty(name, f"{self.module} database"))

    def with_init_script(self, path: str | os.PathLike[str]) -> Option:
        """Run a ``.sql``/``.sh`` file once at first start (/docker-entrypoint-initdb.d)."""
        return init_script(path, self.module)

    def with_config(self, settings: Mapping[str, object]) -> Option:
        """Server settings as ``--key=value`` flags; calls stack, a later value for a key wins."""
        if not isinstance(settings, Mapping) or not settings:
            raise InvalidOption(f"{self.module}.with_config needs a non-empty mapping, got {settings!r}")
        what = f"{self.module} config"
        return with_args(*(f"--{config_key(k, what)}={config_value(v, what)}" for k, v in settings.items()))

    def with_template(self, template: Template) -> Option:
        """Build a template database once per container; every test's database starts as a copy.

        ``template`` is SQL (run in the template database by the server's client
        inside the container) or a callable given the template's DSN (run your
        migrations there). MySQL cannot clone a database: the template is dumped
        once and the dump loaded into each test's database. A template that
        fails fails the first test with its error and every later one at once.
        """
        module, provider = self.module, self.provider
        if not (isinstance(template, str) and template.strip() and "\x00" not in template) and not callable(template):
            raise InvalidOption(
                f"{module}.with_template needs SQL text (without NUL bytes) or a callable(dsn), got {template!r}"
            )

        def apply(spec: Spec) -> None:
            provider_of(spec, provider).template = template

        return Option(f"{module}.with_template(...)", apply)

    def url(self, container: Container, driver: str | None = None) -> str:
        """The server's own database (the image's DATABASE variable) as a URL, for scripts and frameworks.

        ``driver`` gives the same forms as ``dsn(t, driver=...)``; unlike ``dsn(t)``
        the database is not the test's own: everything using it shares it.
        """
        provider = self.provider(container.config)
        return provider.format_dsn(container, provider.database, driver)

    def with_dsn_client(self, mode: str) -> Option:
        """How dsn() reaches the server: ``"driver"`` (PyMySQL), ``"exec"`` (the client inside), ``"auto"``."""
        return admin_client_option(self.provider, self.module, mode)


_OPTIONS = ServerOptions("mysql", "MYSQL_", MySQLDSN)
default = _OPTIONS.default
with_data_on_disk = _OPTIONS.with_data_on_disk
with_password = _OPTIONS.with_password
with_user = _OPTIONS.with_user
with_database = _OPTIONS.with_database
with_init_script = _OPTIONS.with_init_script
with_config = _OPTIONS.with_config
with_dsn_client = _OPTIONS.with_dsn_client
with_template = _OPTIONS.with_template
url = _OPTIONS.url


__all__ = [
    "IMAGE",
    "MySQLDSN",
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
