"""Unit-test setup: settings restored after every test, and the in-memory backend.

Nothing under tests/unit may need an engine: tests of the core's
orchestration run on :class:`MemoryBackend`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator

import pytest

from testctr import housekeeping, schedule, settings, wait
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
def _tests_left_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """This run's own count of tests left (the plugin sets it) must not cap the pools the tests make."""
    monkeypatch.setattr(schedule, "tests_left", None)


@pytest.fixture(autouse=True)
def _short_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default wait's settle time, a fifth of an engine's: every start sleeps it out.

    The in-memory backend reports an exit the moment it is due, so a shorter settle
    catches what the real one does; tests of it read ``wait.SETTLE``.
    """
    monkeypatch.setattr(wait, "SETTLE", 0.02)


@pytest.fixture
def register_backend() -> Iterator[Callable[[Backend], str]]:
    """``register_backend(b)``: ``b`` under a name of its own until the test ends; returns the name."""
    names: list[str] = []

    def register(backend: Backend) -> str:
        name = f"unit-{len(names)}"
        # The one place a test backend is registered.
        default_registry.register(name, backend)
        names.append(name)
        return name

    yield register
    for name in names:
        default_registry.unregister(name)


@pytest.fixture
def use_backend(register_backend: Callable[[Backend], str]) -> UseBackend:
    """``use_backend(b)``: every container of the test runs on ``b``.

    The leftover warning is off (tests of it turn it on), there is no pause
    after waiting for a creation slot, and a startup gives up after 5 s.
    """

    def use(backend: Backend) -> None:
        settings.configure(
            backend=register_backend(backend),
            runtime=None,
            warn_old=False,
            create_delay=0.0,
            startup_timeout=5.0,
            reaper=False,
        )

    return use


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each of pytester's in-process runs starts from the environment and settings it sets; the outer ones return."""
    for name in [n for n in os.environ if n.startswith("TESTCTR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(settings, "_current", None)
    monkeypatch.setattr(housekeeping, "_checked", None)  # no leftover check unless a test wants it


@pytest.fixture
def use_backend_in_inner_runs(
    isolated: None, register_backend: Callable[[Backend], str], monkeypatch: pytest.MonkeyPatch
) -> UseBackend:
    """``use_backend`` for pytester's in-process runs, which read their settings anew: ``b`` is TESTCTR_BACKEND.

    A module of such runs overrides ``use_backend`` with it; ``memory`` and ``bare`` follow.
    """

    def use(backend: Backend) -> None:
        monkeypatch.setenv("TESTCTR_BACKEND", register_backend(backend))

    return use


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
