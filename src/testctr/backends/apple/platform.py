"""Where Apple's containerization can run, and which ``container`` binary to drive."""

from __future__ import annotations

import os
import platform as _platform
import shutil
import sys

BIN_ENV = "TESTCTR_APPLE_CONTAINER_BIN"


def macos_major() -> int | None:
    """The macOS major version (15, 26, ...), None elsewhere."""
    if sys.platform != "darwin":
        return None
    release = _platform.mac_ver()[0]
    try:
        return int(release.split(".")[0])
    except ValueError:
        return None


def platform_supported() -> tuple[bool, str]:
    """Whether Apple's containerization can run here, and if not, why."""
    major = macos_major()
    if major is None:
        return False, f"needs macOS 15 or newer on Apple silicon (this is {sys.platform})"
    if _platform.machine() != "arm64":
        return False, f"needs Apple silicon (this Mac is {_platform.machine()})"
    if major < 15:
        return False, f"needs macOS 15 or newer (this is macOS {major})"
    return True, f"macOS {major} on Apple silicon"


def find_binary() -> str | None:
    """TESTCTR_APPLE_CONTAINER_BIN, else ``container`` on PATH."""
    explicit = os.environ.get(BIN_ENV)
    if explicit:
        return explicit
    return shutil.which("container")


def is_available() -> bool:
    """The registration predicate: an explicit binary, or a supported Mac with the tool."""
    if os.environ.get(BIN_ENV):
        return True
    return platform_supported()[0] and shutil.which("container") is not None
