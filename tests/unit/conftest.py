"""Unit-test setup: settings restored after every test, and the in-memory backend.

Nothing under tests/unit may need an engine: tests of the core's
orchestration run on :class:`MemoryBackend`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest

from testctr import settings, wait
from testctr.backend.protocols import Backend
from testctr.backends import default_registry
from testctr.backends.memory import BareMemoryBackend, MemoryBackend

UseBackend = Callable[[Backend], None]


@pytest.fixture(autouse=True)
def _restore_settings() -> Iterator[None]:
    before = dataclasses.asdict(settings.current())
    yield
    settings.configure(**before)


@pytest.fixture(autouse=True)
def _short_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default wait's settle time, a fifth of an engine's: every start sleeps it out.

    The in-memory backend reports an exit the moment it is due, so a shorter settle
    catches what the real one does; tests of it read ``wait.SETTLE``.
    """
    monkeypatch.setattr(wait, "SETTLE", 0.02)


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


@pytest.fixture
def bare(use_backend: UseBackend) -> BareMemoryBackend:
    """A fresh in-memory backend with no optional capability."""
    backend = BareMemoryBackend()
    use_backend(backend)
    return backend


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester whose runs leave pytest-django out, as this run does (pyproject's addopts).

    pytester drops the modules an inner run imported first, so each run would import
    and assertion-rewrite pytest-django anew: a third of the plugin tests' time.
    """
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:django")
    return pytester
