"""An in-memory backend with scriptable behaviour: a test double for testctr's own core.

:class:`MemoryBackend` keeps containers in a dict and plays what a script
says (log lines over time, an exit with a code, health answers, exec
handlers, failing or slow calls), so the core's orchestration — failure paths,
deadlines, cleanup — can be unit tested in milliseconds without an engine. It
follows the contract's docstrings, but it is never a replacement for tests
against real engines: it proves that the core uses the contract correctly,
not that a backend implements it. :class:`BareMemoryBackend` is the same
backend with the contract alone, none of the optional capabilities: the
core's paths for a backend that lacks them. Neither is a built-in backend;
tests register them themselves::

    backend = MemoryBackend()
    backend.script("app", logs=[(0.0, "booting"), (0.1, "ready")], exit_code=1, exit_after=0.5)
    backend.fail("start_container", ContainerStartError("no"))  # the next start raises
    backend.on_exec(["pg_isready"], lambda cmd: exec_result(0, "accepting connections"))
    testctr.backends.register("memory", backend)

Time is the real clock: a line scheduled at 0.1 s appears 0.1 s after the
container's start. Like a real engine, it holds each published host port (a
socket bound on this machine) while the container runs and lets it go when the
container stops, exits or is removed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from testctr.backend.types import ContainerConfig, ContainerInfo, ContainerState, ExecResult, PortBinding
from testctr.errors import (
    ContainerNotFound,
    ContainerNotRunning,
    ContainerStartError,
    ExecTimeout,
    ImageNotFound,
    TestctrError,
    WaitTimeout,
)

ExecHandler = Callable[[list[str]], ExecResult]

#: How often waits and log streams look at the clock: often enough for fast tests.
_TICK = 0.005
#: The exit code of a stopped container, as after SIGTERM.
STOPPED_EXIT_CODE = 143


def exec_result(exit_code: int = 0, stdout: str = "", stderr: str = "") -> ExecResult:
    """An :class:`ExecResult` for an exec handler to return."""
    return ExecResult(exit_code, stdout, stderr, stdout + stderr)


@dataclass(frozen=True)
class Script:
    """How containers of one image behave once started.

    ``logs``: (seconds after the start, line). ``exit_code``: the container
    exits with it ``exit_after`` seconds after its start (None: runs until
    stopped). ``health``: successive answers of ``health_status``, the last
    one repeated (None: the image has no HEALTHCHECK). ``cmd``: the image's CMD.
    """

    logs: Sequence[tuple[float, str]] = ()
    exit_code: int | None = None
    exit_after: float = 0.0
    health: Sequence[str] | None = None
    cmd: Sequence[str] = ("sleep", "infinity")


@dataclass
class _Container:
    id: str
    image: str
    config: ContainerConfig
    script: Script
    ip: str
    command: list[str]
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    started: bool = False
    exit_at: float | None = None
    exit_code: int | None = None
    lines: list[tuple[float, str]] = field(default_factory=list)
    ports: dict[str, list[PortBinding]] = field(default_factory=dict)
    files: dict[str, tuple[bytes, int | None]] = field(default_factory=dict)
    health: deque[str] = field(default_factory=deque)
    removed: bool = False
    held: list[socket.socket] = field(default_factory=list)

    def release_ports(self) -> None:
        """Let the host ports go, as an engine does when a container stops."""
        held, self.held = self.held, []
        for sock in held:
            sock.close()

    def running(self, now: float) -> bool:
        return self.started and not self.removed and (self.exit_at is None or now < self.exit_at)

    def exited(self, now: float) -> bool:
        return self.removed or (self.exit_at is not None and now >= self.exit_at)

    def visible_lines(self, now: float) -> list[str]:
        end = now if self.exit_at is None else min(now, self.exit_at)
        return [line for at, line in self.lines if at <= end]


@dataclass
class _Failure:
    exc: BaseException
    after: bool


class _Stream:
    """A followed log: yields lines as they come due; ends when the container stops."""

    def __init__(self, backend: MemoryBackend, container_id: str) -> None:
        self._backend = backend
        self._id = container_id
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[str]:
        sent = 0
        while not self._closed.is_set():
            lines, ended = self._backend._follow(self._id)
            yield from lines[sent:]
            sent = len(lines)
            if ended:
                return
            self._closed.wait(_TICK)

    def close(self) -> None:
        self._closed.set()


class BareMemoryBackend:
    """The :class:`testctr.backend.Backend` contract in memory, and no optional capability.

    Protocols are checked by method, so this class has none of the
    capabilities' methods: ``isinstance(BareMemoryBackend(), HealthReporter)``
    is False, as for a real backend that cannot report health.

    Script it with :meth:`script`, :meth:`fail`, :meth:`slow`, :meth:`on_exec`,
    :meth:`missing_image`; drive running containers with :meth:`emit` and
    :meth:`exit`; look at what happened in :attr:`calls` (method, first
    argument), :meth:`exists`, :meth:`names` and :meth:`command`.
    """

    runtime = "memory"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._containers: dict[str, _Container] = {}
        self._scripts: dict[str, Script] = {}
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self._handlers: dict[tuple[str, ...], ExecHandler] = {}
        self._missing: set[str] = set()
        self.images: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self._ids = itertools.count(1)
        self._host_ports = itertools.count(42000)

    # --- scripting --------------------------------------------------------------------------

    def script(
        self,
        image: str,
        *,
        logs: Sequence[tuple[float, str]] = (),
        exit_code: int | None = None,
        exit_after: float = 0.0,
        health: Sequence[str] | None = None,
        cmd: Sequence[str] = ("sleep", "infinity"),
    ) -> None:
        """How containers of ``image`` created from now on behave (see :class:`Script`)."""
        with self._lock:
            self._scripts[image] = Script(tuple(logs), exit_code, exit_after, health, tuple(cmd))

    def fail(self, method: str, exc: BaseException, *, after: bool = False, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` raise ``exc``.

        With ``after``, each does its work first: ``fail("create_container",
        exc, after=True)`` is a create that made the container, then failed.
        """
        if not callable(getattr(self, method, None)):
            raise ValueError(f"{type(self).__name__} has no method {method!r}")
        with self._lock:
            self._failures[method].extend(_Failure(exc, after) for _ in range(times))

    def slow(self, method: str, seconds: float) -> None:
        """Every call of ``method`` takes ``seconds`` longer (0 makes it fast again)."""
        with self._lock:
            self._delays[method] = seconds

    def on_exec(self, prefix: Sequence[str], handler: ExecHandler) -> None:
        """Commands starting with ``prefix`` run ``handler(cmd)``; the longest prefix wins.

        The handler returns an :class:`ExecResult` (see :func:`exec_result`)
        or raises :class:`testctr.ExecTimeout`. Without a handler, ``true``,
        ``false`` and ``echo`` behave as in a shell and anything else exits 127.
        """
        with self._lock:
            self._handlers[tuple(prefix)] = handler

    def missing_image(self, image: str) -> None:
        """``image`` can be neither found locally nor pulled."""
        with self._lock:
            self._missing.add(image)

    def emit(self, container_id: str, line: str) -> None:
        """The container writes ``line`` now."""
        with self._lock:
            self._get(container_id).lines.append((time.monotonic(), line))

    def exit(self, container_id: str, exit_code: int) -> None:
        """The running container exits now with ``exit_code``."""
        with self._lock:
            c = self._get(container_id)
            if c.running(time.monotonic()):
                c.exit_at, c.exit_code = time.monotonic(), exit_code
                c.release_ports()

    def command(self, container_id: str) -> list[str]:
        """The container's CMD (what follows its entrypoint): the config's command and args over the image's."""
        with self._lock:
            return list(self._get(container_id).command)

    def exists(self, ref: str) -> bool:
        """Whether a container with this id or name exists (not removed)."""
        with self._lock:
            return any(not c.removed and ref in (c.id, c.config.name) for c in self._containers.values())

    def names(self) -> list[str]:
        """The names of the containers that exist (not removed), sorted."""
        with self._lock:
            return sorted(c.config.name for c in self._containers.values() if not c.removed)

    # --- the call machinery -----------------------------------------------------------------

    def _call(self, method: str, ref: str, limit: float | None = None) -> _Failure | None:
        """Record the call, wait its delay; raise a failure due before it, return one due after.

        A call slower than its ``limit`` (an exec's timeout) is cut off there.
        """
        with self._lock:
            self.calls.append((method, ref))
            delay = self._delays.get(method, 0.0)
            queue = self._failures.get(method)
            failure = queue.popleft() if queue else None
        if limit is not None and delay > limit:
            time.sleep(limit)
            raise ExecTimeout([method, ref], exec_result(-1), f"{method} took longer than its {limit}s timeout")
        if delay:
            time.sleep(delay)
        if failure is not None and not failure.after:
            raise failure.exc
        return failure

    def _get(self, ref: str) -> _Container:
        """By id or name, as engines accept either."""
        for c in self._containers.values():
            if not c.removed and ref in (c.id, c.config.name):
                return c
        raise ContainerNotFound(f"no such container: {ref}")

    # --- Backend ----------------------------------------------------------------------------

    def create_container(self, image: str, config: ContainerConfig) -> str:
        failure = self._call("create_container", image)
        container_id = self._create(image, config)
        if failure is not None:
            raise failure.exc
        return container_id

    def _create(self, image: str, config: ContainerConfig) -> str:
        self._pull(image)
        with self._lock:
            if self.exists(config.name):
                raise ContainerStartError(f"the container name {config.name!r} is already in use")
            n = next(self._ids)
            container_id = f"{n:012x}" + "0" * 52
            script = self._scripts.get(image, Script())
            command = config.command_for(script.cmd if config.needs_image_cmd else None)
            self._containers[container_id] = _Container(
                container_id,
                image,
                config,
                script,
                ip=f"10.88.{n // 250}.{n % 250 + 2}",
                command=list(script.cmd) if command is None else command,
            )
            return container_id

    def start_container(self, container_id: str) -> None:
        failure = self._call("start_container", container_id)
        self._start(container_id)
        if failure is not None:
            raise failure.exc

    def _start(self, container_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            c = self._get(container_id)
            if c.running(now):
                return
            script = c.script
            # A restart keeps the log so far; what the last run never wrote, it never will.
            c.lines = [(at, line) for at, line in c.lines if at <= (now if c.exit_at is None else c.exit_at)]
            # The code it will exit with; inspect shows it only once it has exited.
            c.started, c.exit_code = True, script.exit_code
            c.exit_at = None if script.exit_code is None else now + script.exit_after
            c.lines.extend((now + delay, line) for delay, line in script.logs)
            c.health = deque(script.health or ())
            # Engines assign host ports at each start: a restart may get new ones.
            c.release_ports()
            c.ports = {
                p.key: [self._hold(c, p.host_ip or "127.0.0.1", p.host_port, p.protocol)] for p in c.config.ports
            }
            if c.exit_at is not None:
                timer = threading.Timer(c.exit_at - now, self._release_if_exited, args=(c,))
                timer.daemon = True
                timer.start()

    def _hold(self, c: _Container, host_ip: str, host_port: int | None, protocol: str) -> PortBinding:
        """Bind the host port for ``c`` (a free one when ``host_port`` is None); a number alone if that fails."""
        try:
            sock = socket.socket(
                socket.AF_INET6 if ":" in host_ip else socket.AF_INET,
                socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM,
            )
        except OSError:
            return PortBinding(host_ip, host_port or next(self._host_ports))
        try:
            sock.bind((host_ip, host_port or 0))
        except OSError:
            sock.close()
            return PortBinding(host_ip, host_port or next(self._host_ports))
        c.held.append(sock)
        return PortBinding(host_ip, int(sock.getsockname()[1]))

    def _release_if_exited(self, c: _Container) -> None:
        with self._lock:
            if not c.running(time.monotonic()):
                c.release_ports()

    def stop_container(self, container_id: str, timeout: float = 10.0) -> None:
        failure = self._call("stop_container", container_id)
        with self._lock:
            c = self._get(container_id)
            now = time.monotonic()
            if c.running(now):
                c.exit_at, c.exit_code = now, STOPPED_EXIT_CODE
            c.ports = {}
            c.release_ports()
        if failure is not None:
            raise failure.exc

    def remove_container(self, container_id: str) -> None:
        failure = self._call("remove_container", container_id)
        with self._lock:
            c = self._get(container_id)
            c.removed = True
            c.release_ports()
        if failure is not None:
            raise failure.exc

    def inspect_container(self, container_id: str) -> ContainerInfo:
        failure = self._call("inspect_container", container_id)
        now = time.monotonic()
        with self._lock:
            c = self._get(container_id)
            if c.running(now):
                state = ContainerState(True, "running", health=c.health[0] if c.health else None)
            elif c.started:
                state = ContainerState(False, "exited", exit_code=c.exit_code)
            else:
                state = ContainerState(False, "created")
            info = ContainerInfo(
                c.id,
                c.config.name,
                c.image,
                c.created,
                state,
                ports=dict(c.ports) if state.running else {},
                internal_ip=c.ip if state.running else "",
                labels=dict(c.config.labels),
            )
        if failure is not None:
            raise failure.exc
        return info

    def exec_in_container(
        self,
        container_id: str,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        user: str | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        argv = list(cmd)
        failure = self._call("exec_in_container", container_id, limit=timeout)
        with self._lock:
            if not self._get(container_id).running(time.monotonic()):
                raise ContainerNotRunning(f"container {container_id} is not running")
            matches = [p for p in self._handlers if tuple(argv[: len(p)]) == p]
            handler = self._handlers[max(matches, key=len)] if matches else _builtin
        result = handler(argv)
        if failure is not None:
            raise failure.exc
        return result

    def get_container_logs(self, container_id: str) -> str:
        failure = self._call("get_container_logs", container_id)
        with self._lock:
            lines = self._get(container_id).visible_lines(time.monotonic())
        if failure is not None:
            raise failure.exc
        return "".join(line + "\n" for line in lines)

    def wait_for_log(self, container_id: str, pattern: re.Pattern[str], timeout: float, occurrences: int = 1) -> None:
        failure = self._call("wait_for_log", container_id)
        deadline = time.monotonic() + timeout
        while True:
            lines, ended = self._follow(container_id)
            if sum(1 for line in lines if pattern.search(line)) >= occurrences:
                break
            if ended:
                with self._lock:
                    code = self._get(container_id).exit_code
                raise ContainerStartError(
                    f"container {container_id[:12]} stopped before logging {pattern.pattern!r}",
                    exit_code=code,
                    logs="".join(line + "\n" for line in lines),
                )
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"log line matching {pattern.pattern!r}", timeout, "\n".join(lines))
            time.sleep(_TICK)
        if failure is not None:
            raise failure.exc

    def _follow(self, container_id: str) -> tuple[list[str], bool]:
        """The lines visible now, and whether the log has ended (the container stopped)."""
        now = time.monotonic()
        with self._lock:
            c = next((c for c in self._containers.values() if c.id == container_id), None)
            if c is None:
                raise ContainerNotFound(f"no such container: {container_id}")
            return c.visible_lines(now), c.exited(now)

    def internal_ip(self, container_id: str) -> str:
        return self.inspect_container(container_id).internal_ip

    def commit(self, container_id: str, image: str) -> None:
        failure = self._call("commit", container_id)
        with self._lock:
            self._scripts[image] = self._get(container_id).script
            self.images.add(image)
        if failure is not None:
            raise failure.exc

    def host(self) -> str:
        return "127.0.0.1"

    def version(self) -> str:
        failure = self._call("version", "")
        if failure is not None:
            raise failure.exc
        return "memory"

    def _pull(self, image: str) -> None:
        """Make ``image`` present, as an engine does at a create (or an ensure_image)."""
        with self._lock:
            if image in self._missing:
                raise ImageNotFound(f"image {image} not found")
            self.images.add(image)


class MemoryBackend(BareMemoryBackend):
    """:class:`BareMemoryBackend` with every capability the core uses.

    Besides the bare backend's helpers, :meth:`file_mode` and
    :meth:`resources` show what copies and resource updates did.
    """

    def run_container(self, image: str, config: ContainerConfig) -> str:
        failure = self._call("run_container", image)
        container_id = self._create(image, config)
        self._start(container_id)
        if failure is not None:
            raise failure.exc
        return container_id

    def copy_to_container(self, container_id: str, container_path: str, data: bytes, mode: int | None = None) -> None:
        failure = self._call("copy_to_container", container_id)
        with self._lock:
            self._get(container_id).files[container_path] = (data, mode)
        if failure is not None:
            raise failure.exc

    def copy_from_container(self, container_id: str, container_path: str) -> bytes:
        failure = self._call("copy_from_container", container_id)
        with self._lock:
            entry = self._get(container_id).files.get(container_path)
        if failure is not None:
            raise failure.exc
        if entry is None:
            raise TestctrError(f"copy_from: {container_path} does not exist in {container_id[:12]}")
        return entry[0]

    def file_mode(self, container_id: str, container_path: str) -> int | None:
        """The mode a file was copied in with (for tests of copy paths)."""
        with self._lock:
            return self._get(container_id).files[container_path][1]

    def stream_logs(self, container_id: str) -> _Stream:
        self._call("stream_logs", container_id)
        with self._lock:
            self._get(container_id)
        return _Stream(self, container_id)

    def log_since(self, container_id: str, since: float, lines: int) -> str:
        failure = self._call("log_since", container_id)
        now = time.monotonic()
        # Lines are due by the monotonic clock; ``since`` is by the wall clock.
        start = since - time.time() + now
        with self._lock:
            c = self._get(container_id)
            end = now if c.exit_at is None else min(now, c.exit_at)
            due = [line for at, line in c.lines if start <= at <= end]
        if failure is not None:
            raise failure.exc
        return "".join(line + "\n" for line in due[-lines:] if lines > 0)

    def list_images(self) -> list[str]:
        with self._lock:
            return sorted(self.images)

    def ensure_image(self, image: str, platform: str | None = None) -> None:
        self._pull(image)

    def update_resources(
        self, container_id: str, *, memory_bytes: int | None = None, cpus: float | None = None
    ) -> None:
        failure = self._call("update_resources", container_id)
        with self._lock:
            config = self._get(container_id).config
            config.memory_bytes = memory_bytes if memory_bytes is not None else config.memory_bytes
            config.cpus = cpus if cpus is not None else config.cpus
        if failure is not None:
            raise failure.exc

    def resources(self, container_id: str) -> tuple[int | None, float | None]:
        """The memory limit and CPUs the container has now."""
        with self._lock:
            config = self._get(container_id).config
            return config.memory_bytes, config.cpus

    def health_status(self, container_id: str) -> str | None:
        failure = self._call("health_status", container_id)
        with self._lock:
            c = self._get(container_id)
            if c.script.health is None:
                status = None
            else:
                status = c.health[0] if c.health else None
                if len(c.health) > 1:
                    c.health.popleft()
        if failure is not None:
            raise failure.exc
        return status

    def list_containers(self, label: str) -> list[ContainerInfo]:
        self._call("list_containers", label)
        with self._lock:
            ids = [c.id for c in self._containers.values() if not c.removed and label in c.config.labels]
        return [self.inspect_container(i) for i in ids]

    def debug_commands(self, container_name: str) -> dict[str, str]:
        return {
            "logs": f"memory logs {container_name}",
            "shell": f"memory exec {container_name} sh",
            "remove": f"memory rm {container_name}",
        }


def _builtin(cmd: list[str]) -> ExecResult:
    if cmd[0] == "true":
        return exec_result(0)
    if cmd[0] == "false":
        return exec_result(1)
    if cmd[0] == "echo":
        return exec_result(0, " ".join(cmd[1:]) + "\n")
    return exec_result(127, stderr=f"{cmd[0]}: executable file not found\n")
