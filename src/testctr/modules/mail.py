"""A mail catcher: MailDev (``maildev/maildev``), SMTP on 1025 and a web inbox with a REST API on 1080.

    inbox = testctr.new(request, mail.IMAGE, mail.default())
    with smtplib.SMTP(*mail.smtp_address(inbox)) as smtp:
        smtp.sendmail("app@example.com", ["user@example.com"], message)
    [received] = mail.messages(inbox)            # the inbox's GET /email, parsed

``default()`` publishes both ports and waits for the SMTP server and the web
inbox. Every message is kept (nothing is relayed); ``clear()`` empties the
inbox between tests that share the container.
"""

from __future__ import annotations

import json
import urllib.request
from typing import TYPE_CHECKING, Any

from testctr.errors import InvalidOption
from testctr.modules._common import nonempty
from testctr.modules.kit import text
from testctr.option import Option, options, with_env, with_port, with_wait_for_http, with_wait_for_log

if TYPE_CHECKING:
    from testctr.container import Container

IMAGE = "maildev/maildev:latest"
SMTP_PORT = 1025
WEB_PORT = 1080


def _credential(value: object, what: str) -> str:
    value = text(value, what)
    if ":" in value and what.endswith("user"):
        raise InvalidOption(f"{what} {value!r} must not contain ':'")
    return nonempty(value, what)


def default() -> Option:
    """Both ports, and a wait for the SMTP server and the web inbox."""
    return options(
        with_port(SMTP_PORT),
        with_port(WEB_PORT),
        with_wait_for_log("MailDev SMTP Server running at"),
        with_wait_for_http("/healthz", WEB_PORT),
    )


def with_smtp_auth(user: str, password: str) -> Option:
    """SMTP clients must log in (MAILDEV_INCOMING_USER / MAILDEV_INCOMING_PASS)."""
    return options(
        with_env("MAILDEV_INCOMING_USER", _credential(user, "mail smtp user")),
        with_env("MAILDEV_INCOMING_PASS", _credential(password, "mail smtp password")),
    )


def smtp_address(container: Container) -> tuple[str, int]:
    """``(host, port)`` for ``smtplib.SMTP(*smtp_address(c))``."""
    return container.host(), container.port(SMTP_PORT)


def web_url(container: Container) -> str:
    """The web inbox (and the REST API under it: /email, /email/ID, /email/all)."""
    return f"http://{container.endpoint(WEB_PORT)}"


def _api(container: Container, method: str, path: str) -> Any:
    request = urllib.request.Request(web_url(container) + path, method=method)
    with urllib.request.urlopen(request, timeout=30) as reply:
        body = reply.read()
    return json.loads(body) if body else None


def messages(container: Container) -> list[dict[str, Any]]:
    """Every message received, oldest first, as the API gives them (subject, from, to, text, html, ...)."""
    found: list[dict[str, Any]] = _api(container, "GET", "/email")
    return found


def clear(container: Container) -> None:
    """Delete every message in the inbox."""
    _api(container, "DELETE", "/email/all")


__all__ = ["IMAGE", "clear", "default", "messages", "smtp_address", "web_url", "with_smtp_auth"]
