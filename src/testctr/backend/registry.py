"""Backend registry.

Backends are registered as instances or as factories. A factory is called the
first time its name is asked for, so importing testctr does not import every
backend (and their optional dependencies). A factory may come with an
``available`` predicate: that is the hook for platform-conditional
registration (a backend that only exists on macOS registers itself with a
predicate that checks the platform; elsewhere its name is simply absent).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from testctr.backend.protocols import Backend
from testctr.errors import BackendNotFound

Factory = Callable[[], Backend]
Predicate = Callable[[], bool]


@dataclass
class _Entry:
    factory: Factory
    available: Predicate | None
    instance: Backend | None = None


class Registry:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.RLock()
        self._deferred: list[Callable[[Registry], None]] = []

    def defer(self, loader: Callable[[Registry], None]) -> None:
        """Run ``loader(self)`` the first time a name is missing or names are listed.

        Entry-point discovery costs tens of milliseconds; deferring it keeps
        ``import testctr`` fast for the common case of built-in backends.
        """
        self._deferred.append(loader)

    def _run_deferred(self) -> None:
        while self._deferred:
            self._deferred.pop(0)(self)

    def register(self, name: str, backend: Backend) -> None:
        """Register a ready backend under ``name``. A duplicate name raises ValueError."""
        if not isinstance(backend, Backend):
            raise TypeError(f"{backend!r} does not implement testctr.backend.Backend")
        self._add(name, _Entry(factory=lambda: backend, available=None, instance=backend))

    def register_factory(self, name: str, factory: Factory, *, available: Predicate | None = None) -> None:
        """Register ``factory`` under ``name``; it runs on first use.

        ``available`` decides, each time names are listed or looked up, whether
        the backend exists on this machine.
        """
        self._add(name, _Entry(factory=factory, available=available))

    def _add(self, name: str, entry: _Entry) -> None:
        if not name or not isinstance(name, str):
            raise ValueError("backend name must be a non-empty string")
        with self._lock:
            if name in self._entries:
                raise ValueError(f"a backend named {name!r} is already registered")
            self._entries[name] = entry

    def unregister(self, name: str) -> None:
        with self._lock:
            self._entries.pop(name, None)

    def _visible(self, entry: _Entry) -> bool:
        return entry.available is None or entry.available()

    def get(self, name: str) -> Backend:
        with self._lock:
            entry = self._entries.get(name)
            if entry is None and self._deferred:
                self._run_deferred()
                entry = self._entries.get(name)
            if entry is None or not self._visible(entry):
                raise BackendNotFound(name, self.names())
            if entry.instance is None:
                entry.instance = entry.factory()
            return entry.instance

    def names(self) -> list[str]:
        with self._lock:
            self._run_deferred()
            return sorted(n for n, e in self._entries.items() if self._visible(e))

    def all_names(self) -> list[str]:
        """Every registered name, including those unavailable on this machine."""
        with self._lock:
            self._run_deferred()
            return sorted(self._entries)

    def is_available(self, name: str) -> bool:
        with self._lock:
            entry = self._entries.get(name)
            return entry is not None and self._visible(entry)


#: The registry :func:`testctr.new` uses.
default_registry = Registry()


def register(name: str, backend: Backend) -> None:
    default_registry.register(name, backend)


def register_factory(name: str, factory: Factory, *, available: Predicate | None = None) -> None:
    default_registry.register_factory(name, factory, available=available)


def get(name: str) -> Backend:
    return default_registry.get(name)


def names() -> list[str]:
    return default_registry.names()


def _install_defaults() -> None:
    from testctr.backends import load_entry_points, register_builtin

    register_builtin(default_registry)
    default_registry.defer(load_entry_points)


_install_defaults()
