"""What a failure shows of a container's log: its last lines, and the whole log in a file.

A flooding container can write hundreds of megabytes in a test's lifetime:
nothing here holds its whole log in memory (a backend that can, streams it to
the file), and the last lines are asked of the engine, not cut from the whole.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading

from testctr.backend.protocols import Backend, LogSince, LogTail, LogWriter

#: Longest a copy of the whole log may take; the file then says it was cut.
WRITE_TIMEOUT = 60.0


def last_lines(backend: Backend, container_id: str, lines: int) -> str:
    """The last ``lines`` lines of the container's log."""
    if isinstance(backend, LogTail):
        # Cut again: Podman's --tail counts log records, and a flood's lines span several.
        text = backend.log_tail(container_id, lines)
    else:
        text = backend.get_container_logs(container_id)
    return "\n".join(text.splitlines()[-lines:])


def lines_since(backend: Backend, container_id: str, since: float, lines: int) -> tuple[str, bool] | None:
    """The last ``lines`` lines the container logged since ``since`` (seconds since the epoch),
    and whether it logged more than those; None when the backend cannot tell when a line came."""
    if not isinstance(backend, LogSince):
        return None
    # One line more than shown: the report then says whether it is cut.
    got = backend.log_since(container_id, since, lines + 1).splitlines()
    return "\n".join(got[-lines:]), len(got) > lines


def write_log(backend: Backend, container_id: str, path: str) -> None:
    """Write the container's whole log (up to now) to ``path``."""
    with open(path, "wb") as out:
        if isinstance(backend, LogWriter):
            if not backend.write_logs(container_id, out, WRITE_TIMEOUT):
                out.write(f"\n[testctr: copying the log stopped after {WRITE_TIMEOUT:.0f}s; it goes on]\n".encode())
        else:
            out.write(backend.get_container_logs(container_id).encode("utf-8", "replace"))


_private_dir: list[str] = []  # this process's directory in the system temp dir, made once
_lock = threading.Lock()


def log_dir(base: str | None = None) -> str:
    """Where full logs go: ``testctr-logs`` in ``base`` (pytest's basetemp), else a private temp dir.

    Logs may hold secrets: the directory is readable by this user only.
    """
    if base is None:
        with _lock:
            if not _private_dir:
                _private_dir.append(tempfile.mkdtemp(prefix="testctr-logs-"))
            return _private_dir[0]
    path = os.path.join(base, "testctr-logs")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def log_path(directory: str, container_name: str) -> str:
    """A file for ``container_name``'s log in ``directory``, not used yet."""
    stem = re.sub(r"[^\w.-]", "_", container_name)
    path = os.path.join(directory, f"{stem}.log")
    n = 1
    while os.path.exists(path):
        n += 1
        path = os.path.join(directory, f"{stem}.{n}.log")
    return path
