"""Run-wide settings (testctr.settings): the engine-call bound."""

from __future__ import annotations

import os

import pytest

from testctr.errors import InvalidOption
from testctr.settings import Settings


def test_engine_calls_are_bounded_by_a_minute_unless_told_otherwise() -> None:
    assert Settings.from_env({}).engine_timeout == 60.0
    assert Settings.from_env({"TESTCTR_ENGINE_TIMEOUT": "5s"}).engine_timeout == 5.0
    assert Settings.from_env({"TESTCTR_ENGINE_TIMEOUT": "2m"}).engine_timeout == 120.0


@pytest.mark.parametrize("text", ["0", "-1", "soon", "inf"])
def test_a_bad_engine_timeout_names_its_variable(text: str) -> None:
    with pytest.raises(InvalidOption, match=f"^TESTCTR_ENGINE_TIMEOUT={text}: "):
        Settings.from_env({"TESTCTR_ENGINE_TIMEOUT": text})


def test_report_lines_default_and_from_the_environment() -> None:
    assert Settings.from_env({}).report_lines == 200
    assert Settings.from_env({"TESTCTR_REPORT_LINES": "50"}).report_lines == 50


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_report_lines_must_be_a_positive_whole_number(value: str) -> None:
    with pytest.raises(InvalidOption, match="TESTCTR_REPORT_LINES"):
        Settings.from_env({"TESTCTR_REPORT_LINES": value})


def test_settings_from_env() -> None:
    s = Settings.from_env(
        {
            "TESTCTR_KEEP_FAILED": "true",
            "TESTCTR_CLEANUP_AGE": "10m",
            "TESTCTR_MAX_CONCURRENT": "3",
            "TESTCTR_IMAGE_MAP": "a=b",
            "TESTCTR_RUNTIME": "podman",
        }
    )
    assert s.keep_failed and s.cleanup_age == 600 and s.max_concurrent == 3 and s.image_map == {"a": "b"}
    assert s.runtime == "podman" and not s.verbose
    assert Settings.from_env({}) == Settings()
    assert os.environ.get("TESTCTR_IMAGE_MAP")  # set by tests/conftest.py
