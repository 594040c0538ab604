"""The "apple" backend: drives Apple's ``container`` CLI (github.com/apple/container).

Each container is a lightweight Linux VM on macOS (Virtualization.framework).
What differs from Docker, and how this backend handles it:

* Publishing needs an explicit host port: the backend allocates a free
  loopback port for every ``with_port`` without one, publishes
  ``127.0.0.1:HOST:CTR``, and re-creates the container with fresh ports when
  another process took a port between allocation and bind.
* Every VM has its own IP (``192.168.64.x/24`` in inspect). With
  ``AppleConfig(direct_ip=True)`` nothing is published: ``Container.host()``
  is the VM's IP and ``Container.port(p)`` is ``p`` itself.
* Two JSON shapes: 1.x ``[{id, configuration, status: {state, networks,
  startedDate}}]`` (sorted keys, ISO dates) and 0.x ``[{status, configuration,
  networks, startedDate}]`` (``address`` before 0.8.0, dates as seconds since
  2001-01-01). The version comes from ``container --version``.
* No ``cp`` before 1.0.0: files go through ``exec`` with the image's
  ``/bin/sh``. Files for a container that has not started yet (``with_file``)
  need the VM running, so such a container starts behind a small shell gate
  that waits until the files are in place, then ``exec``\\ s the real
  entrypoint. Images without ``/bin/sh`` cannot receive files before start
  (a clear error says so).
* Inspect has no exit code: :attr:`ContainerState.exit_code` is None.
* ``logs -f`` is no line source (it splits lines at read boundaries and never
  ends): :class:`LogFollower` reads the log whole when ``logs -f`` signals
  that it grew, and ends when the container stops.
* No commit, no HEALTHCHECKs, no privileged mode, whole CPUs only, and a
  VM's CPUs/memory cannot change while it runs: those raise
  :class:`testctr.UnsupportedOption` naming the option.
* Errors are told apart by their text on stderr; the system service being
  down is :class:`testctr.EngineUnavailable` ("run `container system start`").

Backend-specific extra: ``container.backend.boot_logs(container.id)`` returns
the VM's boot log (kernel and init, ``container logs --boot``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform as _platform
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from testctr.backend.types import (
    ContainerConfig,
    ContainerInfo,
    ContainerState,
    ExecResult,
    PortBinding,
)
from testctr.backends._process import (
    CommandTimeout,
    Completed,
    FollowedLines,
    follow_logs_until,
    run_command,
    run_exec,
)
from testctr.errors import (
    ContainerNotFound,
    ContainerStartError,
    EngineUnavailable,
    ImageNotFound,
    ImagePullError,
    InvalidOption,
    TestctrError,
    UnsupportedOption,
)
from testctr.parsing import parse_memory, parse_timestamp

BACKEND = "apple"
BIN_ENV = "TESTCTR_APPLE_CONTAINER_BIN"

TIMEOUT = 60.0  # any single CLI call (a VM boot included)
PULL_TIMEOUT = 900.0
EXEC_TIMEOUT = 3600.0
PORT_ATTEMPTS = 5  # creations with fresh ports after a bind conflict

Version = tuple[int, int, int]

#: First release with each feature (apple/container tags).
SINCE: dict[str, Version] = {
    "network": (0, 2, 0),
    "system status": (0, 2, 0),
    "publish": (0, 3, 0),
    "virtualization": (0, 3, 0),
    "platform": (0, 4, 0),
    "rosetta": (0, 7, 0),
    "init": (0, 10, 0),
    "cp": (1, 0, 0),
    "kernel_args": (1, 2, 0),
    "min_memory": (0, 10, 0),
}
MIN_MEMORY = 200 * 1024 * 1024  # the server's minimum from 0.10.0

#: Label carrying the ports a direct-IP container serves (nothing is published for them).
DIRECT_PORTS_LABEL = "testctr.apple.direct-ports"
#: Marker file the gate waits for before exec'ing the real entrypoint.
RELEASE_MARKER = "/.testctr-release"
GATE_SCRIPT = f'while [ ! -e {RELEASE_MARKER} ]; do sleep 0.05; done; exec "$@"'
_COPY_SCRIPT = 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1" && chmod "$2" "$1"'

SWIFT_EPOCH = _dt.datetime(2001, 1, 1, tzinfo=_dt.timezone.utc)
MIB = 1024 * 1024

_SERVICE_DOWN = re.compile(
    r"XPC connection error|failed to get a response from apiserver|apiserver is not running|"
    r"container system start|Plugins are unavailable",
    re.I,
)
_NOT_FOUND = re.compile(
    r"container (with ID )?\S+ not found|container not found|get failed: container|"
    r"failed to delete one or more containers",
    re.I,
)
_NOT_RUNNING = re.compile(r"is not running|container is stopped|no (sandbox|runtime) client exists", re.I)
_PORT_CONFLICT = re.compile(
    r"address already in use|port is already allocated|EADDRINUSE|bind.*failed|rawValue: 48\)", re.I
)
_MACOS_26 = re.compile(r"requires macOS 26", re.I)
_IMAGE_UNREACHABLE = re.compile(r"connection refused|timed out|network is unreachable|could not resolve|dns", re.I)
_IMAGE_MISSING = re.compile(r"not found|manifest unknown|unauthorized|denied|does not exist", re.I)
_MIN_MEMORY = re.compile(r"minimum memory amount", re.I)
_START_FAILED = re.compile(r"failed to start process", re.I)
_VERSION_RE = re.compile(r"version\s+v?(\d+)\.(\d+)\.(\d+)")


# --- the VM config ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AppleConfig:
    """VM settings for the apple backend: ``testctr.with_backend_config(AppleConfig(...))``.

    ``cpus`` and ``memory`` are the VM's size; ``with_cpus`` / ``with_memory_limit``
    set the same thing (giving both with different values is an error).
    ``kernel`` / ``kernel_args`` boot another kernel (``kernel_args`` needs
    container 1.2.0). ``rosetta`` runs amd64 binaries through Rosetta 2;
    ``arch`` picks the image variant ("arm64" / "amd64"). ``virtualization``
    exposes nested virtualization to the guest; ``init`` runs a small init as
    PID 1 (``init_image`` chooses which). ``dns*`` configure the resolver,
    ``no_dns`` leaves it unconfigured. ``direct_ip`` reaches the container on its
    own IP and ports instead of publishing ports on 127.0.0.1.
    """

    cpus: int | None = None
    memory: str | int | None = None
    kernel: str | None = None
    kernel_args: Sequence[str] = ()
    rosetta: bool = False
    arch: str | None = None
    virtualization: bool = False
    init: bool = False
    init_image: str | None = None
    dns: Sequence[str] = ()
    dns_search: Sequence[str] = ()
    dns_domain: str | None = None
    dns_options: Sequence[str] = ()
    no_dns: bool = False
    direct_ip: bool = False
    memory_bytes: int | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.cpus is not None and (isinstance(self.cpus, bool) or not isinstance(self.cpus, int) or self.cpus < 1):
            raise InvalidOption(f"AppleConfig.cpus must be a positive int (a VM gets whole CPUs), got {self.cpus!r}")
        if self.memory is not None:
            object.__setattr__(self, "memory_bytes", parse_memory(self.memory))
        for name in ("kernel_args", "dns", "dns_search", "dns_options"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise InvalidOption(f"AppleConfig.{name} must be a list of strings, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        if self.arch is not None and self.arch not in ("arm64", "amd64", "x86_64", "aarch64"):
            raise InvalidOption(f"AppleConfig.arch must be 'arm64' or 'amd64', got {self.arch!r}")
        if self.kernel is not None and not isinstance(self.kernel, str):
            raise InvalidOption(f"AppleConfig.kernel must be a path, got {self.kernel!r}")
        if self.no_dns and (self.dns or self.dns_search or self.dns_options or self.dns_domain):
            raise InvalidOption("AppleConfig.no_dns cannot be combined with dns, dns_search, dns_domain or dns_options")


# --- platform detection -------------------------------------------------------------------------


def macos_major() -> int | None:
    """The macOS major version (15, 26, ...), None elsewhere."""
    if sys.platform != "darwin":
        return None
    release = _platform.mac_ver()[0]
    try:
        return int(release.split(".")[0])
    except ValueError:
        return None


def platform_supported() -> tuple[bool, str]:
    """Whether Apple's containerization can run here, and if not, why."""
    major = macos_major()
    if major is None:
        return False, f"needs macOS 15 or newer on Apple silicon (this is {sys.platform})"
    if _platform.machine() != "arm64":
        return False, f"needs Apple silicon (this Mac is {_platform.machine()})"
    if major < 15:
        return False, f"needs macOS 15 or newer (this is macOS {major})"
    return True, f"macOS {major} on Apple silicon"


def find_binary() -> str | None:
    """TESTCTR_APPLE_CONTAINER_BIN, else ``container`` on PATH."""
    explicit = os.environ.get(BIN_ENV)
    if explicit:
        return explicit
    return shutil.which("container")


def is_available() -> bool:
    """The registration predicate: an explicit binary, or a supported Mac with the tool."""
    if os.environ.get(BIN_ENV):
        return True
    return platform_supported()[0] and shutil.which("container") is not None


# --- pure parsers and builders (unit-tested without the tool) -------------------------------------


def parse_version(text: str) -> Version:
    """``container CLI version 1.2.2 (build: release, commit: 0190097)`` -> (1, 2, 2)."""
    match = _VERSION_RE.search(text)
    if match is None:
        raise EngineUnavailable(f"cannot read Apple's container version from {text.strip()[:200]!r}")
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def version_text(version: Version) -> str:
    return ".".join(map(str, version))


def parse_date(value: object) -> _dt.datetime | None:
    """ISO 8601 (1.x) or seconds since 2001-01-01 (Swift's reference date, 0.x)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return SWIFT_EPOCH + _dt.timedelta(seconds=float(value))
    if isinstance(value, str):
        return parse_timestamp(value)
    return None


def strip_prefix(cidr: str) -> str:
    """``192.168.64.8/24`` -> ``192.168.64.8``."""
    return cidr.split("/", 1)[0].strip()


def _attachments(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    status = item.get("status")
    # 1.x: in status; 0.x: beside it
    nets = status.get("networks") if isinstance(status, Mapping) else item.get("networks")
    return [n for n in nets or [] if isinstance(n, Mapping)]


def container_ip(item: Mapping[str, Any]) -> str:
    """The IPv4 address on the primary network (``ipv4Address``, or ``address`` before 0.8)."""
    for net in _attachments(item):
        cidr = net.get("ipv4Address") or net.get("address") or ""
        if cidr:
            return strip_prefix(str(cidr))
    return ""


def direct_ports(labels: Mapping[str, str]) -> list[str]:
    raw = labels.get(DIRECT_PORTS_LABEL, "")
    return [p for p in raw.split(",") if p]


def parse_container(item: Mapping[str, Any]) -> ContainerInfo:
    """One element of ``container inspect`` / ``ls --format json``, either shape."""
    cfg = item.get("configuration") or {}
    status = item.get("status")
    if isinstance(status, Mapping):  # 1.x ManagedContainer
        state = str(status.get("state") or "")
        started = status.get("startedDate")
    else:  # 0.x: the state string is at the top level
        state = str(status or "")
        started = item.get("startedDate")
    labels = {str(k): str(v) for k, v in (cfg.get("labels") or {}).items()}
    ip = container_ip(item)
    ports: dict[str, list[PortBinding]] = {}
    served = direct_ports(labels)
    if served:
        for key in served:
            ports[key] = [PortBinding(ip, int(key.split("/")[0]))] if ip else []
    for p in cfg.get("publishedPorts") or []:
        count = int(p.get("count") or 1)
        for offset in range(count):
            key = f"{int(p['containerPort']) + offset}/{p.get('proto') or 'tcp'}"
            ports.setdefault(key, []).append(PortBinding(str(p.get("hostAddress") or ""), int(p["hostPort"]) + offset))
    image = cfg.get("image") or {}
    created = parse_date(cfg.get("creationDate")) or parse_date(started)
    return ContainerInfo(
        id=str(item.get("id") or cfg.get("id") or ""),
        name=str(cfg.get("id") or item.get("id") or ""),
        image=str(image.get("reference") or ""),
        created=created,
        # Apple's inspect reports no exit code: None, never an invented 0.
        state=ContainerState(running=state == "running", status=state, exit_code=None, health=None),
        ports=ports,
        internal_ip=ip,
        labels=labels,
    )


def image_process(items: Sequence[Mapping[str, Any]], arch: str | None = None) -> tuple[list[str], list[str]]:
    """(Entrypoint, Cmd) of an image from ``container image inspect`` (both shapes)."""
    for item in items:
        variants = [v for v in item.get("variants") or [] if isinstance(v, Mapping)]
        if arch:
            variants.sort(key=lambda v: (v.get("platform") or {}).get("architecture") != arch)
        for variant in variants:
            config = (variant.get("config") or {}).get("config") or {}
            return list(config.get("Entrypoint") or []), list(config.get("Cmd") or [])
    return [], []


def process_argv(config: ContainerConfig, entrypoint: Sequence[str], cmd: Sequence[str]) -> list[str]:
    """The argv the container runs, resolved like Docker and Apple's parser do."""
    if config.entrypoint is not None:
        return list(config.entrypoint) + list(config.command or []) + list(config.args)
    return list(entrypoint) + list(config.command if config.command is not None else cmd) + list(config.args)


def allocate_port(protocol: str = "tcp") -> int:
    """A port that is free on 127.0.0.1 now, not handed out recently by this process.

    Another process may still take it before the VM binds it: the caller
    handles that by re-creating with a new port. The recently-handed-out set
    stops two threads of this process from getting the same port.
    """
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with _handed_out_lock:
        now = time.monotonic()
        for port, when in list(_handed_out.items()):
            if now - when > 120:
                del _handed_out[port]
        for _ in range(50):
            with socket.socket(socket.AF_INET, kind) as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _handed_out:
                _handed_out[port] = now
                return port
    raise TestctrError("could not find a free port on 127.0.0.1")


_handed_out: dict[int, float] = {}
_handed_out_lock = threading.Lock()


def _need(version: Version, feature: str, option: str, what: str = "") -> None:
    since = SINCE[feature]
    if version < since:
        raise UnsupportedOption(
            option,
            BACKEND,
            f"{what or feature} needs Apple's container {version_text(since)} or newer "
            f"(this is {version_text(version)}); update it (`brew upgrade container` or the installer)",
        )


def check_config(config: ContainerConfig, apple: AppleConfig, version: Version) -> None:
    """Raise UnsupportedOption for every field Apple's container cannot express."""
    if config.privileged:
        raise UnsupportedOption(
            "with_privileged",
            BACKEND,
            "Apple's container VMs have no privileged mode (the VM is the isolation boundary)",
        )
    if config.cpus is not None and config.cpus != int(config.cpus):
        raise UnsupportedOption("with_cpus", BACKEND, f"a VM gets whole CPUs; use an integer, not {config.cpus:g}")
    if config.cpus is not None and apple.cpus is not None and int(config.cpus) != apple.cpus:
        raise InvalidOption(f"with_cpus({config.cpus:g}) contradicts AppleConfig(cpus={apple.cpus})")
    if config.memory_bytes is not None and apple.memory_bytes is not None and config.memory_bytes != apple.memory_bytes:
        raise InvalidOption("with_memory_limit contradicts AppleConfig(memory=...)")
    for key, value in config.labels.items():
        if "=" in value:
            # Apple's parser splits a label on "=" at most twice and rejects a third part.
            raise UnsupportedOption(
                "with_label", BACKEND, f"label {key}: Apple's container rejects label values containing '='"
            )
    memory = config.memory_bytes if config.memory_bytes is not None else apple.memory_bytes
    if memory is not None and version >= SINCE["min_memory"] and memory < MIN_MEMORY:
        raise UnsupportedOption(
            "with_memory_limit", BACKEND, f"a VM needs at least 200 MiB (asked for {memory // MIB} MiB)"
        )
    for mount in config.mounts:
        if not os.path.isdir(mount.source):
            raise UnsupportedOption(
                "with_bind_mount",
                BACKEND,
                f"{mount.source} is not a directory: Apple's container shares directories only (virtiofs); "
                "use with_file for a single file",
            )
    if config.networks:
        _need(version, "network", "with_network")
    if config.ports and not apple.direct_ip:
        _need(version, "publish", "with_port", "publishing ports")
        for port in config.ports:
            if port.protocol not in ("tcp", "udp"):
                raise UnsupportedOption("with_port", BACKEND, f"protocol {port.protocol} (only tcp and udp)")
    if apple.direct_ip:
        for port in config.ports:
            if port.host_port is not None or port.host_ip is not None:
                raise InvalidOption(
                    f"with_port({port.host_ip or ''}:{port.host_port}:{port.key}): AppleConfig(direct_ip=True) "
                    "publishes nothing, so a host port or address cannot be chosen"
                )
    if config.platform is not None:
        parts = config.platform.split("/")
        if version < SINCE["platform"] and len(parts) > 2:
            _need(version, "platform", "with_platform", "a platform variant")
    if apple.rosetta:
        _need(version, "rosetta", "AppleConfig.rosetta")
    if apple.virtualization:
        _need(version, "virtualization", "AppleConfig.virtualization")
    if apple.init or apple.init_image:
        _need(version, "init", "AppleConfig.init")
    if apple.kernel_args:
        _need(version, "kernel_args", "AppleConfig.kernel_args")
    if apple.kernel is not None and not os.path.isfile(apple.kernel):
        raise InvalidOption(f"AppleConfig.kernel: no kernel file at {apple.kernel!r}")


def _arch(name: str) -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(name, name)


def create_args(
    image: str,
    config: ContainerConfig,
    apple: AppleConfig,
    version: Version,
    argv: Sequence[str] | None,
    host_ports: Mapping[str, int],
    gate: bool = False,
) -> list[str]:
    """The ``container create`` command line.

    ``argv`` is the resolved process (needed when ``args`` extend the image's
    command or a gate wraps it; None keeps the image's own). ``host_ports``
    maps port keys to the host port to publish.
    """
    out = ["create", "--name", config.name]
    for key, value in config.labels.items():
        out.append(f"--label={key}={value}")
    if apple.direct_ip and config.ports:
        out.append(f"--label={DIRECT_PORTS_LABEL}={','.join(p.key for p in config.ports)}")
    for key, value in config.env.items():
        out.append(f"--env={key}={value}")
    if not apple.direct_ip:
        for port in config.ports:
            host_ip = port.host_ip or "127.0.0.1"
            if ":" in host_ip:
                host_ip = f"[{host_ip}]"
            out += ["--publish", f"{host_ip}:{host_ports[port.key]}:{port.container_port}/{port.protocol}"]
    for mount in config.mounts:
        spec = f"type=bind,source={mount.source},target={mount.target}"
        out += ["--mount", spec + (",readonly" if mount.read_only else "")]
    for path in config.tmpfs:
        out += ["--tmpfs", path]
    for network in config.networks:
        out += ["--network", network]
    if config.user is not None:
        out.append(f"--user={config.user}")
    if config.workdir is not None:
        out += ["--workdir", config.workdir]
    cpus = int(config.cpus) if config.cpus is not None else apple.cpus
    if cpus is not None:
        out += ["--cpus", str(cpus)]
    memory = config.memory_bytes if config.memory_bytes is not None else apple.memory_bytes
    if memory is not None:
        # The VM gets whole MiB (Apple's parser truncates anyway).
        out += ["--memory", f"{max(memory // MIB, 1)}M"]
    platform = config.platform
    arch = _arch(apple.arch) if apple.arch else None
    if platform is not None:
        if version >= SINCE["platform"]:
            out += ["--platform", platform]
        else:
            os_name, arch_name = platform.split("/")[:2]
            out += ["--os", os_name]
            arch = _arch(arch_name)
    if arch is not None:
        out += ["--arch", arch]
    if apple.kernel:
        out += ["--kernel", apple.kernel]
    for arg in apple.kernel_args:
        out.append(f"--kernel-arg={arg}")
    if apple.rosetta:
        out.append("--rosetta")
    if apple.virtualization:
        out.append("--virtualization")
    if apple.init:
        out.append("--init")
    if apple.init_image:
        out += ["--init-image", apple.init_image]
    if apple.no_dns:
        out.append("--no-dns")
    for server in apple.dns:
        out += ["--dns", server]
    for domain in apple.dns_search:
        out += ["--dns-search", domain]
    if apple.dns_domain:
        out += ["--dns-domain", apple.dns_domain]
    for option in apple.dns_options:
        out.append(f"--dns-option={option}")
    command: list[str] = []
    if gate:
        assert argv is not None
        out += ["--entrypoint", "/bin/sh", image, "--", "-c", GATE_SCRIPT, "testctr-gate", *argv]
        return out
    if argv is not None:
        if argv:
            out += ["--entrypoint", argv[0]]
            command = list(argv[1:])
    elif config.entrypoint is not None:
        out += ["--entrypoint", config.entrypoint[0]]
        command = config.entrypoint[1:] + (config.command or []) + config.args
    elif config.command is not None:
        command = config.command + config.args
    out.append(image)
    if command and command[0].startswith("-"):
        out.append("--")  # the CLI would read a leading "-x" as its own option
    return out + command


def log_lines(text: str) -> list[str]:
    """The lines of ``container logs`` output (which trims the log's trailing newlines)."""
    body = text[:-1] if text.endswith("\n") else text
    return [line.rstrip("\r") for line in body.split("\n")] if body else []


@dataclass
class LogCursor:
    """How much of a log, read whole each time, a follower has given out."""

    count: int = 0
    last: str = ""

    def advance(self, lines: Sequence[str]) -> list[str]:
        """The lines of this read of the log not given out yet; moves the cursor past them."""
        if len(lines) < self.count:
            # Shorter than what was given out: the log was replaced; give it from its start.
            fresh = list(lines)
        elif self.count and lines[self.count - 1] != self.last and lines[self.count - 1].startswith(self.last):
            # The last line given out was read half-written: give it again, whole.
            fresh = list(lines[self.count - 1 :])
        else:
            fresh = list(lines[self.count :])
        self.count = len(lines)
        self.last = lines[-1] if lines else ""
        return fresh


def error_text(result: Completed) -> str:
    return (result.err or result.out.strip()).strip()


# --- the backend -----------------------------------------------------------------------------


@dataclass
class _Created:
    """What this process created a container with, to re-create it after a port conflict."""

    image: str
    config: ContainerConfig
    apple: AppleConfig
    argv: list[str] | None
    auto_ports: bool
    gate: bool
    pending_files: list[tuple[str, bytes, int | None]] = field(default_factory=list)


class AppleBackend:
    """Drives one ``container`` binary. Thread-safe: all state is per container id."""

    def __init__(self, binary: str | None = None) -> None:
        self._binary = binary
        self._version: Version | None = None
        self._created: dict[str, _Created] = {}
        self._hosts: dict[str, str] = {}
        self._lock = threading.Lock()
        self._image_procs: dict[str, tuple[list[str], list[str]]] = {}

    @classmethod
    def from_environment(cls) -> AppleBackend:
        return cls(find_binary())

    @property
    def binary(self) -> str:
        if self._binary is None:
            self._binary = find_binary()
        if self._binary is None:
            ok, why = platform_supported()
            raise EngineUnavailable(
                "Apple's `container` CLI is not installed"
                + ("" if ok else f" (and Apple's containerization {why})")
                + ": install it from https://github.com/apple/container/releases, "
                f"or set {BIN_ENV} to its path"
            )
        return self._binary

    @property
    def runtime(self) -> str:
        return "container"

    # --- running the CLI --------------------------------------------------------------------

    def _run(self, *args: str, timeout: float = TIMEOUT, input: bytes | None = None) -> Completed:
        try:
            return run_command([self.binary, *args], timeout, input)
        except CommandTimeout as e:
            raise EngineUnavailable(
                f"Apple's container did not answer within {e.timeout:.0f}s (container {args[0]}); "
                "check `container system status`"
            ) from None
        except FileNotFoundError:
            raise EngineUnavailable(
                f"{self.binary} does not exist; install Apple's container or fix {BIN_ENV}"
            ) from None
        except PermissionError:
            raise EngineUnavailable(f"{self.binary} is not executable") from None

    def _unavailable(self, err: str) -> EngineUnavailable:
        return EngineUnavailable(
            f"Apple's container system service is not running: {err.strip()}\n"
            "fix: run `container system start` (once after each login)"
        )

    def _fail(self, result: Completed, what: str, container_id: str = "") -> TestctrError:
        """The testctr error for a failed call."""
        err = error_text(result)
        if _SERVICE_DOWN.search(err):
            return self._unavailable(err)
        if container_id and _NOT_FOUND.search(err):
            return ContainerNotFound(f"no container {container_id!r} (container: {err})")
        return TestctrError(f"container {what} failed: {err}")

    def _check(self, result: Completed, what: str, container_id: str = "") -> Completed:
        if result.returncode != 0:
            raise self._fail(result, what, container_id)
        return result

    @property
    def cli_version(self) -> Version:
        """The CLI's version, read once (``container --version``, else ``system version``)."""
        if self._version is None:
            result = self._run("--version", timeout=15)
            try:
                self._version = parse_version(result.out + " " + result.err)
            except EngineUnavailable:
                fallback = self._run("system", "version", timeout=15)
                self._version = parse_version(fallback.out)
        return self._version

    # --- Backend ------------------------------------------------------------------------------

    def version(self) -> str:
        """The CLI version; raises EngineUnavailable when the system service is down."""
        version = self.cli_version
        self.ping()
        return version_text(version)

    def ping(self) -> None:
        """Raise EngineUnavailable unless the system service answers."""
        if self.cli_version >= SINCE["system status"]:
            result = self._run("system", "status", timeout=15)
        else:
            result = self._run("list", "--quiet", timeout=15)
        if result.returncode != 0:
            raise self._unavailable(error_text(result) or "`container system status` failed")

    def host(self) -> str:
        return "127.0.0.1"

    def container_host(self, container_id: str) -> str:
        """Where this container's ports are reached: its own IP in direct-IP mode."""
        with self._lock:
            known = self._hosts.get(container_id)
        if known is not None:
            return known
        info = self.inspect_container(container_id)
        if not direct_ports(info.labels):
            host = self.host()
        elif info.internal_ip:
            host = info.internal_ip
        else:
            raise TestctrError(f"container {container_id} has no IP yet; is it running?")
        if info.state.running:
            with self._lock:
                self._hosts[container_id] = host
        return host

    def _image_process(self, image: str, arch: str | None) -> tuple[list[str], list[str]]:
        if image not in self._image_procs:
            result = self._run("image", "inspect", image)
            if result.returncode != 0 and not _SERVICE_DOWN.search(error_text(result)):
                self.ensure_image(image)
                result = self._run("image", "inspect", image)
            self._check(result, "image inspect")
            self._image_procs[image] = image_process(json.loads(result.out or "[]"), arch)
        return self._image_procs[image]

    def create_container(self, image: str, config: ContainerConfig) -> str:
        apple = config.backend_config if config.backend_config is not None else AppleConfig()
        if not isinstance(apple, AppleConfig):
            raise UnsupportedOption(
                "with_backend_config",
                BACKEND,
                f"expected testctr.backends.apple.AppleConfig, got {type(apple).__name__}",
            )
        version = self.cli_version
        check_config(config, apple, version)
        gate = bool(config.files)
        argv: list[str] | None = None
        if gate or (config.args and config.command is None and config.entrypoint is None):
            entrypoint, cmd = self._image_process(image, _arch(apple.arch) if apple.arch else None)
            argv = process_argv(config, entrypoint, cmd)
            if not argv:
                raise ContainerStartError(f"image {image} has no command; give one with with_command")
        auto_ports = any(p.host_port is None for p in config.ports) and not apple.direct_ip
        created = _Created(image, config, apple, argv, auto_ports, gate)
        container_id = self._create(created)
        with self._lock:
            self._created[container_id] = created
        return container_id

    def _create(self, created: _Created) -> str:
        config = created.config
        for attempt in range(PORT_ATTEMPTS):
            host_ports = {
                p.key: p.host_port if p.host_port is not None else allocate_port(p.protocol)
                for p in config.ports
                if not created.apple.direct_ip
            }
            argv = create_args(
                created.image, config, created.apple, self.cli_version, created.argv, host_ports, created.gate
            )
            result = self._run(*argv)
            if result.returncode == 0:
                return result.out.strip().splitlines()[-1].strip()
            err = error_text(result)
            if _PORT_CONFLICT.search(err) and created.auto_ports and attempt + 1 < PORT_ATTEMPTS:
                continue
            raise self._create_error(created.image, err)
        raise AssertionError("unreachable")

    def _create_error(self, image: str, err: str) -> TestctrError:
        if _SERVICE_DOWN.search(err):
            return self._unavailable(err)
        if _MACOS_26.search(err):
            major = macos_major()
            return UnsupportedOption(
                "with_network",
                BACKEND,
                "Apple's container attaches to networks other than the default one only on macOS 26 or newer"
                + (f" (this is macOS {major})" if major else "")
                + f": {err}",
            )
        if _MIN_MEMORY.search(err):
            return UnsupportedOption("with_memory_limit", BACKEND, f"a VM needs at least 200 MiB: {err}")
        if "image" in err.lower() or "pull" in err.lower() or "POSIXErrorCode" in err:
            return self._image_error(image, err)
        if _PORT_CONFLICT.search(err):
            return ContainerStartError(f"a host port of {image} is taken by another process: {err}")
        return ContainerStartError(f"container create of {image} failed: {err}")

    def _image_error(self, image: str, err: str) -> TestctrError:
        if _IMAGE_UNREACHABLE.search(err):
            return ImagePullError(
                f"image {image} is not present locally and pulling it failed: {err}\n"
                "fix: check the registry is reachable, or load the image locally (`container image load`); "
                "TESTCTR_IMAGE_MAP / TESTCTR_IMAGE_PREFIX map image names to a mirror"
            )
        if _IMAGE_MISSING.search(err):
            return ImageNotFound(f"image {image} not found locally or in its registry: {err}")
        return ImagePullError(f"image {image} could not be pulled: {err}")

    def start_container(self, container_id: str) -> None:
        with self._lock:
            created = self._created.get(container_id)
            self._hosts.pop(container_id, None)
        for attempt in range(PORT_ATTEMPTS):
            result = self._run("start", container_id)
            if result.returncode == 0:
                break
            err = error_text(result)
            if _SERVICE_DOWN.search(err):
                raise self._unavailable(err)
            if _NOT_FOUND.search(err) and "bootstrap" not in err:
                raise ContainerNotFound(f"no container {container_id!r}: {err}")
            if (
                _PORT_CONFLICT.search(err)
                and created is not None
                and created.auto_ports
                and attempt + 1 < PORT_ATTEMPTS
            ):
                # Another process bound a port we allocated: re-create under the
                # same name with fresh ports (published ports cannot be edited).
                self._check(self._run("delete", "--force", container_id), "delete", container_id)
                self._create(created)
                continue
            if created is not None and created.gate and re.search(r"/bin/sh|no such file", err, re.I):
                raise UnsupportedOption(
                    "with_file",
                    BACKEND,
                    f"image {created.image} has no /bin/sh: Apple's container can only place files into a "
                    f"running VM, which testctr does through the image's shell before the entrypoint runs ({err})",
                )
            raise ContainerStartError(f"container start failed: {err}", logs=self._logs_or_empty(container_id))
        if created is not None and created.gate:
            self._release_gate(container_id, created)

    def _release_gate(self, container_id: str, created: _Created) -> None:
        for path, data, mode in created.pending_files:
            self._copy_into_running(container_id, path, data, mode)
        created.pending_files.clear()
        release = self._run("exec", "--uid", "0", "--gid", "0", container_id, "/bin/sh", "-c", f": > {RELEASE_MARKER}")
        self._check(release, "exec", container_id)
        created.gate = False  # a later restart runs the entrypoint at once (the marker stays)

    def _logs_or_empty(self, container_id: str) -> str:
        try:
            return self.get_container_logs(container_id)
        except TestctrError:
            return ""

    def stop_container(self, container_id: str, timeout: float = 10.0) -> None:
        seconds = max(int(timeout), 0)
        with self._lock:
            self._hosts.pop(container_id, None)
        result = self._run("stop", "--time", str(seconds), container_id, timeout=seconds + TIMEOUT)
        self._check(result, "stop", container_id)
        if container_id not in result.out.split():
            # Before 0.11.0, stop silently skips unknown ids.
            raise ContainerNotFound(f"no container {container_id!r}")

    def remove_container(self, container_id: str) -> None:
        with self._lock:
            self._created.pop(container_id, None)
            self._hosts.pop(container_id, None)
        self._check(self._run("delete", "--force", container_id), "delete", container_id)

    def inspect_container(self, container_id: str) -> ContainerInfo:
        result = self._check(self._run("inspect", container_id), "inspect", container_id)
        items = json.loads(result.out or "[]")
        if not items:  # 0.x: unknown ids are left out, exit 0
            raise ContainerNotFound(f"no container {container_id!r}")
        return parse_container(items[0])

    def exec_in_container(
        self,
        container_id: str,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        user: str | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        argv = [self.binary, "exec"]
        for key, value in (env or {}).items():
            argv.append(f"--env={key}={value}")
        if workdir is not None:
            argv += ["--workdir", workdir]
        if user is not None:
            argv.append(f"--user={user}")
        argv += [container_id, *cmd]
        result = run_exec(argv, EXEC_TIMEOUT if timeout is None else timeout, cmd)
        if result.exit_code == 1 and not result.stdout and result.stderr.startswith("Error: "):
            err = result.stderr.strip()
            if _SERVICE_DOWN.search(err):
                raise self._unavailable(err)
            if _NOT_FOUND.search(err):
                raise ContainerNotFound(f"no container {container_id!r}: {err}")
            if _NOT_RUNNING.search(err):
                raise TestctrError(f"cannot exec in {container_id}: {err}")
            if _START_FAILED.search(err):
                # The process could not start (no such binary): report it the way
                # a shell and Docker do, as exit code 127, not as a CLI failure.
                return ExecResult(127, "", err + "\n", err + "\n")
        return result

    def get_container_logs(self, container_id: str) -> str:
        result = self._check(self._run("logs", container_id), "logs", container_id)
        return result.out

    def boot_logs(self, container_id: str) -> str:
        """The VM's boot log: kernel and init messages (``container logs --boot``)."""
        return self._check(self._run("logs", "--boot", container_id), "logs --boot", container_id).out

    def stream_logs(self, container_id: str) -> LogFollower:
        return LogFollower(self, container_id)

    def wait_for_log(self, container_id: str, pattern: re.Pattern[str], timeout: float, occurrences: int = 1) -> None:
        follow_logs_until(self, container_id, pattern, timeout, occurrences)

    def internal_ip(self, container_id: str) -> str:
        return self.inspect_container(container_id).internal_ip

    def commit(self, container_id: str, image: str) -> None:
        self.inspect_container(container_id)  # an unknown id is ContainerNotFound first
        raise UnsupportedOption(
            "commit",
            BACKEND,
            "Apple's container cannot make an image from a container (no commit; "
            "`container export` writes a root filesystem tar, not an image)",
        )

    # --- optional capabilities --------------------------------------------------------------

    def copy_to_container(self, container_id: str, container_path: str, data: bytes, mode: int | None = None) -> None:
        with self._lock:
            created = self._created.get(container_id)
        if created is not None and created.gate:
            # Not started yet: kept until start, when the gate holds the entrypoint.
            created.pending_files.append((container_path, data, mode))
            return
        self._copy_into_running(container_id, container_path, data, mode)

    def _copy_into_running(self, container_id: str, container_path: str, data: bytes, mode: int | None) -> None:
        file_mode = 0o644 if mode is None else mode
        if self.cli_version >= SINCE["cp"]:
            with tempfile.TemporaryDirectory(prefix="testctr-apple-") as tmp:
                local = os.path.join(tmp, os.path.basename(container_path) or "file")
                with open(local, "wb") as f:
                    f.write(data)
                os.chmod(local, file_mode)
                result = self._run("copy", local, f"{container_id}:{container_path}")
            self._check_copy(result, container_id, "copy_to")
            return
        result = self._run(
            "exec", "--interactive", "--uid", "0", "--gid", "0", container_id,
            "/bin/sh", "-c", _COPY_SCRIPT, "testctr-copy", container_path, f"{file_mode:o}",
            input=data,
        )  # fmt: skip
        if result.returncode in (126, 127) or _START_FAILED.search(error_text(result)):
            raise UnsupportedOption(
                "copy_to",
                BACKEND,
                f"the image of {container_id} has no /bin/sh (with cat, mkdir, chmod): Apple's container "
                f"{version_text(self.cli_version)} has no `cp`, so files go through the image's shell "
                "(container 1.0.0 and newer copy into any image)",
            )
        self._check_copy(result, container_id, "copy_to")

    def _check_copy(self, result: Completed, container_id: str, what: str) -> None:
        if result.returncode == 0:
            return
        err = error_text(result)
        if _NOT_RUNNING.search(err):
            raise TestctrError(
                f"{what}: container {container_id} is not running (Apple's container copies only into running VMs)"
            )
        raise self._fail(result, what, container_id)

    def copy_from_container(self, container_id: str, container_path: str) -> bytes:
        if self.cli_version >= SINCE["cp"]:
            with tempfile.TemporaryDirectory(prefix="testctr-apple-") as tmp:
                local = os.path.join(tmp, "out")
                result = self._run("copy", f"{container_id}:{container_path}", local)
                if result.returncode != 0:
                    err = error_text(result)
                    if re.search(r"could not find|no such file|not exist", err, re.I) and not _NOT_FOUND.search(err):
                        raise TestctrError(f"copy_from: {container_path} does not exist in {container_id}")
                    self._check_copy(result, container_id, "copy_from")
                if os.path.isdir(local):
                    raise InvalidOption(f"copy_from: {container_path} is a directory; name a file")
                with open(local, "rb") as f:
                    return f.read()
        result = self._run("exec", container_id, "cat", "--", container_path)
        if result.returncode != 0:
            err = error_text(result)
            if re.search(r"is a directory", err, re.I):
                raise InvalidOption(f"copy_from: {container_path} is a directory; name a file")
            if re.search(r"no such file|can't open", err, re.I):
                raise TestctrError(f"copy_from: {container_path} does not exist in {container_id}")
            if _START_FAILED.search(err):
                raise UnsupportedOption(
                    "copy_from", BACKEND, f"the image of {container_id} has no `cat` and this container has no `cp`"
                )
            self._check_copy(result, container_id, "copy_from")
        return result.stdout

    def ensure_image(self, image: str, platform: str | None = None) -> None:
        if self._run("image", "inspect", image).returncode == 0:
            return
        argv = ["image", "pull"]
        if platform and self.cli_version >= SINCE["platform"]:
            argv += ["--platform", platform]
        result = self._run(*argv, image, timeout=PULL_TIMEOUT)
        if result.returncode != 0:
            err = error_text(result)
            if _SERVICE_DOWN.search(err):
                raise self._unavailable(err)
            raise self._image_error(image, err)

    def health_status(self, container_id: str) -> str | None:
        raise UnsupportedOption(
            "with_wait_for_healthy",
            BACKEND,
            "Apple's container does not run image HEALTHCHECKs; wait with with_wait_for_exec(<the check command>)",
        )

    def list_containers(self, label: str) -> list[ContainerInfo]:
        result = self._check(self._run("list", "--all", "--format", "json"), "list")
        return [info for info in map(parse_container, json.loads(result.out or "[]")) if label in info.labels]


class LogFollower:
    """A container's log lines, followed: ``container logs`` gives them, ``logs -f`` says when to read.

    The lines printed by ``container logs -f`` itself are not the container's
    lines: the real tool prints what each read of the log file returned, split
    at newlines, so a line that arrives in two writes comes out as two lines
    and empty lines are dropped; it never ends, not even when the VM stops; and
    the emulator used on Linux prints some lines twice where the existing log
    meets the followed one. So ``logs -n 0 -f`` (new output only) is just the
    signal that the log grew: at each signal (a burst of them is one read) the
    follower reads the whole log and gives out the lines past its
    :class:`LogCursor`, so every line comes once, whole and in order. The
    signal starts only once the lines already there are given out (a wait for
    a line printed at startup costs one read). After a quiet second the
    follower reads anyway (output between a read and the start of ``logs -f``
    gives no signal) and looks at the state: when the container does not run,
    a last read, then the stream ends.
    """

    QUIET = 1.0  # seconds without a signal before reading anyway and checking the state
    MIN_INTERVAL = 0.2  # between two reads of the whole log, however busy the container

    def __init__(self, backend: AppleBackend, container_id: str) -> None:
        self._backend = backend
        self._id = container_id
        self._signal: FollowedLines | None = None
        self._signal_lock = threading.Lock()  # close() may come from another thread
        self._cursor = LogCursor()
        self._pending: deque[str] = deque()
        self._next_read = 0.0  # at once: the log as it is now
        self._last_read = 0.0
        self._finished = False
        self._closed = False
        self.ended = False

    def next_line(self, timeout: float) -> str | None:
        """The next line; None when ``timeout`` passes first. Sets ``ended`` at the end."""
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            if self._pending:
                return self._pending.popleft()
            if self._finished or self._closed:
                self.ended = True
                return None
            now = time.monotonic()
            if now >= self._next_read:
                self._read_and_check()
                continue
            if now >= deadline:
                return None
            wait = min(deadline, self._next_read) - now
            if self._signal is None:
                with self._signal_lock:
                    if self._closed:
                        continue
                    self._signal = FollowedLines([self._backend.binary, "logs", "-n", "0", "--follow", self._id])
            if self._signal.ended:  # the emulator's `logs -f` ends with the container
                time.sleep(wait)
                continue
            if self._signal.next_line(wait) is not None or self._signal.ended:
                while self._signal.next_line(0) is not None:
                    pass  # the rest of a burst: one read covers it
                self._next_read = max(now, self._last_read + self.MIN_INTERVAL)

    def _read(self) -> bool:
        self._last_read = time.monotonic()
        fresh = self._cursor.advance(log_lines(self._backend.get_container_logs(self._id)))
        self._pending.extend(fresh)
        return bool(fresh)

    def _read_and_check(self) -> None:
        try:
            if self._read() or self._backend.inspect_container(self._id).state.running:
                self._next_read = time.monotonic() + self.QUIET
                return
            self._read()  # what it printed between the read above and its exit
        except ContainerNotFound:
            pass  # removed while followed: the stream ends
        self._finished = True

    def __iter__(self) -> Iterator[str]:
        while not self.ended:
            line = self.next_line(self.QUIET)
            if line is not None:
                yield line

    def close(self) -> None:
        with self._signal_lock:
            self._closed = True
            signal = self._signal
        if signal is not None:
            signal.close()
