"""Where Apple's containerization can run."""

from __future__ import annotations

import sys

import pytest

from testctr.backends.apple import platform


def test_platform_predicate_off_macos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(platform.BIN_ENV, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    ok, why = platform.platform_supported()
    assert not ok and "macOS 15" in why
    assert not platform.is_available()
    monkeypatch.setenv(platform.BIN_ENV, "/opt/container")
    assert platform.is_available()
