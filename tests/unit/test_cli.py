"""The CLI backend's pure parts: argument building, mounts, runtime endpoints (no engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testctr.backend.types import ContainerConfig, FileEntry, Mount, NetworkAttachment, PortSpec
from testctr.backends.cli import Runtime, create_args, mount_spec

DATA = Path(__file__).parent / "data"


def test_create_args_full() -> None:
    config = ContainerConfig(
        name="testctr-x-1",
        env={"A": "1"},
        ports=[PortSpec(6379), PortSpec(53, "udp", 5353, "0.0.0.0"), PortSpec(80, host_ip="::1")],
        args=["--appendonly", "yes"],
        labels={"testctr": "true"},
        mounts=[Mount("/h", "/c", True)],
        tmpfs=["/run"],
        networks=[NetworkAttachment("n1", ("db", "cache")), NetworkAttachment("n2")],
        user="1000",
        workdir="/w",
        memory_bytes=2**29,
        cpus=1.5,
        privileged=True,
        platform="linux/amd64",
        files=[FileEntry("/f", b"x")],
    )
    argv = create_args("redis:7", config, config.command_for(["redis-server"]), "127.0.0.1")
    assert argv == [
        "create", "--pull", "never", "--name", "testctr-x-1",
        "--label", "testctr=true", "-e", "A",
        "-p", "127.0.0.1::6379/tcp", "-p", "0.0.0.0:5353:53/udp", "-p", "[::1]::80/tcp",
        "--mount", "type=bind,source=/h,target=/c,readonly", "--tmpfs", "/run", "--network", "n1",
        "--network-alias", "db", "--network-alias", "cache",
        "--user", "1000", "--workdir", "/w", "--memory", str(2**29), "--cpus", "1.5", "--privileged",
        "--platform", "linux/amd64",
        "--", "redis:7", "redis-server", "--appendonly", "yes",
    ]  # fmt: skip


def test_create_args_command_stacking() -> None:
    def cmd(**kw: object) -> list[str]:
        config = ContainerConfig(name="n", **kw)  # type: ignore[arg-type]
        argv = create_args("img", config, config.command_for(["image-cmd"]), "127.0.0.1")
        return argv[argv.index("img") + 1 :]

    assert cmd() == []
    assert cmd(args=["-x"]) == ["image-cmd", "-x"]
    assert cmd(command=["a"], args=["-x"]) == ["a", "-x"]
    assert cmd(entrypoint=["sh", "-c"], command=["echo hi"]) == ["-c", "echo hi"]
    config = ContainerConfig(name="n", entrypoint=["sh", "-c"], args=["x"])
    argv = create_args("img", config, config.command_for(), "127.0.0.1")
    assert argv[argv.index("--entrypoint") + 1] == "sh" and argv[-1] == "x"


def test_create_args_image_is_never_a_flag() -> None:
    argv = create_args("--privileged", ContainerConfig(name="n", command=["-x"]), ["-x"], "127.0.0.1")
    assert argv[-3:] == ["--", "--privileged", "-x"]


def test_mount_spec_quotes_commas() -> None:
    assert mount_spec(Mount("/h", "/c")) == "type=bind,source=/h,target=/c"
    assert mount_spec(Mount("/h,1", "/c", True)) == 'type=bind,"source=/h,1",target=/c,readonly'
    assert mount_spec(Mount('/h"q', "/c")) == 'type=bind,"source=/h""q",target=/c'


def test_runtime_endpoint_names_what_chose_the_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2376")
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    docker, podman = Runtime("docker", "/usr/bin/docker"), Runtime("podman", "/usr/bin/podman")
    assert docker.endpoint().chosen_by == "DOCKER_HOST" and podman.endpoint().chosen_by is None
    monkeypatch.delenv("DOCKER_HOST")
    assert docker.endpoint().url == "unix:///var/run/docker.sock" and docker.endpoint().context is None
    monkeypatch.setenv("DOCKER_CONTEXT", "colima")
    assert docker.endpoint().context == "colima" and podman.endpoint().context is None
    monkeypatch.setenv("CONTAINER_HOST", "ssh://me@box")
    assert podman.endpoint().chosen_by == "CONTAINER_HOST" and podman.engine_url == "ssh://me@box"


def test_run_args_start_in_one_call() -> None:
    argv = create_args("img", ContainerConfig(name="n", command=["sh"]), ["sh"], "127.0.0.1", start=True)
    assert argv[:6] == ["run", "-d", "--pull", "never", "--name", "n"] and argv[-3:] == ["--", "img", "sh"]


INSPECT_JSON = (
    b'[{"Id": "abc", "Name": "/x", "Created": "2026-12-03T08:00:00Z", "State": {"Status": "exited",'
    b' "Running": false, "ExitCode": 137, "OOMKilled": true}, "Config": {"Labels": {}, "Image": "busybox"},'
    b' "NetworkSettings": {"Ports": {}}}]'
)


@pytest.mark.parametrize(
    ("first_err", "calls"),
    [(b"Error: read /proc/20097/cgroup: no such process\n", 2), (b"Error: something else\n", 1)],
)
def test_an_inspect_that_raced_an_exit_is_asked_again_once(
    monkeypatch: pytest.MonkeyPatch, first_err: bytes, calls: int
) -> None:
    from testctr.backends._process import Completed
    from testctr.backends.cli import CLIBackend
    from testctr.errors import TestctrError

    backend = CLIBackend(Runtime("podman", "/usr/bin/podman"))
    answers = [
        Completed(["podman", "inspect"], 125, b"", first_err),
        Completed(["podman", "inspect"], 0, INSPECT_JSON, b""),
    ]
    made: list[tuple[str, ...]] = []

    def run(*args: str, **_: object) -> Completed:
        made.append(args)
        return answers[len(made) - 1]

    monkeypatch.setattr(backend, "_run", run)
    if calls == 2:
        assert backend.inspect_container("abc").state.exit_code == 137
    else:
        with pytest.raises(TestctrError, match="something else"):
            backend.inspect_container("abc")
    assert len(made) == calls


def test_a_log_read_that_met_a_half_written_line_is_asked_again_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from testctr.backends._process import Completed
    from testctr.backends.cli import CLIBackend

    backend = CLIBackend(Runtime("podman", "/usr/bin/podman"))
    raced = b"Error: unable to read log file abc for /x/ctr.log : '2026' is not a valid container log line\n"
    answers = [Completed(["podman", "logs"], 125, raced, b""), Completed(["podman", "logs"], 0, b"a\nb\n", b"")]
    made: list[tuple[str, ...]] = []

    def run(*args: str, **_: object) -> Completed:
        made.append(args)
        return answers[len(made) - 1]

    monkeypatch.setattr(backend, "_run", run)
    assert backend.log_tail("abc", 2) == "a\nb\n"
    assert len(made) == 2
