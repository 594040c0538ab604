"""When each reused container was last used, and removing those idle longer than the TTL.

A label cannot change after the create, so the last use is the modification
time of an empty file per container in testctr's cache directory: touched by
every run that attaches, read by the next run that reuses anything. A
container without a file (made on another host, or the cache was wiped) counts
from its creation.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time

from testctr.backend.protocols import Backend, ContainerLister
from testctr.errors import ContainerNotFound, TestctrError
from testctr.labels import created_at
from testctr.settings import forget_record, record_time, touch_record

#: How long the expiry check may hold up the exit of a short script.
_EXIT_WAIT = 10.0


_KIND = "reused"


def touch(name: str) -> None:
    # A cache that cannot be written: the container then expires by age, which is still safe.
    touch_record(_KIND, name)


def last_used(name: str) -> float | None:
    """The wall-clock time of the last use recorded here, or None."""
    return record_time(_KIND, name)


def forget(name: str) -> None:
    forget_record(_KIND, name)


def reuse_label(prefix: str) -> str:
    """The label key every reused container carries (its value: the config hash)."""
    return f"{prefix}.reuse"


def expire(backend: Backend, prefix: str, ttl: float, now: float | None = None) -> list[str]:
    """Remove the reused containers idle for more than ``ttl`` seconds; their names."""
    if not isinstance(backend, ContainerLister):
        return []
    now = time.time() if now is None else now
    removed = []
    for info in backend.list_containers(reuse_label(prefix)):
        created = created_at(info.labels, prefix) or info.created
        last = last_used(info.name)
        if last is None:
            last = created.timestamp() if created else now
        if now - last <= ttl:
            continue
        with contextlib.suppress(ContainerNotFound):
            backend.remove_container(info.id)
        forget(info.name)
        removed.append(info.name)
    return removed


_checked = False
_checked_lock = threading.Lock()


def expire_once_in_background(backend: Backend, prefix: str, ttl: float) -> None:
    """:func:`expire`, once per process, off the start's critical path; a short script's
    exit waits for it (briefly)."""
    global _checked
    with _checked_lock:
        if _checked:
            return
        _checked = True

    def check() -> None:
        with contextlib.suppress(TestctrError):
            expire(backend, prefix, ttl)

    thread = threading.Thread(target=check, name="testctr-reuse-expiry", daemon=True)
    thread.start()
    atexit.register(thread.join, _EXIT_WAIT)
