"""Chrome through the Remote WebDriver: a page served by another container, its DOM and a screenshot."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

import testctr
from testctr.modules import selenium

pytestmark = pytest.mark.engine


def test_load_a_page_from_another_container(request: pytest.FixtureRequest, runtime: str) -> None:
    web = testctr.new(request, "nginx", testctr.with_wait_for_healthy(), testctr.with_runtime(runtime))
    browser = testctr.new(
        request, selenium.IMAGE, selenium.default(), selenium.with_screen_size(800, 600), testctr.with_runtime(runtime)
    )
    driver = selenium.driver(browser, request)
    driver.get(f"http://{web.internal_ip()}/")
    assert "hello from testctr" in driver.find_element(By.TAG_NAME, "body").text
    assert driver.get_window_size() == {"width": 800, "height": 600}
    assert driver.get_screenshot_as_png().startswith(b"\x89PNG\r\n\x1a\n")


def test_both_endpoints_of_the_official_image(request: pytest.FixtureRequest) -> None:
    from selenium import webdriver

    browser = testctr.new(request, selenium.IMAGE, selenium.default(), testctr.with_runtime("docker"))
    assert selenium.url(browser).endswith("/wd/hub")
    root = selenium.url(browser).removesuffix("/wd/hub")
    driver = webdriver.Remote(command_executor=root, options=webdriver.ChromeOptions())
    try:
        driver.get("data:text/html,<title>t</title><p id=p>plain endpoint</p>")
        assert driver.find_element(By.ID, "p").text == "plain endpoint"
    finally:
        driver.quit()
