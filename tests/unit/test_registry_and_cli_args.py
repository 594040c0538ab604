"""The registry, the CLI backend's argument builder and inspect parser, labels, settings."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testctr import BackendNotFound
from testctr.backend import Registry
from testctr.backend.types import ContainerConfig, FileEntry, Mount, PortSpec
from testctr.backends.cli import CLIBackend, create_args, file_tar, first_file_in_tar, parse_inspect, remote_host_of
from testctr.labels import SESSION_ID, container_labels, session_alive
from testctr.settings import Settings

DATA = Path(__file__).parent / "data"


def test_registry() -> None:
    reg = Registry()
    backend = CLIBackend()
    reg.register("one", backend)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("one", backend)
    with pytest.raises(TypeError):
        reg.register("bad", object())  # type: ignore[arg-type]
    calls = []

    def factory() -> CLIBackend:
        calls.append(1)
        return backend

    reg.register_factory("lazy", factory)
    assert calls == []
    assert reg.get("lazy") is backend and reg.get("lazy") is backend and calls == [1]
    present = {"on": False}
    reg.register_factory("mac-only", factory, available=lambda: present["on"])
    assert reg.names() == ["lazy", "one"] and "mac-only" in reg.all_names()
    with pytest.raises(BackendNotFound, match="lazy, one"):
        reg.get("mac-only")
    present["on"] = True
    assert reg.get("mac-only") is backend


def test_registry_deferred_loaders_run_on_miss() -> None:
    reg = Registry()
    reg.defer(lambda r: r.register("plugin", CLIBackend()))
    assert isinstance(reg.get("plugin"), CLIBackend)


def test_create_args_full() -> None:
    config = ContainerConfig(
        name="testctr-x-1",
        env={"A": "1"},
        ports=[PortSpec(6379), PortSpec(53, "udp", 5353, "0.0.0.0"), PortSpec(80, host_ip="::1")],
        args=["--appendonly", "yes"],
        labels={"testctr": "true"},
        mounts=[Mount("/h", "/c", True)],
        tmpfs=["/run"],
        networks=["n1", "n2"],
        user="1000",
        workdir="/w",
        memory_bytes=2**29,
        cpus=1.5,
        privileged=True,
        platform="linux/amd64",
        files=[FileEntry("/f", b"x")],
    )
    argv = create_args("redis:7", config, ["redis-server"], "127.0.0.1")
    assert argv == [
        "create", "--pull", "never", "--name", "testctr-x-1",
        "--label", "testctr=true", "-e", "A=1",
        "-p", "127.0.0.1::6379/tcp", "-p", "0.0.0.0:5353:53/udp", "-p", "[::1]::80/tcp",
        "--mount", "type=bind,source=/h,target=/c,readonly", "--tmpfs", "/run", "--network", "n1",
        "--user", "1000", "--workdir", "/w", "--memory", str(2**29), "--cpus", "1.5", "--privileged",
        "--platform", "linux/amd64",
        "redis:7", "redis-server", "--appendonly", "yes",
    ]  # fmt: skip


def test_create_args_command_stacking() -> None:
    def cmd(**kw: object) -> list[str]:
        argv = create_args("img", ContainerConfig(name="n", **kw), ["image-cmd"], "127.0.0.1")  # type: ignore[arg-type]
        return argv[argv.index("img") + 1 :]

    assert cmd() == []
    assert cmd(args=["-x"]) == ["image-cmd", "-x"]
    assert cmd(command=["a"], args=["-x"]) == ["a", "-x"]
    assert cmd(entrypoint=["sh", "-c"], command=["echo hi"]) == ["-c", "echo hi"]
    argv = create_args("img", ContainerConfig(name="n", entrypoint=["sh", "-c"], args=["x"]), None, "127.0.0.1")
    assert argv[argv.index("--entrypoint") + 1] == "sh" and argv[-1] == "x"


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


def test_labels_and_session_liveness() -> None:
    labels = container_labels("testctr", "tests/t.py::test_a", "redis:7", "proj")
    assert labels["testctr"] == "true" and labels["testctr.session"] == SESSION_ID
    assert session_alive(labels, "testctr")
    other_session_same_pid = {**labels, "testctr.session": "other"}
    assert session_alive(other_session_same_pid, "testctr")  # this process is alive
    dead = {**labels, "testctr.session": "other", "testctr.pid": "999999999"}
    assert not session_alive(dead, "testctr")
    reused_pid = {**labels, "testctr.session": "other", "testctr.pid-start": "1"}
    assert not session_alive(reused_pid, "testctr")
    elsewhere = {**dead, "testctr.host": "another-machine"}
    assert session_alive(elsewhere, "testctr")  # cannot know: never removed


def test_settings_from_env() -> None:
    s = Settings.from_env(
        {
            "TESTCTR_KEEP_FAILED": "true",
            "TESTCTR_CLEANUP_AGE": "10m",
            "TESTCTR_MAX_CONCURRENT": "3",
            "TESTCTR_IMAGE_MAP": "a=b",
            "TESTCTR_RUNTIME": "podman",
        }
    )
    assert s.keep_failed and s.cleanup_age == 600 and s.max_concurrent == 3 and s.image_map == {"a": "b"}
    assert s.runtime == "podman" and not s.verbose
    assert Settings.from_env({}) == Settings()
    assert os.environ.get("TESTCTR_IMAGE_MAP")  # set by tests/conftest.py


def test_run_args_start_in_one_call() -> None:
    argv = create_args("img", ContainerConfig(name="n", command=["sh"]), None, "127.0.0.1", start=True)
    assert argv[:6] == ["run", "-d", "--pull", "never", "--name", "n"] and argv[-2:] == ["img", "sh"]
