"""zookeeper module: ZOO_* variables, stacking zoo.cfg lines, validation."""

from __future__ import annotations

import pytest

import testctr
from testctr.errors import InvalidOption
from testctr.modules import zookeeper
from testctr.option import build_spec


def test_config_lines_stack() -> None:
    env = build_spec(
        [zookeeper.with_config({"maxSessionTimeout": 60000}), zookeeper.default(), zookeeper.with_config({"a": True})]
    ).config.env
    assert env["ZOO_CFG_EXTRA"] == "maxSessionTimeout=60000 a=true"
    assert env["ZOO_ADMINSERVER_ENABLED"] == "false"


def test_user_choice_beats_default() -> None:
    env = build_spec([zookeeper.with_four_letter_words("ruok"), zookeeper.default()]).config.env
    assert env["ZOO_4LW_COMMANDS_WHITELIST"] == "ruok"
    env = build_spec([zookeeper.default(), testctr.with_env("ZOO_ADMINSERVER_ENABLED", "true")]).config.env
    assert env["ZOO_ADMINSERVER_ENABLED"] == "true"


def test_validation() -> None:
    with pytest.raises(InvalidOption):
        zookeeper.with_config({"k": "two words"})
    with pytest.raises(InvalidOption):
        zookeeper.with_config("k=v")  # type: ignore[arg-type]
    with pytest.raises(InvalidOption):
        zookeeper.with_four_letter_words()
    with pytest.raises(InvalidOption):
        zookeeper.with_four_letter_words("RUOK!")
    with pytest.raises(InvalidOption):
        zookeeper.with_four_letter_words(4)  # type: ignore[arg-type]
