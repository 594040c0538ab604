"""The backends that ship with testctr, one module each.

Each is registered by a factory so that importing testctr imports none of
them; a backend module is imported the first time its name is used.
Third-party backends register through the ``testctr.backends`` entry point
group: each entry point names a callable that receives the registry.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from testctr.backend.protocols import Backend
    from testctr.backend.registry import Registry


@functools.cache
def _cli() -> Backend:
    from testctr.backends.cli import CLIBackend

    return CLIBackend.from_environment()


def register_builtin(registry: Registry) -> None:
    # One instance behind three names: "docker" and "local" are what users of
    # Go testctr type; "cli" is what it is.
    for name in ("cli", "docker", "local"):
        registry.register_factory(name, _cli)


def load_entry_points(registry: Registry) -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group="testctr.backends"):
        ep.load()(registry)
