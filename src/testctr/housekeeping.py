"""Finding and removing leftover containers and networks: for the plugin and `testctr ls/clean`."""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from testctr import kept_databases, last_use, settings
from testctr.backend.protocols import Backend, ContainerLister, NetworkManager
from testctr.backend.types import ContainerInfo, NetworkInfo
from testctr.backends import resolve
from testctr.errors import ContainerNotFound, NetworkNotFound, TestctrError
from testctr.labels import created_at, current_project, session_alive
from testctr.last_use import reuse_label


def _age(labels: dict[str, str], label: str, fallback: dt.datetime | None, now: dt.datetime) -> float:
    created = created_at(labels, label) or fallback
    return (now - created).total_seconds() if created else 0.0


def _sharing(labels: dict[str, str], label: str) -> str:
    """Whether a container outlives its test on purpose: reused across runs, shared across workers."""
    kinds = [kind for kind in ("reuse", "shared") if labels.get(f"{label}.{kind}")]
    return ",".join(kinds) or "-"


@dataclass(frozen=True)
class Listed:
    info: ContainerInfo
    test: str
    age: float
    alive: bool
    #: Made by the current project (see :meth:`testctr.labels.Project.owns`).
    ours: bool
    project: str
    sharing: str

    @property
    def name(self) -> str:
        return self.info.name


def _backend(backend: Backend | None) -> Backend:
    return resolve().backend if backend is None else backend


def list_testctr_containers(label: str, backend: Backend | None = None) -> list[Listed]:
    """Containers labelled by testctr on ``backend`` (default: the one the settings name)."""
    backend = _backend(backend)
    if not isinstance(backend, ContainerLister):
        return []
    now = dt.datetime.now(dt.timezone.utc)
    project = current_project()
    return [
        Listed(
            info,
            info.labels.get(f"{label}.test", "?"),
            _age(info.labels, label, info.created, now),
            session_alive(info.labels, label),
            project.owns(info.labels, label),
            info.labels.get(f"{label}.project", "?"),
            _sharing(info.labels, label),
        )
        for info in backend.list_containers(label)
    ]


def find_leftovers(
    label: str, min_age: float, *, all_projects: bool = False, backend: Backend | None = None
) -> list[Listed]:
    """Containers of sessions that are no longer alive, older than ``min_age`` seconds.

    Only the current project's unless ``all_projects``: another checkout's
    containers are its own run's business, even when that run has ended.
    Never a reused container: it outlives its session on purpose (see :func:`find_reused`).
    """
    return _leftovers(list_testctr_containers(label, backend), label, min_age, all_projects)


def _leftovers(listed: list[Listed], label: str, min_age: float, all_projects: bool = False) -> list[Listed]:
    return [
        c
        for c in listed
        if not c.alive and c.age >= min_age and (all_projects or c.ours) and reuse_label(label) not in c.info.labels
    ]


def find_reused(label: str, backend: Backend | None = None) -> list[Listed]:
    """The containers ``with_reuse()`` keeps running between runs."""
    return [c for c in list_testctr_containers(label, backend) if reuse_label(label) in c.info.labels]


def remove(containers: list[Listed], backend: Backend | None = None) -> int:
    """Remove ``containers`` with their anonymous volumes; the count of those removed."""
    backend = _backend(backend)
    removed = 0
    for c in containers:
        try:
            backend.remove_container(c.info.id)
            removed += 1
        except ContainerNotFound:
            pass  # already gone: someone else cleaned up
        last_use.forget(c.name)
        kept_databases.forget(c.name)
    return removed


@dataclass(frozen=True)
class ListedNetwork:
    info: NetworkInfo
    test: str
    age: float
    alive: bool
    ours: bool
    project: str

    @property
    def name(self) -> str:
        return self.info.name


def list_testctr_networks(label: str, backend: Backend | None = None) -> list[ListedNetwork]:
    """Networks labelled by testctr on ``backend`` (none where it has no networks)."""
    backend = _backend(backend)
    if not isinstance(backend, NetworkManager):
        return []
    now = dt.datetime.now(dt.timezone.utc)
    project = current_project()
    return [
        ListedNetwork(
            info,
            info.labels.get(f"{label}.test", "?"),
            _age(info.labels, label, None, now),
            session_alive(info.labels, label),
            project.owns(info.labels, label),
            info.labels.get(f"{label}.project", "?"),
        )
        for info in backend.list_networks(label)
    ]


def find_leftover_networks(
    label: str, min_age: float, *, all_projects: bool = False, backend: Backend | None = None
) -> list[ListedNetwork]:
    """Networks of sessions that are no longer alive, older than ``min_age`` seconds, scoped like
    :func:`find_leftovers`.

    Remove them after the leftover containers: an engine refuses to remove a
    network a container is still attached to.
    """
    return [
        n
        for n in list_testctr_networks(label, backend)
        if not n.alive and n.age >= min_age and (all_projects or n.ours)
    ]


def remove_networks(networks: list[ListedNetwork], backend: Backend | None = None) -> int:
    """Remove ``networks``; one still used by a live container is left alone."""
    backend = _backend(backend)
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


#: The engines this process has looked at; None: it looks at none.
_checked: set[tuple[str, str, str]] | None = set()
_checked_lock = threading.Lock()
#: How long the end of a short script may wait for the look (it may be removing expired containers).
_EXIT_WAIT = 10.0


def check_once_in_background(warn: Callable[[str], None], backend: Backend | None = None) -> None:
    """At the first container a process starts on an engine: look once at its testctr containers, in the background.

    From one listing, in a background thread, once per process and engine:
    remove the reused containers idle for longer than ``TESTCTR_REUSE_TTL``
    (the end of a short script waits for that, briefly), and warn about dead
    sessions' leftovers through ``warn`` (called from that thread), as Go
    testctr checks at the first New; removing those is --testctr-cleanup-old's
    job. Not at pytest's start: runs that start no container never touch an engine.
    """
    try:
        engine = _backend(backend)
    except TestctrError:
        return  # the container being started reports an unusable engine itself
    key = (type(engine).__qualname__, engine.runtime, engine.host())
    with _checked_lock:
        if _checked is None or key in _checked:
            return
        _checked.add(key)
    s = settings.current()

    def check() -> None:
        try:
            listed = list_testctr_containers(s.label, engine)
        except TestctrError:
            return  # the container being started will report an unusable engine itself
        with contextlib.suppress(TestctrError):
            last_use.expire(engine, last_use.idle([c.info for c in listed], s.label, s.reuse_ttl))
        leftovers = _leftovers(listed, s.label, s.cleanup_age) if s.warn_old else []
        if leftovers:
            names = ", ".join(c.name for c in leftovers[:3]) + (", ..." if len(leftovers) > 3 else "")
            warn(
                f"testctr: warning: {len(leftovers)} leftover container(s) of this project's dead sessions ({names}); "
                "remove them with `testctr clean` or --testctr-cleanup-old"
            )

    thread = threading.Thread(target=check, name="testctr-housekeeping", daemon=True)
    thread.start()
    atexit.register(thread.join, _EXIT_WAIT)  # a short script may end before a removal it began
