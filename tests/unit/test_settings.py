"""Run-wide settings (testctr.settings): the engine-call bound."""

from __future__ import annotations

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
