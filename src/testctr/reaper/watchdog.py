"""The watchdog process: removes what its parent leaves behind when it dies.

Started by :mod:`testctr.reaper` as ``python -m testctr.reaper PARENT_PID``
with the read end of a pipe as stdin. The parent writes an event before each
create and after each removal (see :mod:`testctr.reaper.protocol`). When the
pipe reaches EOF (the parent ended, however it ended) or the parent's pid is
no longer our parent (a forked child of the parent still holds the pipe),
everything still watched is removed and the watchdog exits: containers and
Compose projects at once, then networks at once (an engine refuses to remove a
network while a container is attached to it).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable

from testctr.backend.protocols import Backend, NetworkManager
from testctr.errors import ContainerNotFound, NetworkNotFound, TestctrError
from testctr.reaper.protocol import COMPOSE, CONTAINER, NETWORK, RELEASE, WATCH, Event, decode, parse_compose_ref

#: How often the parent's pid is checked while the pipe is quiet.
PARENT_POLL = 0.5
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


class Guard:
    """What the parent watches and has not released, in the order it came."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str, str, str], Event] = {}

    def apply(self, event: Event) -> None:
        if event.op == WATCH:
            self._held[event.key] = event
        elif event.op == RELEASE:
            self._held.pop(event.key, None)

    def leftovers(self) -> list[Event]:
        return list(self._held.values())


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


def read_events(fd: int, parent_alive: Callable[[], bool], poll: float = PARENT_POLL) -> Iterable[Event]:
    """The events on ``fd`` until EOF or until the parent is gone."""
    pending = b""
    while parent_alive():
        readable, _, _ = select.select([fd], [], [], poll)
        if not readable:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            event = decode(line)
            if event is not None:
                yield event


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


def guard(fd: int, parent_alive: Callable[[], bool], remover: Remover, poll: float = PARENT_POLL) -> list[str]:
    """Follow the parent's events, then remove what it left; the problems."""
    held = Guard()
    # Backends are made only now: made earlier, "auto" would probe the engines
    # while the parent's create runs, on the hot path it must stay off.
    for event in read_events(fd, parent_alive, poll):
        held.apply(event)
    return reap(held.leftovers(), remover.remove)


def resolve(name: str, runtime: str) -> Backend:
    """The parent's backend, made again from its name and runtime."""
    from testctr.backends import resolve as resolve_backend
    from testctr.errors import UnsupportedOption

    try:
        return resolve_backend(name, runtime).backend
    except UnsupportedOption:  # a backend that drives one runtime only: its name says it all
        return resolve_backend(name).backend


def main(argv: list[str]) -> int:
    # In its own session already; a terminal's Ctrl-C must not stop the cleanup either.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = int(argv[0])
    problems = guard(sys.stdin.fileno(), lambda: os.getppid() == parent, Remover(resolve))
    return 1 if problems else 0
