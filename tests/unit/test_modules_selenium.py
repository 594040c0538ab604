"""selenium module: the WebDriver endpoint and the screen size option."""

from __future__ import annotations

from typing import Any, cast

import pytest

from testctr.errors import InvalidOption
from testctr.modules import selenium
from testctr.option import build_spec
from testctr.wait import LogWait


class FakeContainer:
    def endpoint(self, port: str | int) -> str:
        return f"127.0.0.1:3{port}"


def test_default_publishes_4444_and_waits_for_the_standalone_server() -> None:
    spec = build_spec([selenium.default()])
    assert [p.key for p in spec.config.ports] == ["4444/tcp"]
    [wait] = spec.waits
    assert isinstance(wait, LogWait) and wait.pattern.search("Started Selenium Standalone 4.21.0 (revision 79ed462ef4)")


def test_url_is_the_wd_hub_endpoint() -> None:
    assert selenium.url(cast(Any, FakeContainer())) == "http://127.0.0.1:34444/wd/hub"


def test_screen_size_sets_the_official_env_vars() -> None:
    env = build_spec([selenium.with_screen_size(1280, 720)]).config.env
    assert env == {"SE_SCREEN_WIDTH": "1280", "SE_SCREEN_HEIGHT": "720"}


@pytest.mark.parametrize("width, height", [(0, 600), (800, 99), (800, 10_001)])
def test_screen_size_out_of_range(width: int, height: int) -> None:
    with pytest.raises(InvalidOption, match="pixels"):
        selenium.with_screen_size(width, height)


@pytest.mark.parametrize("width", ["800", 800.0, True])
def test_screen_size_must_be_int(width: object) -> None:
    with pytest.raises(InvalidOption):
        selenium.with_screen_size(cast(Any, width), 600)
