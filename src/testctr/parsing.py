"""Pure parsers for what users type: port specs, sizes, durations, image maps.

Each raises :class:`testctr.InvalidOption` with a message that says what was
expected, so a typo fails at once instead of at container start.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, TypeGuard

from testctr.errors import InvalidOption

if TYPE_CHECKING:
    from testctr.backend.types import PortSpec

_PROTOCOLS = ("tcp", "udp", "sctp")

#: Longest duration or timeout accepted (~115 days: a month-scale cleanup age fits):
#: longer ones are typos, and engines and ``threading`` overflow above ~9.2e9 s.
MAX_SECONDS = 10_000_000.0
#: Memory limits must fit the engines' int64 byte counts; below 6 MiB they refuse.
MIN_MEMORY, MAX_MEMORY = 6 * 1024 * 1024, 2**63 - 1
#: Docker refuses fewer than 0.01 CPUs; no engine runs a container on more than 1024.
MIN_CPUS, MAX_CPUS = 0.01, 1024.0
#: Counts (max concurrent creations, server threads, ...) must fit a C int.
MAX_COUNT = 2**31 - 1


def has_control_chars(text: str) -> bool:
    """Whether ``text`` holds NUL, a line break or another control character (tab excepted)."""
    return any((c < " " and c != "\t") or "\x7f" <= c <= "\x9f" for c in text)


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` for an error message, shortened (``repr`` of a huge int even raises ValueError)."""
    try:
        text = repr(value)
    except ValueError:
        return f"<an int of {value.bit_length()} bits>" if isinstance(value, int) else f"<a {type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


def is_number(value: object) -> TypeGuard[int | float]:
    """An int or float, not a bool (a bool is an int to Python, never a number to a user)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
    if isinstance(spec, int) and not 1 <= spec <= 65535:
        raise InvalidOption(f"invalid port spec: port {shown(spec)} is not in 1-65535")
    if has_control_chars(spec if isinstance(spec, str) else ""):
        raise InvalidOption(f"invalid port spec {spec!r}: control characters")
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
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*", re.IGNORECASE | re.ASCII)
_MEMORY_RANGE = "from 6 MiB to 8 EiB"


def parse_memory(size: str | int) -> int:
    """``"512m"`` / ``"1g"`` / ``"256MiB"`` / ``1073741824`` -> bytes (binary units, like Docker)."""
    if isinstance(size, int) and not isinstance(size, bool):
        value = size
    else:
        match = _SIZE_RE.fullmatch(size) if isinstance(size, str) else None
        if match is None:
            raise InvalidOption(
                f"invalid memory size {shown(size)}: expected a number with an optional unit "
                "b, k, m, g or t (e.g. '512m', '1g'), or a number of bytes"
            )
        number, unit = float(match.group(1)), match.group(2).lower()
        # Checked as a float: int() of an overflowed (infinite) product raises OverflowError.
        if not number * _SIZE_UNITS[unit] <= MAX_MEMORY:
            raise InvalidOption(f"memory size {shown(size)} is out of range: {_MEMORY_RANGE}")
        value = int(number * _SIZE_UNITS[unit])
    if not MIN_MEMORY <= value <= MAX_MEMORY:
        raise InvalidOption(f"memory size {shown(size)} is out of range: {_MEMORY_RANGE} (engines accept no less)")
    return value


def parse_cpus(cpus: float, what: str = "cpus") -> float:
    """A number of CPUs, as engines take it: a number from MIN_CPUS to MAX_CPUS."""
    if not is_number(cpus) or not MIN_CPUS <= cpus <= MAX_CPUS:  # NaN fails the comparison too
        raise InvalidOption(f"{what} needs a number of CPUs from {MIN_CPUS} to {MAX_CPUS:g}, got {shown(cpus)}")
    return float(cpus)


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)", re.ASCII)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_FORMS = f"seconds (e.g. 2.5) or a Go duration (e.g. '30s', '5m', '1h30m', '200ms'), at most {MAX_SECONDS:g} s"


def seconds(value: float, what: str) -> float:
    """A number of seconds: finite, from 0 to MAX_SECONDS. Every duration and timeout passes here."""
    if not is_number(value):
        raise InvalidOption(f"{what} must be a number of seconds, got {shown(value)}")
    # Compared before float(): float() of a huge int raises OverflowError; NaN fails the comparison.
    if not 0 <= value <= MAX_SECONDS:
        raise InvalidOption(f"{what} must be from 0 to {MAX_SECONDS:g} seconds, got {shown(value)}")
    return float(value)


def timeout_seconds(value: float, what: str) -> float:
    """A timeout: like :func:`seconds`, and positive (a zero timeout could never succeed)."""
    result = seconds(value, what)
    if not result:
        raise InvalidOption(f"{what} must be more than 0 and at most {MAX_SECONDS:g} seconds, got {shown(value)}")
    return result


def parse_duration(text: str | float, what: str = "duration") -> float:
    """``"5m"``, ``"1h30m"``, ``"200ms"``, ``"2.5"`` (seconds) -> seconds (Go-style)."""
    if not isinstance(text, str):
        return seconds(text, what)
    stripped = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", stripped, re.ASCII):
        return seconds(float(stripped), what)
    total, pos = 0.0, 0
    for match in _DURATION_RE.finditer(stripped):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(stripped) or not stripped:
        raise InvalidOption(f"invalid {what} {shown(text)}: expected {_DURATION_FORMS}")
    if not total <= MAX_SECONDS:
        raise InvalidOption(f"{what} {shown(text)} is too long: expected {_DURATION_FORMS}")
    return total


def parse_timeout(text: str | float, what: str = "timeout") -> float:
    """A duration that must be positive (TESTCTR_STARTUP_TIMEOUT, like with_startup_timeout)."""
    return timeout_seconds(parse_duration(text, what), what)


def parse_positive_int(text: str | int, what: str = "the value") -> int:
    """A count from 1 to MAX_COUNT: an int, or its decimal digits."""
    if isinstance(text, str) and text.strip().isascii() and text.strip().isdigit():
        value = int(text.strip()) if len(text.strip()) <= 10 else MAX_COUNT + 1
    elif isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        raise InvalidOption(f"{what} must be a whole number from 1 to {MAX_COUNT}, got {shown(text)}")
    if not 1 <= value <= MAX_COUNT:
        raise InvalidOption(f"{what} must be a whole number from 1 to {MAX_COUNT}, got {shown(text)}")
    return value


def parse_name(text: str, what: str = "name") -> str:
    """A non-empty name without spaces or control characters (a backend, runtime, network, user)."""
    if not isinstance(text, str) or not text or any(c.isspace() for c in text) or has_control_chars(text):
        raise InvalidOption(f"{what} must be non-empty, without spaces or control characters, got {shown(text)}")
    return text


_LABEL_PREFIX = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?", re.ASCII)


def parse_label_prefix(text: str) -> str:
    """The prefix of testctr's labels (TESTCTR_LABEL): letters, digits, '.', '_', '-'.

    It is also a label filter (``label=PREFIX=true``), where '=', ',' and spaces break the syntax.
    """
    if not isinstance(text, str) or not _LABEL_PREFIX.fullmatch(text):
        raise InvalidOption(
            f"invalid label prefix {text!r}: expected letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit (e.g. 'testctr', 'com.example.ci')"
        )
    return text


def parse_label_key(key: str) -> str:
    """A label key: non-empty, without '=' (the CLIs split ``--label k=v`` at the first one) or control characters."""
    if not isinstance(key, str) or not key or "=" in key or has_control_chars(key):
        raise InvalidOption(f"invalid label key {key!r}: must be non-empty, without '=' or control characters")
    return key


def parse_bool(text: str) -> bool:
    value = text.strip().lower() if isinstance(text, str) else None
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise InvalidOption(f"invalid boolean {text!r}: expected 1/0, true/false, yes/no, on/off")


# The distribution reference grammar (github.com/distribution/reference), as Docker,
# Podman and Apple's container parse image names.
_ALNUM = r"[a-z0-9]+"
_PATH_COMPONENT = rf"{_ALNUM}(?:(?:[_.]|__|-+){_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_NAME = re.compile(rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*", re.ASCII)
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}", re.ASCII)
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_NAME_MAX = 255


def _split_reference(ref: str) -> tuple[str, str | None, str | None]:
    """``name[:tag][@digest]`` -> (name, tag, digest)."""
    name, at, digest = ref.partition("@")
    base, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:  # a ':' before the last '/' is a registry's port, not a tag
        return name, None, digest if at else None
    return base, tag, digest if at else None


def parse_image(ref: str) -> str:
    """An image reference, checked before any engine sees it: ``redis:7``, ``ghcr.io/a/b@sha256:...``.

    The distribution grammar: an optional registry (``localhost:5000``,
    ``127.0.0.1:5000``), lower-case path components, a tag of at most 128
    characters, a digest. A reference starting with '-' would be read as a flag.
    """
    if not isinstance(ref, str) or not ref:
        raise _bad_image(ref, "is not a non-empty string")
    if ref.startswith("-"):
        raise _bad_image(ref, "must not start with '-' (an engine would read it as a flag)")
    if any(c.isspace() for c in ref) or has_control_chars(ref):
        raise _bad_image(ref, "must not contain whitespace or control characters")
    name, tag, digest = _split_reference(ref)
    if tag is not None and not _TAG.fullmatch(tag):
        raise _bad_image(ref, f"has an invalid tag {tag!r}: 1-128 letters, digits, '_', '.', '-', not first '.' or '-'")
    if digest is not None:
        algorithm, _, hex_digits = digest.partition(":")
        length = _DIGEST_HEX_LENGTHS.get(algorithm)
        # go-digest: a known algorithm's digest has its exact length, in lower case.
        exact = length is None or re.fullmatch(f"[0-9a-f]{{{length}}}", hex_digits)
        if not _DIGEST.fullmatch(digest) or not exact:
            raise _bad_image(ref, f"has an invalid digest {digest!r}: expected ALGORITHM:HEX, e.g. sha256:<64 hex>")
    if len(name) > _NAME_MAX:
        raise _bad_image(ref, f"has a name longer than {_NAME_MAX} characters")
    if not _NAME.fullmatch(name):
        if _NAME.fullmatch(name.lower()):
            raise _bad_image(ref, "has upper case letters: repository names must be lower case")
        raise _bad_image(ref, "does not parse as [REGISTRY/]PATH[:TAG][@DIGEST]")
    return ref


def _bad_image(ref: object, why: str) -> InvalidOption:
    return InvalidOption(f"image must be a reference like 'redis:7' or 'localhost:5000/team/app:1'; {shown(ref)} {why}")


def parse_image_prefix(text: str) -> str:
    """TESTCTR_IMAGE_PREFIX: a registry and optional path put before images named without one."""
    prefix = text.rstrip("/") if isinstance(text, str) else text
    if not isinstance(prefix, str) or not prefix or not _NAME.fullmatch(prefix + "/x"):
        raise InvalidOption(
            f"invalid image prefix {text!r}: expected a registry and optional path, e.g. 'mirror.example.com/hub'"
        )
    return text


def parse_image_map(text: str) -> dict[str, str]:
    """``"redis:7-alpine=local/redis:7,postgres:16=mirror/pg:16"`` -> dict; both sides are image references."""
    mapping: dict[str, str] = {}
    if not isinstance(text, str):
        raise InvalidOption(f"invalid image map {text!r}: expected IMAGE=REPLACEMENT entries separated by commas")
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
        try:
            mapping[parse_image(source)] = parse_image(target)
        except InvalidOption as e:
            raise InvalidOption(f"invalid TESTCTR_IMAGE_MAP entry {item!r}: {e}") from None
    return mapping


def has_registry_host(image: str) -> bool:
    """Whether ``image`` names its registry (``ghcr.io/x``, ``localhost:5000/x``)."""
    first, sep, _ = image.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def _map_keys_for(image: str) -> list[str]:
    """The map keys that name ``image``: a reference without a tag means ``:latest``, and back."""
    _name, tag, digest = _split_reference(image)
    if tag is None and digest is None:
        return [image, image + ":latest"]
    if tag == "latest" and digest is None:
        return [image, image.removesuffix(":latest")]
    return [image]


def image_map_key(image: str, image_map: dict[str, str]) -> str | None:
    """The key of ``image_map`` that names ``image``, if any."""
    return next((key for key in _map_keys_for(image) if key in image_map), None)


def substitute_image(image: str, image_map: dict[str, str], prefix: str) -> str:
    """Apply TESTCTR_IMAGE_MAP, then TESTCTR_IMAGE_PREFIX to images without a registry."""
    key = image_map_key(image, image_map)
    if key is not None:
        return image_map[key]
    if prefix and not has_registry_host(image):
        return f"{prefix.rstrip('/')}/{image}"
    return image


_NAME_BAD = re.compile(r"[^a-zA-Z0-9_.-]+")
_OUR_PREFIX = re.compile(r"^testctr(?:[_.-]+|$)")


def container_name(test_id: str, suffix: str, max_length: int = 63) -> str:
    """A readable, valid container name from a test id: ``testctr-test_x-<suffix>``.

    Valid for Docker, Podman and Apple (``[a-zA-Z0-9][a-zA-Z0-9_.-]+``, <= 63).
    """
    # The test's own name (after the last "::") reads best in `docker ps`.
    slug = _NAME_BAD.sub("_", test_id.rsplit("/", 1)[-1].rsplit("::", 1)[-1]).strip("_.-")
    # A script called testctr (the `testctr run` command) would read "testctr-testctr-...".
    slug = _OUR_PREFIX.sub("", slug)
    room = max_length - len("testctr--") - len(suffix)
    slug = slug[: max(room, 0)].rstrip("_.-")
    return f"testctr-{slug}-{suffix}" if slug else f"testctr-{suffix}"


_NETWORK_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_DNS_LABEL = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62}$")


def network_name(name: object) -> str:
    """``name`` if every engine accepts it as a network name (``[a-zA-Z0-9][a-zA-Z0-9_.-]*``)."""
    if not isinstance(name, str) or not _NETWORK_NAME.match(name) or len(name) > 253:
        raise InvalidOption(
            f"invalid network name {name!r}: letters, digits, '_', '.', '-', starting with a letter or digit"
        )
    return name


def network_alias(alias: object) -> str:
    """``alias`` if it is a DNS name peers can resolve: dot-separated labels of
    letters, digits, '_' and '-', each 1-63 long and not starting with '-'."""
    if not isinstance(alias, str) or not alias or len(alias) > 253:
        raise InvalidOption(f"invalid network alias {alias!r}: expected a DNS name such as 'db' or 'cache.local'")
    for label in alias.split("."):
        if not _DNS_LABEL.match(label):
            raise InvalidOption(
                f"invalid network alias {alias!r}: each dot-separated part must be 1-63 letters, digits, "
                "'_' or '-', not starting with '-' (no spaces)"
            )
    return alias


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
    if not isinstance(text, str):
        raise InvalidOption(f"a timestamp must be a string, got {shown(text)}")
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


def oom_kills(memory_events: str) -> int | None:
    """The ``oom_kill`` count in cgroup v2 ``memory.events`` / v1 ``memory.oom_control`` text; None without one."""
    for line in memory_events.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return None
