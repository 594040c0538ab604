"""Every exception testctr raises. All derive from :class:`TestctrError`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from testctr.backend.types import ExecResult

LAST_LOG_LINES = 20


def tail(logs: str, n: int = LAST_LOG_LINES) -> str:
    """The last ``n`` lines of ``logs``, indented for an error message."""
    lines = logs.rstrip("\n").splitlines()[-n:]
    if not lines:
        return "  (no log output)"
    return "\n".join("  | " + line for line in lines)


class TestctrError(Exception):
    """Base class of every testctr error."""

    __test__ = False  # not a test class, whatever pytest's name rules say


class EngineUnavailable(TestctrError):
    """No container runtime was found, or its engine does not answer."""


class ImageNotFound(TestctrError):
    """The image exists neither locally nor in its registry."""


class ImagePullError(TestctrError):
    """The image could not be pulled for another reason (network, auth, ...)."""


class ContainerStartError(TestctrError):
    """The container could not be created or started, or exited during startup."""

    def __init__(self, message: str, *, exit_code: int | None = None, logs: str = "") -> None:
        detail = message
        if exit_code is not None:
            detail += f" (exit code {exit_code})"
        if logs or exit_code is not None:
            detail += f"\nlast log lines:\n{tail(logs)}"
        super().__init__(detail)
        self.exit_code = exit_code
        self.logs = logs


class WaitTimeout(TestctrError, TimeoutError):
    """A wait strategy did not succeed within its timeout."""

    def __init__(self, strategy: str, waited: float, logs: str = "", detail: str = "") -> None:
        message = f"timed out after {waited:.1f}s waiting for {strategy}"
        if detail:
            message += f": {detail}"
        message += f"\nlast log lines:\n{tail(logs)}"
        super().__init__(message)
        self.strategy = strategy
        self.waited = waited
        self.logs = logs


class ExecError(TestctrError):
    """A command run in a container exited non-zero (or timed out)."""

    def __init__(self, cmd: Sequence[str], result: ExecResult, message: str = "") -> None:
        text = message or f"command {list(cmd)!r} exited with code {result.exit_code}"
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
