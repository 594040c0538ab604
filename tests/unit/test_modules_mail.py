"""mail module: ports, waits, SMTP auth option and the addresses a client needs."""

from __future__ import annotations

from typing import Any, cast

import pytest

from testctr.errors import InvalidOption
from testctr.modules import mail
from testctr.option import build_spec
from testctr.wait import LogWait


class FakeContainer:
    def host(self) -> str:
        return "127.0.0.1"

    def port(self, port: str | int) -> int:
        return 40000 + int(port)

    def endpoint(self, port: str | int) -> str:
        return f"{self.host()}:{self.port(port)}"


def test_default_publishes_smtp_and_web_and_waits_for_both() -> None:
    spec = build_spec([mail.default()])
    assert [p.key for p in spec.config.ports] == ["1025/tcp", "1080/tcp"]
    smtp, web = spec.waits
    assert isinstance(smtp, LogWait) and smtp.pattern.search("MailDev SMTP Server running at 0.0.0.0:1025")
    assert web.describe() == "HTTP 200 from GET /healthz on port 1080/tcp"


def test_addresses() -> None:
    container = cast(Any, FakeContainer())
    assert mail.smtp_address(container) == ("127.0.0.1", 41025)
    assert mail.web_url(container) == "http://127.0.0.1:41080"


def test_smtp_auth_sets_maildev_incoming_user_and_password() -> None:
    env = build_spec([mail.with_smtp_auth("app", "s3cret")]).config.env
    assert env == {"MAILDEV_INCOMING_USER": "app", "MAILDEV_INCOMING_PASS": "s3cret"}


@pytest.mark.parametrize("user, password", [("", "pw"), ("app", ""), ("a:b", "pw")])
def test_smtp_auth_bad_values(user: str, password: str) -> None:
    with pytest.raises(InvalidOption):
        mail.with_smtp_auth(user, password)


def test_smtp_auth_wrong_types() -> None:
    with pytest.raises(InvalidOption):
        mail.with_smtp_auth(cast(Any, 1), "pw")
