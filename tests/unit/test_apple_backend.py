"""What AppleBackend claims to do, why it does not do the rest, and how a person looks at a container."""

from __future__ import annotations

import pytest

from testctr.backend.protocols import (
    ContainerHost,
    DebugCommands,
    ExplainsLimits,
    FileCopier,
    HealthReporter,
    ImageEnsurer,
    ImageRemover,
    LogStreamer,
    ResourceUpdater,
    unsupported_reason,
)
from testctr.backends.apple import AppleBackend

BACKEND = AppleBackend("/opt/apple tools/container")  # nothing runs it


@pytest.mark.parametrize("capability", [FileCopier, LogStreamer, ImageEnsurer, ContainerHost, ExplainsLimits])
def test_capabilities_it_has(capability: type) -> None:
    assert isinstance(BACKEND, capability)


@pytest.mark.parametrize("capability", [ResourceUpdater, HealthReporter, ImageRemover])
def test_capabilities_it_lacks_are_not_claimed(capability: type) -> None:
    assert not isinstance(BACKEND, capability)


def test_reasons_say_what_to_do_instead() -> None:
    assert "with_memory_limit / with_cpus" in unsupported_reason(BACKEND, ResourceUpdater, "default")
    assert "fixed when it boots" in unsupported_reason(BACKEND, ResourceUpdater, "default")
    assert "with_wait_for_exec" in unsupported_reason(BACKEND, HealthReporter, "default")
    assert unsupported_reason(BACKEND, ImageRemover, "default") == "default"


def test_debug_commands_are_the_container_cli_quoted_for_a_shell() -> None:
    assert isinstance(BACKEND, DebugCommands)
    assert BACKEND.debug_commands("testctr-redis-1a2b") == {
        "logs": "'/opt/apple tools/container' logs testctr-redis-1a2b",
        "shell": "'/opt/apple tools/container' exec -it testctr-redis-1a2b sh",
        "remove": "'/opt/apple tools/container' delete --force testctr-redis-1a2b",
    }
