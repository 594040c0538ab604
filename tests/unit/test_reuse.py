"""with_reuse / with_shared on the in-memory backend: the config hash, attaching, racing, replacing."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import testctr
from testctr import housekeeping, last_use, reuse, settings
from testctr.backend.types import ContainerConfig, FileEntry, Mount, NetworkAttachment, PortSpec
from testctr.backends.memory import MemoryBackend
from testctr.errors import ContainerNotFound, ContainerStartError, ImageNotFound
from testctr.owners import ScriptOwner
from testctr.reuse import config_hash, reused_name, shared_name, shared_run

IMAGE = "app:1"
ENGINE = ("cli", "docker", "127.0.0.1")


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # The expiry runs once per process; each test gets its own.
    monkeypatch.setattr(housekeeping, "_checked", set())


def start(*options: testctr.Option) -> tuple[testctr.Container, ScriptOwner]:
    owner = ScriptOwner("tests/unit/test_reuse.py::test_x")
    return testctr.new(owner, IMAGE, *options), owner


# --- the config hash -----------------------------------------------------------------------


def full_config() -> ContainerConfig:
    return ContainerConfig(
        name="testctr-x-1",
        env={"A": "1"},
        ports=[PortSpec(5432)],
        command=["serve"],
        args=["-v"],
        entrypoint=["/entry"],
        labels={"testctr.test": "t1"},
        files=[FileEntry("/etc/app.conf", b"x=1", 0o644)],
        mounts=[Mount("/host", "/data")],
        tmpfs=["/tmp"],
        networks=[NetworkAttachment("net1", ("db",))],
        user="app",
        workdir="/srv",
        memory_bytes=1 << 30,
        cpus=1.0,
    )


CHANGES: dict[str, Callable[[ContainerConfig], None]] = {
    "env": lambda c: c.env.update(A="2"),
    "ports": lambda c: c.ports.append(PortSpec(6379)),
    "command": lambda c: setattr(c, "command", ["other"]),
    "args": lambda c: c.args.append("-q"),
    "entrypoint": lambda c: setattr(c, "entrypoint", ["/other"]),
    "files' contents": lambda c: setattr(c, "files", [FileEntry("/etc/app.conf", b"x=2", 0o644)]),
    "file mode": lambda c: setattr(c, "files", [FileEntry("/etc/app.conf", b"x=1", 0o600)]),
    "mounts": lambda c: c.mounts.append(Mount("/other", "/o", True)),
    "tmpfs": lambda c: c.tmpfs.append("/run"),
    "networks": lambda c: c.networks.append(NetworkAttachment("net2")),
    "network aliases": lambda c: setattr(c, "networks", [NetworkAttachment("net1", ("db", "cache"))]),
    "user": lambda c: setattr(c, "user", "root"),
    "workdir": lambda c: setattr(c, "workdir", "/"),
    "memory": lambda c: setattr(c, "memory_bytes", 1 << 29),
    "cpus": lambda c: setattr(c, "cpus", 2.0),
    "privileged": lambda c: setattr(c, "privileged", True),
    "platform": lambda c: setattr(c, "platform", "linux/arm64"),
}


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_the_hash_changes_with_each_field(field: str) -> None:
    changed = full_config()
    CHANGES[field](changed)
    assert config_hash(IMAGE, changed, ENGINE) != config_hash(IMAGE, full_config(), ENGINE)


def test_the_hash_changes_with_image_and_engine() -> None:
    base = config_hash(IMAGE, full_config(), ENGINE)
    assert config_hash("app:2", full_config(), ENGINE) != base
    assert config_hash(IMAGE, full_config(), ("cli", "podman", "127.0.0.1")) != base
    assert config_hash(IMAGE, full_config(), ("cli", "docker", "10.0.0.5")) != base
    assert config_hash(IMAGE, full_config(), ("docker-api", "docker", "127.0.0.1")) != base


def test_the_hash_is_stable_across_processes() -> None:
    # A literal: a hash that changes between releases (or with PYTHONHASHSEED)
    # would orphan every reused container.
    assert config_hash("redis:7", ContainerConfig(name="x", ports=[PortSpec(6379)]), ENGINE) == "dc6c91790e7d0f4a"


labels = st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10), max_size=4)


@given(labels, labels, st.text(max_size=20), st.permutations([PortSpec(1), PortSpec(2), PortSpec(3, "udp")]))
def test_per_run_labels_names_and_port_order_do_not_count(
    first: dict[str, str], second: dict[str, str], name: str, ports: list[PortSpec]
) -> None:
    one = dataclasses.replace(
        full_config(), labels=first, name="a", ports=[PortSpec(1), PortSpec(2), PortSpec(3, "udp")]
    )
    other = dataclasses.replace(full_config(), labels=second, name=name, ports=list(ports))
    assert config_hash(IMAGE, one, ENGINE) == config_hash(IMAGE, other, ENGINE)


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=5))
def test_env_order_does_not_count(env: dict[str, str]) -> None:
    reversed_env = dict(reversed(list(env.items())))
    one = dataclasses.replace(full_config(), env=env)
    other = dataclasses.replace(full_config(), env=reversed_env)
    assert config_hash(IMAGE, one, ENGINE) == config_hash(IMAGE, other, ENGINE)


def test_shared_names_differ_per_run() -> None:
    assert shared_name("abc", "run1") != shared_name("abc", "run2") != reused_name("abc")


def test_a_shared_run_is_an_xdist_workers() -> None:
    assert shared_run({}) is None
    assert shared_run({"PYTEST_XDIST_TESTRUNUID": "r1"}) is None  # the controller itself
    run = shared_run({"PYTEST_XDIST_TESTRUNUID": "r1", "PYTEST_XDIST_WORKER": "gw0"})
    assert run is not None and run.id == "r1" and run.controller_pid == os.getppid()


# --- attaching --------------------------------------------------------------------------------


def test_a_reused_container_outlives_its_owner_and_the_next_start_attaches(memory: MemoryBackend) -> None:
    first, owner = start(testctr.with_reuse(), testctr.with_env("A", "1"))
    owner.close()
    assert memory.exists(first.id)
    creates = [c for c in memory.calls if c[0] in ("create_container", "run_container")]
    second, owner = start(testctr.with_env("A", "1"), testctr.with_reuse())
    owner.close()
    assert second.id == first.id and second.name == first.name
    assert [c for c in memory.calls if c[0] in ("create_container", "run_container")] == creates
    assert last_use.last_used(first.name) is not None


def test_a_different_configuration_gets_another_container(memory: MemoryBackend) -> None:
    first, _ = start(testctr.with_reuse(), testctr.with_env("A", "1"))
    second, _ = start(testctr.with_reuse(), testctr.with_env("A", "2"))
    assert first.id != second.id and memory.exists(first.id) and memory.exists(second.id)


def test_a_stopped_reused_container_is_started(memory: MemoryBackend) -> None:
    first, _ = start(testctr.with_reuse())
    memory.stop_container(first.id)
    second, _ = start(testctr.with_reuse())
    assert second.id == first.id
    assert memory.inspect_container(first.id).state.running


def test_one_that_cannot_start_is_replaced(memory: MemoryBackend) -> None:
    first, _ = start(testctr.with_reuse())
    memory.stop_container(first.id)
    memory.fail("start_container", ContainerStartError("broken"))
    second, _ = start(testctr.with_reuse())
    assert second.id != first.id and not memory.exists(first.id) and memory.exists(second.id)


def test_one_that_exits_as_it_comes_up_is_replaced(memory: MemoryBackend) -> None:
    memory.script(IMAGE, logs=[(0.0, "ready")])
    first, _ = start(testctr.with_reuse(), testctr.with_wait_for_log("ready"))
    memory.fail("wait_for_log", ContainerStartError("exited while coming up"))
    second, _ = start(testctr.with_reuse(), testctr.with_wait_for_log("ready"))
    assert second.id != first.id and not memory.exists(first.id) and memory.exists(second.id)


def test_a_lost_race_to_create_attaches_to_the_winner(memory: MemoryBackend) -> None:
    first, _ = start(testctr.with_reuse())
    # The look happens before the winner's create; the create then hits the name.
    memory.fail("inspect_container", ContainerNotFound("not yet"))
    second, _ = start(testctr.with_reuse())
    assert second.id == first.id


def test_a_name_the_engine_reserved_before_inspect_shows_it_is_waited_for(memory: MemoryBackend) -> None:
    first, _ = start(testctr.with_reuse())
    # dockerd: the create is refused the name, and the next inspect still finds nothing.
    memory.fail("inspect_container", ContainerNotFound("not yet"), times=2)
    second, _ = start(testctr.with_reuse())
    assert second.id == first.id


def test_a_create_that_fails_for_another_reason_says_why(
    memory: MemoryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reuse, "APPEAR_TIME", 0.1)
    memory.missing_image(IMAGE)
    with pytest.raises(ImageNotFound):
        start(testctr.with_reuse())


def test_racing_starts_share_one_container(memory: MemoryBackend) -> None:
    memory.slow("run_container", 0.05)
    ids: list[str] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            ids.append(start(testctr.with_reuse())[0].id)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(ids)) == 1 and len(ids) == 8


def test_reuse_false_makes_a_throwaway_container(memory: MemoryBackend) -> None:
    settings.configure(reuse=False)
    c, owner = start(testctr.with_reuse())
    assert not c.name.startswith("testctr-reuse-")
    owner.close()
    assert not memory.exists(c.id)


def test_terminate_removes_a_reused_container(memory: MemoryBackend) -> None:
    c, _ = start(testctr.with_reuse())
    c.terminate()
    assert not memory.exists(c.id)


# --- shared -----------------------------------------------------------------------------------


@pytest.fixture
def xdist_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PYTEST_XDIST_TESTRUNUID", "run-1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    yield


def test_shared_outside_xdist_is_a_throwaway_container(memory: MemoryBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_TESTRUNUID", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    c, owner = start(testctr.with_shared())
    owner.close()
    assert not memory.exists(c.id)


def test_workers_of_one_run_share_a_container_that_belongs_to_the_controller(
    memory: MemoryBackend, xdist_worker: None
) -> None:
    first, owner = start(testctr.with_shared())
    owner.close()
    second, _ = start(testctr.with_shared())
    assert second.id == first.id and first.name.startswith("testctr-shared-")
    labels = memory.inspect_container(first.id).labels
    assert labels["testctr.shared"] == "run-1" and labels["testctr.pid"] == str(os.getppid())


def test_another_run_gets_its_own_shared_container(
    memory: MemoryBackend, xdist_worker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = start(testctr.with_shared())
    monkeypatch.setenv("PYTEST_XDIST_TESTRUNUID", "run-2")
    second, _ = start(testctr.with_shared())
    assert first.id != second.id


# --- idle expiry --------------------------------------------------------------------------------


def test_idle_reused_containers_expire(memory: MemoryBackend) -> None:
    idle, _ = start(testctr.with_reuse(), testctr.with_env("A", "idle"))
    fresh, _ = start(testctr.with_reuse(), testctr.with_env("A", "fresh"))
    throwaway, _ = start()
    past = last_use.last_used(idle.name)
    assert past is not None
    os.utime(os.path.join(settings.cache_dir(), "reused", idle.name), (past - 7200, past - 7200))
    assert last_use.expire(memory, last_use.idle(memory.list_containers("testctr"), "testctr", 3600)) == [idle.name]
    assert not memory.exists(idle.id) and memory.exists(fresh.id) and memory.exists(throwaway.id)
    assert last_use.last_used(idle.name) is None
