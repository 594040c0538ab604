"""nginx module: where files go, the proxy configuration, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from testctr.errors import InvalidOption
from testctr.modules import nginx
from testctr.option import build_spec


def files(*opts: object) -> dict[str, bytes]:
    return {f.container_path: f.data for f in build_spec(opts).config.files}  # type: ignore[arg-type]


def test_files_go_under_the_document_root(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text("hi")
    got = files(nginx.with_file(page, "/a/p.html"), nginx.with_content("x", "/b.txt"))
    assert got == {"/usr/share/nginx/html/a/p.html": b"hi", "/usr/share/nginx/html/b.txt": b"x"}


@pytest.mark.parametrize("bad", ["p.html", "/", "/dir/", "/../etc/passwd", "/a/../../b"])
def test_url_paths_stay_under_the_root(bad: str) -> None:
    with pytest.raises(InvalidOption):
        nginx.with_content("x", bad)


def test_wrong_types_raise_type_error() -> None:
    with pytest.raises(InvalidOption):
        nginx.with_content(3, "/a")  # type: ignore[arg-type]
    with pytest.raises(InvalidOption):
        nginx.with_proxy(None, "http://x/")  # type: ignore[arg-type]
    with pytest.raises(InvalidOption):
        nginx.with_config(b"server {}")  # type: ignore[arg-type]


@pytest.mark.parametrize("before", [True, False])
def test_proxies_stack_in_the_default_server(before: bool) -> None:
    proxies = [nginx.with_proxy("/api/", "http://10.0.0.2:8080/"), nginx.with_proxy("/auth", "http://10.0.0.3")]
    got = files(*proxies, nginx.default()) if before else files(nginx.default(), *proxies)
    server = got[nginx.SERVER_CONFIG_PATH].decode()
    assert f"include {nginx.LOCATIONS_PATH};" in server
    locations = got[nginx.LOCATIONS_PATH].decode()
    assert locations.index("location /api/ {") < locations.index("location /auth {")
    assert "proxy_pass http://10.0.0.2:8080/;" in locations
    assert list(got).count(nginx.SERVER_CONFIG_PATH) == 1


def test_default_keeps_the_image_server_config() -> None:
    assert files(nginx.default()) == {}


@pytest.mark.parametrize(
    ("location", "upstream"),
    [
        ("api", "http://x/"),
        ("/a b", "http://x/"),
        ("/api/", "ftp://x/"),
        ("/api/", "http://x/; evil"),
        ("/{", "http://x"),
    ],
)
def test_proxy_rejects_what_would_break_the_config(location: str, upstream: str) -> None:
    with pytest.raises(InvalidOption):
        nginx.with_proxy(location, upstream)


def test_config_file_name() -> None:
    assert files(nginx.with_config("server {}", name="extra")) == {"/etc/nginx/conf.d/extra.conf": b"server {}"}
    for bad in ("default", "a/b", ""):
        with pytest.raises(InvalidOption):
            nginx.with_config("server {}", name=bad)
