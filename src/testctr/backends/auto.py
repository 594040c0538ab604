"""The "auto" backend: the best engine this machine has, chosen once per process.

The engines it may choose are data: the registry's :class:`AutoCandidate`
list, which any registered backend can join. They are probed in priority
order and the first whose ``version()`` answers wins, with three rules on top:

* a runtime named by TESTCTR_RUNTIME or --testctr-runtime skips the search:
  the first candidate that drives that runtime is the choice, answering or not;
* an engine the user named (DOCKER_HOST, a docker context, CONTAINER_HOST: a
  pinned candidate) is the only kind auto may choose; when it does not
  answer, that is an error naming the setting, never a silent fall back to
  an engine the user did not name;
* a failed choice is made again at the next use; a good one is kept.

The choice and the reasons the others were skipped are kept for ``testctr
doctor``. "auto" resolves to the chosen backend itself, so the core sees its
capabilities and backend-specific extras (such as ``boot_logs``) directly.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from testctr.backend.protocols import RuntimeSelectable
from testctr.errors import EngineUnavailable, TestctrError

if TYPE_CHECKING:
    from testctr.backend.protocols import Backend
    from testctr.backend.registry import AutoCandidate, Registry

#: Asks a candidate's backend whether its engine answers: its version, or a TestctrError.
Probe = Callable[["Backend"], str]


def _version(backend: Backend) -> str:
    return backend.version()


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


@dataclass
class Choice:
    """What "auto" picked, why, and why each other candidate was skipped."""

    candidate: AutoCandidate | None = None
    backend: Backend | None = None
    #: What was chosen, as doctor shows it: "cli/docker", or "cli with /opt/bin/podman".
    label: str = ""
    reason: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: Why nothing was chosen, and what to do about it.
    failure: str = ""
    fix: str = ""

    @property
    def error(self) -> str:
        tried = "".join(f"\n  {who}: {why}" for who, why in self.skipped)
        return self.failure + (":" + tried if tried else "") + (f"\nfix: {self.fix}" if self.fix else "")

    @property
    def name(self) -> str:
        """The registered name of the chosen backend ("cli", "apple", ...)."""
        return self.candidate.backend_name if self.candidate is not None else ""

    def chosen(self) -> tuple[str, Backend]:
        if self.backend is None:
            raise EngineUnavailable(self.error)
        return self.name, self.backend

    def explain(self) -> list[str]:
        lines = [f"skipped {who}: {why}" for who, why in self.skipped]
        if self.candidate is not None and self.backend is not None:
            lines.append(f"chose {self.label} ({self.reason})")
        else:
            lines.append(f"no usable engine: {self.failure}")
            lines += [f"fix: {self.fix}"] if self.fix else []
        return lines


def choose(registry: Registry, runtime: str | None = None, probe: Probe = _version) -> Choice:
    """Probe the candidates in order; the first that answers wins (see the module's rules)."""
    candidates = registry.auto_candidates()
    if runtime:
        return _for_runtime(candidates, runtime, probe)
    choice = Choice()
    missing = {c.label: c.missing() for c in candidates}
    pins = {c.label: pin for c in candidates if missing[c.label] is None and (pin := c.pinned()) is not None}
    for candidate in candidates:
        pin = pins.get(candidate.label)
        why = missing[candidate.label]
        if why is None and pins and pin is None:
            why = ", ".join(p.setting for p in pins.values()) + " names the engine to use"
        if why is not None:
            choice.skipped.append((candidate.label, why))
            continue
        try:
            backend = candidate.backend()
            version = probe(backend)
        except TestctrError as e:
            choice.skipped.append((candidate.label, _one_line(e)))
            continue
        why = f"{pin.setting} names it" if pin is not None else "the first that answers"
        choice.candidate, choice.backend, choice.label = candidate, backend, candidate.label
        choice.reason = f"{why}; version {version}"
        return choice
    if pins:
        settings = ", ".join(p.setting for p in pins.values())
        undo = " / ".join(p.undo for p in pins.values())
        choice.failure = f"{settings} names the container engine to use, and it does not answer (backend auto)"
        choice.fix = f"start that engine or correct the setting; or {undo} to let testctr choose another engine"
    else:
        choice.failure = "no container engine answers (backend auto)"
        choice.fix = "start one of these engines (or install one); `testctr doctor` shows what was tried"
    return choice


def _for_runtime(candidates: list[AutoCandidate], runtime: str, probe: Probe) -> Choice:
    """The first present candidate that drives ``runtime``: no search, no fall back."""
    choice = Choice()
    wanted = os.path.basename(runtime)
    named = f"the runtime {runtime} (TESTCTR_RUNTIME or with_runtime)"
    for candidate in candidates:
        why = candidate.missing()
        if why is not None:
            choice.skipped.append((candidate.label, why))
            continue
        who = candidate.label
        try:
            backend = candidate.backend()
            if isinstance(backend, RuntimeSelectable):
                who = f"{candidate.backend_name} with {runtime}"
                backend = backend.for_runtime(runtime)
            elif backend.runtime != wanted:
                choice.skipped.append((who, f"{named} names another engine"))
                continue
            version = probe(backend)
        except TestctrError as e:
            choice.skipped.append((who, _one_line(e)))
            choice.failure = f"{named} names the engine to use, and it cannot be used (backend auto)"
            choice.fix = f"install or start that engine, or name another runtime than {runtime}"
            return choice
        choice.candidate, choice.backend, choice.label = candidate, backend, who
        choice.reason = f"{named} names it; version {version}"
        return choice
    choice.failure = f"{named} names the engine to use, and no backend of auto drives it"
    choice.fix = "install that engine, name another runtime, or name a backend with TESTCTR_BACKEND"
    return choice


class Auto:
    """The choice of one registry, made at first use (again after a failed one)."""

    def __init__(self, registry: Registry, runtime: Callable[[], str | None]) -> None:
        self._registry = registry
        self._runtime = runtime
        self._lock = threading.Lock()
        self._choice: Choice | None = None
        self._for_runtime: dict[str, Choice] = {}

    def choice(self) -> Choice:
        with self._lock:
            if self._choice is None or self._choice.backend is None:
                self._choice = choose(self._registry, self._runtime())
            return self._choice

    def choose(self, runtime: str | None = None) -> tuple[str, Backend]:
        """The registry's chooser for "auto": the chosen backend's name and the backend.

        ``runtime`` is one a caller insists on (``with_runtime``): the choice
        is then the first candidate that drives it, kept per runtime.
        """
        if runtime is None:
            return self.choice().chosen()
        with self._lock:
            choice = self._for_runtime.get(runtime)
            if choice is None or choice.backend is None:
                choice = self._for_runtime[runtime] = choose(self._registry, runtime)
        return choice.chosen()
