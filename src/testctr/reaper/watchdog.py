"""The watchdog process: removes what its parent leaves behind when it dies.

Started by :mod:`testctr.reaper` as ``python -m testctr.reaper PARENT_PID``
with the read end of a pipe as stdin. The parent writes an event before each
create and after each removal (see :mod:`testctr.reaper.protocol`). When the
pipe reaches EOF (the parent ended, however it ended) or the parent's pid is
no longer our parent (a forked child of the parent still holds the pipe),
everything still watched is removed in parallel and the watchdog exits.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable

from testctr.backend.protocols import Backend
from testctr.errors import ContainerNotFound
from testctr.reaper.protocol import CONTAINER, RELEASE, WATCH, Event, decode

#: How often the parent's pid is checked while the pipe is quiet.
PARENT_POLL = 0.5
#: How long the watchdog waits for its removals before it gives up and exits.
REAP_TIMEOUT = 60.0

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
        if event.kind != CONTAINER:
            return  # a kind this watchdog does not know: leave it
        with contextlib.suppress(ContainerNotFound):  # never made, or already removed
            self.backend(event.backend, event.runtime).remove_container(event.ref)


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
    """Remove everything at once; the problems, one line each."""
    problems: list[str] = []

    def one(event: Event) -> None:
        try:
            remove(event)
        except Exception as e:  # every other removal must still run
            problems.append(f"{event.kind} {event.ref}: {e}")

    threads = [threading.Thread(target=one, args=(event,), daemon=True) for event in events]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread, event in zip(threads, events, strict=True):
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
