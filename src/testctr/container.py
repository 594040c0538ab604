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

from testctr import last_use, sessions
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
    ResourceUpdater,
    unsupported_reason,
)
from testctr.backend.types import ContainerConfig, ContainerInfo, ExecResult
from testctr.backends import Resolved, resolve
from testctr.dsn import drop_dead_sessions
from testctr.errors import (
    ContainerNotFound,
    ContainerStartError,
    ExecError,
    InvalidOption,
    PortNotPublished,
    TestctrError,
    UnsupportedOption,
    WaitTimeout,
)
from testctr.housekeeping import warn_about_leftovers_once
from testctr.labels import container_labels, project_name, start_ticks
from testctr.option import Option, Spec, build_spec, read_content, read_host_file
from testctr.owners import Owner, ScriptOwner, owner_for, script_name
from testctr.parsing import container_name, database_name, parse_memory, port_key, substitute_image
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
from testctr.wait import HealthyWait, RunningWait


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
        #: with_reuse / with_shared: the owner's end leaves it running, and other runs use it too.
        self._outlives: str | None = None
        self._swept = False

    def __repr__(self) -> str:
        return f"<testctr.Container {self.name} {self.image} ({self.backend_name}/{self.runtime})>"

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
        argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        if not argv or not all(isinstance(arg, str) for arg in argv):
            raise InvalidOption(f"exec needs a command as a list of strings, got {cmd!r}")
        if timeout is not None and timeout <= 0:
            raise InvalidOption(f"exec timeout must be positive, got {timeout!r}")
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

    def internal_ip(self) -> str:
        return self.backend.internal_ip(self.id)

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
        if not isinstance(container_path, str) or not container_path.startswith("/"):
            raise InvalidOption(f"container path {container_path!r} must be absolute")
        if isinstance(data_or_path, (str, os.PathLike)):
            data, mode = read_host_file(
                data_or_path, mode, "copy_to (to write literal text, pass bytes: text.encode())"
            )
        else:
            data = read_content(data_or_path)
        self._copier("copy_to").copy_to_container(self.id, container_path, data, mode)

    def copy_from(self, container_path: str) -> bytes:
        return self._copier("copy_from").copy_from_container(self.id, container_path)

    def update_resources(self, memory: str | int | None = None, cpus: float | None = None) -> None:
        """Change the memory limit (``"512m"``, bytes) and/or CPUs of the running container."""
        if memory is None and cpus is None:
            raise InvalidOption("update_resources needs memory and/or cpus")
        if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or not cpus > 0):
            raise InvalidOption(f"update_resources needs a positive number of CPUs, got {cpus!r}")
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
        memory_bytes = None if memory is None else parse_memory(memory)
        self.backend.update_resources(self.id, memory_bytes=memory_bytes, cpus=None if cpus is None else float(cpus))

    def commit(self, image: str) -> None:
        if not isinstance(image, str) or not image:
            raise InvalidOption("commit needs an image name")
        self.backend.commit(self.id, image)

    # --- lifecycle ----------------------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> None:
        self._forget_info()
        self.backend.stop_container(self.id, timeout)

    def start(self) -> None:
        # Engines may assign new host ports on restart: forget the cached ones.
        self._forget_info()
        self.backend.start_container(self.id)

    def _await_prefetch(self) -> None:
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is not None:
            prefetch.join()

    def _forget_info(self) -> None:
        self._await_prefetch()
        self._info = None

    def restart(self, timeout: float = 10.0) -> None:
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
        if self._outlives is not None:
            if self._log_printer is not None:
                self._log_printer.close()
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
        if provider is None:
            raise TestctrError(
                f"{self.image} has no DSN provider: use a database module's default() "
                "(e.g. testctr.modules.postgres.default()) or testctr.with_dsn_provider(...)"
            )
        owner = owner_for(t)
        # Other runs use this server too: each names its databases with its own token.
        session = sessions.token() if self._outlives is not None else ""
        name = database_name(owner.test_id, provider.max_name_length, session)
        with self._db_lock:
            if session and not self._swept:
                self._swept = True
                drop_dead_sessions(self, provider)
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


def _start(owner: Owner, image: str, opts: Sequence[Option]) -> Container:
    if not isinstance(image, str) or not image.strip() or any(c.isspace() for c in image):
        raise InvalidOption(f"image must be a non-empty name without spaces, got {image!r}")
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

    timeout = spec.startup_timeout if spec.startup_timeout is not None else s.startup_timeout
    deadline = time.monotonic() + timeout
    if spec.outlives_owner == REUSE and s.reuse:
        return _start_outliving(owner, image, spec, resolved, deadline, None)
    if spec.outlives_owner == SHARED and (run := shared_run()) is not None:
        return _start_outliving(owner, image, spec, resolved, deadline, run)
    config = spec.config
    config.name = container_name(owner.test_id, os.urandom(3).hex())
    config.labels = {**config.labels, **container_labels(s.label, owner.test_id, image, project_name())}

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
        _await_ready(container, spec, deadline, fresh=True)
    except BaseException:
        _abandon(container, owner)
        raise
    # After the first start, when everything it needs is imported: the check
    # runs in a thread, and a thread importing what another is importing can
    # deadlock.
    warn_about_leftovers_once(owner.warn)
    return container


def _await_ready(container: Container, spec: Spec, deadline: float, fresh: bool) -> None:
    """Stream logs if asked, then run the wait strategies; ``fresh``: just started, not attached to."""
    backend = container.backend
    if spec.config.ports and container._info is None:
        container._prefetch_info()
    if (spec.stream_logs or _settings.current().verbose) and isinstance(backend, LogStreamer):
        container._log_printer = _LogPrinter(container, backend, spec.log_filter)
    if spec.startup_delay and fresh:
        time.sleep(spec.startup_delay)
    for strategy in spec.waits or [RunningWait()]:
        strategy.wait(container, deadline)


def _create(backend: Backend, image: str, config: ContainerConfig) -> str:
    """Create and start a container that outlives its owner (so no owner's cleanup guards this)."""
    if not config.files and isinstance(backend, ContainerRunner):
        return backend.run_container(image, config)
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
    labels = container_labels(s.label, owner.test_id, image, project_name(), owner_pid)
    config.labels = {**config.labels, **labels, **marker}
    for attempt in range(2):
        with _gate.slot(deadline):
            attached = attach_or_create(backend, config.name, lambda: _create(backend, image, config), deadline)
        container = Container(backend, backend_name, attached.id, config.name, image, spec, resolved.requested)
        container._outlives = spec.outlives_owner
        container._info = attached.info  # a running one's ports are known: no second inspect
        owner.add_cleanup(lambda container=container: container._cleanup(owner))  # type: ignore[misc]
        owner.started(container)
        if run is not None:
            if attached.created:
                remove_when_gone(
                    run.controller_pid, start_ticks(run.controller_pid), backend_name, backend.runtime, config.name
                )
            owner.shared(container)
        try:
            _await_ready(container, spec, deadline, fresh=attached.created)
        except ContainerStartError:
            if attached.created or attempt:
                _abandon(container, owner)
                raise
            # Found, but it exits as it comes up: replace it once.
            replace(backend, attached.id)
            container._removed = True
            continue
        except BaseException:
            if attached.created:
                _abandon(container, owner)
            raise
        break
    if run is None:
        last_use.expire_once_in_background(backend, s.label, s.reuse_ttl)
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
