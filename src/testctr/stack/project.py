"""A Compose project that belongs to a test: brought up, handed out as containers, taken down."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Union

from testctr import settings as _settings
from testctr.backend.protocols import Backend, ContainerLister, unsupported_reason
from testctr.backends import resolve
from testctr.backends._process import CommandTimeout, Completed, run_command
from testctr.container import Container, _gate
from testctr.errors import ContainerStartError, InvalidOption, TestctrError, UnsupportedOption, WaitTimeout
from testctr.housekeeping import check_once_in_background
from testctr.image_map import local_image
from testctr.labels import container_labels
from testctr.option import Option, Spec, build_spec
from testctr.owners import Owner, ScriptOwner, owner_for, script_name
from testctr.parsing import parse_port_spec
from testctr.reaper import protocol as _reaper_protocol
from testctr.reaper import release, watch
from testctr.stack.override import Service, check_project_name, override, parse_config, project_name_for, service_image
from testctr.stack.tool import ComposeTool, find_tool, tool_message
from testctr.wait import HealthyWait, WaitStrategy

CONFIG_TIMEOUT = 60.0
DOWN_TIMEOUT = 120.0

PathLike = Union[str, "os.PathLike[str]"]
#: What ``waits`` takes per service: wait options, as for testctr.new.
Waits = Mapping[str, "Option | Sequence[Option]"]


class _ServiceStarted:
    """A service without a wait of its own: healthy where it has a healthcheck (the
    file's or the image's), else running, or done with exit code 0 (a one-shot job)."""

    timeout: float | None = None

    def describe(self) -> str:
        return "the service to be healthy, running, or done with exit code 0"

    def wait(self, container: Container, deadline: float) -> None:
        state = container.inspect().state
        if state.health is not None:
            HealthyWait().wait(container, deadline)
        elif not state.running and state.exit_code not in (0, None):
            raise ContainerStartError(
                f"service container {container.name} ({container.image}) exited during startup",
                exit_code=state.exit_code,
                logs=container.logs(),
            )


class Compose:
    """A Compose project brought up for a test by :func:`compose` or :func:`compose_run`."""

    def __init__(
        self,
        tool: ComposeTool,
        backend: Backend,
        backend_name: str,
        project: str,
        files: list[str],
        profiles: list[str],
        env: Mapping[str, str],
        services: Mapping[str, Service],
    ) -> None:
        self.tool = tool
        self.backend = backend
        self.backend_name = backend_name
        self.project = project
        self.files = files
        self._profiles = profiles
        self._given_env = dict(env)
        self._env = {**os.environ, **env}
        self._services = dict(services)
        self._containers: dict[str, Container] = {}
        self._override = ""
        self._down = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<testctr.Compose {self.project} ({', '.join(self._services)}; {self.tool.typed})>"

    # --- the tool ------------------------------------------------------------------------------

    def _global_args(self, with_override: bool) -> list[str]:
        # --name=value forms: nothing user-supplied can be read as a flag.
        files = [*self.files, self._override] if with_override and self._override else self.files
        return [
            f"--project-name={self.project}",
            *(f"--file={f}" for f in files),
            *(f"--profile={p}" for p in self._profiles),
        ]

    def _run(self, args: Sequence[str], timeout: float, with_override: bool = True) -> Completed:
        argv = [*self.tool.argv, *self._global_args(with_override), *args]
        try:
            return run_command(argv, timeout, env=self._env)
        except CommandTimeout:
            raise WaitTimeout(f"`{self.tool.typed} {args[0]}` of project {self.project}", timeout) from None
        except OSError as e:
            raise TestctrError(f"cannot run {self.tool.typed}: {e}") from None

    def down_command(self) -> str:
        """What a person types to take the project down (the user's files suffice)."""
        return shlex.join([*shlex.split(self.tool.typed), *self._global_args(False), *_DOWN])

    def _watch(self) -> None:
        """Have the reaper take the project down if this process dies before :meth:`_release`.

        Its containers, networks and volumes are the Compose tool's, made by
        one ``up``: only that tool's ``down`` knows them all.
        """
        watch(self.backend_name, self.backend.runtime, self._reaper_ref(), kind=_reaper_protocol.COMPOSE)

    def _release(self) -> None:
        release(self.backend_name, self.backend.runtime, self._reaper_ref(), kind=_reaper_protocol.COMPOSE)

    def _reaper_ref(self) -> str:
        argv = [*self.tool.argv, *self._global_args(False), *_DOWN]
        return _reaper_protocol.compose_ref(argv, self._given_env)

    def _config(self) -> dict[str, Service]:
        """The services, from the tool's ``config``: once per process for the same input."""
        key = _config_key(self.tool, self.files, self._profiles, self._env)
        with _configs_lock:
            known = _configs.get(key)
        if known is not None:
            return dict(known)
        config = self._run(self.tool.config_args(), CONFIG_TIMEOUT, with_override=False)
        if config.returncode != 0:
            raise InvalidOption(
                f"invalid Compose file {', '.join(self.files)} ({self.tool.typed} config): {tool_message(config.err)}"
            )
        services = parse_config(config.out, self.tool.is_v2)
        with _configs_lock:
            _configs[key] = services
        return dict(services)

    # --- services ------------------------------------------------------------------------------

    @property
    def services(self) -> list[str]:
        """The services the Compose files define (started or not)."""
        return list(self._services)

    def service(self, name: str) -> Container:
        """The container of service ``name`` (the first, if it is scaled); removed with the project."""
        container = self._containers.get(name)
        if container is not None:
            return container
        if name not in self._services:
            raise InvalidOption(
                f"project {self.project} has no service {name!r}; its services: {', '.join(self._services)}"
            )
        raise InvalidOption(
            f"service {name!r} of project {self.project} was not started (started: "
            f"{', '.join(self._containers) or 'none'}); name it in services= or its profile in profiles="
        )

    def logs(self) -> str:
        """Every started service's log, each line prefixed with its service's name."""
        width = max((len(n) for n in self._containers), default=0)
        return "".join(
            "".join(f"{name.ljust(width)} | {line}\n" for line in container.logs().splitlines())
            for name, container in self._containers.items()
        )

    def _find_containers(self, label: str) -> None:
        assert isinstance(self.backend, ContainerLister)
        found = sorted(
            (
                info
                for info in self.backend.list_containers(f"{label}.compose.project")
                if info.labels.get(f"{label}.compose.project") == self.project
            ),
            key=lambda info: info.name,
        )
        for info in found:
            name = info.labels.get(f"{label}.compose.service", "")
            if name in self._containers:
                continue  # a scaled service: its first replica stands for it
            spec = Spec()
            spec.config.ports = [parse_port_spec(key) for key, bound in info.ports.items() if bound]
            container = Container(self.backend, self.backend_name, info.id, info.name, info.image, spec)
            container._info = info
            self._containers[name] = container

    # --- lifecycle -----------------------------------------------------------------------------

    def down(self) -> None:
        """Take the project down now, with its volumes and networks; the test's cleanup then does nothing."""
        with self._lock:
            if self._down:
                return
            result = self._run(_DOWN, DOWN_TIMEOUT)
            if result.returncode != 0:
                raise TestctrError(
                    f"`{self.tool.typed} down` of project {self.project} failed: {tool_message(result.err)}"
                )
            self._down = True
            self._forget_override()
            self._release()

    def _forget_override(self) -> None:
        if self._override:
            with contextlib.suppress(OSError):
                os.unlink(self._override)
            self._override = ""

    def _keep(self, owner: Owner) -> None:
        self._down = True
        self._forget_override()
        self._release()
        owner.kept(
            f"testctr: kept Compose project {self.project} ({', '.join(self._containers)}) "
            f"{owner.why_kept(*self._containers.values())}\n    remove: {self.down_command()}"
        )

    def _cleanup(self, owner: Owner) -> None:
        for container in self._containers.values():
            owner.ended(container)
        if self._down:
            return
        # The project goes as a whole: kept when a failed test used any of its services.
        if _settings.current().keep_failed and owner.failed_using(*self._containers.values()):
            self._keep(owner)
            return
        self.down()

    def _abandon(self, owner: Owner) -> None:
        """The start failed: down now unless keep-failed; never hides the start's own error."""
        if _settings.current().keep_failed:
            self._keep(owner)
            return
        try:
            self.down()
        except TestctrError as e:
            print(f"testctr: could not take down {self.project} after a failed start: {e}", file=sys.stderr)


_DOWN = ("down", "-v", "--remove-orphans", "--timeout=0")

#: ``config`` costs a start of the tool (seconds for a Python one): a test run that
#: brings the same files up again and again asks once. The key holds all that the
#: answer depends on: the files as they are now, the project's .env, profiles, environment.
_configs: dict[tuple[object, ...], dict[str, Service]] = {}
_configs_lock = threading.Lock()


def _stat(path: str) -> tuple[str, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (path, st.st_mtime_ns, st.st_size)


def _config_key(
    tool: ComposeTool, files: Sequence[str], profiles: Sequence[str], env: Mapping[str, str]
) -> tuple[object, ...]:
    dotenv = os.path.join(os.path.dirname(files[0]), ".env")
    return (tool.argv, tuple(map(_stat, [*files, dotenv])), tuple(profiles), tuple(sorted(env.items())))


# --- input -------------------------------------------------------------------------------------


def _files(path_or_paths: PathLike | Sequence[PathLike]) -> list[str]:
    paths = [path_or_paths] if isinstance(path_or_paths, (str, os.PathLike)) else list(path_or_paths)
    if not paths:
        raise InvalidOption("compose needs at least one Compose file")
    files = []
    for path in paths:
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidOption(f"a Compose file must be a str or Path, got {path!r}")
        absolute = os.path.abspath(os.fspath(path))
        if not os.path.isfile(absolute):
            raise InvalidOption(f"Compose file {os.fspath(path)!r} does not exist (looked at {absolute})")
        files.append(absolute)
    return files


def _text(value: object) -> bool:
    return isinstance(value, str) and "\x00" not in value


def _names(values: Sequence[str] | None, what: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise InvalidOption(f"{what} must be a list of names, got {values!r}")
    if not all(_text(v) and v for v in values):
        raise InvalidOption(f"{what} must be a list of non-empty names without NUL bytes, got {values!r}")
    return list(values)


def _env(env: Mapping[str, str] | None) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, Mapping) or not all(_text(k) and k and "=" not in k and _text(v) for k, v in env.items()):
        raise InvalidOption(f"compose env must map variable names to str values (no NUL bytes), got {env!r}")
    return dict(env)


def _waits(waits: Waits | None) -> dict[str, list[WaitStrategy]]:
    if waits is not None and not isinstance(waits, Mapping):
        raise InvalidOption(f"waits must map service names to wait options, got {waits!r}")
    result: dict[str, list[WaitStrategy]] = {}
    for name, given in (waits or {}).items():
        opts = [given] if isinstance(given, Option) else given
        if not isinstance(opts, (list, tuple)):
            raise InvalidOption(f"waits[{name!r}] takes a wait option or a list of them, got {given!r}")
        spec = build_spec(opts)
        if not spec.waits or dataclasses.replace(spec, waits=[]) != Spec():
            raise InvalidOption(f"waits[{name!r}] takes wait options (testctr.with_wait_for_*), got {given!r}")
        result[name] = spec.waits
    return result


def _unknown(names: Sequence[str], known: Mapping[str, Service], what: str) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidOption(f"{what}: no service {', '.join(map(repr, unknown))}; the services: {', '.join(known)}")


# --- start -------------------------------------------------------------------------------------


def _start(
    owner: Owner,
    path_or_paths: PathLike | Sequence[PathLike],
    project_name_: str | None,
    services: Sequence[str] | None,
    env: Mapping[str, str] | None,
    profiles: Sequence[str] | None,
    build: bool,
    waits: Waits | None,
) -> Compose:
    if not isinstance(build, bool):
        raise InvalidOption(f"build must be True or False, got {build!r}")
    files = _files(path_or_paths)
    project = (
        check_project_name(project_name_)
        if project_name_ is not None
        else (project_name_for(owner.test_id, os.urandom(3).hex()))
    )
    wanted = _names(services, "services")
    strategies = _waits(waits)
    s = _settings.current()
    resolved = resolve()
    backend_name, backend = resolved.name, resolved.backend
    if not isinstance(backend, ContainerLister):
        reason = unsupported_reason(backend, ContainerLister, "the backend cannot list containers")
        raise UnsupportedOption("compose", backend_name, reason)
    tool = find_tool(backend.runtime)
    stack = Compose(tool, backend, backend_name, project, files, _names(profiles, "profiles"), _env(env), {})

    stack._services = stack._config()
    _unknown(wanted, stack._services, "services=")
    _unknown(list(strategies), stack._services, "waits=")

    images = {name: service_image(svc, local_image) for name, svc in stack._services.items()}
    labels = {
        name: {
            **container_labels(s.label, owner.test_id, images[name]),
            f"{s.label}.compose.project": project,
            f"{s.label}.compose.service": name,
        }
        for name in stack._services
    }
    fd, stack._override = tempfile.mkstemp(prefix=f"testctr-{project}-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        f.write(override(stack._services, images, labels))

    timeout = s.startup_timeout
    deadline = time.monotonic() + timeout
    # Registered before `up`: whatever `up` made goes down with the test, or with the reaper.
    stack._watch()
    owner.add_cleanup(lambda: stack._cleanup(owner))
    try:
        with _gate.slot(deadline):
            up = stack._run(tool.up_args(wanted, build), max(deadline - time.monotonic(), 1.0))
        if up.returncode != 0:
            raise ContainerStartError(
                f"`{tool.typed} up` of project {project} failed: {tool_message(up.err or up.out)}"
            )
        stack._find_containers(s.label)
        missing = [n for n in wanted if n not in stack._containers]
        if missing or not stack._containers:
            raise ContainerStartError(
                f"`{tool.typed} up` of project {project} left no container for {', '.join(missing) or 'any service'} "
                f"that the {backend_name} backend ({backend.runtime}) sees; are both pointed at the same engine?"
            )
        for container in stack._containers.values():
            owner.started(container)
        for name, container in stack._containers.items():
            for strategy in strategies.get(name) or [_ServiceStarted()]:
                strategy.wait(container, deadline)
    except BaseException:
        stack._abandon(owner)
        raise
    check_once_in_background(owner.warn)
    return stack


def compose(
    t: object,
    path_or_paths: PathLike | Sequence[PathLike],
    *,
    project_name: str | None = None,
    services: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    profiles: Sequence[str] | None = None,
    build: bool = False,
    waits: Waits | None = None,
) -> Compose:
    """Bring a Compose project up for test ``t``; taken down (volumes, networks) when ``t`` ends.

    ``services`` starts only those (and what they depend on); ``env`` adds
    variables for the files' interpolation; ``waits`` maps services to wait
    options (``{"db": testctr.with_wait_for_log("ready")}``), bounded by the
    startup timeout. Services without one are ready when healthy (if they
    have a healthcheck), else running or done with exit code 0.
    """
    return _start(owner_for(t), path_or_paths, project_name, services, env, profiles, build, waits)


@contextlib.contextmanager
def compose_run(
    path_or_paths: PathLike | Sequence[PathLike],
    *,
    project_name: str | None = None,
    services: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    profiles: Sequence[str] | None = None,
    build: bool = False,
    waits: Waits | None = None,
) -> Iterator[Compose]:
    """``with testctr.compose_run("compose.yml") as stack:`` for scripts; down when the block ends."""
    owner = ScriptOwner(script_name())
    try:
        yield _start(owner, path_or_paths, project_name, services, env, profiles, build, waits)
    except BaseException:
        owner.error = True
        raise
    finally:
        owner.close()
