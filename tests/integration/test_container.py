"""The public surface of a Container, on Docker and on Podman."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import testctr
from testctr.backends import docker_family, free_ports
from testctr.conformance._support import SLEEPER, sleeper_command

pytestmark = pytest.mark.engine

# busybox-static's wget crashes on name-service lookups; nc speaks HTTP well enough.
HTTP_GET = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5"


def busybox(request: pytest.FixtureRequest, runtime: str, *opts: testctr.Option) -> testctr.Container:
    return testctr.new(request, "busybox", testctr.with_runtime(runtime), testctr.with_command(*SLEEPER), *opts)


def exists(runtime: str, container_id: str) -> bool:
    out = subprocess.run(
        [runtime, "ps", "-aq", "--no-trunc", "--filter", f"id={container_id}"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    return container_id[:12] in out


def redis_ping(endpoint: str) -> bytes:
    host, port = endpoint.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"PING\r\n")
        return s.recv(64)


def test_readme_example(request: pytest.FixtureRequest, runtime: str) -> None:
    redis = testctr.new(
        request,
        "redis:7-alpine",
        testctr.with_runtime(runtime),
        testctr.with_port("6379"),
        testctr.with_wait_for_log("Ready to accept connections"),
    )
    assert redis.exec_simple("redis-cli", "PING") == "PONG"
    assert redis.host() == "127.0.0.1"
    assert redis_ping(redis.endpoint("6379")) == b"+PONG\r\n"
    assert redis.port(6379) == redis.port("6379/tcp") > 0
    # The default, auto, is the backend that answers; the name asked for is kept apart.
    assert redis.runtime == runtime and redis.backend_name == "cli" and redis.requested_backend == "auto"


def test_run_context_manager_removes_container(runtime: str) -> None:
    with testctr.run("busybox", testctr.with_runtime(runtime), testctr.with_command(*SLEEPER)) as c:
        assert exists(runtime, c.id)
    assert not exists(runtime, c.id)


def test_terminate_then_cleanup_is_noop(request: pytest.FixtureRequest, runtime: str) -> None:
    c = busybox(request, runtime)
    c.terminate()
    assert not exists(runtime, c.id)
    c.terminate()  # idempotent


def test_published_port_binds_loopback_only(request: pytest.FixtureRequest, runtime: str) -> None:
    c = busybox(request, runtime, testctr.with_port("8080"), testctr.with_port("53/udp"))
    info = c.inspect()
    assert [b.host_ip for b in info.ports["8080/tcp"]] == ["127.0.0.1"]
    assert [b.host_ip for b in info.ports["53/udp"]] == ["127.0.0.1"]
    assert c.port("53/udp") > 0
    with pytest.raises(testctr.PortNotPublished, match=r"not published .*with_port\('9999'\)"):
        c.port("9999")


def test_exec_results(request: pytest.FixtureRequest, runtime: str) -> None:
    c = busybox(request, runtime)
    r = c.exec(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (r.exit_code, r.stdout, r.stderr) == (3, "out\n", "err\n")
    assert sorted(r.output.splitlines()) == ["err", "out"]
    assert c.exec(["false"]).exit_code == 1
    assert c.exec(["no-such-binary"]).exit_code in (126, 127)
    assert c.exec("sh -c 'echo $A-$B'", env={"A": "x", "B": "y y"}).stdout == "x-y y\n"
    assert c.exec(["pwd"], workdir="/tmp").stdout == "/tmp\n"
    assert c.exec(["id", "-u"], user="65534").stdout.strip() == "65534"
    with pytest.raises(testctr.ExecError) as info:
        c.exec_simple("sh", "-c", "echo nope >&2; exit 4")
    assert info.value.result.exit_code == 4 and "nope" in str(info.value)
    with pytest.raises(testctr.ExecTimeout):
        c.exec(["sleep", "30"], timeout=0.5)
    big = c.exec(["sh", "-c", "head -c 1500000 /dev/zero | tr '\\0' a"])
    assert len(big.stdout) == 1500000


def test_files_exist_before_entrypoint(request: pytest.FixtureRequest, runtime: str, tmp_path: Path) -> None:
    script = tmp_path / "start.sh"
    script.write_text("#!/bin/sh\ncat /cfg/app/settings.txt\nexec sleep 600\n")
    script.chmod(0o755)
    c = testctr.new(
        request,
        "busybox",
        testctr.with_runtime(runtime),
        testctr.with_file(script, "/usr/local/bin/start.sh"),
        testctr.with_file_content("setting=42\n", "/cfg/app/settings.txt", mode=0o640),
        testctr.with_command("/usr/local/bin/start.sh"),
        testctr.with_wait_for_log("setting=42"),
    )
    assert c.exec_simple("stat", "-c", "%a", "/cfg/app/settings.txt") == "640"
    assert c.exec_simple("stat", "-c", "%a", "/usr/local/bin/start.sh") == "755"
    assert c.exec_simple("stat", "-c", "%a", "/tmp") == "1777"  # parents of copies left alone


def test_copy_to_and_from(request: pytest.FixtureRequest, runtime: str, tmp_path: Path) -> None:
    c = busybox(request, runtime)
    host_file = tmp_path / "in.txt"
    host_file.write_bytes(b"from a path")
    c.copy_to(host_file, "/data/deep/in.txt")
    c.copy_to(b"\x00binary\xff", "/data/bin.dat", mode=0o600)
    c.copy_to(io.BytesIO(b"from a reader"), "/data/r.txt")
    assert c.copy_from("/data/deep/in.txt") == b"from a path"
    assert c.copy_from("/data/bin.dat") == b"\x00binary\xff"
    assert c.exec_simple("cat", "/data/r.txt") == "from a reader"
    assert c.exec_simple("stat", "-c", "%a", "/data/bin.dat") == "600"
    with pytest.raises(testctr.InvalidOption, match="pass bytes"):
        c.copy_to("no such host file", "/x")
    with pytest.raises(testctr.TestctrError):
        c.copy_from("/does/not/exist")


def test_args_stack_on_image_command(request: pytest.FixtureRequest, runtime: str) -> None:
    redis = testctr.new(
        request,
        "redis:7-alpine",
        testctr.with_runtime(runtime),
        testctr.with_args("--maxmemory", "5mb"),
        testctr.with_args("--databases", "7"),
        testctr.with_wait_for_log("Ready to accept connections"),
    )
    assert redis.exec_simple("redis-cli", "CONFIG", "GET", "maxmemory").splitlines()[1] == "5242880"
    assert redis.exec_simple("redis-cli", "CONFIG", "GET", "databases").splitlines()[1] == "7"


def test_entrypoint_env_user_workdir(request: pytest.FixtureRequest, runtime: str) -> None:
    c = testctr.new(
        request,
        "busybox",
        testctr.with_runtime(runtime),
        testctr.with_entrypoint("sh", "-c"),
        testctr.with_command('echo "$GREETING from $(pwd) as $(id -u)"; exec sleep 600'),
        testctr.with_env("GREETING", "hello"),
        testctr.with_user("65534"),
        testctr.with_workdir("/tmp"),
        testctr.with_wait_for_log("hello from /tmp as 65534"),
    )
    assert "hello from /tmp as 65534" in c.logs()


def test_logs_stream_to_test_output(
    request: pytest.FixtureRequest, runtime: str, capfd: pytest.CaptureFixture[str]
) -> None:
    c = testctr.new(
        request,
        "busybox",
        testctr.with_runtime(runtime),
        testctr.with_command(*sleeper_command("echo keep-me; echo drop-me; echo done")),
        testctr.with_log_filter(lambda line: "drop" not in line),
        testctr.with_wait_for_log("done"),
    )
    deadline = time.monotonic() + 10
    err = ""
    while "done" not in err and time.monotonic() < deadline:
        time.sleep(0.05)
        err += capfd.readouterr().err
    assert f"[{c.name}] keep-me" in err and "drop-me" not in err


def test_exit_during_startup_fails_fast_with_logs(runtime: str) -> None:
    started = time.monotonic()
    with (
        pytest.raises(testctr.ContainerStartError) as info,
        testctr.run(
            "busybox",
            testctr.with_runtime(runtime),
            testctr.with_command("sh", "-c", "echo config is broken; exit 3"),
            testctr.with_wait_for_log("never printed"),
            testctr.with_startup_timeout(120),
        ),
    ):
        pass
    # Not at the 120 s timeout: the exit is noticed when the log stream ends.
    assert time.monotonic() - started < 60
    assert info.value.exit_code == 3 and "config is broken" in str(info.value)


@pytest.mark.parametrize(
    "wait",
    [
        testctr.with_wait_for_exec(["sh", "-c", "exit 1"], timeout=1),
        testctr.with_wait_for_log("never", timeout=1),
        testctr.with_wait_for_port("8080", timeout=1),
    ],
    ids=["exec", "log", "port"],
)
def test_wait_timeout_names_strategy(runtime: str, wait: testctr.Option) -> None:
    with (
        pytest.raises(testctr.WaitTimeout) as info,
        testctr.run(
            "busybox",
            testctr.with_runtime(runtime),
            testctr.with_command(*sleeper_command("echo still booting")),
            testctr.with_port("8080"),
            wait,
        ),
    ):
        pass
    assert "timed out" in str(info.value) and "still booting" in str(info.value)


def test_startup_timeout_bounds_every_wait(runtime: str) -> None:
    began = time.monotonic()
    # The wait times out; on a machine so loaded that the engine takes longer
    # than the second to create the container, the creation does.
    with (
        pytest.raises((testctr.WaitTimeout, testctr.EngineUnavailable)),
        testctr.run(
            "busybox",
            testctr.with_runtime(runtime),
            testctr.with_command(*SLEEPER),
            testctr.with_wait_for_log("never"),
            testctr.with_startup_timeout(1),
        ),
    ):
        pass
    # One second for the start, then the removal (a retry outside the start
    # has its own bound, but takes a second or two at most here).
    assert time.monotonic() - began < 1 + 10


def test_wait_for_log_occurrences_and_regex(request: pytest.FixtureRequest, runtime: str) -> None:
    c = busybox(
        request,
        runtime,
        testctr.with_command(*sleeper_command("for i in 1 2 3; do echo tick $i; sleep 0.2; done")),
        testctr.with_wait_for_log(re.compile(r"tick \d"), occurrences=3),
    )
    assert "tick 3" in c.logs()


def test_wait_for_exec_and_port(request: pytest.FixtureRequest, runtime: str) -> None:
    c = busybox(
        request,
        runtime,
        testctr.with_command("sh", "-c", "sleep 1; touch /tmp/ready; httpd -f -p 8080"),
        testctr.with_port("8080"),
        testctr.with_wait_for_exec(["test", "-f", "/tmp/ready"]),
        testctr.with_wait_for_port("8080"),
    )
    with socket.create_connection(("127.0.0.1", c.port(8080)), timeout=5):
        pass


def test_wait_for_http_and_healthy(request: pytest.FixtureRequest, runtime: str) -> None:
    web = testctr.new(
        request,
        "httpd",  # the local busybox httpd: HTTPD_DELAY and a HEALTHCHECK
        testctr.with_runtime(runtime),
        testctr.with_env("HTTPD_DELAY", "1"),
        testctr.with_port("80"),
        testctr.with_wait_for_http("/", "80"),
        testctr.with_wait_for_healthy(),
    )
    assert web.health() == "healthy"
    with urllib.request.urlopen(f"http://{web.endpoint(80)}/", timeout=5) as resp:
        assert b"hello from testctr" in resp.read()


def test_healthy_wait_without_healthcheck_is_an_error(runtime: str) -> None:
    with pytest.raises(testctr.TestctrError, match="no HEALTHCHECK"):
        with testctr.run(
            "busybox",
            testctr.with_runtime(runtime),
            testctr.with_command(*SLEEPER),
            testctr.with_wait_for_healthy(timeout=5),
        ):
            pass


def test_inspect_labels_and_internal_ip(request: pytest.FixtureRequest, runtime: str) -> None:
    c = busybox(request, runtime, testctr.with_label("team", "db"))
    info = c.inspect()
    assert info.labels["team"] == "db" and info.labels["testctr"] == "true"
    assert info.labels["testctr.test"] == request.node.nodeid
    assert info.state.running and info.created is not None
    ip = c.internal_ip()
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", ip) and ip == info.internal_ip
    assert c.name.startswith(f"testctr-test_inspect_labels_and_internal_ip_{runtime}-")


def test_stop_start_restart_keep_the_port_and_wait_until_ready(request: pytest.FixtureRequest, runtime: str) -> None:
    c = testctr.new(
        request,
        "redis:7-alpine",
        testctr.with_runtime(runtime),
        testctr.with_port("6379"),
        testctr.with_wait_for_log("Ready to accept connections"),
    )
    endpoint = c.endpoint(6379)
    c.stop(timeout=5)
    state = c.inspect().state
    assert not state.running and state.exit_code is not None
    c.start()
    # Ready when start returns, on the host port a client already holds.
    assert c.logs().count("Ready to accept connections") == 2
    assert redis_ping(endpoint) == b"+PONG\r\n"
    c.restart(timeout=5)
    assert c.logs().count("Ready to accept connections") == 3
    assert c.endpoint(6379) == endpoint and redis_ping(endpoint) == b"+PONG\r\n"


@pytest.fixture
def squatter() -> Iterator[int]:
    """A host port another process holds: bound and listening on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


#: A file makes the core create, copy it in, then start: the port is found taken at the start.
CONFIG_FILE = testctr.with_file_content(b"listen 80\n", "/etc/app.conf")


@pytest.mark.parametrize("files", [(), (CONFIG_FILE,)], ids=["run", "with_file"])
@pytest.mark.parametrize("backend", ["cli", "docker-api"])
def test_a_chosen_host_port_taken_before_the_start_is_chosen_again(
    request: pytest.FixtureRequest,
    runtime: str,
    backend: str,
    files: tuple[testctr.Option, ...],
    squatter: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handed: list[int] = []

    def racy(protocol: str = "tcp") -> int:
        # The first choice is the squatter's port, as if it took it right after we chose it.
        port = squatter if not handed else free_ports.allocate_port(protocol)
        handed.append(port)
        return port

    monkeypatch.setattr(docker_family, "allocate_port", racy)  # where pin_host_ports looks it up
    c = busybox(request, runtime, testctr.with_backend(backend), testctr.with_port("80"), *files)
    assert handed[0] == squatter and len(handed) == 2
    assert c.port(80) == handed[1] != squatter and c.inspect().state.running
    if files:
        assert c.exec_simple("cat", "/etc/app.conf") == "listen 80"
    assert subprocess.run(
        [runtime, "ps", "-aq", "--filter", f"name={c.name}"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.split() == [c.id[:12]]  # the attempt on the taken port is gone


@pytest.mark.parametrize("files", [(), (CONFIG_FILE,)], ids=["run", "with_file"])
@pytest.mark.parametrize("backend", ["cli", "docker-api"])
def test_a_host_port_the_user_asked_for_that_is_taken_fails_at_once(
    request: pytest.FixtureRequest,
    runtime: str,
    backend: str,
    files: tuple[testctr.Option, ...],
    squatter: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never(protocol: str = "tcp") -> int:
        raise AssertionError("a port the user asked for is never swapped")

    monkeypatch.setattr(docker_family, "allocate_port", never)
    with pytest.raises(testctr.ContainerStartError, match=f"fix: host port {squatter} is in use by another process"):
        busybox(request, runtime, testctr.with_backend(backend), testctr.with_port(f"127.0.0.1:{squatter}:80"), *files)


def test_commit(request: pytest.FixtureRequest, runtime: str) -> None:
    c = busybox(request, runtime)
    c.exec_simple("sh", "-c", "echo committed > /marker")
    image = f"testctr.local/committed-{c.id[:12]}:1"
    c.commit(image)
    try:
        with testctr.run(image, testctr.with_runtime(runtime), testctr.with_command(*SLEEPER)) as d:
            assert d.exec_simple("cat", "/marker") == "committed"
    finally:
        subprocess.run([runtime, "rmi", "-f", image], capture_output=True, timeout=60, check=False)


def test_resource_limits_visible_in_cgroup(request: pytest.FixtureRequest, runtime: str) -> None:
    c = busybox(request, runtime, testctr.with_memory_limit("64m"), testctr.with_cpus(0.5))
    memory = c.exec_simple("cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    quota = int(c.exec_simple("cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"))
    period = int(c.exec_simple("cat", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"))
    assert int(memory) == 64 * 2**20
    assert quota / period == pytest.approx(0.5)


def test_mounts_tmpfs_platform(request: pytest.FixtureRequest, runtime: str, tmp_path: Path) -> None:
    shared = tmp_path / "a,b"  # a comma: the CLI's --mount syntax must not leak to users
    shared.mkdir()
    (shared / "host.txt").write_text("on the host")
    c = busybox(
        request,
        runtime,
        testctr.with_bind_mount(shared, "/mnt/host", read_only=True),
        testctr.with_tmpfs("/scratch"),
        testctr.with_platform("linux/amd64"),
    )
    assert c.exec_simple("cat", "/mnt/host/host.txt") == "on the host"
    assert c.exec(["touch", "/mnt/host/x"]).exit_code != 0  # read-only
    assert "tmpfs" in c.exec_simple("sh", "-c", "grep ' /scratch ' /proc/mounts")
    assert c.exec_simple("uname", "-m") == "x86_64"


def _effective_caps(c: testctr.Container) -> int:
    line = next(x for x in c.exec_simple("cat", "/proc/self/status").splitlines() if x.startswith("CapEff:"))
    return int(line.split()[1], 16)


def test_privileged(request: pytest.FixtureRequest, runtime: str) -> None:
    plain = busybox(request, runtime)
    try:
        privileged = busybox(request, runtime, testctr.with_privileged())
    except testctr.ContainerStartError as e:
        if "apply caps: operation not permitted" in str(e):
            pytest.xfail(f"this machine's sandbox forbids privileged {runtime} containers: {e}")
        raise
    assert _effective_caps(privileged) > _effective_caps(plain)


def test_network(request: pytest.FixtureRequest, runtime: str) -> None:
    network = f"testctr-net-{request.node.nodeid.__hash__() & 0xFFFFFF:x}-{runtime}"
    subprocess.run([runtime, "network", "create", network], capture_output=True, timeout=60, check=True)
    request.addfinalizer(
        lambda: subprocess.run([runtime, "network", "rm", network], capture_output=True, timeout=60, check=False)
    )
    server = busybox(
        request,
        runtime,
        testctr.with_network(network),
        testctr.with_command("sh", "-c", "echo over-the-network > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"),
        testctr.with_wait_for_exec(["sh", "-c", f"{HTTP_GET} 127.0.0.1 8080 | grep -q 200"]),
    )
    client = busybox(request, runtime, testctr.with_network(network))
    ip = server.internal_ip()
    assert ip in server.exec_simple("ip", "-4", "addr")
    fetched = client.exec(["sh", "-c", f"{HTTP_GET} {ip} 8080"])
    assert fetched.stdout.splitlines()[-1] == "over-the-network", fetched


def test_engine_unavailable_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    fix = r"fix: the socket /nonexistent/docker.sock \(DOCKER_HOST\) does not exist"
    with pytest.raises(testctr.EngineUnavailable, match=fix):
        with testctr.run("busybox", testctr.with_runtime("docker")):
            pass


def test_unknown_runtime() -> None:
    with pytest.raises(testctr.EngineUnavailable, match="not on PATH"):
        with testctr.run("busybox", testctr.with_runtime("no-such-runtime")):
            pass


@pytest.mark.parametrize(
    "wait",
    [testctr.with_wait_for_port("8080"), testctr.with_wait_for_exec(["test", "-f", "/never"])],
    ids=["port", "exec"],
)
def test_crash_during_poll_wait_is_a_start_error(runtime: str, wait: testctr.Option) -> None:
    with pytest.raises(testctr.ContainerStartError) as info:
        with testctr.run(
            "busybox",
            testctr.with_runtime(runtime),
            testctr.with_command("sh", "-c", "echo about to crash; sleep 0.3; exit 5"),
            testctr.with_port("8080"),
            wait,
        ):
            pass
    assert info.value.exit_code == 5 and "about to crash" in str(info.value)


def test_failed_network_attach_leaks_nothing(runtime: str) -> None:
    label = f"leakcheck={os.urandom(4).hex()}"
    with pytest.raises(testctr.ContainerStartError):
        with testctr.run(
            "busybox",
            testctr.with_runtime(runtime),
            testctr.with_command(*SLEEPER),
            testctr.with_label(*label.split("=")),
            testctr.with_network("bridge" if runtime == "docker" else "podman"),
            testctr.with_network("testctr-no-such-network"),
        ):
            pass
    left = subprocess.run(
        [runtime, "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert left.strip() == ""
