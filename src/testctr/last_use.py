"""When each reused container was last used, and removing those idle longer than the TTL.

A label cannot change after the create, so the last use is the modification
time of an empty file per container in testctr's cache directory: touched by
every run that attaches, read by the next run that starts a container. A
container without a file (made on another host, or the cache was wiped) counts
from its creation.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable

from testctr.backend.protocols import Backend
from testctr.backend.types import ContainerInfo
from testctr.errors import ContainerNotFound
from testctr.labels import created_at
from testctr.settings import forget_record, record_time, touch_record

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


def idle(containers: Iterable[ContainerInfo], prefix: str, ttl: float, now: float | None = None) -> list[ContainerInfo]:
    """The reused containers among ``containers`` idle for more than ``ttl`` seconds."""
    now = time.time() if now is None else now
    found = []
    for info in containers:
        if reuse_label(prefix) not in info.labels:
            continue
        created = created_at(info.labels, prefix) or info.created
        last = last_used(info.name)
        if last is None:
            last = created.timestamp() if created else now
        if now - last > ttl:
            found.append(info)
    return found


def expire(backend: Backend, containers: Iterable[ContainerInfo]) -> list[str]:
    """Remove ``containers`` (found :func:`idle` on ``backend``) and forget their last use; their names."""
    removed = []
    for info in containers:
        with contextlib.suppress(ContainerNotFound):
            backend.remove_container(info.id)
        forget(info.name)
        removed.append(info.name)
    return removed
