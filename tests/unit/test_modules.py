"""Service modules' pure parts: option stacking, order independence, DSN formatting helpers, names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import testctr
from testctr.errors import InvalidOption
from testctr.labels import SESSION_ID
from testctr.modules import mariadb, memcached, mosquitto, mysql, nats, postgres, rabbitmq, redis
from testctr.modules._common import url
from testctr.option import build_spec
from testctr.parsing import database_name

PG_FLAGS = [
    *("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "log_checkpoints=off")
]


@pytest.mark.parametrize("before", [True, False])
def test_postgres_helpers_win_over_default_in_any_order(before: bool) -> None:
    helpers = [postgres.with_password("pw"), postgres.with_user("alice"), postgres.with_database("app")]
    opts = [*helpers, postgres.default()] if before else [postgres.default(), *helpers]
    spec = build_spec(opts)
    assert spec.config.env == {"POSTGRES_USER": "alice", "POSTGRES_PASSWORD": "pw", "POSTGRES_DB": "app"}
    provider = spec.dsn_provider
    assert isinstance(provider, postgres.PostgresDSN)
    assert (provider.user, provider.password) == ("alice", "pw")


def test_postgres_plain_env_reaches_the_provider() -> None:
    spec = build_spec([postgres.default(), testctr.with_env("POSTGRES_PASSWORD", "from-env")])
    assert isinstance(spec.dsn_provider, postgres.PostgresDSN)
    assert spec.dsn_provider.password == "from-env"


@pytest.mark.parametrize("before", [True, False])
def test_postgres_config_flags_stack_and_user_flags_come_last(before: bool) -> None:
    config = [postgres.with_config({"max_connections": 50}), postgres.with_config({"fsync": True, "work_mem": "8MB"})]
    opts = [*config, postgres.default()] if before else [postgres.default(), *config]
    args = build_spec(opts).config.args
    # The server takes the last -c for a key: the user's fsync=on beats default()'s fsync=off.
    assert args == [*PG_FLAGS, "-c", "max_connections=50", "-c", "fsync=on", "-c", "work_mem=8MB"]


@pytest.mark.parametrize("before", [True, False])
def test_template_and_client_options_keep_one_provider(before: bool) -> None:
    extra = [postgres.with_template("CREATE TABLE t (id int)"), postgres.with_dsn_client("exec")]
    spec = build_spec([*extra, postgres.default()] if before else [postgres.default(), *extra])
    provider = spec.dsn_provider
    assert isinstance(provider, postgres.PostgresDSN)
    assert provider.template == "CREATE TABLE t (id int)"
    assert provider.admin_client == "exec"


def test_each_container_gets_its_own_provider() -> None:
    bundle = postgres.default()
    a, b = build_spec([bundle]), build_spec([bundle])
    assert a.dsn_provider is not b.dsn_provider


def test_init_script_goes_to_initdb_dir(tmp_path: Path) -> None:
    script = tmp_path / "01-schema.sql"
    script.write_text("CREATE TABLE x (id int);")
    for module in (postgres, mysql, mariadb):
        files = build_spec([module.with_init_script(script)]).config.files
        assert [(f.container_path, f.data) for f in files] == [
            ("/docker-entrypoint-initdb.d/01-schema.sql", b"CREATE TABLE x (id int);")
        ]


@pytest.mark.parametrize("module", [mysql, mariadb])
@pytest.mark.parametrize("before", [True, False])
def test_mysql_family_credentials_in_any_order(module: object, before: bool) -> None:
    helpers = [module.with_password("pw"), module.with_user("bob")]  # type: ignore[attr-defined]
    opts = [*helpers, module.default()] if before else [module.default(), *helpers]  # type: ignore[attr-defined]
    provider = build_spec(opts).dsn_provider
    assert isinstance(provider, mysql.MySQLDSN)
    assert (provider.user, provider.password, provider.root_password) == ("bob", "pw", "pw")


def test_mariadb_names_win_over_mysql_names_like_the_image() -> None:
    spec = build_spec(
        [mariadb.default(), testctr.with_env("MYSQL_PASSWORD", "m"), testctr.with_env("MARIADB_PASSWORD", "x")]
    )
    assert isinstance(spec.dsn_provider, mariadb.MariaDBDSN)
    assert spec.dsn_provider.password == "x"


def test_mysql_config_flags() -> None:
    args = build_spec([mysql.with_config({"max_connections": 10}), mysql.with_config({"sql_mode": ""})]).config.args
    assert args == ["--max_connections=10", "--sql_mode="]


@pytest.mark.parametrize("before", [True, False])
def test_redis_password_reaches_provider(before: bool) -> None:
    opts = [redis.with_password("pw"), redis.default()] if before else [redis.default(), redis.with_password("pw")]
    spec = build_spec(opts)
    assert isinstance(spec.dsn_provider, redis.RedisDSN)
    assert spec.dsn_provider.password == "pw"
    assert spec.config.args == ["--requirepass", "pw"]


def test_redis_config_flags_stack() -> None:
    spec = build_spec(
        [
            redis.default(),
            redis.with_config({"databases": 4, "appendonly": True}),
            redis.with_config({"requirepass": "a"}),
        ]
    )
    assert spec.config.args == ["--databases", "4", "--appendonly", "yes", "--requirepass", "a"]
    assert isinstance(spec.dsn_provider, redis.RedisDSN)
    assert spec.dsn_provider.password == "a"


@pytest.mark.parametrize("before", [True, False])
def test_mosquitto_config_lines_stack_in_any_order(before: bool) -> None:
    extra = [mosquitto.with_config({"max_keepalive": 60}), mosquitto.with_config({"persistence": False})]
    spec = build_spec([*extra, mosquitto.default()] if before else [mosquitto.default(), *extra])
    (entry,) = [f for f in spec.config.files if f.container_path == mosquitto.CONFIG_PATH]
    assert entry.data.decode().splitlines() == [
        "listener 1883",
        "allow_anonymous true",
        "max_keepalive 60",
        "persistence false",
    ]


def test_service_flags() -> None:
    spec = build_spec([memcached.default(), memcached.with_memory(32), memcached.with_threads(2)])
    assert spec.config.args == ["-m", "32", "-t", "2"]
    spec = build_spec([nats.default(), nats.with_auth("u", "p"), nats.with_jetstream()])
    assert spec.config.args == ["--user", "u", "--pass", "p", "-js"]
    spec = build_spec([rabbitmq.default(), rabbitmq.with_user("u", "p"), rabbitmq.with_vhost("v")])
    assert spec.config.env == {
        "RABBITMQ_DEFAULT_USER": "u",
        "RABBITMQ_DEFAULT_PASS": "p",
        "RABBITMQ_DEFAULT_VHOST": "v",
    }


@pytest.mark.parametrize(
    "make",
    [
        lambda: postgres.with_config({}),
        lambda: postgres.with_config({"a=b": 1}),
        lambda: postgres.with_config({"-x": 1}),
        lambda: postgres.with_config({"k": "two\nlines"}),
        lambda: postgres.with_config({"k": None}),
        lambda: postgres.with_password(""),
        lambda: postgres.with_template(""),
        lambda: postgres.with_dsn_client("jdbc"),
        lambda: mysql.with_user("root"),
        lambda: redis.with_config({"bad key": 1}),
        lambda: memcached.with_memory(0),
        lambda: mosquitto.with_config({}),
        lambda: postgres.with_config({"k\x00": 1}),
        lambda: postgres.with_config({"k": "v\x00"}),
        lambda: postgres.with_config({"k": float("nan")}),
        lambda: postgres.with_config({"k": 10**400}),
        lambda: redis.with_config({"k": float("inf")}),
        lambda: mosquitto.with_config({"k": "a\rb"}),
        lambda: postgres.with_template("select 1\x00"),
        lambda: postgres.with_init_script(42),
        lambda: memcached.with_threads(2**31),
        lambda: mysql.with_password("a\x00"),
    ],
)
def test_bad_arguments_fail_where_written(make: object) -> None:
    with pytest.raises(InvalidOption):
        make()  # type: ignore[operator]


def test_url_quotes_credentials() -> None:
    assert url("postgresql", "u@x", "p:w/d#", "127.0.0.1:5432", "db") == (
        "postgresql://u%40x:p%3Aw%2Fd%23@127.0.0.1:5432/db"
    )
    assert url("redis", "", "", "[::1]:6379", "3") == "redis://[::1]:6379/3"
    assert url("redis", "", "pw", "127.0.0.1:6379", "3") == "redis://:pw@127.0.0.1:6379/3"


def test_mysql_quoting() -> None:
    assert mysql.quote_ident("a`b") == "`a``b`"
    assert mysql.quote_string("it's") == "'it\\'s'"


def test_redis_last_flag() -> None:
    assert redis._last_flag(["--requirepass", "a", "--port", "1", "--requirepass=b"], "--requirepass") == "b"
    assert redis._last_flag(["--requirepass"], "--requirepass") is None


@given(st.text(min_size=1, max_size=400))
def test_database_names_fit_every_provider(test_id: str) -> None:
    for limit in (postgres.PostgresDSN.max_name_length, mysql.MySQLDSN.max_name_length):
        name = database_name(test_id, limit)
        assert len(name.encode()) <= limit
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name)
        assert name == database_name(test_id, limit)  # stable within (and across) runs


@pytest.mark.parametrize("module", [postgres, mysql, mariadb], ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_data_in_memory_by_default_and_on_disk_on_request(module: Any) -> None:
    assert module.DATA_DIR in build_spec([module.default()]).config.tmpfs
    assert module.DATA_DIR not in build_spec([module.default(), module.with_data_on_disk()]).config.tmpfs
    with pytest.raises(InvalidOption, match=r"must come after .*default\(\)"):
        build_spec([module.with_data_on_disk(), module.default()])


# --- the README's module table --------------------------------------------------------------


def _readme_module_images() -> dict[str, str]:
    """``{module: image}`` from the README's table: a row's modules and images pair up in order."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    table = readme.split("| module (`testctr.modules.…`) | official image |", 1)[1].split("\n\n", 1)[0]
    images: dict[str, str] = {}
    for row in table.splitlines()[2:]:
        cells = row.split("|")
        names, row_images = re.findall(r"`(\w+)`", cells[1]), re.findall(r"`([^`]+)`", cells[2])
        assert len(names) == len(row_images), f"README module row names {names} but images {row_images}"
        images.update(zip(names, row_images, strict=True))
    return images


def test_readme_table_names_every_module_with_its_image() -> None:
    import importlib
    import pkgutil

    import testctr.modules

    shipped = {}
    for info in pkgutil.iter_modules(testctr.modules.__path__):
        module = importlib.import_module(f"testctr.modules.{info.name}")
        if isinstance(getattr(module, "IMAGE", None), str):
            shipped[info.name] = module.IMAGE
    assert {"postgres", "mysql", "redis"} <= shipped.keys()
    assert _readme_module_images() == shipped


def test_a_template_is_built_once_and_its_failure_reported_once() -> None:
    from testctr.modules._common import TemplateBuild, TemplateBuildFailed

    runs: list[int] = []

    def failing() -> None:
        runs.append(1)
        raise RuntimeError("migration 7 failed\ntraceback...")

    build = TemplateBuild()
    with pytest.raises(RuntimeError, match="migration 7"):
        build.ensure(failing)
    with pytest.raises(TemplateBuildFailed, match=r"earlier test: RuntimeError: migration 7 failed$"):
        build.ensure(failing)
    assert runs == [1]
    ok = TemplateBuild()
    ok.ensure(lambda: runs.append(2))
    ok.ensure(lambda: runs.append(3))
    assert runs == [1, 2] and ok.built


def test_readme_says_mysql_and_mariadb_have_postgres_s_set_of_helpers() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `mysql`, `mariadb` |"))
    assert "postgres's set" in row
    helpers = {name for name in postgres.__all__ if name.startswith("with_")} | {"url", "default"}
    for module in (mysql, mariadb):
        assert helpers <= set(module.__all__), (module.__name__, helpers - set(module.__all__))


def test_readme_example_database_name_is_the_pools_form() -> None:
    from testctr import dbpool

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    shown = re.search(r"postgresql://test:test@127\.0\.0\.1:PORT/(\w+)<session>_", readme)
    assert shown is not None
    assert shown.group(1) == dbpool.PREFIX
    assert dbpool.pooled_name(1).startswith(f"{dbpool.PREFIX}{SESSION_ID}_")
