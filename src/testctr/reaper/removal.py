"""What the watchdog does once its parent is gone: remove everything still watched.

Containers and Compose projects at once, then networks at once (an engine
refuses to remove a network while a container is attached to it). Imported
only then: the watchdog's boot stays off the CPU the parent's first create needs.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable

from testctr.backend.protocols import Backend, NetworkManager
from testctr.errors import ContainerNotFound, NetworkNotFound, TestctrError
from testctr.reaper.protocol import COMPOSE, CONTAINER, NETWORK, Event, parse_compose_ref

#: How long the watchdog waits for its removals before it gives up and exits.
REAP_TIMEOUT = 60.0
#: What is removed together, phase after phase: a network only once nothing of ours is attached to it.
PHASES: tuple[frozenset[str], ...] = (frozenset({CONTAINER, COMPOSE}), frozenset({NETWORK}))
#: How long a network removal is tried again while the engine still reports endpoints:
#: a container's removal returns before the engine has let go of its network.
NETWORK_RETRY = 5.0
NETWORK_RETRY_INTERVAL = 0.2
#: A Compose ``down`` of a killed run's project.
COMPOSE_DOWN_TIMEOUT = 120.0

Resolve = Callable[[str, str], Backend]


class Remover:
    """Removes one watched thing; backends are made once per (name, runtime)."""

    def __init__(self, resolve: Resolve) -> None:
        self._resolve = resolve
        self._backends: dict[tuple[str, str], Backend] = {}
        self._lock = threading.Lock()

    def backend(self, name: str, runtime: str) -> Backend:
        with self._lock:
            backend = self._backends.get((name, runtime))
            if backend is None:
                backend = self._backends[(name, runtime)] = self._resolve(name, runtime)
            return backend

    def remove(self, event: Event) -> None:
        if event.kind == CONTAINER:
            with contextlib.suppress(ContainerNotFound):  # never made, or already removed
                self.backend(event.backend, event.runtime).remove_container(event.ref)
        elif event.kind == NETWORK:
            backend = self.backend(event.backend, event.runtime)
            if isinstance(backend, NetworkManager):  # only such a backend made it
                remove_network(backend, event.ref)
        elif event.kind == COMPOSE:
            compose_down(event.ref)
        # A kind this watchdog does not know: leave it.


def remove_network(
    manager: NetworkManager, name: str, retry: float = NETWORK_RETRY, interval: float = NETWORK_RETRY_INTERVAL
) -> None:
    """Remove the network ``name``, trying again for ``retry`` seconds while the engine refuses."""
    deadline = time.monotonic() + retry
    while True:
        try:
            manager.remove_network(name)
            return
        except NetworkNotFound:  # never made, or already removed
            return
        except TestctrError:
            # The contract's answer for a network still in use; which words an
            # engine says it with is the backend's business.
            if time.monotonic() + interval > deadline:
                raise
        time.sleep(interval)


def compose_down(ref: str) -> None:
    """Run the ``down`` a :func:`~testctr.reaper.protocol.compose_ref` names."""
    parsed = parse_compose_ref(ref)
    if parsed is None:
        return  # not one this watchdog can read: leave it
    argv, env = parsed
    try:
        result = subprocess.run(
            argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=COMPOSE_DOWN_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise TestctrError(f"{argv[0]} down: {e}") from None
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise TestctrError(f"{argv[0]} down exited with {result.returncode}: {last}")


def reap(events: list[Event], remove: Callable[[Event], None], timeout: float = REAP_TIMEOUT) -> list[str]:
    """Remove everything, each phase's kinds at once (see :data:`PHASES`); the problems, one line each.

    Kinds in no phase are left alone.
    """
    problems: list[str] = []

    def one(event: Event) -> None:
        try:
            remove(event)
        except Exception as e:  # every other removal must still run
            problems.append(f"{event.kind} {event.ref}: {e}")

    deadline = time.monotonic() + timeout
    for kinds in PHASES:
        phase = [event for event in events if event.kind in kinds]
        threads = [threading.Thread(target=one, args=(event,), daemon=True) for event in phase]
        for thread in threads:
            thread.start()
        for thread, event in zip(threads, phase, strict=True):
            thread.join(max(deadline - time.monotonic(), 0))
            if thread.is_alive():
                problems.append(f"{event.kind} {event.ref}: no answer within {timeout:.0f}s")
    return problems
