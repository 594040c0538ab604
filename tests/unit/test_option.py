"""Options: validation at build time, and how they combine."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

import testctr
from testctr import InvalidOption
from testctr.backend.types import PortSpec
from testctr.option import build_spec
from testctr.wait import ExecWait, HealthyWait, HTTPWait, LogWait, PortWait


def test_later_single_value_wins_and_collections_add() -> None:
    spec = build_spec(
        [
            testctr.with_command("a"),
            testctr.with_command("b", "c"),
            testctr.with_args("--x"),
            testctr.with_args("--y", "1"),
            testctr.with_env("A", "1"),
            testctr.with_env_map({"B": "2", "A": "3"}),
            testctr.with_port("6379"),
            testctr.with_port("53/udp"),
            testctr.with_user("nobody"),
            testctr.with_user("root"),
            testctr.with_label("k", "v"),
        ]
    )
    c = spec.config
    assert c.command == ["b", "c"]
    assert c.args == ["--x", "--y", "1"]
    assert c.env == {"A": "3", "B": "2"}
    assert c.ports == [PortSpec(6379, "tcp"), PortSpec(53, "udp")]
    assert c.user == "root"
    assert c.labels == {"k": "v"}


def test_bundles_nest() -> None:
    bundle = testctr.options(testctr.with_env("A", "1"), testctr.options(testctr.with_args("--a")))
    spec = build_spec([bundle, testctr.with_args("--b")])
    assert spec.config.env == {"A": "1"} and spec.config.args == ["--a", "--b"]


def test_wait_options_build_strategies() -> None:
    spec = build_spec(
        [
            testctr.with_wait_for_log("Ready", timeout=5, occurrences=2),
            testctr.with_wait_for_log(re.compile(r"ready \d+")),
            testctr.with_wait_for_exec(["true"]),
            testctr.with_wait_for_http("/health", "8080"),
            testctr.with_wait_for_port(5432),
            testctr.with_wait_for_healthy(),
        ]
    )
    kinds = [type(w) for w in spec.waits]
    assert kinds == [LogWait, LogWait, ExecWait, HTTPWait, PortWait, HealthyWait]
    first = spec.waits[0]
    assert isinstance(first, LogWait) and first.occurrences == 2 and first.timeout == 5
    # A plain string is matched literally, not as a regex.
    assert first.pattern.search("Ready") and not LogWait(re.compile(re.escape("a.b"))).pattern.search("axb")


def test_files(tmp_path: Path) -> None:
    host = tmp_path / "f.sh"
    host.write_text("echo hi")
    host.chmod(0o750)
    spec = build_spec(
        [
            testctr.with_file(host, "/opt/f.sh"),
            testctr.with_file_content("text", "/etc/a/../b.txt", mode=0o600),
            testctr.with_file_content(b"\x00\x01", "/bin.dat"),
            testctr.with_file_content(io.BytesIO(b"reader"), "/r.txt"),
        ]
    )
    files = spec.config.files
    assert [(f.container_path, f.data, f.mode) for f in files] == [
        ("/opt/f.sh", b"echo hi", 0o750),
        ("/etc/b.txt", b"text", 0o600),
        ("/bin.dat", b"\x00\x01", None),
        ("/r.txt", b"reader", None),
    ]


BAD: list[tuple[Any, ...]] = [
    (testctr.with_port, "abc"),
    (testctr.with_env, "A=B", "v"),
    (testctr.with_env, "", "v"),
    (testctr.with_env, "A", 1),
    (testctr.with_command,),
    (testctr.with_entrypoint,),
    (testctr.with_args, 1),
    (testctr.with_file_content, "x", "relative/path"),
    (testctr.with_file_content, 123, "/x"),
    (testctr.with_file_content, "x", "/x", 0o17777),
    (testctr.with_file, "/definitely/not/here", "/x"),
    (testctr.with_bind_mount, "/definitely/not/here", "/x"),
    (testctr.with_tmpfs, "tmp"),
    (testctr.with_workdir, "rel"),
    (testctr.with_memory_limit, "lots"),
    (testctr.with_cpus, 0),
    (testctr.with_cpus, -1.5),
    (testctr.with_platform, "amd64"),
    (testctr.with_startup_timeout, -1),
    (testctr.with_startup_timeout, 0),
    (testctr.with_startup_timeout, float("inf")),
    (testctr.with_wait_for_log, "x", float("nan")),
    (testctr.with_startup_delay, -0.5),
    (testctr.with_wait_for_log, ""),
    (testctr.with_wait_for_log, "x", -1),
    (testctr.with_wait_for_log, "x", None, 0),
    (testctr.with_wait_for_exec, "true"),
    (testctr.with_wait_for_exec, []),
    (testctr.with_wait_for_http, "health", "80"),
    (testctr.with_wait_for_http, "/", "80", 99),
    (testctr.with_wait_for_port, "http"),
    (testctr.with_backend, ""),
    (testctr.with_runtime, ""),
    (testctr.with_log_filter, "not callable"),
    (testctr.with_wait, object()),
    (testctr.with_dsn_provider, object()),
    (testctr.with_network, ""),
    (testctr.with_user, ""),
    (testctr.with_backend_config, None),
    (testctr.with_env, "A", "v\x00"),
    (testctr.with_env, "A\x00", "v"),
    (testctr.with_env_map, ["A=1"]),
    (testctr.with_label, "a=b", "c"),
    (testctr.with_label, "", "c"),
    (testctr.with_label, "a\x00", "c"),
    (testctr.with_label, "a", "c\x00"),
    (testctr.with_command, "sh\x00"),
    (testctr.with_args, "a", "\x00"),
    (testctr.with_entrypoint, "\x00"),
    (testctr.with_file, "/etc/hostname\x00", "/x"),
    (testctr.with_file, 42, "/x"),
    (testctr.with_file_content, "x", "/x\x00"),
    (testctr.with_bind_mount, 42, "/x"),
    (testctr.with_bind_mount, "/tmp", 42),
    (testctr.with_bind_mount, "/tmp", "/x", "yes"),
    (testctr.with_cpus, float("inf")),
    (testctr.with_cpus, 6e299),
    (testctr.with_cpus, float("nan")),
    (testctr.with_memory_limit, "1" * 400 + "m"),
    (testctr.with_startup_timeout, 1e10),
    (testctr.with_startup_delay, float("nan")),
    (testctr.with_wait_for_port, "80", 10**400),
    (testctr.with_wait_for_log, "x", None, 2**31),
    (testctr.with_wait_for_exec, 5),
    (testctr.with_wait_for_http, "/a b", "80"),
    (testctr.with_platform, "linux/amd64\n"),
    (testctr.with_port, 10**400),
    (testctr.with_user, "a\x00"),
    (testctr.with_network, "a b"),
    (testctr.with_backend, "x\x00"),
]


def _id(call: tuple[Any, ...]) -> str:
    args = ", ".join(repr(a) if isinstance(a, (str, int, float, type(None))) else type(a).__name__ for a in call[1:])
    return f"{call[0].__name__}({args})"


@pytest.mark.parametrize("call", BAD, ids=_id)
def test_bad_arguments_raise_invalid_option_at_build_time(call: tuple[Any, ...]) -> None:
    fn, *args = call
    with pytest.raises(InvalidOption) as info:
        fn(*args)
    assert str(info.value)  # an actionable message, not an empty one


def test_non_option_rejected() -> None:
    with pytest.raises(InvalidOption, match="expected a testctr option"):
        build_spec(["6379"])  # type: ignore[list-item]
    with pytest.raises(InvalidOption):
        testctr.options("x")  # type: ignore[arg-type]


def test_new_rejects_bad_t_and_image_before_touching_an_engine() -> None:
    with pytest.raises(InvalidOption, match=r"pytest `request` or a unittest\.TestCase"):
        testctr.new(object(), "redis")
    with pytest.raises(InvalidOption, match="image"), testctr.run(""):
        pass
    with pytest.raises(InvalidOption, match="image"), testctr.run("redis 7"):
        pass
    with pytest.raises(InvalidOption, match="must not start with '-'"), testctr.run("--privileged"):
        pass
    with pytest.raises(InvalidOption, match="lower case"), testctr.run("Redis:7"):
        pass


def test_unknown_backend_lists_registered() -> None:
    with pytest.raises(testctr.BackendNotFound, match=r"registered backends: .*cli"):
        with testctr.run("busybox", testctr.with_backend("no-such-backend")):
            pass


def test_wait_on_unpublished_port_fails_before_any_engine_call() -> None:
    with pytest.raises(InvalidOption, match=r"port 8080/tcp is not published; add testctr.with_port"):
        with testctr.run("busybox", testctr.with_backend("no-engine-needed"), testctr.with_wait_for_port(8080)):
            pass


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("STARTUP_TIMEOUT", "0", "more than 0"),
        ("STARTUP_TIMEOUT", "1e10", "Go duration"),
        ("CREATE_DELAY", "10000001", "from 0 to 1e+07"),
        ("CLEANUP_AGE", "soon", "Go duration"),
        ("LABEL", "my label", "letters, digits"),
        ("LABEL", "a=b", "letters, digits"),
        ("LABEL", "a,b", "letters, digits"),
        ("BACKEND", "a b", "without spaces"),
        ("RUNTIME", "do\x00cker", "control characters"),
        ("IMAGE_PREFIX", "Mirror/X", "registry and optional path"),
        ("IMAGE_MAP", "redis=-x", "must not start with '-'"),
        ("VERBOSE", "maybe", "true/false"),
    ],
)
def test_every_setting_is_checked_like_its_option(variable: str, value: str, accepted: str) -> None:
    from testctr.settings import Settings

    with pytest.raises(InvalidOption, match=rf"^TESTCTR_{variable}=.*: .*{re.escape(accepted)}"):
        Settings.from_env({f"TESTCTR_{variable}": value})


def test_settings_read_every_variable() -> None:
    from testctr.settings import Settings

    s = Settings.from_env(
        {
            "TESTCTR_STARTUP_TIMEOUT": "2m",
            "TESTCTR_LABEL": "ci.testctr",
            "TESTCTR_IMAGE_MAP": "redis=local/redis:7",
            "TESTCTR_IMAGE_PREFIX": "mirror.io/hub",
            "TESTCTR_BACKEND": "cli",
            "TESTCTR_MAX_CONCURRENT": "4",
            "TESTCTR_VERBOSE": "",  # empty: the default
        }
    )
    assert (s.startup_timeout, s.label, s.image_prefix) == (120, "ci.testctr", "mirror.io/hub")
    assert s.image_map == {"redis": "local/redis:7"}
    assert (s.backend, s.max_concurrent, s.verbose) == ("cli", 4, False)


def test_bad_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from testctr.settings import Settings

    with pytest.raises(InvalidOption, match="TESTCTR_MAX_CONCURRENT"):
        Settings.from_env({"TESTCTR_MAX_CONCURRENT": "abc"})
    with pytest.raises(InvalidOption, match="from 1 to"):
        Settings.from_env({"TESTCTR_MAX_CONCURRENT": "0"})
    with pytest.raises(InvalidOption, match="TESTCTR_"):
        Settings.from_env({"TESTCTR_KEEP_FAILED": "maybe"})


def test_reuse_settings() -> None:
    from testctr.settings import Settings

    assert Settings.from_env({}).reuse is True and Settings.from_env({}).reuse_ttl == 3600
    s = Settings.from_env({"TESTCTR_REUSE": "false", "TESTCTR_REUSE_TTL": "10m"})
    assert s.reuse is False and s.reuse_ttl == 600
    with pytest.raises(InvalidOption, match="TESTCTR_"):
        Settings.from_env({"TESTCTR_REUSE": "perhaps"})


def test_with_network_keeps_order_and_merges_aliases_of_a_network_named_again() -> None:
    from testctr.backend.types import NetworkAttachment

    class FakeNetwork:
        name = "made"

    spec = build_spec(
        [
            testctr.with_network("first", aliases=["db"]),
            testctr.with_network(FakeNetwork(), aliases=("x",)),  # type: ignore[arg-type]
            testctr.with_network("first", aliases=["db", "cache"]),
        ]
    )
    assert spec.config.networks == [
        NetworkAttachment("first", ("db", "cache")),
        NetworkAttachment("made", ("x",)),
    ]


@pytest.mark.parametrize("aliases", [["my db"], ["-db"], "db", [""]])
def test_with_network_refuses_bad_aliases_at_once(aliases: Any) -> None:
    with pytest.raises(InvalidOption, match="alias"):
        testctr.with_network("net", aliases=aliases)
