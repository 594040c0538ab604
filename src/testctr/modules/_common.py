"""Pieces the service modules share: order-independent defaults, DSN formatting, admin clients."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

from testctr.backend.types import ContainerConfig, ExecResult, FileEntry
from testctr.errors import InvalidOption, TestctrError
from testctr.option import Option, Spec, valid_args, valid_container_path, valid_env, valid_host_path, with_file
from testctr.parsing import has_control_chars, is_number, shown

if TYPE_CHECKING:
    from testctr.container import Container

ADMIN_CLIENTS = ("auto", "driver", "exec")


class DatabaseAdminError(TestctrError):
    """The server refused a statement testctr sent to create or drop a test database."""


def env_default(key: str, value: str) -> Option:
    """Set an env var unless an option already set it.

    Lets ``default()`` come before or after the ``with_*`` helpers: whatever the
    user chose explicitly wins, in any order.
    """
    key, value = valid_env(key, value)

    def apply(spec: Spec) -> None:
        spec.config.env.setdefault(key, value)

    return Option(f"env_default({key!r})", apply)


def args_first(*args: str) -> Option:
    """Put server flags before the others, so a user's later (or earlier) flag for the same key wins."""
    checked = valid_args(args, "args_first")

    def apply(spec: Spec) -> None:
        spec.config.args[0:0] = checked

    return Option(f"args_first{args!r}", apply)


def data_in_memory(path: str) -> Option:
    """The server's data directory on tmpfs.

    A throwaway server needs no disk, and per-test databases are created an
    order of magnitude faster in memory (PostgreSQL's CREATE DATABASE here:
    ~170 ms on overlayfs, ~17 ms on tmpfs). The data does not survive a
    container restart; ``with_data_on_disk()`` of the module turns it off.
    """
    path = valid_container_path(path, "data_in_memory path")
    return Option(f"data in memory ({path})", lambda spec: spec.config.tmpfs.append(path))


def data_on_disk(path: str, module: str) -> Option:
    def apply(spec: Spec) -> None:
        if path not in spec.config.tmpfs:
            raise InvalidOption(f"{module}.with_data_on_disk() must come after {module}.default()")
        spec.config.tmpfs.remove(path)

    return Option(f"{module}.with_data_on_disk()", apply)


def init_script(path: str | os.PathLike[str], module: str) -> Option:
    """Run a ``.sql``/``.sh`` file once at the server's first start (/docker-entrypoint-initdb.d)."""
    base = os.path.basename(valid_host_path(path, f"{module}.with_init_script path"))
    if not base:
        raise InvalidOption(f"{module}.with_init_script: {path!r} names no file")
    return with_file(path, f"/docker-entrypoint-initdb.d/{base}")


#: Servers read their numeric settings into 64-bit integers at most.
_CONFIG_INT_RANGE = (-(2**63), 2**63 - 1)


def config_value(value: object, what: str) -> str:
    """A server setting's value as text: bools as on/off-style words are left to the caller."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if is_number(value):
        low, high = _CONFIG_INT_RANGE
        if not low <= value <= high:  # NaN and infinities fail too
            raise InvalidOption(f"{what} value {shown(value)} must be a finite number within 64-bit integers")
        return str(value)
    if isinstance(value, str):
        if has_control_chars(value):
            raise InvalidOption(f"{what} value {shown(value)} must be one line without control characters")
        return value
    raise InvalidOption(f"{what} values must be str, int, float or bool, got {shown(value)}")


def config_key(key: object, what: str) -> str:
    if (
        not isinstance(key, str)
        or not key
        or any(c.isspace() or c == "=" for c in key)
        or key.startswith("-")
        or has_control_chars(key)
    ):
        raise InvalidOption(
            f"{what} key {shown(key)} must be a non-empty name without spaces, '=', control characters or a leading '-'"
        )
    return key


def nonempty(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or "\x00" in value:
        raise InvalidOption(f"{what} must be a non-empty string without NUL bytes, got {shown(value)}")
    return value


class BoundProvider:
    """Base of the modules' DSN providers: bound to one container's config, read at dsn time.

    Options edit ``spec.config`` in place (env, args), so a provider holding it
    sees options applied after the one that made it: ``default()`` and the
    ``with_*`` helpers work in any order.
    """

    max_name_length = 63
    #: The Python driver the provider prefers, and how to install it (for messages).
    driver_module = ""
    driver_install = ""

    def __init__(self, config: ContainerConfig) -> None:
        self._config = config
        #: How it reaches the server: "auto" (a driver when installed), "driver" or "exec".
        self.admin_client = "auto"
        self._use_exec: bool | None = None  # decided on first use

    def uses_exec(self) -> bool:
        """Whether to go through the server's own client inside the container."""
        if self._use_exec is None:
            installed = has_module(self.driver_module)
            if self.admin_client == "driver" and not installed:
                raise InvalidOption(f"with_dsn_client('driver') needs {self.driver_module}: {self.driver_install}")
            self._use_exec = self.admin_client == "exec" or (self.admin_client == "auto" and not installed)
        return self._use_exec

    def create_database(self, container: Container, name: str) -> str:
        raise NotImplementedError

    def drop_database(self, container: Container, handle: str) -> None:
        raise NotImplementedError

    def format_dsn(self, container: Container, handle: str, driver: str | None = None) -> str:
        raise NotImplementedError


P = TypeVar("P", bound=BoundProvider)
T = TypeVar("T")


def provider_of(spec: Spec, cls: type[P]) -> P:
    """The spec's provider of this kind, made (bound to this spec's config) if it has none yet.

    A fresh provider per spec, never one shared between containers: it holds
    per-container state (an admin connection, a built template).
    """
    provider = spec.dsn_provider
    if isinstance(provider, cls):
        return provider
    made = cls(spec.config)
    spec.dsn_provider = made
    return made


def use_provider(cls: type[BoundProvider], name: str) -> Option:
    """Install the module's per-test resource provider (``cls``) on the container's spec."""
    if not (isinstance(cls, type) and issubclass(cls, BoundProvider)):
        raise InvalidOption(f"use_provider needs a BoundProvider subclass, got {cls!r}")
    if not isinstance(name, str) or "\x00" in name:
        raise InvalidOption(f"use_provider needs a name, got {name!r}")

    def apply(spec: Spec) -> None:
        provider_of(spec, cls)

    return Option(f"{name}()", apply)


def admin_client_option(cls: type[BoundProvider], module: str, mode: str) -> Option:
    if mode not in ADMIN_CLIENTS:
        raise InvalidOption(f"{module}.with_dsn_client: expected one of {ADMIN_CLIENTS}, got {mode!r}")

    def apply(spec: Spec) -> None:
        provider_of(spec, cls).admin_client = mode

    return Option(f"{module}.with_dsn_client({mode!r})", apply)


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def first_env(env: Mapping[str, str], *names: str, default: str = "") -> str:
    for name in names:
        value = env.get(name)
        if value:
            return value
    return default


def url(scheme: str, user: str, password: str, endpoint: str, path: str) -> str:
    auth = ""
    if user or password:
        auth = quote(user, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        auth += "@"
    return f"{scheme}://{auth}{endpoint}/{quote(path, safe='')}"


def check_exec(result: ExecResult, what: str) -> str:
    if result.exit_code != 0:
        detail = (result.stderr or result.stdout).strip()
        raise DatabaseAdminError(f"{what} failed (exit {result.exit_code}): {detail}")
    return result.stdout


def is_missing_binary(result: ExecResult) -> bool:
    # The contract's codes: 127 no such executable, 126 one that cannot run.
    return result.exit_code in (126, 127)


def append_file_lines(path: str, lines: list[str], *, first: bool = False) -> Option:
    """Add lines to a config file the container gets, stacking with earlier or later calls."""
    path = valid_container_path(path, "config_lines path")
    text = "".join(line + "\n" for line in valid_args(lines, "config_lines"))

    def apply(spec: Spec) -> None:
        for i, entry in enumerate(spec.config.files):
            if entry.container_path == path:
                data = (text.encode() + entry.data) if first else (entry.data + text.encode())
                spec.config.files[i] = FileEntry(path, data, entry.mode)
                return
        spec.config.files.append(FileEntry(path, text.encode(), 0o644))

    return Option(f"config_lines({path!r})", apply)


class TemplateBuildFailed(TestctrError):
    """The template of ``with_template`` failed to build in an earlier test of this container."""


class TemplateBuild:
    """A template database built at most once per container, its failure remembered.

    A migration that fails would fail again, slowly, for every test: the first
    test gets its error, the later ones a short reference to it at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.built = False
        self._failure: str | None = None

    def ensure(self, build: Callable[[], None]) -> None:
        with self._lock:
            if self.built:
                return
            if self._failure is not None:
                raise TemplateBuildFailed(f"the template database failed to build in an earlier test: {self._failure}")
            try:
                build()
            except Exception as e:
                self._failure = f"{type(e).__name__}: {e}".splitlines()[0][:300]
                raise
            self.built = True


class ConnectionCache:
    """A provider's admin connections (one provider per container), one per concurrent user.

    The database pool's worker and a test's dsn() each get a connection of
    their own, so neither waits for the other's statement. ``connect`` makes a
    connection; ``broken`` tells a dropped connection (the server restarted)
    from a statement error: only then is the statement retried, once, on a
    new connection.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[object] = []

    def run(
        self,
        connect: Callable[[], object],
        use: Callable[[object], T],
        broken: Callable[[object], bool],
    ) -> T:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        for attempt in range(2):
            if conn is None:
                conn = connect()
            try:
                result = use(conn)
            except Exception:
                if not broken(conn):
                    self._put_back(conn)
                    raise
                _close(conn)
                conn = None
                if attempt == 1:
                    raise
                continue
            self._put_back(conn)
            return result
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _put_back(self, conn: object) -> None:
        with self._lock:
            self._idle.append(conn)


def _close(conn: object) -> None:
    close = getattr(conn, "close", None)
    if callable(close):
        # Closing a broken connection may fail; it is gone either way.
        with contextlib.suppress(Exception):
            close()
