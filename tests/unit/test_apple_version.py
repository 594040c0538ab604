"""Reading the CLI's version, and the gates that refuse what an older release cannot do."""

from __future__ import annotations

import pytest

from testctr.backends.apple.version import SINCE, parse_version, require, supports
from testctr.errors import EngineUnavailable, UnsupportedOption


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("container CLI version 1.2.2 (build: release, commit: 0190097)", (1, 2, 2)),
        ("container CLI version 1.0.0 (build: release, commit: ee848e3)", (1, 0, 0)),
        ("container CLI version 0.1.0 (build: release, commit: 0fd8692, sdk: MacOS 15)", (0, 1, 0)),
        ("container-apiserver version 0.12.3 (build: release, commit: f989901)", (0, 12, 3)),
    ],
)
def test_parse_version(text: str, version: tuple[int, int, int]) -> None:
    assert parse_version(text) == version


def test_parse_version_garbage_is_engine_unavailable() -> None:
    with pytest.raises(EngineUnavailable, match="cannot read"):
        parse_version("zsh: command not found: container")


@pytest.mark.parametrize("feature", sorted(SINCE))
def test_a_feature_starts_at_its_release(feature: str) -> None:
    major, minor, patch = SINCE[feature]
    assert supports((major, minor, patch), feature)
    assert supports((major + 1, 0, 0), feature)
    before = (major, minor, patch - 1) if patch else (major, minor - 1, 99) if minor else (major - 1, 99, 99)
    assert not supports(before, feature)


def test_require_names_the_option_and_both_versions() -> None:
    require((1, 0, 0), "cp", "copy_to")
    with pytest.raises(UnsupportedOption, match=r"copy_to.*1\.0\.0 or newer \(this is 0\.7\.1\)") as raised:
        require((0, 7, 1), "cp", "copy_to")
    assert raised.value.option == "copy_to"
    assert raised.value.backend == "apple"
