"""Memcached: the official ``memcached`` image (``memcached:1``).

    mc = testctr.new(request, memcached.IMAGE, memcached.default())
    pymemcache.Client(mc.endpoint(11211))

``default()`` publishes 11211 and waits until the port accepts connections
(memcached logs nothing when it is ready).
"""

from __future__ import annotations

from testctr.errors import InvalidOption
from testctr.option import Option, options, with_args, with_port, with_wait_for_port
from testctr.parsing import MAX_COUNT, shown

IMAGE = "memcached:1"


def default() -> Option:
    """Port 11211 and a wait for it."""
    return options(with_port("11211"), with_wait_for_port("11211"))


def _positive(value: object, what: str) -> int:
    # memcached reads each into a C int.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise InvalidOption(f"memcached.{what} needs an int from 1 to {MAX_COUNT}, got {shown(value)}")
    return value


def with_memory(megabytes: int) -> Option:
    """Item memory in MiB (``-m``; memcached's default is 64)."""
    return with_args("-m", str(_positive(megabytes, "with_memory")))


def with_max_connections(count: int) -> Option:
    """``-c``: simultaneous connections (default 1024)."""
    return with_args("-c", str(_positive(count, "with_max_connections")))


def with_threads(count: int) -> Option:
    """``-t``: worker threads (default 4)."""
    return with_args("-t", str(_positive(count, "with_threads")))


__all__ = ["IMAGE", "default", "with_max_connections", "with_memory", "with_threads"]
