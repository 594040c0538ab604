"""Telling the ``container`` CLI's failures apart by their text on stderr.

The CLI has no error codes worth the name (nearly everything exits 1), so the
texts below, taken from the apple/container sources at each tag, decide which
testctr error a failure becomes.
"""

from __future__ import annotations

import re

from testctr.backends._process import Completed
from testctr.backends.apple.platform import macos_major
from testctr.backends.apple.version import BACKEND, MIN_MEMORY
from testctr.errors import (
    ContainerNotFound,
    ContainerStartError,
    EngineUnavailable,
    ImageNotFound,
    ImagePullError,
    TestctrError,
    UnsupportedOption,
)

SERVICE_DOWN = re.compile(
    r"XPC connection error|failed to get a response from apiserver|apiserver is not running|"
    r"container system start|Plugins are unavailable",
    re.I,
)
NOT_FOUND = re.compile(
    r"container (with ID )?\S+ not found|container not found|get failed: container|"
    r"failed to delete one or more containers",
    re.I,
)
NOT_RUNNING = re.compile(r"is not running|container is stopped|no (sandbox|runtime) client exists", re.I)
PORT_CONFLICT = re.compile(
    r"address already in use|port is already allocated|EADDRINUSE|bind.*failed|rawValue: 48\)", re.I
)
START_FAILED = re.compile(r"failed to start process", re.I)
NO_SHELL = re.compile(r"/bin/sh|no such file", re.I)
COPY_MISSING = re.compile(r"could not find|no such file|not exist", re.I)  # `container copy`
CAT_MISSING = re.compile(r"no such file|can't open", re.I)  # `cat` in the VM
IS_DIRECTORY = re.compile(r"is a directory", re.I)
_MACOS_26 = re.compile(r"requires macOS 26", re.I)
_IMAGE_UNREACHABLE = re.compile(r"connection refused|timed out|network is unreachable|could not resolve|dns", re.I)
_IMAGE_MISSING = re.compile(r"not found|manifest unknown|unauthorized|denied|does not exist", re.I)
#: macOS 15 has no `container network` (the CLI looks for a plugin of that name).
_NO_NETWORK_COMMAND = re.compile(
    r"plugin 'container-network' not found|failed to find plugin named container-network", re.I
)
NETWORK_NOT_FOUND = re.compile(r"network \S+ not found", re.I)
_MIN_MEMORY = re.compile(r"minimum memory amount", re.I)


def error_text(result: Completed) -> str:
    return (result.err or result.out.strip()).strip()


def service_down(err: str) -> EngineUnavailable:
    return EngineUnavailable(
        f"Apple's container system service is not running: {err.strip()}\n"
        "fix: run `container system start` (once after each login)"
    )


def failure(result: Completed, what: str, container_id: str = "") -> TestctrError:
    """The testctr error for a failed call of ``container <what>``."""
    err = error_text(result)
    if SERVICE_DOWN.search(err):
        return service_down(err)
    if container_id and NOT_FOUND.search(err):
        return ContainerNotFound(f"no container {container_id!r} (container: {err})")
    return TestctrError(f"container {what} failed: {err}")


def needs_macos_26(option: str, what: str, err: str = "") -> UnsupportedOption:
    major = macos_major()
    return UnsupportedOption(
        option,
        BACKEND,
        f"Apple's container {what} only on macOS 26 or newer"
        + (f" (this is macOS {major})" if major else "")
        + (f": {err}" if err else ""),
    )


def network_error(result: Completed, what: str) -> TestctrError:
    """The testctr error for a failed ``container network <what>``."""
    err = error_text(result)
    if _NO_NETWORK_COMMAND.search(err):
        # The rest of the text is about installing plugins: beside the point here.
        return needs_macos_26("testctr.network", "creates and removes networks", err.splitlines()[0])
    return failure(result, f"network {what}")


def create_error(image: str, err: str) -> TestctrError:
    """The testctr error for a failed ``container create`` of ``image``."""
    if SERVICE_DOWN.search(err):
        return service_down(err)
    if _MACOS_26.search(err):
        return needs_macos_26("with_network", "attaches to networks other than the default one", err)
    if _MIN_MEMORY.search(err):
        return UnsupportedOption("with_memory_limit", BACKEND, f"a VM needs at least {MIN_MEMORY >> 20} MiB: {err}")
    if "image" in err.lower() or "pull" in err.lower() or "POSIXErrorCode" in err:
        return image_error(image, err)
    if PORT_CONFLICT.search(err):
        return ContainerStartError(f"a host port of {image} is taken by another process: {err}")
    return ContainerStartError(f"container create of {image} failed: {err}")


def image_error(image: str, err: str) -> TestctrError:
    """The testctr error for an image that is not there and could not be pulled."""
    if _IMAGE_UNREACHABLE.search(err):
        return ImagePullError(
            f"image {image} is not present locally and pulling it failed: {err}\n"
            "fix: check the registry is reachable, or load the image locally (`container image load`); "
            "TESTCTR_IMAGE_MAP / TESTCTR_IMAGE_PREFIX map image names to a mirror"
        )
    if _IMAGE_MISSING.search(err):
        return ImageNotFound(f"image {image} not found locally or in its registry: {err}")
    return ImagePullError(f"image {image} could not be pulled: {err}")
