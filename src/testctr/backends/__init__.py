"""The backends that ship with testctr, one module each.

Each is registered by a factory so that importing testctr imports none of
them; a backend module is imported the first time its name is used.
Third-party backends register through the ``testctr.backends`` entry point
group: each entry point names a callable that receives the registry.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from testctr.errors import EngineUnavailable

if TYPE_CHECKING:
    from testctr.backend.protocols import Backend
    from testctr.backend.registry import Registry


@functools.cache
def _cli() -> Backend:
    from testctr.backends.cli import CLIBackend

    return CLIBackend.from_environment()


def _docker_api() -> Backend:
    try:
        from testctr.backends.docker_api import DockerAPIBackend
    except ImportError as e:
        hint = "pip install 'testctr[docker]'"
        raise EngineUnavailable(f"the docker-api backend needs the docker SDK: {hint} ({e})") from None
    return DockerAPIBackend.from_environment()


def _testcontainers() -> Backend:
    try:
        from testctr.backends.testcontainers_adapter import TestcontainersBackend
    except ImportError as e:
        hint = "pip install 'testctr[testcontainers]'"
        raise EngineUnavailable(f"the testcontainers backend needs testcontainers: {hint} ({e})") from None
    return TestcontainersBackend.from_environment()


def _apple() -> Backend:
    from testctr.backends.apple import AppleBackend

    return AppleBackend.from_environment()


def _apple_available() -> bool:
    # macOS >= 15 on Apple silicon with `container` on PATH, or an explicit
    # TESTCTR_APPLE_CONTAINER_BIN (how Linux CI reaches the emulator).
    from testctr.backends.apple import is_available

    return is_available()


def register_builtin(registry: Registry) -> None:
    # One instance behind three names: "docker" and "local" are what users of
    # Go testctr type; "cli" is what it is.
    for name in ("cli", "docker", "local"):
        registry.register_factory(name, _cli)
    registry.register_factory("apple", _apple, available=_apple_available)

    def auto() -> Backend:
        # The registry keeps what this returns: the choice is made once per process.
        from testctr.backends.auto import current_choice

        return current_choice(registry).chosen()

    registry.register_factory("auto", auto)
    # Their SDKs are imported on first use only (optional extras).
    registry.register_factory("docker-api", _docker_api)
    registry.register_factory("testcontainers", _testcontainers)


def load_entry_points(registry: Registry) -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group="testctr.backends"):
        try:
            ep.load()(registry)
        except Exception as e:  # one broken plugin must not break every backend lookup
            import warnings

            warnings.warn(f"testctr: backend plugin {ep.name!r} ({ep.value}) failed to load: {e}", stacklevel=2)
