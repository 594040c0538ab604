"""Backend-neutral data types exchanged between the core and every backend.

Nothing here knows about Docker, Podman or Apple: a backend translates these
into its own vocabulary, and the core never looks at which backend it talks to.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PortSpec:
    """A container port to publish, as the user asked for it.

    ``host_port`` None means "any free port". ``host_ip`` None means the
    backend's default: loopback for a local engine, so nothing a test starts is
    reachable from the network by accident (a remote engine binds the address
    its clients reach it by).
    """

    container_port: int
    protocol: str = "tcp"
    host_port: int | None = None
    host_ip: str | None = None

    @property
    def key(self) -> str:
        """The ``"6379/tcp"`` form used as the key of :attr:`ContainerInfo.ports`."""
        return f"{self.container_port}/{self.protocol}"


@dataclass(frozen=True)
class FileEntry:
    """A file to place in the container before its entrypoint runs."""

    container_path: str
    data: bytes
    mode: int | None = None


@dataclass(frozen=True)
class Mount:
    """A bind mount of a host path."""

    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class NetworkAttachment:
    """A network to attach a container to, and the DNS names its peers there reach it by."""

    name: str
    aliases: tuple[str, ...] = ()


@dataclass
class ContainerConfig:
    """Everything a backend needs to create one container.

    ``command`` replaces the image's CMD; ``args`` are appended to whatever the
    command ends up being (the image's CMD when ``command`` is None), so service
    modules can stack server flags without overwriting each other.
    ``backend_config`` carries backend-specific settings (for example a VM
    config); a backend that receives one it does not understand must raise
    :class:`testctr.UnsupportedOption`.
    """

    name: str
    env: dict[str, str] = field(default_factory=dict)
    ports: list[PortSpec] = field(default_factory=list)
    command: list[str] | None = None
    args: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    files: list[FileEntry] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    tmpfs: list[str] = field(default_factory=list)
    #: The first one is the primary network (what :meth:`Backend.internal_ip` reports).
    networks: list[NetworkAttachment] = field(default_factory=list)
    user: str | None = None
    workdir: str | None = None
    memory_bytes: int | None = None
    cpus: float | None = None
    privileged: bool = False
    platform: str | None = None
    backend_config: object | None = None

    @property
    def needs_image_cmd(self) -> bool:
        """True when :meth:`command_for` needs the image's CMD: ``args`` go after it."""
        return bool(self.args) and self.command is None and self.entrypoint is None

    def command_for(self, image_cmd: Sequence[str] | None = None) -> list[str] | None:
        """The command to give the engine, or None to keep the image's CMD.

        Docker's rule, written once for every backend: ``command`` replaces the
        image's CMD; an overridden ``entrypoint`` drops the image's CMD; ``args``
        are appended to whatever the command ends up being, so with neither
        ``command`` nor ``entrypoint`` they follow the image's CMD (pass it as
        ``image_cmd`` when :attr:`needs_image_cmd`).
        """
        if self.entrypoint is not None or self.command is not None:
            return [*(self.command or []), *self.args]
        if not self.args:
            return None
        if image_cmd is None:
            raise ValueError("args follow the image's CMD: pass image_cmd when needs_image_cmd")
        return [*image_cmd, *self.args]


@dataclass(frozen=True)
class PortBinding:
    host_ip: str
    host_port: int


@dataclass(frozen=True)
class ContainerState:
    """``exit_code`` is None when the engine does not report one (never invented).

    ``oom_killed``: whether the kernel's OOM killer killed the container (the
    engine's ``State.OOMKilled``); None when the engine does not say.
    """

    running: bool
    status: str
    exit_code: int | None = None
    health: str | None = None
    oom_killed: bool | None = None


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    image: str
    created: _dt.datetime | None
    state: ContainerState
    ports: dict[str, list[PortBinding]] = field(default_factory=dict)
    internal_ip: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    #: The container's address on each network it is attached to, by network name.
    networks: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NetworkInfo:
    """A network as an engine lists it (see :class:`testctr.backend.protocols.NetworkManager`)."""

    id: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecResult:
    """The outcome of a command run in a container.

    A non-zero exit is a result, not an exception. ``output`` is stdout and
    stderr interleaved in the order they arrived. ``oom_killed`` is True when
    the kernel's OOM killer killed the command (then ``memory_limit`` is the
    container's limit in bytes), None when that cannot be known.
    """

    exit_code: int
    stdout: str
    stderr: str
    output: str
    oom_killed: bool | None = None
    memory_limit: int | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0
