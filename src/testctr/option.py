"""Composable options for :func:`testctr.new`.

An option is a small object that edits a :class:`Spec`. Options validate their
arguments when they are built, so ``with_port("abc")`` fails on the line that
wrote it, with :class:`testctr.InvalidOption` (see there for the rule). Applied
in order: a later option wins for single values (command, user, ...) and adds
to collections (env, ports, args, files, waits, ...).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from testctr.backend.types import ContainerConfig, FileEntry, Mount, NetworkAttachment
from testctr.errors import InvalidOption
from testctr.networks import name_of
from testctr.parsing import (
    MAX_COUNT,
    network_alias,
    parse_cpus,
    parse_label_key,
    parse_memory,
    parse_name,
    parse_port_spec,
    seconds,
    shown,
    timeout_seconds,
)
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
    from testctr.networks import Network


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


def _text(value: object, what: str) -> str:
    """A str without NUL bytes (no engine, CLI or OS call can pass one on)."""
    if not isinstance(value, str):
        raise InvalidOption(f"{what} must be a string, got {shown(value)}")
    if "\x00" in value:
        raise InvalidOption(f"{what} must not contain NUL bytes, got {shown(value)}")
    return value


def _nonempty(value: object, what: str) -> str:
    text = _text(value, what)
    if not text:
        raise InvalidOption(f"{what} must be a non-empty string")
    return text


def valid_container_path(path: object, what: str) -> str:
    """An absolute path inside the container, normalised."""
    text = _nonempty(path, what)
    if not text.startswith("/"):
        raise InvalidOption(f"{what} {shown(text)} must be absolute (a path inside the container)")
    return posixpath.normpath(text)


def valid_host_path(path: object, what: str) -> str:
    """A host path (str or os.PathLike) as a str."""
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidOption(f"{what} must be a str or os.PathLike host path, got {shown(path)}")
    text = os.fspath(path)
    if not isinstance(text, str):
        raise InvalidOption(f"{what} must be a text path, got {shown(text)}")
    return _nonempty(text, what)


def _seconds(value: float | None, what: str) -> float | None:
    return None if value is None else seconds(value, what)


def valid_mode(mode: int | None) -> int | None:
    if mode is None:
        return None
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o7777:
        raise InvalidOption(f"file mode must be an int like 0o644, got {shown(mode)}")
    return mode


def valid_args(args: object, what: str) -> list[str]:
    """A command's arguments: a list or tuple of str without NUL bytes."""
    if not isinstance(args, Sequence) or isinstance(args, (str, bytes)):
        raise InvalidOption(f"{what} needs its arguments as a list of strings, got {shown(args)}")
    return [_text(arg, f"{what} arguments") for arg in args]


_ENV_KEY = re.compile(r"[^=\x00]+")


def valid_env(key: object, value: object) -> tuple[str, str]:
    """An environment variable: a non-empty name without '=' and a value, neither with NUL bytes."""
    if not isinstance(key, str) or not _ENV_KEY.fullmatch(key):
        raise InvalidOption(f"invalid env var name {shown(key)}: must be non-empty, without '=' or NUL bytes")
    return key, _text(value, f"env var {key} value")


def valid_env_map(env: object, what: str) -> dict[str, str]:
    if not isinstance(env, Mapping):
        raise InvalidOption(f"{what} needs a mapping of names to values, got {shown(env)}")
    return dict(valid_env(k, v) for k, v in env.items())


def read_host_file(path: str | os.PathLike[str], mode: int | None, what: str) -> tuple[bytes, int]:
    """A host file's bytes, and its permission bits unless ``mode`` overrides them."""
    name = valid_host_path(path, what)
    try:
        with open(name, "rb") as f:
            data = f.read()
        return data, (os.stat(name).st_mode & 0o7777) if mode is None else mode
    except OSError as e:
        raise InvalidOption(f"{what}: cannot read host file {name!r}: {e.strerror}") from None


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
    raise InvalidOption(f"file content must be bytes, str or a binary reader, got {shown(data)}")


# --- container options ------------------------------------------------------------------


def with_env(key: str, value: str) -> Option:
    key, value = valid_env(key, value)

    def apply(spec: Spec) -> None:
        spec.config.env[key] = value

    return Option(f"with_env({key!r})", apply)


def with_env_map(env: Mapping[str, str]) -> Option:
    return options(*(with_env(k, v) for k, v in valid_env_map(env, "with_env_map").items()))


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
    command = valid_args(args, "with_command")
    if not command:
        raise InvalidOption("with_command needs at least one argument")

    def apply(spec: Spec) -> None:
        spec.config.command = list(command)

    return Option(f"with_command{tuple(command)!r}", apply)


def with_args(*args: str) -> Option:
    """Append arguments to the command (the image's CMD unless with_command set one)."""
    extra = valid_args(args, "with_args")

    def apply(spec: Spec) -> None:
        spec.config.args.extend(extra)

    return Option(f"with_args{tuple(extra)!r}", apply)


def with_entrypoint(*args: str) -> Option:
    """Replace the image's ENTRYPOINT (the image's CMD is then not used either)."""
    entry = valid_args(args, "with_entrypoint")
    if not entry:
        raise InvalidOption("with_entrypoint needs at least one argument")

    def apply(spec: Spec) -> None:
        spec.config.entrypoint = list(entry)

    return Option(f"with_entrypoint{tuple(entry)!r}", apply)


def with_label(key: str, value: str) -> Option:
    """A label; keys cannot contain '=' (one meaning on every backend)."""
    key = parse_label_key(key)
    value = _text(value, f"label {key} value")

    def apply(spec: Spec) -> None:
        spec.config.labels[key] = value

    return Option(f"with_label({key!r})", apply)


def with_file(host_path: str | os.PathLike[str], container_path: str, mode: int | None = None) -> Option:
    """Copy a host file into the container before its entrypoint runs."""
    target = valid_container_path(container_path, "with_file container path")
    path = valid_host_path(host_path, "with_file host path")
    data, file_mode = read_host_file(path, valid_mode(mode), "with_file")
    entry = FileEntry(target, data, file_mode)

    def apply(spec: Spec) -> None:
        spec.config.files.append(entry)

    return Option(f"with_file({path!r}, {target!r})", apply)


def with_file_content(data: bytes | str | IO[bytes], container_path: str, mode: int | None = None) -> Option:
    target = valid_container_path(container_path, "with_file_content container path")
    entry = FileEntry(target, read_content(data), valid_mode(mode))

    def apply(spec: Spec) -> None:
        spec.config.files.append(entry)

    return Option(f"with_file_content({target!r})", apply)


def with_bind_mount(host_path: str | os.PathLike[str], container_path: str, read_only: bool = False) -> Option:
    source = os.path.abspath(valid_host_path(host_path, "with_bind_mount host path"))
    target = valid_container_path(container_path, "with_bind_mount container path")
    if not isinstance(read_only, bool):
        raise InvalidOption(f"with_bind_mount read_only must be True or False, got {shown(read_only)}")
    if not os.path.exists(source):
        raise InvalidOption(f"with_bind_mount: host path {source!r} does not exist")
    mount = Mount(source, target, read_only)

    def apply(spec: Spec) -> None:
        spec.config.mounts.append(mount)

    return Option(f"with_bind_mount({source!r}, {mount.target!r})", apply)


def with_tmpfs(path: str) -> Option:
    target = valid_container_path(path, "with_tmpfs path")

    def apply(spec: Spec) -> None:
        spec.config.tmpfs.append(target)

    return Option(f"with_tmpfs({target!r})", apply)


def with_network(network: Network | str, aliases: Iterable[str] = ()) -> Option:
    """Attach to a network (a :func:`testctr.network` or a name), reachable there as ``aliases``.

    The first network named is the primary one. Naming a network again adds
    its aliases.
    """
    name = name_of(network)
    if isinstance(aliases, str) or not isinstance(aliases, Iterable):
        raise InvalidOption(f"with_network aliases must be a list of names, got {shown(aliases)}")
    names = tuple(dict.fromkeys(network_alias(a) for a in aliases))

    def apply(spec: Spec) -> None:
        nets = spec.config.networks
        for i, attached in enumerate(nets):
            if attached.name == name:
                nets[i] = NetworkAttachment(name, tuple(dict.fromkeys(attached.aliases + names)))
                return
        nets.append(NetworkAttachment(name, names))

    return Option(f"with_network({name!r}{f', aliases={list(names)!r}' if names else ''})", apply)


def _single(name: str, attr: str, value: Any) -> Option:
    def apply(spec: Spec) -> None:
        setattr(spec.config, attr, value)

    return Option(f"{name}({value!r})", apply)


def with_user(user: str) -> Option:
    return _single("with_user", "user", parse_name(user, "user"))


def with_workdir(path: str) -> Option:
    return _single("with_workdir", "workdir", valid_container_path(path, "workdir"))


def with_memory_limit(size: str | int) -> Option:
    """Limit memory: ``"512m"``, ``"1g"`` or bytes."""
    return _single("with_memory_limit", "memory_bytes", parse_memory(size))


def with_cpus(cpus: float) -> Option:
    return _single("with_cpus", "cpus", parse_cpus(cpus, "with_cpus"))


def with_privileged() -> Option:
    return _single("with_privileged", "privileged", True)


_PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?")


def with_platform(platform: str) -> Option:
    if not isinstance(platform, str) or not _PLATFORM.fullmatch(platform):
        raise InvalidOption(f"invalid platform {shown(platform)}: expected OS/ARCH[/VARIANT], e.g. 'linux/amd64'")
    return _single("with_platform", "platform", platform)


def with_backend_config(config: object) -> Option:
    """Backend-specific settings (e.g. the Apple backend's VM config)."""
    if config is None:
        raise InvalidOption("with_backend_config needs a config object")
    return _single("with_backend_config", "backend_config", config)


# --- core options ----------------------------------------------------------------------------


def with_startup_timeout(seconds: float) -> Option:
    """Bound on start plus every wait strategy (default 120 s, TESTCTR_STARTUP_TIMEOUT)."""
    timeout = timeout_seconds(seconds, "startup timeout")

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
    backend = parse_name(name, "backend name")

    def apply(spec: Spec) -> None:
        spec.backend = backend

    return Option(f"with_backend({backend!r})", apply)


def with_runtime(name: str) -> Option:
    """Which engine CLI the backend drives: docker, podman, nerdctl, finch."""
    runtime = parse_name(name, "runtime name")

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
    text = None
    if isinstance(pattern, str):
        if not pattern:
            raise InvalidOption("with_wait_for_log needs a non-empty pattern")
        compiled, text = re.compile(re.escape(pattern)), pattern
    elif isinstance(pattern, re.Pattern):
        compiled = pattern
    else:
        raise InvalidOption(f"with_wait_for_log pattern must be str or re.Pattern, got {pattern!r}")
    if isinstance(occurrences, bool) or not isinstance(occurrences, int) or not 1 <= occurrences <= MAX_COUNT:
        raise InvalidOption(f"occurrences must be an int from 1 to {MAX_COUNT}, got {shown(occurrences)}")
    return with_wait(LogWait(compiled, _seconds(timeout, "wait timeout"), occurrences, text=text))


def with_wait_for_exec(cmd: list[str] | tuple[str, ...], timeout: float | None = None) -> Option:
    command = valid_args(cmd, "with_wait_for_exec")
    if not command:
        raise InvalidOption("with_wait_for_exec needs a command as a list of strings")
    return with_wait(ExecWait(command, _seconds(timeout, "wait timeout")))


def with_wait_for_http(path: str, port: str | int, status: int = 200, timeout: float | None = None) -> Option:
    if not isinstance(path, str) or not path.startswith("/") or not path.isprintable() or " " in path:
        # It goes into the request line as it is: a space or control character would break it.
        raise InvalidOption(f"with_wait_for_http path must start with '/', without spaces, got {shown(path)}")
    key = parse_port_spec(port)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidOption(f"with_wait_for_http status must be an HTTP status code, got {shown(status)}")
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
