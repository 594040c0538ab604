"""Subprocess plumbing shared by backends that drive a command-line tool.

Every call has a timeout, shortened to the caller's deadline
(:mod:`testctr.backend.deadline`), and none uses a shell. Output is decoded as
UTF-8 with replacement, so a binary byte in a log never crashes a test. The
programs run in a directory testctr owns (:func:`work_dir`), never the test's.
"""

from __future__ import annotations

import atexit
import collections
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
from typing import BinaryIO, Protocol

from testctr import settings
from testctr.backend.deadline import bound, until
from testctr.backend.types import ContainerInfo, ExecResult
from testctr.errors import ContainerStartError, EngineUnavailable, ExecTimeout, WaitTimeout

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


#: Variables an engine CLI (or what it runs: Go's runtime, ssh, a credential
#: helper) may read itself. A container variable of such a name is passed in
#: argv unless it equals ours: in the CLI's environment it would change what
#: the CLI does, and these are not where secrets live.
_READ_BY_CLIS = re.compile(
    r"(PATH|HOME|USER|LOGNAME|SHELL|TMPDIR|TERM|TZ|LANG|LANGUAGE|LC_\w+|XDG_\w+|SSH_\w+|GO\w+|"
    r"DOCKER_\w+|CONTAINER_\w+|CONTAINERS_\w+|PODMAN_\w+|BUILDAH_\w+|STORAGE_\w+|REGISTRY_AUTH_FILE|"
    r"NERDCTL_\w+|CONTAINERD_\w+|FINCH_\w+|SSL_CERT_\w+|\w*_PROXY|LD_\w+|PYTHON\w*)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class EnvArgs:
    """Environment values for a CLI, kept out of its argv (which every user reads in ``ps``).

    ``names`` are what follows the CLI's env flag: ``NAME``, which the CLI
    resolves from its own environment (``child_env``, given to the process),
    or ``NAME=VALUE`` for a name the CLI itself may read or cannot take from
    an environment.
    """

    names: list[str]
    child_env: dict[str, str]

    @classmethod
    def of(cls, env: Mapping[str, str], parent: Mapping[str, str] | None = None) -> EnvArgs:
        parent = os.environ if parent is None else parent
        names: list[str] = []
        child_env: dict[str, str] = {}
        for key, value in env.items():
            # "=" would end the name, "*" is a glob to Podman, NUL cannot be in an environment.
            by_name = key and not set("=*\0") & set(key + value) and not _READ_BY_CLIS.fullmatch(key)
            if by_name or parent.get(key) == value:
                names.append(key)
                child_env[key] = value
            else:
                names.append(f"{key}={value}")
        return cls(names, child_env)

    def process_env(self) -> dict[str, str] | None:
        """The environment of the CLI process: ours plus ``child_env`` (None: ours unchanged)."""
        return {**os.environ, **self.child_env} if self.child_env else None


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


def run_exec(
    argv: Sequence[str], timeout: float, cmd: Sequence[str], env: Mapping[str, str] | None = None
) -> ExecResult:
    """Run ``argv`` (an exec through a CLI); stdout and stderr apart and interleaved.

    ``env`` is the process's whole environment (None: this process's).
    """
    timeout = bound(timeout)
    proc = subprocess.Popen(
        list(argv),
        cwd=work_dir(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=None if env is None else dict(env),
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


def copy_output(argv: Sequence[str], out: BinaryIO, timeout: float) -> bool:
    """Run ``argv`` with its stdout and stderr going into ``out`` (a file); False when ``timeout`` stopped it.

    The output never passes through this process: the child writes the file.
    """
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False
    return True


_EOF = object()

#: Bytes read at once from a followed log; also the most one batch of lines holds.
CHUNK = 64 * 1024
#: Batches held between the reader thread and the wait. A full queue blocks the
#: reader (the engine keeps the rest of the log), so memory stays bounded and no
#: line is dropped: a wait still sees every line, in order.
QUEUE_BATCHES = 16
#: Characters of one line that are kept; the rest of a longer line is dropped
#: up to its newline, so a container printing without newlines cannot grow it.
MAX_LINE = 64 * 1024


class LineSplitter:
    """Cuts a byte stream into lines, holding at most one partial line of MAX_LINE bytes."""

    def __init__(self) -> None:
        self._pending = b""
        self._skipping = False  # inside a line cut at MAX_LINE, until its newline

    def feed(self, data: bytes) -> list[str]:
        """The lines ``data`` completes (decoded as UTF-8 with replacement, without line ends)."""
        head, newline, rest = data.rpartition(b"\n")
        if not newline:
            self._keep(rest)
            return []
        first, inner, middle = head.partition(b"\n")
        self._keep(first)
        lines = [self._finish(self._pending)]
        self._pending, self._skipping = b"", False
        if inner:
            # Whole lines: decoded at once, the cost that matters under a flood.
            text = middle.decode("utf-8", "replace")
            more = text.split("\n")
            if "\r" in text:
                more = [line.rstrip("\r") for line in more]
            if len(middle) > MAX_LINE:
                more = [line[:MAX_LINE] for line in more]
            lines += more
        self._keep(rest)
        return lines

    def flush(self) -> list[str]:
        """The last line, when the stream ended without a newline."""
        line, self._pending = self._pending, b""
        return [self._finish(line)] if line else []

    def _keep(self, data: bytes) -> None:
        if self._skipping:
            return
        self._pending += data
        if len(self._pending) > MAX_LINE:
            self._pending = self._pending[:MAX_LINE]
            self._skipping = True

    @staticmethod
    def _finish(line: bytes) -> str:
        return line.decode("utf-8", "replace").rstrip("\r")


class QueuedLines:
    """Lines of a followed log, readable with a timeout.

    A reader thread runs :meth:`_read` and feeds a bounded queue with batches
    of lines, so waiting for a line never blocks past its deadline, works the
    same on every platform, and costs one queue operation per batch rather
    than per line. Subclasses say where batches come from (``_read``) and how
    to stop (``close``, which must call :meth:`_stop_pump`).
    """

    def __init__(self) -> None:
        self._batches: queue.Queue[object] = queue.Queue(maxsize=QUEUE_BATCHES)
        self._current: collections.deque[str] = collections.deque()
        self._closing = threading.Event()
        self.ended = False
        self._thread = threading.Thread(target=self._pump, daemon=True, name="testctr-follow")
        self._thread.start()

    def _read(self) -> Iterator[list[str]]:
        raise NotImplementedError

    def _put(self, item: object) -> bool:
        while not self._closing.is_set():
            try:
                self._batches.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _pump(self) -> None:
        try:
            for batch in self._read():
                if batch and not self._put(batch):
                    return
        finally:
            self._put(_EOF)

    def next_line(self, timeout: float) -> str | None:
        """The next line; None when ``timeout`` passes first. Sets ``ended`` at EOF."""
        if self._current:
            return self._current.popleft()
        if self.ended:
            return None
        try:
            item = self._batches.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None
        if item is _EOF:
            self.ended = True
            return None
        assert isinstance(item, list)
        self._current.extend(item)
        return self._current.popleft()

    def skip_ready(self) -> None:
        """Drop the lines read and not taken yet; a bounded amount, however fast more come."""
        self._current.clear()
        for _ in range(QUEUE_BATCHES):
            try:
                item = self._batches.get_nowait()
            except queue.Empty:
                return
            if item is _EOF:
                self.ended = True
                return

    def __iter__(self) -> Iterator[str]:
        while not self.ended:
            line = self.next_line(3600)
            if line is not None:
                yield line

    def _stop_pump(self) -> None:
        """Let a reader blocked on the full queue go, and wait for it."""
        self._closing.set()
        self._thread.join(timeout=5)

    def close(self) -> None:
        raise NotImplementedError


class FollowedLines(QueuedLines):
    """The output lines of a long-running command (``logs -f``)."""

    def __init__(self, argv: Sequence[str]) -> None:
        self._proc = subprocess.Popen(
            list(argv), cwd=work_dir(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        super().__init__()

    def _read(self) -> Iterator[list[str]]:
        stdout = self._proc.stdout
        assert isinstance(stdout, io.BufferedReader)
        splitter = LineSplitter()
        try:
            # read1: what the pipe holds now, up to CHUNK; a quiet log's line is not held back.
            for data in iter(lambda: stdout.read1(CHUNK), b""):
                yield splitter.feed(data)
            yield splitter.flush()
        finally:
            stdout.close()

    def close(self) -> None:
        """Stop following. The reader thread closes the pipe once it has stopped."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._stop_pump()


class LineSource(Protocol):
    """A followed log: :class:`FollowedLines` or a backend's own follower."""

    ended: bool

    def next_line(self, timeout: float) -> str | None: ...

    def close(self) -> None: ...


class FollowsLogs(Protocol):
    """What :func:`follow_logs_until` needs of a backend."""

    def stream_logs(self, container_id: str) -> LineSource: ...

    def inspect_container(self, container_id: str) -> ContainerInfo: ...


def follow_logs_until(
    backend: FollowsLogs, container_id: str, pattern: re.Pattern[str], timeout: float, occurrences: int = 1
) -> None:
    """``Backend.wait_for_log`` for any backend that can follow its logs.

    Reads the followed log until ``pattern`` matched ``occurrences`` lines,
    each line once, and stops at the deadline whatever the container prints:
    the follower hands over lines in bounded batches and nothing here reads
    the whole log again. The stream ends when the container stops: that is a
    ContainerStartError at once. If it ends while the container still runs (a
    follower that gave up), it is followed anew past the lines already read.

    The WaitTimeout carries the last lines read (``--testctr-report-lines``
    of them, kept in a ring); the whole log is for the caller to copy
    (``testctr.new`` does), which a wait must not spend its time reading.
    """
    started = time.monotonic()
    deadline = started + timeout
    recent: collections.deque[str] = collections.deque(maxlen=settings.current().report_lines)
    seen = 0
    read = 0  # lines of the log read so far, over every stream
    while True:
        follow = backend.stream_logs(container_id)
        skip = read
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                line = follow.next_line(remaining)
                if line is None:
                    if follow.ended:
                        break
                    continue
                if skip:
                    skip -= 1
                    continue
                read += 1
                recent.append(line)
                if pattern.search(line):
                    seen += 1
                    if seen >= occurrences:
                        return
        finally:
            follow.close()
        if time.monotonic() >= deadline:
            break
        try:
            with until(deadline):  # the wait's deadline, not only the start's
                state = backend.inspect_container(container_id).state
        except EngineUnavailable:
            if time.monotonic() < deadline:
                raise
            break  # the engine did not answer in time: the wait timed out
        if not state.running:
            raise ContainerStartError(
                f"container {container_id[:12]} stopped before logging {pattern.pattern!r}", exit_code=state.exit_code
            )
        time.sleep(min(0.05, max(deadline - time.monotonic(), 0)))
    what = f"log line matching {pattern.pattern!r}" + (f" {occurrences} times" if occurrences > 1 else "")
    raise WaitTimeout(what, time.monotonic() - started, "\n".join(recent))
