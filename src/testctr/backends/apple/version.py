"""Which release of Apple's ``container`` can do what: every version gate in one table.

The backend reads the CLI's version once and asks :func:`supports` /
:func:`require` instead of comparing versions itself, so a new quirk is one
line in :data:`SINCE`.
"""

from __future__ import annotations

import re

from testctr.errors import EngineUnavailable, UnsupportedOption

BACKEND = "apple"

Version = tuple[int, int, int]

#: First release with each feature (apple/container tags).
SINCE: dict[str, Version] = {
    "network": (0, 2, 0),  # --network and `container network`
    "system status": (0, 2, 0),  # before: `list` is the only way to ping the service
    "publish": (0, 3, 0),  # --publish
    "virtualization": (0, 3, 0),
    "platform": (0, 4, 0),  # --platform (before: --os and --arch)
    "rosetta": (0, 7, 0),
    "init": (0, 10, 0),
    "min_memory": (0, 10, 0),  # the server refuses VMs smaller than MIN_MEMORY
    "cp": (1, 0, 0),  # `container copy` (before: files go through exec and the image's /bin/sh)
    "kernel_args": (1, 2, 0),
}
MIN_MEMORY = 200 * 1024 * 1024

_VERSION_RE = re.compile(r"version\s+v?(\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> Version:
    """``container CLI version 1.2.2 (build: release, commit: 0190097)`` -> (1, 2, 2)."""
    match = _VERSION_RE.search(text)
    if match is None:
        raise EngineUnavailable(f"cannot read Apple's container version from {text.strip()[:200]!r}")
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def version_text(version: Version) -> str:
    return ".".join(map(str, version))


def supports(version: Version, feature: str) -> bool:
    return version >= SINCE[feature]


def require(version: Version, feature: str, option: str, what: str = "") -> None:
    """Raise UnsupportedOption naming ``option`` unless ``version`` has ``feature``."""
    if not supports(version, feature):
        raise UnsupportedOption(
            option,
            BACKEND,
            f"{what or feature} needs Apple's container {version_text(SINCE[feature])} or newer "
            f"(this is {version_text(version)}); update it (`brew upgrade container` or the installer)",
        )
