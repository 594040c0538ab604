"""The Registry: names, factories, duplicates, deferred loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from testctr import BackendNotFound
from testctr.backend import Registry
from testctr.backends.cli import CLIBackend

DATA = Path(__file__).parent / "data"


def test_registry() -> None:
    reg = Registry()
    backend = CLIBackend()
    reg.register("one", backend)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("one", backend)
    with pytest.raises(TypeError):
        reg.register("bad", object())  # type: ignore[arg-type]
    calls = []

    def factory() -> CLIBackend:
        calls.append(1)
        return backend

    reg.register_factory("lazy", factory)
    assert calls == []
    assert reg.get("lazy") is backend and reg.get("lazy") is backend and calls == [1]
    present = {"on": False}
    reg.register_factory("mac-only", factory, available=lambda: present["on"])
    assert reg.names() == ["lazy", "one"] and "mac-only" in reg.all_names()
    with pytest.raises(BackendNotFound, match="lazy, one"):
        reg.get("mac-only")
    present["on"] = True
    assert reg.get("mac-only") is backend


def test_registry_deferred_loaders_run_on_miss() -> None:
    reg = Registry()
    reg.defer(lambda r: r.register("plugin", CLIBackend()))
    assert isinstance(reg.get("plugin"), CLIBackend)
