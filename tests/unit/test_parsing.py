"""Parsers of user input: examples plus hypothesis properties."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testctr import InvalidOption
from testctr.backend.types import PortSpec
from testctr.parsing import (
    container_name,
    database_name,
    image_map_key,
    parse_bool,
    parse_cpus,
    parse_duration,
    parse_image,
    parse_image_map,
    parse_image_prefix,
    parse_label_key,
    parse_label_prefix,
    parse_memory,
    parse_port_spec,
    parse_positive_int,
    parse_timeout,
    parse_timestamp,
    port_key,
    substitute_image,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("6379", PortSpec(6379, "tcp")),
        (6379, PortSpec(6379, "tcp")),
        ("6379/tcp", PortSpec(6379, "tcp")),
        ("53/udp", PortSpec(53, "udp")),
        ("53/UDP", PortSpec(53, "udp")),
        ("8080:80", PortSpec(80, "tcp", 8080)),
        ("0.0.0.0::80", PortSpec(80, "tcp", None, "0.0.0.0")),
        ("127.0.0.2:9000:90/udp", PortSpec(90, "udp", 9000, "127.0.0.2")),
        ("[::1]:8080:80", PortSpec(80, "tcp", 8080, "::1")),
        ("::80", PortSpec(80, "tcp")),
    ],
)
def test_port_spec_examples(spec: str | int, expected: PortSpec) -> None:
    assert parse_port_spec(spec) == expected


@pytest.mark.parametrize(
    "bad", ["", "abc", "0", "65536", "80/xyz", "1:2:3:4", "999.1.1.1:80:80", "-1", "80/", "[::1:80:80", True, 1.5]
)
def test_port_spec_rejects(bad: object) -> None:
    with pytest.raises(InvalidOption):
        parse_port_spec(bad)  # type: ignore[arg-type]


@given(st.integers(1, 65535), st.sampled_from(["tcp", "udp"]), st.one_of(st.none(), st.integers(1, 65535)))
def test_port_spec_roundtrip(port: int, proto: str, host_port: int | None) -> None:
    text = f"{'' if host_port is None else f'127.0.0.1:{host_port}:'}{port}/{proto}"
    parsed = parse_port_spec(text)
    assert (parsed.container_port, parsed.protocol, parsed.host_port) == (port, proto, host_port)
    assert port_key(text) == f"{port}/{proto}"


@given(st.text(max_size=30))
def test_port_spec_never_crashes(text: str) -> None:
    try:
        spec = parse_port_spec(text)
    except InvalidOption:
        return
    assert 1 <= spec.container_port <= 65535


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("512m", 512 * 2**20),
        ("1g", 2**30),
        ("1G", 2**30),
        ("256MiB", 256 * 2**20),
        ("1.5g", int(1.5 * 2**30)),
        (64 * 2**20, 64 * 2**20),
        ("10000000", 10000000),
    ],
)
def test_memory_examples(size: str | int, expected: int) -> None:
    assert parse_memory(size) == expected


@pytest.mark.parametrize(
    "bad", ["", "lots", "512x", "-1m", "1k", True, "m", "1" * 400 + "m", 2**63, "9e99", "\u0663m", 1.5e9, None]
)
def test_memory_rejects(bad: object) -> None:
    with pytest.raises(InvalidOption):
        parse_memory(bad)  # type: ignore[arg-type]


@given(st.integers(6, 100_000), st.sampled_from(["m", "M", "mb", "MiB"]))
def test_memory_units(n: int, unit: str) -> None:
    assert parse_memory(f"{n}{unit}") == n * 2**20


@given(st.text(max_size=20))
def test_memory_never_crashes(text: str) -> None:
    with contextlib.suppress(InvalidOption):
        assert parse_memory(text) >= 6 * 2**20


@pytest.mark.parametrize(
    ("text", "seconds"), [("5m", 300), ("1h30m", 5400), ("200ms", 0.2), ("2.5", 2.5), ("30s", 30), (3, 3)]
)
def test_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "5x", "m5", "-5s", "5m junk", "-1"])
def test_duration_rejects(bad: str) -> None:
    with pytest.raises(InvalidOption):
        parse_duration(bad)


@given(st.text(max_size=12))
def test_duration_never_crashes(text: str) -> None:
    with contextlib.suppress(InvalidOption):
        assert parse_duration(text) >= 0


def test_durations_are_bounded() -> None:
    assert parse_duration("10000000") == 1e7 and parse_duration("2777h") == 2777 * 3600
    for bad in ["1e12", "10000001", "2778h", 1e10, 10**400, float("nan"), float("inf"), "1" * 400 + "h", True]:
        with pytest.raises(InvalidOption, match="duration"):
            parse_duration(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidOption, match="more than 0"):
        parse_timeout("0")
    assert parse_timeout("2m") == 120


def test_cpus_bounds() -> None:
    assert parse_cpus(0.01) == 0.01 and parse_cpus(2) == 2.0
    for bad in [0, 0.001, -1, 1025, 6e299, float("inf"), float("nan"), True, "2"]:
        with pytest.raises(InvalidOption, match=r"0\.01 to 1024"):
            parse_cpus(bad)  # type: ignore[arg-type]


def test_positive_int() -> None:
    assert parse_positive_int(" 12 ") == 12 and parse_positive_int(3) == 3
    for bad in ["0", "-1", "1.5", 1.0, True, "2147483648", 10**400, "\u0663", "", None]:
        with pytest.raises(InvalidOption, match="from 1 to 2147483647"):
            parse_positive_int(bad)  # type: ignore[arg-type]


def test_label_key_and_prefix() -> None:
    assert parse_label_key("com.example/k v") == "com.example/k v"
    for bad in ["", "a=b", "a\x00", "a\nb", 1]:
        with pytest.raises(InvalidOption, match="label key"):
            parse_label_key(bad)  # type: ignore[arg-type]
    assert parse_label_prefix("com.example-ci_1") == "com.example-ci_1"
    for bad in ["", "a b", "a=b", "a,b", ".a", "a.", "é"]:
        with pytest.raises(InvalidOption, match="label prefix"):
            parse_label_prefix(bad)


def test_bool() -> None:
    assert parse_bool("TRUE") and parse_bool("1") and not parse_bool("0") and not parse_bool("false")
    with pytest.raises(InvalidOption):
        parse_bool("maybe")


def test_image_map() -> None:
    assert parse_image_map("redis:7=local/redis:7, postgres:16=mirror.io/pg:16,") == {
        "redis:7": "local/redis:7",
        "postgres:16": "mirror.io/pg:16",
    }
    for bad in ["redis", "=x", "x="]:
        with pytest.raises(InvalidOption, match="TESTCTR_IMAGE_MAP"):
            parse_image_map(bad)


_alnum = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=6)
_component = st.builds(
    lambda a, sep, b: a + sep + b if sep else a, _alnum, st.sampled_from(["", ".", "_", "__", "-", "--"]), _alnum
)
_tag = st.builds(
    str.__add__,
    st.sampled_from(["v", "1", "_", "A"]),
    st.text(string.ascii_letters + string.digits + "_.-", max_size=8),
)
_reference = st.builds(
    lambda registry, path, tag: registry + "/".join(path) + (f":{tag}" if tag else ""),
    st.sampled_from(["", "localhost:5000/", "127.0.0.1:5000/", "ghcr.io/", "Mirror.Example.com/"]),
    st.lists(_component, min_size=1, max_size=3),
    st.none() | _tag,
)


@given(st.dictionaries(_reference, _reference, max_size=5))
def test_image_map_roundtrip(mapping: dict[str, str]) -> None:
    text = ",".join(f"{k}={v}" for k, v in mapping.items())
    assert parse_image_map(text) == mapping


@given(_reference)
def test_valid_references_pass_unchanged(ref: str) -> None:
    assert parse_image(ref) == ref


@pytest.mark.parametrize(
    "ref",
    ["localhost:5000/a/b:tag", "a@sha256:" + "0" * 64, "127.0.0.1:5000/x", "[::1]:5000/x:1", "a__b.c--d/e_f:V1.0-x"],
)
def test_image_reference_examples(ref: str) -> None:
    assert parse_image(ref) == ref


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("", "non-empty"),
        ("-v", "start with '-'"),
        ("--privileged", "start with '-'"),
        ("redis 7", "whitespace"),
        ("redis\n", "whitespace"),
        ("redis\x00", "control"),
        ("redis\x07", "control"),
        ("Redis", "lower case"),
        ("team/App:1", "lower case"),
        ("redis:", "tag"),
        ("redis:-x", "tag"),
        ("redis:" + "x" * 129, "tag"),
        ("a@sha256:abc", "digest"),
        ("a@sha256:" + "A" * 64, "digest"),
        ("a@", "digest"),
        ("a//b", "does not parse"),
        ("a:b:c", "does not parse"),
        ("/a", "does not parse"),
        ("a" * 256, "longer than 255"),
    ],
)
def test_image_reference_rejects(ref: str, why: str) -> None:
    with pytest.raises(InvalidOption, match=re.escape(why)):
        parse_image(ref)


def test_image_prefix() -> None:
    assert parse_image_prefix("mirror.example.com/hub/") == "mirror.example.com/hub/"
    for bad in ["", "Mirror/Hub", "a b", "x:tag/"]:
        with pytest.raises(InvalidOption, match="image prefix"):
            parse_image_prefix(bad)


def test_image_map_entries_are_references() -> None:
    with pytest.raises(InvalidOption, match=r"TESTCTR_IMAGE_MAP entry 'Redis=x'.*lower case"):
        parse_image_map("Redis=x")


def test_image_map_entry_without_tag_matches_latest() -> None:
    mapping = {"redisx": "local/redis:7", "bbx:latest": "local/bb", "never-used-here": "x"}
    assert substitute_image("redisx:latest", mapping, "") == "local/redis:7"
    assert substitute_image("redisx", mapping, "") == "local/redis:7"
    assert substitute_image("bbx", mapping, "") == "local/bb"
    assert substitute_image("redisx:6", mapping, "") == "redisx:6"
    assert image_map_key("redisx:latest", mapping) == "redisx"
    assert image_map_key("bbx", mapping) == "bbx:latest"
    assert image_map_key("redisx:6", mapping) is None


def test_substitute_image() -> None:
    mapping = {"redis:7": "local/redis:7", "busybox:latest": "local/bb"}
    assert substitute_image("redis:7", mapping, "") == "local/redis:7"
    assert substitute_image("busybox", mapping, "") == "local/bb"
    assert substitute_image("nginx", mapping, "mirror.example.com/hub/") == "mirror.example.com/hub/nginx"
    assert substitute_image("ghcr.io/x/y:1", mapping, "mirror.example.com") == "ghcr.io/x/y:1"
    assert substitute_image("localhost:5000/y", {}, "m.io") == "localhost:5000/y"
    assert substitute_image("library/redis", {}, "m.io") == "m.io/library/redis"


_VALID_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


@given(st.text(max_size=200), st.text("0123456789abcdef", min_size=6, max_size=6))
def test_container_name_always_valid(test_id: str, suffix: str) -> None:
    name = container_name(test_id, suffix)
    assert _VALID_NAME.match(name) and len(name) <= 63 and name.endswith(suffix)


def test_container_name_readable() -> None:
    assert container_name("tests/test_x.py::test_cache[a-b]", "abc123") == "testctr-test_cache_a-b-abc123"
    assert container_name("tests/test_x.py::TestA::test_b", "abc123") == "testctr-test_b-abc123"
    # `testctr run`: the script is called testctr, and the name says so once.
    assert container_name("testctr", "abc123") == "testctr-abc123"
    assert container_name("testctr-tool", "abc123") == "testctr-tool-abc123"


@given(st.text(max_size=300), st.text(max_size=300))
def test_database_name_valid_and_distinct(a: str, b: str) -> None:
    na, nb = database_name(a), database_name(b)
    assert re.match(r"^[a-z][a-z0-9_]*$", na) and len(na) <= 63
    assert (na == nb) == (a == b)


def test_database_name_long_parametrized_ids_do_not_collide() -> None:
    base = "tests/test_db.py::test_something_with_a_really_long_name_that_goes_on[" + "x" * 80
    names = {database_name(base + f"-{i}]") for i in range(100)}
    assert len(names) == 100
    assert all(len(n) <= 63 for n in names)
    assert database_name("t", max_length=16).startswith("t_t_")


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T10:00:00.123456789Z",
        "2024-05-01T10:00:00Z",
        "2024-05-01T12:00:00.5+02:00",
        "2024-05-01 10:00:00.123456 +0000 UTC",
        "2024-05-01 10:00:00 +0000 UTC",
    ],
)
def test_timestamp(text: str) -> None:
    value = parse_timestamp(text)
    assert value is not None and value.tzinfo is not None
    assert value.astimezone(dt.timezone.utc).replace(microsecond=0) == dt.datetime(
        2024, 5, 1, 10, 0, 0, tzinfo=dt.timezone.utc
    )


def test_timestamp_empty() -> None:
    assert parse_timestamp("") is None
    assert parse_timestamp("0001-01-01T00:00:00Z") is None
    assert parse_timestamp("garbage") is None


@given(st.text(max_size=200), st.text("0123456789abcdef", min_size=8, max_size=8), st.integers(20, 64))
def test_a_runs_database_names_carry_its_token(test_id: str, token: str, limit: int) -> None:
    from testctr.parsing import database_name, database_session

    name = database_name(test_id, limit, token)
    assert len(name) <= limit and re.fullmatch(r"[a-z][a-z0-9_]*", name)
    assert database_session(name) == token
    assert database_session(database_name(test_id, limit)) is None


def test_a_session_token_must_be_eight_hex_digits() -> None:
    from testctr.parsing import database_name

    with pytest.raises(ValueError):
        database_name("t", 63, "XYZ")


# --- networks -------------------------------------------------------------------------------


@pytest.mark.parametrize("alias", ["db", "db.internal", "my_db-1", "a" * 63, ".".join(["a" * 63] * 3)])
def test_network_alias_accepts_dns_names(alias: str) -> None:
    from testctr.parsing import network_alias

    assert network_alias(alias) == alias


@pytest.mark.parametrize("alias", ["", "my db", "-db", "db.-x", "a" * 64, "db..x", "db.", "d/b", 5, None])
def test_network_alias_refuses_what_dns_cannot_resolve(alias: object) -> None:
    from testctr.parsing import network_alias

    with pytest.raises(InvalidOption, match="network alias"):
        network_alias(alias)


@pytest.mark.parametrize("name", ["", "bad name", "-net", ".net", "n/et", None])
def test_network_name_refuses_what_engines_refuse(name: object) -> None:
    from testctr.parsing import network_name

    with pytest.raises(InvalidOption, match="network name"):
        network_name(name)


def test_oom_kills_of_both_cgroup_versions() -> None:
    from testctr.parsing import oom_kills

    assert oom_kills("low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\noom_group_kill 0\n") == 2
    assert oom_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n") == 1
    assert oom_kills("") is None
