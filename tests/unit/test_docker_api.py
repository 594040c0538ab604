"""Pure parts of the docker-api backend (no engine)."""

from __future__ import annotations

import pathlib

import pytest

from testctr.backend.types import ContainerConfig, Mount, NetworkAttachment, PortSpec

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
        networks=[NetworkAttachment("net1", ("db",)), NetworkAttachment("net2")],
        user="1000:1000",
        workdir="/w",
        memory_bytes=64 << 20,
        cpus=0.5,
        privileged=True,
    )
    body = docker_api.create_body("img", config, config.command_for(), "127.0.0.1")
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
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"net1": {"Aliases": ["db"]}}}
    assert (body["User"], body["WorkingDir"]) == ("1000:1000", "/w")
    assert (host["Memory"], host["NanoCpus"], host["Privileged"]) == (64 << 20, 500_000_000, True)


def test_create_body_command_rules() -> None:
    def body(config: ContainerConfig) -> dict[str, object]:
        image_cmd = ["server"] if config.needs_image_cmd else None
        return dict(docker_api.create_body("i", config, config.command_for(image_cmd), "127.0.0.1"))

    assert body(ContainerConfig(name="n", args=["--flag"]))["Cmd"] == ["server", "--flag"]
    assert "Cmd" not in body(ContainerConfig(name="n"))
    entry = body(ContainerConfig(name="n", entrypoint=["sh", "-c"], args=["echo hi"]))
    # An entrypoint drops the image's CMD: Cmd is set, even when empty.
    assert (entry["Entrypoint"], entry["Cmd"]) == (["sh", "-c"], ["echo hi"])
    assert body(ContainerConfig(name="n", entrypoint=["x"]))["Cmd"] == []


def test_api_runtime_requests() -> None:
    podman = docker_api.APIRuntime.from_version({"Components": [{"Name": "Podman Engine"}]})
    docker = docker_api.APIRuntime.from_version({"Components": [{"Name": "Engine"}]})
    assert (podman.name, docker.name) == ("podman", "docker")
    assert docker.healthcheck_path is None and podman.healthcheck_path is not None
    assert docker.update_request(1 << 20, 0.5) == (
        "/containers/{0}/update",
        {"Memory": 1 << 20, "MemorySwap": 1 << 20, "NanoCpus": 500_000_000},
    )
    path, resources = podman.update_request(None, 1.5)
    assert "/libpod/" in path and resources == {"cpu": {"quota": 150_000, "period": 100_000}}
    assert docker.cli("unix:///var/run/docker.sock", "unix:///var/run/docker.sock") == ["docker"]
    assert docker.cli("ssh://box", "unix:///var/run/docker.sock") == ["docker", "-H", "ssh://box"]
    assert podman.cli("unix:///x.sock", "unix:///y.sock") == ["podman", "--url", "unix:///x.sock"]


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


def test_unavailable_engine_fix_names_what_chose_it(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.9.8.7:2376")
    assert "is the engine at 10.9.8.7 running and reachable? (DOCKER_HOST" in str(
        docker_api.DockerAPIBackend()._unavailable("refused")
    )
    monkeypatch.delenv("DOCKER_HOST")
    chosen = docker_api.DockerAPIBackend(f"unix://{tmp_path}/x.sock")._unavailable("refused")
    assert f"the socket {tmp_path}/x.sock (TESTCTR_RUNTIME / with_runtime) does not exist" in str(chosen)
    assert "systemctl" not in str(chosen)
    default = docker_api.DockerAPIBackend("unix:///var/run/docker.sock").endpoint()
    assert (default.chosen_by, default.context) == (None, None)


@pytest.mark.parametrize(
    ("status", "text", "missing"),
    [
        (404, "No such container: abc", True),
        (404, "no container with name or ID abc found: no such container", True),
        # Podman, when another client removed the container during the request (a reaper, say).
        (500, "container abc does not exist in database: no such container", True),
        (404, "network net1 not found", False),
        (500, "no such container", False),
        (500, "container abc does not exist in database", False),
        (409, "removal of container abc is already in progress", False),
    ],
)
def test_container_missing_only_when_the_engine_says_it_is_gone(status: int, text: str, missing: bool) -> None:
    assert docker_api.container_missing(status, text) is missing
