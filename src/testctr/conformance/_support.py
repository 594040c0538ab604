"""Helpers shared by the conformance tests (not part of the public API)."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from testctr import image_map
from testctr import settings as _settings
from testctr.backend.protocols import Backend
from testctr.backend.types import ContainerConfig
from testctr.backends import requested_name, resolve
from testctr.labels import container_labels
from testctr.parsing import container_name

BUSYBOX = "busybox"
REDIS = "redis:7-alpine"


def sleeper_command(first: str = "echo ready") -> list[str]:
    """A PID 1 command: runs the shell commands ``first``, then sleeps.

    It exits 0 at once on SIGTERM: a stop takes no grace period (a shell or
    ``sleep`` as PID 1 ignores SIGTERM, so the engine would wait, then kill).
    """
    return ["sh", "-c", f"trap 'exit 0' TERM; {first}; sleep 3600 & wait"]


#: The sleeper that says "ready" when it runs.
SLEEPER = sleeper_command()

#: Label on every container the suite creates directly through the backend.
CONFORMANCE_LABEL = "testctr.conformance"

T = TypeVar("T")


def backend_name() -> str:
    return requested_name()


def resolve_backend() -> Backend:
    """The backend under test, chosen as testctr.new chooses it."""
    return resolve().backend


def local_image(image: str) -> str:
    """What the backend is asked for when a test names ``image`` (TESTCTR_IMAGE_MAP applied)."""
    return image_map.local_image(image)


def wait_until(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def record_unsupported(request: pytest.FixtureRequest, option: str) -> None:
    """The backend refused ``option`` with UnsupportedOption: allowed, and shown in the matrix."""
    request.node.user_properties.append(("testctr-unsupported", option))


def record_note(request: pytest.FixtureRequest, text: str) -> None:
    """A measurement worth seeing beside the matrix (a passed test's only output there)."""
    request.node.user_properties.append(("testctr-note", text))


#: What the matrix shows (as ok*) for a backend whose engine does not report exit codes.
EXIT_CODE_UNKNOWN = "exit code (not reported)"


def check_exit_code(request: pytest.FixtureRequest, exit_code: int | None, expected: int, running: bool) -> None:
    """``exit_code`` of a container that is no longer ``running`` is ``expected``, or unknown.

    None means the engine does not report exit codes (Apple's ``container``):
    allowed, shown in the matrix as ok*. A backend must never invent one, so a
    value that is not None is checked exactly.
    """
    assert not running, "a container with an exit code has stopped"
    if exit_code is None:
        record_unsupported(request, EXIT_CODE_UNKNOWN)
        return
    assert exit_code == expected


def host_platform() -> str:
    """linux/ARCH of the machine the engine most likely runs on (the host's arch)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"linux/{arch}"


def unknown_id() -> str:
    """A container id no engine knows (and no CLI error message could mistake for a verb)."""
    return "testctr-conformance-missing-" + os.urandom(6).hex()


class RawContainers:
    """Creates containers straight through the backend, removed at the test's end."""

    def __init__(self, request: pytest.FixtureRequest, backend: Backend) -> None:
        self._request = request
        self.backend = backend

    def create(self, image: str, **fields: Any) -> str:
        s = _settings.current()
        config = ContainerConfig(name=container_name(self._request.node.nodeid, os.urandom(3).hex()), **fields)
        config.labels = {
            **config.labels,
            **container_labels(s.label, self._request.node.nodeid, image),
            CONFORMANCE_LABEL: "true",
        }
        container_id = self.backend.create_container(local_image(image), config)
        self._request.addfinalizer(lambda: self._remove(container_id))
        return container_id

    def _remove(self, container_id: str) -> None:
        from testctr.errors import ContainerNotFound

        with contextlib.suppress(ContainerNotFound):  # the test removed it itself
            self.backend.remove_container(container_id)

    def wait_exited(self, container_id: str, timeout: float = 60) -> Any:
        def exited() -> Any:
            state = self.backend.inspect_container(container_id).state
            return state if not state.running else None

        return wait_until(exited, timeout, f"container {container_id[:12]} to exit")

    def wait_running(self, container_id: str, timeout: float = 60) -> Any:
        def running() -> Any:
            state = self.backend.inspect_container(container_id).state
            return state if state.running else None

        return wait_until(running, timeout, f"container {container_id[:12]} to run")


def log_pattern(text: str) -> re.Pattern[str]:
    return re.compile(re.escape(text))


def blocked(reaches: Callable[[], bool], tries: int = 4) -> bool:
    """Whether a path is blocked, allowing for an engine that drops its rules for a moment.

    Podman 4.3's netavark removes and re-adds every network's isolation rules
    when another isolated network is torn down, so under parallel tests one
    attempt may slip through: one blocked attempt of a few shows the rules
    exist, while a network with no isolation lets every attempt through.
    """
    for _ in range(tries):
        if not reaches():
            return True
        time.sleep(0.5)
    return False
