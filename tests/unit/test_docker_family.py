"""The rules the Docker-format backends share (testctr.backends.docker_family)."""

from __future__ import annotations

import io
import json
import shlex
import tarfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testctr.backend.types import ContainerConfig
from testctr.backends.docker_family import (
    EngineEndpoint,
    ImageCommands,
    debug_commands,
    default_host_ip,
    docker_context,
    engine_host,
    explain,
    file_tar,
    first_file_in_tar,
    parse_inspect,
    pull_error,
    registry_of,
    remote_host_of,
    start_error,
    taken_host_port,
    unreachable_fix,
)
from testctr.errors import ContainerStartError, HostPortTaken, ImageNotFound, ImagePullError, InvalidOption

LOCAL = "unix:///var/run/docker.sock"
DATA = Path(__file__).parent / "data"


def test_remote_host() -> None:
    assert remote_host_of("") is None
    assert remote_host_of("unix:///var/run/docker.sock") is None
    assert remote_host_of("tcp://127.0.0.2:2375") == "127.0.0.2"
    assert remote_host_of("ssh://me@build-box:22") == "build-box"


@pytest.mark.parametrize("fixture", ["docker-inspect.json", "podman-inspect.json"])
def test_parse_inspect_real_outputs(fixture: str) -> None:
    data = json.loads((DATA / fixture).read_text())[0]
    info = parse_inspect(data)
    assert info.id.startswith(data.get("Id", "")[:12]) and info.name.startswith("testctr-")
    assert info.state.running and info.state.status == "running" and info.state.exit_code is None
    assert info.ports["8080/tcp"][0].host_ip == "127.0.0.1" and info.ports["8080/tcp"][0].host_port > 0
    assert info.internal_ip.count(".") == 3
    assert info.created is not None and info.created.year >= 2026
    assert info.labels["testctr"] == "true"


def test_parse_inspect_exited() -> None:
    info = parse_inspect({"Id": "x", "State": {"Status": "exited", "Running": False, "ExitCode": 3}})
    assert not info.state.running and info.state.exit_code == 3 and info.ports == {} and info.created is None


def test_tar_roundtrip() -> None:
    blob = file_tar("/etc/app/x.conf", b"data", 0o600)
    assert first_file_in_tar(blob, "/etc/app/x.conf") == b"data"


@given(st.binary(max_size=30_000))
def test_tar_ends_at_its_eof_blocks(data: bytes) -> None:
    # Podman's copier exits at the EOF blocks; padding after them breaks its pipe.
    blob = file_tar("/data/f.bin", data, None)
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        member = tar.next()
        assert member is not None
        assert tar.next() is None
        end_of_data = member.offset_data + -(-member.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
    assert blob[end_of_data:] == bytes(2 * tarfile.BLOCKSIZE)
    assert first_file_in_tar(blob, "/data/f.bin") == data


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
    assert default_host_ip(url) == expected


def test_engine_host() -> None:
    assert engine_host("") == "127.0.0.1"
    assert engine_host("unix:///run/podman/podman.sock") == "127.0.0.1"
    assert engine_host("ssh://me@build-box") == "build-box"


def test_first_file_in_tar_refuses_a_directory() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.addfile(_dir("etc"))
    with pytest.raises(InvalidOption, match="is a directory"):
        first_file_in_tar(buf.getvalue(), "/etc")


def _dir(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info


@pytest.mark.parametrize(
    ("endpoint", "existing", "expected", "absent"),
    [
        # A remote engine named by a variable: is it up and reachable?
        (
            EngineEndpoint("docker", "tcp://10.0.0.5:2376", chosen_by="DOCKER_HOST"),
            (),
            "is the engine at 10.0.0.5 running and reachable? (DOCKER_HOST is tcp://10.0.0.5:2376)",
            "systemctl",
        ),
        (
            EngineEndpoint("podman", "ssh://me@box/run/podman.sock", chosen_by="CONTAINER_HOST"),
            (),
            "is the engine at box running and reachable? (CONTAINER_HOST is",
            "systemctl",
        ),
        # A Docker context, remote or local: name it, and the way back.
        (
            EngineEndpoint("docker", "tcp://build:2376", context="ci"),
            (),
            "is the engine at build running and reachable? (Docker context 'ci' is tcp://build:2376); "
            "`docker context use default`",
            "systemctl",
        ),
        (
            EngineEndpoint("docker", "unix:///Users/me/.colima/docker.sock", context="colima"),
            (),
            "the socket /Users/me/.colima/docker.sock (Docker context 'colima') does not exist",
            "systemctl",
        ),
        (EngineEndpoint("docker", "", context="desktop"), (), "Docker context 'desktop'", "systemctl"),
        # A socket someone chose: name the path, and whether it is missing or refuses.
        (
            EngineEndpoint("docker", "unix:///tmp/d.sock", chosen_by="DOCKER_HOST"),
            ("/tmp/d.sock",),
            "the socket /tmp/d.sock (DOCKER_HOST) refuses connections",
            "systemctl",
        ),
        (
            EngineEndpoint("docker", "unix:///tmp/d.sock", chosen_by="TESTCTR_RUNTIME / with_runtime"),
            (),
            "the socket /tmp/d.sock (TESTCTR_RUNTIME / with_runtime) does not exist",
            "systemctl",
        ),
        # Only the runtime's own default: start the engine.
        (
            EngineEndpoint("docker", "unix:///var/run/docker.sock"),
            ("/var/run/docker.sock",),
            "start the engine (e.g. `sudo systemctl start docker`)",
            "context",
        ),
        (
            EngineEndpoint("docker", "unix:///var/run/docker.sock"),
            (),
            "start the engine (its socket /var/run/docker.sock does not exist) (e.g. `sudo systemctl start docker`)",
            "context",
        ),
        (EngineEndpoint("podman", "unix:///run/podman/podman.sock"), (), "`systemctl start podman.socket`", "docker"),
    ],
)
def test_unreachable_fix_fits_the_case(
    endpoint: EngineEndpoint, existing: tuple[str, ...], expected: str, absent: str
) -> None:
    fix = unreachable_fix(endpoint, path_exists=lambda path: path in existing)
    assert expected in fix
    assert absent not in fix


def test_docker_context(tmp_path: Path) -> None:
    assert docker_context({"DOCKER_CONTEXT": "ci"}) == "ci"
    assert docker_context({"DOCKER_CONTEXT": "default"}) is None
    assert docker_context({"DOCKER_CONFIG": str(tmp_path)}) is None
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "colima"}))
    assert docker_context({"DOCKER_CONFIG": str(tmp_path)}) == "colima"
    (tmp_path / "config.json").write_text("not json")
    assert docker_context({"DOCKER_CONFIG": str(tmp_path)}) is None


def test_image_commands_asks_once_and_only_when_needed() -> None:
    asked: list[str] = []

    def lookup(image: str) -> list[str]:
        asked.append(image)
        return ["server"]

    cmds = ImageCommands(lookup)
    assert cmds.command_for("img", ContainerConfig(name="n")) is None
    assert cmds.command_for("img", ContainerConfig(name="n", command=["a"], args=["-x"])) == ["a", "-x"]
    assert asked == []
    assert cmds.command_for("img", ContainerConfig(name="n", args=["-x"])) == ["server", "-x"]
    assert cmds.command_for("img", ContainerConfig(name="n", args=["-y"])) == ["server", "-y"]
    assert asked == ["img"]


#: What Docker 28 and Podman 4.3 answer (CLI and API alike) when a pull fails, by what the user must fix.
NOT_IN_REGISTRY = [
    "Error response from daemon: manifest for 127.0.0.1:5000/testctr/nope:latest not found: manifest unknown: "
    "manifest unknown",
    "Error: initializing source docker://127.0.0.1:5000/testctr/busybox:nope: reading manifest nope in "
    "127.0.0.1:5000/testctr/busybox: manifest unknown: manifest unknown",
    "pull access denied for x, repository does not exist or may require 'docker login'",
    "repository docker.io/library/nope not found: name unknown",
]
REGISTRY_UNREACHABLE = [
    'Error response from daemon: Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
    "Error: initializing source docker://127.0.0.1:1/foo:latest: pinging container registry 127.0.0.1:1: "
    'Get "https://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
    'Error response from daemon: Get "https://nonexistent.invalid/v2/": dial tcp: lookup nonexistent.invalid '
    "on 10.255.255.53:53: no such host",
    "Error: initializing source docker://testctr.local/busybx:latest: pinging container registry testctr.local: "
    'Get "https://testctr.local/v2/": dial tcp: lookup testctr.local: no such host',
    "Error: initializing source docker://127.0.0.1:5000/testctr/nope:latest: pinging container registry "
    '127.0.0.1:5000: Get "https://127.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client',
    'Get "https://r.example/v2/": x509: certificate signed by unknown authority',
    'Get "https://r.example/v2/": net/http: TLS handshake timeout',
    'Get "https://r.example/v2/": dial tcp 10.0.0.9:443: connect: network is unreachable',
]


@pytest.mark.parametrize("text", NOT_IN_REGISTRY)
def test_pull_error_says_the_registry_has_no_such_image(text: str) -> None:
    error = pull_error("127.0.0.1:5000/x:1", text)
    assert type(error) is ImageNotFound and text in str(error)
    assert "its registry 127.0.0.1:5000 has no such image" in str(error) and "check the name and the tag" in str(error)


@pytest.mark.parametrize("text", REGISTRY_UNREACHABLE)
def test_pull_error_says_the_registry_cannot_be_reached(text: str) -> None:
    error = pull_error("x:1", text)
    assert type(error) is ImagePullError and text in str(error)
    assert "its registry docker.io cannot be reached" in str(error) and "TESTCTR_IMAGE_MAP" in str(error)


def test_any_other_pull_failure_is_a_pull_error_with_the_engines_words() -> None:
    error = pull_error("x:1", "toomanyrequests: rate limit")
    assert type(error) is ImagePullError and "toomanyrequests: rate limit" in str(error)
    assert "cannot be reached" not in str(error) and "TESTCTR_IMAGE_MAP" in str(error)


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        ("redis:7", "docker.io"),
        ("team/app", "docker.io"),
        ("localhost:5000/a", "localhost:5000"),
        ("ghcr.io/a/b", "ghcr.io"),
    ],
)
def test_registry_of_an_image(image: str, registry: str) -> None:
    assert registry_of(image) == registry


def test_explain_prefers_the_engine_words() -> None:
    class APIError(Exception):
        explanation = b"no such container: x"

    assert explain(APIError("500 Server Error for http://docker/v1/containers/x")) == "no such container: x"
    assert explain(ValueError("plain")) == "plain"


@pytest.mark.parametrize(
    ("runtime", "remove"), [("docker", "docker rm -f -v NAME"), ("podman", "podman rm -f -v -t 0 NAME")]
)
def test_debug_commands(runtime: str, remove: str) -> None:
    commands = debug_commands([runtime], runtime, "NAME")
    assert commands == {"logs": f"{runtime} logs NAME", "shell": f"{runtime} exec -it NAME sh", "remove": remove}
    remote = debug_commands(["docker", "-H", "ssh://me@box"], "docker", "NAME")
    assert shlex.split(remote["logs"]) == ["docker", "-H", "ssh://me@box", "logs", "NAME"]


def test_parse_inspect_reports_the_address_on_every_network() -> None:
    info = parse_inspect(
        {
            "Id": "c1",
            "NetworkSettings": {
                "IPAddress": "",
                "Networks": {"a-net": {"IPAddress": "10.0.1.2"}, "b-net": {"IPAddress": "10.0.2.2"}},
            },
        }
    )
    assert info.networks == {"a-net": "10.0.1.2", "b-net": "10.0.2.2"}
    assert info.internal_ip == "10.0.1.2"


@pytest.mark.parametrize(
    "data",
    [
        {"Id": "abc", "Name": "n", "Labels": {"testctr": "true"}},  # docker, and the API
        {"id": "abc", "name": "n", "labels": {"testctr": "true"}},  # podman network inspect
    ],
)
def test_parse_network_reads_both_shapes(data: dict[str, object]) -> None:
    from testctr.backends.docker_family import parse_network

    info = parse_network(data)
    assert (info.id, info.name, info.labels) == ("abc", "n", {"testctr": "true"})


@pytest.mark.parametrize(
    "text",
    [
        "Error response from daemon: network nope not found",
        "Error: unable to find network with name or ID nope: network not found",
    ],
)
def test_missing_network_names_it_and_the_fix(text: str) -> None:
    from testctr.backends.docker_family import missing_network

    fix = missing_network("docker", text)
    assert fix is not None and "'nope' does not exist" in fix and "testctr.network(t)" in fix
    assert missing_network("docker", "Error: no such image") is None


def test_ports_on_any_free_port_are_pinned_at_creation_so_a_restart_keeps_them() -> None:
    from testctr.backend.types import ContainerConfig, PortSpec
    from testctr.backends.docker_family import pin_host_ports

    config = ContainerConfig(name="c", ports=[PortSpec(80), PortSpec(53, "udp"), PortSpec(81, host_port=8081)])
    pinned = pin_host_ports(config, "unix:///var/run/docker.sock")
    assert [p.container_port for p in pinned.ports] == [80, 53, 81]
    assert all(p.host_port for p in pinned.ports) and pinned.ports[2].host_port == 8081
    assert config.ports[0].host_port is None  # the caller's config is not changed
    assert pin_host_ports(config, "tcp://10.0.0.5:2376") is config  # a remote engine's free ports are unknown here


@pytest.mark.parametrize(
    ("state", "oom_killed"),
    [
        ({"Running": False, "Status": "exited", "ExitCode": 137, "OOMKilled": True}, True),
        ({"Running": False, "Status": "exited", "ExitCode": 1, "OOMKilled": False}, False),
        # Podman on cgroup v1 says false for a container the OOM killer killed: not believed.
        ({"Running": False, "Status": "exited", "ExitCode": 137, "OOMKilled": False}, None),
        ({"Running": False, "Status": "exited", "ExitCode": 137}, None),
    ],
)
def test_parse_inspect_oom_killed(state: dict[str, object], oom_killed: bool | None) -> None:
    assert parse_inspect({"Id": "x", "State": state}).state.oom_killed is oom_killed


# --- a chosen host port taken before the engine binds it ------------------------------------------------

DOCKER_PROXY = (
    "docker: Error response from daemon: driver failed programming external connectivity on endpoint x (f4fe): "
    "Error starting userland proxy: listen tcp4 127.0.0.1:39259: bind: address already in use."
)
PODMAN = "Error: cannot listen on the TCP port: listen tcp4 127.0.0.1:39259: bind: address already in use"
DOCKER_ALLOCATED = (
    "driver failed programming external connectivity: Bind for 127.0.0.1:39259 failed: port is already allocated"
)


@pytest.mark.parametrize("text", [DOCKER_PROXY, PODMAN, DOCKER_ALLOCATED])
def test_each_engines_words_for_a_taken_host_port_name_it(text: str) -> None:
    assert taken_host_port(text) == 39259


@pytest.mark.parametrize("text", ["", "no such image", "listen tcp4 127.0.0.1:39259: permission denied"])
def test_other_failures_name_no_taken_port(text: str) -> None:
    assert taken_host_port(text) is None


@pytest.mark.parametrize("text", [DOCKER_PROXY, PODMAN, DOCKER_ALLOCATED])
def test_a_start_refused_for_a_taken_host_port_says_which(text: str) -> None:
    error = start_error(f"docker start failed: {text}", "booting")
    assert isinstance(error, HostPortTaken) and error.port == 39259
    assert error.message == f"docker start failed: {text}" and error.logs == "booting"


def test_a_start_refused_for_anything_else_is_a_plain_start_error() -> None:
    error = start_error("docker start failed: exec: no such file", "booting")
    assert type(error) is ContainerStartError and error.logs == "booting"
