"""Pure parts of the docker-api backend and of the conformance matrix (no engine)."""

from __future__ import annotations

import json
import pathlib

import pytest

from testctr.backend.types import ContainerConfig, Mount, PortSpec

docker_api = pytest.importorskip("testctr.backends.docker_api", reason="needs the docker extra")


def test_create_body_maps_every_field() -> None:
    config = ContainerConfig(
        name="n",
        env={"A": "1", "B": "x=y"},
        ports=[PortSpec(6379), PortSpec(53, "udp"), PortSpec(80, "tcp", 8080, "0.0.0.0")],
        command=["redis-server"],
        args=["--save", ""],
        labels={"k": "v"},
        mounts=[Mount("/host", "/ctr", read_only=True)],
        tmpfs=["/scratch"],
        networks=["net1", "net2"],
        user="1000:1000",
        workdir="/w",
        memory_bytes=64 << 20,
        cpus=0.5,
        privileged=True,
    )
    body = docker_api.create_body("img", config, None, "127.0.0.1")
    host = body["HostConfig"]
    assert body["Image"] == "img"
    assert body["Env"] == ["A=1", "B=x=y"]
    assert body["Labels"] == {"k": "v"}
    assert body["Cmd"] == ["redis-server", "--save", ""]
    assert "Entrypoint" not in body
    assert body["ExposedPorts"] == {"6379/tcp": {}, "53/udp": {}, "80/tcp": {}}
    assert host["PortBindings"] == {
        "6379/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
    }
    assert host["Mounts"] == [{"Type": "bind", "Source": "/host", "Target": "/ctr", "ReadOnly": True}]
    assert host["Tmpfs"] == {"/scratch": ""}
    assert host["NetworkMode"] == "net1"
    assert (body["User"], body["WorkingDir"]) == ("1000:1000", "/w")
    assert (host["Memory"], host["NanoCpus"], host["Privileged"]) == (64 << 20, 500_000_000, True)


def test_create_body_command_rules() -> None:
    args_only = ContainerConfig(name="n", args=["--flag"])
    assert docker_api.create_body("i", args_only, ["server"], "127.0.0.1")["Cmd"] == ["server", "--flag"]
    nothing = ContainerConfig(name="n")
    assert "Cmd" not in docker_api.create_body("i", nothing, None, "127.0.0.1")
    entry = ContainerConfig(name="n", entrypoint=["sh", "-c"], args=["echo hi"])
    body = docker_api.create_body("i", entry, None, "127.0.0.1")
    # An entrypoint drops the image's CMD: Cmd is set, even when empty.
    assert (body["Entrypoint"], body["Cmd"]) == (["sh", "-c"], ["echo hi"])
    assert docker_api.create_body("i", ContainerConfig(name="n", entrypoint=["x"]), None, "")["Cmd"] == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("unix:///var/run/docker.sock", "127.0.0.1"),
        ("tcp://127.0.0.2:23750", "127.0.0.2"),
        ("tcp://[::1]:2375", "::1"),
        ("ssh://me@build-box", "0.0.0.0"),
    ],
)
def test_default_host_ip(url: str, expected: str) -> None:
    assert docker_api.default_host_ip(url) == expected


def test_engine_url_prefers_docker_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.1.2.3:2376")
    assert docker_api.engine_url_from_environment() == "tcp://10.1.2.3:2376"
    backend = docker_api.DockerAPIBackend()
    assert backend.host() == "10.1.2.3"


def test_podman_socket_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINER_HOST", "unix:///tmp/p.sock")
    assert docker_api.podman_socket_url() == "unix:///tmp/p.sock"
    monkeypatch.delenv("CONTAINER_HOST")
    assert docker_api.podman_socket_url().endswith("/podman/podman.sock")


def test_for_runtime_refuses_other_clis() -> None:
    from testctr.errors import EngineUnavailable

    with pytest.raises(EngineUnavailable, match="docker, podman or an engine URL"):
        docker_api.DockerAPIBackend().for_runtime("nerdctl")


def test_matrix_renders_and_round_trips(tmp_path: pathlib.Path) -> None:
    from testctr.conformance.matrix import ClauseResult, Column, main, render

    a = Column("cli/docker", {"lifecycle": ClauseResult(3), "options": ClauseResult(5, 0, ["with_privileged"])})
    b = Column("x/y", {"lifecycle": ClauseResult(2, 1)})
    lines = render([a, b])
    assert lines[0].split() == ["clause", "cli/docker", "x/y"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:11]}
    assert rows["lifecycle"] == ["ok", "FAIL(1)"]
    assert rows["options"] == ["ok*", "-"]
    assert rows["ports"] == ["-", "-"]
    assert any("with_privileged" in line for line in lines)
    assert Column.from_json(json.loads(json.dumps(a.to_json()))).to_json() == a.to_json()
    path = tmp_path / "a.json"
    path.write_text(json.dumps(b.to_json()))
    assert main([str(path)]) == 1, "a failed clause fails the combined matrix"
    path.write_text(json.dumps(a.to_json()))
    assert main([str(path)]) == 0


def test_registry_imports_sdks_lazily() -> None:
    import subprocess
    import sys

    code = (
        "import sys, testctr, testctr.backends; "
        "names = testctr.backends.names(); "
        "assert 'docker-api' in names and 'testcontainers' in names, names; "
        "assert 'docker' not in sys.modules and 'testcontainers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
