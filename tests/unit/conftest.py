"""Unit-test setup: settings restored after every test, and the in-memory backend.

Nothing under tests/unit may need an engine: tests of the core's
orchestration run on :class:`MemoryBackend`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest

from testctr import settings
from testctr.backend.protocols import Backend
from testctr.backend.types import ContainerConfig, ContainerInfo, ExecResult
from testctr.backends import default_registry
from testctr.backends.memory import MemoryBackend

UseBackend = Callable[[Backend], None]


@pytest.fixture(autouse=True)
def _restore_settings() -> Iterator[None]:
    before = dataclasses.asdict(settings.current())
    yield
    settings.configure(**before)


@pytest.fixture
def use_backend() -> Iterator[UseBackend]:
    """``use_backend(b)``: every container of the test runs on ``b``.

    The leftover warning is off (tests of it turn it on), there is no pause
    after waiting for a creation slot, and a startup gives up after 5 s.
    """
    names: list[str] = []

    def use(backend: Backend) -> None:
        name = f"unit-{len(names)}"
        # The one place a test backend is registered.
        default_registry.register(name, backend)
        names.append(name)
        settings.configure(
            backend=name, runtime=None, warn_old=False, create_delay=0.0, startup_timeout=5.0, reaper=False
        )

    yield use
    for name in names:
        default_registry.unregister(name)


@pytest.fixture
def memory(use_backend: UseBackend) -> MemoryBackend:
    """A fresh in-memory backend with every capability."""
    backend = MemoryBackend()
    use_backend(backend)
    return backend


class BareBackend:
    """Only :class:`Backend`, none of the optional capabilities, over a MemoryBackend."""

    def __init__(self, inner: MemoryBackend) -> None:
        self.inner = inner
        self.runtime = inner.runtime

    def create_container(self, image: str, config: ContainerConfig) -> str:
        return self.inner.create_container(image, config)

    def start_container(self, container_id: str) -> None:
        self.inner.start_container(container_id)

    def stop_container(self, container_id: str, timeout: float = 10.0) -> None:
        self.inner.stop_container(container_id, timeout)

    def remove_container(self, container_id: str) -> None:
        self.inner.remove_container(container_id)

    def inspect_container(self, container_id: str) -> ContainerInfo:
        return self.inner.inspect_container(container_id)

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
        return self.inner.exec_in_container(container_id, cmd, timeout=timeout)

    def get_container_logs(self, container_id: str) -> str:
        return self.inner.get_container_logs(container_id)

    def wait_for_log(self, container_id: str, pattern: re.Pattern[str], timeout: float, occurrences: int = 1) -> None:
        self.inner.wait_for_log(container_id, pattern, timeout, occurrences)

    def internal_ip(self, container_id: str) -> str:
        return self.inner.internal_ip(container_id)

    def commit(self, container_id: str, image: str) -> None:
        self.inner.commit(container_id, image)

    def host(self) -> str:
        return self.inner.host()

    def version(self) -> str:
        return self.inner.version()


@pytest.fixture
def bare(use_backend: UseBackend) -> MemoryBackend:
    """Containers run on a backend with no optional capability; returns the memory behind it."""
    inner = MemoryBackend()
    use_backend(BareBackend(inner))
    return inner
