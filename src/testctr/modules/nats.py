"""NATS: the official ``nats`` image (``nats:2``), clients on 4222.

    n = testctr.new(request, nats.IMAGE, nats.default())
    await nats_client.connect(f"nats://{n.endpoint(4222)}")

``default()`` publishes 4222 and waits for "Server is ready". Server flags
are appended to the image's command (its configuration file stays in use).
"""

from __future__ import annotations

from testctr.modules._common import nonempty
from testctr.option import Option, options, with_args, with_port, with_wait_for_log

IMAGE = "nats:2"


def default() -> Option:
    """Port 4222 and a wait for the server."""
    return options(with_port("4222"), with_wait_for_log("Server is ready"))


def with_auth(user: str, password: str) -> Option:
    """Clients must log in as ``user``/``password`` (``--user``/``--pass``)."""
    return with_args("--user", nonempty(user, "nats user"), "--pass", nonempty(password, "nats password"))


def with_token(token: str) -> Option:
    """Clients must present ``token`` (``--auth``)."""
    return with_args("--auth", nonempty(token, "nats token"))


def with_jetstream() -> Option:
    """Enable JetStream (``-js``)."""
    return with_args("-js")


__all__ = ["IMAGE", "default", "with_auth", "with_jetstream", "with_token"]
