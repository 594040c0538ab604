"""Every exception testctr raises. All derive from :class:`TestctrError`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from testctr.backend.types import ExecResult

LAST_LOG_LINES = 20
#: Characters of one log line shown in a message; a longer line is cut.
LINE_WIDTH = 1000


def tail(logs: str, n: int = LAST_LOG_LINES) -> str:
    """The last ``n`` lines of ``logs``, indented for an error message."""
    lines = logs.rstrip("\n").splitlines()[-n:]
    if not lines:
        return "  (no log output)"
    return "\n".join("  | " + (line if len(line) <= LINE_WIDTH else line[:LINE_WIDTH] + " [cut]") for line in lines)


def report_lines() -> int:
    """How many log lines a message shows (TESTCTR_REPORT_LINES / --testctr-report-lines)."""
    from testctr import settings  # settings imports this module

    return settings.current().report_lines


def log_section(logs: str, log_file: str | None) -> str:
    """The log part of a start error: its last lines, and where the whole log is."""
    n = report_lines()
    where = f" (full log: {log_file})" if log_file else ""
    return f"last log lines{where}:\n{tail(logs, n)}"


def oom_note(oom_killed: bool | None, exit_code: int | None, memory_limit: int | None) -> str:
    """Why a process was killed, when the kernel's OOM killer did it (or most likely did); else ""."""
    limit = f"memory limit {_size(memory_limit)}" if memory_limit else "no memory limit of its own"
    if oom_killed:
        return f"killed by the kernel's OOM killer ({limit})"
    if oom_killed is None and exit_code == 137 and memory_limit:
        return f"killed by SIGKILL (exit code 137), most likely by the kernel's OOM killer ({limit}; unconfirmed)"
    return ""


def _size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


class TestctrError(Exception):
    """Base class of every testctr error."""

    __test__ = False  # not a test class, whatever pytest's name rules say


class EngineUnavailable(TestctrError):
    """No container runtime was found, or its engine does not answer."""


class _ImageError(TestctrError):
    def add_hint(self, hint: str) -> None:
        """Add a line to the message (e.g. a local image whose name is close)."""
        self.args = (f"{self.args[0] if self.args else ''}\n{hint}", *self.args[1:])


class ImageNotFound(_ImageError):
    """The image exists neither locally nor in its registry."""


class ImagePullError(_ImageError):
    """The image could not be pulled for another reason (registry unreachable, auth, ...)."""


class _ShowsLogs(TestctrError):
    """An error whose message ends with the container's last log lines.

    ``logs`` holds those lines only; ``log_file`` names where the whole log
    was written. Who raises it may not have them: ``testctr.new`` adds them
    with :meth:`attach_logs` before the error reaches the test.
    """

    logs: str
    log_file: str | None
    note: str

    def _headline(self) -> str:
        raise NotImplementedError

    def _shows_logs(self) -> bool:
        return True

    def _render(self) -> None:
        text = self._headline()
        if self.note:
            text += f"; {self.note}"
        if self._shows_logs():
            text += "\n" + log_section(self.logs, self.log_file)
        self.args = (text,)

    def attach_logs(self, logs: str, log_file: str | None, note: str = "") -> None:
        """Show ``logs`` (the last lines), the path of the full log, and ``note`` (why it died)."""
        self.logs, self.log_file = logs, log_file
        self.note = note or self.note
        self._render()


class ContainerStartError(_ShowsLogs):
    """The container could not be created or started, or exited during startup."""

    def __init__(
        self, message: str, *, exit_code: int | None = None, logs: str = "", log_file: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.logs, self.log_file, self.note = logs, log_file, ""
        self._render()

    def _headline(self) -> str:
        return self.message + (f" (exit code {self.exit_code})" if self.exit_code is not None else "")

    def _shows_logs(self) -> bool:
        return bool(self.logs or self.log_file or self.exit_code is not None)


#: Creations a container gets when a host port chosen for it is taken before the engine binds it.
PORT_ATTEMPTS = 5


class HostPortTaken(ContainerStartError):
    """The engine could not bind host port ``port``: another process holds it.

    Internal: a backend raises it (from a create-and-start or a start) so the
    core can tell a port chosen for the user, which it chooses again with a
    fresh container, from one the user asked for, which fails at once. Users
    see a :class:`ContainerStartError`.
    """

    def __init__(self, message: str, port: int, *, logs: str = "") -> None:
        super().__init__(message, logs=logs)
        self.port = port


class WaitTimeout(_ShowsLogs, TimeoutError):
    """A wait strategy did not succeed within its timeout."""

    def __init__(
        self, strategy: str, waited: float, logs: str = "", detail: str = "", log_file: str | None = None
    ) -> None:
        super().__init__(strategy)
        self.strategy = strategy
        self.waited = waited
        self.detail = detail
        self.logs, self.log_file, self.note = logs, log_file, ""
        self._render()

    def _headline(self) -> str:
        message = f"timed out after {self.waited:.1f}s waiting for {self.strategy}"
        return message + (f": {self.detail}" if self.detail else "")


class ExecError(TestctrError):
    """A command run in a container exited non-zero (or timed out)."""

    def __init__(self, cmd: Sequence[str], result: ExecResult, message: str = "") -> None:
        text = message or f"command {list(cmd)!r} exited with code {result.exit_code}"
        note = oom_note(result.oom_killed, result.exit_code, result.memory_limit)
        if note:
            text += f"; {note}"
        if result.output.strip():
            text += f"\noutput:\n{tail(result.output)}"
        super().__init__(text)
        self.cmd = list(cmd)
        self.result = result


class ExecTimeout(ExecError, TimeoutError):
    """A command run in a container did not finish within its timeout."""


class InvalidOption(TestctrError, ValueError):
    """An option was given an argument it cannot accept.

    The one rule for every public function, option, module helper and
    ``TESTCTR_*`` setting: a value testctr cannot use raises InvalidOption
    where it is given, before any engine is called, a value of the wrong Python
    type included (testctr raises no TypeError for a value; Python itself does,
    for missing or unknown arguments). Strings must not contain NUL bytes;
    numbers must be finite and within the bounds in :mod:`testctr.parsing`
    (durations up to MAX_SECONDS, CPUs from MIN_CPUS to MAX_CPUS, memory from
    MIN_MEMORY to MAX_MEMORY, counts up to MAX_COUNT). A bad setting's message
    starts with its variable: ``TESTCTR_STARTUP_TIMEOUT=0: ...``.
    """


class UnsupportedOption(TestctrError):
    """The selected backend cannot express an option. Never silently ignored."""

    def __init__(self, option: str, backend: str, reason: str = "") -> None:
        message = f"option {option} is not supported by backend {backend!r}"
        if reason:
            message += f": {reason}"
        super().__init__(message)
        self.option = option
        self.backend = backend


class BackendNotFound(TestctrError, LookupError):
    """No backend is registered under the requested name."""

    def __init__(self, name: str, registered: Iterable[str]) -> None:
        names = ", ".join(sorted(registered)) or "(none)"
        super().__init__(f"no backend named {name!r}; registered backends: {names}")
        self.name = name


class ContainerNotFound(TestctrError, LookupError):
    """The engine knows no container with this id (removed, or never created)."""


class ContainerNotRunning(TestctrError):
    """An operation needs a running container (exec) and this one is stopped."""


class PortNotPublished(TestctrError, LookupError):
    """``Container.port`` was asked for a port that is not published."""


class NetworkNotFound(TestctrError, LookupError):
    """The engine knows no network by this name or id."""
