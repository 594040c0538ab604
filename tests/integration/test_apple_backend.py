"""The apple backend through testctr.new, against Apple's `container` CLI.

On Linux this is the emulator in ../shared/apple-container (on top of
docker), at the newest release and at 0.7.1 (``address`` instead of
``ipv4Address``, no ``cp``, 0.x JSON in Swift hash order); a few tests also run
0.12.3 (dates as seconds since 2001). On a Mac, TESTCTR_APPLE_CONTAINER_BIN may
point at the real tool; the version-pinned cases then still use the emulator.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import testctr
from testctr import backends
from testctr.backend import Registry
from testctr.backends import apple as apple_module
from testctr.backends import free_ports as ports
from testctr.backends.apple import AppleBackend, AppleConfig
from testctr.backends.auto import choose
from testctr.conformance._support import SLEEPER, sleeper_command

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[2]
EMULATOR = REPO.parent / "shared" / "apple-container" / "container"
NEWEST = "1.2.2"
VERSIONS = [NEWEST, "0.7.1"]


@pytest.fixture(scope="session")
def emulator_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wrapper scripts that pin the emulated release or failure mode."""
    if not EMULATOR.exists():
        pytest.fail(f"the apple-container emulator is missing at {EMULATOR} (CI copies /work/shared beside the clone)")
    root = tmp_path_factory.mktemp("apple")
    # Pulls fail without a registry: let images docker already has count as pulled.
    os.environ["APPLE_CONTAINER_EMULATOR_PULL_LOCAL"] = "1"
    os.environ["APPLE_CONTAINER_EMULATOR_STATE_DIR"] = str(root / "state")
    return root


def wrapper(directory: Path, name: str, **env: str) -> str:
    path = directory / name
    if not path.exists():
        exports = "".join(f"{k}={v} " for k, v in env.items())
        path.write_text(f'#!/bin/sh\n{exports}exec "{EMULATOR}" "$@"\n')
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def backend_name(emulator_dir: Path, version: str) -> str:
    """A registered backend name for ``version``: "apple" itself for the newest."""
    if version == NEWEST:
        return "apple"
    name = f"apple-{version}"
    if name not in backends.default_registry.all_names():
        binary = wrapper(emulator_dir, f"container-{version}", APPLE_CONTAINER_EMULATE_VERSION=version)
        backends.register(name, AppleBackend(binary))
    return name


@pytest.fixture(params=VERSIONS)
def apple(request: pytest.FixtureRequest, emulator_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The backend name to pass to with_backend; "apple" is registered by the env var."""
    if not os.environ.get(apple_module.BIN_ENV):
        # Only for this test: "auto" elsewhere in the run must not pick the emulator.
        monkeypatch.setenv(
            apple_module.BIN_ENV, wrapper(emulator_dir, "container", APPLE_CONTAINER_EMULATE_VERSION=NEWEST)
        )
    yield backend_name(emulator_dir, str(request.param))


def new(request: pytest.FixtureRequest, apple: str, *opts: testctr.Option, image: str = "busybox") -> testctr.Container:
    return testctr.new(request, image, testctr.with_backend(apple), *opts)


def sleeper(request: pytest.FixtureRequest, apple: str, *opts: testctr.Option) -> testctr.Container:
    return new(request, apple, testctr.with_command(*SLEEPER), *opts)


def raw_inspect(c: testctr.Container) -> dict[str, object]:
    binary = c.backend.binary  # type: ignore[attr-defined]
    out = subprocess.run([binary, "inspect", c.id], capture_output=True, text=True, timeout=60, check=True).stdout
    data = json.loads(out)[0]
    assert isinstance(data, dict)
    return data


# --- lifecycle and state ----------------------------------------------------------------------


def test_lifecycle_and_unknown_exit_code(request: pytest.FixtureRequest, apple: str) -> None:
    c = sleeper(request, apple)
    info = c.inspect()
    assert info.state.running and info.state.status == "running"
    assert info.name == c.name and info.id == c.id
    assert info.labels["testctr"] == "true"
    c.stop(timeout=5)
    stopped = c.inspect().state
    assert not stopped.running and stopped.status == "stopped"
    assert stopped.exit_code is None  # Apple's inspect has no exit code; never a made-up 0
    c.start()
    assert c.inspect().state.running
    c.terminate()
    with pytest.raises(testctr.ContainerNotFound):
        c.backend.inspect_container(c.id)
    with pytest.raises(testctr.ContainerNotFound):
        c.backend.stop_container(c.id)
    with pytest.raises(testctr.ContainerNotFound):
        c.backend.remove_container(c.id)


def test_internal_ip_has_no_prefix(request: pytest.FixtureRequest, apple: str) -> None:
    c = sleeper(request, apple)
    ip = c.internal_ip()
    socket.inet_aton(ip)
    assert "/" not in ip
    assert c.inspect().internal_ip == ip


def test_published_port_on_loopback(request: pytest.FixtureRequest, apple: str) -> None:
    c = new(
        request, apple,
        testctr.with_command("busybox", "httpd", "-f", "-p", "80", "-h", "/www"),
        testctr.with_file_content(b"hello from a VM\n", "/www/index.html"),
        testctr.with_port("80"),
        testctr.with_wait_for_http("/", "80"),
    )  # fmt: skip
    assert c.host() == "127.0.0.1"
    assert c.port(80) != 80
    with urllib.request.urlopen(f"http://{c.endpoint(80)}/", timeout=10) as response:
        assert response.read() == b"hello from a VM\n"
    binding = c.inspect().ports["80/tcp"][0]
    assert binding.host_ip == "127.0.0.1" and binding.host_port == c.port(80)


def test_direct_ip_endpoints(request: pytest.FixtureRequest, apple: str) -> None:
    c = new(
        request, apple,
        testctr.with_command("busybox", "httpd", "-f", "-p", "8080", "-h", "/www"),
        testctr.with_file_content(b"direct\n", "/www/index.html"),
        testctr.with_port("8080"),
        testctr.with_backend_config(AppleConfig(direct_ip=True)),
        testctr.with_wait_for_port("8080"),
    )  # fmt: skip
    assert c.host() == c.internal_ip()
    assert c.port(8080) == 8080
    assert raw_inspect(c)["configuration"]["publishedPorts"] == []  # type: ignore[index]
    with urllib.request.urlopen(f"http://{c.endpoint(8080)}/", timeout=10) as response:
        assert response.read() == b"direct\n"


def test_port_taken_between_allocation_and_bind_is_retried(
    request: pytest.FixtureRequest, apple: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process binds the port we picked before the VM does: a fresh port is used."""
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen(1)
    taken = squatter.getsockname()[1]
    real = ports.allocate_port
    handed: list[int] = []

    def racy(protocol: str = "tcp") -> int:
        port = taken if not handed else real(protocol)
        handed.append(port)
        return port

    monkeypatch.setattr("testctr.backends.apple.backend.allocate_port", racy)  # where the backend looks it up
    try:
        c = sleeper(request, apple, testctr.with_port("80"))
        assert handed[0] == taken
        assert c.port(80) != taken
        assert c.port(80) == handed[-1]
    finally:
        squatter.close()


def test_fixed_host_port_conflict_is_a_clear_error(request: pytest.FixtureRequest, apple: str) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        port = squatter.getsockname()[1]
        with pytest.raises(testctr.ContainerStartError, match="start failed"):
            sleeper(request, apple, testctr.with_port(f"127.0.0.1:{port}:80"))


# --- exec, logs -----------------------------------------------------------------------------------


def test_exec(request: pytest.FixtureRequest, apple: str) -> None:
    c = sleeper(request, apple)
    result = c.exec(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert c.exec_simple("sh", "-c", "echo $A-$(pwd)-$(id -u)") == "-/-0"
    assert c.exec(["sh", "-c", "echo $A-$(pwd)-$(id -u)"], env={"A": "x"}, workdir="/tmp", user="nobody").stdout == (
        "x-/tmp-65534\n"
    )
    missing = c.exec(["no-such-binary"])
    assert missing.exit_code == 127 and "no-such-binary" in missing.output
    with pytest.raises(testctr.ExecError):
        c.exec_simple("false")
    with pytest.raises(testctr.ExecTimeout):
        c.exec(["sleep", "30"], timeout=1)


def test_exec_in_stopped_container(request: pytest.FixtureRequest, apple: str) -> None:
    c = sleeper(request, apple)
    c.stop(timeout=2)
    with pytest.raises(testctr.TestctrError, match="not running"):
        c.exec(["true"])


def test_logs_and_wait_for_log(request: pytest.FixtureRequest, apple: str) -> None:
    c = new(
        request, apple,
        testctr.with_command(*sleeper_command("echo one; echo two >&2; sleep 1; echo ready")),
        testctr.with_wait_for_log("ready"),
    )  # fmt: skip
    logs = c.logs()
    for line in ("one", "two", "ready"):
        assert line in logs


def test_exit_before_log_line_fails_fast(request: pytest.FixtureRequest, apple: str) -> None:
    started = time.monotonic()
    with pytest.raises(testctr.ContainerStartError, match=r"stopped|exited") as raised:
        new(request, apple, testctr.with_command("sh", "-c", "echo dying; exit 4"),
            testctr.with_wait_for_log("never", timeout=60))  # fmt: skip
    assert time.monotonic() - started < 30
    assert raised.value.exit_code is None
    assert "dying" in raised.value.logs


def test_args_extend_the_image_command(request: pytest.FixtureRequest, apple: str) -> None:
    # busybox's CMD is ["sh"]: the args make it `sh -c ...`, with a leading dash.
    c = new(request, apple, testctr.with_args("-c", "echo args-ok; sleep 600"), testctr.with_wait_for_log("args-ok"))
    assert "args-ok" in c.logs()


def test_boot_logs(request: pytest.FixtureRequest, apple: str) -> None:
    c = sleeper(request, apple)
    boot = c.backend.boot_logs(c.id)  # type: ignore[attr-defined]
    assert "Linux version" in boot


# --- files -----------------------------------------------------------------------------------------


def test_files_before_start_and_after(request: pytest.FixtureRequest, apple: str, tmp_path: Path) -> None:
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\necho from-file\n")
    script.chmod(0o755)
    c = new(
        request, apple,
        testctr.with_file(script, "/opt/bin/hello.sh"),
        testctr.with_file_content(b"\x00\x01binary", "/data/blob", mode=0o600),
        testctr.with_command(*sleeper_command("/opt/bin/hello.sh")),
        testctr.with_wait_for_log("from-file"),
    )  # fmt: skip
    assert c.copy_from("/data/blob") == b"\x00\x01binary"
    assert c.exec_simple("stat", "-c", "%a", "/data/blob", "/opt/bin/hello.sh").split() == ["600", "755"]
    c.copy_to(b"later", "/new/dir/later.txt")
    assert c.exec_simple("cat", "/new/dir/later.txt") == "later"
    with pytest.raises(testctr.TestctrError, match="does not exist"):
        c.copy_from("/no/such/file")
    with pytest.raises(testctr.InvalidOption, match="directory"):
        c.copy_from("/data")


def test_restart_after_files_does_not_wait_again(request: pytest.FixtureRequest, apple: str) -> None:
    c = new(request, apple, testctr.with_file_content(b"x", "/etc/x"), testctr.with_command(*SLEEPER))
    c.restart(timeout=2)
    assert c.exec_simple("cat", "/etc/x") == "x"


# --- limits and VM config -------------------------------------------------------------------


def test_generic_limits_become_vm_size(request: pytest.FixtureRequest, apple: str) -> None:
    c = sleeper(request, apple, testctr.with_cpus(2), testctr.with_memory_limit("512m"))
    resources = raw_inspect(c)["configuration"]["resources"]  # type: ignore[index]
    assert resources["cpus"] == 2 and resources["memoryInBytes"] == 512 * 1024 * 1024


def test_vm_config(request: pytest.FixtureRequest, apple: str) -> None:
    vm = AppleConfig(cpus=1, memory="768m", dns=["192.168.64.1"], dns_search=["test.internal"])
    c = sleeper(request, apple, testctr.with_backend_config(vm))
    cfg = raw_inspect(c)["configuration"]
    assert cfg["resources"]["cpus"] == 1  # type: ignore[index]
    assert cfg["resources"]["memoryInBytes"] == 768 * 1024 * 1024  # type: ignore[index]
    assert cfg["dns"]["nameservers"] == ["192.168.64.1"]  # type: ignore[index]
    assert cfg["dns"]["searchDomains"] == ["test.internal"]  # type: ignore[index]


def test_vm_config_needing_newer_release(request: pytest.FixtureRequest, apple: str) -> None:
    opts = (testctr.with_backend_config(AppleConfig(kernel_args=["quiet"])),)
    if apple == "apple":  # 1.2.2 boots with extra kernel arguments
        sleeper(request, apple, *opts)
        return
    with pytest.raises(testctr.UnsupportedOption, match=r"AppleConfig.kernel_args.*1\.2\.0"):
        sleeper(request, apple, *opts)


def test_update_resources_is_unsupported(request: pytest.FixtureRequest, apple: str) -> None:
    c = sleeper(request, apple)
    with pytest.raises(testctr.UnsupportedOption, match=r"update_resources.*fixed when it boots"):
        c.update_resources(memory="1g", cpus=2)


@pytest.mark.parametrize(
    ("option", "name"),
    [
        (testctr.with_privileged(), "with_privileged"),
        (testctr.with_cpus(0.5), "with_cpus"),
        (testctr.with_bind_mount(__file__, "/x"), "with_bind_mount"),
        (testctr.with_backend_config({"cpus": 2}), "with_backend_config"),
    ],
)
def test_inexpressible_options_are_refused(
    request: pytest.FixtureRequest, apple: str, option: testctr.Option, name: str
) -> None:
    with pytest.raises(testctr.UnsupportedOption) as raised:
        sleeper(request, apple, option)
    assert raised.value.option == name and raised.value.backend == "apple"


def test_commit_and_healthcheck_are_refused(request: pytest.FixtureRequest, apple: str) -> None:
    c = sleeper(request, apple)
    with pytest.raises(testctr.UnsupportedOption, match="commit"):
        c.commit("testctr.local/apple-commit:x")
    with pytest.raises(testctr.UnsupportedOption, match="HEALTHCHECK"):
        c.health()


def test_bind_mount_of_a_directory(request: pytest.FixtureRequest, apple: str, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("shared")
    c = sleeper(request, apple, testctr.with_bind_mount(tmp_path, "/mnt/host", read_only=True))
    assert c.exec_simple("cat", "/mnt/host/in.txt") == "shared"


def test_list_containers_by_label(request: pytest.FixtureRequest, apple: str) -> None:
    c = sleeper(request, apple)
    listed = c.backend.list_containers("testctr")  # type: ignore[attr-defined]
    assert c.id in [info.id for info in listed]


# --- other emulated releases and failure modes ------------------------------------------------


def test_numeric_swift_dates_of_0_12(request: pytest.FixtureRequest, emulator_dir: Path) -> None:
    c = sleeper(request, backend_name(emulator_dir, "0.12.3"))
    created = c.inspect().created
    assert created is not None
    assert abs(time.time() - created.timestamp()) < 300


def test_system_stopped_is_engine_unavailable(request: pytest.FixtureRequest, emulator_dir: Path) -> None:
    name = "apple-stopped"
    if name not in backends.default_registry.all_names():
        binary = wrapper(emulator_dir, "container-stopped", APPLE_CONTAINER_EMULATE_SYSTEM="stopped")
        backends.register(name, AppleBackend(binary))
    with pytest.raises(testctr.EngineUnavailable, match="container system start"):
        sleeper(request, name)
    with pytest.raises(testctr.EngineUnavailable, match="container system start"):
        backends.get(name).version()


def test_macos_15_network_limit(request: pytest.FixtureRequest, emulator_dir: Path) -> None:
    name = "apple-macos15"
    if name not in backends.default_registry.all_names():
        binary = wrapper(emulator_dir, "container-macos15", APPLE_CONTAINER_EMULATE_MACOS="15")
        backends.register(name, AppleBackend(binary))
    with pytest.raises(testctr.UnsupportedOption, match="macOS 26") as raised:
        sleeper(request, name, testctr.with_network("backend-net"))
    assert raised.value.option == "with_network"
    with pytest.raises(testctr.UnsupportedOption, match="networks only on macOS 26") as refused:
        testctr.network(request, backend=name)
    assert refused.value.option == "testctr.network"


def test_network_of_a_test_on_macos_26(request: pytest.FixtureRequest, emulator_dir: Path) -> None:
    apple = "apple-macos26"
    if apple not in backends.default_registry.all_names():
        binary = wrapper(emulator_dir, "container-macos26", APPLE_CONTAINER_EMULATE_MACOS="26")
        backends.default_registry.register(apple, AppleBackend(binary))
    net = testctr.network(request, backend=apple)
    db = sleeper(request, apple, testctr.with_network(net))
    assert db.internal_ip(net) == db.internal_ip()
    with pytest.raises(testctr.UnsupportedOption, match="no DNS aliases"):
        sleeper(request, apple, testctr.with_network(net, aliases=["db"]))
    with pytest.raises(testctr.UnsupportedOption, match="network connect"):
        db.connect("other")
    with pytest.raises(testctr.UnsupportedOption, match="internal"):
        testctr.network(request, backend=apple, internal=True)


def test_missing_image(request: pytest.FixtureRequest, apple: str) -> None:
    with pytest.raises((testctr.ImagePullError, testctr.ImageNotFound)):
        new(request, apple, image="testctr.local/does-not-exist:1")


def test_auto_prefers_a_running_apple_service(emulator_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TESTCTR_RUNTIME", raising=False)
    monkeypatch.setenv(apple_module.BIN_ENV, wrapper(emulator_dir, "container", APPLE_CONTAINER_EMULATE_VERSION=NEWEST))
    fresh = Registry()
    from testctr.backends import register_builtin

    register_builtin(fresh)
    choice = choose(fresh)
    assert choice.name == "apple" and choice.backend is not None

    monkeypatch.setenv(
        apple_module.BIN_ENV, wrapper(emulator_dir, "container-stopped", APPLE_CONTAINER_EMULATE_SYSTEM="stopped")
    )
    stopped = Registry()
    register_builtin(stopped)
    fallback = choose(stopped)
    assert fallback.name == "cli" and fallback.backend is not None and fallback.backend.runtime == "docker"
    assert any(who == "apple" and "container system start" in why for who, why in fallback.skipped)
    assert fallback.explain()[-1].startswith("chose cli/docker")
