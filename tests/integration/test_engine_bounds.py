"""Bounded engine calls, liveness of handed-out containers, and where engine CLIs run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import testctr
from testctr.conformance._support import SLEEPER

pytestmark = pytest.mark.engine

#: The startup timeout given to a start against a hung engine.
STARTUP = 3.0


@pytest.fixture
def hung_engine() -> Iterator[str]:
    """``tcp://127.0.0.1:PORT`` of a server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # closed at the end of the test
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for conn in accepted:
        conn.close()


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TESTCTR_", "DOCKER_", "CONTAINER_HOST"))}
    return {**env, "TESTCTR_REAPER": "0", **extra}


START_AGAINST_HUNG_ENGINE = """
import sys, time, testctr
began = time.monotonic()
try:
    with testctr.run("busybox", testctr.with_backend(sys.argv[1]), testctr.with_startup_timeout({startup})):
        pass
except testctr.EngineUnavailable as e:
    print(f"{{time.monotonic() - began:.2f}}")
    print(e)
"""


@pytest.mark.parametrize("backend", ["cli", "docker-api"])
def test_a_hung_engine_is_unavailable_within_the_startup_timeout(hung_engine: str, backend: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", START_AGAINST_HUNG_ENGINE.format(startup=STARTUP), backend],
        env=_clean_env(DOCKER_HOST=hung_engine, TESTCTR_RUNTIME="docker"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    took, _, message = result.stdout.partition("\n")
    assert took, result.stdout + result.stderr
    assert float(took) <= STARTUP + 1.0, message
    assert f"the engine at {hung_engine} accepted the connection but did not answer within" in message


def test_doctor_probes_a_hung_engine_within_its_bound(hung_engine: str) -> None:
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "testctr", "doctor"],
        env=_clean_env(DOCKER_HOST=hung_engine),
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - began
    assert result.returncode == 1, result.stdout
    assert "accepted the connection but did not answer within" in result.stdout
    # Every probe runs at once, each bounded by 5 s; the rest is start-up.
    assert took < 15, result.stdout


def _kill(runtime: str, container_id: str) -> None:
    subprocess.run([runtime, "kill", container_id], capture_output=True, timeout=60, check=True)


def _remove(runtime: str, container_id: str) -> None:
    subprocess.run([runtime, "rm", "-f", container_id], capture_output=True, timeout=60, check=True)


@pytest.mark.parametrize("outside", [_kill, _remove], ids=["kill", "rm-f"])
def test_port_of_a_container_stopped_from_outside_raises(
    request: pytest.FixtureRequest, runtime: str, outside: object
) -> None:
    c = testctr.new(
        request,
        "busybox",
        testctr.with_runtime(runtime),
        testctr.with_command(*SLEEPER),
        testctr.with_port("8080"),
    )
    assert c.port("8080") > 0
    assert callable(outside)
    outside(runtime, c.id)
    with pytest.raises(testctr.ContainerNotRunning):
        c.port("8080")
    with pytest.raises(testctr.ContainerNotRunning):
        c.endpoint("8080")


def test_port_costs_no_engine_call_while_the_container_runs(request: pytest.FixtureRequest, runtime: str) -> None:
    c = testctr.new(
        request,
        "busybox",
        testctr.with_runtime(runtime),
        testctr.with_command(*SLEEPER),
        testctr.with_port("8080"),
    )
    c.port("8080")
    began = time.perf_counter()
    for _ in range(1000):
        c.port("8080")
    # An engine round trip takes milliseconds; 1,000 of them would take seconds.
    assert time.perf_counter() - began < 1.0


def test_engine_clis_write_nothing_into_the_test_s_directory(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Podman's conmon writes a file named `oom` into its working directory when
    # the container is OOM-killed.
    monkeypatch.chdir(tmp_path)
    c = testctr.new(
        request,
        "busybox",
        testctr.with_runtime("podman"),
        testctr.with_memory_limit("16m"),
        testctr.with_command("sh", "-c", "sleep 0.5; x=a; while true; do x=$x$x; done"),
    )
    deadline = time.monotonic() + 60
    while c.inspect().state.running and time.monotonic() < deadline:
        time.sleep(0.1)
    state = c.inspect().state
    assert not state.running and state.exit_code == 137
    c.terminate()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("backend", ["cli", "docker-api"])
def test_the_default_wait_never_hands_out_a_container_that_exited(
    request: pytest.FixtureRequest, runtime: str, backend: str
) -> None:
    with pytest.raises(testctr.ContainerStartError) as info:
        testctr.new(
            request,
            "busybox",
            testctr.with_backend(backend),
            testctr.with_runtime(runtime),
            testctr.with_command("sh", "-c", "echo bad-config; exit 1"),
        )
    assert info.value.exit_code == 1
    assert "bad-config" in info.value.logs
