"""What the Docker-format backends share: the CLI backend (docker, podman, nerdctl,
finch), docker-api and the testcontainers adapter.

They read the same inspect JSON, copy files as the same tar streams, reach a
remote engine by the same URLs and bind ports by the same rule, so each of
those rules is written here once. Nothing here imports an SDK: the CLI backend
needs no dependency.
"""

from __future__ import annotations

import dataclasses
import io
import ipaddress
import json
import os
import re
import shlex
import tarfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from testctr.backend.types import ContainerConfig, ContainerInfo, ContainerState, NetworkInfo, PortBinding
from testctr.backends.free_ports import allocate_port
from testctr.errors import (
    ContainerStartError,
    EngineUnavailable,
    HostPortTaken,
    ImageNotFound,
    ImagePullError,
    InvalidOption,
    TestctrError,
)
from testctr.parsing import has_registry_host, parse_timestamp

LOOPBACK = "127.0.0.1"
#: Where dockerd listens unless told otherwise.
DOCKER_SOCKET = "unix:///var/run/docker.sock"

#: The image is missing from its registry (or hidden from us), not the registry from us.
#: Docker: "manifest for R not found: manifest unknown", "pull access denied for R, repository does
#: not exist"; Podman: "reading manifest T in R: manifest unknown", "name unknown".
_PULL_NOT_FOUND = re.compile(r"manifest unknown|name unknown|not found|does not exist|pull access denied", re.I)
#: What an engine answers when it cannot reach a registry: not the image's fault. Offline or
#: refused ("dial tcp H: connect: connection refused", "network is unreachable"), DNS ("dial tcp:
#: lookup H on S: no such host", "lookup H: no such host"), TLS ("x509: ...", "tls: ...",
#: Podman's "http: server gave HTTP response to HTTPS client"), a registry that does not answer.
_REGISTRY_UNREACHABLE = re.compile(
    r"dial tcp|lookup \S+|no such host|i/o timeout|connection refused|network is unreachable|no route to host|"
    r"x509:|tls:|certificate|HTTP response to HTTPS client|handshake timeout|context deadline exceeded|"
    r"Client\.Timeout|temporary failure in name resolution",
    re.I,
)

# --- engine address ------------------------------------------------------------------------------


def remote_host_of(engine_url: str) -> str | None:
    """``tcp://10.0.0.5:2376`` / ``ssh://me@build-box`` -> host; unix sockets -> None."""
    if not engine_url:
        return None
    parsed = urllib.parse.urlsplit(engine_url)
    if parsed.scheme in ("tcp", "ssh", "http", "https") and parsed.hostname:
        return parsed.hostname
    return None


def engine_host(engine_url: str) -> str:
    """Where published ports are reached: the remote engine's host, else loopback."""
    return remote_host_of(engine_url) or LOOPBACK


def default_host_ip(engine_url: str) -> str:
    """The address published ports bind: loopback locally, the engine's address remotely.

    Ports of a remote engine must be reachable from here: bind the address we
    reach the engine by when it is an IP, else all interfaces (which of the
    engine's addresses a host name means is unknown here).
    """
    remote = remote_host_of(engine_url)
    if remote is None:
        return LOOPBACK
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return "0.0.0.0"


def pin_host_ports(config: ContainerConfig, engine_url: str) -> ContainerConfig:
    """``config`` with a free host port chosen for each port published on "any free port".

    Docker (20.10) chooses a new host port at every start, so a restarted
    container would move and a client holding ``host:port`` could not
    reconnect; a port named at creation is kept for the container's life (as
    Podman does by itself). Ports of a remote engine are left to it: which of
    its ports are free is unknown here.
    """
    if remote_host_of(engine_url) is not None or all(p.host_port is not None for p in config.ports):
        return config
    ports = [
        p if p.host_port is not None else dataclasses.replace(p, host_port=allocate_port(p.protocol))
        for p in config.ports
    ]
    return dataclasses.replace(config, ports=ports)


#: A published host port the engine could not bind, and which: dockerd's userland proxy and
#: Podman say "listen tcp4 127.0.0.1:PORT: bind: address already in use"; dockerd, for a port
#: another of its containers holds, "Bind for 127.0.0.1:PORT failed: port is already allocated".
_PORT_TAKEN = re.compile(
    r"(?:listen (?:tcp|udp)[46]? |Bind for )\S*:(\d+)(?::|\s+failed:).*?(?:address already in use|already allocated)",
    re.I | re.S,
)


def taken_host_port(engine_text: str) -> int | None:
    """The host port ``engine_text`` says another process holds, else None."""
    found = _PORT_TAKEN.search(engine_text)
    return int(found.group(1)) if found else None


def start_error(message: str, logs: str = "") -> ContainerStartError:
    """The error for a start the engine refused with ``message``.

    :class:`HostPortTaken` when it says another process holds a host port:
    the core then makes the container again, with fresh ports where it let
    us choose them (see :func:`pin_host_ports`).
    """
    taken = taken_host_port(message)
    if taken is None:
        return ContainerStartError(message, logs=logs)
    return HostPortTaken(message, taken, logs=logs)


def docker_context(environ: Mapping[str, str]) -> str | None:
    """The Docker context the ``docker`` CLI and SDK use, unless it is ``default``."""
    name = environ.get("DOCKER_CONTEXT")
    if not name:
        config_dir = environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
        try:
            with open(os.path.join(config_dir, "config.json"), encoding="utf-8") as f:
                name = json.load(f).get("currentContext")
        except (OSError, ValueError, AttributeError):
            name = None
    return str(name) if name and name != "default" else None


@dataclass(frozen=True)
class EngineEndpoint:
    """Where a client looks for its engine and what chose that, for the fix of an unreachable one.

    ``chosen_by`` is the variable that named ``url`` (``DOCKER_HOST``, ...);
    ``context`` the Docker context that did. Neither: the runtime's own default.
    """

    runtime: str
    url: str = ""
    chosen_by: str | None = None
    context: str | None = None


#: How to start each runtime's local engine, for the one case where that is the fix.
_START = {
    "docker": "sudo systemctl start docker",
    "podman": "systemctl start podman.socket",
    "nerdctl": "sudo systemctl start containerd",
    "finch": "finch vm start",
}


def unreachable_fix(endpoint: EngineEndpoint, path_exists: Callable[[str], bool] = os.path.exists) -> str:
    """What to do about an engine that does not answer at ``endpoint``."""
    source = endpoint.chosen_by or (f"Docker context {endpoint.context!r}" if endpoint.context else None)
    switch_back = "; `docker context use default` switches to the local engine" if endpoint.context else ""
    remote = remote_host_of(endpoint.url)
    if remote is not None:
        named = f" ({source} is {endpoint.url})" if source else ""
        return f"is the engine at {remote} running and reachable?{named}{switch_back}"
    parsed = urllib.parse.urlsplit(endpoint.url)
    path = parsed.path if parsed.scheme in ("unix", "npipe") else ""
    if source is None:
        where = f" (its socket {path} does not exist)" if path and not path_exists(path) else ""
        start = _START.get(endpoint.runtime, f"sudo systemctl start {endpoint.runtime}")
        return f"start the engine{where} (e.g. `{start}`)"
    if not path:
        return f"check the engine that {source} names answers{switch_back}"
    state = "refuses connections" if path_exists(path) else "does not exist"
    return f"the socket {path} ({source}) {state}: start the engine that serves it, or change {source}{switch_back}"


def hung_engine(where: str, seconds: float, request: str, runtime: str) -> EngineUnavailable:
    """The error for an engine that took a request and did not answer within ``seconds``."""
    return EngineUnavailable(
        f"the engine at {where} accepted the connection but did not answer within {seconds:.1f} s ({request})\n"
        f"fix: the engine is overloaded or hung: check that `{runtime} version` answers and restart the engine "
        "if not; TESTCTR_ENGINE_TIMEOUT / with_startup_timeout set how long testctr waits"
    )


# --- inspect and files ---------------------------------------------------------------------------


def parse_inspect(data: Mapping[str, Any]) -> ContainerInfo:
    """One element of ``docker inspect`` / ``podman inspect`` JSON (the API's answer too)."""
    state = data.get("State") or {}
    health = state.get("Health") or state.get("Healthcheck") or {}
    status = str(state.get("Status") or "")
    running = bool(state.get("Running")) and status not in ("exited", "dead")
    exit_code = state.get("ExitCode")
    settings = data.get("NetworkSettings") or {}
    ports: dict[str, list[PortBinding]] = {}
    for key, bindings in (settings.get("Ports") or {}).items():
        ports[key] = [PortBinding(b.get("HostIp") or "", int(b.get("HostPort") or 0)) for b in bindings or []]
    networks = {name: str(net.get("IPAddress") or "") for name, net in (settings.get("Networks") or {}).items() if net}
    ip = settings.get("IPAddress") or next((addr for addr in networks.values() if addr), "")
    config = data.get("Config") or {}
    return ContainerInfo(
        id=str(data.get("Id") or data.get("ID") or ""),
        name=str(data.get("Name") or "").lstrip("/"),
        image=str(config.get("Image") or data.get("ImageName") or ""),
        created=parse_timestamp(str(data.get("Created") or "")),
        state=ContainerState(
            running=running,
            status=status,
            exit_code=None if running or exit_code is None else int(exit_code),
            health=(health.get("Status") or None) if health else None,
            oom_killed=oom_killed(state),
        ),
        ports=ports,
        internal_ip=ip,
        labels=dict(config.get("Labels") or {}),
        networks=networks,
    )


def parse_network(data: Mapping[str, Any]) -> NetworkInfo:
    """One element of ``docker network inspect`` JSON (the API's answer too; Podman's alike)."""
    return NetworkInfo(
        id=str(data.get("Id") or data.get("ID") or data.get("id") or ""),
        name=str(data.get("Name") or data.get("name") or ""),
        labels=dict(data.get("Labels") or data.get("labels") or {}),
    )


#: dockerd: "network NAME not found"; Podman: "unable to find network with name or ID NAME: network not found".
_MISSING_NETWORK = re.compile(r"network (?:with name or ID )?(\S+?):? (?:network )?not found", re.I)
#: Removing a network that containers still use.
NETWORK_IN_USE = re.compile(r"active endpoints|is being used|has associated containers|in use", re.I)


def missing_network(runtime: str, engine_text: str) -> str | None:
    """The fix for an engine answer that names a network that does not exist, else None."""
    found = _MISSING_NETWORK.search(engine_text)
    if found is None:
        return None
    name = found.group(1)
    return (
        f"network {name!r} does not exist; create it in the test with testctr.network(t) "
        f"(or by hand: `{runtime} network create {name}`)"
    )


def oom_killed(state: Mapping[str, Any]) -> bool | None:
    """``State.OOMKilled``, when it can be believed.

    A false for a SIGKILLed container (exit code 137) is not: Podman on
    cgroup v1 reports false for a container the OOM killer killed.
    """
    if "OOMKilled" not in state:
        return None
    if state["OOMKilled"]:
        return True
    return None if state.get("ExitCode") == 137 else False


def file_tar(container_path: str, data: bytes, mode: int | None) -> bytes:
    """A tar holding one file at ``container_path`` (relative to /), for ``cp - ID:/``.

    No directory entries: extraction creates missing parents (0755) and leaves
    existing ones (and their modes, e.g. /tmp's 1777) alone.

    The archive ends at its two zero EOF blocks, without the padding tarfile
    adds up to a 10 KiB record: Podman's copier stops reading at the EOF
    blocks and exits, so a server still writing padding fails now and then
    with "passing bulk input to subprocess: write |1: broken pipe".
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(container_path.lstrip("/"))
        info.size = len(data)
        info.mode = 0o644 if mode is None else mode
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))
        end = tar.offset + 2 * tarfile.BLOCKSIZE
    return buf.getvalue()[:end]


def first_file_in_tar(blob: bytes, container_path: str) -> bytes:
    """The content of the file an engine's archive of ``container_path`` holds."""
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for member in tar:
            if member.isfile():
                extracted = tar.extractfile(member)
                assert extracted is not None
                return extracted.read()
            if member.isdir():
                raise InvalidOption(f"copy_from: {container_path} is a directory; name a file")
    raise TestctrError(f"copy_from: {container_path} holds no regular file")


# --- images ----------------------------------------------------------------------------------------


class ImageCommands:
    """The CMD of each image, asked of the engine once, for :meth:`ContainerConfig.command_for`."""

    def __init__(self, lookup: Callable[[str], Sequence[str]]) -> None:
        self._lookup = lookup
        self._cmds: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def command_for(self, image: str, config: ContainerConfig) -> list[str] | None:
        """The command to create ``config``'s container with (None: the image's CMD)."""
        if not config.needs_image_cmd:
            return config.command_for()
        with self._lock:
            cached = self._cmds.get(image)
        if cached is None:
            cached = list(self._lookup(image))
            with self._lock:
                self._cmds[image] = cached
        return config.command_for(cached)


_MIRRORS = "TESTCTR_IMAGE_MAP / TESTCTR_IMAGE_PREFIX map image names to a mirror"


def registry_of(image: str) -> str:
    """The registry ``image`` is pulled from (Docker Hub when it names none)."""
    return image.partition("/")[0] if has_registry_host(image) else "docker.io"


def image_not_found(image: str, engine_text: str) -> ImageNotFound:
    return ImageNotFound(
        f"image {image} is not present locally and its registry {registry_of(image)} has no such image "
        f"(or will not let us pull it): {engine_text}\n"
        f"fix: check the name and the tag; a private registry needs a login; {_MIRRORS}"
    )


def pull_error(image: str, engine_text: str) -> ImageNotFound | ImagePullError:
    """The error for a pull the engine refused with ``engine_text``.

    Three cases a user fixes differently: the registry has no such image,
    the registry cannot be reached (offline, DNS, refused, TLS), anything else.
    """
    if _REGISTRY_UNREACHABLE.search(engine_text):
        return ImagePullError(
            f"image {image} is not present locally and its registry {registry_of(image)} cannot be reached "
            f"(offline, DNS, refused connection or TLS): {engine_text}\n"
            f"fix: check the network and the registry's address, or build/load the image locally; {_MIRRORS}"
        )
    if _PULL_NOT_FOUND.search(engine_text):
        return image_not_found(image, engine_text)
    return ImagePullError(
        f"image {image} is not present locally and pulling it failed: {engine_text}\n"
        f"fix: check the registry is reachable, or build/load the image locally; {_MIRRORS}"
    )


def pull_timeout_error(image: str, seconds: float) -> ImagePullError:
    return ImagePullError(
        f"pulling {image} did not finish within {seconds:.0f}s\n"
        f"fix: check the registry is reachable and not throttling, or build/load the image locally; {_MIRRORS}"
    )


def explain(error: Exception) -> str:
    """The engine's own words from an SDK error, without the request URL."""
    explanation = getattr(error, "explanation", None)
    if explanation:
        return explanation.decode("utf-8", "replace") if isinstance(explanation, bytes) else str(explanation)
    return str(error)


# --- for people ------------------------------------------------------------------------------------


def remove_args(runtime: str) -> list[str]:
    """``rm`` of a container with its anonymous volumes, at once.

    ``rm -f`` kills at once in Docker; Podman first waits 10 s for SIGTERM.
    """
    return ["rm", "-f", "-v", "-t", "0"] if runtime == "podman" else ["rm", "-f", "-v"]


def debug_commands(cli: Sequence[str], runtime: str, container_name: str) -> dict[str, str]:
    """The commands (``cli`` is the program and its engine flags) to look at a kept container."""
    return {
        "logs": shlex.join([*cli, "logs", container_name]),
        "shell": shlex.join([*cli, "exec", "-it", container_name, "sh"]),
        "remove": shlex.join([*cli, *remove_args(runtime), container_name]),
    }
