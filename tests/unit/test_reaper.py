"""The reaper without an engine: its message protocol, the watchdog's bookkeeping, the client, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from testctr import reaper, settings
from testctr.backend.protocols import NetworkManager
from testctr.backend.types import ContainerConfig, NetworkAttachment, NetworkInfo
from testctr.backends.memory import MemoryBackend
from testctr.errors import ContainerNotFound, EngineUnavailable, InvalidOption, NetworkNotFound, TestctrError
from testctr.reaper import protocol, removal, sigterm, watchdog
from testctr.reaper.protocol import Event

WATCH_A = Event("watch", "container", "cli", "docker", "testctr-a")
WATCH_B = Event("watch", "container", "cli", "podman", "testctr-b")


def release(event: Event) -> Event:
    return Event("release", event.kind, event.backend, event.runtime, event.ref)


# --- protocol -------------------------------------------------------------------------------


def test_an_event_is_one_json_line_and_reads_back() -> None:
    line = protocol.encode(WATCH_A)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert line.startswith(b'{"op":"watch","kind":"container"')
    assert protocol.decode(line) == WATCH_A


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"op": "watch", "kind": "container", "backend": "cli", "runtime": "docker"}',
        b'{"op": "watch", "kind": "container", "backend": "cli", "runtime": "docker", "ref": ""}',
        b'{"op": "watch", "kind": "container", "backend": "cli", "runtime": 1, "ref": "x"}',
    ],
)
def test_a_line_that_is_no_event_decodes_to_none(line: bytes) -> None:
    assert protocol.decode(line) is None


def test_extra_fields_are_ignored_for_later_versions() -> None:
    line = b'{"op":"watch","kind":"network","backend":"cli","runtime":"docker","ref":"n","extra":1}'
    assert protocol.decode(line) == Event("watch", "network", "cli", "docker", "n")


# --- the watchdog's bookkeeping -----------------------------------------------------------------


def test_guard_holds_what_is_watched_and_not_released() -> None:
    held = watchdog.Guard()
    for event in [WATCH_A, WATCH_B, release(WATCH_A), release(WATCH_A), Event("forget", "container", "", "", "x")]:
        held.apply(event)
    assert held.leftovers() == [WATCH_B]


def test_a_release_must_match_backend_and_runtime() -> None:
    held = watchdog.Guard()
    held.apply(WATCH_A)
    held.apply(Event("release", "container", "cli", "podman", WATCH_A.ref))
    assert held.leftovers() == [WATCH_A]


class FakeBackend:
    """Records removals; knows the names in ``present``."""

    def __init__(self, present: set[str], delay: float = 0.0) -> None:
        self.present = present
        self.removed: list[str] = []
        self.delay = delay
        self.lock = threading.Lock()

    def remove_container(self, container_id: str) -> None:
        time.sleep(self.delay)
        with self.lock:
            if container_id not in self.present:
                raise ContainerNotFound(container_id)
            self.present.discard(container_id)
            self.removed.append(container_id)


class FakeResolve:
    def __init__(self, backend: FakeBackend) -> None:
        self.backend = backend
        self.calls: list[tuple[str, str]] = []

    def __call__(self, name: str, runtime: str) -> FakeBackend:
        self.calls.append((name, runtime))
        if name == "broken":
            raise EngineUnavailable("no engine here")
        return self.backend


def test_remover_makes_each_backend_once_and_ignores_unknown_kinds() -> None:
    backend = FakeBackend({"testctr-a", "n"})
    resolve = FakeResolve(backend)
    remover = removal.Remover(resolve)  # type: ignore[arg-type]
    remover.remove(WATCH_A)
    remover.remove(Event("watch", "volume", "cli", "docker", "n"))
    remover.remove(WATCH_A)  # gone already: not an error
    assert backend.removed == ["testctr-a"] and resolve.calls == [("cli", "docker")]


def test_a_backend_without_networks_is_not_asked_to_remove_one() -> None:
    backend = FakeBackend({"n"})  # no NetworkManager: it cannot have made the network
    removal.Remover(FakeResolve(backend)).remove(Event("watch", "network", "cli", "docker", "n"))  # type: ignore[arg-type]
    assert backend.removed == []


def test_reap_removes_in_parallel_and_reports_each_problem() -> None:
    names = [f"testctr-{i}" for i in range(6)]
    backend = FakeBackend(set(names[:5]), delay=0.3)
    remover = removal.Remover(FakeResolve(backend))  # type: ignore[arg-type]
    events = [Event("watch", "container", "cli", "docker", n) for n in names]
    events.append(Event("watch", "container", "broken", "docker", "testctr-x"))
    started = time.monotonic()
    problems = removal.reap(events, remover.remove)
    assert time.monotonic() - started < 1.0  # one after the other: 6 x 0.3 s
    assert sorted(backend.removed) == names[:5]
    assert problems == ["container testctr-x: no engine here"]


def test_reap_gives_up_on_a_removal_that_hangs() -> None:
    problems = removal.reap([WATCH_A], lambda event: time.sleep(5), timeout=0.2)
    assert problems == ["container testctr-a: no answer within 0s"]


# --- networks: after the containers ----------------------------------------------------------------


class NetworkedMemory(MemoryBackend):
    """MemoryBackend with networks that, like an engine, refuses to remove one a container is on."""

    def __init__(self) -> None:
        super().__init__()
        self.networks: set[str] = set()
        self.on: dict[str, list[str]] = {}  # network -> names of the containers created on it
        self.refusals = 0

    def create_network(self, name: str, labels: Mapping[str, str], internal: bool = False) -> str:
        self.networks.add(name)
        return "id-" + name

    def create_container(self, image: str, config: ContainerConfig) -> str:
        for attachment in config.networks:
            self.on.setdefault(attachment.name, []).append(config.name)
        return super().create_container(image, config)

    def remove_network(self, network: str) -> None:
        if network not in self.networks:
            raise NetworkNotFound(network)
        if any(self.exists(name) for name in self.on.get(network, [])):
            self.refusals += 1
            raise TestctrError(f"network {network} has active endpoints")
        self.networks.discard(network)

    def list_networks(self, label: str) -> list[NetworkInfo]:
        return []


def networked(*container_names: str) -> NetworkedMemory:
    """A network ``testctr-net`` with the containers ``container_names`` on it."""
    backend = NetworkedMemory()
    backend.create_network("testctr-net", {})
    for name in container_names:
        backend.create_container("busybox", ContainerConfig(name=name, networks=[NetworkAttachment("testctr-net")]))
    return backend


def memory_events(*refs: str, kind: str = "container") -> list[Event]:
    return [Event("watch", kind, "memory", "memory", ref) for ref in refs]


def test_the_watchdog_removes_networks_after_the_containers_on_them() -> None:
    backend = networked("testctr-a", "testctr-b")
    backend.slow("remove_container", 0.3)  # a slow engine: the network must still wait for it
    assert isinstance(backend, NetworkManager)
    # The network was watched first (it is made before its containers), and is still removed last.
    events = memory_events("testctr-net", kind="network") + memory_events("testctr-a", "testctr-b")
    problems = removal.reap(events, removal.Remover(lambda name, runtime: backend).remove)  # type: ignore[arg-type,return-value]
    assert problems == []
    assert not backend.exists("testctr-a") and not backend.exists("testctr-b")
    assert backend.networks == set() and backend.refusals == 0


def test_a_network_still_in_use_is_tried_again_then_reported() -> None:
    backend = networked("testctr-a")  # a container the watchdog was not told of keeps it in use
    started = time.monotonic()
    with pytest.raises(TestctrError, match="active endpoints"):
        removal.remove_network(backend, "testctr-net", retry=0.5, interval=0.1)
    assert 0.4 < time.monotonic() - started < 2.0 and backend.refusals >= 4
    removal.remove_network(backend, "no-such-net")  # never made: nothing to do


def test_a_network_is_removed_once_its_last_container_lets_go() -> None:
    backend = networked("testctr-a")
    threading.Timer(0.3, backend.remove_container, args=("testctr-a",)).start()
    removal.remove_network(backend, "testctr-net", retry=5.0, interval=0.1)
    assert backend.networks == set() and backend.refusals >= 1


# --- Compose projects: their tool's down ------------------------------------------------------------


def test_a_compose_ref_reads_back_and_anything_else_is_left_alone() -> None:
    ref = protocol.compose_ref(["docker", "compose", "--project-name=p", "down"], {"TAG": "1"})
    assert protocol.parse_compose_ref(ref) == (["docker", "compose", "--project-name=p", "down"], {"TAG": "1"})
    for bad in ["testctr-a", "[]", '{"argv": [], "env": {}}', '{"argv": ["x"], "env": {"A": 1}}']:
        assert protocol.parse_compose_ref(bad) is None


def test_the_watchdog_runs_a_compose_projects_down_with_its_variables(tmp_path: Path) -> None:
    out = tmp_path / "down"
    script = "import os, sys; open(sys.argv[1], 'w').write(os.environ['TAG'] + ' ' + sys.argv[2])"
    ref = protocol.compose_ref([sys.executable, "-c", script, str(out), "down"], {"TAG": "v1"})
    problems = removal.reap(
        [Event("watch", "compose", "cli", "docker", ref)], removal.Remover(FakeResolve(FakeBackend(set()))).remove
    )  # type: ignore[arg-type]
    assert problems == [] and out.read_text() == "v1 down"


def test_a_failed_compose_down_is_a_problem() -> None:
    ref = protocol.compose_ref([sys.executable, "-c", "import sys; sys.exit('no such project')"], {})
    problems = removal.reap(
        [Event("watch", "compose", "cli", "docker", ref)], removal.Remover(FakeResolve(FakeBackend(set()))).remove
    )  # type: ignore[arg-type]
    assert len(problems) == 1 and "exited with 1: no such project" in problems[0]


def write(fd: int, *events: Event) -> None:
    os.write(fd, b"".join(protocol.encode(e) for e in events))


def test_the_watchdog_follows_until_eof_and_keeps_what_was_not_released() -> None:
    read_end, write_end = os.pipe()
    try:
        write(write_end, WATCH_A, WATCH_B)
        line = protocol.encode(release(WATCH_A))
        os.write(write_end, line[:10])  # a line may arrive in pieces
        os.write(write_end, line[10:] + b"garbage\n")
        os.close(write_end)
        leftovers = watchdog.follow(read_end, lambda: True)
    finally:
        os.close(read_end)
    assert leftovers == [WATCH_B]


def test_the_watchdog_stops_following_when_the_parent_is_gone_though_the_pipe_is_open() -> None:
    read_end, write_end = os.pipe()
    alive = threading.Event()
    alive.set()
    threading.Timer(0.3, alive.clear).start()
    try:
        write(write_end, WATCH_A)
        started = time.monotonic()
        leftovers = watchdog.follow(read_end, alive.is_set, poll=0.05)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert time.monotonic() - started < 2.0 and leftovers == [WATCH_A]


def run_watchdog(*events: Event) -> subprocess.CompletedProcess[bytes]:
    """The watchdog fed ``events``, then EOF."""
    return subprocess.run(
        reaper.command(str(os.getpid())),
        input=b"".join(protocol.encode(e) for e in events),
        capture_output=True,
        timeout=30,
    )


def test_the_watchdog_exits_by_itself_when_nothing_is_left() -> None:
    nowhere = Event("watch", "container", "no-such-backend", "docker", "testctr-a")
    assert run_watchdog(nowhere, release(nowhere)).returncode == 0


def test_the_watchdog_tries_what_is_left() -> None:
    # The backend cannot be made, so the removal fails: proof that it was tried.
    assert run_watchdog(Event("watch", "container", "no-such-backend", "docker", "testctr-a")).returncode == 1


def test_the_watchdog_follows_its_parent_on_a_few_light_imports() -> None:
    # It boots beside the parent's first create: what it imports is taken from the engine's CPUs.
    nowhere = Event("watch", "container", "no-such-backend", "docker", "testctr-a")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *reaper.command(str(os.getpid()))[1:]],
        input=protocol.encode(nowhere) + protocol.encode(release(nowhere)),
        capture_output=True,
        timeout=30,
        # Not measured by coverage (scripts/test measures this tier's subprocesses): its imports are not the watchdog's.
        env={k: v for k, v in os.environ.items() if not k.startswith("COVERAGE")},
    )
    assert result.returncode == 0
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.decode().splitlines() if "|" in line}
    ours = {name for name in imported if name.split(".")[0] == "testctr"}
    reaper_modules = {"__main__", "protocol", "outlive", "sigterm", "watchdog"}
    assert ours == {"testctr", "testctr.reaper"} | {f"testctr.reaper.{name}" for name in reaper_modules}
    assert not imported & {"subprocess", "dataclasses", "inspect", "typing", "runpy"}


# --- the client ---------------------------------------------------------------------------------


@pytest.fixture
def fresh_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The client as in a process that has started no container; its watchdog closed after the test."""
    for name, value in {"_started": False, "_pipe": None, "_watchdog": None}.items():
        monkeypatch.setattr(reaper, name, value)
    monkeypatch.setattr(sigterm, "install", lambda: None)
    yield
    process = reaper._watchdog
    reaper._close()
    if process is not None:
        process.wait(timeout=30)


def test_the_first_watch_starts_a_watchdog_that_ends_with_this_process(fresh_client: None) -> None:
    settings.configure(reaper=True)
    try:
        reaper.watch("no-such-backend", "docker", "testctr-a")
        pid = reaper.watchdog_pid()
        reaper.watch("no-such-backend", "docker", "testctr-b")
        assert pid is not None and reaper.watchdog_pid() == pid  # one per process
        reaper.release("no-such-backend", "docker", "testctr-a")
        reaper.release("no-such-backend", "docker", "testctr-b")
        process = reaper._watchdog
        assert process is not None
        reaper._close()  # what the end of this process does
        assert process.wait(timeout=30) == 0  # nothing left: nothing tried
    finally:
        settings.reset()


def test_the_watchdog_runs_at_a_lower_priority_than_its_parent_unless_that_is_lower(fresh_client: None) -> None:
    settings.configure(reaper=True)
    try:
        reaper.watch("no-such-backend", "docker", "testctr-a")
        pid = reaper.watchdog_pid()
        assert pid is not None
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, pid) == max(reaper.NICE, ours)
        reaper.release("no-such-backend", "docker", "testctr-a")
    finally:
        settings.reset()


def test_reaper_false_starts_no_watchdog(fresh_client: None) -> None:
    settings.configure(reaper=False)
    try:
        reaper.watch("cli", "docker", "testctr-a")
        reaper.release("cli", "docker", "testctr-a")
        assert reaper.watchdog_pid() is None
    finally:
        settings.reset()


def test_a_forked_child_lets_go_of_its_parents_watchdog(fresh_client: None) -> None:
    settings.configure(reaper=True)
    try:
        reaper.watch("no-such-backend", "docker", "testctr-a")
        assert reaper._pipe is not None
        pid = os.fork()
        if pid == 0:
            os._exit(0 if reaper._pipe is None and reaper.watchdog_pid() is None and not reaper._started else 1)
        assert os.waitpid(pid, 0)[1] == 0
        reaper.release("no-such-backend", "docker", "testctr-a")
    finally:
        settings.reset()


def test_a_dead_watchdog_is_reported_once_and_forgotten(fresh_client: None, capsys: pytest.CaptureFixture[str]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    reaper._started, reaper._pipe = True, write_end
    reaper.watch("cli", "docker", "testctr-a")
    reaper.watch("cli", "docker", "testctr-b")
    assert reaper._pipe is None and capsys.readouterr().err.count("the reaper is gone") == 1


# --- settings -------------------------------------------------------------------------------------


def test_reaper_setting_reads_testctr_reaper() -> None:
    assert settings.Settings.from_env({}).reaper is True
    assert settings.Settings.from_env({"TESTCTR_REAPER": "false"}).reaper is False
    with pytest.raises(InvalidOption, match="TESTCTR_"):
        settings.Settings.from_env({"TESTCTR_REAPER": "sometimes"})


# --- SIGTERM ----------------------------------------------------------------------------------------


@pytest.fixture
def default_sigterm() -> Iterator[None]:
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGTERM, before)


def test_sigterm_becomes_a_keyboard_interrupt_once(default_sigterm: None) -> None:
    sigterm.install()
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler runs between bytecodes: long before this ends
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # a second SIGTERM ends the process


def test_sigterm_handler_of_someone_else_is_kept(default_sigterm: None) -> None:
    def theirs(signum: int, frame: object) -> None:
        pass

    signal.signal(signal.SIGTERM, theirs)
    sigterm.install()
    assert signal.getsignal(signal.SIGTERM) is theirs


def test_sigterm_is_left_alone_outside_the_main_thread(default_sigterm: None) -> None:
    thread = threading.Thread(target=sigterm.install)
    thread.start()
    thread.join()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
