"""nginx: the official ``nginx`` image (``nginx:1``), serving files and proxying on port 80.

    web = testctr.new(request, nginx.IMAGE, nginx.default(),
                      nginx.with_file("site/index.html", "/index.html"),
                      nginx.with_proxy("/api/", f"http://{api.internal_ip()}:8080/"))
    urllib.request.urlopen(nginx.url(web, "/index.html"))

``default()`` publishes 80 and waits until nginx has started its workers (it
has bound its ports by then). Files go to the image's document root
``/usr/share/nginx/html``. :func:`with_proxy` adds ``location`` blocks to the
default server, in a file that server includes; :func:`with_config` adds whole
``server``/``upstream`` blocks as a file in ``/etc/nginx/conf.d``.
"""

from __future__ import annotations

import os
import posixpath
import re
from typing import IO, TYPE_CHECKING

from testctr.backend.types import FileEntry
from testctr.errors import InvalidOption
from testctr.modules import kit
from testctr.option import Option, Spec, with_file_content, with_port
from testctr.option import with_file as _with_file

if TYPE_CHECKING:
    from testctr.container import Container

IMAGE = "nginx:1"
PORT = "80/tcp"
#: The image's document root.
HTML_DIR = "/usr/share/nginx/html"
#: The default server's configuration, replaced by one that includes LOCATIONS_PATH.
SERVER_CONFIG_PATH = "/etc/nginx/conf.d/default.conf"
LOCATIONS_PATH = "/etc/nginx/testctr.d/locations.conf"

# The image's default server, plus an include of the locations this module adds.
_SERVER_CONFIG = f"""\
server {{
    listen       80;
    server_name  localhost;

    include {LOCATIONS_PATH};

    location / {{
        root   {HTML_DIR};
        index  index.html index.htm;
    }}

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {{
        root   {HTML_DIR};
    }}
}}
""".encode()

# A location prefix or upstream URL is pasted into nginx's config: no spaces,
# quotes, braces or semicolons that would end the directive early.
_CONFIG_WORD = re.compile(r"^[^\s;{}'\"#\\]+$")


def _serve_locations(spec: Spec) -> None:
    files = spec.config.files
    files[:] = [f for f in files if f.container_path != SERVER_CONFIG_PATH]
    files.append(FileEntry(SERVER_CONFIG_PATH, _SERVER_CONFIG, 0o644))
    if not any(f.container_path == LOCATIONS_PATH for f in files):
        files.append(FileEntry(LOCATIONS_PATH, b"", 0o644))


def default() -> Option:
    """Port 80 and a wait for nginx's workers."""
    return kit.options(
        with_port("80"),
        kit.with_wait_for_log(re.compile(r"start worker process")),
    )


def _url_path(path: object, what: str) -> str:
    text = kit.text(path, what)
    if not text.startswith("/") or text.endswith("/"):
        raise InvalidOption(f"{what} must be a file's path under the document root, like '/index.html', got {text!r}")
    if ".." in text.split("/"):
        raise InvalidOption(f"{what} must stay under the document root, got {text!r}")
    return posixpath.normpath(text)


def with_file(host_path: str | os.PathLike[str], url_path: str) -> Option:
    """Serve a host file at ``url_path`` (``"/index.html"``, ``"/data/a.json"``)."""
    if not isinstance(host_path, (str, os.PathLike)):
        raise InvalidOption(f"nginx.with_file host_path must be a path, got {type(host_path).__name__}")
    path = _url_path(url_path, "nginx.with_file url_path")
    return _with_file(host_path, HTML_DIR + path, 0o644)


def with_content(data: bytes | str | IO[bytes], url_path: str) -> Option:
    """Serve ``data`` at ``url_path``."""
    if not isinstance(data, (bytes, str)) and not hasattr(data, "read"):
        raise InvalidOption(f"nginx.with_content data must be bytes, str or a binary file, got {type(data).__name__}")
    path = _url_path(url_path, "nginx.with_content url_path")
    return with_file_content(data, HTML_DIR + path, 0o644)


def with_proxy(location: str, upstream: str) -> Option:
    """Proxy requests under ``location`` (``"/api/"``) to ``upstream`` (``"http://10.0.0.5:8080/"``).

    nginx's ``proxy_pass`` rule applies: with a path on ``upstream`` (even just
    ``/``), the ``location`` prefix is replaced by it; without, the request's
    path is passed on unchanged. Calls stack.
    """
    prefix = kit.text(location, "nginx.with_proxy location")
    target = kit.text(upstream, "nginx.with_proxy upstream")
    if not prefix.startswith("/") or not _CONFIG_WORD.match(prefix):
        raise InvalidOption(f"nginx.with_proxy location must be a path like '/api/', got {prefix!r}")
    if not re.match(r"^https?://", target) or not _CONFIG_WORD.match(target):
        raise InvalidOption(f"nginx.with_proxy upstream must be an http(s):// URL, got {target!r}")
    block = [
        f"location {prefix} {{",
        f"    proxy_pass {target};",
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "}",
    ]
    add_block = kit.config_lines(LOCATIONS_PATH, block)

    def apply(spec: Spec) -> None:
        _serve_locations(spec)
        add_block.apply(spec)

    return Option(f"nginx.with_proxy({prefix!r}, {target!r})", apply)


def with_config(config: str, name: str = "testctr") -> Option:
    """A file ``/etc/nginx/conf.d/NAME.conf`` (inside nginx's ``http`` block): servers, upstreams, maps."""
    text = config if isinstance(config, str) else None
    if text is None:
        raise InvalidOption(f"nginx.with_config config must be a str, got {type(config).__name__}")
    if not text.strip():
        raise InvalidOption("nginx.with_config needs configuration text")
    base = kit.text(name, "nginx.with_config name")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", base) or base == "default":
        raise InvalidOption(f"nginx.with_config name must be a file name other than 'default', got {base!r}")
    return with_file_content(text, f"/etc/nginx/conf.d/{base}.conf", 0o644)


def url(container: Container, path: str = "/") -> str:
    """``http://HOST:PORT/path`` of the container's port 80."""
    return kit.http_url(container, PORT, path)


__all__ = ["HTML_DIR", "IMAGE", "default", "url", "with_config", "with_content", "with_file", "with_proxy"]
