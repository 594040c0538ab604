"""testctr.networks without an engine: refusals, removal, keep-failed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from testctr import settings
from testctr.backend.protocols import NetworkManager
from testctr.backend.types import NetworkInfo
from testctr.errors import NetworkNotFound, TestctrError, UnsupportedOption
from testctr.networks import Network, _manager, name_of
from testctr.owners import ScriptOwner


class FakeManager:
    def __init__(self, error: Exception | None = None) -> None:
        self.removed: list[str] = []
        self.error = error

    def create_network(self, name: str, labels: Mapping[str, str], internal: bool = False) -> str:
        return "id-" + name

    def remove_network(self, network: str) -> None:
        if self.error is not None:
            raise self.error
        self.removed.append(network)

    def list_networks(self, label: str) -> list[NetworkInfo]:
        return []


class Explains:
    def unsupported_reason(self, capability: type) -> str | None:
        return "networks need macOS 26" if capability is NetworkManager else None


@pytest.fixture
def keep_failed() -> Iterator[None]:
    settings.configure(keep_failed=True)
    yield
    settings.reset()


def failed_owner() -> ScriptOwner:
    owner = ScriptOwner("test_x")
    owner.error = True
    return owner


def test_a_backend_without_networks_is_refused_with_its_reason() -> None:
    with pytest.raises(UnsupportedOption, match="networks need macOS 26"):
        _manager(Explains(), "apple")  # type: ignore[arg-type]
    with pytest.raises(UnsupportedOption, match="cannot create networks"):
        _manager(object(), "other")  # type: ignore[arg-type]


def test_remove_is_idempotent_and_a_vanished_network_is_removed() -> None:
    manager = FakeManager()
    net = Network(manager, "fake", "fake", "id-n", "n")
    net.remove()
    net.remove()
    assert manager.removed == ["n"]
    Network(FakeManager(NetworkNotFound("gone")), "fake", "fake", "id-m", "m").remove()


def test_cleanup_removes_unless_keep_failed_keeps_a_failed_tests_network(keep_failed: None) -> None:
    manager = FakeManager()
    Network(manager, "fake", "fake", "id-a", "a")._cleanup(failed_owner())
    assert manager.removed == []
    Network(manager, "fake", "fake", "id-b", "b")._cleanup(ScriptOwner("test_y"))
    assert manager.removed == ["b"]


def test_a_network_kept_containers_still_use_is_kept(keep_failed: None, capsys: pytest.CaptureFixture[str]) -> None:
    Network(FakeManager(TestctrError("in use")), "fake", "fake", "id-a", "a")._cleanup(ScriptOwner("test_y"))
    assert "kept network a" in capsys.readouterr().err


def test_without_keep_failed_a_failed_removal_is_an_error() -> None:
    with pytest.raises(TestctrError, match="in use"):
        Network(FakeManager(TestctrError("in use")), "fake", "fake", "id-a", "a")._cleanup(ScriptOwner("t"))


def test_name_of_takes_a_network_or_a_name() -> None:
    assert name_of(Network(FakeManager(), "fake", "fake", "id-a", "a")) == "a"
    assert name_of("plain") == "plain"
