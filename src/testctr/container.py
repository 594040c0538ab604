"""The core: start a container for a test, hand it out, clean it up.

Everything here talks to a :class:`testctr.backend.Backend` and its optional
capability protocols; nothing branches on which backend it is.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO

from testctr import option as _option
from testctr import parsing as _parsing
from testctr import settings as _settings
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
from testctr.backends import resolve
from testctr.errors import (
    ContainerNotFound,
    ExecError,
    InvalidOption,
    PortNotPublished,
    TestctrError,
    UnsupportedOption,
    WaitTimeout,
)
from testctr.housekeeping import warn_about_leftovers_once
from testctr.labels import container_labels
from testctr.networks import Network, name_of
from testctr.option import Option, Spec, build_spec, read_content, read_host_file
from testctr.owners import Owner, ScriptOwner, owner_for, script_name
from testctr.parsing import container_name, database_name, network_alias, parse_memory, port_key, substitute_image
from testctr.reaper import release, watch
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
        self._prefetch: threading.Thread | None = None
        self._removed = False
        self._log_printer: _LogPrinter | None = None
        self._databases: dict[str, str] = {}
        self._db_lock = threading.Lock()
        #: What the container logged before its latest start ("" at the first):
        #: log waits count only the matches after it.
        self.log_before_start = ""

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
        if isinstance(self.backend, ContainerHost):
            return self.backend.container_host(self.id)
        return self.backend.host()

    def _prefetch_info(self) -> None:
        """Inspect in the background while wait strategies run.

        The host ports are only known once the container has started; fetching
        them alongside the readiness wait takes one engine round trip off the
        critical path of every test that asks for an endpoint.
        """

        def fetch() -> None:
            with contextlib.suppress(TestctrError):
                self._info = self.backend.inspect_container(self.id)

        self._prefetch = threading.Thread(target=fetch, name=f"testctr-inspect-{self.name}", daemon=True)
        self._prefetch.start()

    def port(self, port: str | int) -> int:
        """The host port published for ``port`` (``6379``, ``"6379/tcp"``, ``"53/udp"``)."""
        key = port_key(port)
        self._await_prefetch()
        for attempt in range(2):
            info = self._info if (self._info is not None and attempt == 0) else self.inspect()
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
        return self.backend.exec_in_container(self.id, argv, env=env, workdir=workdir, user=user, timeout=timeout)

    def exec_simple(self, *cmd: str) -> str:
        """Run a command and return its stripped stdout; raise ExecError on non-zero exit."""
        result = self.exec(list(cmd))
        if result.exit_code != 0:
            raise ExecError(cmd, result)
        return result.stdout.strip()

    # --- state -------------------------------------------------------------------------------

    def logs(self) -> str:
        return self.backend.get_container_logs(self.id)

    def inspect(self) -> ContainerInfo:
        self._info = self.backend.inspect_container(self.id)
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
        self.backend.stop_container(self.id, timeout)

    def start(self) -> None:
        """Start it again and wait until it is ready by its wait strategies, as at its creation.

        Bounded by the startup timeout. A container that is running already is left as it is.
        """
        if self.inspect().state.running:
            return
        self._forget_info()
        self.log_before_start = self.logs() if any(isinstance(w, LogWait) for w in self._spec.waits) else ""
        deadline = _startup_deadline(self._spec)
        self.backend.start_container(self.id)
        self._await_ready(deadline)

    def _await_ready(self, deadline: float) -> None:
        if self._spec.config.ports:
            self._prefetch_info()
        if self._spec.startup_delay:
            time.sleep(self._spec.startup_delay)
        for strategy in self._spec.waits or [RunningWait()]:
            strategy.wait(self, deadline)

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
        if self._removed:
            return
        if self._log_printer is not None:
            self._log_printer.close()
        with contextlib.suppress(ContainerNotFound):
            self.backend.remove_container(self.id)
        # Only now: a removal that failed is tried again by the test's cleanup.
        self._removed = True
        release(self.backend_name, self.runtime, self.name)

    def _cleanup(self, owner: Owner) -> None:
        owner.ended(self)
        if self._removed:
            return
        if _settings.current().keep_failed and owner.failed():
            self._keep(owner)
            return
        self.terminate()

    def _keep(self, owner: Owner) -> None:
        if self._log_printer is not None:
            self._log_printer.close()
        release(self.backend_name, self.runtime, self.name)
        owner.kept(self._keep_hint(owner.test_id))

    def _keep_hint(self, test_id: str) -> str:
        commands = self.backend.debug_commands(self.name) if isinstance(self.backend, DebugCommands) else {}
        lines = [f"testctr: kept container {self.name} ({self.image}) of failed test {test_id}"]
        lines += [f"    {purpose}: {commands[purpose]}" for purpose in ("logs", "shell") if purpose in commands]
        # `testctr clean` removes it once this run has ended, whatever the backend.
        remove = commands.get("remove")
        lines.append(f"    remove: {remove}   (or: testctr clean)" if remove else "    remove: testctr clean")
        if self._databases:
            lines.append("    databases kept: " + ", ".join(sorted(self._databases.values())))
        return "\n".join(lines)

    # --- per-test databases ---------------------------------------------------------------------

    def dsn(self, t: object, driver: str | None = None) -> str:
        """A fresh database for test ``t`` (created once per test, dropped at its teardown)."""
        provider = self._spec.dsn_provider
        if driver is not None and not isinstance(driver, str):
            raise InvalidOption(f"dsn driver must be a str naming a driver, or None, got {driver!r}")
        if provider is None:
            raise TestctrError(
                f"{self.image} has no DSN provider: use a database module's default() "
                "(e.g. testctr.modules.postgres.default()) or testctr.with_dsn_provider(...)"
            )
        owner = owner_for(t)
        name = database_name(owner.test_id, provider.max_name_length)
        with self._db_lock:
            handle = self._databases.get(name)
            if handle is None:
                handle = provider.create_database(self, name)
                self._databases[name] = handle

                def drop(handle: str = handle, name: str = name) -> None:
                    if self._removed:
                        return
                    if _settings.current().keep_failed and owner.failed():
                        return  # the container's keep hint names it
                    with self._db_lock:
                        self._databases.pop(name, None)
                    provider.drop_database(self, handle)

                owner.add_cleanup(drop)
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
    s = _settings.current()
    spec = build_spec(opts)
    image = substitute_image(image, s.image_map, s.image_prefix)
    published = {p.key for p in spec.config.ports}
    for strategy in spec.waits:
        port = getattr(strategy, "port", None)
        if isinstance(port, str) and port not in published:
            raise InvalidOption(f"{strategy.describe()}: port {port} is not published; add testctr.with_port({port!r})")
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

    config = spec.config
    config.name = container_name(owner.test_id, os.urandom(3).hex())
    config.labels = {**config.labels, **container_labels(s.label, owner.test_id, image)}
    deadline = _startup_deadline(spec)

    watch(backend_name, backend.runtime, config.name)  # by name, before the create: a kill during it leaks nothing
    with _gate.slot(deadline):
        # One engine call where the backend can: files must be in place before the start.
        runner = backend if not config.files and isinstance(backend, ContainerRunner) else None
        try:
            if runner is not None:
                container_id = runner.run_container(image, config)
            else:
                container_id = backend.create_container(image, config)
        except BaseException:
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
            except BaseException:
                _abandon(container, owner)
                raise
    try:
        if (spec.stream_logs or s.verbose) and isinstance(backend, LogStreamer):
            container._log_printer = _LogPrinter(container, backend, spec.log_filter)
        container._await_ready(deadline)
    except BaseException:
        _abandon(container, owner)
        raise
    # After the first start, when everything it needs is imported: the check
    # runs in a thread, and a thread importing what another is importing can
    # deadlock.
    warn_about_leftovers_once(owner.warn)
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
    try:
        container.terminate()
    except TestctrError as e:
        print(f"testctr: could not remove {container.name} after a failed start: {e}", file=sys.stderr)


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
