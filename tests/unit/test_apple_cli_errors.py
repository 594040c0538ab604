"""The ``container`` CLI's error texts, as the tool prints them, and the testctr errors they become."""

from __future__ import annotations

import pytest

from testctr.backends._process import Completed
from testctr.backends.apple import cli_errors
from testctr.errors import (
    ContainerNotFound,
    ContainerStartError,
    EngineUnavailable,
    ImageNotFound,
    ImagePullError,
    TestctrError,
    UnsupportedOption,
)


@pytest.mark.parametrize(
    "text",
    [
        'Error: internalError: "failed to list containers" (cause: "interrupted: "XPC connection error: '
        'Connection invalid"")\nEnsure container system service has been started with `container system start`.',
        'Error: failed to get a response from apiserver: interrupted: "XPC connection error: Connection invalid"',
        "apiserver is not running and not registered with launchd",
    ],
)
def test_service_down_texts(text: str) -> None:
    assert cli_errors.SERVICE_DOWN.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "Error: container not found: nothere",
        "Error: get failed: container nothere not found",
        'Error: failed to delete container (cause: "container with ID x1 not found")',
        'Error: notFound: "failed to delete one or more containers: ["x1"]"',
    ],
)
def test_not_found_texts(text: str) -> None:
    assert cli_errors.NOT_FOUND.search(text)


def test_image_not_found_is_not_a_missing_container() -> None:
    assert not cli_errors.NOT_FOUND.search("Error: image not found: redis:7")


def failed(stderr: str) -> Completed:
    return Completed(["container", "x"], 1, b"", stderr.encode())


def test_service_down_is_engine_unavailable_with_the_fix() -> None:
    error = cli_errors.failure(failed("Error: XPC connection error: Connection invalid"), "list")
    assert isinstance(error, EngineUnavailable)
    assert "run `container system start`" in str(error)


def test_not_found_is_container_not_found_only_for_a_container_call() -> None:
    result = failed("Error: get failed: container nothere not found")
    assert isinstance(cli_errors.failure(result, "inspect", "nothere"), ContainerNotFound)
    other = cli_errors.failure(result, "list")
    assert type(other) is TestctrError and "container list failed" in str(other)


@pytest.mark.parametrize(
    ("err", "kind", "option"),
    [
        ("Error: non-default network configuration requires macOS 26 or newer", UnsupportedOption, "with_network"),
        ('Error: invalidArgument: "minimum memory amount allowed is 200 MiB"', UnsupportedOption, "with_memory_limit"),
        ("Error: notFound: image not found: testctr.local/nope:1", ImageNotFound, None),
        ("Error: image pull failed: connection refused", ImagePullError, None),
        ("Error: bind(...) failed: address already in use", ContainerStartError, None),
        ("Error: something else", ContainerStartError, None),
    ],
)
def test_create_errors(err: str, kind: type[Exception], option: str | None) -> None:
    error = cli_errors.create_error("img", err)
    assert type(error) is kind
    if option is not None:
        assert isinstance(error, UnsupportedOption) and error.option == option


@pytest.mark.parametrize(
    "err",
    [
        "Error: Plugin 'container-network' not found.\n\n- If system services are not running, ...",
        "Error: failed to find plugin named container-network",
    ],
)
def test_no_network_command_means_macos_26_is_needed(err: str) -> None:
    error = cli_errors.network_error(failed(err), "create")
    assert isinstance(error, UnsupportedOption) and error.option == "testctr.network"
    assert "only on macOS 26 or newer" in str(error) and "system services" not in str(error)


def test_other_network_failures_are_plain() -> None:
    error = cli_errors.network_error(failed("Error: network n already exists"), "create")
    assert type(error) is TestctrError and "network create failed" in str(error)
