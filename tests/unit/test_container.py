"""The core's container lifecycle on the in-memory backend: start, failures, cleanup, accessors."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import testctr
from testctr import settings
from testctr.backend.protocols import Backend
from testctr.backend.types import ContainerConfig, ContainerInfo
from testctr.backends.memory import BareMemoryBackend, MemoryBackend, exec_result
from testctr.container import Container
from testctr.errors import (
    PORT_ATTEMPTS,
    ContainerNotRunning,
    ContainerStartError,
    EngineUnavailable,
    ExecError,
    HostPortTaken,
    InvalidOption,
    PortNotPublished,
    TestctrError,
    UnsupportedOption,
    WaitTimeout,
)
from testctr.owners import ScriptOwner

UseBackend = Callable[[Backend], None]

IMAGE = "app:1"
TEST_ID = "tests/unit/test_container.py::test_x"


@pytest.fixture
def owner() -> ScriptOwner:
    return ScriptOwner(TEST_ID)


def removals(backend: MemoryBackend) -> list[str]:
    return [ref for method, ref in backend.calls if method == "remove_container"]


def with_files() -> testctr.Option:
    """Files make the core create, copy, then start (no one-call run)."""
    return testctr.with_file_content(b"x", "/etc/app.conf")


# --- starting ---------------------------------------------------------------------------------


def test_a_started_container_runs_labelled_and_is_removed_by_its_owner(
    memory: MemoryBackend, owner: ScriptOwner
) -> None:
    c = testctr.new(owner, IMAGE, testctr.with_label("team", "core"))
    info = c.inspect()
    assert info.state.running
    assert c.name.startswith("testctr-test_x-")
    assert info.labels["team"] == "core"
    assert info.labels["testctr.test"] == TEST_ID
    assert info.labels["testctr.image"] == IMAGE
    assert c.runtime == "memory" and "memory" in repr(c)
    assert [m for m, _ in memory.calls][:1] == ["run_container"]  # one engine call without files
    owner.close()
    assert not memory.exists(c.id)


def test_backend_name_is_the_backend_used_and_the_requested_one_is_kept(
    memory: MemoryBackend, owner: ScriptOwner
) -> None:
    from testctr.backends import default_registry

    used = settings.current().backend
    assert used is not None
    default_registry.register_chooser("chooser-of-unit", lambda runtime: (used, default_registry.get(used)))
    try:
        c = testctr.new(owner, IMAGE, testctr.with_backend("chooser-of-unit"))
    finally:
        default_registry.unregister("chooser-of-unit")
    assert (c.backend_name, c.requested_backend) == (used, "chooser-of-unit")
    plain = testctr.new(owner, IMAGE)
    assert (plain.backend_name, plain.requested_backend) == (used, used)


def test_files_are_copied_before_the_start(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE, testctr.with_file_content(b"port 1\n", "/etc/app.conf", mode=0o600))
    methods = [m for m, _ in memory.calls]
    assert methods.index("copy_to_container") < methods.index("start_container")
    assert c.copy_from("/etc/app.conf") == b"port 1\n"
    assert memory.file_mode(c.id, "/etc/app.conf") == 0o600


@pytest.mark.parametrize("image", ["", "  ", "a b", 3])
def test_a_bad_image_name_fails_before_anything_is_created(
    memory: MemoryBackend, owner: ScriptOwner, image: object
) -> None:
    with pytest.raises(InvalidOption, match="image must be"):
        testctr.new(owner, image, testctr.with_port(80))  # type: ignore[arg-type]
    assert memory.calls == []


def test_a_wait_on_an_unpublished_port_fails_before_anything_is_created(
    memory: MemoryBackend, owner: ScriptOwner
) -> None:
    with pytest.raises(InvalidOption, match="port 80/tcp is not published"):
        testctr.new(owner, IMAGE, testctr.with_wait_for_port(80))
    assert memory.calls == []


def test_the_image_map_applies(memory: MemoryBackend, owner: ScriptOwner) -> None:
    settings.configure(image_map={IMAGE: "mirror/app:1"})
    assert testctr.new(owner, IMAGE).image == "mirror/app:1"


def test_a_missing_image_fails_the_start(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.missing_image(IMAGE)
    with pytest.raises(testctr.ImageNotFound):
        testctr.new(owner, IMAGE)


# --- failures half way --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["create_container", "run_container"])
def test_a_create_that_failed_half_way_is_removed_by_name(
    memory: MemoryBackend, owner: ScriptOwner, method: str
) -> None:
    memory.fail(method, EngineUnavailable("connection reset"), after=True)
    opts = [with_files()] if method == "create_container" else []
    with pytest.raises(EngineUnavailable, match="connection reset"):
        testctr.new(owner, IMAGE, *opts)
    (name,) = removals(memory)
    assert name.startswith("testctr-test_x-")
    assert not memory.exists(name)


def test_a_create_that_made_nothing_raises_its_own_error(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.fail("run_container", EngineUnavailable("refused"))
    with pytest.raises(EngineUnavailable, match="refused"):  # not the ContainerNotFound of the removal
        testctr.new(owner, IMAGE)
    assert len(removals(memory)) == 1


def test_an_interrupted_create_is_removed_too(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.fail("run_container", KeyboardInterrupt(), after=True)
    with pytest.raises(KeyboardInterrupt):
        testctr.new(owner, IMAGE)
    assert len(removals(memory)) == 1 and memory.calls[-1][0] == "remove_container"


@pytest.mark.parametrize("method", ["start_container", "copy_to_container"])
def test_a_failed_start_or_copy_removes_the_container(memory: MemoryBackend, owner: ScriptOwner, method: str) -> None:
    memory.fail(method, ContainerStartError("no"))
    with pytest.raises(ContainerStartError, match="no"):
        testctr.new(owner, IMAGE, with_files())
    (ref,) = removals(memory)
    assert not memory.exists(ref)
    owner.close()
    assert len(removals(memory)) == 1  # the cleanup knows it is gone


def test_a_failed_wait_removes_the_container(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, exit_code=3, logs=[(0, "bad config")])
    with pytest.raises(ContainerStartError) as e:
        testctr.new(owner, IMAGE)
    assert e.value.exit_code == 3 and "bad config" in str(e.value)
    owner.close()  # the removal runs in the background (after the log is copied); the test's cleanup waits for it
    (ref,) = removals(memory)
    assert not memory.exists(ref)


def test_keep_failed_keeps_a_container_whose_wait_failed(
    memory: MemoryBackend, owner: ScriptOwner, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.configure(keep_failed=True)
    memory.script(IMAGE, exit_code=1)
    with pytest.raises(ContainerStartError):
        testctr.new(owner, IMAGE)
    assert removals(memory) == []
    (name,) = {c.name for c in memory.list_containers("testctr")}
    assert name in capsys.readouterr().err
    owner.close()
    assert removals(memory) == []  # kept means kept, at the cleanup too


def test_a_removal_that_fails_after_a_failed_start_is_retried_at_cleanup(
    memory: MemoryBackend, owner: ScriptOwner, capsys: pytest.CaptureFixture[str]
) -> None:
    memory.fail("start_container", ContainerStartError("start failed"))
    memory.fail("remove_container", EngineUnavailable("busy"))
    with pytest.raises(ContainerStartError, match="start failed"):  # the start's error, not the removal's
        testctr.new(owner, IMAGE, with_files())
    assert "could not remove" in capsys.readouterr().err
    (ref,) = removals(memory)
    assert memory.exists(ref)
    owner.close()
    assert not memory.exists(ref)


def test_a_wait_that_is_interrupted_removes_the_container(memory: MemoryBackend, owner: ScriptOwner) -> None:
    class Interrupted:
        timeout = None

        def describe(self) -> str:
            return "an interrupt"

        def wait(self, container: Container, deadline: float) -> None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        testctr.new(owner, IMAGE, testctr.with_wait(Interrupted()))
    assert len(removals(memory)) == 1


# --- a host port chosen for the container, taken before the engine binds it ------------------------


def port_taken(port: int = 41000) -> HostPortTaken:
    return HostPortTaken(f"memory start failed: listen tcp4 127.0.0.1:{port}: bind: address already in use", port)


def creations(memory: MemoryBackend) -> list[str]:
    return [method for method, _ in memory.calls if method in ("create_container", "run_container")]


def test_a_chosen_port_taken_at_the_start_makes_the_container_again_with_its_files(
    memory: MemoryBackend, owner: ScriptOwner
) -> None:
    memory.fail("start_container", port_taken())
    c = testctr.new(owner, IMAGE, testctr.with_port("80"), with_files())
    methods = [m for m, _ in memory.calls]
    assert methods[: methods.index("inspect_container")] == [
        "create_container", "copy_to_container", "start_container", "remove_container",
        "create_container", "copy_to_container", "start_container",
    ]  # fmt: skip
    assert c.inspect().state.running and c.copy_from("/etc/app.conf") == b"x"
    assert memory.names() == [c.name]  # the first one is gone, its name is the new one's
    owner.close()
    assert not memory.exists(c.id)


def test_a_chosen_port_taken_at_a_one_call_run_makes_it_again(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.fail("run_container", port_taken(), after=True)
    c = testctr.new(owner, IMAGE, testctr.with_port("80"))
    assert creations(memory) == ["run_container", "run_container"] and removals(memory) == [c.name]
    assert c.inspect().state.running and memory.names() == [c.name]


def test_a_port_conflict_is_never_kept_even_with_keep_failed(memory: MemoryBackend, owner: ScriptOwner) -> None:
    settings.configure(keep_failed=True)
    memory.fail("start_container", port_taken())
    c = testctr.new(owner, IMAGE, testctr.with_port("80"), with_files())
    assert len(removals(memory)) == 1 and memory.names() == [c.name]


def test_ports_taken_again_and_again_give_up_after_port_attempts(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.fail("start_container", port_taken(), times=PORT_ATTEMPTS + 1)
    with pytest.raises(ContainerStartError, match="address already in use"):
        testctr.new(owner, IMAGE, testctr.with_port("80"), with_files())
    assert creations(memory) == ["create_container"] * PORT_ATTEMPTS
    assert memory.names() == []


def test_a_taken_port_the_user_asked_for_fails_at_once_with_the_fix(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.fail("start_container", port_taken(8443))
    with pytest.raises(ContainerStartError, match="fix: host port 8443 is in use by another process") as e:
        testctr.new(owner, IMAGE, testctr.with_port("80"), testctr.with_port("127.0.0.1:8443:443"), with_files())
    assert not isinstance(e.value, HostPortTaken)
    assert creations(memory) == ["create_container"] and memory.names() == []


def test_a_port_taken_after_the_startup_deadline_is_not_tried_again(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.slow("create_container", 0.3)
    memory.fail("start_container", port_taken())
    with pytest.raises(ContainerStartError, match="address already in use"):
        testctr.new(owner, IMAGE, testctr.with_port("80"), with_files(), testctr.with_startup_timeout(0.2))
    assert creations(memory) == ["create_container"] and memory.names() == []


@pytest.mark.parametrize("files", [True, False])
def test_a_reused_containers_chosen_port_taken_makes_it_again(
    memory: MemoryBackend, owner: ScriptOwner, files: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    memory.fail("start_container" if files else "run_container", port_taken(), after=not files)
    opts = [with_files()] if files else []
    c = testctr.new(owner, IMAGE, testctr.with_reuse(), testctr.with_port("80"), *opts)
    assert len(creations(memory)) == 2 and memory.names() == [c.name] and c.inspect().state.running
    if files:
        assert c.copy_from("/etc/app.conf") == b"x"
    memory.remove_container(c.id)


# --- cleanup ---------------------------------------------------------------------------------------


def test_cleanup_removes_in_reverse_order_of_creation(memory: MemoryBackend, owner: ScriptOwner) -> None:
    first = testctr.new(owner, IMAGE)
    second = testctr.new(owner, IMAGE)
    owner.close()
    assert removals(memory) == [second.id, first.id]


def test_keep_failed_keeps_a_failed_tests_containers(
    memory: MemoryBackend, owner: ScriptOwner, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.configure(keep_failed=True)
    c = testctr.new(owner, IMAGE)
    owner.error = True
    owner.close()
    assert memory.exists(c.id)
    err = capsys.readouterr().err
    assert c.name in err and TEST_ID in err


def test_keep_failed_removes_a_passed_tests_containers(memory: MemoryBackend, owner: ScriptOwner) -> None:
    settings.configure(keep_failed=True)
    c = testctr.new(owner, IMAGE)
    owner.close()
    assert not memory.exists(c.id)


def test_terminate_is_idempotent_and_makes_the_cleanup_a_no_op(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE)
    c.terminate()
    c.terminate()
    owner.close()
    assert removals(memory) == [c.id]


def test_terminate_of_a_container_already_gone_succeeds(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE)
    memory.remove_container(c.id)
    c.terminate()
    owner.close()
    assert removals(memory) == [c.id, c.id]


def test_a_terminate_that_failed_is_tried_again_at_cleanup(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE)
    memory.fail("remove_container", EngineUnavailable("busy"))
    with pytest.raises(EngineUnavailable):
        c.terminate()
    owner.close()
    assert not memory.exists(c.id)


# --- the creation gate -------------------------------------------------------------------------------


class HeldCreations(MemoryBackend):
    """Each one-call run waits for ``release``; ``inside`` counts the runs in progress at once."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)
        self.inside = self.most_inside = 0
        self._count = threading.Lock()

    def run_container(self, image: str, config: ContainerConfig) -> str:
        with self._count:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        self.entered.release()
        self.release.wait(10)
        try:
            return super().run_container(image, config)
        finally:
            with self._count:
                self.inside -= 1


def start_in_threads(n: int) -> tuple[list[ScriptOwner], list[threading.Thread]]:
    owners = [ScriptOwner(f"t{i}") for i in range(n)]
    threads = [threading.Thread(target=testctr.new, args=(o, IMAGE)) for o in owners]
    for t in threads:
        t.start()
    return owners, threads


def finish(owners: list[ScriptOwner], threads: list[threading.Thread]) -> None:
    for t in threads:
        t.join()
    for o in owners:
        o.close()


def test_the_creation_gate_times_out_when_no_slot_frees(use_backend: UseBackend) -> None:
    backend = HeldCreations()
    use_backend(backend)
    settings.configure(max_concurrent=1)
    started = start_in_threads(1)
    assert backend.entered.acquire(timeout=10)
    with pytest.raises(WaitTimeout, match="creation slot"):
        testctr.new(ScriptOwner("second"), IMAGE, testctr.with_startup_timeout(0.05))
    backend.release.set()
    finish(*started)


def test_the_creation_gate_lets_creations_through_one_at_a_time_with_a_pause(use_backend: UseBackend) -> None:
    backend = HeldCreations()
    use_backend(backend)
    settings.configure(max_concurrent=1, create_delay=0.05)
    started = start_in_threads(3)
    assert backend.entered.acquire(timeout=10)
    time.sleep(0.2)  # the other two are at the gate by now
    released = time.monotonic()
    backend.release.set()
    finish(*started)
    assert backend.most_inside == 1
    assert time.monotonic() - released >= 0.1  # each of the two that waited paused
    assert len(removals(backend)) == 3


def test_the_creation_gate_follows_a_changed_cap(use_backend: UseBackend) -> None:
    backend = HeldCreations()
    use_backend(backend)
    settings.configure(max_concurrent=2)
    started = start_in_threads(2)
    assert backend.entered.acquire(timeout=10) and backend.entered.acquire(timeout=10)  # both at once
    backend.release.set()
    finish(*started)
    assert backend.most_inside == 2


# --- ports and endpoints --------------------------------------------------------------------------------


def test_port_comes_from_the_prefetched_inspect(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE, testctr.with_port(6379))
    inspects = sum(1 for m, _ in memory.calls if m == "inspect_container")
    port = c.port("6379/tcp")
    assert port == c.port(6379) > 0
    assert sum(1 for m, _ in memory.calls if m == "inspect_container") == inspects
    assert c.endpoint(6379) == f"127.0.0.1:{port}"


def test_port_inspects_again_when_the_prefetch_failed(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.slow("inspect_container", 0.05)
    memory.fail("inspect_container", EngineUnavailable("hiccup"))  # the prefetch's
    c = testctr.new(owner, IMAGE, testctr.with_port(80), testctr.with_wait(NoWait()))
    assert c.port(80) > 0


def test_a_port_not_published_says_how_to_publish_it(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE, testctr.with_port(80))
    with pytest.raises(PortNotPublished, match=r"port 443/tcp .* \(published: 80/tcp\); add testctr.with_port"):
        c.port(443)


def test_a_stopped_container_has_no_port(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE, testctr.with_port(80))
    c.stop()
    with pytest.raises(ContainerNotRunning, match=r"is not running \(exited, exit code 143\)"):
        c.port(80)


def test_a_restart_forgets_the_cached_ports(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE, testctr.with_port(80))
    before = c.port(80)
    c.restart(timeout=1)
    assert c.port(80) != before
    assert c.inspect().state.running


def test_a_restart_waits_for_a_new_ready_line_not_the_earlier_runs_one(
    memory: MemoryBackend, owner: ScriptOwner
) -> None:
    memory.script(IMAGE, logs=[(0.2, "ready")])
    c = testctr.new(owner, IMAGE, testctr.with_wait_for_log("ready"))
    began = time.monotonic()
    c.restart(timeout=1)
    assert time.monotonic() - began >= 0.2
    assert c.logs().count("ready") == 2


def test_start_of_a_running_container_changes_nothing(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE, testctr.with_port(80))
    before = c.port(80)
    c.start()
    assert c.port(80) == before
    assert "start_container" not in [m for m, _ in memory.calls]


def test_an_ipv6_host_is_bracketed_in_endpoints(use_backend: UseBackend, owner: ScriptOwner) -> None:
    class PerContainerHost(MemoryBackend):
        def container_host(self, container_id: str) -> str:
            return "::1"

    use_backend(PerContainerHost())
    c = testctr.new(owner, IMAGE, testctr.with_port("8080:80"))
    assert c.host() == "::1"
    assert c.endpoint(80) == "[::1]:8080"


class NoWait:
    timeout = None

    def describe(self) -> str:
        return "nothing"

    def wait(self, container: Container, deadline: float) -> None:
        pass


# --- exec, logs, state ---------------------------------------------------------------------------------


def test_exec_splits_a_string_like_a_shell(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE)
    seen: list[list[str]] = []
    memory.on_exec(["psql"], lambda cmd: seen.append(cmd) or exec_result(0, "1\n"))
    assert c.exec("psql -c 'select 1'").stdout == "1\n"
    assert seen == [["psql", "-c", "select 1"]]
    assert c.exec_simple("echo", "hi") == "hi"


def test_exec_simple_raises_on_a_non_zero_exit(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE)
    with pytest.raises(ExecError, match="exited with code 127") as e:
        c.exec_simple("redis-cli", "PING")
    assert e.value.result.exit_code == 127


@pytest.mark.parametrize(("cmd", "timeout"), [("", None), ([], None), (["ls", 3], None), (["ls"], 0), (["ls"], -1.0)])
def test_exec_rejects_bad_arguments(memory: MemoryBackend, owner: ScriptOwner, cmd: object, timeout: float) -> None:
    c = testctr.new(owner, IMAGE)
    with pytest.raises(InvalidOption):
        c.exec(cmd, timeout=timeout)  # type: ignore[arg-type]


def test_state_accessors(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, logs=[(0, "hello")], health=["healthy"])
    c = testctr.new(owner, IMAGE)
    assert c.logs() == "hello\n"
    assert c.internal_ip().startswith("10.88.")
    assert c.health() == "healthy"


def test_health_comes_from_inspect_without_a_health_reporter(bare: BareMemoryBackend, owner: ScriptOwner) -> None:
    bare.script(IMAGE, health=["starting"])
    c = testctr.new(owner, IMAGE)
    assert c.health() == "starting"


def test_commit(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE)
    c.commit("snapshot:1")
    assert "snapshot:1" in memory.images
    with pytest.raises(InvalidOption):
        c.commit("")


# --- files and resources ----------------------------------------------------------------------------------


def test_copy_to_takes_bytes_a_stream_or_a_host_file(memory: MemoryBackend, owner: ScriptOwner, tmp_path: Path) -> None:
    c = testctr.new(owner, IMAGE)
    host_file = tmp_path / "seed.sql"
    host_file.write_bytes(b"create table t;")
    host_file.chmod(0o640)
    c.copy_to(b"a", "/a")
    c.copy_to(io.BytesIO(b"b"), "/b", mode=0o755)
    c.copy_to(host_file, "/seed.sql")
    assert [c.copy_from(p) for p in ("/a", "/b", "/seed.sql")] == [b"a", b"b", b"create table t;"]
    assert memory.file_mode(c.id, "/b") == 0o755
    assert memory.file_mode(c.id, "/seed.sql") == 0o640
    with pytest.raises(TestctrError, match="does not exist"):
        c.copy_from("/nope")


def test_copy_to_needs_an_absolute_container_path(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE)
    with pytest.raises(InvalidOption, match="must be absolute"):
        c.copy_to(b"a", "relative/a")


def test_update_resources(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE)
    c.update_resources(memory="512m", cpus=2)
    assert memory.resources(c.id) == (512 * 1024 * 1024, 2.0)
    c.update_resources(cpus=0.5)
    assert memory.resources(c.id) == (512 * 1024 * 1024, 0.5)


@pytest.mark.parametrize(("mem", "cpus"), [(None, None), (None, 0), (None, True), (None, "2")])
def test_update_resources_rejects_bad_arguments(
    memory: MemoryBackend, owner: ScriptOwner, mem: str | None, cpus: object
) -> None:
    c = testctr.new(owner, IMAGE)
    with pytest.raises(InvalidOption):
        c.update_resources(mem, cpus)  # type: ignore[arg-type]


def test_a_backend_without_capabilities_says_so(bare: BareMemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE)
    assert [m for m, _ in bare.calls][:2] == ["create_container", "start_container"]  # no one-call run
    for action in (lambda: c.copy_to(b"x", "/x"), lambda: c.copy_from("/x"), lambda: c.update_resources(cpus=1)):
        with pytest.raises(UnsupportedOption):
            action()
    with pytest.raises(UnsupportedOption, match="with_logs"):
        testctr.new(owner, IMAGE, testctr.with_logs())
    with pytest.raises(UnsupportedOption, match="with_file"):
        testctr.new(owner, IMAGE, with_files())
    with pytest.raises(UnsupportedOption, match="with_runtime"):
        testctr.new(owner, IMAGE, testctr.with_runtime("podman"))
    settings.configure(runtime="podman")  # a run-wide runtime only applies to backends that can switch
    testctr.new(owner, IMAGE)
    owner.close()


def test_a_runtime_option_switches_a_backend_that_can(use_backend: UseBackend, owner: ScriptOwner) -> None:
    class Switchable(MemoryBackend):
        def for_runtime(self, runtime: str) -> MemoryBackend:
            other = MemoryBackend()
            other.runtime = runtime  # type: ignore[misc]
            return other

    use_backend(Switchable())
    assert testctr.new(owner, IMAGE, testctr.with_runtime("podman")).runtime == "podman"


def test_a_named_backend_option_wins_over_the_settings(use_backend: UseBackend, owner: ScriptOwner) -> None:
    named = MemoryBackend()
    use_backend(named)
    use_backend(MemoryBackend())  # the settings now name this one
    testctr.new(owner, IMAGE, testctr.with_backend("unit-0"))
    assert named.calls


# --- logs to the test output -------------------------------------------------------------------------------


def stderr_until(capsys: pytest.CaptureFixture[str], text: str) -> str:
    """What was written to stderr, once it contains ``text`` (the log printer is a thread)."""
    err = ""
    deadline = time.monotonic() + 10
    while text not in err and time.monotonic() < deadline:
        time.sleep(0.01)
        err += capsys.readouterr().err
    return err


def test_with_logs_streams_filtered_lines_until_terminate(
    memory: MemoryBackend, owner: ScriptOwner, capsys: pytest.CaptureFixture[str]
) -> None:
    memory.script(IMAGE, logs=[(0, "keep 1"), (0, "drop"), (0.02, "keep 2"), (0.6, "keep 3 after terminate")])
    c = testctr.new(owner, IMAGE, testctr.with_logs(), testctr.with_log_filter(lambda line: line.startswith("keep")))
    err = stderr_until(capsys, "keep 2")
    c.terminate()
    time.sleep(0.7)  # past the late line: a printer still running would have shown it
    err += capsys.readouterr().err
    assert f"[{c.name}] keep 1\n[{c.name}] keep 2\n" in err
    assert "drop" not in err and "after terminate" not in err


def test_verbose_streams_every_container(memory: MemoryBackend, capsys: pytest.CaptureFixture[str]) -> None:
    settings.configure(verbose=True)
    memory.script(IMAGE, logs=[(0, "started")])
    with testctr.run(IMAGE) as c:
        assert f"[{c.name}] started" in stderr_until(capsys, "started")


def test_keep_failed_stops_streaming(
    memory: MemoryBackend, owner: ScriptOwner, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.configure(keep_failed=True)
    memory.script(IMAGE, logs=[(0.3, "late")])
    c = testctr.new(owner, IMAGE, testctr.with_logs())
    owner.error = True
    owner.close()
    time.sleep(0.35)  # past the late line
    assert "late" not in capsys.readouterr().err
    assert memory.exists(c.id)


def test_startup_delay_comes_before_the_waits(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, logs=[(0.05, "late line")])
    c = testctr.new(owner, IMAGE, testctr.with_startup_delay(0.1))
    assert "late line" in c.logs()


# --- scripts ------------------------------------------------------------------------------------------------------


def test_run_removes_the_container_when_the_block_ends(memory: MemoryBackend) -> None:
    with testctr.run(IMAGE) as c:
        assert c.inspect().state.running
    assert not memory.exists(c.id)


def test_run_keeps_the_container_of_a_failed_block_with_keep_failed(memory: MemoryBackend) -> None:
    settings.configure(keep_failed=True)
    with pytest.raises(RuntimeError), testctr.run(IMAGE):
        raise RuntimeError("the script failed")
    assert len(memory.list_containers("testctr")) == 1


# --- per-test databases ----------------------------------------------------------------------------------------------


class FakeProvider:
    max_name_length = 30

    def __init__(self) -> None:
        self.created: list[str] = []
        self.dropped: list[str] = []

    def create_database(self, container: Container, name: str) -> str:
        self.created.append(name)
        return f"handle-{name}"

    def drop_database(self, container: Container, handle: str) -> None:
        self.dropped.append(handle)

    def format_dsn(self, container: Container, handle: str, driver: str | None = None) -> str:
        return f"{driver or 'fake'}://{container.endpoint(5432)}/{handle}"


def test_dsn_creates_one_database_per_test_and_drops_it_at_its_end(memory: MemoryBackend, owner: ScriptOwner) -> None:
    settings.configure(db_pool=False)  # the pool's behaviour: test_dbpool.py
    provider = FakeProvider()
    server = testctr.new(ScriptOwner("server"), IMAGE, testctr.with_port(5432), testctr.with_dsn_provider(provider))
    dsn = server.dsn(owner)
    assert dsn == server.dsn(owner)
    assert server.dsn(owner, driver="psycopg").startswith("psycopg://127.0.0.1:")
    (name,) = provider.created
    assert len(name) <= 30 and name.startswith("t_")
    owner.close()
    assert provider.dropped == [f"handle-{name}"]
    other = ScriptOwner("another test")
    server.dsn(other)
    assert len(provider.created) == 2
    server.terminate()
    other.close()
    assert len(provider.dropped) == 1  # its server is gone: nothing to drop


def test_keep_failed_keeps_a_failed_tests_database(
    memory: MemoryBackend, owner: ScriptOwner, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.configure(keep_failed=True)
    provider = FakeProvider()
    server_owner = ScriptOwner(TEST_ID)
    server = testctr.new(server_owner, IMAGE, testctr.with_port(5432), testctr.with_dsn_provider(provider))
    server.dsn(server_owner)
    server_owner.error = True
    server_owner.close()
    assert provider.dropped == []
    assert f"handle-{provider.created[0]}" in capsys.readouterr().err


def test_dsn_needs_a_provider(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE)
    with pytest.raises(TestctrError, match="no DSN provider"):
        c.dsn(owner)


# --- liveness of port() and the start's deadline ------------------------------------------------


def test_port_answers_from_the_cache_while_the_engine_holds_the_port(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE, testctr.with_port(80))
    port = c.port(80)
    before = len(memory.calls)
    for _ in range(1000):
        assert c.port(80) == port
    assert memory.calls[before:] == []


def test_endpoints_ask_the_backend_for_its_host_once(
    memory: MemoryBackend, owner: ScriptOwner, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(memory, "host", lambda: asked.append("host") or "127.0.0.1")
    c = testctr.new(owner, IMAGE, testctr.with_port(80))
    endpoint = c.endpoint(80)
    asked.clear()
    assert [c.endpoint(80) for _ in range(100)] == [endpoint] * 100
    assert asked == []


def test_port_of_a_container_that_exited_says_so_with_its_exit_code(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE, testctr.with_port(80))
    c.port(80)
    memory.exit(c.id, 3)
    with pytest.raises(ContainerNotRunning, match=r"\(exited, exit code 3\)"):
        c.port(80)
    with pytest.raises(ContainerNotRunning):
        c.endpoint(80)


def test_port_of_a_container_removed_from_outside_says_it_is_gone(memory: MemoryBackend, owner: ScriptOwner) -> None:
    c = testctr.new(owner, IMAGE, testctr.with_port(80))
    c.port(80)
    memory.remove_container(c.id)
    with pytest.raises(ContainerNotRunning, match="is gone"):
        c.port(80)


def test_port_checks_again_after_a_while_when_the_host_port_cannot_be_checked(
    memory: MemoryBackend, owner: ScriptOwner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A remote engine: its host ports are not this machine's to probe.
    monkeypatch.setattr(memory, "host", lambda: "docker.example")
    c = testctr.new(owner, IMAGE, testctr.with_port(80))
    c.port(80)
    memory.exit(c.id, 1)
    with pytest.raises(ContainerNotRunning):
        c.port(80)


class _DeadlineRecorder(MemoryBackend):
    """Records the bound an engine call would get, by method."""

    def __init__(self) -> None:
        super().__init__()
        self.bounds: dict[str, float] = {}

    def _record(self, method: str) -> None:
        from testctr.backend.deadline import bound

        self.bounds.setdefault(method, bound(1000.0))

    def run_container(self, image: str, config: ContainerConfig) -> str:
        self._record("run_container")
        return super().run_container(image, config)

    def remove_container(self, container_id: str) -> None:
        self._record("remove_container")
        super().remove_container(container_id)

    def inspect_container(self, container_id: str) -> ContainerInfo:
        self._record("inspect_container")
        return super().inspect_container(container_id)


def test_every_engine_call_of_a_start_is_bounded_by_its_timeout(use_backend: UseBackend, owner: ScriptOwner) -> None:
    recorder = _DeadlineRecorder()
    use_backend(recorder)
    recorder.fail("run_container", ContainerStartError("refused"), after=True)
    with pytest.raises(ContainerStartError):
        testctr.new(owner, IMAGE, testctr.with_startup_timeout(7))
    # The create-and-start, and the removal after it failed, share the 7 s.
    assert 0 < recorder.bounds["run_container"] <= 7
    assert 0 < recorder.bounds["remove_container"] <= 7


def test_the_inspect_prefetch_runs_under_the_start_s_deadline(use_backend: UseBackend, owner: ScriptOwner) -> None:
    recorder = _DeadlineRecorder()
    use_backend(recorder)
    c = testctr.new(owner, IMAGE, testctr.with_startup_timeout(7), testctr.with_port(80))
    c.port(80)
    assert 0 < recorder.bounds["inspect_container"] <= 7
    c.inspect()  # after the start: its own bound again
    recorder.bounds.clear()
    c.inspect()
    assert recorder.bounds["inspect_container"] == 1000.0


def test_a_restart_s_engine_calls_are_bounded_by_the_startup_timeout(
    use_backend: UseBackend, owner: ScriptOwner
) -> None:
    recorder = _DeadlineRecorder()
    use_backend(recorder)
    c = testctr.new(owner, IMAGE, testctr.with_startup_timeout(7), testctr.with_port(80))
    c.port(80)
    c.stop()
    recorder.bounds.clear()
    c.start()  # its inspect, the start and the waits share one startup timeout, as at the creation
    assert 0 < recorder.bounds["inspect_container"] <= 7
    recorder.bounds.clear()
    c.inspect()  # after the start: its own bound again
    assert recorder.bounds["inspect_container"] == 1000.0


def test_the_watchdog_is_started_before_the_backend_is_chosen_and_only_for_watched_containers(
    memory: MemoryBackend, owner: ScriptOwner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from testctr import container as core

    order: list[str] = []
    resolve = core.resolve
    monkeypatch.setattr(core, "prepare_reaper", lambda: order.append("watchdog"))
    monkeypatch.setattr(core, "resolve", lambda *a: order.append("backend") or resolve(*a))
    testctr.new(owner, "app:1")
    assert order == ["watchdog", "backend"]  # its boot runs beside this process's choosing, not the engine's create
    order.clear()
    testctr.new(owner, "app:1", testctr.with_reuse())
    assert order == ["backend"]  # a reused container is never watched: no watchdog for it
