"""The ``docker-api`` backend: the Docker Engine HTTP API through the ``docker`` SDK.

Install with ``pip install 'testctr[docker]'``. Any engine that speaks the
Engine API works: dockerd, Podman's Docker-compatible service
(``podman system service``), a remote dockerd over ``tcp://`` (TLS) or
``ssh://``.

Which engine: ``DOCKER_HOST`` (with ``DOCKER_TLS_VERIFY`` and
``DOCKER_CERT_PATH``), else the current Docker context (``DOCKER_CONTEXT`` or
``currentContext`` in ``~/.docker/config.json``), else the local socket.
``with_runtime("podman")`` / ``TESTCTR_RUNTIME=podman`` switches to Podman's
socket (``CONTAINER_HOST``, else ``/run/podman/podman.sock`` for root or
``$XDG_RUNTIME_DIR/podman/podman.sock``); a runtime that contains ``://`` is
taken as the engine URL itself.

Published ports bind 127.0.0.1 on a local engine. On a remote engine they bind
the address the engine is reached by (an IP) or all interfaces (a host name),
and :meth:`DockerAPIBackend.host` is that host.

For ``ssh://`` engines the SDK shells out to the ``ssh`` client
(``use_ssh_client``), so keys and ``~/.ssh/config`` work as with the CLI and
paramiko is not needed.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import docker
import docker.auth
import docker.errors
import requests.exceptions
import urllib3.exceptions
from docker.utils import parse_repository_tag
from docker.utils.socket import frames_iter

from testctr import settings as _settings
from testctr.backend.deadline import Unanswered, bound
from testctr.backend.types import ContainerConfig, ContainerInfo, ExecResult, NetworkInfo
from testctr.backends._process import CHUNK, LineSplitter, QueuedLines, follow_logs_until
from testctr.backends.docker_family import (
    DOCKER_SOCKET,
    NETWORK_IN_USE,
    EngineEndpoint,
    ImageCommands,
    debug_commands,
    default_host_ip,
    docker_context,
    engine_host,
    explain,
    file_tar,
    first_file_in_tar,
    hung_engine,
    missing_network,
    parse_inspect,
    parse_network,
    pin_host_ports,
    pull_error,
    pull_timeout_error,
    start_error,
    unreachable_fix,
)
from testctr.errors import (
    ContainerNotFound,
    ContainerNotRunning,
    ContainerStartError,
    EngineUnavailable,
    ExecTimeout,
    ImageNotFound,
    ImagePullError,
    NetworkNotFound,
    TestctrError,
    UnsupportedOption,
)

NAME = "docker-api"
# Any single API call: Settings.engine_timeout (TESTCTR_ENGINE_TIMEOUT), or the start's deadline.
PULL_TIMEOUT = 900.0  # a whole pull, wall-clock seconds; not shortened by a start's deadline
EXEC_TIMEOUT = 3600.0  # exec without a timeout of its own is still bounded

#: Podman's own API, for what its Docker-compatible one lacks; not versioned like the Engine API.
_LIBPOD = "/v4.0.0/libpod"
_NOT_FOUND_EXEC = re.compile(r"exec failed.*(executable file not found|no such file or directory)", re.I)
#: A 404 means the container is gone only when the engine says so; other 404s
#: (a missing network, image, volume) are failures of the request itself.
_NO_CONTAINER = re.compile(r"no such container|no container with", re.I)
#: Podman's 500 for a container removed while the request looked it up.
_REMOVED_DURING_LOOKUP = re.compile(r"does not exist in database", re.I)
_NOT_RUNNING = re.compile(r"is not running|container state improper", re.I)


def container_missing(status: int | None, text: str) -> bool:
    """Whether an engine's error answer says the container asked about is gone.

    Podman answers 500, not 404, for a container another client removed
    between its lookup and its read ("container ID does not exist in
    database: no such container"): a reaper's removal racing a test's inspect.
    """
    if not _NO_CONTAINER.search(text):
        return False
    return status == 404 or (status == 500 and _REMOVED_DURING_LOOKUP.search(text) is not None)


def podman_socket_url() -> str:
    """Where Podman's Docker-compatible API listens for this user."""
    if os.environ.get("CONTAINER_HOST"):
        return os.environ["CONTAINER_HOST"]
    if os.geteuid() == 0:
        return "unix:///run/podman/podman.sock"
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.geteuid()}"
    return f"unix://{runtime_dir}/podman/podman.sock"


def engine_url_from_environment() -> str:
    """DOCKER_HOST, else the current Docker context's endpoint, else the local socket."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    try:
        from docker.context import ContextAPI

        url = ContextAPI.kwargs_from_context().get("base_url")
    except Exception:  # a broken ~/.docker/config.json must not hide the default socket
        url = None
    return str(url) if url else DOCKER_SOCKET


@dataclass(frozen=True)
class APIRuntime:
    """The engine behind an Engine API endpoint, and the requests where engines differ."""

    name: str  # "docker", or "podman" for Podman's compatible service

    @classmethod
    def from_version(cls, version: Mapping[str, Any]) -> APIRuntime:
        """The runtime that answered ``GET /version`` with ``version``."""
        names = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [])
        return cls("podman" if "podman" in names.lower() else "docker")

    @property
    def healthcheck_path(self) -> str | None:
        """Where to run a container's HEALTHCHECK now, for an engine that may never run it.

        Podman runs HEALTHCHECKs from systemd timers; without systemd nobody
        does. Its own API runs the check on request (harmless where timers exist).
        """
        return f"{_LIBPOD}/containers/{{0}}/healthcheck" if self.name == "podman" else None

    @property
    def network_options(self) -> dict[str, str]:
        """Driver options that make a network behave as Docker's do.

        Podman (netavark) routes between its bridge networks unless told to
        isolate them; Docker always isolates them.
        """
        return {"isolate": "true"} if self.name == "podman" else {}

    def update_request(self, memory_bytes: int | None, cpus: float | None) -> tuple[str, dict[str, Any]]:
        """The path and the body of a resource update."""
        if self.name == "podman":
            # Podman's compatible API has no /containers/{id}/update; its own API
            # does (Podman >= 4.3), taking OCI LinuxResources.
            resources: dict[str, Any] = {}
            if memory_bytes is not None:
                resources["memory"] = {"limit": memory_bytes, "swap": memory_bytes}
            if cpus is not None:
                resources["cpu"] = {"quota": round(cpus * 100_000), "period": 100_000}
            return f"{_LIBPOD}/containers/{{0}}/update", resources
        body: dict[str, Any] = {}
        if memory_bytes is not None:
            body.update(Memory=memory_bytes, MemorySwap=memory_bytes)
        if cpus is not None:
            # NanoCpus, as at create: the engine refuses to mix it with a CPU period.
            body["NanoCpus"] = round(cpus * 1e9)
        return "/containers/{0}/update", body

    def cli(self, engine_url: str, own_engine_url: str) -> list[str]:
        """This runtime's CLI pointed at ``engine_url`` (plain when that is where it looks anyway)."""
        if engine_url == own_engine_url:
            return [self.name]
        return [self.name, "--url" if self.name == "podman" else "-H", engine_url]


def create_body(image: str, config: ContainerConfig, command: Sequence[str] | None, host_ip: str) -> dict[str, Any]:
    """The JSON body of ``POST /containers/create`` for ``config`` (pure; unit-tested).

    ``command`` is ``config.command_for(...)``: None keeps the image's CMD.
    """
    host_config: dict[str, Any] = {}
    body: dict[str, Any] = {
        "Image": image,
        "Labels": dict(config.labels),
        "Env": [f"{k}={v}" for k, v in config.env.items()],
        "Tty": False,
        "OpenStdin": False,
        "HostConfig": host_config,
    }
    if config.ports:
        body["ExposedPorts"] = {p.key: {} for p in config.ports}
        host_config["PortBindings"] = {
            p.key: [
                {
                    "HostIp": p.host_ip or host_ip,
                    "HostPort": "" if p.host_port is None else str(p.host_port),
                }
            ]
            for p in config.ports
        }
    if config.entrypoint is not None:
        body["Entrypoint"] = list(config.entrypoint)
    if command is not None:
        # Set even when empty: an overridden entrypoint drops the image's CMD,
        # and saying so explicitly makes every engine behind the API agree.
        body["Cmd"] = list(command)
    if config.user is not None:
        body["User"] = config.user
    if config.workdir is not None:
        body["WorkingDir"] = config.workdir
    if config.mounts:
        host_config["Mounts"] = [
            {"Type": "bind", "Source": m.source, "Target": m.target, "ReadOnly": m.read_only} for m in config.mounts
        ]
    if config.tmpfs:
        host_config["Tmpfs"] = {path: "" for path in config.tmpfs}
    if config.networks:
        primary = config.networks[0]
        host_config["NetworkMode"] = primary.name
        if primary.aliases:
            body["NetworkingConfig"] = {"EndpointsConfig": {primary.name: {"Aliases": list(primary.aliases)}}}
    if config.memory_bytes is not None:
        host_config["Memory"] = config.memory_bytes
    if config.cpus is not None:
        host_config["NanoCpus"] = round(config.cpus * 1e9)
    if config.privileged:
        host_config["Privileged"] = True
    return body


class Frames:
    """Payloads of the Engine API's multiplexed stream (8-byte header, then data), whatever the chunking."""

    HEADER = 8

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> bytes:
        """The payload bytes ``data`` completes, stdout and stderr in arrival order."""
        buffer = self._buffer + data if self._buffer else data
        parts = []
        at = 0
        while len(buffer) - at >= self.HEADER:
            (length,) = struct.unpack_from(">L", buffer, at + 4)
            end = at + self.HEADER + length
            if end > len(buffer):
                break
            parts.append(buffer[at + self.HEADER : end])
            at = end
        self._buffer = buffer[at:]
        return b"".join(parts)


class _FollowedLogs(QueuedLines):
    """Lines of a followed log stream of the Engine API, read in chunks off the response."""

    def __init__(self, api: Any, response: Any) -> None:
        self._api = api
        self._response = response
        super().__init__()

    def _read(self) -> Iterator[list[str]]:
        raw = self._response.raw
        read1 = getattr(raw, "read1", None) or raw._fp.read1  # urllib3 < 2.1 has no read1 of its own
        frames, lines = Frames(), LineSplitter()
        try:
            for data in iter(lambda: read1(CHUNK), b""):
                yield lines.feed(frames.feed(data))
        except (OSError, ValueError, http.client.HTTPException, urllib3.exceptions.HTTPError):
            pass  # closed under us, or the engine went away: the stream has ended
        yield lines.flush()

    def close(self) -> None:
        # Wake the reader (EOF) and let it finish before the response is
        # closed: closed under a reading thread, http.client fails oddly.
        with contextlib.suppress(Exception):  # whatever the transport, waking it is best effort
            _shutdown(self._api._get_raw_response_socket(self._response))
        self._stop_pump()
        with contextlib.suppress(Exception):
            self._response.close()


def _shutdown(sock: Any) -> None:
    """Wake a thread blocked reading ``sock`` (close alone does not, on Linux)."""
    raw = getattr(sock, "_sock", sock)
    with contextlib.suppress(OSError, AttributeError):
        raw.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class DockerAPIBackend:
    """Talks to one engine endpoint; :meth:`for_runtime` gives the backend for another."""

    #: What named an engine URL that is none of the environment's, for messages.
    _url_chosen_by = "TESTCTR_RUNTIME / with_runtime"

    def __init__(self, engine_url: str | None = None, name: str = NAME) -> None:
        #: None: resolved from the environment on first use (DOCKER_HOST, context).
        self._engine_url = engine_url
        self._name = name
        self._client: Any = None
        self._lock = threading.Lock()
        self._runtime: APIRuntime | None = None
        self._image_cmds = ImageCommands(self._image_cmd)
        self._others: dict[str, DockerAPIBackend] = {}
        #: The read timeout of this thread's last request, for the message when it passes.
        self._timeouts = threading.local()
        self._unanswered = Unanswered()

    @classmethod
    def from_environment(cls) -> DockerAPIBackend:
        return cls()

    # --- connection --------------------------------------------------------------------------

    @property
    def engine_url(self) -> str:
        if self._engine_url is None:
            self._engine_url = engine_url_from_environment()
        return self._engine_url

    def _make_client(self) -> Any:
        url = self.engine_url
        ssh = url.startswith("ssh://")
        # The SDK asks the engine for its API version while it builds the client.
        timeout = self._request_timeout(_settings.current().engine_timeout)
        if self._engine_url_is_environment():
            # from_env reads DOCKER_TLS_VERIFY / DOCKER_CERT_PATH and the context.
            client = docker.from_env(timeout=timeout, use_ssh_client=ssh)
        else:
            client = docker.DockerClient(base_url=url, timeout=timeout, use_ssh_client=ssh)
        api = client.api
        api.timeout = _settings.current().engine_timeout

        def set_request_timeout(kwargs: dict[str, Any]) -> dict[str, Any]:
            # The SDK's hook for every request without a timeout of its own: the
            # client's one bound becomes the call's, shortened to the caller's
            # deadline. (A followed stream is bounded until its answer starts:
            # the SDK then lifts the socket's timeout.)
            kwargs.setdefault("timeout", self._request_timeout(_settings.current().engine_timeout))
            return kwargs

        api._set_request_timeout = set_request_timeout
        return client

    def _request_timeout(self, own: float) -> float:
        """``own`` shortened to the deadline in force, remembered for the message if it passes."""
        self._timeouts.last = bound(own)
        return float(self._timeouts.last)

    def _engine_url_is_environment(self) -> bool:
        return self.engine_url == engine_url_from_environment()

    @property
    def api(self) -> Any:
        """The SDK's low-level ``APIClient`` (created on first use)."""
        unanswered = self._unanswered.message()
        if unanswered is not None:
            raise EngineUnavailable(unanswered)
        with self._lock:
            if self._client is None:
                try:
                    self._client = self._make_client()
                except docker.errors.DockerException as e:
                    if isinstance(e.__cause__, requests.exceptions.ReadTimeout):
                        raise self._hung("GET /version") from None
                    raise self._unavailable(e) from None
            return self._client.api

    def endpoint(self) -> EngineEndpoint:
        """Where this backend looks for its engine, for the fix of an unreachable one."""
        url = self.engine_url
        if url == os.environ.get("DOCKER_HOST"):
            return EngineEndpoint("docker", url, chosen_by="DOCKER_HOST")
        if url == os.environ.get("CONTAINER_HOST"):
            return EngineEndpoint("podman", url, chosen_by="CONTAINER_HOST")
        if url == podman_socket_url():
            return EngineEndpoint("podman", url)
        if self._engine_url_is_environment():
            return EngineEndpoint("docker", url, context=docker_context(os.environ))
        # Not self.runtime: asking the engine which it is would fail the same way.
        known = self._runtime.name if self._runtime is not None else "docker"
        return EngineEndpoint(known, url, chosen_by=self._url_chosen_by)

    def _unavailable(self, error: object) -> EngineUnavailable:
        return EngineUnavailable(
            f"the container engine at {self.engine_url} is not reachable through its API: {error}\n"
            f"fix: {unreachable_fix(self.endpoint())}"
        )

    def _translate(
        self,
        what: str,
        error: Exception,
        *,
        container_id: str = "",
        refused: Callable[[str], TestctrError] = TestctrError,
    ) -> TestctrError:
        """The testctr error for an SDK/requests ``error`` raised by the request ``what``.

        ``refused`` builds the error for an engine that answered and said no
        (ContainerStartError at create/start). It is ContainerNotFound only
        when the engine says the container is missing (:func:`container_missing`):
        callers take that error as "already gone", which a missing network is not.
        """
        if isinstance(error, docker.errors.APIError):
            text = explain(error)
            if container_id and container_missing(error.status_code, text):
                return ContainerNotFound(f"no container {container_id!r} ({self.runtime}: {text})")
            message = f"{what} failed: {text}"
            fix = missing_network(self.runtime, text)
            if fix:
                message += f"\nfix: {fix}"
            return refused(message)
        if isinstance(error, requests.exceptions.ConnectionError):
            return self._unavailable(error)  # ConnectTimeout included: nothing listens
        if isinstance(error, requests.exceptions.Timeout):
            return self._hung(what)
        return self._unavailable(error)  # the connection broke mid-answer, or the SDK could not talk to it

    def _hung(self, what: str) -> EngineUnavailable:
        seconds = getattr(self._timeouts, "last", _settings.current().engine_timeout)
        known = self._runtime.name if self._runtime is not None else "docker"
        error = hung_engine(self.engine_url, seconds, what, known)
        self._unanswered.remember(error)
        return error

    def _url(self, path: str, container_id: str) -> str:
        return str(self.api._url(path, container_id, versioned_api=not path.startswith(_LIBPOD)))

    def _call(self, what: str, fn: Any, *args: Any, container_id: str = "", **kwargs: Any) -> Any:
        """Call the SDK and turn its exceptions into testctr's."""
        try:
            return fn(*args, **kwargs)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise self._translate(what, e, container_id=container_id) from None

    @property
    def rt(self) -> APIRuntime:
        """The engine behind the endpoint (asked once it answers)."""
        if self._runtime is None:
            try:
                info = self._call("version", self.api.version)
            except TestctrError:
                return APIRuntime("docker")  # not cached: the engine may come up later
            self._runtime = APIRuntime.from_version(info)
        return self._runtime

    @property
    def runtime(self) -> str:
        """ "docker", or "podman" for Podman's compatible service."""
        return self.rt.name

    def for_runtime(self, runtime: str) -> DockerAPIBackend:
        if "://" in runtime:
            url = runtime
        elif runtime == "podman":
            url = podman_socket_url()
        elif runtime == "docker":
            url = engine_url_from_environment()
        else:
            raise EngineUnavailable(
                f"the {self._name} backend talks to Docker Engine API endpoints: runtime must be "
                f"docker, podman or an engine URL, not {runtime!r}"
            )
        if url == self.engine_url:
            return self
        if url not in self._others:
            self._others[url] = type(self)(url, self._name)
        return self._others[url]

    def version(self) -> str:
        info = self._call("version", self.api.version)
        self._runtime = APIRuntime.from_version(info)
        return str(info.get("Version") or "unknown")

    def host(self) -> str:
        return engine_host(self.engine_url)

    def debug_commands(self, container_name: str) -> dict[str, str]:
        rt = self.rt
        own_url = podman_socket_url() if rt.name == "podman" else engine_url_from_environment()
        return debug_commands(rt.cli(self.engine_url, own_url), rt.name, container_name)

    def _host_ip(self) -> str:
        return default_host_ip(self.engine_url)

    # --- Backend --------------------------------------------------------------------------------

    def _image_cmd(self, image: str) -> list[str]:
        try:
            data = self.api.inspect_image(image)
        except docker.errors.NotFound:
            self.ensure_image(image)
            data = self._call(f"inspect image {image}", self.api.inspect_image, image)
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            data = self._call(f"inspect image {image}", self.api.inspect_image, image)
        return list((data.get("Config") or {}).get("Cmd") or [])

    def _check_config(self, config: ContainerConfig) -> None:
        if config.backend_config is not None:
            raise UnsupportedOption(
                "with_backend_config", self._name, f"it has no settings of type {type(config.backend_config).__name__}"
            )

    def create_container(self, image: str, config: ContainerConfig) -> str:
        self._check_config(config)
        command = self._image_cmds.command_for(image, config)
        config = pin_host_ports(config, self.engine_url)
        body = create_body(image, config, command, self._host_ip())
        api = self.api

        def create() -> Any:
            return api.create_container_from_config(body, name=config.name, platform=config.platform)

        try:
            try:
                created = create()
            except docker.errors.ImageNotFound:
                self.ensure_image(image, config.platform)
                created = create()
            except docker.errors.NotFound as e:  # Podman says "no such image" as a plain 404
                if "image" not in explain(e).lower():
                    raise
                self.ensure_image(image, config.platform)
                created = create()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            # No container_id: nothing exists yet, so no 404 here means "already gone".
            raise self._translate(f"{self.runtime} create of {image}", e, refused=ContainerStartError) from None
        container_id = str(created["Id"])
        self._connect_extra_networks(container_id, config)
        return container_id

    def _connect_extra_networks(self, container_id: str, config: ContainerConfig) -> None:
        """Networks after the first are attached between create and start."""
        for attachment in config.networks[1:]:
            self.connect_network(container_id, attachment.name, attachment.aliases)

    def start_container(self, container_id: str) -> None:
        try:
            self.api.start(container_id)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:

            def refused(message: str) -> TestctrError:
                return start_error(message, self._logs_or_empty(container_id))

            raise self._translate(f"{self.runtime} start", e, container_id=container_id, refused=refused) from None

    def stop_container(self, container_id: str, timeout: float = 10.0) -> None:
        self._call("stop", self.api.stop, container_id, timeout=max(int(timeout), 0), container_id=container_id)

    def remove_container(self, container_id: str) -> None:
        try:
            self._call("remove", self.api.remove_container, container_id, v=True, force=True, container_id=container_id)
        except TestctrError as e:
            # Two removals racing: the other one wins, the container is gone all the same.
            if "already in progress" not in str(e):
                raise

    def inspect_container(self, container_id: str) -> ContainerInfo:
        data = self._call("inspect", self.api.inspect_container, container_id, container_id=container_id)
        return parse_inspect(data)

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
        api = self.api
        try:
            created = api.exec_create(
                container_id,
                list(cmd),
                stdout=True,
                stderr=True,
                environment=dict(env) if env else None,
                workdir=workdir,
                user=user or "",
            )
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:

            def refused(message: str) -> TestctrError:
                if _NOT_RUNNING.search(message):
                    return ContainerNotRunning(message)
                return TestctrError(message)

            raise self._translate(
                f"exec in {container_id[:12]}", e, container_id=container_id, refused=refused
            ) from None
        exec_id = created["Id"]
        sock = self._call("exec start", api.exec_start, exec_id, socket=True, container_id=container_id)
        chunks: list[tuple[int, bytes]] = []

        def pump() -> None:
            try:
                for stream, data in frames_iter(sock, False):
                    chunks.append((stream, data))
            except (OSError, ValueError):
                pass  # shut down by a timeout (ValueError: read on the closed file)

        reader = threading.Thread(target=pump, daemon=True, name="testctr-api-exec")
        reader.start()
        waited = bound(EXEC_TIMEOUT if timeout is None else timeout)
        reader.join(waited)
        timed_out = reader.is_alive()
        _shutdown(sock)
        reader.join(5)
        stdout = b"".join(d for s, d in chunks if s == 1).decode("utf-8", "replace")
        stderr = b"".join(d for s, d in chunks if s == 2).decode("utf-8", "replace")
        output = b"".join(d for _, d in chunks).decode("utf-8", "replace")
        if timed_out:
            result = ExecResult(-1, stdout, stderr, output)
            raise ExecTimeout(
                cmd,
                result,
                f"command {list(cmd)!r} did not finish within {waited:.1f}s "
                "(testctr stopped reading it; the process may still be running in the container)",
            )
        exit_code = self._exec_exit_code(exec_id)
        if exit_code == 126 and _NOT_FOUND_EXEC.search(output):
            # The engine reports a missing executable as 126; a shell, `docker run`
            # and `docker exec` say 127. Keep the convention every caller expects.
            exit_code = 127
        return ExecResult(exit_code, stdout, stderr, output)

    def _exec_exit_code(self, exec_id: str) -> int:
        # The stream can end a moment before the engine records the exit.
        deadline = time.monotonic() + 10
        while True:
            info = self._call("exec inspect", self.api.exec_inspect, exec_id)
            code = info.get("ExitCode")
            if not info.get("Running") and code is not None:
                return int(code)
            if time.monotonic() > deadline:
                return -1 if code is None else int(code)
            time.sleep(0.02)

    def get_container_logs(self, container_id: str) -> str:
        return self._log_text(container_id)

    def log_tail(self, container_id: str, lines: int) -> str:
        return self._log_text(container_id, tail=lines)

    def log_since(self, container_id: str, since: float, lines: int) -> str:
        return self._log_text(container_id, since=since, tail=lines)

    def _log_text(self, container_id: str, **window: Any) -> str:
        data = self._call(
            "logs", self.api.logs, container_id, stdout=True, stderr=True, container_id=container_id, **window
        )
        return bytes(data).decode("utf-8", "replace")

    def write_logs(self, container_id: str, out: BinaryIO, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        # until now: a container that goes on printing is not chased.
        stream = self._call(
            "logs",
            self.api.logs,
            container_id,
            stdout=True,
            stderr=True,
            stream=True,
            until=time.time(),
            container_id=container_id,
        )
        try:
            for data in stream:
                out.write(data)
                if time.monotonic() > deadline:
                    return False
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise self._translate("logs", e, container_id=container_id) from None
        finally:
            with contextlib.suppress(Exception):  # closing a stream is best effort, whatever the transport
                stream.close()
        return True

    def _logs_or_empty(self, container_id: str) -> str:
        try:
            return self.get_container_logs(container_id)
        except TestctrError:
            return ""

    def stream_logs(self, container_id: str) -> _FollowedLogs:
        api = self.api

        def follow() -> Any:
            url = api._url("/containers/{0}/logs", container_id)
            params = {"stdout": 1, "stderr": 1, "follow": 1, "timestamps": 0, "tail": "all"}
            response = api._get(url, params=params, stream=True)
            # Raises for a refused request; the socket must not time out on a quiet log.
            api._disable_socket_timeout(api._get_raw_response_socket(response))
            return response

        return _FollowedLogs(api, self._call("logs", follow, container_id=container_id))

    def wait_for_log(self, container_id: str, pattern: re.Pattern[str], timeout: float, occurrences: int = 1) -> None:
        follow_logs_until(self, container_id, pattern, timeout, occurrences)

    def internal_ip(self, container_id: str) -> str:
        return self.inspect_container(container_id).internal_ip

    def commit(self, container_id: str, image: str) -> None:
        repository, tag = parse_repository_tag(image)
        self._call(
            "commit",
            self.api.commit,
            container_id,
            repository=repository,
            tag=tag or "latest",
            container_id=container_id,
        )

    # --- optional capabilities ------------------------------------------------------------------

    def list_images(self) -> list[str]:
        images = self._call("images", self.api.images)
        return [tag for image in images for tag in image.get("RepoTags") or () if "<none>" not in tag]

    def remove_image(self, image: str) -> None:
        try:
            self.api.remove_image(image)
        except docker.errors.NotFound as e:
            raise ImageNotFound(f"no image {image}: {explain(e)}") from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise self._translate(f"remove image {image}", e) from None

    def copy_to_container(self, container_id: str, container_path: str, data: bytes, mode: int | None = None) -> None:
        blob = file_tar(container_path, data, mode)
        ok = self._call("copy to container", self.api.put_archive, container_id, "/", blob, container_id=container_id)
        if not ok:
            raise TestctrError(f"copy_to: the engine refused to write {container_path} in {container_id[:12]}")

    def copy_from_container(self, container_id: str, container_path: str) -> bytes:
        try:
            stream, _stat = self.api.get_archive(container_id, container_path)
            blob = b"".join(stream)
        except docker.errors.NotFound as e:
            text = explain(e)
            if _NO_CONTAINER.search(text):
                raise ContainerNotFound(f"no container {container_id!r}: {text}") from None
            raise TestctrError(f"copy_from: {container_path} does not exist in {container_id[:12]}") from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise self._translate(f"copy_from {container_path}", e, container_id=container_id) from None
        return first_file_in_tar(blob, container_path)

    def ensure_image(self, image: str, platform: str | None = None) -> None:
        api = self.api
        try:
            api.inspect_image(image)
            return
        except docker.errors.NotFound:
            pass
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise self._translate(f"inspect image {image}", e) from None
        try:
            self._pull(image, platform)
            api.inspect_image(image)
        except docker.errors.APIError as e:
            raise pull_error(image, explain(e)) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as e:
            raise self._translate(f"pull {image}", e) from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise ImagePullError(f"pulling {image} failed: {e}") from None

    def _pull(self, image: str, platform: str | None) -> None:
        """``POST /images/create`` for ``image``, bounded by PULL_TIMEOUT of wall-clock time.

        The SDK's ``pull`` sends ``timeout=None`` (a stalled registry blocks
        forever), so the request is made here: the progress stream is read in
        a thread and abandoned, its connection closed, once the deadline passes.
        Raises APIError for a refused pull, including one Podman reports inside
        a 200 stream.
        """
        api = self.api
        repository, tag = parse_repository_tag(image)
        params: dict[str, str] = {"fromImage": repository, "tag": tag or "latest"}
        if platform is not None:
            params["platform"] = platform
        headers: dict[str, str] = {}
        registry, _ = docker.auth.resolve_repository_name(repository)
        auth_header = docker.auth.get_config_header(api, registry)
        if auth_header:
            headers["X-Registry-Auth"] = auth_header
        outcome: dict[str, Any] = {}  # "response", "error" (the stream's), "exception"
        finished = threading.Event()
        abandoned = threading.Event()

        def pull() -> None:
            try:
                response = api._post(
                    api._url("/images/create"),
                    params=params,
                    headers=headers,
                    stream=True,
                    timeout=(_settings.current().engine_timeout, PULL_TIMEOUT),
                )
                outcome["response"] = response
                if abandoned.is_set():  # the deadline passed while we waited for the answer
                    _close_response(api, response)
                    return
                with contextlib.closing(response):
                    api._raise_for_status(response)
                    for line in response.iter_lines():
                        error = _pull_stream_error(line.decode("utf-8", "replace"))
                        if error:
                            outcome["error"] = error
                            return
            except Exception as e:  # handed to the caller's thread
                outcome["exception"] = e
            finally:
                finished.set()

        worker = threading.Thread(target=pull, daemon=True, name="testctr-api-pull")
        worker.start()
        if not finished.wait(PULL_TIMEOUT):
            abandoned.set()
            response = outcome.get("response")
            if response is not None:
                _close_response(api, response)
            raise pull_timeout_error(image, PULL_TIMEOUT)
        if "exception" in outcome:
            raise outcome["exception"]
        if "error" in outcome:
            raise docker.errors.APIError(outcome["error"], explanation=outcome["error"])

    def health_status(self, container_id: str) -> str | None:
        health = self.inspect_container(container_id).state.health
        path = self.rt.healthcheck_path
        if health == "starting" and path is not None:
            api = self.api
            url = self._url(path, container_id)
            # A failing check is reported by the state read below.
            with contextlib.suppress(docker.errors.DockerException, requests.exceptions.RequestException):
                api._result(api._get(url))
            health = self.inspect_container(container_id).state.health
        return health

    def update_resources(
        self, container_id: str, *, memory_bytes: int | None = None, cpus: float | None = None
    ) -> None:
        path, body = self.rt.update_request(memory_bytes, cpus)
        api = self.api

        def update() -> Any:
            # The SDK's update_container has no NanoCpus; the endpoint does.
            return api._result(api._post_json(self._url(path, container_id), data=body))

        self._call("update", update, container_id=container_id)

    def list_containers(self, label: str) -> list[ContainerInfo]:
        found = self._call("list containers", self.api.containers, all=True, filters={"label": label})
        infos = []
        for item in found:
            with contextlib.suppress(ContainerNotFound):  # removed between list and inspect
                infos.append(self.inspect_container(str(item["Id"])))
        return infos

    def create_network(self, name: str, labels: Mapping[str, str], internal: bool = False) -> str:
        created = self._call(
            f"create network {name}",
            self.api.create_network,
            name,
            labels=dict(labels),
            internal=internal,
            options=self.rt.network_options or None,
        )
        return str(created.get("Id") or created.get("id") or name)

    def remove_network(self, network: str) -> None:
        try:
            self.api.remove_network(network)
        except docker.errors.NotFound as e:
            raise NetworkNotFound(f"no network {network!r} ({self.runtime}: {explain(e)})") from None
        except docker.errors.APIError as e:
            text = explain(e)
            if NETWORK_IN_USE.search(text):
                raise TestctrError(
                    f"network {network} is still in use: {text}\nfix: remove the containers on it first"
                ) from None
            raise self._translate(f"remove network {network}", e) from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise self._translate(f"remove network {network}", e) from None

    def list_networks(self, label: str) -> list[NetworkInfo]:
        found = self._call("list networks", self.api.networks, filters={"label": label})
        return [parse_network(item) for item in found]

    def connect_network(self, container_id: str, network: str, aliases: Sequence[str] = ()) -> None:
        self._call(
            f"connect to network {network}",
            self.api.connect_container_to_network,
            container_id,
            network,
            aliases=list(aliases) or None,
            container_id=container_id,
        )

    def disconnect_network(self, container_id: str, network: str) -> None:
        self._call(
            f"disconnect from network {network}",
            self.api.disconnect_container_from_network,
            container_id,
            network,
            container_id=container_id,
        )


def _close_response(api: Any, response: Any) -> None:
    """Close a streamed answer, waking a thread blocked reading it."""
    with contextlib.suppress(Exception):  # whatever the transport, closing is best effort
        _shutdown(api._get_raw_response_socket(response))
    with contextlib.suppress(Exception):
        response.close()


def _pull_stream_error(output: object) -> str | None:
    """The error a pull's JSON-lines answer ends with, if any."""
    for line in str(output).splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("error"):
            return str(message["error"])
    return None


__all__ = [
    "APIRuntime",
    "DockerAPIBackend",
    "create_body",
    "default_host_ip",
    "engine_url_from_environment",
    "podman_socket_url",
]
