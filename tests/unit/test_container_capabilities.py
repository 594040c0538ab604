"""The core's capability checks and keep-failed hints, on the in-memory backend without capabilities."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import testctr
from testctr import backends, housekeeping, settings
from testctr.backend.protocols import HealthReporter, ResourceUpdater
from testctr.backends.memory import BareMemoryBackend


class ExplainingBackend(BareMemoryBackend):
    def unsupported_reason(self, capability: type) -> str | None:
        return {ResourceUpdater: "limits are fixed at boot", HealthReporter: "no HEALTHCHECK support"}.get(capability)


class DebuggableBackend(BareMemoryBackend):
    """Offers commands to read the logs and remove a container, none for a shell."""

    def debug_commands(self, container_name: str) -> dict[str, str]:
        return {"logs": f"mem logs {container_name}", "remove": f"mem rm {container_name}"}


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "_current", None)
    monkeypatch.setattr(housekeeping, "_checked", None)  # no leftover check


def _use(backend: BareMemoryBackend) -> Iterator[str]:
    name = f"memory-{os.urandom(3).hex()}"
    backends.register(name, backend)
    yield name
    backends.default_registry.unregister(name)


@pytest.fixture
def plain() -> Iterator[tuple[str, BareMemoryBackend]]:
    backend = BareMemoryBackend()
    for name in _use(backend):
        yield name, backend


@pytest.fixture
def explaining() -> Iterator[tuple[str, BareMemoryBackend]]:
    backend = ExplainingBackend()
    for name in _use(backend):
        yield name, backend


def test_update_resources_on_a_backend_without_it_says_what_to_do(plain: tuple[str, BareMemoryBackend]) -> None:
    with testctr.run("img", testctr.with_backend(plain[0])) as c:
        with pytest.raises(testctr.UnsupportedOption, match="set them at creation with with_memory_limit"):
            c.update_resources(memory="512m")


def test_update_resources_carries_the_backends_own_reason(explaining: tuple[str, BareMemoryBackend]) -> None:
    with testctr.run("img", testctr.with_backend(explaining[0])) as c:
        with pytest.raises(testctr.UnsupportedOption, match="limits are fixed at boot"):
            c.update_resources(cpus=2)


def test_wait_for_healthy_on_a_backend_that_explains_why_it_cannot_fails_before_creating(
    explaining: tuple[str, BareMemoryBackend],
) -> None:
    name, backend = explaining
    with pytest.raises(testctr.UnsupportedOption, match=r"with_wait_for_healthy.*no HEALTHCHECK support"):
        with testctr.run("img", testctr.with_backend(name), testctr.with_wait_for_healthy()):
            pass
    assert backend.names() == []


def test_health_comes_from_inspect_without_a_health_reporter(plain: tuple[str, BareMemoryBackend]) -> None:
    name, backend = plain
    backend.script("img", health=["healthy"])
    with testctr.run("img", testctr.with_backend(name), testctr.with_wait_for_healthy()) as c:
        assert c.health() == "healthy"


def test_a_script_prints_the_hint_of_a_kept_container(
    plain: tuple[str, BareMemoryBackend], capsys: pytest.CaptureFixture[str]
) -> None:
    name, backend = plain
    settings.configure(keep_failed=True)
    with pytest.raises(RuntimeError):
        with testctr.run("img", testctr.with_backend(name)) as c:
            raise RuntimeError("the script failed")
    assert backend.names() == [c.name]
    assert f"kept container {c.name} (img)" in capsys.readouterr().err


def test_the_hint_offers_the_backends_commands(capsys: pytest.CaptureFixture[str]) -> None:
    backend = DebuggableBackend()
    for name in _use(backend):
        settings.configure(keep_failed=True)
        with pytest.raises(RuntimeError):
            with testctr.run("img", testctr.with_backend(name)) as c:
                raise RuntimeError("the script failed")
    assert capsys.readouterr().err.splitlines()[1:] == [
        f"    logs: mem logs {c.name}",
        f"    remove: mem rm {c.name}   (or: testctr clean)",
    ]
