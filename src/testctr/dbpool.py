"""Per-test databases off the test's path: a pool of ready ones per server, dropped in the background.

After the first ``dsn(t)`` on a container, a filler thread keeps a few
databases ready (made by the provider like any other, so cloned from the
template when there is one) while a dropper thread, alongside, drops the
databases of finished tests (more droppers while a backlog lasts: the end
of a run drops in parallel). ``dsn(t)`` takes a ready one instead of waiting
for CREATE DATABASE, with the DSN the filler formatted: the test's path
derives no name and makes no server call (:meth:`take_ready`). It keeps its
pooled name: renaming it for the test (as PostgreSQL could) would be a server
round trip on every test's path, ~1.5 ms of a 10 ms test here; the keep-failed
hint and ``testctr ls`` say whose a kept one was (:mod:`testctr.kept_databases`).
A test's teardown only queues its database for the droppers.
``TESTCTR_DB_POOL=0`` does both on the test's path instead
(:class:`DirectDatabases`).

Pooled databases are named ``tp_<session>_<host>_<pid>_<pid start>_<n>``: a
later pool on the same server drops those of sessions whose process is gone,
and never takes another session's.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import hashlib
import itertools
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple, Protocol

from testctr import schedule
from testctr import settings as _settings
from testctr.dsn import (
    DatabaseLimitReached,
    DSNProvider,
    ListsDatabases,
    VersionedDatabases,
    drop_dead_sessions,
)
from testctr.errors import TestctrError
from testctr.labels import SESSION_ID, process_alive, this_process
from testctr.liveness import UNCHECKED_STATE_AGE

if TYPE_CHECKING:
    from testctr.container import Container

log = logging.getLogger("testctr")

#: Every pooled database's name starts with it.
PREFIX = "tp_"
#: The most ready databases a pool keeps; it starts at one, grows when a test finds
#: none and shrinks when SHRINK_AFTER tests in a row find it full (shrinking at the
#: first full one, a pool of two swings between one and two and every other test waits).
MAX_READY = 8
SHRINK_AFTER = 8
#: Threads making ready databases; more than one once the pool keeps more than one
#: ready: one CREATE at a time falls behind a suite whose tests take about as long.
FILLERS = 2
#: The workers' pause before each task, in seconds.
TASK_DELAY = 0.002
#: The most threads dropping one server's databases at once (a backlog is dropped in parallel).
MAX_DROPPERS = 4
#: How long the end of the process waits for pending drops, over all servers.
EXIT_TIMEOUT = 10.0

_host, _pid, _pid_start = this_process()
_HOST_TAG = hashlib.sha256(_host.encode()).hexdigest()[:4]
_POOLED = re.compile(rf"^{PREFIX}([0-9a-f]{{12}})_([0-9a-f]{{4}})_(\d+)_(\d+)_\d+$")


def pooled_name(serial: int) -> str:
    return f"{PREFIX}{SESSION_ID}_{_HOST_TAG}_{_pid}_{_pid_start or 0}_{serial}"


def left_by_dead_session(name: str) -> bool:
    """Whether ``name`` is a pooled database of another session of this host whose process is gone.

    Another host's sessions cannot be checked: their databases are left alone.
    """
    match = _POOLED.match(name)
    if match is None:
        return False
    session, host_tag, pid, pid_start = match.groups()
    if session == SESSION_ID or host_tag != _HOST_TAG:
        return False
    return not process_alive(int(pid), "" if pid_start == "0" else pid_start)


class Databases(Protocol):
    """How a container's per-test databases are made and dropped."""

    def take_ready(self) -> Ready | None:
        """A ready database, or None: then :meth:`create`.

        The test's path with a warm pool: no database name to derive, no server call.
        """
        ...

    def create(self, name: str) -> str:
        """A complete, unused database for the test named ``name``; returns its handle."""
        ...

    def drop(self, handle: str) -> None:
        """The test is done with it."""
        ...

    def forget_ready(self) -> None:
        """The server restarts: databases made so far may be gone."""
        ...

    def retire(self) -> None:
        """The container is kept (keep-failed): make no more, drop the unused ones."""
        ...

    def settle(self, timeout: float) -> bool:
        """Wait until the databases handed to :meth:`drop` are dropped; False on timeout."""
        ...

    def close(self) -> None:
        """The container is being removed: its databases go with it."""
        ...

    def waited(self) -> None:
        """The container's wait strategies passed (see ``waiting`` of :func:`databases_for`)."""
        ...


class Ready(NamedTuple):
    """A pooled database handed out as it was made: no server call on the test's path."""

    handle: str
    #: The DSN for the default driver, formatted when it was made; None when the server's
    #: last answer to the pool is too old to vouch for it (format it again: that checks it runs).
    dsn: str | None


def databases_for(
    container: Container, provider: DSNProvider, outliving: bool = False, waiting: float | None = None
) -> Databases:
    """The container's databases; ``outliving`` for a server other runs use too (with_reuse, with_shared).

    Such a server is attached to, not started: what ended runs left on it is
    dropped, and the pool starts filling, at once (in the background with the
    pool) rather than at the first dsn(). ``waiting``: its wait strategies are
    running again, until this ``time.monotonic()`` deadline at the latest (a
    server found running: ready once, most likely still). The pool then makes
    databases once the server has answered its first call, or once
    :meth:`Databases.waited` says the wait passed; a call that failed before
    that is made again once after it.
    """
    if _settings.current().db_pool:
        pool = DatabasePool(container, provider, outliving, waiting)
        if outliving:
            pool.start()
        return pool
    direct = DirectDatabases(container, provider, swept=not outliving)
    if waiting is None:
        direct.waited()
    return direct


class DirectDatabases:
    """No pool: each database is made by dsn(t) and dropped at the test's teardown, on the test's path."""

    def __init__(self, container: Container, provider: DSNProvider, swept: bool = True) -> None:
        self._container = container
        self._provider = provider
        self._swept = swept  # an outliving server's ended runs' databases are dropped once it is waited for

    def take_ready(self) -> Ready | None:
        return None

    def create(self, name: str) -> str:
        return self._provider.create_database(self._container, name)

    def drop(self, handle: str) -> None:
        self._provider.drop_database(self._container, handle)

    def forget_ready(self) -> None:
        pass

    def retire(self) -> None:
        pass

    def settle(self, timeout: float) -> bool:
        return True

    def close(self) -> None:
        pass

    def waited(self) -> None:
        if not self._swept:
            self._swept = True
            drop_dead_sessions(self._container, self._provider)


class DatabasePool:
    """Ready databases and pending drops of one server, served by one worker thread."""

    def __init__(
        self, container: Container, provider: DSNProvider, outliving: bool = False, waiting: float | None = None
    ) -> None:
        self._container = container
        self._provider = provider
        #: Other runs use the server too: the sweep drops ended runs' test databases as well.
        self._outliving = outliving
        #: When the container's wait strategies, running again, end at the latest (see databases_for).
        self._wait_deadline = waiting
        #: Set once they passed, or the pool closed.
        self._waited = threading.Event()
        #: Set once the server answered the pool, they passed, or the pool closed: fills may start.
        self._answering = threading.Event()
        if waiting is None:
            self._waited.set()
            self._answering.set()
        # Asked once: a runtime-checkable protocol's isinstance is slow for the test's path.
        self._versioned = provider if isinstance(provider, VersionedDatabases) else None
        lock = threading.Lock()
        self._cond = threading.Condition(lock)
        # Fillers wait on their own condition: a take wakes one of them, not every thread of the pool.
        self._fill_wanted = threading.Condition(lock)
        #: Ready databases: (handle, the provider's version when it was made, its default DSN or None).
        self._ready: collections.deque[tuple[str, object, str | None]] = collections.deque()
        self._drops: collections.deque[str] = collections.deque()
        #: Ready databases of a server that was stopped: dropped once it is back (may be gone).
        self._unsure: list[str] = []
        #: Counts the stops (forget_ready): a database begun before one is unsure when it is made.
        self._epoch = 0
        self._target = 1
        #: When the server last answered one of the pool's calls (time.monotonic()).
        self._answered_at = -UNCHECKED_STATE_AGE
        self._full_takes = 0  # takes in a row that found the pool full
        self._taken_in = 0  # the schedule.current_test of the last take
        self._serial = itertools.count(1)
        self._thread: threading.Thread | None = None  # the filler, once started
        self._filling = 0  # ready databases being made
        self._sweeping = False  # the first dropper is looking for dead sessions' databases
        self._droppers = 0  # threads dropping databases
        self._dropping = 0  # ... that are dropping one now
        self._at_limit = False  # the server holds no more; cleared by a drop
        self._fill_paused = False  # a fill failed; the next dsn() makes its database itself
        self._retired = False
        self._closed = False
        #: Background failures not yet reported.
        self._errors: list[str] = []
        _register(self)

    # --- the test's path ------------------------------------------------------------------

    def take_ready(self) -> Ready | None:
        version = self._version()
        with self._cond:
            if self._errors or self._unsure or self._thread is None or not self._ready:
                return None  # create() reports, drops, starts or waits
            entry = self._pop_ready_locked(version, found_empty=False)
            if entry is not None:
                self._taken_in = schedule.current_test
            # The server answered the pool a moment ago: as good a sign that it runs
            # as a probe of its host port, which costs more than the rest of dsn().
            fresh = time.monotonic() - self._answered_at < UNCHECKED_STATE_AGE
        if entry is None:
            return None
        handle, dsn = entry
        log.debug("%s: pooled database %s handed out", self._container.name, handle)
        return Ready(handle, dsn if fresh else None)

    def create(self, name: str) -> str:
        self.raise_background_errors()
        version = self._version()
        with self._cond:
            if self._unsure:  # the server is up again: a dsn() needs it
                self._queue_drops_locked(self._unsure)
                self._unsure = []
            self._taken_in = schedule.current_test  # taken, or made on the test's path
            if self._thread is None:  # the first database: made here, the pool fills meanwhile
                self._start_locked()
                handle = None
            else:
                handle = self._take_locked(version)
        if handle is None:
            log.debug("%s: no pooled database ready; making %s on the test's path", self._container.name, name)
            return self._provider.create_database(self._container, name)
        log.debug("%s: test %s takes pooled database %s", self._container.name, name, handle)
        return handle

    def drop(self, handle: str) -> None:
        with self._cond:
            if self._closed:
                return
            self._queue_drops_locked([handle])
        log.debug("%s: %s handed over for dropping", self._container.name, handle)

    def raise_background_errors(self) -> None:
        with self._cond:
            errors, self._errors = self._errors, []
        if errors:
            raise TestctrError(f"in the background, on {self._container.name}: " + "; ".join(errors))

    def _take_locked(self, version: object) -> str | None:
        found_empty = False
        while True:
            entry = self._pop_ready_locked(version, found_empty)
            if entry is not None:
                return entry[0]
            if not found_empty:
                # Tests come faster than the pool fills (this one waits, or makes
                # its own): keep more ready, so the filler gets ahead when it can.
                found_empty = True
                self._full_takes = 0
                self._target = min(self._target + 1, MAX_READY)
                self._fill_paused = False
                self._fill_wanted.notify_all()
            if not self._filling or self._closed:
                return None
            self._cond.wait()  # one is being made: sooner than making another

    def _pop_ready_locked(self, version: object, found_empty: bool) -> tuple[str, str | None] | None:
        """The oldest ready database of the current version (handle, default DSN); the pool refills."""
        if self._versioned is not None:
            stale = [h for h, v, _ in self._ready if v != version]
            if stale:
                log.debug("%s: template changed; dropping pooled %s", self._container.name, stale)
                self._ready = collections.deque(entry for entry in self._ready if entry[1] == version)
                self._queue_drops_locked(stale)
        if not self._ready:
            return None
        full = not found_empty and len(self._ready) >= self._target
        self._full_takes = self._full_takes + 1 if full else 0
        if self._full_takes >= SHRINK_AFTER and self._target > 1:
            # Tests come slower than the pool fills, and not just once: keep fewer ready.
            self._target -= 1
            self._full_takes = 0
        handle, _, dsn = self._ready.popleft()
        self._fill_wanted.notify()
        return handle, dsn

    def _version(self) -> object:
        return None if self._versioned is None else self._versioned.database_version()

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Sweep and fill now: the first dsn() then takes a ready database instead of making one."""
        with self._cond:
            if self._thread is None:
                self._start_locked()

    def _start_locked(self) -> None:
        # Making and dropping run side by side, on connections of their own:
        # one thread doing both falls behind a suite whose tests each need a
        # CREATE and a DROP, and then tests make their databases themselves.
        self._thread = self._spawn_locked(self._fill_loop, "fill")
        for _ in range(FILLERS - 1):
            self._spawn_locked(self._fill_loop, "fill")
        self._sweeping = True
        self._droppers += 1
        self._spawn_locked(self._drop_loop, "drop", True)

    def _spawn_locked(self, target: Callable[..., None], job: str, *args: object) -> threading.Thread:
        thread = threading.Thread(
            target=target, args=args, name=f"testctr-dbpool-{job}-{self._container.name}", daemon=True
        )
        thread.start()
        return thread

    def _queue_drops_locked(self, handles: Iterable[str]) -> None:
        self._drops.extend(handles)
        # A backlog (the end of a run, a retired pool) is drained in parallel:
        # the server drops databases side by side, one connection drops them in turn.
        while self._thread is not None and self._droppers < min(len(self._drops), MAX_DROPPERS):
            self._droppers += 1
            self._spawn_locked(self._drop_loop, "drop", False)
        self._cond.notify_all()

    def forget_ready(self) -> None:
        with self._cond:
            self._unsure.extend(h for h, _, _ in self._ready)
            self._ready.clear()
            self._epoch += 1
            # Made now, before the server stops, one would be handed out after a restart that lost it:
            # the next dsn() asks for more (see _take_locked).
            self._fill_paused = True
            self._answered_at = -UNCHECKED_STATE_AGE
            self._fill_wanted.notify_all()

    def retire(self) -> None:
        with self._cond:
            self._retired = True
            unused = [*self._unsure, *(h for h, _, _ in self._ready)]
            self._unsure.clear()
            self._ready.clear()
            self._queue_drops_locked(unused)

    def close(self) -> None:
        with self._cond:
            if self._drops or self._ready:
                log.debug(
                    "%s removed with %d pending drop(s), %d ready database(s)",
                    self._container.name,
                    len(self._drops),
                    len(self._ready),
                )
            self._closed = True
            self._drops.clear()
            self._ready.clear()
            self._cond.notify_all()
            self._fill_wanted.notify_all()
            keep = bool(self._errors)
        self._waited.set()
        self._answering.set()
        if not keep:
            with _pools_lock, contextlib.suppress(ValueError):
                _pools.remove(self)

    def waited(self) -> None:
        self._waited.set()
        self._answering.set()

    def _failed_early(self, early: bool) -> bool | None:
        """After a failed call: None to report it. Else it began before the wait strategies passed
        (``early``): True to make it again, now that they have; False to say nothing (they never
        passed, or the pool closed: the start fails, and says why)."""
        return self._until(self._waited) if early else None

    def _until(self, event: threading.Event) -> bool:
        """Wait for ``event`` (see __init__) until the start's deadline; whether it came and the pool is open."""
        if not event.is_set() and self._wait_deadline is not None:
            event.wait(max(0.0, self._wait_deadline - time.monotonic()))
        with self._cond:
            return event.is_set() and not self._closed

    def idle(self) -> bool:
        """Nothing being made, dropped or looked for, and no drop queued."""
        with self._cond:
            return not (self._drops or self._dropping or self._filling or self._sweeping)

    def settle(self, timeout: float) -> bool:
        """Wait until every queued drop is done (or the pool is closed); False on timeout.

        A database being made meanwhile counts: a retired pool drops it once made.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while (
                not self._closed
                and self._thread is not None
                and (self._drops or self._dropping or self._sweeping or (self._retired and self._filling))
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def pending(self) -> list[str]:
        with self._cond:
            return list(self._drops)

    def take_errors(self) -> list[str]:
        with self._cond:
            errors, self._errors = self._errors, []
        return errors

    # --- the workers ----------------------------------------------------------------------

    def _fill_loop(self) -> None:
        while True:
            with self._cond:
                while not self._should_fill_locked():
                    if self._closed:
                        return
                    self._fill_wanted.wait()
                self._filling += 1
                epoch = self._epoch
            # Let the test that woke us finish its dsn() first: this thread
            # would otherwise take the GIL from it for the statement's Python part.
            time.sleep(TASK_DELAY)
            try:
                if self._until(self._answering):
                    self._fill(epoch)
                else:
                    with self._cond:
                        self._fill_paused = True  # the start failed, or is being given up: make none
            finally:
                with self._cond:
                    self._filling -= 1
                    self._cond.notify_all()

    def _should_fill_locked(self) -> bool:
        blocked = self._closed or self._retired or self._at_limit or self._fill_paused
        wanted = self._target
        if schedule.tests_left is not None:
            # No more than the tests left can take: the later ones, and this one unless it has taken.
            wanted = min(wanted, schedule.tests_left + (self._taken_in != schedule.current_test))
        return not blocked and len(self._ready) + self._filling < wanted

    def _drop_loop(self, first: bool) -> None:
        """Drop queued databases; the ``first`` dropper sweeps first and stays, the others end with the backlog."""
        if first:
            try:
                self._sweep()
            finally:
                with self._cond:
                    self._sweeping = False
                    self._cond.notify_all()
        while True:
            with self._cond:
                while not self._drops:
                    if self._closed or not first:
                        self._droppers -= 1
                        return
                    self._cond.wait()
                handle = self._drops.popleft()
                self._dropping += 1
            time.sleep(TASK_DELAY)  # as in _fill_loop: the test's teardown first
            try:
                self._drop(handle)
            finally:
                with self._cond:
                    self._dropping -= 1
                    self._cond.notify_all()

    def _fill(self, epoch: int) -> None:
        version = self._version()
        name = pooled_name(next(self._serial))
        early = not self._waited.is_set()
        try:
            handle = self._provider.create_database(self._container, name)
        except DatabaseLimitReached:
            log.debug("%s holds no more databases; the pool stops growing", self._container.name)
            with self._cond:
                self._at_limit = True
            return
        except Exception as e:
            if (again := self._failed_early(early)) is not None:
                if again:
                    self._fill(epoch)  # not early now: it reports its failure
                return
            with self._cond:
                self._fill_paused = True
                removed = self._closed
            if not removed:
                # Not raised in a test: the next dsn() makes its database
                # itself, and fails in its test if the server really is broken.
                log.warning("%s: could not make pooled database %s: %s", self._container.name, name, e)
            return
        try:
            # Formatted here, off the test's path (it checks that the container runs).
            dsn = self._provider.format_dsn(self._container, handle)
        except Exception as e:
            log.debug("%s: pooled database %s handed out without a DSN: %s", self._container.name, handle, e)
            dsn = None
        with self._cond:
            if self._closed:
                return
            self._answered_at = time.monotonic()
            if self._retired:
                self._queue_drops_locked([handle])
            elif epoch != self._epoch:
                self._unsure.append(handle)  # begun before a stop: it may be gone after a restart
            else:
                self._ready.append((handle, version, dsn))
        log.debug("%s: pooled database %s ready", self._container.name, handle)

    def _drop(self, handle: str) -> None:
        try:
            self._provider.drop_database(self._container, handle)
        except Exception as e:
            with self._cond:
                if not self._closed:  # a removed container takes its databases with it
                    self._errors.append(f"dropping database {handle} failed: {e}")
            log.debug("%s: dropping %s failed: %s", self._container.name, handle, e)
            return
        with self._cond:
            self._answered_at = time.monotonic()
            if self._at_limit:
                self._at_limit = False
                self._fill_wanted.notify_all()
        log.debug("%s: dropped %s", self._container.name, handle)

    def _sweep(self) -> None:
        """Drop dead sessions' test databases on a server that outlives runs; queue their pooled ones for dropping.

        Tests meanwhile get databases named after this session: none of a dead one's.
        """
        if not isinstance(self._provider, ListsDatabases):
            return
        early = not self._waited.is_set()
        if self._outliving:
            try:
                drop_dead_sessions(self._container, self._provider)
                self._answering.set()
            except Exception as e:
                if (again := self._failed_early(early)) is not None:
                    if again:
                        self._sweep()
                    return
                with self._cond:
                    if self._closed:
                        return
                    self._errors.append(f"dropping ended runs' databases failed: {e}")
        try:
            names = self._provider.list_databases(self._container, PREFIX)
            self._answering.set()
        except Exception as e:
            if (again := self._failed_early(early)) is not None:
                if again:
                    self._sweep()
                return
            with self._cond:
                if not self._closed:
                    self._errors.append(f"listing leftover pooled databases failed: {e}")
            return
        dead = [name for name in names if left_by_dead_session(name)]
        if dead:
            log.debug("%s: dropping leftovers of dead sessions: %s", self._container.name, dead)
            with self._cond:
                self._queue_drops_locked(dead)


# --- the end of the process ---------------------------------------------------------------------

_pools: list[DatabasePool] = []
_pools_lock = threading.Lock()


def _register(pool: DatabasePool) -> None:
    with _pools_lock:
        _pools.append(pool)


def finish_all(timeout: float = EXIT_TIMEOUT) -> None:
    """Drop what is pending on servers that outlive the process, within ``timeout``; report failures.

    Runs at exit; the worker threads are daemons, so a server that does not
    answer delays the exit by ``timeout`` at most.
    """
    with _pools_lock:
        pools, _pools[:] = list(_pools), []
    deadline = time.monotonic() + timeout
    for pool in pools:
        pool.retire()
    for pool in pools:
        if not pool.settle(max(deadline - time.monotonic(), 0)):
            print(f"testctr: databases not dropped in time (left on the server): {pool.pending()}", file=sys.stderr)
        for error in pool.take_errors():
            print(f"testctr: in the background: {error}", file=sys.stderr)


atexit.register(finish_all)
