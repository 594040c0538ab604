"""What a service module is made of, public so your own module looks like ours.

A module is a Python file with ``IMAGE``, ``default()``, typed ``with_*``
helpers and accessors; ``docs/modules.md`` walks through writing one. The
pieces here are the ones testctr's own modules use:

- order-independent defaults: :func:`env_default`, :func:`args_first`,
  :func:`config_lines` (``default()`` and ``with_*`` helpers may come in any
  order; what the user chose explicitly wins);
- speed: :func:`data_in_memory` / :func:`data_on_disk` (a data directory on
  tmpfs);
- waits: ``with_wait_for_log`` / ``_http`` / ``_port`` / ``_exec`` (re-exported
  from :mod:`testctr`);
- validation: :func:`text`, :func:`positive_int`, :func:`port_number`,
  :func:`config_key`, :func:`config_value` (:class:`InvalidOption` for a bad
  value, a wrong type included, as everywhere in testctr);
- accessors: :func:`env_of` (and ``container.config``: the settings a
  container started with), :func:`http_url`, :func:`url`;
- per-test resources à la ``dsn(t)``: subclass :class:`BoundProvider`,
  install it with :func:`use_provider`, reach it from options with
  :func:`provider_of`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from testctr.errors import InvalidOption
from testctr.modules._common import (
    BoundProvider,
    ConnectionCache,
    DatabaseAdminError,
    args_first,
    check_exec,
    config_key,
    config_value,
    data_in_memory,
    data_on_disk,
    env_default,
    first_env,
    has_module,
    init_script,
    provider_of,
    url,
    use_provider,
)
from testctr.modules._common import append_file_lines as config_lines
from testctr.option import (
    Option,
    Spec,
    options,
    with_wait_for_exec,
    with_wait_for_http,
    with_wait_for_log,
    with_wait_for_port,
)

if TYPE_CHECKING:
    from testctr.container import Container


def text(value: object, what: str, *, allow_empty: bool = False) -> str:
    """``value`` as a setting's text: a str; empty (unless allowed), NUL or newline is invalid."""
    if not isinstance(value, str):
        raise InvalidOption(f"{what} must be a str, got {type(value).__name__} {value!r}")
    if not value and not allow_empty:
        raise InvalidOption(f"{what} must not be empty")
    if "\x00" in value or "\n" in value:
        raise InvalidOption(f"{what} must be one line without NUL bytes, got {value!r}")
    return value


def positive_int(value: object, what: str) -> int:
    """``value`` as a count or size: an int (bools are not), at least 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOption(f"{what} must be an int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise InvalidOption(f"{what} must be at least 1, got {value}")
    return value


def port_number(value: object, what: str) -> int:
    """A TCP/UDP port number (1-65535)."""
    number = positive_int(value, what)
    if number > 65535:
        raise InvalidOption(f"{what} must be a port number (1-65535), got {number}")
    return number


def env_of(container: Container, name: str, default: str = "") -> str:
    """An env var the container was started with, after every option (``default`` when unset or empty).

    Accessors read credentials here, so they agree with whatever the options
    set, in whatever order they came. ``container.config`` has the rest.
    """
    return container.config.env.get(name) or default


def http_url(container: Container, port: str | int, path: str = "/", scheme: str = "http") -> str:
    """``http://HOST:PORT/path`` for the host port published for ``port``."""
    if not isinstance(path, str):
        raise InvalidOption(f"path must be a str, got {type(path).__name__} {path!r}")
    if not path.startswith("/"):
        raise InvalidOption(f"path must start with '/', got {path!r}")
    return f"{scheme}://{container.endpoint(port)}{quote(path, safe='/?&=%:@!$,;+~*')}"


__all__ = [
    "BoundProvider",
    "ConnectionCache",
    "DatabaseAdminError",
    "InvalidOption",
    "Option",
    "Spec",
    "args_first",
    "check_exec",
    "config_key",
    "config_lines",
    "config_value",
    "data_in_memory",
    "data_on_disk",
    "env_default",
    "env_of",
    "first_env",
    "has_module",
    "http_url",
    "init_script",
    "options",
    "port_number",
    "positive_int",
    "provider_of",
    "text",
    "url",
    "use_provider",
    "with_wait_for_exec",
    "with_wait_for_http",
    "with_wait_for_log",
    "with_wait_for_port",
]
