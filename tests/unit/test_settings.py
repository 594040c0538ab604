"""settings.py: TESTCTR_* variables, read and validated."""

from __future__ import annotations

import pytest

from testctr.errors import InvalidOption
from testctr.settings import Settings


def test_report_lines_default_and_from_the_environment() -> None:
    assert Settings.from_env({}).report_lines == 200
    assert Settings.from_env({"TESTCTR_REPORT_LINES": "50"}).report_lines == 50


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_report_lines_must_be_a_positive_whole_number(value: str) -> None:
    with pytest.raises(InvalidOption, match="TESTCTR_REPORT_LINES"):
        Settings.from_env({"TESTCTR_REPORT_LINES": value})
