"""Finding and removing leftover containers and networks: for the plugin and `testctr ls/clean`."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from testctr import last_use, settings
from testctr.backend.protocols import ContainerLister, NetworkManager
from testctr.backend.types import ContainerInfo, NetworkInfo
from testctr.backends import resolve
from testctr.errors import ContainerNotFound, NetworkNotFound, TestctrError
from testctr.labels import created_at, session_alive
from testctr.last_use import reuse_label


@dataclass(frozen=True)
class Listed:
    info: ContainerInfo
    test: str
    age: float
    alive: bool

    @property
    def name(self) -> str:
        return self.info.name


def list_testctr_containers(label: str) -> list[Listed]:
    """Containers labelled by testctr on the backend (and runtime) the settings name."""
    backend = resolve().backend
    if not isinstance(backend, ContainerLister):
        return []
    now = dt.datetime.now(dt.timezone.utc)
    listed = []
    for info in backend.list_containers(label):
        created = created_at(info.labels, label) or info.created
        age = (now - created).total_seconds() if created else 0.0
        listed.append(Listed(info, info.labels.get(f"{label}.test", "?"), age, session_alive(info.labels, label)))
    return listed


def find_leftovers(label: str, min_age: float) -> list[Listed]:
    """Containers of sessions that are no longer alive, older than ``min_age`` seconds.

    Never a reused container: it outlives its session on purpose (see :func:`find_reused`).
    """
    return [
        c
        for c in list_testctr_containers(label)
        if not c.alive and c.age >= min_age and reuse_label(label) not in c.info.labels
    ]


def find_reused(label: str) -> list[Listed]:
    """The containers ``with_reuse()`` keeps running between runs."""
    return [c for c in list_testctr_containers(label) if reuse_label(label) in c.info.labels]


def remove(containers: list[Listed]) -> int:
    backend = resolve().backend
    removed = 0
    for c in containers:
        try:
            backend.remove_container(c.info.id)
            removed += 1
        except ContainerNotFound:
            pass  # already gone: someone else cleaned up
        last_use.forget(c.name)
    return removed


@dataclass(frozen=True)
class ListedNetwork:
    info: NetworkInfo
    test: str
    age: float
    alive: bool

    @property
    def name(self) -> str:
        return self.info.name


def list_testctr_networks(label: str) -> list[ListedNetwork]:
    """Networks labelled by testctr on the backend the settings name (none where it has no networks)."""
    backend = resolve().backend
    if not isinstance(backend, NetworkManager):
        return []
    now = dt.datetime.now(dt.timezone.utc)
    listed = []
    for info in backend.list_networks(label):
        created = created_at(info.labels, label)
        age = (now - created).total_seconds() if created else 0.0
        listed.append(
            ListedNetwork(info, info.labels.get(f"{label}.test", "?"), age, session_alive(info.labels, label))
        )
    return listed


def find_leftover_networks(label: str, min_age: float) -> list[ListedNetwork]:
    """Networks of sessions that are no longer alive, older than ``min_age`` seconds.

    Remove them after the leftover containers: an engine refuses to remove a
    network a container is still attached to.
    """
    return [n for n in list_testctr_networks(label) if not n.alive and n.age >= min_age]


def remove_networks(networks: list[ListedNetwork]) -> int:
    """Remove ``networks``; one still used by a live container is left alone."""
    backend = resolve().backend
    if not isinstance(backend, NetworkManager):
        return 0
    removed = 0
    for n in networks:
        try:
            # By name: Podman 4 removes a network named by its id even while containers use it.
            backend.remove_network(n.info.name)
            removed += 1
        except NetworkNotFound:
            pass  # already gone: someone else cleaned up
        except TestctrError as e:
            print(f"testctr: left network {n.name}: {e}", file=sys.stderr)
    return removed


_checked = False
_checked_lock = threading.Lock()


def warn_about_leftovers_once(warn: Callable[[str], None]) -> None:
    """Like Go testctr's check at the first New: once per process, off the critical path.

    Runs at the first container a process starts (not at pytest's start, so
    runs that start no container never touch an engine), in a background
    thread, and only warns, through ``warn`` (called from that thread):
    removing is --testctr-cleanup-old's job.
    """
    global _checked
    with _checked_lock:
        if _checked:
            return
        _checked = True
    s = settings.current()
    if not s.warn_old:
        return

    def check() -> None:
        try:
            leftovers = find_leftovers(s.label, s.cleanup_age)
        except TestctrError:
            return  # the container being started will report an unusable engine itself
        if leftovers:
            names = ", ".join(c.name for c in leftovers[:3]) + (", ..." if len(leftovers) > 3 else "")
            warn(
                f"testctr: warning: {len(leftovers)} leftover container(s) of dead sessions ({names}); "
                "remove them with `testctr clean` or --testctr-cleanup-old"
            )

    threading.Thread(target=check, name="testctr-leftovers", daemon=True).start()
