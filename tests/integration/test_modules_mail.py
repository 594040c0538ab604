"""MailDev: a mail sent with smtplib, read back through the inbox's REST API."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

import testctr
from testctr.modules import mail

pytestmark = pytest.mark.engine


def message(subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "app@example.com", "user@example.com", subject
    msg.set_content("Your code is 4711.")
    return msg


def test_send_and_read_back(request: pytest.FixtureRequest, runtime: str) -> None:
    inbox = testctr.new(request, mail.IMAGE, mail.default(), testctr.with_runtime(runtime))
    with smtplib.SMTP(*mail.smtp_address(inbox), timeout=30) as smtp:
        smtp.send_message(message("Welcome"))
    [received] = mail.messages(inbox)
    assert received["subject"] == "Welcome"
    assert [to["address"] for to in received["to"]] == ["user@example.com"]
    assert "Your code is 4711." in received["text"]
    mail.clear(inbox)
    assert mail.messages(inbox) == []


def test_smtp_auth_is_required_when_set(request: pytest.FixtureRequest) -> None:
    inbox = testctr.new(request, mail.IMAGE, mail.default(), mail.with_smtp_auth("app", "s3cret"),
                        testctr.with_runtime("docker"))  # fmt: skip
    with smtplib.SMTP(*mail.smtp_address(inbox), timeout=30) as smtp:
        with pytest.raises(smtplib.SMTPException):
            smtp.send_message(message("refused"))
    with smtplib.SMTP(*mail.smtp_address(inbox), timeout=30) as smtp:
        smtp.login("app", "s3cret")
        smtp.send_message(message("accepted"))
    assert [m["subject"] for m in mail.messages(inbox)] == ["accepted"]
