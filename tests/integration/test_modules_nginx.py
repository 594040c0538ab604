"""nginx module against the real nginx image, with urllib: files served, a reverse proxy to a peer."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import testctr
from testctr.modules import nginx

pytestmark = pytest.mark.engine


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_serves_given_files_on_every_runtime(request: pytest.FixtureRequest, runtime: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text("<p>quarterly</p>")
    web = testctr.new(
        request,
        nginx.IMAGE,
        nginx.with_file(page, "/reports/q1.html"),
        nginx.default(),
        nginx.with_content(b'{"ok": true}', "/api/status.json"),
        testctr.with_runtime(runtime),
    )
    assert fetch(nginx.url(web, "/reports/q1.html")) == (200, b"<p>quarterly</p>")
    assert fetch(nginx.url(web, "/api/status.json")) == (200, b'{"ok": true}')
    status, body = fetch(nginx.url(web))
    assert status == 200 and b"Welcome to nginx!" in body
    assert fetch(nginx.url(web, "/missing.html"))[0] == 404


def test_reverse_proxy_to_a_peer_container(request: pytest.FixtureRequest) -> None:
    backend = testctr.new(
        request,
        nginx.IMAGE,
        nginx.default(),
        nginx.with_content("from the backend", "/v1/hello.txt"),
        testctr.with_runtime("docker"),
    )
    front = testctr.new(
        request,
        nginx.IMAGE,
        nginx.with_proxy("/api/", f"http://{backend.internal_ip()}:80/v1/"),
        nginx.default(),
        nginx.with_content("front page", "/index.html"),
        testctr.with_runtime("docker"),
    )
    assert fetch(nginx.url(front, "/api/hello.txt")) == (200, b"from the backend")
    assert fetch(nginx.url(front, "/index.html")) == (200, b"front page")
    # The request went through: the backend logged it (a log line may come a moment after the answer).
    deadline = time.monotonic() + 10
    while "GET /v1/hello.txt" not in backend.logs() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "GET /v1/hello.txt" in backend.logs()


def test_config_adds_a_server(request: pytest.FixtureRequest) -> None:
    web = testctr.new(
        request,
        nginx.IMAGE,
        nginx.default(),
        nginx.with_config("server { listen 8081; location / { return 200 'second server'; } }", name="second"),
        testctr.with_port(8081),
        testctr.with_runtime("docker"),
    )
    assert fetch(f"http://{web.endpoint(8081)}/") == (200, b"second server")
