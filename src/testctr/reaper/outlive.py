"""A watchdog for what belongs to another process than the one that made it.

An xdist worker creates the container its run shares, but the run is the
controller's: a worker that dies must not take the container from the others.
``python -m testctr.reaper --outlive PID PID_START BACKEND RUNTIME REF`` polls
the controller and removes ``REF`` once it is gone, however it ended. Its own
parent may die first: it holds no pipe to it and runs in its own session.
"""

from __future__ import annotations

import signal
import time

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable

#: How often the owner's pid is checked.
POLL = 0.5

FLAG = "--outlive"


def argv(owner_pid: int, owner_start: str, backend: str, runtime: str, ref: str) -> list[str]:
    """The arguments after ``-m testctr.reaper`` that start this watchdog."""
    return [FLAG, str(owner_pid), owner_start, backend, runtime, ref]


def wait_for_end(alive: Callable[[], bool], poll: float = POLL) -> None:
    while alive():
        time.sleep(poll)


def main(args: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pid, start, backend_name, runtime, ref = args
    # Here, not at the top: every watchdog imports this module (for FLAG), and boots beside a create.
    from testctr.labels import process_alive

    wait_for_end(lambda: process_alive(int(pid), start))
    import contextlib

    from testctr.errors import ContainerNotFound
    from testctr.reaper.watchdog import resolve

    with contextlib.suppress(ContainerNotFound):
        resolve(backend_name, runtime).remove_container(ref)
    return 0
