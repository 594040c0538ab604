"""Composable options for :func:`testctr.new`.

An option is a small object that edits a :class:`Spec`. Options validate their
arguments when they are built, so ``with_port("abc")`` fails on the line that
wrote it. Applied in order: a later option wins for single values (command,
user, ...) and adds to collections (env, ports, args, files, waits, ...).
"""

from __future__ import annotations

import math
import os
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from testctr.backend.types import ContainerConfig, FileEntry, Mount
from testctr.errors import InvalidOption
from testctr.parsing import parse_memory, parse_port_spec
from testctr.wait import (
    ExecWait,
    HealthyWait,
    HTTPWait,
    LogWait,
    PortWait,
    WaitStrategy,
)

if TYPE_CHECKING:
    from testctr.dsn import DSNProvider


@dataclass
class Spec:
    """What :func:`testctr.new` builds from the options before creating anything."""

    config: ContainerConfig = field(default_factory=lambda: ContainerConfig(name=""))
    waits: list[WaitStrategy] = field(default_factory=list)
    startup_timeout: float | None = None
    startup_delay: float = 0.0
    stream_logs: bool = False
    log_filter: Callable[[str], bool] | None = None
    backend: str | None = None
    runtime: str | None = None
    dsn_provider: DSNProvider | None = None
    #: "reuse" (with_reuse), "shared" (with_shared) or None: removed with its owner.
    outlives_owner: str | None = None


class Option:
    """One option. ``repr`` shows what it sets, for error messages and debugging."""

    __slots__ = ("_apply", "name")

    def __init__(self, name: str, apply: Callable[[Spec], None]) -> None:
        self.name = name
        self._apply = apply

    def apply(self, spec: Spec) -> None:
        self._apply(spec)

    def __repr__(self) -> str:
        return f"<testctr option {self.name}>"


def options(*opts: Option) -> Option:
    """Bundle options into one (what service modules' ``default()`` return)."""
    for opt in opts:
        if not isinstance(opt, Option):
            raise InvalidOption(f"expected a testctr option, got {opt!r}")

    def apply(spec: Spec) -> None:
        for opt in opts:
            opt.apply(spec)

    return Option("options(" + ", ".join(o.name for o in opts) + ")", apply)


# --- validation helpers -------------------------------------------------------------


def _nonempty(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidOption(f"{what} must be a non-empty string, got {value!r}")
    if "\x00" in value:
        raise InvalidOption(f"{what} must not contain NUL bytes")
    return value


def _container_path(path: object, what: str) -> str:
    text = _nonempty(path, what)
    if not text.startswith("/"):
        raise InvalidOption(f"{what} {text!r} must be an absolute path inside the container")
    return posixpath.normpath(text)


def _seconds(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidOption(f"{what} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise InvalidOption(f"{what} must be a finite, non-negative number of seconds, got {value!r}")
    return float(value)


def _mode(mode: int | None) -> int | None:
    if mode is None:
        return None
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o7777:
        raise InvalidOption(f"file mode must be an int like 0o644, got {mode!r}")
    return mode


def _args(args: Iterable[object], what: str) -> list[str]:
    result = []
    for arg in args:
        if not isinstance(arg, str):
            raise InvalidOption(f"{what} arguments must be strings, got {arg!r}")
        result.append(arg)
    return result


_ENV_KEY = re.compile(r"^[^=\x00]+$")


def _env_key(key: object) -> str:
    if not isinstance(key, str) or not _ENV_KEY.match(key):
        raise InvalidOption(f"invalid env var name {key!r}: must be non-empty and contain no '='")
    return key


def read_host_file(path: str | os.PathLike[str], mode: int | None, what: str) -> tuple[bytes, int]:
    """A host file's bytes, and its permission bits unless ``mode`` overrides them."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        return data, (os.stat(path).st_mode & 0o7777) if mode is None else mode
    except OSError as e:
        raise InvalidOption(f"{what}: cannot read host file {os.fspath(path)!r}: {e.strerror}") from None


def read_content(data: bytes | str | IO[bytes]) -> bytes:
    """bytes, str (UTF-8) or a binary reader -> bytes."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    read = getattr(data, "read", None)
    if callable(read):
        content = read()
        if isinstance(content, str):
            return content.encode()
        if isinstance(content, bytes):
            return content
    raise InvalidOption(f"file content must be bytes, str or a binary reader, got {data!r}")


# --- container options ------------------------------------------------------------------


def with_env(key: str, value: str) -> Option:
    key = _env_key(key)
    if not isinstance(value, str):
        raise InvalidOption(f"env var {key} value must be a string, got {value!r}")

    def apply(spec: Spec) -> None:
        spec.config.env[key] = value

    return Option(f"with_env({key!r})", apply)


def with_env_map(env: Mapping[str, str]) -> Option:
    return options(*(with_env(k, v) for k, v in env.items()))


def with_port(spec: str | int) -> Option:
    """Publish a port: ``"6379"``, ``"6379/tcp"``, ``"53/udp"``, ``"127.0.0.1:8080:80"``.

    Without a host port the engine picks a free one, bound to 127.0.0.1.
    """
    port = parse_port_spec(spec)

    def apply(s: Spec) -> None:
        s.config.ports = [p for p in s.config.ports if p.key != port.key] + [port]

    return Option(f"with_port({spec!r})", apply)


def with_command(*args: str) -> Option:
    """Replace the image's CMD."""
    command = _args(args, "with_command")
    if not command:
        raise InvalidOption("with_command needs at least one argument")

    def apply(spec: Spec) -> None:
        spec.config.command = list(command)

    return Option(f"with_command{tuple(command)!r}", apply)


def with_args(*args: str) -> Option:
    """Append arguments to the command (the image's CMD unless with_command set one)."""
    extra = _args(args, "with_args")

    def apply(spec: Spec) -> None:
        spec.config.args.extend(extra)

    return Option(f"with_args{tuple(extra)!r}", apply)


def with_entrypoint(*args: str) -> Option:
    """Replace the image's ENTRYPOINT (the image's CMD is then not used either)."""
    entry = _args(args, "with_entrypoint")
    if not entry:
        raise InvalidOption("with_entrypoint needs at least one argument")

    def apply(spec: Spec) -> None:
        spec.config.entrypoint = list(entry)

    return Option(f"with_entrypoint{tuple(entry)!r}", apply)


def with_label(key: str, value: str) -> Option:
    key = _nonempty(key, "label key")
    if not isinstance(value, str):
        raise InvalidOption(f"label {key} value must be a string, got {value!r}")

    def apply(spec: Spec) -> None:
        spec.config.labels[key] = value

    return Option(f"with_label({key!r})", apply)


def with_file(host_path: str | os.PathLike[str], container_path: str, mode: int | None = None) -> Option:
    """Copy a host file into the container before its entrypoint runs."""
    target = _container_path(container_path, "with_file container path")
    file_mode = _mode(mode)
    path = os.fspath(host_path)
    data, file_mode = read_host_file(path, file_mode, "with_file")
    entry = FileEntry(target, data, file_mode)

    def apply(spec: Spec) -> None:
        spec.config.files.append(entry)

    return Option(f"with_file({path!r}, {target!r})", apply)


def with_file_content(data: bytes | str | IO[bytes], container_path: str, mode: int | None = None) -> Option:
    target = _container_path(container_path, "with_file_content container path")
    entry = FileEntry(target, read_content(data), _mode(mode))

    def apply(spec: Spec) -> None:
        spec.config.files.append(entry)

    return Option(f"with_file_content({target!r})", apply)


def with_bind_mount(host_path: str | os.PathLike[str], container_path: str, read_only: bool = False) -> Option:
    source = os.path.abspath(os.fspath(host_path))
    if not os.path.exists(source):
        raise InvalidOption(f"with_bind_mount: host path {source!r} does not exist")
    mount = Mount(source, _container_path(container_path, "with_bind_mount container path"), read_only)

    def apply(spec: Spec) -> None:
        spec.config.mounts.append(mount)

    return Option(f"with_bind_mount({source!r}, {mount.target!r})", apply)


def with_tmpfs(path: str) -> Option:
    target = _container_path(path, "with_tmpfs path")

    def apply(spec: Spec) -> None:
        spec.config.tmpfs.append(target)

    return Option(f"with_tmpfs({target!r})", apply)


def with_network(name: str) -> Option:
    """Attach to a network (the first one named is the primary network)."""
    net = _nonempty(name, "network name")

    def apply(spec: Spec) -> None:
        if net not in spec.config.networks:
            spec.config.networks.append(net)

    return Option(f"with_network({net!r})", apply)


def _single(name: str, attr: str, value: Any) -> Option:
    def apply(spec: Spec) -> None:
        setattr(spec.config, attr, value)

    return Option(f"{name}({value!r})", apply)


def with_user(user: str) -> Option:
    return _single("with_user", "user", _nonempty(user, "user"))


def with_workdir(path: str) -> Option:
    return _single("with_workdir", "workdir", _container_path(path, "workdir"))


def with_memory_limit(size: str | int) -> Option:
    """Limit memory: ``"512m"``, ``"1g"`` or bytes."""
    return _single("with_memory_limit", "memory_bytes", parse_memory(size))


def with_cpus(cpus: float) -> Option:
    if isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or not cpus > 0:
        raise InvalidOption(f"with_cpus needs a positive number of CPUs, got {cpus!r}")
    return _single("with_cpus", "cpus", float(cpus))


def with_privileged() -> Option:
    return _single("with_privileged", "privileged", True)


_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$")


def with_platform(platform: str) -> Option:
    if not isinstance(platform, str) or not _PLATFORM.match(platform):
        raise InvalidOption(f"invalid platform {platform!r}: expected OS/ARCH[/VARIANT], e.g. 'linux/amd64'")
    return _single("with_platform", "platform", platform)


def with_backend_config(config: object) -> Option:
    """Backend-specific settings (e.g. the Apple backend's VM config)."""
    if config is None:
        raise InvalidOption("with_backend_config needs a config object")
    return _single("with_backend_config", "backend_config", config)


# --- core options ----------------------------------------------------------------------------


def with_startup_timeout(seconds: float) -> Option:
    """Bound on start plus every wait strategy (default 120 s, TESTCTR_STARTUP_TIMEOUT)."""
    timeout = _seconds(seconds, "startup timeout")
    if not timeout:
        raise InvalidOption("startup timeout must be positive (it bounds the start and every wait)")

    def apply(spec: Spec) -> None:
        spec.startup_timeout = timeout

    return Option(f"with_startup_timeout({seconds!r})", apply)


def with_startup_delay(seconds: float) -> Option:
    """Sleep this long after the container starts, before the wait strategies run."""
    delay = _seconds(seconds, "startup delay") or 0.0

    def apply(spec: Spec) -> None:
        spec.startup_delay = delay

    return Option(f"with_startup_delay({seconds!r})", apply)


def with_logs() -> Option:
    """Stream the container's log lines to the test's output (stderr)."""

    def apply(spec: Spec) -> None:
        spec.stream_logs = True

    return Option("with_logs()", apply)


def with_log_filter(keep: Callable[[str], bool]) -> Option:
    """Only stream log lines for which ``keep(line)`` is true (implies with_logs)."""
    if not callable(keep):
        raise InvalidOption(f"with_log_filter needs a callable, got {keep!r}")

    def apply(spec: Spec) -> None:
        spec.stream_logs = True
        spec.log_filter = keep

    return Option("with_log_filter(...)", apply)


def with_backend(name: str) -> Option:
    backend = _nonempty(name, "backend name")

    def apply(spec: Spec) -> None:
        spec.backend = backend

    return Option(f"with_backend({backend!r})", apply)


def with_runtime(name: str) -> Option:
    """Which engine CLI the backend drives: docker, podman, nerdctl, finch."""
    runtime = _nonempty(name, "runtime name")

    def apply(spec: Spec) -> None:
        spec.runtime = runtime

    return Option(f"with_runtime({runtime!r})", apply)


def with_reuse() -> Option:
    """Keep the container running after its owner ends; the next start of the same
    configuration, in this run or a later one, attaches to it instead of starting one.

    Same configuration: image, env, command, ports, files' contents, mounts,
    resources, ... and engine. Idle longer than TESTCTR_REUSE_TTL (1h), it is
    removed by the next run that reuses one; ``testctr clean --reused`` removes
    them all. TESTCTR_REUSE=false makes it a throwaway container (for CI).
    """
    return _single_core("with_reuse", "reuse")


def with_shared() -> Option:
    """One container for every pytest-xdist worker of a run (from a session-scoped
    fixture): the first worker to ask starts it, the others attach; removed when
    the run ends. Outside xdist, an ordinary container."""
    return _single_core("with_shared", "shared")


def _single_core(name: str, outlives_owner: str) -> Option:
    def apply(spec: Spec) -> None:
        spec.outlives_owner = outlives_owner

    return Option(f"{name}()", apply)


def with_dsn_provider(provider: DSNProvider) -> Option:
    for method in ("create_database", "drop_database", "format_dsn"):
        if not callable(getattr(provider, method, None)):
            raise InvalidOption(f"DSN provider {provider!r} has no {method}() method")

    def apply(spec: Spec) -> None:
        spec.dsn_provider = provider

    return Option(f"with_dsn_provider({type(provider).__name__})", apply)


# --- wait options ------------------------------------------------------------------------------


def with_wait(strategy: WaitStrategy) -> Option:
    """Add a wait strategy (yours or a built-in); all must succeed, in order."""
    if not callable(getattr(strategy, "wait", None)):
        raise InvalidOption(f"{strategy!r} is not a wait strategy (it has no wait() method)")

    def apply(spec: Spec) -> None:
        spec.waits.append(strategy)

    return Option(f"with_wait({strategy.describe() if hasattr(strategy, 'describe') else strategy!r})", apply)


def with_wait_for_log(pattern: str | re.Pattern[str], timeout: float | None = None, occurrences: int = 1) -> Option:
    """Wait until a log line contains ``pattern`` (a str) or matches it (a regex)."""
    if isinstance(pattern, str):
        if not pattern:
            raise InvalidOption("with_wait_for_log needs a non-empty pattern")
        compiled = re.compile(re.escape(pattern))
    elif isinstance(pattern, re.Pattern):
        compiled = pattern
    else:
        raise InvalidOption(f"with_wait_for_log pattern must be str or re.Pattern, got {pattern!r}")
    if isinstance(occurrences, bool) or not isinstance(occurrences, int) or occurrences < 1:
        raise InvalidOption(f"occurrences must be a positive int, got {occurrences!r}")
    return with_wait(LogWait(compiled, _seconds(timeout, "wait timeout"), occurrences))


def with_wait_for_exec(cmd: list[str] | tuple[str, ...], timeout: float | None = None) -> Option:
    command = _args(cmd, "with_wait_for_exec")
    if not command or isinstance(cmd, str):
        raise InvalidOption("with_wait_for_exec needs a command as a list of strings")
    return with_wait(ExecWait(command, _seconds(timeout, "wait timeout")))


def with_wait_for_http(path: str, port: str | int, status: int = 200, timeout: float | None = None) -> Option:
    if not isinstance(path, str) or not path.startswith("/"):
        raise InvalidOption(f"with_wait_for_http path must start with '/', got {path!r}")
    key = parse_port_spec(port)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidOption(f"with_wait_for_http status must be an HTTP status code, got {status!r}")
    return with_wait(HTTPWait(path, key.key, status, _seconds(timeout, "wait timeout")))


def with_wait_for_port(port: str | int, timeout: float | None = None) -> Option:
    """Wait until the host connects to the published port AND it listens inside."""
    key = parse_port_spec(port)
    return with_wait(PortWait(key.key, _seconds(timeout, "wait timeout")))


def with_wait_for_healthy(timeout: float | None = None) -> Option:
    """Wait until the image's HEALTHCHECK reports healthy."""
    return with_wait(HealthyWait(_seconds(timeout, "wait timeout")))


def build_spec(opts: Iterable[Option]) -> Spec:
    spec = Spec()
    for opt in opts:
        if not isinstance(opt, Option):
            raise InvalidOption(f"expected a testctr option (e.g. testctr.with_port('80')), got {opt!r}")
        opt.apply(spec)
    return spec
