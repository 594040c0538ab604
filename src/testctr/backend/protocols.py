"""The backend contract.

:class:`Backend` is what every backend must do. The other protocols are optional
capabilities: the core checks for them with ``isinstance`` against the protocol
(never against a concrete class) and raises :class:`testctr.UnsupportedOption`
when a user asks for something the backend cannot do.

One convention for "cannot": a backend that cannot do something does not
implement that capability's method at all (so ``isinstance`` never lies). It
may say why through :class:`ExplainsLimits`; the core puts that reason in the
``UnsupportedOption`` it raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import BinaryIO, Protocol, runtime_checkable

from testctr.backend.types import ContainerConfig, ContainerInfo, ExecResult, NetworkInfo


@runtime_checkable
class Backend(Protocol):
    """Lifecycle, exec, inspect, logs, internal IP and commit of containers.

    Errors: an unknown id raises :class:`testctr.ContainerNotFound`; an engine
    that does not answer raises :class:`testctr.EngineUnavailable`; an option
    the backend cannot express raises :class:`testctr.UnsupportedOption` from
    :meth:`create_container`.
    """

    @property
    def runtime(self) -> str:
        """What the backend drives, for messages and hints ("docker", "podman", ...)."""
        ...

    def create_container(self, image: str, config: ContainerConfig) -> str:
        """Create (not start) a container and return its id."""
        ...

    def start_container(self, container_id: str) -> None: ...

    def stop_container(self, container_id: str, timeout: float = 10.0) -> None: ...

    def remove_container(self, container_id: str) -> None:
        """Remove the container, running or not, with its anonymous volumes."""
        ...

    def inspect_container(self, container_id: str) -> ContainerInfo: ...

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
        """Run ``cmd``; a non-zero exit is returned, not raised.

        A command whose executable does not exist in the container returns
        exit code 127 (126 when it exists but cannot be executed), as a shell
        does, whatever the engine's own code or text for it: callers test the
        code, never an engine's message. Raises :class:`testctr.ExecTimeout` when ``timeout``
        passes.
        """
        ...

    def get_container_logs(self, container_id: str) -> str:
        """Everything the container wrote to stdout and stderr so far."""
        ...

    def wait_for_log(self, container_id: str, pattern: re.Pattern[str], timeout: float, occurrences: int = 1) -> None:
        """Return once ``pattern`` matched ``occurrences`` log lines.

        Raises :class:`testctr.WaitTimeout`, or :class:`testctr.ContainerStartError`
        when the container exits first.
        """
        ...

    def internal_ip(self, container_id: str) -> str:
        """The container's address on its primary network, without prefix length."""
        ...

    def commit(self, container_id: str, image: str) -> None: ...

    def host(self) -> str:
        """The host name or address where published ports are reachable."""
        ...

    def version(self) -> str:
        """The engine's version; raises :class:`testctr.EngineUnavailable` if unreachable."""
        ...


@runtime_checkable
class ContainerRunner(Protocol):
    """Create and start in one engine call (``run -d``), saving a round trip.

    The core uses it only when no files must be copied in before the start.
    """

    def run_container(self, image: str, config: ContainerConfig) -> str: ...


@runtime_checkable
class FileCopier(Protocol):
    """Copy files into a created (not yet started) or running container, and out."""

    def copy_to_container(self, container_id: str, container_path: str, data: bytes, mode: int | None = None) -> None:
        """Write ``data`` at ``container_path``, creating missing parent directories."""
        ...

    def copy_from_container(self, container_id: str, container_path: str) -> bytes: ...


class LogStream(Protocol):
    """An open stream of log lines; close it to stop following."""

    def __iter__(self) -> Iterator[str]: ...

    def close(self) -> None: ...


@runtime_checkable
class LogStreamer(Protocol):
    def stream_logs(self, container_id: str) -> LogStream:
        """Follow the container's log from its start; iteration ends when it stops."""
        ...


@runtime_checkable
class LogTail(Protocol):
    def log_tail(self, container_id: str, lines: int) -> str:
        """The last ``lines`` lines of the log, read without reading the rest."""
        ...


@runtime_checkable
class LogSince(Protocol):
    def log_since(self, container_id: str, since: float, lines: int) -> str:
        """The last ``lines`` lines of what the container logged at or after ``since``.

        ``since`` is in seconds since the epoch, by this machine's clock (an
        engine on another machine whose clock differs shifts the cut).
        """
        ...


@runtime_checkable
class LogWriter(Protocol):
    def write_logs(self, container_id: str, out: BinaryIO, timeout: float) -> bool:
        """Write the log, up to now, into ``out`` as it is read, holding little of it in memory.

        Returns False when ``timeout`` seconds passed first (``out`` then holds
        the log's beginning).
        """
        ...


@runtime_checkable
class ImageEnsurer(Protocol):
    def ensure_image(self, image: str, platform: str | None = None) -> None:
        """Pull ``image`` unless present. Raises ImageNotFound / ImagePullError."""
        ...


@runtime_checkable
class ImageLister(Protocol):
    def list_images(self) -> list[str]:
        """The references (``repository:tag``) of the images the engine holds locally."""
        ...


@runtime_checkable
class ImageRemover(Protocol):
    def remove_image(self, image: str) -> None:
        """Remove a local image (one made by :meth:`Backend.commit`, say)."""
        ...


@runtime_checkable
class ResourceUpdater(Protocol):
    def update_resources(
        self, container_id: str, *, memory_bytes: int | None = None, cpus: float | None = None
    ) -> None:
        """Change the limits of a running container."""
        ...


@runtime_checkable
class ContainerHost(Protocol):
    def container_host(self, container_id: str) -> str:
        """Where this container's ports are reached, when that differs per container.

        For backends whose containers each have their own reachable address
        (e.g. Apple's VMs in direct-IP mode); others only implement ``host()``.
        """
        ...


@runtime_checkable
class HealthReporter(Protocol):
    def health_status(self, container_id: str) -> str | None:
        """ "starting", "healthy", "unhealthy", or None when the image has no HEALTHCHECK."""
        ...


@runtime_checkable
class ContainerLister(Protocol):
    def list_containers(self, label: str) -> list[ContainerInfo]:
        """Every container (running or not) that carries the label key ``label``."""
        ...


@runtime_checkable
class NetworkManager(Protocol):
    """User-defined networks: containers on one reach each other by name and alias.

    Errors: an engine that does not answer raises :class:`testctr.EngineUnavailable`;
    a network the engine refuses to make raises :class:`testctr.TestctrError`.
    """

    def create_network(self, name: str, labels: Mapping[str, str], internal: bool = False) -> str:
        """Create a network and return its id. ``internal``: no route out of the network."""
        ...

    def remove_network(self, network: str) -> None:
        """Remove a network by name. Raises :class:`testctr.NetworkNotFound` when unknown.

        A network containers still use is not removed: that is an error.
        """
        ...

    def list_networks(self, label: str) -> list[NetworkInfo]:
        """Every network that carries the label key ``label``."""
        ...


@runtime_checkable
class NetworkConnector(Protocol):
    """Attach a running container to a network, and detach it."""

    def connect_network(self, container_id: str, network: str, aliases: Sequence[str] = ()) -> None: ...

    def disconnect_network(self, container_id: str, network: str) -> None: ...


@runtime_checkable
class RuntimeSelectable(Protocol):
    def for_runtime(self, runtime: str) -> Backend:
        """The same backend driving another runtime (``with_runtime``)."""
        ...


@runtime_checkable
class ExplainsLimits(Protocol):
    def unsupported_reason(self, capability: type) -> str | None:
        """Why this backend lacks ``capability`` (a protocol of this module), or None.

        For messages only: a user told "a VM's memory is fixed at boot" knows
        what to do instead.
        """
        ...


@runtime_checkable
class DebugCommands(Protocol):
    def debug_commands(self, container_name: str) -> dict[str, str]:
        """Commands a person can type to look at a kept container, by purpose.

        Keys: ``"logs"``, ``"shell"``, ``"remove"`` (any may be missing). The
        remove command also removes the container's anonymous volumes.
        """
        ...


def unsupported_reason(backend: object, capability: type, default: str) -> str:
    """The backend's own reason for lacking ``capability``, else ``default``."""
    if isinstance(backend, ExplainsLimits):
        reason = backend.unsupported_reason(capability)
        if reason:
            return reason
    return default
