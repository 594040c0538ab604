"""Following a container's log: ``container logs`` gives the lines, ``logs -f`` says when to read."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from testctr.backend.deadline import until
from testctr.backends._process import FollowedLines
from testctr.errors import ContainerNotFound, EngineUnavailable

if TYPE_CHECKING:
    from testctr.backends.apple.backend import AppleBackend


def log_lines(text: str) -> list[str]:
    """The lines of ``container logs`` output (which trims the log's trailing newlines)."""
    body = text[:-1] if text.endswith("\n") else text
    return [line.rstrip("\r") for line in body.split("\n")] if body else []


@dataclass
class LogCursor:
    """How much of a log, read whole each time, a follower has given out."""

    count: int = 0
    last: str = ""

    def advance(self, lines: Sequence[str]) -> list[str]:
        """The lines of this read of the log not given out yet; moves the cursor past them."""
        if len(lines) < self.count:
            # Shorter than what was given out: the log was replaced; give it from its start.
            fresh = list(lines)
        elif self.count and lines[self.count - 1] != self.last and lines[self.count - 1].startswith(self.last):
            # The last line given out was read half-written: give it again, whole.
            fresh = list(lines[self.count - 1 :])
        else:
            fresh = list(lines[self.count :])
        self.count = len(lines)
        self.last = lines[-1] if lines else ""
        return fresh


class LogFollower:
    """A container's log lines, followed: ``container logs`` gives them, ``logs -f`` says when to read.

    The lines printed by ``container logs -f`` itself are not the container's
    lines: the real tool prints what each read of the log file returned, split
    at newlines, so a line that arrives in two writes comes out as two lines
    and empty lines are dropped; it never ends, not even when the VM stops; and
    the emulator used on Linux prints some lines twice where the existing log
    meets the followed one. So ``logs -n 0 -f`` (new output only) is just the
    signal that the log grew: at each signal (a burst of them is one read) the
    follower reads the whole log and gives out the lines past its
    :class:`LogCursor`, so every line comes once, whole and in order. The
    signal starts only once the lines already there are given out (a wait for
    a line printed at startup costs one read). After a quiet second the
    follower reads anyway (output between a read and the start of ``logs -f``
    gives no signal) and looks at the state: when the container does not run,
    a last read, then the stream ends.

    A read of a flooded log takes seconds and cannot start from an offset, so
    each read runs under the deadline of the :meth:`next_line` that made it
    (:func:`testctr.backend.deadline.until`): the CLI is killed there (or
    ``GRACE`` later, for a read begun just before), and the wait ends on time.
    """

    QUIET = 1.0  # seconds without a signal before reading anyway and checking the state
    MIN_INTERVAL = 0.2  # between two reads of the whole log, however busy the container

    def __init__(self, backend: AppleBackend, container_id: str) -> None:
        self._backend = backend
        self._id = container_id
        self._signal: FollowedLines | None = None
        self._signal_lock = threading.Lock()  # close() may come from another thread
        self._cursor = LogCursor()
        self._pending: deque[str] = deque()
        self._next_read = 0.0  # at once: the log as it is now
        self._last_read = 0.0
        self._finished = False
        self._closed = False
        self.ended = False

    def next_line(self, timeout: float) -> str | None:
        """The next line; None when ``timeout`` passes first. Sets ``ended`` at the end."""
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            if self._pending:
                return self._pending.popleft()
            if self._finished or self._closed:
                self.ended = True
                return None
            now = time.monotonic()
            if now >= deadline:
                return None
            if now >= self._next_read:
                self._read_and_check(deadline)
                continue
            wait = min(deadline, self._next_read) - now
            if self._signal is None:
                with self._signal_lock:
                    if self._closed:
                        continue
                    self._signal = FollowedLines([self._backend.binary, "logs", "-n", "0", "--follow", self._id])
            if self._signal.ended:  # the emulator's `logs -f` ends with the container
                time.sleep(wait)
                continue
            if self._signal.next_line(wait) is not None or self._signal.ended:
                self._signal.skip_ready()  # the rest of a burst (endless in a flood): one read covers it
                self._next_read = max(now, self._last_read + self.MIN_INTERVAL)

    def _read(self) -> bool:
        self._last_read = time.monotonic()
        fresh = self._cursor.advance(log_lines(self._backend.get_container_logs(self._id)))
        self._pending.extend(fresh)
        return bool(fresh)

    def _read_and_check(self, deadline: float) -> None:
        try:
            with until(deadline):
                self._read_and_check_state()
        except EngineUnavailable:
            if time.monotonic() < deadline:
                raise
            # The deadline killed the CLI: a cut read gave out nothing (the next one
            # starts over), and the caller gets what is pending, or None, on time.

    def _read_and_check_state(self) -> None:
        try:
            if self._read() or self._backend.inspect_container(self._id).state.running:
                self._next_read = time.monotonic() + self.QUIET
                return
            self._read()  # what it printed between the read above and its exit
        except ContainerNotFound:
            pass  # removed while followed: the stream ends
        self._finished = True

    def __iter__(self) -> Iterator[str]:
        while not self.ended:
            line = self.next_line(3600)  # returns with the first line, or at the end
            if line is not None:
                yield line

    def close(self) -> None:
        with self._signal_lock:
            self._closed = True
            signal = self._signal
        if signal is not None:
            signal.close()
