"""Wait strategies racing a ready container, an exit and a timeout, on the in-memory backend.

HTTP and port waits talk to real sockets on 127.0.0.1: the memory backend
publishes a container port on the host port the test names.
"""

from __future__ import annotations

import dataclasses
import http.server
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import testctr
from testctr import wait
from testctr.backend.protocols import Backend
from testctr.backend.types import ContainerInfo, ExecResult
from testctr.backends.memory import MemoryBackend, exec_result
from testctr.container import Container
from testctr.errors import (
    ContainerNotRunning,
    ContainerStartError,
    ExecTimeout,
    PortNotPublished,
    TestctrError,
    WaitTimeout,
)
from testctr.owners import ScriptOwner
from testctr.wait import (
    LogWait,
    PortWait,
    RunningWait,
    WaitStrategy,
    _listening_ports,
    effective_deadline,
    poll,
)

IMAGE = "app:1"


@pytest.fixture
def owner() -> Iterator[ScriptOwner]:
    o = ScriptOwner("tests/unit/test_wait.py::t")
    yield o
    o.close()


def start(owner: ScriptOwner, *options: testctr.Option, timeout: float = 2.0) -> Container:
    return testctr.new(owner, IMAGE, testctr.with_startup_timeout(timeout), *options)


#: A startup timeout no test should reach; "fast" is well under it, even on a loaded machine.
LONG = 20.0


def fast(t0: float) -> bool:
    return time.monotonic() - t0 < LONG / 4


# --- running ------------------------------------------------------------------------------------


def test_running_fails_at_once_for_a_container_that_exited(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, logs=[(0, "fatal: no config")], exit_code=2)
    with pytest.raises(ContainerStartError, match=r"exited during startup \(exit code 2\)") as e:
        start(owner)
    assert "fatal: no config" in e.value.logs


@pytest.mark.parametrize("ports", [(), (testctr.with_port(80),)], ids=["no-ports", "prefetched"])
def test_running_sees_an_exit_soon_after_the_start(
    memory: MemoryBackend, owner: ScriptOwner, ports: tuple[testctr.Option, ...]
) -> None:
    # Still running when the first state is read; gone moments later (a server refusing its config).
    memory.script(IMAGE, logs=[(0, "missing password")], exit_code=1, exit_after=wait.SETTLE / 2)
    with pytest.raises(ContainerStartError, match=r"exit code 1") as e:
        start(owner, *ports)
    assert "missing password" in e.value.logs


def test_running_costs_at_most_the_settle_time_and_one_inspect(memory: MemoryBackend, owner: ScriptOwner) -> None:
    began = time.monotonic()
    c = start(owner)
    assert wait.SETTLE <= time.monotonic() - began < wait.SETTLE + 1.0
    assert [m for m, _ in memory.calls if m == "inspect_container"] == ["inspect_container"]
    assert c.inspect().state.running


def test_running_reads_the_state_the_start_asked_for_and_no_other_when_it_shows_an_exit(
    memory: MemoryBackend, owner: ScriptOwner
) -> None:
    memory.script(IMAGE, exit_code=3)
    with pytest.raises(ContainerStartError, match=r"exit code 3"):
        start(owner, testctr.with_port(80))
    # The prefetch's inspect, and the failed start's one look for an OOM kill; the wait needs no other.
    assert len([m for m, _ in memory.calls if m == "inspect_container"]) <= 2


# --- log ------------------------------------------------------------------------------------------------


def test_log_wait_returns_when_the_line_comes(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, logs=[(0.0, "booting"), (0.05, "Ready"), (0.1, "Ready")])
    start(owner, testctr.with_wait_for_log("Ready", occurrences=2))
    assert [m for m, _ in memory.calls].count("wait_for_log") == 1


def test_log_wait_fails_at_once_when_the_container_exits_first(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, logs=[(0, "panic")], exit_code=1, exit_after=0.05)
    t0 = time.monotonic()
    with pytest.raises(ContainerStartError, match="exit code 1") as e:
        start(owner, testctr.with_wait_for_log("Ready"), timeout=LONG)
    assert "panic" in e.value.logs
    assert fast(t0)


def test_log_wait_times_out_at_its_own_timeout(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, logs=[(0, "booting")])
    t0 = time.monotonic()
    with pytest.raises(WaitTimeout, match="Ready") as e:
        start(owner, testctr.with_wait_for_log("Ready", timeout=0.1), timeout=LONG)
    assert "booting" in e.value.logs
    assert fast(t0)


def test_log_wait_timeout_shows_the_text_as_written(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, logs=[(0, "booting")])
    with pytest.raises(WaitTimeout) as e:
        start(owner, testctr.with_wait_for_log("ready (v1.2)", timeout=0.1), timeout=LONG)
    assert e.value.strategy == "log line containing 'ready (v1.2)'"
    assert "\\" not in str(e.value)


# --- exec --------------------------------------------------------------------------------------------------


def test_exec_wait_retries_until_the_command_succeeds(memory: MemoryBackend, owner: ScriptOwner) -> None:
    answers = iter([exec_result(2, "no response"), exec_result(2, "no response"), exec_result(0, "ok")])
    memory.on_exec(["pg_isready"], lambda cmd: next(answers))
    start(owner, testctr.with_wait_for_exec(["pg_isready", "-q"]))
    assert [m for m, _ in memory.calls].count("exec_in_container") == 3


def test_exec_wait_times_out_with_the_last_answer(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.on_exec(["pg_isready"], lambda cmd: exec_result(2, "no response"))
    with pytest.raises(WaitTimeout, match="exit code 2, output 'no response'"):
        start(owner, testctr.with_wait_for_exec(["pg_isready"], timeout=0.1))


def test_exec_wait_counts_a_hung_command_as_not_ready(memory: MemoryBackend, owner: ScriptOwner) -> None:
    def hang(cmd: list[str]) -> ExecResult:
        raise ExecTimeout(cmd, exec_result(-1))

    memory.on_exec(["check"], hang)
    with pytest.raises(WaitTimeout, match="the command did not finish"):
        start(owner, testctr.with_wait_for_exec(["check"], timeout=0.1))


def test_exec_wait_gives_a_slow_command_its_share_of_the_deadline(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.slow("exec_in_container", LONG)
    t0 = time.monotonic()
    with pytest.raises(WaitTimeout, match="the command did not finish"):
        start(owner, testctr.with_wait_for_exec(["true"], timeout=0.2))
    assert fast(t0)


def test_exec_wait_fails_at_once_when_the_container_exits(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, logs=[(0, "oom")], exit_code=137, exit_after=0.05)
    memory.on_exec(["check"], lambda cmd: exec_result(1))
    t0 = time.monotonic()
    with pytest.raises(ContainerStartError, match="exit code 137"):
        start(owner, testctr.with_wait_for_exec(["check"]), timeout=LONG)
    assert fast(t0)


def test_exec_wait_on_a_missing_command_times_out_saying_127(memory: MemoryBackend, owner: ScriptOwner) -> None:
    with pytest.raises(WaitTimeout, match="exit code 127"):
        start(owner, testctr.with_wait_for_exec(["pg_isready"], timeout=0.05))


# --- http --------------------------------------------------------------------------------------------------------


@pytest.fixture
def http_server() -> Iterator[tuple[int, list[int]]]:
    """A server on 127.0.0.1 answering each GET with the next status of a list (the last repeats)."""
    statuses = [200]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server.server_address[1], statuses
    server.shutdown()
    server.server_close()


def test_http_wait_retries_until_the_status_comes(
    memory: MemoryBackend, owner: ScriptOwner, http_server: tuple[int, list[int]]
) -> None:
    port, statuses = http_server
    statuses[:] = [503, 503, 204]
    start(owner, testctr.with_port(f"{port}:80"), testctr.with_wait_for_http("/health", 80, status=204))
    assert statuses == [204]


def test_http_wait_times_out_with_the_last_status(
    memory: MemoryBackend, owner: ScriptOwner, http_server: tuple[int, list[int]]
) -> None:
    port, statuses = http_server
    statuses[:] = [404]
    with pytest.raises(WaitTimeout, match="status 404"):
        start(owner, testctr.with_port(f"{port}:80"), testctr.with_wait_for_http("/", 80, timeout=0.1))


def test_http_wait_on_a_closed_port_times_out_with_the_connect_error(memory: MemoryBackend, owner: ScriptOwner) -> None:
    with pytest.raises(WaitTimeout, match="ConnectionRefusedError"):
        start(owner, testctr.with_port(f"{free_port()}:80"), testctr.with_wait_for_http("/", 80, timeout=0.1))


def test_http_wait_fails_at_once_when_the_container_exits(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, exit_code=1, exit_after=0.05)
    t0 = time.monotonic()
    with pytest.raises(ContainerStartError, match="exit code 1"):
        start(owner, testctr.with_port(f"{free_port()}:80"), testctr.with_wait_for_http("/", 80), timeout=LONG)
    assert fast(t0)


def test_an_exited_container_has_no_port_to_wait_on(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, exit_code=1)
    with pytest.raises(ContainerStartError, match="exit code 1"):
        start(owner, testctr.with_port(80), testctr.with_wait_for_http("/", 80))


# --- port -----------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bool]]]:
    """A TCP server on 127.0.0.1; while ``hang_up[0]`` it closes each connection at once, as a bare proxy does."""
    hang_up = [False]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.05)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            if hang_up[0]:
                conn.close()
            else:
                accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1], hang_up
    stop.set()
    thread.join()
    sock.close()
    for conn in accepted:
        conn.close()


def proc_net(*ports: int) -> str:
    """/proc/net/tcp text with ``ports`` listening (and one established connection)."""
    lines = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"]
    lines += [
        f"   {i}: 00000000:{p:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1"
        for i, p in enumerate(ports)
    ]
    lines.append("   9: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000 0 0 2")
    return "\n".join(lines) + "\n"


def test_port_wait_needs_the_port_to_listen_inside_and_to_connect(
    memory: MemoryBackend, owner: ScriptOwner, listener: tuple[int, list[bool]]
) -> None:
    port, _ = listener
    answers = iter([proc_net(), proc_net(6379)])
    memory.on_exec(["cat", "/proc/net/tcp"], lambda cmd: exec_result(0, next(answers)))
    start(owner, testctr.with_port(f"{port}:6379"), testctr.with_wait_for_port(6379))


def test_port_wait_times_out_while_nothing_listens_inside(
    memory: MemoryBackend, owner: ScriptOwner, listener: tuple[int, list[bool]]
) -> None:
    port, _ = listener
    memory.on_exec(["cat"], lambda cmd: exec_result(0, proc_net(80)))
    with pytest.raises(WaitTimeout, match="nothing listens on 6379/tcp inside"):
        start(owner, testctr.with_port(f"{port}:6379"), testctr.with_wait_for_port(6379, timeout=0.1))


def test_port_wait_counts_a_hung_inside_check_as_not_listening(
    memory: MemoryBackend, owner: ScriptOwner, listener: tuple[int, list[bool]]
) -> None:
    def hang(cmd: list[str]) -> ExecResult:
        raise ExecTimeout(cmd, exec_result(-1))

    memory.on_exec(["cat"], hang)
    with pytest.raises(WaitTimeout, match="nothing listens"):
        start(owner, testctr.with_port(f"{listener[0]}:6379"), testctr.with_wait_for_port(6379, timeout=0.1))


def test_port_wait_without_cat_tells_a_server_from_a_bare_proxy(
    memory: MemoryBackend, owner: ScriptOwner, listener: tuple[int, list[bool]]
) -> None:
    port, hang_up = listener  # no exec handler: `cat` exits 127
    hang_up[0] = True
    with pytest.raises(WaitTimeout, match="closed at once"):
        start(owner, testctr.with_port(f"{port}:6379"), testctr.with_wait_for_port(6379, timeout=0.15))
    hang_up[0] = False
    start(owner, testctr.with_port(f"{port}:6379"), testctr.with_wait_for_port(6379))


def test_port_wait_reports_a_refused_host_connection(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.on_exec(["cat"], lambda cmd: exec_result(0, proc_net(6379)))
    with pytest.raises(WaitTimeout, match=r"host connect to 127\.0\.0\.1"):
        start(owner, testctr.with_port(f"{free_port()}:6379"), testctr.with_wait_for_port(6379, timeout=0.1))


def test_port_wait_for_udp_looks_inside_only(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.on_exec(["cat", "/proc/net/udp"], lambda cmd: exec_result(0, proc_net(53).replace(" 0A ", " 07 ")))
    start(owner, testctr.with_port("53/udp"), testctr.with_wait_for_port("53/udp"))


def test_port_wait_for_udp_without_cat_says_what_to_use(memory: MemoryBackend, owner: ScriptOwner) -> None:
    with pytest.raises(TestctrError, match="with_wait_for_log or with_wait_for_exec"):
        start(owner, testctr.with_port("53/udp"), testctr.with_wait_for_port("53/udp"))


def test_port_wait_fails_at_once_when_the_container_exits(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, exit_code=1, exit_after=0.05)
    memory.on_exec(["cat"], lambda cmd: exec_result(0, proc_net()))
    t0 = time.monotonic()
    with pytest.raises(ContainerStartError, match="exit code 1"):
        start(owner, testctr.with_port(80), testctr.with_wait_for_port(80), timeout=LONG)
    assert fast(t0)


def test_listening_ports_reads_listen_and_udp_states_only() -> None:
    text = proc_net(80, 0x1F91) + "garbage\n  5: nocolon 00 0A\n   6: 00000000:ZZZZ 00000000:0000 0A\n"
    assert _listening_ports(text) == {80, 0x1F91}
    assert _listening_ports(proc_net(53).replace(" 0A ", " 07 ")) == {53}


# --- healthy --------------------------------------------------------------------------------------------------------


def test_healthy_wait_follows_the_health_sequence(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, health=["starting", "starting", "healthy"])
    c = start(owner, testctr.with_wait_for_healthy())
    assert c.health() == "healthy"


def test_healthy_wait_fails_on_unhealthy(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, health=["starting", "unhealthy"], logs=[(0, "db down")])
    with pytest.raises(ContainerStartError, match="reported unhealthy") as e:
        start(owner, testctr.with_wait_for_healthy())
    assert "db down" in e.value.logs


def test_healthy_wait_needs_a_healthcheck(memory: MemoryBackend, owner: ScriptOwner) -> None:
    with pytest.raises(TestctrError, match="defines no HEALTHCHECK"):
        start(owner, testctr.with_wait_for_healthy())


def test_healthy_wait_times_out_while_starting(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, health=["starting"])
    with pytest.raises(WaitTimeout, match="health is starting"):
        start(owner, testctr.with_wait_for_healthy(timeout=0.1))


def test_healthy_wait_fails_at_once_when_the_container_exits(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, health=["starting"], exit_code=1, exit_after=0.05)
    t0 = time.monotonic()
    with pytest.raises(ContainerStartError):
        start(owner, testctr.with_wait_for_healthy(), timeout=LONG)
    assert fast(t0)


# --- custom strategies and the deadline -----------------------------------------------------------------


class Ready:
    """Ready on the ``after``-th check; a custom strategy built on ``poll``."""

    def __init__(self, after: int, timeout: float | None = None) -> None:
        self.after = after
        self.timeout = timeout

    def describe(self) -> str:
        return f"check number {self.after}"

    def wait(self, container: Container, deadline: float) -> None:
        checks = 0

        def check() -> str | None:
            nonlocal checks
            checks += 1
            return None if checks >= self.after else f"{checks} checks"

        poll(container, self, effective_deadline(self, deadline), check)


def test_a_custom_strategy_is_a_wait_strategy_and_runs_in_order(memory: MemoryBackend, owner: ScriptOwner) -> None:
    order: list[str] = []

    class Record(Ready):
        def wait(self, container: Container, deadline: float) -> None:
            super().wait(container, deadline)
            order.append(self.describe())

    assert isinstance(Ready(1), WaitStrategy)
    start(owner, testctr.with_wait(Record(3)), testctr.with_wait(Record(1)))
    assert order == ["check number 3", "check number 1"]


def test_a_custom_strategy_times_out_with_its_reason(memory: MemoryBackend, owner: ScriptOwner) -> None:
    with pytest.raises(WaitTimeout, match=r"waiting for check number 1000000: \d+ checks"):
        start(owner, testctr.with_wait(Ready(10**6, timeout=0.1)))


def test_the_startup_timeout_bounds_every_wait(memory: MemoryBackend, owner: ScriptOwner) -> None:
    t0 = time.monotonic()
    with pytest.raises(WaitTimeout):
        start(owner, testctr.with_wait(Ready(10**6, timeout=LONG)), timeout=0.1)
    assert fast(t0)


def test_a_check_that_finds_the_container_stopped_reports_the_exit(memory: MemoryBackend, owner: ScriptOwner) -> None:
    class Stopped(Ready):
        def wait(self, container: Container, deadline: float) -> None:
            def check() -> str | None:
                memory.exit(container.id, 5)
                raise ContainerNotRunning("gone")

            poll(container, self, deadline, check)

    with pytest.raises(ContainerStartError, match="exit code 5"):
        start(owner, testctr.with_wait(Stopped(1)))


def test_a_not_running_error_from_a_running_container_is_raised_as_is(
    memory: MemoryBackend, owner: ScriptOwner
) -> None:
    class Confused(Ready):
        def wait(self, container: Container, deadline: float) -> None:
            def check() -> str | None:
                raise ContainerNotRunning("the engine is confused")

            poll(container, self, deadline, check)

    with pytest.raises(ContainerNotRunning, match="confused"):
        start(owner, testctr.with_wait(Confused(1)))


def test_a_running_container_without_a_host_binding_is_reported_as_such(
    use_backend: Callable[[Backend], None], owner: ScriptOwner
) -> None:
    class NoBindings(MemoryBackend):
        def inspect_container(self, container_id: str) -> ContainerInfo:
            return dataclasses.replace(super().inspect_container(container_id), ports={})

    use_backend(NoBindings())
    with pytest.raises(PortNotPublished, match="no host binding"):
        start(owner, testctr.with_port(80), testctr.with_wait_for_http("/", 80))


def test_every_built_in_strategy_describes_itself() -> None:
    assert RunningWait().describe() == "the container to be running"
    assert LogWait(re.compile("ready"), occurrences=2).describe() == "log line matching 'ready' 2 times"
    assert LogWait(re.compile(r"a\.b"), text="a.b").describe() == "log line containing 'a.b'"
    assert PortWait("80/tcp").describe() == "port 80/tcp to listen"


# --- what a failed start shows of the log -------------------------------------------------------------


def test_a_failed_start_shows_the_last_report_lines_and_writes_the_whole_log(
    memory: MemoryBackend, owner: ScriptOwner
) -> None:
    import testctr.settings as settings_module

    memory.script(IMAGE, logs=[(0, f"line {i}") for i in range(500)])
    settings_module.configure(report_lines=30)
    try:
        with pytest.raises(WaitTimeout) as e:
            start(owner, testctr.with_wait_for_log("Ready", timeout=0.1), timeout=LONG)
    finally:
        settings_module.reset()
    message = str(e.value)
    shown = [line for line in message.splitlines() if line.startswith("  | ")]
    assert shown == [f"  | line {i}" for i in range(470, 500)]
    path = re.search(r"full log: (\S+)\)", message)
    assert path is not None and e.value.log_file == path.group(1)
    owner.close()  # the copy is done before the container goes
    with open(path.group(1)) as f:
        assert f.read().splitlines() == [f"line {i}" for i in range(500)]


def test_an_exit_137_with_a_memory_limit_is_blamed_on_the_oom_killer(memory: MemoryBackend, owner: ScriptOwner) -> None:
    memory.script(IMAGE, logs=[(0, "allocating")], exit_code=137)
    with pytest.raises(ContainerStartError, match=r"most likely by the kernel's OOM killer \(memory limit 8 MiB"):
        start(owner, testctr.with_memory_limit("8m"))
    memory.script(IMAGE, logs=[(0, "allocating")], exit_code=137)
    with pytest.raises(ContainerStartError) as e:
        start(owner)  # no limit of its own: SIGKILL says nothing about memory
    assert "OOM" not in str(e.value)
