"""Subprocess plumbing shared by backends that drive a command-line tool.

Every call has a timeout, shortened to the caller's deadline
(:mod:`testctr.backend.deadline`), and none uses a shell. Output is decoded as
UTF-8 with replacement, so a binary byte in a log never crashes a test. The
programs run in a directory testctr owns (:func:`work_dir`), never the test's.
"""

from __future__ import annotations

import atexit
import io
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from testctr.backend.deadline import bound
from testctr.backend.types import ContainerInfo, ExecResult
from testctr.errors import ContainerStartError, ExecTimeout, TestctrError, WaitTimeout

_work_dir: str | None = None
_work_dir_lock = threading.Lock()


def work_dir() -> str:
    """The working directory of every engine CLI this process runs (made once, removed at exit).

    Engine tools write files into their working directory (Podman's conmon
    leaves an ``oom`` file there when a container is OOM-killed): the user's
    project folder must not collect them.
    """
    global _work_dir
    with _work_dir_lock:
        if _work_dir is None or not os.path.isdir(_work_dir):
            _work_dir = tempfile.mkdtemp(prefix="testctr-cwd-")
            atexit.register(shutil.rmtree, _work_dir, ignore_errors=True)
        return _work_dir


@dataclass(frozen=True)
class Completed:
    argv: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace").strip()


class CommandTimeout(Exception):
    """A command did not finish in time (the backend turns it into a testctr error)."""

    def __init__(self, argv: Sequence[str], timeout: float) -> None:
        super().__init__(f"{' '.join(argv[:3])} ... did not finish within {timeout:.0f}s")
        self.argv = list(argv)
        self.timeout = timeout


def run_command(
    argv: Sequence[str],
    timeout: float,
    input: bytes | None = None,
    merge_stderr: bool = False,
    env: Mapping[str, str] | None = None,
) -> Completed:
    """Run ``argv``; with ``merge_stderr`` its stderr lands in ``stdout``, in write order.

    ``env`` replaces the environment (None: inherit ours). ``timeout`` is the
    call's own bound; a deadline in force may shorten it.
    """
    timeout = bound(timeout)
    try:
        proc = subprocess.run(
            list(argv),
            env=None if env is None else dict(env),
            cwd=work_dir(),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CommandTimeout(argv, timeout) from None
    return Completed(list(argv), proc.returncode, proc.stdout, proc.stderr or b"")


def run_exec(argv: Sequence[str], timeout: float, cmd: Sequence[str]) -> ExecResult:
    """Run ``argv`` (an exec through a CLI); stdout and stderr apart and interleaved."""
    timeout = bound(timeout)
    proc = subprocess.Popen(
        list(argv), cwd=work_dir(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    chunks: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def pump(stream: io.BufferedReader, which: int) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            with lock:
                chunks.append((which, chunk))

    assert proc.stdout is not None and proc.stderr is not None
    readers = [
        threading.Thread(target=pump, args=(proc.stdout, 1), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, 2), daemon=True),
    ]
    for r in readers:
        r.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        proc.wait()
    for r in readers:
        r.join(timeout=5)
    proc.stdout.close()
    proc.stderr.close()

    def decode(parts: list[bytes]) -> str:
        return b"".join(parts).decode("utf-8", "replace")

    result = ExecResult(
        exit_code=-1 if timed_out else proc.returncode,
        stdout=decode([c for w, c in chunks if w == 1]),
        stderr=decode([c for w, c in chunks if w == 2]),
        output=decode([c for _, c in chunks]),
    )
    if timed_out:
        raise ExecTimeout(
            cmd,
            result,
            f"command {list(cmd)!r} did not finish within {timeout:.1f}s "
            "(the exec client was stopped; the process may still run in the container)",
        )
    return result


_EOF = object()


class QueuedLines:
    """Lines of a followed log, readable with a timeout.

    A reader thread runs :meth:`_read` and feeds a queue, so waiting for a
    line never blocks past its deadline and works the same on every platform.
    Subclasses say where lines come from (``_read``) and how to stop (``close``).
    """

    def __init__(self) -> None:
        self._lines: queue.Queue[object] = queue.Queue()
        self.ended = False
        self._thread = threading.Thread(target=self._pump, daemon=True, name="testctr-follow")
        self._thread.start()

    def _read(self) -> Iterator[str]:
        raise NotImplementedError

    def _pump(self) -> None:
        try:
            for line in self._read():
                self._lines.put(line)
        finally:
            self._lines.put(_EOF)

    def next_line(self, timeout: float) -> str | None:
        """The next line; None when ``timeout`` passes first. Sets ``ended`` at EOF."""
        if self.ended:
            return None
        try:
            item = self._lines.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None
        if item is _EOF:
            self.ended = True
            return None
        assert isinstance(item, str)
        return item

    def __iter__(self) -> Iterator[str]:
        while not self.ended:
            line = self.next_line(3600)
            if line is not None:
                yield line

    def close(self) -> None:
        raise NotImplementedError


class FollowedLines(QueuedLines):
    """The output lines of a long-running command (``logs -f``)."""

    def __init__(self, argv: Sequence[str]) -> None:
        self._proc = subprocess.Popen(
            list(argv), cwd=work_dir(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        super().__init__()

    def _read(self) -> Iterator[str]:
        assert self._proc.stdout is not None
        try:
            for raw in self._proc.stdout:
                yield raw.decode("utf-8", "replace").rstrip("\r\n")
        finally:
            self._proc.stdout.close()

    def close(self) -> None:
        """Stop following. The reader thread closes the pipe once it has drained it."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._thread.join(timeout=5)


class LineSource(Protocol):
    """A followed log: :class:`FollowedLines` or a backend's own follower."""

    ended: bool

    def next_line(self, timeout: float) -> str | None: ...

    def close(self) -> None: ...


class FollowsLogs(Protocol):
    """What :func:`follow_logs_until` needs of a backend."""

    def stream_logs(self, container_id: str) -> LineSource: ...

    def inspect_container(self, container_id: str) -> ContainerInfo: ...

    def get_container_logs(self, container_id: str) -> str: ...


def follow_logs_until(
    backend: FollowsLogs, container_id: str, pattern: re.Pattern[str], timeout: float, occurrences: int = 1
) -> None:
    """``Backend.wait_for_log`` for any backend that can follow its logs.

    Reads the followed log until ``pattern`` matched ``occurrences`` lines.
    The stream ends when the container stops: that is a ContainerStartError
    at once. If it ends while the container still runs (a follower that gave
    up), the whole log is re-read until the deadline.
    """
    deadline = time.monotonic() + timeout
    seen = 0

    def logs() -> str:
        try:
            return backend.get_container_logs(container_id)
        except TestctrError:
            return ""

    def fail_if_stopped() -> None:
        state = backend.inspect_container(container_id).state
        if not state.running:
            raise ContainerStartError(
                f"container {container_id[:12]} stopped before logging {pattern.pattern!r}",
                exit_code=state.exit_code,
                logs=logs(),
            )

    follow = backend.stream_logs(container_id)
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            line = follow.next_line(remaining)
            if line is not None:
                seen += 1 if pattern.search(line) else 0
                if seen >= occurrences:
                    return
            elif follow.ended:
                break
    finally:
        follow.close()
    while time.monotonic() < deadline:
        fail_if_stopped()
        if sum(1 for line in logs().splitlines() if pattern.search(line)) >= occurrences:
            return
        time.sleep(0.05)
    what = f"log line matching {pattern.pattern!r}" + (f" {occurrences} times" if occurrences > 1 else "")
    raise WaitTimeout(what, timeout, logs())
