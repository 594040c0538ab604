"""Mosquitto: the official ``eclipse-mosquitto`` image (``eclipse-mosquitto:2``), MQTT on 1883.

    mq = testctr.new(request, mosquitto.IMAGE, mosquitto.default())
    client.connect(mq.host(), mq.port(1883))

The image's own configuration is empty, which makes mosquitto 2 listen on its
loopback only. ``default()`` writes a configuration with a listener on 1883
that allows anonymous clients, publishes 1883 and waits for mosquitto's
"running" line. :func:`with_config` adds lines to that file; calls stack, in
any order with ``default()``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from testctr.errors import InvalidOption
from testctr.modules._common import append_file_lines, config_key, config_value, nonempty
from testctr.option import Option, options, with_port, with_wait_for_log

IMAGE = "eclipse-mosquitto:2"
CONFIG_PATH = "/mosquitto/config/mosquitto.conf"


def default() -> Option:
    """A listener on 1883 for anonymous clients, the port, and a wait for the broker."""
    return options(
        # First in the file, so lines from with_config (which mosquitto reads later) can refine it.
        append_file_lines(CONFIG_PATH, ["listener 1883", "allow_anonymous true"], first=True),
        with_port("1883"),
        with_wait_for_log(re.compile(r"mosquitto version \S+ running")),
    )


def with_config(settings: Mapping[str, object]) -> Option:
    """Lines ``key value`` for mosquitto.conf (e.g. ``{"max_keepalive": 60}``)."""
    if not isinstance(settings, Mapping) or not settings:
        raise InvalidOption(f"mosquitto.with_config needs a non-empty mapping, got {settings!r}")
    lines = []
    for key, value in settings.items():
        text = "true" if value is True else "false" if value is False else config_value(value, "mosquitto config")
        lines.append(f"{config_key(key, 'mosquitto config')} {text}")
    return append_file_lines(CONFIG_PATH, lines)


def with_password_file(content: str) -> Option:
    """Require logins: ``content`` is a mosquitto password file (``user:hash`` lines)."""
    text = nonempty(content, "mosquitto password file")
    return options(
        append_file_lines("/mosquitto/config/passwd", text.rstrip("\n").split("\n")),
        append_file_lines(CONFIG_PATH, ["allow_anonymous false", "password_file /mosquitto/config/passwd"]),
    )


__all__ = ["CONFIG_PATH", "IMAGE", "default", "with_config", "with_password_file"]
