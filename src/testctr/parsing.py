"""Pure parsers for what users type: port specs, sizes, durations, image maps.

Each raises :class:`testctr.InvalidOption` with a message that says what was
expected, so a typo fails at once instead of at container start.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING

from testctr.errors import InvalidOption

if TYPE_CHECKING:
    from testctr.backend.types import PortSpec

_PROTOCOLS = ("tcp", "udp", "sctp")


def _port_number(text: str, spec: str, what: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise InvalidOption(
            f"invalid port spec {spec!r}: {what} {text!r} is not a number "
            "(expected e.g. '6379', '6379/tcp', '53/udp' or '127.0.0.1:8080:80')"
        )
    number = int(text)
    if not 1 <= number <= 65535:
        raise InvalidOption(f"invalid port spec {spec!r}: {what} {number} is not in 1-65535")
    return number


def parse_port_spec(spec: str | int) -> PortSpec:
    """Parse ``"6379"``, ``"6379/tcp"``, ``"53/udp"``, ``"8080:80"``, ``"0.0.0.0::80"``.

    The forms are Docker's ``-p`` forms: ``[[HOST_IP:]HOST_PORT:]PORT[/PROTO]``.
    Without a host IP, the backend binds loopback (see PortSpec).
    """
    from testctr.backend.types import PortSpec

    if isinstance(spec, bool) or not isinstance(spec, (str, int)):
        raise InvalidOption(f"port spec must be a string or int, got {type(spec).__name__}")
    text = str(spec).strip()
    if not text:
        raise InvalidOption("port spec is empty")
    protocol = "tcp"
    if "/" in text:
        text, protocol = text.rsplit("/", 1)
        protocol = protocol.lower()
        if protocol not in _PROTOCOLS:
            raise InvalidOption(f"invalid port spec {spec!r}: protocol {protocol!r} is not one of {_PROTOCOLS}")
    host_ip: str | None = None
    host_port: int | None = None
    if text.startswith("["):  # [::1]:8080:80
        end = text.find("]")
        if end < 0:
            raise InvalidOption(f"invalid port spec {spec!r}: unclosed '['")
        host_ip, rest = text[1:end], text[end + 1 :]
        if not rest.startswith(":"):
            raise InvalidOption(f"invalid port spec {spec!r}: expected ':' after ']'")
        parts = rest[1:].split(":")
        if len(parts) != 2:
            raise InvalidOption(f"invalid port spec {spec!r}: expected [IP]:HOST_PORT:PORT")
        host_text, ctr_text = parts
    else:
        parts = text.split(":")
        if len(parts) == 1:
            host_text, ctr_text = "", parts[0]
        elif len(parts) == 2:
            host_text, ctr_text = parts
        elif len(parts) == 3:
            host_ip, host_text, ctr_text = parts
            host_ip = host_ip or None
        else:
            raise InvalidOption(f"invalid port spec {spec!r}: expected [[HOST_IP:]HOST_PORT:]PORT[/PROTO]")
    if host_ip is not None:
        import ipaddress

        try:
            ipaddress.ip_address(host_ip)
        except ValueError:
            raise InvalidOption(f"invalid port spec {spec!r}: {host_ip!r} is not an IP address") from None
    if host_text:
        host_port = _port_number(host_text, str(spec), "host port")
    container_port = _port_number(ctr_text, str(spec), "port")
    return PortSpec(container_port, protocol, host_port, host_ip)


def port_key(port: str | int) -> str:
    """Normalise what users pass to ``Container.port``: ``6379`` -> ``"6379/tcp"``."""
    return parse_port_spec(port).key


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)


def parse_memory(size: str | int) -> int:
    """``"512m"`` / ``"1g"`` / ``"256MiB"`` / ``1073741824`` -> bytes (binary units, like Docker)."""
    if isinstance(size, bool):
        raise InvalidOption("memory size must be a string like '512m' or a number of bytes")
    if isinstance(size, int):
        value = size
    else:
        match = _SIZE_RE.match(size) if isinstance(size, str) else None
        if match is None:
            raise InvalidOption(
                f"invalid memory size {size!r}: expected a number with an optional unit "
                "b, k, m, g or t (e.g. '512m', '1g')"
            )
        number, unit = match.group(1), match.group(2).lower()
        value = int(float(number) * _SIZE_UNITS[unit])
    if value < 6 * 1024 * 1024:
        raise InvalidOption(f"memory size {size!r} is below the 6 MiB engines accept")
    return value


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | float) -> float:
    """``"5m"``, ``"1h30m"``, ``"200ms"``, ``"2.5"`` (seconds) -> seconds (Go-style)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    elif isinstance(text, str):
        stripped = text.strip()
        try:
            seconds = float(stripped)
        except ValueError:
            pos, seconds = 0, 0.0
            for match in _DURATION_RE.finditer(stripped):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
                pos = match.end()
            if pos != len(stripped) or not stripped:
                raise InvalidOption(f"invalid duration {text!r}: expected e.g. '30s', '5m', '1h30m', '200ms'") from None
    else:
        raise InvalidOption(f"invalid duration {text!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidOption(f"duration {text!r} must be a finite, non-negative number of seconds")
    return seconds


def parse_positive_int(text: str | int, what: str = "the value") -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise InvalidOption(f"{what} must be a whole number, got {text!r}") from None
    if value < 1:
        raise InvalidOption(f"{what} must be at least 1, got {value}")
    return value


def parse_name(text: str) -> str:
    """A non-empty name without spaces (a backend, runtime or label prefix)."""
    if not isinstance(text, str) or not text.strip() or any(c.isspace() for c in text):
        raise InvalidOption(f"expected a non-empty name without spaces, got {text!r}")
    return text


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise InvalidOption(f"invalid boolean {text!r}: expected 1/0, true/false, yes/no")


def parse_image_map(text: str) -> dict[str, str]:
    """``"redis:7-alpine=local/redis:7,postgres:16=mirror/pg:16"`` -> dict."""
    mapping: dict[str, str] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        source, sep, target = item.partition("=")
        source, target = source.strip(), target.strip()
        if not sep or not source or not target:
            raise InvalidOption(
                f"invalid TESTCTR_IMAGE_MAP entry {item!r}: expected IMAGE=REPLACEMENT, entries separated by commas"
            )
        mapping[source] = target
    return mapping


def has_registry_host(image: str) -> bool:
    """Whether ``image`` names its registry (``ghcr.io/x``, ``localhost:5000/x``)."""
    first, sep, _ = image.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def substitute_image(image: str, image_map: dict[str, str], prefix: str) -> str:
    """Apply TESTCTR_IMAGE_MAP, then TESTCTR_IMAGE_PREFIX to images without a registry."""
    mapped = image_map.get(image)
    if mapped is None and ":" not in image.rpartition("/")[2] and "@" not in image:
        mapped = image_map.get(image + ":latest")
    if mapped is not None:
        return mapped
    if prefix and not has_registry_host(image):
        return f"{prefix.rstrip('/')}/{image}"
    return image


_NAME_BAD = re.compile(r"[^a-zA-Z0-9_.-]+")


def container_name(test_id: str, suffix: str, max_length: int = 63) -> str:
    """A readable, valid container name from a test id: ``testctr-test_x-<suffix>``.

    Valid for Docker, Podman and Apple (``[a-zA-Z0-9][a-zA-Z0-9_.-]+``, <= 63).
    """
    # The test's own name (after the last "::") reads best in `docker ps`.
    slug = _NAME_BAD.sub("_", test_id.rsplit("/", 1)[-1].rsplit("::", 1)[-1]).strip("_.-")
    room = max_length - len("testctr--") - len(suffix)
    slug = slug[: max(room, 0)].rstrip("_.-")
    return f"testctr-{slug}-{suffix}" if slug else f"testctr-{suffix}"


def database_name(test_id: str, max_length: int = 63, session: str = "") -> str:
    """A database name from a test id, unique for distinct ids, valid unquoted in SQL.

    Lowercase ``[a-z0-9_]``, starting with a letter, ending in a hash of the
    whole id so long parametrised ids that share a prefix never collide.
    ``session`` (a token of :data:`SESSION_TOKEN` form) goes first, for a
    server that several runs use at once (a reused or shared container): each
    run gets its own databases, and :func:`database_session` tells whose a
    database is, so a later run can drop those of dead sessions.
    """
    import hashlib

    if session and not SESSION_TOKEN.fullmatch(session):
        raise ValueError(f"session token must be {SESSION_TOKEN.pattern}, got {session!r}")
    prefix = f"t{session}_"
    digest = hashlib.sha256(test_id.encode()).hexdigest()[:10]
    slug = re.sub(r"[^a-z0-9]+", "_", test_id.lower()).strip("_")
    room = max_length - len(prefix) - len(digest) - 1
    slug = slug[: max(room, 0)].rstrip("_")
    return f"{prefix}{slug}_{digest}" if slug else f"{prefix}{digest}"


#: A run's token in its databases' names: 8 lowercase hex digits.
SESSION_TOKEN = re.compile(r"[0-9a-f]{8}")
_SESSION_DATABASE = re.compile(r"t([0-9a-f]{8})_")


def database_session(name: str) -> str | None:
    """The session token in a name :func:`database_name` made with one, else None."""
    match = _SESSION_DATABASE.match(name)
    return match.group(1) if match else None


_FRACTION = re.compile(r"\.(\d+)")


def parse_timestamp(text: str) -> dt.datetime | None:
    """RFC 3339 with nanoseconds and ``Z`` (Docker, Podman) -> aware datetime; None if empty."""
    text = text.strip()
    if not text or text.startswith("0001-01-01"):
        return None
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    # Podman prints "2024-05-01 10:00:00.123 +0000 UTC" in some places.
    text = text.removesuffix(" UTC")
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        for layout in ("%Y-%m-%d %H:%M:%S.%f %z", "%Y-%m-%d %H:%M:%S %z"):
            try:
                value = dt.datetime.strptime(text, layout)
                break
            except ValueError:
                continue
        else:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value
