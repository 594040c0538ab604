"""The composition root: the registry testctr uses, with every backend it knows.

The built-in backends are registered by factories, so importing testctr
imports none of them; a backend module is imported the first time its name is
used. Third-party backends register through the ``testctr.backends`` entry
point group (each entry point names a callable that receives the registry,
looked up the first time a name is missing) or by calling :func:`register` /
:func:`register_factory`; ``auto_priority=`` makes a backend a candidate of
``auto``. :func:`resolve` turns a backend name and runtime (or the run's
settings) into the backend to use.
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass

from testctr import settings as _settings
from testctr.backend.protocols import Backend, RuntimeSelectable
from testctr.backend.registry import AutoCandidate, Factory, Predicate, Registry
from testctr.backends.auto import Auto
from testctr.errors import EngineUnavailable, UnsupportedOption

#: The backend used when neither an option nor the settings name one.
DEFAULT_BACKEND = "auto"

#: ``auto`` tries lower priorities first; room is left between them for other backends.
APPLE_PRIORITY = 100
CLI_PRIORITY = 110


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


def _apple_missing() -> str | None:
    from testctr.backends.apple import BIN_ENV, is_available, platform_supported

    if is_available():
        return None
    ok, why = platform_supported()
    return f"Apple's `container` CLI is not installed ({BIN_ENV} not set)" if ok else why


def _add_cli_candidates(registry: Registry) -> None:
    """One candidate per CLI runtime, in the CLI backend's own order."""
    from testctr.backends.cli import RUNTIMES
    from testctr.backends.engine_pins import pin_for

    def candidate(rank: int, runtime: str) -> AutoCandidate:
        def backend() -> Backend:
            cli = registry.get("cli")
            assert isinstance(cli, RuntimeSelectable)
            return cli.for_runtime(runtime)

        return AutoCandidate(
            label=f"cli/{runtime}",
            backend_name="cli",
            priority=CLI_PRIORITY + rank,
            backend=backend,
            missing=lambda: None if shutil.which(runtime) else "not on PATH",
            pinned=lambda: pin_for(runtime),
        )

    for rank, runtime in enumerate(RUNTIMES):
        registry.add_auto_candidate(candidate(rank, runtime))


def register_builtin(registry: Registry) -> Auto:
    """Register the backends that ship with testctr; returns ``auto``'s chooser."""
    # One instance behind three names: "docker" and "local" are what users of
    # Go testctr type; "cli" is what it is.
    for name in ("cli", "docker", "local"):
        registry.register_factory(name, _cli)
    registry.register_factory("apple", _apple, available=_apple_available)
    registry.add_auto_candidate(
        AutoCandidate("apple", "apple", APPLE_PRIORITY, lambda: registry.get("apple"), _apple_missing)
    )
    # The CLI's runtimes are known once its module is imported: at auto's first choice.
    registry.defer(_add_cli_candidates)
    auto = Auto(registry, lambda: _settings.current().runtime)
    registry.register_chooser("auto", auto.choose)
    # Their SDKs are imported on first use only (optional extras).
    registry.register_factory("docker-api", _docker_api)
    registry.register_factory("testcontainers", _testcontainers)
    return auto


def load_entry_points(registry: Registry) -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group="testctr.backends"):
        try:
            ep.load()(registry)
        except Exception as e:  # one broken plugin must not break every backend lookup
            import warnings

            warnings.warn(f"testctr: backend plugin {ep.name!r} ({ep.value}) failed to load: {e}", stacklevel=2)


#: The registry :func:`testctr.new` uses.
default_registry = Registry()
_auto = register_builtin(default_registry)
default_registry.defer(load_entry_points)


def register(name: str, backend: Backend) -> None:
    default_registry.register(name, backend)


def register_factory(
    name: str, factory: Factory, *, available: Predicate | None = None, auto_priority: int | None = None
) -> None:
    default_registry.register_factory(name, factory, available=available, auto_priority=auto_priority)


def add_auto_candidate(candidate: AutoCandidate) -> None:
    default_registry.add_auto_candidate(candidate)


def get(name: str) -> Backend:
    return default_registry.get(name)


def names() -> list[str]:
    return default_registry.names()


@dataclass(frozen=True)
class Resolved:
    """The backend to use, the name it is registered under, and the name asked for ("auto")."""

    backend: Backend
    name: str
    requested: str


def requested_name(name: str | None = None) -> str:
    """The backend name asked for: ``name`` (an option), else the settings', else the default."""
    return name or _settings.current().backend or DEFAULT_BACKEND


def resolve(name: str | None = None, runtime: str | None = None) -> Resolved:
    """The backend for ``name`` and ``runtime`` (options), else the run's settings.

    A runtime named by an option must be honoured; one from the settings
    applies only to backends that can switch runtimes.
    """
    s = _settings.current()
    requested = requested_name(name)
    used, backend = default_registry.lookup(requested, runtime)
    chosen_runtime = runtime or s.runtime
    if chosen_runtime is not None:
        if isinstance(backend, RuntimeSelectable):
            backend = backend.for_runtime(chosen_runtime)
        elif runtime is not None:
            raise UnsupportedOption("with_runtime", used, "the backend drives one runtime only")
    return Resolved(backend, used, requested)
