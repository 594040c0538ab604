"""The pure parts of testctr.compose: names, config parsing, the override file, finding the tool."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

import testctr
from testctr.backends.memory import BareMemoryBackend, MemoryBackend
from testctr.errors import ContainerStartError, EngineUnavailable, InvalidOption, TestctrError, UnsupportedOption
from testctr.owners import ScriptOwner
from testctr.stack.override import (
    Service,
    check_project_name,
    override,
    parse_config,
    project_name_for,
    service_image,
)
from testctr.stack.project import _config_key, _env, _files, _names, _ServiceStarted, _waits
from testctr.stack.tool import ComposeTool, candidates, find_tool, tool_message

# --- project names ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["app", "my-app_2", "0day"])
def test_valid_project_names(name: str) -> None:
    assert check_project_name(name) == name


@pytest.mark.parametrize("name", ["", "App", "-x", "_x", "a b", "a.b", "--file=x", None, 3])
def test_invalid_project_names(name: object) -> None:
    with pytest.raises(InvalidOption, match="lowercase letters, digits"):
        check_project_name(name)


@pytest.mark.parametrize(
    "test_id", ["tests/test_x.py::TestApp::test_Upper[param.1-x y]", "session", "x" * 200, "::", "TestCase.test_A"]
)
def test_generated_project_names_are_valid(test_id: str) -> None:
    name = project_name_for(test_id, "a1b2c3")
    assert check_project_name(name) == name and name.endswith("-a1b2c3") and len(name) <= 63


# --- config ----------------------------------------------------------------------------------

# docker-compose 1.29's `config` output for a file with a build-only service.
V1_CONFIG = """\
services:
  cache:
    image: redis:7-alpine
    ports:
    - target: 6379
  app:
    build:
      context: /src
    image: myapp
  job:
    build:
      context: /src/job
version: '3.9'
"""

V2_CONFIG = json.dumps(
    {"name": "p", "services": {"db": {"image": "postgres:15", "healthcheck": {"test": ["CMD", "true"]}}}}
)


def test_parse_yaml_config_of_v1_and_podman_compose() -> None:
    services = parse_config(V1_CONFIG, as_json=False)
    assert services == {
        "cache": Service("cache", "redis:7-alpine", builds=False),
        "app": Service("app", "myapp", builds=True),
        "job": Service("job", "", builds=True),
    }


def test_parse_json_config_of_v2() -> None:
    assert parse_config(V2_CONFIG, as_json=True) == {"db": Service("db", "postgres:15", builds=False)}


def test_config_without_services_is_an_error() -> None:
    with pytest.raises(TestctrError, match="no services"):
        parse_config("{}", as_json=True)


def test_yaml_config_without_pyyaml_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # makes `import yaml` raise ImportError
    with pytest.raises(TestctrError, match=r"pip install 'testctr\[compose\]'"):
        parse_config(V1_CONFIG, as_json=False)


# --- the override file -----------------------------------------------------------------------


def test_substitution_leaves_built_images_alone() -> None:
    mapped = {"redis:7-alpine": "local/redis:7", "myapp": "local/myapp"}.get
    services = parse_config(V1_CONFIG, as_json=False)
    images = {name: service_image(svc, lambda i: mapped(i) or i) for name, svc in services.items()}
    assert images == {"cache": "local/redis:7", "app": "myapp", "job": ""}


def test_override_sets_labels_and_changed_images_of_known_services_only() -> None:
    services = parse_config(V1_CONFIG, as_json=False)
    images = {"cache": "local/redis:7", "app": "myapp", "job": ""}
    labels = {name: {"testctr": "true", "testctr.compose.service": name} for name in services}
    body = json.loads(override(services, images, labels))
    assert body == {
        "services": {
            "cache": {"image": "local/redis:7", "labels": labels["cache"]},
            "app": {"labels": labels["app"]},
            "job": {"labels": labels["job"]},
        }
    }


# --- finding the tool ------------------------------------------------------------------------


def test_candidates_follow_the_engine(tmp_path: Path) -> None:
    on_path = {"podman-compose": "/usr/bin/podman-compose"}
    assert candidates("podman", "/usr/bin/podman", on_path.get, str(tmp_path)) == [
        ("/usr/bin/podman", "compose"),
        ("/usr/bin/podman-compose",),
    ]
    assert candidates("docker", None, on_path.get, str(tmp_path)) == []


def test_candidates_look_beside_the_python_last(tmp_path: Path) -> None:
    beside = tmp_path / "podman-compose"
    beside.write_text("#!/bin/sh\n")
    beside.chmod(0o755)
    assert candidates("podman", None, {}.get, str(tmp_path)) == [(str(beside),)]
    # Found on PATH already: not twice.
    assert candidates("podman", None, {"podman-compose": str(beside)}.get, str(tmp_path)) == [(str(beside),)]
    beside.chmod(0o644)
    assert candidates("podman", None, {}.get, str(tmp_path)) == []


@pytest.mark.parametrize(
    ("text", "v2"),
    [
        ("Docker Compose version v2.24.5\n", True),
        ("Docker Compose version 2.0.0-rc.3", True),
        ("Docker Compose version v5.1.0", True),
        ("docker-compose version 1.29.2, build unknown\ndocker-py version: 5.0.3\n", False),
        ("podman-compose version 1.6.0\npodman version 4.3.1\n", False),
    ],
)
def test_v2_is_told_by_its_version_text(text: str, v2: bool) -> None:
    tool = ComposeTool(("docker", "compose"), text)
    assert tool.is_v2 is v2
    assert ("--format" in tool.config_args()) is v2
    assert ("--wait" in tool.up_args([], build=False)) is v2


def test_up_args_end_options_before_service_names() -> None:
    tool = ComposeTool(("docker-compose",), "docker-compose version 1.29.2")
    assert tool.up_args(["db", "cache"], build=True) == ["up", "-d", "--build", "--", "db", "cache"]
    assert tool.up_args([], build=False) == ["up", "-d"]


def test_no_tool_says_what_to_install() -> None:
    with pytest.raises(EngineUnavailable, match=r"no Compose tool for nosuchengine.*pip install podman-compose"):
        find_tool("nosuchengine")


def test_tool_message_drops_a_python_traceback() -> None:
    err = (
        "Traceback (most recent call last):\n"
        '  File "/usr/bin/podman-compose", line 8, in <module>\n'
        "    sys.exit(main())\n"
        "             ^^^^^^\n"
        "yaml.parser.ParserError: while parsing a flow sequence\n"
        '  in "x.yml", line 2, column 6\n'
    )
    assert tool_message(err) == 'yaml.parser.ParserError: while parsing a flow sequence\n  in "x.yml", line 2, column 6'
    assert tool_message("  ERROR: plain message\n") == "ERROR: plain message"


# --- arguments -------------------------------------------------------------------------------


def test_files_must_exist_and_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.yml").write_text("services: {}\n")
    monkeypatch.chdir(tmp_path)
    assert _files("a.yml") == [str(tmp_path / "a.yml")]
    assert _files([Path("a.yml"), tmp_path / "a.yml"]) == [str(tmp_path / "a.yml")] * 2
    with pytest.raises(InvalidOption, match=r"Compose file 'b.yml' does not exist \(looked at /"):
        _files(["a.yml", "b.yml"])
    with pytest.raises(InvalidOption, match="at least one"):
        _files([])


def test_names_are_a_list_of_strings() -> None:
    assert _names(None, "services") == []
    assert _names(("db",), "services") == ["db"]
    for bad in ("db", {"db"}, ["db", ""], ["a\x00"], [3]):
        with pytest.raises(InvalidOption, match="services must be a list of"):
            _names(bad, "services")  # type: ignore[arg-type]


@pytest.mark.parametrize("env", [{"A": 1}, {"": "x"}, {"A=B": "x"}, {"A": "x\x00"}, ["A=1"]])
def test_env_must_map_names_to_strings(env: object) -> None:
    with pytest.raises(InvalidOption, match="compose env must map"):
        _env(env)  # type: ignore[arg-type]


def test_waits_take_wait_options_only() -> None:
    waits = _waits({"db": testctr.with_wait_for_log("ready"), "web": [testctr.with_wait_for_http("/", 80)]})
    assert [w.describe() for w in waits["db"]] == ["log line containing 'ready'"]
    assert len(waits["web"]) == 1
    with pytest.raises(InvalidOption, match=r"waits\['db'\] takes wait options"):
        _waits({"db": testctr.with_env("A", "1")})
    with pytest.raises(InvalidOption, match=r"waits\['db'\] takes wait options"):
        _waits({"db": [testctr.with_wait_for_log("x"), testctr.with_port(80)]})
    with pytest.raises(InvalidOption, match=r"waits\['db'\] takes a wait option or a list"):
        _waits({"db": "ready"})  # type: ignore[dict-item]
    with pytest.raises(InvalidOption, match="waits must map"):
        _waits([("db", testctr.with_wait_for_log("x"))])  # type: ignore[arg-type]


def test_config_is_asked_again_when_anything_it_depends_on_changes(tmp_path: Path) -> None:
    tool = ComposeTool(("docker-compose",), "docker-compose version 1.29.2")
    path = tmp_path / "c.yml"
    path.write_text("services: {}\n")
    files = [str(path)]

    def key(**env: str) -> tuple[object, ...]:
        return _config_key(tool, files, [], {"A": "1", **env})

    first = key()
    assert key() == first
    assert key(A="2") != first
    assert _config_key(tool, files, ["debug"], {"A": "1"}) != first
    (tmp_path / ".env").write_text("X=1\n")
    assert key() != first
    with_dotenv = key()
    path.write_text("services: {a: {image: busybox}}\n")
    assert key() != with_dotenv


# --- on the in-memory backend ----------------------------------------------------------------


def test_bad_input_fails_before_any_tool_is_looked_for(memory: MemoryBackend, tmp_path: Path) -> None:
    (tmp_path / "c.yml").write_text("services: {}\n")
    owner = ScriptOwner("t")
    with pytest.raises(InvalidOption, match="project name"):
        testctr.compose(owner, tmp_path / "c.yml", project_name="Bad")
    with pytest.raises(InvalidOption, match="does not exist"):
        testctr.compose(owner, tmp_path / "missing.yml")
    with pytest.raises(EngineUnavailable, match="no Compose tool for memory"):
        testctr.compose(owner, tmp_path / "c.yml")
    assert memory.calls == []
    owner.close()


def test_a_backend_that_cannot_list_containers_cannot_compose(bare: BareMemoryBackend, tmp_path: Path) -> None:
    (tmp_path / "c.yml").write_text("services: {}\n")
    with pytest.raises(UnsupportedOption, match="compose"):
        testctr.compose(ScriptOwner("t"), tmp_path / "c.yml")


def test_a_service_without_waits_is_ready_healthy_running_or_done(memory: MemoryBackend) -> None:
    memory.script("healthy", health=["starting", "healthy"])
    memory.script("sick", health=["starting", "unhealthy"])
    owner = ScriptOwner("t")
    deadline = time.monotonic() + 5
    job, crash, healthy, sick, server = (testctr.new(owner, i) for i in ("job", "crash", "healthy", "sick", "server"))
    memory.exit(job.id, 0)
    memory.exit(crash.id, 3)

    _ServiceStarted().wait(server, deadline)
    _ServiceStarted().wait(job, deadline)  # a one-shot job that is done
    _ServiceStarted().wait(healthy, deadline)
    assert healthy.health() == "healthy"
    with pytest.raises(ContainerStartError, match="exited during startup") as raised:
        _ServiceStarted().wait(crash, deadline)
    assert raised.value.exit_code == 3
    with pytest.raises(ContainerStartError, match="unhealthy"):
        _ServiceStarted().wait(sick, deadline)
    owner.close()
