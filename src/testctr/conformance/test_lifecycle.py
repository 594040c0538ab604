"""Clause lifecycle: create/start/stop/start again/remove, states, exit codes, unknown ids."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

import testctr
from testctr.backend.protocols import Backend, FileCopier
from testctr.conformance._support import BUSYBOX, SLEEPER, RawContainers, check_exit_code, unknown_id

pytestmark = [pytest.mark.clause("lifecycle"), pytest.mark.engine]


def test_create_start_stop_start_again_remove(
    request: pytest.FixtureRequest, backend: Backend, raw: RawContainers
) -> None:
    cid = raw.create(BUSYBOX, command=SLEEPER)
    created = backend.inspect_container(cid)
    assert not created.state.running, "a created container must not run before start"
    assert created.state.status

    backend.start_container(cid)
    assert raw.wait_running(cid).status
    backend.wait_for_log(cid, re.compile("^ready$"), 60)

    backend.stop_container(cid, timeout=10)
    stopped = backend.inspect_container(cid).state
    # PID 1 traps SIGTERM and exits 0.
    check_exit_code(request, stopped.exit_code, 0, stopped.running)

    backend.start_container(cid)
    raw.wait_running(cid)
    backend.wait_for_log(cid, re.compile("^ready$"), 60, occurrences=2)

    backend.remove_container(cid)
    with pytest.raises(testctr.ContainerNotFound):
        backend.inspect_container(cid)


@pytest.mark.parametrize("code", [0, 3, 42])
def test_exit_code_of_a_finished_container(
    request: pytest.FixtureRequest, backend: Backend, raw: RawContainers, code: int
) -> None:
    cid = raw.create(BUSYBOX, command=["sh", "-c", f"echo exiting-with-{code}; exit {code}"])
    backend.start_container(cid)
    state = raw.wait_exited(cid)
    check_exit_code(request, state.exit_code, code, state.running)
    assert f"exiting-with-{code}" in backend.get_container_logs(cid)


def test_remove_of_a_running_container(backend: Backend, raw: RawContainers) -> None:
    cid = raw.create(BUSYBOX, command=SLEEPER)
    backend.start_container(cid)
    raw.wait_running(cid)
    backend.remove_container(cid)
    with pytest.raises(testctr.ContainerNotFound):
        backend.inspect_container(cid)


def test_container_api_stop_start_restart_terminate(request: pytest.FixtureRequest) -> None:
    c = testctr.new(request, BUSYBOX, testctr.with_command(*SLEEPER), testctr.with_wait_for_log("ready"))
    assert c.inspect().state.running
    c.stop()
    assert not c.inspect().state.running
    c.start()
    assert c.exec_simple("echo", "alive-again") == "alive-again"
    c.restart()
    assert c.inspect().state.running
    c.terminate()
    with pytest.raises(testctr.ContainerNotFound):
        c.backend.inspect_container(c.id)


def test_exit_during_startup_raises_with_exit_code_and_logs(request: pytest.FixtureRequest) -> None:
    with pytest.raises(testctr.ContainerStartError) as info:
        testctr.new(
            request,
            BUSYBOX,
            testctr.with_command("sh", "-c", "echo boom-before-exit; exit 7"),
            testctr.with_wait_for_log("never printed", timeout=60),
        )
    # The error was raised because the container stopped: its exit code, unless unknown.
    check_exit_code(request, info.value.exit_code, 7, running=False)
    assert "boom-before-exit" in info.value.logs


def test_default_wait_never_returns_a_container_that_exited(request: pytest.FixtureRequest) -> None:
    # A server refusing its configuration: it starts, then exits at once.
    with pytest.raises(testctr.ContainerStartError) as info:
        testctr.new(request, BUSYBOX, testctr.with_command("sh", "-c", "echo refusing-config; exit 1"))
    check_exit_code(request, info.value.exit_code, 1, running=False)
    assert "refusing-config" in info.value.logs


def test_port_of_a_stopped_container_is_an_error(request: pytest.FixtureRequest) -> None:
    c = testctr.new(request, BUSYBOX, testctr.with_command(*SLEEPER), testctr.with_port("8080"))
    assert c.port("8080") > 0
    c.backend.stop_container(c.id, 1)  # behind the Container's back: its cached ports are stale
    with pytest.raises(testctr.ContainerNotRunning):
        c.port("8080")


def _operations(backend: Backend) -> dict[str, Callable[[str], object]]:
    ops: dict[str, Callable[[str], object]] = {
        "start": backend.start_container,
        "stop": lambda cid: backend.stop_container(cid, 1),
        "remove": backend.remove_container,
        "inspect": backend.inspect_container,
        "exec": lambda cid: backend.exec_in_container(cid, ["true"]),
        "logs": backend.get_container_logs,
        "internal_ip": backend.internal_ip,
        "commit": lambda cid: backend.commit(cid, "localhost/testctr-conformance-never:latest"),
        "wait_for_log": lambda cid: backend.wait_for_log(cid, re.compile("x"), 5),
    }
    if isinstance(backend, FileCopier):
        ops["copy_to"] = lambda cid: backend.copy_to_container(cid, "/tmp/x", b"x")
        ops["copy_from"] = lambda cid: backend.copy_from_container(cid, "/etc/hostname")
    return ops


@pytest.mark.parametrize(
    "operation",
    [
        "start",
        "stop",
        "remove",
        "inspect",
        "exec",
        "logs",
        "internal_ip",
        "commit",
        "wait_for_log",
        "copy_to",
        "copy_from",
    ],
)
def test_unknown_id_raises_container_not_found(backend: Backend, operation: str) -> None:
    ops = _operations(backend)
    if operation not in ops:
        # An optional capability the backend does not claim: nothing to call.
        assert operation.startswith("copy_") and not isinstance(backend, FileCopier)
        return
    with pytest.raises(testctr.ContainerNotFound):
        ops[operation](unknown_id())
