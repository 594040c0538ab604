"""The core: start a container for a test, hand it out, clean it up.

Everything here talks to a :class:`testctr.backend.Backend` and its optional
capability protocols; nothing branches on which backend it is.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, TypeVar

from testctr import kept_databases, last_use, sessions
from testctr import option as _option
from testctr import parsing as _parsing
from testctr import settings as _settings
from testctr.backend import deadline as _deadline
from testctr.backend.protocols import (
    Backend,
    ContainerHost,
    ContainerRunner,
    DebugCommands,
    ExplainsLimits,
    FileCopier,
    HealthReporter,
    LogStreamer,
    NetworkConnector,
    ResourceUpdater,
    unsupported_reason,
)
from testctr.backend.types import ContainerConfig, ContainerInfo, ExecResult
from testctr.backends import Resolved, resolve
from testctr.dbpool import Databases, databases_for
from testctr.errors import (
    PORT_ATTEMPTS,
    ContainerNotFound,
    ContainerNotRunning,
    ContainerStartError,
    ExecError,
    HostPortTaken,
    ImageNotFound,
    ImagePullError,
    InvalidOption,
    PortNotPublished,
    TestctrError,
    UnsupportedOption,
    WaitTimeout,
    oom_note,
)
from testctr.housekeeping import check_once_in_background
from testctr.image_map import local_image
from testctr.image_typos import add_typo_hint
from testctr.labels import container_labels, start_ticks
from testctr.liveness import UNCHECKED_STATE_AGE, is_local, port_held
from testctr.log_excerpt import last_lines, log_dir, log_path, write_log
from testctr.networks import Network, name_of
from testctr.option import Option, Spec, build_spec, read_content, read_host_file
from testctr.owners import Owner, ScriptOwner, owner_for, script_name
from testctr.parsing import (
    container_name,
    database_name,
    network_alias,
    oom_kills,
    parse_memory,
    port_key,
)
from testctr.reaper import prepare as prepare_reaper
from testctr.reaper import release, remove_when_gone, watch
from testctr.reuse import (
    REUSE,
    SHARED,
    SharedRun,
    attach_or_create,
    config_hash,
    replace,
    reused_name,
    shared_name,
    shared_run,
)
from testctr.wait import HealthyWait, LogWait, RunningWait


class _CreationGate:
    """Caps concurrent creations across threads (--testctr-max-concurrent).

    When the cap is reached, a creation waits for a slot and then sleeps
    ``create_delay`` so a burst does not hit the engine all at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._size = 1
        self._sem = threading.BoundedSemaphore(1)

    def _semaphore(self, size: int) -> threading.BoundedSemaphore:
        with self._lock:
            if size != self._size:
                self._sem, self._size = threading.BoundedSemaphore(size), size
            return self._sem

    @contextlib.contextmanager
    def slot(self, deadline: float) -> Iterator[None]:
        s = _settings.current()
        sem = self._semaphore(s.max_concurrent)
        if not sem.acquire(blocking=False):
            waited = time.monotonic()
            if not sem.acquire(timeout=max(deadline - waited, 0)):
                raise WaitTimeout(
                    f"a creation slot ({s.max_concurrent} containers are being created at once; "
                    "--testctr-max-concurrent)",
                    time.monotonic() - waited,
                )
            time.sleep(s.create_delay)
        try:
            yield
        finally:
            sem.release()


_gate = _CreationGate()
_port_key = functools.lru_cache(maxsize=256, typed=True)(port_key)

#: Where a container's kernel counts its OOM kills, cgroup v2 and v1.
_OOM_COUNTERS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")
#: What a creation that may be made again with fresh ports returns (a Container, an id).
_Made = TypeVar("_Made")


class Container:
    """A running container that belongs to a test. Made by :func:`new` or :func:`run`."""

    def __init__(
        self,
        backend: Backend,
        backend_name: str,
        container_id: str,
        name: str,
        image: str,
        spec: Spec,
        requested_backend: str | None = None,
    ) -> None:
        self.backend = backend
        #: The backend in use ("cli", "apple"); ``requested_backend`` is the name asked for ("auto").
        self.backend_name = backend_name
        self.requested_backend = requested_backend or backend_name
        self.id = container_id
        self.name = name
        self.image = image
        self.runtime = backend.runtime
        self._spec = spec
        self._info: ContainerInfo | None = None
        #: When the state in ``_info`` was asked for (``time.monotonic()``): the engine read it later.
        self._info_at = 0.0
        #: Whether the engine publishes ports on this machine (their holders can be checked).
        self._local: bool | None = None
        #: Where the engine's published ports are reached, once asked (the same for all its containers).
        self._host: str | None = None
        #: When the engine reported the last start done (``time.monotonic()``).
        self.started_at = time.monotonic()
        self._prefetch: threading.Thread | None = None
        self._removed = False
        self._log_printer: _LogPrinter | None = None
        #: The per-test databases handed out and not yet dropped: test id -> handle.
        self._databases: dict[str, str] = {}
        self._db_lock = threading.Lock()
        #: What the container logged before its latest start ("" at the first):
        #: log waits count only the matches after it.
        self.log_before_start = ""
        self._db: Databases | None = None
        self._log_copies: list[threading.Thread] = []
        self._terminate_lock = threading.Lock()
        self._oom_kills_seen = 0
        #: with_reuse / with_shared: the owner's end leaves it running, and other runs use it too.
        self._outlives: str | None = None

    def __repr__(self) -> str:
        return f"<testctr.Container {self.name} {self.image} ({self.backend_name}/{self.runtime})>"

    @property
    def config(self) -> ContainerConfig:
        """The settings it was created with, after every option (read-only by convention).

        Service modules' accessors read credentials here (e.g. an env var a
        ``with_*`` helper set), so they agree with the options in any order.
        """
        return self._spec.config

    # --- endpoints ------------------------------------------------------------------------

    def host(self) -> str:
        if self._host is not None:
            return self._host
        if isinstance(self.backend, ContainerHost):
            return self.backend.container_host(self.id)  # it knows when its answer may change
        self._host = self.backend.host()
        return self._host

    def _prefetch_info(self) -> None:
        """Inspect in the background while wait strategies run.

        The host ports are only known once the container has started; fetching
        them alongside the readiness wait takes one engine round trip off the
        critical path of every test that asks for an endpoint.
        """

        def fetch() -> None:
            asked = time.monotonic()
            with contextlib.suppress(TestctrError):
                self._info = self.backend.inspect_container(self.id)
                self._info_at = asked

        # In a copy of this context: the start's deadline bounds the inspect too.
        context = contextvars.copy_context()
        self._prefetch = threading.Thread(
            target=context.run, args=(fetch,), name=f"testctr-inspect-{self.name}", daemon=True
        )
        self._prefetch.start()

    def last_info(self) -> tuple[ContainerInfo, float] | None:
        """The last state the engine reported (the prefetch's included) and when it was asked for."""
        self._await_prefetch()
        return None if self._info is None else (self._info, self._info_at)

    def _running_info(self, key: str) -> ContainerInfo:
        """What the engine said of a container that still runs; ContainerNotRunning otherwise.

        The cached answer serves while the engine still holds one of the port's
        host bindings (no round trip). Bindings all let go, an engine on
        another machine, or bindings this machine cannot check once the answer
        is older than UNCHECKED_STATE_AGE, mean the state may have changed: ask again.
        """
        last = self.last_info()
        info = last[0] if last is not None else self.inspect()
        protocol = key.rsplit("/", 1)[1]
        held = {port_held(b.host_ip, b.host_port, protocol) for b in info.ports.get(key, ()) if b.host_port > 0}
        if self._local is None:
            self._local = is_local(self.backend.host())
        may_have_changed = False in held or time.monotonic() - self._info_at > UNCHECKED_STATE_AGE
        if not info.state.running or not self._local or (True not in held and may_have_changed):
            try:
                info = self.inspect()
            except ContainerNotFound as e:
                raise ContainerNotRunning(f"container {self.name} is gone (removed outside testctr?): {e}") from None
        if not info.state.running:
            code = "" if info.state.exit_code is None else f", exit code {info.state.exit_code}"
            raise ContainerNotRunning(
                f"container {self.name} ({self.image}) is not running ({info.state.status}{code})"
            )
        return info

    def port(self, port: str | int) -> int:
        """The host port published for ``port`` (``6379``, ``"6379/tcp"``, ``"53/udp"``).

        Raises ContainerNotRunning (with the exit code) for a container that
        stopped, exited or was removed: a port it no longer has is no answer.
        """
        # Parsed once per distinct argument: a test's endpoint lookups are on its path.
        key = _port_key(port) if isinstance(port, (str, int)) else port_key(port)
        for attempt in range(2):
            info = self._running_info(key) if attempt == 0 else self.inspect()
            for binding in info.ports.get(key, ()):
                if binding.host_port > 0:
                    return binding.host_port
        published = ", ".join(p.key for p in self._spec.config.ports) or "none"
        if key not in {p.key for p in self._spec.config.ports}:
            raise PortNotPublished(
                f"port {key} of {self.name} is not published (published: {published}); "
                f"add testctr.with_port({str(port)!r})"
            )
        raise PortNotPublished(f"port {key} of {self.name} has no host binding; is the container running?")

    def endpoint(self, port: str | int) -> str:
        host = self.host()
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{self.port(port)}"

    # --- exec -------------------------------------------------------------------------------

    def exec(
        self,
        cmd: Sequence[str] | str,
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        user: str | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        """Run a command; a str is split like a shell would (no shell runs it)."""
        if isinstance(cmd, str):
            try:
                cmd = shlex.split(cmd)
            except ValueError as e:  # an unclosed quote, a trailing backslash
                raise InvalidOption(f"exec cannot split {cmd!r} like a shell would: {e}") from None
        argv = _option.valid_args(cmd, "exec")
        if not argv:
            raise InvalidOption("exec needs a command")
        env = None if env is None else _option.valid_env_map(env, "exec env")
        workdir = None if workdir is None else _option.valid_container_path(workdir, "exec workdir")
        user = None if user is None else _parsing.parse_name(user, "exec user")
        timeout = None if timeout is None else _parsing.timeout_seconds(timeout, "exec timeout")
        result = self.backend.exec_in_container(self.id, argv, env=env, workdir=workdir, user=user, timeout=timeout)
        limit = self._spec.config.memory_bytes
        if result.exit_code == 137 and limit is not None:
            return dataclasses.replace(result, oom_killed=self._oom_killed_since_last_look(), memory_limit=limit)
        return result

    def _oom_killed_since_last_look(self) -> bool | None:
        """Whether the OOM killer killed a process of this container since the last look.

        The container's memory cgroup counts its OOM kills (cgroup v2's
        ``memory.events``, v1's ``memory.oom_control``); None when neither can
        be read (no ``cat``, a VM without them).
        """
        try:
            events = self.backend.exec_in_container(self.id, ["cat", *_OOM_COUNTERS], timeout=10)
        except TestctrError:
            return None
        kills = oom_kills(events.stdout)  # cat fails for the file of the other cgroup version
        if kills is None:
            return None
        killed, self._oom_kills_seen = kills > self._oom_kills_seen, kills
        return killed

    def exec_simple(self, *cmd: str) -> str:
        """Run a command and return its stripped stdout; raise ExecError on non-zero exit."""
        result = self.exec(list(cmd))
        if result.exit_code != 0:
            raise ExecError(cmd, result)
        return result.stdout.strip()

    # --- state -------------------------------------------------------------------------------

    def logs(self) -> str:
        return self.backend.get_container_logs(self.id)

    def log_report(self, base: str | None = None, tail: str | None = None) -> tuple[str, str]:
        """The log's last lines (``--testctr-report-lines``), and the file the whole log is being written to.

        The copy runs in the background (a flooding container's log takes
        long to read); the container is not removed before it is done.
        ``base`` is where the ``testctr-logs`` directory goes (pytest's
        basetemp), else the system temp dir; ``tail``, the last lines when
        the caller has them.
        """
        if tail is None:
            tail = last_lines(self.backend, self.id, _settings.current().report_lines)
        path = log_path(log_dir(base), self.name)

        def copy() -> None:
            try:
                write_log(self.backend, self.id, path)
            except (TestctrError, OSError) as e:
                with contextlib.suppress(OSError), open(path, "a", encoding="utf-8") as f:
                    f.write(f"\n[testctr: could not read the log: {e}]\n")

        thread = threading.Thread(target=copy, name=f"testctr-log-copy-{self.name}", daemon=True)
        thread.start()
        self._log_copies.append(thread)
        return tail, path

    def _await_log_copies(self) -> None:
        for thread in self._log_copies:
            if thread is not threading.current_thread():
                thread.join()

    def _explain_failed_start(self, error: WaitTimeout | ContainerStartError, owner: Owner) -> None:
        """Add to ``error`` the last log lines, the path of the whole log and, if so, the OOM killer."""
        note = ""
        if isinstance(error, ContainerStartError):  # a timed-out container runs: nothing killed it
            with contextlib.suppress(TestctrError):
                state = self.backend.inspect_container(self.id).state
                note = oom_note(state.oom_killed, state.exit_code, self._spec.config.memory_bytes)
        try:
            # A log wait's error already holds the lines it read last: no engine call for them.
            tail, path = self.log_report(owner.log_base(), tail=error.logs or None)
        except (TestctrError, OSError) as e:
            tail, path = f"(could not read the log: {e})", None
        error.attach_logs(tail, path, note)

    def inspect(self) -> ContainerInfo:
        asked = time.monotonic()
        self._info = self.backend.inspect_container(self.id)
        self._info_at = asked
        return self._info

    def internal_ip(self, network: Network | str | None = None) -> str:
        """The address on ``network`` (a :class:`testctr.Network` or a name), None: the primary one."""
        if network is None:
            return self.backend.internal_ip(self.id)
        name = name_of(network)
        addresses = self.inspect().networks
        if name not in addresses:
            attached = ", ".join(sorted(addresses)) or "none"
            raise TestctrError(f"{self.name} is not attached to network {name!r} (attached: {attached})")
        if not addresses[name]:
            raise TestctrError(f"{self.name} has no address on network {name!r}; is it running?")
        return addresses[name]

    # --- networks -------------------------------------------------------------------------------

    def _connector(self, option: str) -> NetworkConnector:
        if not isinstance(self.backend, NetworkConnector):
            reason = unsupported_reason(
                self.backend, NetworkConnector, "the backend cannot attach a running container to a network"
            )
            raise UnsupportedOption(option, self.backend_name, reason)
        return self.backend

    def connect(self, network: Network | str, aliases: Sequence[str] = ()) -> None:
        """Attach the running container to ``network``, reachable there as ``aliases``."""
        name = name_of(network)
        if isinstance(aliases, str):
            raise InvalidOption(f"connect aliases must be a list of names, got the string {aliases!r}")
        names = [network_alias(a) for a in aliases]
        self._forget_info()
        self._connector("connect").connect_network(self.id, name, names)

    def disconnect(self, network: Network | str) -> None:
        name = name_of(network)
        self._forget_info()
        self._connector("disconnect").disconnect_network(self.id, name)

    def health(self) -> str | None:
        if isinstance(self.backend, HealthReporter):
            return self.backend.health_status(self.id)
        if isinstance(self.backend, ExplainsLimits):
            # A backend that says why it has no health checks has none: "no
            # HEALTHCHECK in the image" would send the user the wrong way.
            reason = self.backend.unsupported_reason(HealthReporter)
            if reason:
                raise UnsupportedOption("with_wait_for_healthy", self.backend_name, reason)
        return self.inspect().state.health

    # --- files ----------------------------------------------------------------------------------

    def _copier(self, option: str) -> FileCopier:
        if not isinstance(self.backend, FileCopier):
            raise UnsupportedOption(option, self.backend_name, "the backend cannot copy files")
        return self.backend

    def copy_to(
        self, data_or_path: bytes | IO[bytes] | str | os.PathLike[str], container_path: str, mode: int | None = None
    ) -> None:
        """Copy into the container. A str or Path names a host file; pass bytes for content."""
        container_path = _option.valid_container_path(container_path, "copy_to container path")
        mode = _option.valid_mode(mode)
        if isinstance(data_or_path, (str, os.PathLike)):
            data, mode = read_host_file(
                data_or_path, mode, "copy_to (to write literal text, pass bytes: text.encode())"
            )
        else:
            data = read_content(data_or_path)
        self._copier("copy_to").copy_to_container(self.id, container_path, data, mode)

    def copy_from(self, container_path: str) -> bytes:
        path = _option.valid_container_path(container_path, "copy_from container path")
        return self._copier("copy_from").copy_from_container(self.id, path)

    def update_resources(self, memory: str | int | None = None, cpus: float | None = None) -> None:
        """Change the memory limit (``"512m"``, bytes) and/or CPUs of the running container."""
        if memory is None and cpus is None:
            raise InvalidOption("update_resources needs memory and/or cpus")
        cpus = None if cpus is None else _parsing.parse_cpus(cpus, "update_resources cpus")
        memory_bytes = None if memory is None else parse_memory(memory)
        if not isinstance(self.backend, ResourceUpdater):
            raise UnsupportedOption(
                "update_resources",
                self.backend_name,
                unsupported_reason(
                    self.backend,
                    ResourceUpdater,
                    "the backend cannot change the limits of a running container; "
                    "set them at creation with with_memory_limit / with_cpus",
                ),
            )
        self.backend.update_resources(self.id, memory_bytes=memory_bytes, cpus=cpus)

    def commit(self, image: str) -> None:
        self.backend.commit(self.id, _parsing.parse_image(image))

    # --- lifecycle ----------------------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> None:
        timeout = _parsing.seconds(timeout, "stop timeout")
        self._forget_info()
        if self._db is not None:
            self._db.forget_ready()
        self.backend.stop_container(self.id, timeout)

    def start(self) -> None:
        """Start it again and wait until it is ready by its wait strategies, as at its creation.

        Bounded by the startup timeout. A container that is running already is left as it is.
        """
        deadline = _startup_deadline(self._spec)
        # Every engine call of the start and of its waits ends by the deadline, as at the creation.
        with _deadline.until(deadline):
            if self.inspect().state.running:
                return
            self._forget_info()
            self.log_before_start = self.logs() if any(isinstance(w, LogWait) for w in self._spec.waits) else ""
            self.backend.start_container(self.id)
            self.started_at = time.monotonic()
            self._await_ready(deadline)

    def _await_ready(self, deadline: float) -> None:
        """Wait until the (just started) container is ready by its wait strategies."""
        _await_ready(self, self._spec, deadline, fresh=True)

    def _await_prefetch(self) -> None:
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is not None:
            prefetch.join()

    def _forget_info(self) -> None:
        self._await_prefetch()
        self._info = None

    def restart(self, timeout: float = 10.0) -> None:
        """Stop, start, and wait until it is ready again (see :meth:`start`)."""
        self.stop(timeout)
        self.start()

    def terminate(self) -> None:
        """Remove the container now; the cleanup registered on the test is then a no-op."""
        with self._terminate_lock:  # the removal after a failed start may run in the background
            if self._removed:
                return
            self._await_log_copies()
            if self._log_printer is not None:
                self._log_printer.close()
            if self._db is not None:
                self._db.close()
            with contextlib.suppress(ContainerNotFound):
                self.backend.remove_container(self.id)
            # Only now: a removal that failed is tried again by the test's cleanup.
            self._removed = True
            release(self.backend_name, self.runtime, self.name)

    def _cleanup(self, owner: Owner) -> None:
        owner.ended(self)
        if self._removed:
            return
        if self._outlives is not None:
            # It lives on: this run's ready databases are dropped in the background.
            if self._log_printer is not None:
                self._log_printer.close()
            if self._db is not None:
                self._db.retire()
            return
        if _settings.current().keep_failed and owner.failed_using(self):
            self._keep(owner)
            return
        self.terminate()

    def _keep(self, owner: Owner) -> None:
        if self._log_printer is not None:
            self._log_printer.close()
        if self._db is not None:
            self._db.retire()
        release(self.backend_name, self.runtime, self.name)
        kept_databases.record(self.name, self._databases)
        owner.kept(self._keep_hint(owner.why_kept(self)))

    def _keep_hint(self, why: str) -> str:
        commands = self.backend.debug_commands(self.name) if isinstance(self.backend, DebugCommands) else {}
        lines = [f"testctr: kept container {self.name} ({self.image}) {why}"]
        lines += [f"    {purpose}: {commands[purpose]}" for purpose in ("logs", "shell") if purpose in commands]
        # `testctr clean` removes it once this run has ended, whatever the backend.
        remove = commands.get("remove")
        lines.append(f"    remove: {remove}   (or: testctr clean)" if remove else "    remove: testctr clean")
        if self._databases:
            lines.append("    databases kept: " + kept_databases.describe(self._databases))
        return "\n".join(lines)

    # --- per-test databases ---------------------------------------------------------------------

    def dsn(self, t: object, driver: str | None = None) -> str:
        """A fresh database for test ``t`` (made once per test, dropped after its teardown).

        Taken from a pool kept ready in the background, and dropped in the
        background, unless TESTCTR_DB_POOL=0 (see :mod:`testctr.dbpool`).
        """
        provider = self._spec.dsn_provider
        if driver is not None and not isinstance(driver, str):
            raise InvalidOption(f"dsn driver must be a str naming a driver, or None, got {driver!r}")
        if provider is None:
            raise TestctrError(
                f"{self.image} has no DSN provider: use a database module's default() "
                "(e.g. testctr.modules.postgres.default()) or testctr.with_dsn_provider(...)"
            )
        owner = owner_for(t)
        test = owner.test_id
        with self._db_lock:
            handle = self._databases.get(test)
            if handle is None:
                if self._db is None:
                    self._db = databases_for(self, provider)
                databases = self._db
                ready = databases.take_ready()
                if ready is None:
                    # Other runs use this server too: each names its databases with its own token.
                    session = sessions.token() if self._outlives is not None else ""
                    handle = databases.create(database_name(test, provider.max_name_length, session))
                else:
                    handle = ready.handle
                self._databases[test] = handle

                def drop(handle: str = handle) -> None:
                    if self._removed:
                        return
                    if _settings.current().keep_failed and owner.failed():
                        return  # the container's keep hint names it
                    with self._db_lock:
                        self._databases.pop(test, None)
                    databases.drop(handle)

                owner.add_cleanup(drop)
                if ready is not None and ready.dsn is not None and driver is None:
                    return ready.dsn
        return provider.format_dsn(self, handle, driver)


class _LogPrinter:
    """Streams a container's log lines to stderr: with_logs() / --testctr-verbose."""

    def __init__(self, container: Container, streamer: LogStreamer, keep: Callable[[str], bool] | None) -> None:
        self._stream = streamer.stream_logs(container.id)
        self._keep = keep
        self._prefix = f"[{container.name}] "
        self._thread = threading.Thread(target=self._run, name=f"testctr-logs-{container.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for line in self._stream:
            if self._keep is None or self._keep(line):
                sys.stderr.write(self._prefix + line + "\n")

    def close(self) -> None:
        self._stream.close()
        self._thread.join(timeout=5)  # no line of this container in the next test's output


def _startup_deadline(spec: Spec) -> float:
    """When a start (the first or a later one) must have made the container ready."""
    timeout = spec.startup_timeout if spec.startup_timeout is not None else _settings.current().startup_timeout
    return time.monotonic() + timeout


def _start(owner: Owner, image: str, opts: Sequence[Option]) -> Container:
    image = _parsing.parse_image(image)
    spec = build_spec(opts)
    image = local_image(image)
    published = {p.key for p in spec.config.ports}
    for strategy in spec.waits:
        port = getattr(strategy, "port", None)
        if isinstance(port, str) and port not in published:
            raise InvalidOption(f"{strategy.describe()}: port {port} is not published; add testctr.with_port({port!r})")
    deadline = _startup_deadline(spec)
    # Every engine call of the start (choosing the backend, creation, start,
    # the clean-up of a failed start, every wait) ends by the deadline.
    with _deadline.until(deadline):
        return _start_by(owner, image, spec, deadline)


def _start_by(owner: Owner, image: str, spec: Spec, deadline: float) -> Container:
    s = _settings.current()
    reused = spec.outlives_owner == REUSE and s.reuse
    run = shared_run() if spec.outlives_owner == SHARED else None
    if not (reused or run is not None):
        prepare_reaper()  # it will be watched: the watchdog boots while the backend is chosen
    resolved = resolve(spec.backend, spec.runtime)
    backend, backend_name = resolved.backend, resolved.name
    if spec.stream_logs and not isinstance(backend, LogStreamer):
        raise UnsupportedOption("with_logs", backend_name, "the backend cannot stream logs")
    if any(isinstance(w, HealthyWait) for w in spec.waits) and not isinstance(backend, HealthReporter):
        # Without HealthReporter health comes from inspect(); a backend that
        # says why it has none would only time out there.
        reason = unsupported_reason(backend, HealthReporter, "")
        if reason:
            raise UnsupportedOption("with_wait_for_healthy", backend_name, reason)
    if spec.config.files and not isinstance(backend, FileCopier):
        raise UnsupportedOption("with_file", backend_name, "the backend cannot copy files")

    if reused:
        return _start_outliving(owner, image, spec, resolved, deadline, None)
    if run is not None:
        return _start_outliving(owner, image, spec, resolved, deadline, run)
    config = spec.config
    config.name = container_name(owner.test_id, os.urandom(3).hex())
    config.labels = {**config.labels, **container_labels(s.label, owner.test_id, image)}

    with _gate.slot(deadline):
        container = _with_fresh_ports(config, deadline, lambda: _create_owned(owner, image, spec, resolved))
    try:
        _await_ready(container, spec, deadline, fresh=True)
    except BaseException as e:
        if isinstance(e, (WaitTimeout, ContainerStartError)):
            container._explain_failed_start(e, owner)
        _abandon(container, owner)
        raise
    # After the first start, when everything it needs is imported: the check
    # runs in a thread, and a thread importing what another is importing can
    # deadlock.
    check_once_in_background(owner.warn, backend)
    return container


def _create_owned(owner: Owner, image: str, spec: Spec, resolved: Resolved) -> Container:
    """Create ``spec``'s container for ``owner``, copy its files in and start it; removed if that fails."""
    backend, backend_name = resolved.backend, resolved.name
    config = spec.config
    watch(backend_name, backend.runtime, config.name)  # by name, before the create: a kill during it leaks nothing
    # One engine call where the backend can: files must be in place before the start.
    runner = backend if not config.files and isinstance(backend, ContainerRunner) else None
    try:
        if runner is not None:
            container_id = runner.run_container(image, config)
        else:
            container_id = backend.create_container(image, config)
    except BaseException as e:
        if isinstance(e, (ImageNotFound, ImagePullError)):
            add_typo_hint(backend, image, e)
        # A create that failed half way, timed out or was interrupted may
        # still have made the container; its name is all we know it by.
        with contextlib.suppress(TestctrError):
            backend.remove_container(config.name)
            release(backend_name, backend.runtime, config.name)
        raise
    container = Container(backend, backend_name, container_id, config.name, image, spec, resolved.requested)
    # Registered before anything else can fail: nothing leaks, whatever happens next.
    owner.add_cleanup(lambda: container._cleanup(owner))
    owner.started(container)
    if runner is None:
        try:
            for entry in config.files:
                assert isinstance(backend, FileCopier)
                backend.copy_to_container(container_id, entry.container_path, entry.data, entry.mode)
            backend.start_container(container_id)
            container.started_at = time.monotonic()
        except HostPortTaken:
            # Never kept: it is made again under its name, and had nothing to show.
            with contextlib.suppress(TestctrError):
                container.terminate()
            raise
        except BaseException:
            _abandon(container, owner)
            raise
    return container


def _with_fresh_ports(config: ContainerConfig, deadline: float, make: Callable[[], _Made]) -> _Made:
    """``make()``, made again while another process takes a host port the backend chose for ``config``.

    Between the backend choosing a free port and the engine binding it at the
    start, another process may take it; ``make`` removes what it half made
    and the backend chooses afresh at the next creation (files are copied in
    again), up to ``PORT_ATTEMPTS`` creations within the startup deadline. A
    host port the user asked for is never swapped: that fails at once, with
    what to do about it.
    """
    asked = {p.host_port for p in config.ports if p.host_port is not None}
    for attempt in range(1, PORT_ATTEMPTS + 1):
        try:
            return make()
        except HostPortTaken as e:
            if e.port in asked:
                raise ContainerStartError(
                    f"{e.message}\nfix: host port {e.port} is in use by another process: stop it, or publish "
                    'the port without a host port (e.g. with_port("80")) and use container.port() to find it',
                    logs=e.logs,
                ) from None
            if attempt == PORT_ATTEMPTS or time.monotonic() >= deadline:
                raise
    raise AssertionError("unreachable")


def _await_ready(container: Container, spec: Spec, deadline: float, fresh: bool) -> None:
    """Stream logs if asked, then run the wait strategies; ``fresh``: just started, not attached to."""
    backend = container.backend
    if spec.config.ports and container._info is None:
        container._prefetch_info()
    streams = spec.stream_logs or _settings.current().verbose
    if streams and container._log_printer is None and isinstance(backend, LogStreamer):
        container._log_printer = _LogPrinter(container, backend, spec.log_filter)
    if spec.startup_delay and fresh:
        time.sleep(spec.startup_delay)
    for strategy in spec.waits or [RunningWait()]:
        strategy.wait(container, deadline)


def _create(backend: Backend, image: str, config: ContainerConfig) -> str:
    """Create and start a container that outlives its owner (so no owner's cleanup guards this)."""
    if not config.files and isinstance(backend, ContainerRunner):
        try:
            return backend.run_container(image, config)
        except HostPortTaken:
            # Made under its name but not started: the next creation needs the name. (Any
            # other failure may be another process's container of that name: never removed.)
            with contextlib.suppress(TestctrError):
                backend.remove_container(config.name)
            raise
    container_id = backend.create_container(image, config)
    try:
        for entry in config.files:
            assert isinstance(backend, FileCopier)
            backend.copy_to_container(container_id, entry.container_path, entry.data, entry.mode)
        backend.start_container(container_id)
    except BaseException:
        with contextlib.suppress(TestctrError):
            backend.remove_container(container_id)
        raise
    return container_id


def _start_outliving(
    owner: Owner, image: str, spec: Spec, resolved: Resolved, deadline: float, run: SharedRun | None
) -> Container:
    """Attach to the container of the same configuration (and run, when ``run``), or make it.

    Never watched by this process's reaper: a reused container outlives every
    run, and a shared one belongs to the xdist controller, whose end (or death)
    removes it.
    """
    s = _settings.current()
    backend, backend_name = resolved.backend, resolved.name
    config = spec.config
    digest = config_hash(image, config, (backend_name, backend.runtime, backend.host()))
    if run is None:
        config.name = reused_name(digest)
        marker = {last_use.reuse_label(s.label): digest}
        last_use.touch(config.name)  # before the attach: a concurrent expiry must see it in use
        owner_pid = None
    else:
        config.name = shared_name(digest, run.id)
        marker = {f"{s.label}.shared": run.id}
        owner_pid = run.controller_pid
    labels = container_labels(s.label, owner.test_id, image, owner_pid)
    config.labels = {**config.labels, **labels, **marker}
    for attempt in range(2):
        asked = time.monotonic()
        with _gate.slot(deadline):
            attached = attach_or_create(
                backend,
                config.name,
                lambda: _with_fresh_ports(config, deadline, lambda: _create(backend, image, config)),
                deadline,
            )
        container = Container(backend, backend_name, attached.id, config.name, image, spec, resolved.requested)
        container._outlives = spec.outlives_owner
        container._info = attached.info  # a running one's ports are known: no second inspect
        container._info_at = asked
        owner.add_cleanup(lambda container=container: container._cleanup(owner))  # type: ignore[misc]
        owner.started(container)
        if run is not None:
            if attached.created:
                remove_when_gone(
                    run.controller_pid, start_ticks(run.controller_pid), backend_name, backend.runtime, config.name
                )
            owner.shared(container)
        if spec.dsn_provider is not None and attached.info is not None:
            # Found running: ended runs' databases go, and the pool fills, while the wait strategies run again.
            container._db = databases_for(container, spec.dsn_provider, outliving=True, waiting=deadline)
        try:
            _await_ready(container, spec, deadline, fresh=attached.created)
        except BaseException as e:
            if container._db is not None:
                container._db.close()
                container._db = None
            if isinstance(e, ContainerStartError):
                if attached.created or attempt:
                    container._explain_failed_start(e, owner)
                    _abandon(container, owner)
                    raise
                # Found, but it exits as it comes up: replace it once.
                replace(backend, attached.id)
                container._removed = True
                continue
            if attached.created:
                if isinstance(e, WaitTimeout):
                    container._explain_failed_start(e, owner)
                _abandon(container, owner)
            raise
        break
    if container._db is not None:
        container._db.waited()
    elif spec.dsn_provider is not None:
        # Ended runs' databases go, and the pool fills, while this run gets to its first dsn().
        container._db = databases_for(container, spec.dsn_provider, outliving=True)
    check_once_in_background(owner.warn, backend)
    return container


def _abandon(container: Container, owner: Owner) -> None:
    """A start failed: remove the container now, unless keep-failed wants it.

    Never raises: the start's own error is what the user must see. A removal
    that fails here is tried again by the cleanup registered on the test.
    """
    if _settings.current().keep_failed:
        container._keep(owner)
        container._removed = True
        return

    def remove() -> None:
        try:
            container.terminate()
        except TestctrError as e:
            print(f"testctr: could not remove {container.name} after a failed start: {e}", file=sys.stderr)

    if container._log_copies:
        # The error goes to the test now; the container goes once its log is
        # copied (the test's cleanup waits for that).
        threading.Thread(target=remove, name=f"testctr-remove-{container.name}", daemon=True).start()
    else:
        remove()


def new(t: object, image: str, *options: Option) -> Container:
    """Start ``image`` for test ``t`` (a pytest ``request`` or a ``unittest.TestCase``).

    The container is removed when ``t`` finishes. Raises on bad options at once,
    and on a container that exits during startup as soon as it exits.
    """
    return _start(owner_for(t), image, options)


@contextlib.contextmanager
def run(image: str, *options: Option) -> Iterator[Container]:
    """``with testctr.run(image, ...) as c:`` for scripts; removed when the block ends."""
    owner = ScriptOwner(script_name())
    try:
        yield _start(owner, image, options)
    except BaseException:
        owner.error = True
        raise
    finally:
        owner.close()
