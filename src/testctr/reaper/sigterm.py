"""SIGTERM runs the normal cleanup, like Ctrl-C does.

A cancelled CI job or ``timeout`` sends SIGTERM, whose default action ends
the process without a finally block or a pytest finalizer running. Raised as
a KeyboardInterrupt in the main thread, pytest stops the run and tears its
fixtures down, and ``with testctr.run(...)`` removes its container; even
with the reaper off.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


class Terminated(KeyboardInterrupt):
    """The process got SIGTERM.

    A KeyboardInterrupt, not a SystemExit: pytest records a SystemExit raised
    inside a test as that test's failure and carries on with the next one.
    """


def install() -> None:
    """Handle SIGTERM, unless someone else already does or we cannot."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return  # the user's or a framework's handler: theirs to decide
    signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # A second SIGTERM during the cleanup ends the process at once; the reaper
    # removes what the cleanup did not get to.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Terminated("SIGTERM")
