"""Which runs are alive, told by a token short enough to go into a database name.

A run (one process) that puts databases on a server other runs use too (a
reused or shared container) holds an exclusive lock on a file named after its
token in testctr's cache directory. The kernel drops the lock however the
process ends, so a run that can take the lock knows the token's run is dead.
A token without a file belongs to another host (or was already cleaned up):
it is never called dead.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import IO

from testctr.settings import cache_dir

try:
    import fcntl
except ImportError:  # Windows: no lock files, no token is ever dead
    fcntl = None  # type: ignore[assignment]

_lock = threading.Lock()
_token = ""
_held: IO[bytes] | None = None


def _path(token: str) -> str:
    return os.path.join(cache_dir(), "sessions", token)


def token() -> str:
    """This process's token (made, and its lock taken, on first use)."""
    global _token, _held
    with _lock:
        if not _token:
            made = os.urandom(4).hex()
            if fcntl is not None:
                os.makedirs(os.path.dirname(_path(made)), exist_ok=True)
                held = open(_path(made), "ab")  # noqa: SIM115 - held open for the process's life
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
                _held = held
            _token = made
        return _token


def dead(token: str) -> bool:
    """Whether the run that holds ``token`` has ended (on this host)."""
    if fcntl is None or token == _token:
        return False
    try:
        fd = os.open(_path(token), os.O_RDONLY)  # never created here: no file, no verdict
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # locked: its run is alive
    finally:
        os.close(fd)
    return True


def forget(token: str) -> None:
    """Its run is dead and what it left is gone: drop its file."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_path(token))


def _after_fork_in_child() -> None:
    # The lock belongs to the parent's run; a child that makes databases takes its own token.
    global _lock, _token, _held
    _lock = threading.Lock()
    if _held is not None:
        _held.close()
    _token, _held = "", None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
