"""The in-memory backend keeps the contract the core relies on, and does what its script says."""

from __future__ import annotations

import inspect
import re
import threading
import time

import pytest

from testctr.backend import protocols
from testctr.backend.protocols import (
    Backend,
    ContainerLister,
    ContainerRunner,
    DebugCommands,
    FileCopier,
    HealthReporter,
    ImageEnsurer,
    LogStreamer,
    ResourceUpdater,
)
from testctr.backend.types import ContainerConfig, PortSpec
from testctr.backends.memory import STOPPED_EXIT_CODE, BareMemoryBackend, MemoryBackend, exec_result
from testctr.errors import (
    ContainerNotFound,
    ContainerNotRunning,
    ContainerStartError,
    EngineUnavailable,
    ExecTimeout,
    ImageNotFound,
    WaitTimeout,
)

IMAGE = "app:1"


@pytest.fixture
def backend() -> MemoryBackend:
    return MemoryBackend()


def started(backend: BareMemoryBackend, name: str = "c", **config: object) -> str:
    container_id = backend.create_container(IMAGE, ContainerConfig(name=name, **config))  # type: ignore[arg-type]
    backend.start_container(container_id)
    return container_id


def test_it_has_every_capability_the_core_uses(backend: MemoryBackend) -> None:
    for protocol in (
        Backend,
        ContainerRunner,
        FileCopier,
        LogStreamer,
        ImageEnsurer,
        ResourceUpdater,
        HealthReporter,
        ContainerLister,
        DebugCommands,
    ):
        assert isinstance(backend, protocol), protocol
    assert set(backend.debug_commands("c")) == {"logs", "shell", "remove"}
    assert backend.version() == "memory" and backend.host() == "127.0.0.1"


def test_the_bare_backend_keeps_the_contract_and_claims_no_capability() -> None:
    bare = BareMemoryBackend()
    capabilities = [
        p
        for _, p in inspect.getmembers(protocols, inspect.isclass)
        if getattr(p, "_is_runtime_protocol", False) and p is not Backend
    ]
    assert ContainerLister in capabilities and DebugCommands in capabilities
    assert isinstance(bare, Backend)
    assert [p.__name__ for p in capabilities if isinstance(bare, p)] == []
    bare.script(IMAGE, health=["starting", "healthy"])
    container_id = started(bare)
    assert bare.inspect_container(container_id).state.health == "starting"  # inspect's answer is all it has
    assert bare.names() == ["c"]
    bare.remove_container(container_id)
    assert bare.names() == []


def test_unknown_ids_are_container_not_found(backend: MemoryBackend) -> None:
    for call in (
        lambda: backend.inspect_container("nope"),
        lambda: backend.start_container("nope"),
        lambda: backend.stop_container("nope"),
        lambda: backend.remove_container("nope"),
        lambda: backend.exec_in_container("nope", ["true"]),
        lambda: backend.get_container_logs("nope"),
        lambda: backend.stream_logs("nope"),
        lambda: backend.wait_for_log("nope", re.compile("x"), 1),
    ):
        with pytest.raises(ContainerNotFound):
            call()


def test_states_ports_and_exit_codes(backend: MemoryBackend) -> None:
    cid = backend.create_container(IMAGE, ContainerConfig(name="c", ports=[PortSpec(80), PortSpec(53, "udp", 5353)]))
    info = backend.inspect_container("c")  # by name too
    assert (info.id, info.state.status, info.ports) == (cid, "created", {})
    backend.start_container(cid)
    info = backend.inspect_container(cid)
    assert info.state.running and info.internal_ip
    assert info.ports["53/udp"][0].host_port == 5353
    assert all(b.host_ip == "127.0.0.1" and b.host_port > 0 for bs in info.ports.values() for b in bs)
    backend.stop_container(cid)
    state = backend.inspect_container(cid).state
    assert (state.running, state.status, state.exit_code) == (False, "exited", STOPPED_EXIT_CODE)
    with pytest.raises(ContainerNotRunning):
        backend.exec_in_container(cid, ["true"])
    backend.remove_container("c")
    assert not backend.exists(cid)
    with pytest.raises(ContainerNotFound):
        backend.remove_container(cid)


def test_a_name_in_use_cannot_be_taken(backend: MemoryBackend) -> None:
    started(backend, "c")
    with pytest.raises(ContainerStartError, match="already in use"):
        backend.create_container(IMAGE, ContainerConfig(name="c"))


def test_exec_builtins_handlers_and_127(backend: MemoryBackend) -> None:
    cid = started(backend)
    backend.on_exec(["redis-cli"], lambda cmd: exec_result(0, "PONG\n"))
    backend.on_exec(["redis-cli", "INFO"], lambda cmd: exec_result(0, "info\n"))
    run = backend.exec_in_container
    assert run(cid, ["redis-cli", "PING"]).stdout == "PONG\n"
    assert run(cid, ["redis-cli", "INFO", "all"]).stdout == "info\n"  # the longest prefix wins
    assert [run(cid, [c]).exit_code for c in ("true", "false")] == [0, 1]
    assert run(cid, ["echo", "a", "b"]).output == "a b\n"
    missing = run(cid, ["psql"])
    assert missing.exit_code == 127 and not missing.ok


def test_a_slow_exec_times_out_at_its_timeout(backend: MemoryBackend) -> None:
    cid = started(backend)
    backend.slow("exec_in_container", 10)
    t0 = time.monotonic()
    with pytest.raises(ExecTimeout):
        backend.exec_in_container(cid, ["true"], timeout=0.05)
    assert time.monotonic() - t0 < 5


def test_scripted_logs_exit_and_health(backend: MemoryBackend) -> None:
    backend.script(
        IMAGE,
        logs=[(0, "one"), (0.05, "two"), (10, "never")],
        exit_code=4,
        exit_after=0.1,
        health=["starting", "healthy"],
    )
    cid = started(backend)
    assert backend.get_container_logs(cid) == "one\n"
    assert [backend.health_status(cid) for _ in range(3)] == ["starting", "healthy", "healthy"]
    assert list(backend.stream_logs(cid)) == ["one", "two"]  # ends when the container exits
    state = backend.inspect_container(cid).state
    assert (state.running, state.exit_code) == (False, 4)
    assert backend.get_container_logs(cid) == "one\ntwo\n"


def test_no_healthcheck_is_none(backend: MemoryBackend) -> None:
    assert backend.health_status(started(backend)) is None


def test_emit_and_exit_drive_a_running_container(backend: MemoryBackend) -> None:
    cid = started(backend)
    stream = backend.stream_logs(cid)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(stream))
    reader.start()
    backend.emit(cid, "hello")
    backend.wait_for_log(cid, re.compile("hel+o"), 5)
    backend.exit(cid, 3)
    reader.join(5)
    assert seen == ["hello"]
    assert backend.inspect_container(cid).state.exit_code == 3
    with pytest.raises(ContainerStartError, match="exit code 3"):
        backend.wait_for_log(cid, re.compile("ready"), 5)


def test_a_closed_stream_ends(backend: MemoryBackend) -> None:
    stream = backend.stream_logs(started(backend))
    stream.close()
    assert list(stream) == []


def test_wait_for_log_times_out(backend: MemoryBackend) -> None:
    cid = started(backend)
    backend.emit(cid, "ready")
    with pytest.raises(WaitTimeout):
        backend.wait_for_log(cid, re.compile("ready"), 0.05, occurrences=2)


def test_failures_before_and_after_the_work(backend: MemoryBackend) -> None:
    backend.fail("create_container", EngineUnavailable("down"))
    with pytest.raises(EngineUnavailable):
        backend.create_container(IMAGE, ContainerConfig(name="a"))
    assert not backend.exists("a")
    backend.fail("create_container", EngineUnavailable("reset"), after=True)
    with pytest.raises(EngineUnavailable):
        backend.create_container(IMAGE, ContainerConfig(name="a"))
    assert backend.exists("a")
    backend.create_container(IMAGE, ContainerConfig(name="b"))  # one failure was asked for each time
    backend.fail("version", EngineUnavailable("down"), times=2)
    for _ in range(2):
        with pytest.raises(EngineUnavailable):
            backend.version()
    assert backend.version() == "memory"
    with pytest.raises(ValueError, match="no method"):
        backend.fail("strat_container", RuntimeError())


def test_images_commit_and_resources(backend: MemoryBackend) -> None:
    backend.missing_image("ghost:1")
    with pytest.raises(ImageNotFound):
        backend.create_container("ghost:1", ContainerConfig(name="g"))
    backend.script(IMAGE, health=["healthy"])
    cid = started(backend)
    backend.commit(cid, "snap:1")
    assert {"snap:1", IMAGE} <= backend.images
    snap = backend.create_container("snap:1", ContainerConfig(name="s"))
    backend.start_container(snap)
    assert backend.health_status(snap) == "healthy"  # the committed image behaves as its source
    backend.update_resources(cid, memory_bytes=1 << 20)
    backend.update_resources(cid, cpus=1.5)
    assert backend.resources(cid) == (1 << 20, 1.5)


def test_run_container_and_labels(backend: MemoryBackend) -> None:
    cid = backend.run_container(IMAGE, ContainerConfig(name="r", labels={"testctr": "true"}))
    backend.create_container(IMAGE, ContainerConfig(name="other"))
    assert backend.inspect_container(cid).state.running
    assert [c.id for c in backend.list_containers("testctr")] == [cid]
    backend.copy_to_container(cid, "/f", b"data", 0o644)
    assert backend.copy_from_container(cid, "/f") == b"data" and backend.file_mode(cid, "/f") == 0o644


def test_the_command_follows_the_cmd_entrypoint_args_rule(backend: MemoryBackend) -> None:
    backend.script(IMAGE, cmd=["redis-server"])

    def command(**config: object) -> list[str]:
        return backend.command(started(backend, f"c{len(backend.calls)}", **config))

    assert command() == ["redis-server"]
    assert command(args=["--port", "7000"]) == ["redis-server", "--port", "7000"]
    assert command(command=["redis-sentinel"], args=["-v"]) == ["redis-sentinel", "-v"]
    assert command(entrypoint=["sh"], args=["-c", "true"]) == ["-c", "true"]
    assert command(entrypoint=["sh"]) == []  # an entrypoint drops the image's CMD


def test_a_restart_keeps_the_log_written_so_far(backend: MemoryBackend) -> None:
    backend.script(IMAGE, logs=[(0, "up"), (10, "much later")])
    cid = started(backend)
    backend.stop_container(cid)
    backend.start_container(cid)
    assert backend.get_container_logs(cid) == "up\nup\n"
    assert backend.inspect_container(cid).state.running
