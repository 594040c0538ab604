"""The composition root: resolve(), public registration, and no import circle."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from testctr import backends, settings
from testctr.errors import BackendNotFound, UnsupportedOption


class Fixed:
    """A backend that drives one runtime."""

    runtime = "fixed"

    def version(self) -> str:
        return "1"


class Switching(Fixed):
    def __init__(self, runtime: str = "one") -> None:
        self.runtime = runtime

    def for_runtime(self, runtime: str) -> Switching:
        return Switching(runtime)


@pytest.fixture
def names() -> Iterator[tuple[str, str]]:
    """Two backends registered in the default registry for one test."""
    fixed, switching = f"fixed-{os.urandom(3).hex()}", f"switching-{os.urandom(3).hex()}"
    backends.register_factory(fixed, Fixed)  # type: ignore[arg-type]
    backends.register_factory(switching, Switching)  # type: ignore[arg-type]
    before = settings.current()
    yield fixed, switching
    settings.configure(backend=before.backend, runtime=before.runtime)
    backends.default_registry.unregister(fixed)
    backends.default_registry.unregister(switching)


def test_resolve_takes_the_option_then_the_settings(names: tuple[str, str]) -> None:
    fixed, switching = names
    settings.configure(backend=switching, runtime=None)
    assert backends.resolve().name == switching and backends.requested_name() == switching
    resolved = backends.resolve(fixed)
    assert isinstance(resolved.backend, Fixed) and (resolved.name, resolved.requested) == (fixed, fixed)
    assert fixed in backends.names() and isinstance(backends.get(fixed), Fixed)


def test_a_runtime_option_needs_a_backend_that_switches(names: tuple[str, str]) -> None:
    fixed, switching = names
    settings.configure(backend=None, runtime=None)
    assert backends.resolve(switching, "two").backend.runtime == "two"
    with pytest.raises(UnsupportedOption, match="with_runtime"):
        backends.resolve(fixed, "two")
    # A runtime from the settings applies where it can and is ignored elsewhere.
    settings.configure(runtime="three")
    assert backends.resolve(switching).backend.runtime == "three"
    assert backends.resolve(fixed).backend.runtime == "fixed"


def test_a_chooser_resolves_to_the_backend_it_chose(names: tuple[str, str]) -> None:
    fixed, _ = names
    chooser = f"chooser-{os.urandom(3).hex()}"
    backends.default_registry.register_chooser(chooser, lambda runtime: (fixed, backends.get(fixed)))
    try:
        resolved = backends.resolve(chooser)
    finally:
        backends.default_registry.unregister(chooser)
    assert (resolved.name, resolved.requested) == (fixed, chooser)


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(BackendNotFound, match="cli"):
        backends.resolve("no-such-backend")


def test_the_builtin_candidates_of_auto() -> None:
    labels = [c.label for c in backends.default_registry.auto_candidates()]
    assert labels[:5] == ["apple", "cli/docker", "cli/podman", "cli/nerdctl", "cli/finch"]


def test_the_contract_imports_no_backend() -> None:
    code = (
        "import sys, testctr.backend; "
        "print(' '.join(m for m in sys.modules if m.startswith(('testctr.backends', 'testctr.container'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.split() == []


def test_registry_imports_sdks_lazily() -> None:
    import subprocess
    import sys

    code = (
        "import sys, testctr, testctr.backends; "
        "names = testctr.backends.names(); "
        "assert 'docker-api' in names and 'testcontainers' in names, names; "
        "assert 'docker' not in sys.modules and 'testcontainers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
