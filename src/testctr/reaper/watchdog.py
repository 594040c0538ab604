"""The watchdog process: follows its parent, and removes what the parent leaves behind when it dies.

Started by :mod:`testctr.reaper` as ``python -m testctr.reaper PARENT_PID``
(:func:`testctr.reaper.command`) with the read end of a pipe as stdin. The parent writes an event before each
create and after each removal (see :mod:`testctr.reaper.protocol`). When the
pipe reaches EOF (the parent ended, however it ended) or the parent's pid is
no longer our parent (a forked child of the parent still holds the pipe),
everything still watched is removed (:mod:`testctr.reaper.removal`) and the
watchdog exits.

It boots while the parent creates its first container, on the same CPUs as
the engine: until the parent is gone it imports only what reading the pipe
needs (``python -X importtime -m testctr.reaper 1 </dev/null`` shows it).
"""

from __future__ import annotations

import os
import select
import signal
import sys

from testctr.reaper.protocol import RELEASE, WATCH, Event, decode

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from testctr.backend.protocols import Backend

#: How often the parent's pid is checked while the pipe is quiet.
PARENT_POLL = 0.5


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


def follow(fd: int, parent_alive: Callable[[], bool], poll: float = PARENT_POLL) -> list[Event]:
    """Follow the parent's events until it is gone; what it left, in the order it came."""
    held = Guard()
    for event in read_events(fd, parent_alive, poll):
        held.apply(event)
    return held.leftovers()


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
    leftovers = follow(sys.stdin.fileno(), lambda: os.getppid() == parent)
    if not leftovers:
        return 0
    # Only now, backends too: made earlier, "auto" would probe the engines while the parent's create runs.
    from testctr.reaper.removal import Remover, reap

    return 1 if reap(leftovers, Remover(resolve).remove) else 0
