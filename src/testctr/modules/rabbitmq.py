"""RabbitMQ: the official ``rabbitmq`` image (``rabbitmq:3``), AMQP 0-9-1 on 5672.

    mq = testctr.new(request, rabbitmq.IMAGE, rabbitmq.default(), rabbitmq.with_user("app", "s3cret"))
    pika.BlockingConnection(pika.URLParameters(f"amqp://app:s3cret@{mq.endpoint(5672)}/"))

``default()`` publishes 5672 and waits for "Server startup complete". The
image's default user is guest/guest (allowed from anywhere in the image).
"""

from __future__ import annotations

from testctr.modules._common import nonempty
from testctr.option import Option, options, with_env, with_port, with_wait_for_log

IMAGE = "rabbitmq:3"


def default() -> Option:
    """Port 5672 and a wait for the broker."""
    return options(with_port("5672"), with_wait_for_log("Server startup complete"))


def with_user(user: str, password: str) -> Option:
    """The default user (RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS) instead of guest."""
    return options(
        with_env("RABBITMQ_DEFAULT_USER", nonempty(user, "rabbitmq user")),
        with_env("RABBITMQ_DEFAULT_PASS", nonempty(password, "rabbitmq password")),
    )


def with_password(password: str) -> Option:
    """The default user's password (RABBITMQ_DEFAULT_PASS)."""
    return with_env("RABBITMQ_DEFAULT_PASS", nonempty(password, "rabbitmq password"))


def with_vhost(vhost: str) -> Option:
    """The default virtual host (RABBITMQ_DEFAULT_VHOST), created at start."""
    return with_env("RABBITMQ_DEFAULT_VHOST", nonempty(vhost, "rabbitmq vhost"))


__all__ = ["IMAGE", "default", "with_password", "with_user", "with_vhost"]
