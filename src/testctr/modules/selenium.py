"""Selenium with Chrome: the ``selenium/standalone-chrome`` image, WebDriver on 4444.

    browser = testctr.new(request, selenium.IMAGE, selenium.default())
    driver = selenium.driver(browser)            # a Remote WebDriver with a Chrome session
    driver.get(f"http://{web.internal_ip()}/")   # pages are loaded from inside the container

``default()`` publishes 4444 and waits until sessions can be created.
``url()`` is the WebDriver endpoint (``http://127.0.0.1:PORT/wd/hub``);
``driver()`` needs ``pip install 'testctr[selenium]'`` and quits the session
when the test ends if given the test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from testctr.errors import InvalidOption
from testctr.option import Option, options, with_env, with_port, with_wait_for_log
from testctr.owners import owner_for

if TYPE_CHECKING:
    from testctr.container import Container

IMAGE = "selenium/standalone-chrome:latest"
PORT = 4444


def _size(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 10_000:
        raise InvalidOption(f"{what} must be a whole number between 100 and 10000 pixels, got {value!r}")
    return value


def default() -> Option:
    """Port 4444 and a wait for the server's "Started Selenium Standalone" line."""
    return options(with_port(PORT), with_wait_for_log("Started Selenium Standalone"))


def with_screen_size(width: int, height: int) -> Option:
    """The browser window's size in pixels (SE_SCREEN_WIDTH / SE_SCREEN_HEIGHT; default 1920x1080)."""
    return options(
        with_env("SE_SCREEN_WIDTH", str(_size(width, "selenium screen width"))),
        with_env("SE_SCREEN_HEIGHT", str(_size(height, "selenium screen height"))),
    )


def url(container: Container) -> str:
    """The WebDriver endpoint for ``webdriver.Remote(command_executor=...)``."""
    return f"http://{container.endpoint(PORT)}/wd/hub"


def driver(container: Container, t: object = None, browser_options: Any = None) -> Any:
    """A Remote WebDriver with a new Chrome session; quit when test ``t`` ends (if given).

    ``browser_options`` is a ``selenium.webdriver.ChromeOptions`` (default: a plain one).
    """
    from selenium import webdriver

    session = webdriver.Remote(command_executor=url(container), options=browser_options or webdriver.ChromeOptions())
    if t is not None:
        owner_for(t).add_cleanup(session.quit)
    return session


__all__ = ["IMAGE", "default", "driver", "url", "with_screen_size"]
