"""The caller's deadline, which every engine call made on its behalf respects.

The core sets one around a container's start (``with_startup_timeout``), so
creation, start, the clean-up of a failed start and every wait share it; a
backend's call plumbing asks :func:`bound` how long its next call may take.
A context variable, not a parameter: the contract's methods keep their
signatures, and a thread started with ``contextvars.copy_context()`` (the
core's inspect prefetch) inherits the deadline.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

#: What a call made after the deadline passed still gets: the clean-up of a
#: start that timed out must be able to remove what the engine made.
GRACE = 0.5

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("testctr_deadline", default=None)


@contextlib.contextmanager
def until(deadline: float) -> Iterator[None]:
    """Engine calls in this block end by ``deadline`` (``time.monotonic()``); an outer one still holds."""
    outer = _deadline.get()
    token = _deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def bound(own: float) -> float:
    """How long the next engine call may take: its ``own`` bound or the time left, the shorter.

    Never less than :data:`GRACE`, so a call made past the deadline fails fast
    instead of not being made at all.
    """
    at = _deadline.get()
    if at is None:
        return own
    return min(own, max(at - time.monotonic(), GRACE))


def current() -> float | None:
    """The deadline in force (``time.monotonic()``), or None."""
    return _deadline.get()


class Unanswered:
    """An engine that did not answer within the deadline in force: later calls under it fail at once.

    A hung engine answers neither the creation nor the clean-up after it; asking
    it again would only push the error past the deadline. Calls under another
    deadline, or none, ask again.
    """

    def __init__(self) -> None:
        self._under: float | None = None
        self._message = ""

    def remember(self, error: Exception) -> None:
        self._under, self._message = current(), str(error)

    def message(self) -> str | None:
        """The first error's text when it happened under the deadline in force, else None."""
        at = current()
        return self._message if at is not None and at == self._under else None
