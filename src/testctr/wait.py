"""Wait strategies: how :func:`testctr.new` decides a container is ready.

A strategy gets the container and an absolute deadline (``time.monotonic()``)
and returns when ready. It raises :class:`WaitTimeout` at the deadline, and
:class:`ContainerStartError` as soon as the container has exited, so a crash
at startup costs milliseconds, not the whole timeout.

Write your own by implementing :class:`WaitStrategy` and passing it to
``testctr.with_wait``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from testctr.errors import ContainerStartError, ExecTimeout, TestctrError, WaitTimeout

if TYPE_CHECKING:
    from testctr.container import Container


@runtime_checkable
class WaitStrategy(Protocol):
    #: Own bound in seconds, or None to use only the startup timeout.
    timeout: float | None

    def describe(self) -> str: ...

    def wait(self, container: Container, deadline: float) -> None: ...


def effective_deadline(strategy: WaitStrategy, deadline: float) -> float:
    if strategy.timeout is None:
        return deadline
    return min(deadline, time.monotonic() + strategy.timeout)


def fail_if_exited(container: Container) -> None:
    """Raise ContainerStartError, with exit code and logs, if the container stopped."""
    state = container.inspect().state
    if not state.running:
        raise ContainerStartError(
            f"container {container.name} ({container.image}) exited during startup",
            exit_code=state.exit_code,
            logs=container.logs(),
        )


def poll(
    container: Container,
    strategy: WaitStrategy,
    deadline: float,
    check: Callable[[], bool],
    describe_failure: Callable[[], str] = lambda: "",
) -> None:
    """Call ``check`` until it returns True, backing off from 5 ms to 100 ms.

    Checks the container's state at most every 250 ms while failing, so an
    exited container fails the wait at once.
    """
    started = time.monotonic()
    delay = 0.005
    last_state_check = 0.0
    while True:
        if check():
            return
        now = time.monotonic()
        if now - last_state_check >= 0.25:
            fail_if_exited(container)
            last_state_check = time.monotonic()
        now = time.monotonic()
        if now >= deadline:
            raise WaitTimeout(strategy.describe(), now - started, container.logs(), describe_failure())
        time.sleep(min(delay, max(deadline - now, 0)))
        delay = min(delay * 2, 0.1)


class RunningWait:
    """The default: the container is running (and did not exit at once)."""

    timeout: float | None = None

    def describe(self) -> str:
        return "the container to be running"

    def wait(self, container: Container, deadline: float) -> None:
        fail_if_exited(container)


class LogWait:
    """A log line matches ``pattern`` ``occurrences`` times.

    Follows the log stream (``logs -f``) when the backend can stream, so the
    line is seen within milliseconds of being written.
    """

    def __init__(self, pattern: re.Pattern[str], timeout: float | None = None, occurrences: int = 1) -> None:
        self.pattern = pattern
        self.timeout = timeout
        self.occurrences = occurrences

    def describe(self) -> str:
        times = f" {self.occurrences} times" if self.occurrences > 1 else ""
        return f"log line matching {self.pattern.pattern!r}{times}"

    def wait(self, container: Container, deadline: float) -> None:
        remaining = max(effective_deadline(self, deadline) - time.monotonic(), 0.0)
        container.backend.wait_for_log(container.id, self.pattern, remaining, self.occurrences)


class ExecWait:
    """A command run in the container exits 0."""

    def __init__(self, cmd: list[str], timeout: float | None = None) -> None:
        self.cmd = cmd
        self.timeout = timeout
        self._last_output = ""

    def describe(self) -> str:
        return f"command {self.cmd!r} to exit 0"

    def wait(self, container: Container, deadline: float) -> None:
        end = effective_deadline(self, deadline)

        def check() -> bool:
            try:
                result = container.exec(self.cmd, timeout=max(min(end - time.monotonic(), 10.0), 0.5))
            except ExecTimeout:
                return False
            self._last_output = result.output
            return result.exit_code == 0

        poll(container, self, end, check, lambda: f"last output: {self._last_output.strip()[-500:]!r}")


class HTTPWait:
    """An HTTP GET of ``path`` on the published ``port`` answers ``status``."""

    def __init__(self, path: str, port: str, status: int = 200, timeout: float | None = None) -> None:
        self.path = path
        self.port = port
        self.status = status
        self.timeout = timeout
        self._last = "no answer yet"

    def describe(self) -> str:
        return f"HTTP {self.status} from GET {self.path} on port {self.port}"

    def wait(self, container: Container, deadline: float) -> None:
        import http.client

        host, port = container.host(), container.port(self.port)

        def check() -> bool:
            conn = http.client.HTTPConnection(host, port, timeout=1.0)
            try:
                conn.request("GET", self.path)
                status = conn.getresponse().status
            except (OSError, http.client.HTTPException) as e:
                self._last = f"{type(e).__name__}: {e}"
                return False
            finally:
                conn.close()
            self._last = f"status {status}"
            return status == self.status

        poll(container, self, effective_deadline(self, deadline), check, lambda: self._last)


def _listening_ports(proc_net: str) -> set[int]:
    """Ports in LISTEN state (tcp) or bound (udp) in /proc/net/{tcp,udp}[6] text."""
    ports = set()
    for line in proc_net.splitlines():
        fields = line.split()
        if len(fields) < 4 or ":" not in fields[1]:
            continue
        state = fields[3]
        if state in ("0A", "07"):  # TCP_LISTEN; 07 is TCP_CLOSE, how UDP sockets show
            try:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
            except ValueError:
                continue
    return ports


class PortWait:
    """The port listens inside the container AND the host connects to it.

    A host connect alone proves nothing: docker-proxy accepts connections
    before anything listens behind it. The inside check reads /proc/net (with
    ``cat``, which most images have); for images without it, a host connection
    that is not closed at once by the proxy counts as listening.
    """

    def __init__(self, port: str, timeout: float | None = None) -> None:
        self.port = port
        self.timeout = timeout
        self._last = "not checked yet"
        self._can_look_inside: bool | None = None  # unknown until the first exec

    def describe(self) -> str:
        return f"port {self.port} to listen"

    def _listens_inside(self, container: Container) -> bool | None:
        """True/False from /proc/net inside the container; None if it has no ``cat``."""
        number, proto = self.port.split("/")
        try:
            result = container.exec(["cat", f"/proc/net/{proto}", f"/proc/net/{proto}6"], timeout=5.0)
        except ExecTimeout:
            return False
        if result.exit_code in (126, 127) or "executable file not found" in result.output:
            return None
        return int(number) in _listening_ports(result.stdout)

    def _host_connects(self, host: str, port: int) -> bool:
        import socket

        try:
            with socket.create_connection((host, port), timeout=1.0) as sock:
                if self._can_look_inside:
                    return True
                # Without the inside check, tell a proxy with nothing behind it
                # (accepts, then closes) from a server (waits, or greets).
                sock.settimeout(0.05)
                try:
                    return sock.recv(1, socket.MSG_PEEK) != b""
                except TimeoutError:
                    return True
        except OSError as e:
            self._last = f"host connect to {host}:{port}: {e}"
            return False

    def wait(self, container: Container, deadline: float) -> None:
        host = container.host()
        host_port = container.port(self.port)

        def check() -> bool:
            if self._can_look_inside is not False:
                inside = self._listens_inside(container)
                self._can_look_inside = inside is not None
                if inside is False:
                    self._last = f"nothing listens on {self.port} inside the container"
                    return False
            if self.port.endswith("/udp"):
                return bool(self._can_look_inside)  # nothing to connect to from the host
            return self._host_connects(host, host_port)

        poll(container, self, effective_deadline(self, deadline), check, lambda: self._last)


class HealthyWait:
    """The image's HEALTHCHECK reports healthy."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout
        self._last: str | None = None

    def describe(self) -> str:
        return "the container's HEALTHCHECK to report healthy"

    def wait(self, container: Container, deadline: float) -> None:
        def check() -> bool:
            self._last = container.health()
            if self._last is None:
                raise TestctrError(
                    f"with_wait_for_healthy: image {container.image} defines no HEALTHCHECK; "
                    "add one to the image or use another wait strategy"
                )
            if self._last == "unhealthy":
                raise ContainerStartError(f"container {container.name} reported unhealthy", logs=container.logs())
            return self._last == "healthy"

        poll(container, self, effective_deadline(self, deadline), check, lambda: f"health is {self._last}")
