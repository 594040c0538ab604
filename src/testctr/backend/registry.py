"""The backend registry: names, factories, and the candidates of ``auto``.

Backends are registered as instances or as factories. A factory is called the
first time its name is asked for, so importing testctr does not import every
backend (and their optional dependencies). A factory may come with an
``available`` predicate: that is the hook for platform-conditional
registration (a backend that only exists on macOS registers itself with a
predicate that checks the platform; elsewhere its name is simply absent).

A name can also be a chooser (``auto``): it picks another backend at first
use and answers with that backend and its name. Any backend can offer itself
to such a chooser as an :class:`AutoCandidate`.

This module is part of the contract: it knows no backend. The registry that
:func:`testctr.new` uses, with the built-in backends in it, lives in
:mod:`testctr.backends`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from testctr.backend.protocols import Backend
from testctr.errors import BackendNotFound

Factory = Callable[[], Backend]
Predicate = Callable[[], bool]
#: Picks a backend; returns the name of the backend it picked and the backend.
Chooser = Callable[[str | None], "tuple[str, Backend]"]


@dataclass(frozen=True)
class Pin:
    """The user named this engine (DOCKER_HOST=..., a docker context, ...)."""

    #: What names it, as the user would recognise it: ``DOCKER_HOST=tcp://10.0.0.5:2376``.
    setting: str
    #: How to stop naming it, for error messages: ``unset DOCKER_HOST``.
    undo: str


@dataclass(frozen=True)
class AutoCandidate:
    """One engine ``auto`` may choose: probed in ``priority`` order, lowest first.

    ``backend`` builds (or looks up) the backend to probe: ``version()``
    answering means usable. ``missing`` is a cheap check run before that: a
    reason the candidate cannot be used here ("not on PATH"), or None.
    ``pinned`` says whether the user named this engine; a pinned engine that
    does not answer is an error, never a reason to fall back to another.
    """

    label: str
    backend_name: str
    priority: int
    backend: Factory
    missing: Callable[[], str | None] = lambda: None
    pinned: Callable[[], Pin | None] = lambda: None


@dataclass
class _Entry:
    factory: Factory | None
    chooser: Chooser | None
    available: Predicate | None
    chosen: tuple[str, Backend] | None = None


class Registry:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._candidates: list[AutoCandidate] = []
        self._lock = threading.RLock()
        self._deferred: list[Callable[[Registry], None]] = []

    def defer(self, loader: Callable[[Registry], None]) -> None:
        """Run ``loader(self)`` the first time a name is missing, or names or candidates are listed.

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
        self._add(name, _Entry(factory=None, chooser=None, available=None, chosen=(name, backend)))

    def register_factory(
        self, name: str, factory: Factory, *, available: Predicate | None = None, auto_priority: int | None = None
    ) -> None:
        """Register ``factory`` under ``name``; it runs on first use.

        ``available`` decides, each time names are listed or looked up, whether
        the backend exists on this machine. With ``auto_priority``, the backend
        is also a candidate of ``auto`` (lower is tried first; the built-in
        engines use 100 to 130).
        """
        self._add(name, _Entry(factory=factory, chooser=None, available=available))
        if auto_priority is not None:

            def missing() -> str | None:
                return None if available is None or available() else "not available on this machine"

            self.add_auto_candidate(AutoCandidate(name, name, auto_priority, lambda: self.get(name), missing))

    def register_chooser(self, name: str, chooser: Chooser) -> None:
        """Register a name that stands for the backend ``chooser`` picks.

        The pick is kept once it succeeds; a chooser that raises is asked
        again next time.
        """
        self._add(name, _Entry(factory=None, chooser=chooser, available=None))

    def add_auto_candidate(self, candidate: AutoCandidate) -> None:
        with self._lock:
            if any(c.label == candidate.label for c in self._candidates):
                raise ValueError(f"an auto candidate labelled {candidate.label!r} is already registered")
            self._candidates.append(candidate)

    def auto_candidates(self) -> list[AutoCandidate]:
        """Every candidate, in the order ``auto`` tries them."""
        with self._lock:
            self._run_deferred()
            return sorted(self._candidates, key=lambda c: c.priority)

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
            self._candidates = [c for c in self._candidates if c.backend_name != name]

    def _visible(self, entry: _Entry) -> bool:
        return entry.available is None or entry.available()

    def lookup(self, name: str, runtime: str | None = None) -> tuple[str, Backend]:
        """The backend ``name`` stands for, and the name of that backend.

        They differ for a chooser: ``lookup("auto")`` may give ``("cli", ...)``.
        A ``runtime`` the caller insists on (``with_runtime``) goes to a chooser,
        which must then pick a backend that drives it.
        """
        with self._lock:
            entry = self._entries.get(name)
            if entry is None and self._deferred:
                self._run_deferred()
                entry = self._entries.get(name)
            if entry is None or not self._visible(entry):
                raise BackendNotFound(name, self.names())
            if entry.chooser is not None and runtime is not None:
                return entry.chooser(runtime)
            if entry.chosen is None:
                if entry.chooser is not None:
                    entry.chosen = entry.chooser(None)
                else:
                    assert entry.factory is not None
                    entry.chosen = (name, entry.factory())
            return entry.chosen

    def get(self, name: str) -> Backend:
        return self.lookup(name)[1]

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
