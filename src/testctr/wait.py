"""Wait strategies: how :func:`testctr.new` decides a container is ready.

A strategy gets the container and an absolute deadline (``time.monotonic()``)
and returns when ready. It raises :class:`WaitTimeout` at the deadline, and
:class:`ContainerStartError` as soon as the container has exited, so a crash
at startup costs milliseconds, not the whole timeout.

Write your own by implementing :class:`WaitStrategy` and passing it to
``testctr.with_wait``. Strategies hold no per-container state (one option
object may serve many containers, from many threads): what a wait learns
lives in locals of its ``wait`` call.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from testctr.errors import (
    ContainerNotRunning,
    ContainerStartError,
    ExecTimeout,
    PortNotPublished,
    TestctrError,
    WaitTimeout,
)

if TYPE_CHECKING:
    from testctr.backend.types import ContainerState
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


#: How long after its start a container must still run for the default wait to
#: count it as started: a server that exits at once (a missing password, a bad
#: flag) is caught, not handed out.
SETTLE = 0.1


def fail_if_exited(container: Container, state: ContainerState | None = None) -> None:
    """Raise ContainerStartError, with the exit code, if the container stopped.

    ``state``: one the engine just reported; else it is asked. The log is
    added by ``testctr.new``, once, whichever wait fails.
    """
    if state is None:
        state = container.inspect().state
    if not state.running:
        raise ContainerStartError(
            f"container {container.name} ({container.image}) exited during startup", exit_code=state.exit_code
        )


def poll(
    container: Container,
    strategy: WaitStrategy,
    deadline: float,
    check: Callable[[], str | None],
) -> None:
    """Call ``check`` until it returns None (ready), backing off from 5 ms to 100 ms.

    ``check`` returns why the container is not ready yet, for the timeout
    message. The container's state is checked at most every 250 ms while
    failing, so an exited container fails the wait at once.
    """
    started = time.monotonic()
    delay = 0.005
    last_state_check = 0.0
    while True:
        try:
            reason = check()
        except (ContainerNotRunning, PortNotPublished):
            fail_if_exited(container)  # raises ContainerStartError with exit code and logs
            raise
        if reason is None:
            return
        now = time.monotonic()
        if now - last_state_check >= 0.25:
            fail_if_exited(container)
            last_state_check = time.monotonic()
        now = time.monotonic()
        if now >= deadline:
            raise WaitTimeout(strategy.describe(), now - started, detail=reason)
        time.sleep(min(delay, max(deadline - now, 0)))
        delay = min(delay * 2, 0.1)


def published_port(container: Container, port: str) -> int:
    """``container.port(port)``, but an exited container is a ContainerStartError."""
    try:
        return container.port(port)
    except (PortNotPublished, ContainerNotRunning):
        fail_if_exited(container)
        raise


class RunningWait:
    """The default: the container still runs :data:`SETTLE` seconds after its start.

    Engines take milliseconds (tens under load) to report an exit: one state
    read right after the start would hand out a server that failed at once.
    The state the start's own inspect (for the ports) got fails the wait at
    once when it shows an exit; otherwise the wait sleeps out the rest of
    SETTLE and asks once.
    """

    timeout: float | None = None

    def describe(self) -> str:
        return "the container to be running"

    def wait(self, container: Container, deadline: float) -> None:
        last = container.last_info()
        if last is not None:
            info, asked = last
            fail_if_exited(container, info.state)
            if asked >= container.started_at + SETTLE:
                return
        settle = container.started_at + SETTLE - time.monotonic()
        time.sleep(min(max(settle, 0), max(deadline - time.monotonic(), 0)))
        fail_if_exited(container)


class LogWait:
    """A log line matches ``pattern`` ``occurrences`` times.

    Follows the log stream (``logs -f``) when the backend can stream, so the
    line is seen within milliseconds of being written.
    """

    def __init__(
        self,
        pattern: re.Pattern[str],
        timeout: float | None = None,
        occurrences: int = 1,
        *,
        text: str | None = None,
    ) -> None:
        self.pattern = pattern
        self.timeout = timeout
        self.occurrences = occurrences
        #: The text the user wrote, when the pattern was made from one (shown instead of its escaped regex).
        self.text = text

    def describe(self) -> str:
        times = f" {self.occurrences} times" if self.occurrences > 1 else ""
        if self.text is not None:
            return f"log line containing {self.text!r}{times}"
        return f"log line matching {self.pattern.pattern!r}{times}"

    def wait(self, container: Container, deadline: float) -> None:
        remaining = max(effective_deadline(self, deadline) - time.monotonic(), 0.0)
        # After a restart the log still holds the earlier runs' lines: only new matches count.
        earlier = sum(1 for line in container.log_before_start.splitlines() if self.pattern.search(line))
        try:
            container.backend.wait_for_log(container.id, self.pattern, remaining, self.occurrences + earlier)
        except WaitTimeout as e:
            # Backends see only the compiled regex; the message shows what the user wrote.
            raise WaitTimeout(self.describe(), e.waited, e.logs) from None


class ExecWait:
    """A command run in the container exits 0."""

    def __init__(self, cmd: list[str], timeout: float | None = None) -> None:
        self.cmd = cmd
        self.timeout = timeout

    def describe(self) -> str:
        return f"command {self.cmd!r} to exit 0"

    def wait(self, container: Container, deadline: float) -> None:
        end = effective_deadline(self, deadline)

        def check() -> str | None:
            try:
                result = container.exec(self.cmd, timeout=max(min(end - time.monotonic(), 10.0), 0.5))
            except ExecTimeout:
                return "the command did not finish"
            if result.exit_code == 0:
                return None
            return f"exit code {result.exit_code}, output {result.output.strip()[-500:]!r}"

        poll(container, self, end, check)


class HTTPWait:
    """An HTTP GET of ``path`` on the published ``port`` answers ``status``."""

    def __init__(self, path: str, port: str, status: int = 200, timeout: float | None = None) -> None:
        self.path = path
        self.port = port
        self.status = status
        self.timeout = timeout

    def describe(self) -> str:
        return f"HTTP {self.status} from GET {self.path} on port {self.port}"

    def wait(self, container: Container, deadline: float) -> None:
        import http.client

        host, port = container.host(), published_port(container, self.port)

        def check() -> str | None:
            conn = http.client.HTTPConnection(host, port, timeout=1.0)
            try:
                conn.request("GET", self.path)
                status = conn.getresponse().status
            except (OSError, http.client.HTTPException) as e:
                return f"{type(e).__name__}: {e}"
            finally:
                conn.close()
            return None if status == self.status else f"status {status}"

        poll(container, self, effective_deadline(self, deadline), check)


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


def _listens_inside(container: Container, port: str) -> bool | None:
    """True/False from /proc/net inside the container; None if it has no ``cat``."""
    number, proto = port.split("/")
    try:
        result = container.exec(["cat", f"/proc/net/{proto}", f"/proc/net/{proto}6"], timeout=5.0)
    except ExecTimeout:
        return False
    if result.exit_code in (126, 127):  # the contract's codes for "could not run it"
        return None
    return int(number) in _listening_ports(result.stdout)


def _host_connects(host: str, port: int, proxy_check: bool) -> str | None:
    """None when a TCP connection to host:port holds; else why not.

    With ``proxy_check``, tell a proxy with nothing behind it (accepts, then
    closes at once) from a server (waits for the client, or greets it).
    """
    import socket

    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            if not proxy_check:
                return None
            sock.settimeout(0.05)
            try:
                return None if sock.recv(1, socket.MSG_PEEK) != b"" else "the connection was closed at once"
            except TimeoutError:
                return None
    except OSError as e:
        return f"host connect to {host}:{port}: {e}"


class PortWait:
    """The port listens inside the container AND the host connects to it.

    A host connect alone proves nothing: docker-proxy accepts connections
    before anything listens behind it. The inside check reads /proc/net (with
    ``cat``, which most images have); for images without it, a host connection
    that the proxy does not close at once counts as listening.
    """

    def __init__(self, port: str, timeout: float | None = None) -> None:
        self.port = port
        self.timeout = timeout

    def describe(self) -> str:
        return f"port {self.port} to listen"

    def wait(self, container: Container, deadline: float) -> None:
        host = container.host()
        host_port = published_port(container, self.port)
        can_look_inside = True

        def check() -> str | None:
            nonlocal can_look_inside
            if can_look_inside:
                inside = _listens_inside(container, self.port)
                if inside is None:
                    can_look_inside = False
                elif not inside:
                    return f"nothing listens on {self.port} inside the container"
            if self.port.endswith("/udp"):
                if not can_look_inside:
                    raise TestctrError(
                        f"with_wait_for_port({self.port!r}): a UDP port can only be checked from inside, "
                        f"and {container.image} has no `cat`; use with_wait_for_log or with_wait_for_exec"
                    )
                return None
            return _host_connects(host, host_port, proxy_check=not can_look_inside)

        poll(container, self, effective_deadline(self, deadline), check)


class HealthyWait:
    """The image's HEALTHCHECK reports healthy."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout

    def describe(self) -> str:
        return "the container's HEALTHCHECK to report healthy"

    def wait(self, container: Container, deadline: float) -> None:
        def check() -> str | None:
            health = container.health()
            if health is None:
                raise TestctrError(
                    f"with_wait_for_healthy: image {container.image} defines no HEALTHCHECK; "
                    "add one to the image or use another wait strategy"
                )
            if health == "unhealthy":
                raise ContainerStartError(f"container {container.name} reported unhealthy")
            return None if health == "healthy" else f"health is {health}"

        poll(container, self, effective_deadline(self, deadline), check)
