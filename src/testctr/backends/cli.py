"""The CLI backend: drives ``docker``, ``podman``, ``nerdctl`` or ``finch``.

Their command lines agree on everything used here; the few places where
their behaviour differs are kept in :class:`Runtime`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    ContainerNotRunning,
    ContainerStartError,
    EngineUnavailable,
    ImageNotFound,
    ImagePullError,
    InvalidOption,
    TestctrError,
    UnsupportedOption,
)
from testctr.parsing import parse_timestamp

#: Looked for on PATH in this order when TESTCTR_RUNTIME is not set.
RUNTIMES = ("docker", "podman", "nerdctl", "finch")

TIMEOUT = 60.0  # any single engine call
PULL_TIMEOUT = 900.0
EXEC_TIMEOUT = 3600.0  # exec without a timeout of its own is still bounded

_NO_CONTAINER = re.compile(
    r"no such container|no container with (name or )?id|container \"[^\"]*\" does not exist", re.I
)
_NO_IMAGE = re.compile(r"no such image|image not known|unable to find image|not found: manifest unknown", re.I)
_UNREACHABLE = re.compile(
    r"cannot connect to the (docker|podman)|is the docker daemon running|"
    r"connection refused|error during connect|dial unix|no such file or directory.*\.sock",
    re.I,
)
_NOT_RUNNING = re.compile(
    r"is not running|container state improper|can only (exec|create exec sessions) on running", re.I
)
_MISSING_EXECUTABLE = re.compile(r"executable file not found|no such file or directory", re.I)
_PULL_NOT_FOUND = re.compile(
    r"manifest unknown|not found|does not exist|repository .* not found|pull access denied", re.I
)


@dataclass(frozen=True)
class Runtime:
    """One engine CLI and the quirks the backend must know about."""

    name: str
    binary: str

    @property
    def runs_healthchecks(self) -> bool:
        """Podman runs HEALTHCHECKs from systemd timers; without systemd, nobody does."""
        return self.name != "podman" or os.path.isdir("/run/systemd/system")

    @property
    def remove_args(self) -> list[str]:
        """``rm -f`` kills at once in Docker; Podman first waits 10 s for SIGTERM."""
        return ["rm", "-f", "-v", "-t", "0"] if self.name == "podman" else ["rm", "-f", "-v"]

    def remote_host(self) -> str | None:
        """The engine's host when it is reached over the network, else None."""
        var = "CONTAINER_HOST" if self.name == "podman" else "DOCKER_HOST"
        return remote_host_of(os.environ.get(var, ""))


def remote_host_of(engine_url: str) -> str | None:
    """``tcp://10.0.0.5:2376`` / ``ssh://me@build-box`` -> host; unix sockets -> None."""
    if not engine_url:
        return None
    parsed = urllib.parse.urlsplit(engine_url)
    if parsed.scheme in ("tcp", "ssh", "http", "https") and parsed.hostname:
        return parsed.hostname
    return None


def find_runtime(preferred: str | None = None) -> Runtime:
    """The runtime named (a name or a path), else the first of RUNTIMES on PATH."""
    if preferred:
        binary = shutil.which(preferred)
        if binary is None:
            raise EngineUnavailable(
                f"container runtime {preferred!r} (TESTCTR_RUNTIME / with_runtime) is not on PATH; "
                f"install it or choose one of: {', '.join(RUNTIMES)}"
            )
        return Runtime(os.path.basename(preferred), binary)
    for name in RUNTIMES:
        binary = shutil.which(name)
        if binary is not None:
            return Runtime(name, binary)
    raise EngineUnavailable(
        f"no container runtime found on PATH (looked for {', '.join(RUNTIMES)}); "
        "install Docker or Podman, or set TESTCTR_RUNTIME to the CLI to use"
    )


# --- pure argument builders and parsers (unit-tested without an engine) -------------------


def create_args(
    image: str, config: ContainerConfig, image_cmd: Sequence[str] | None, default_host_ip: str, start: bool = False
) -> list[str]:
    """The ``create`` (or, with ``start``, ``run -d``) command line for ``config``.

    ``image_cmd`` is the image's CMD; it is only needed when ``config.args``
    must be appended to it (no ``command`` given, no entrypoint override).
    """
    argv = ["run", "-d"] if start else ["create"]
    argv += ["--pull", "never", "--name", config.name]
    for key, value in config.labels.items():
        argv += ["--label", f"{key}={value}"]
    for key, value in config.env.items():
        argv += ["-e", f"{key}={value}"]
    for port in config.ports:
        host_ip = port.host_ip or default_host_ip
        if ":" in host_ip:
            host_ip = f"[{host_ip}]"
        host_port = "" if port.host_port is None else str(port.host_port)
        argv += ["-p", f"{host_ip}:{host_port}:{port.container_port}/{port.protocol}"]
    for mount in config.mounts:
        spec = f"type=bind,source={mount.source},target={mount.target}"
        argv += ["--mount", spec + (",readonly" if mount.read_only else "")]
    for path in config.tmpfs:
        argv += ["--tmpfs", path]
    if config.networks:
        argv += ["--network", config.networks[0]]
    if config.user is not None:
        argv += ["--user", config.user]
    if config.workdir is not None:
        argv += ["--workdir", config.workdir]
    if config.memory_bytes is not None:
        argv += ["--memory", str(config.memory_bytes)]
    if config.cpus is not None:
        argv += ["--cpus", f"{config.cpus:g}"]
    if config.privileged:
        argv.append("--privileged")
    if config.platform is not None:
        argv += ["--platform", config.platform]
    command: list[str] = []
    if config.entrypoint is not None:
        # The CLI's --entrypoint takes one word; the rest leads the command. An
        # overridden entrypoint drops the image's CMD, as Docker does.
        argv += ["--entrypoint", config.entrypoint[0]]
        command = config.entrypoint[1:] + (config.command or []) + config.args
    elif config.command is not None:
        command = config.command + config.args
    elif config.args:
        command = list(image_cmd or []) + config.args
    argv.append(image)
    return argv + command


def parse_inspect(data: Mapping[str, Any]) -> ContainerInfo:
    """One element of ``docker inspect`` / ``podman inspect`` JSON."""
    state = data.get("State") or {}
    health = state.get("Health") or state.get("Healthcheck") or {}
    status = str(state.get("Status") or "")
    running = bool(state.get("Running")) and status not in ("exited", "dead")
    exit_code = state.get("ExitCode")
    settings = data.get("NetworkSettings") or {}
    ports: dict[str, list[PortBinding]] = {}
    for key, bindings in (settings.get("Ports") or {}).items():
        ports[key] = [PortBinding(b.get("HostIp") or "", int(b.get("HostPort") or 0)) for b in bindings or []]
    ip = settings.get("IPAddress") or ""
    if not ip:
        for net in (settings.get("Networks") or {}).values():
            if net and net.get("IPAddress"):
                ip = net["IPAddress"]
                break
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
        ),
        ports=ports,
        internal_ip=ip,
        labels=dict(config.get("Labels") or {}),
    )


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
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for member in tar:
            if member.isfile():
                extracted = tar.extractfile(member)
                assert extracted is not None
                return extracted.read()
            if member.isdir():
                raise InvalidOption(f"copy_from: {container_path} is a directory; name a file")
    raise TestctrError(f"copy_from: {container_path} holds no regular file")


# --- the backend -------------------------------------------------------------------------------


class CLIBackend:
    """Drives one runtime's CLI. ``for_runtime`` gives the same backend for another."""

    def __init__(self, runtime: Runtime | None = None, preferred: str | None = None) -> None:
        self._runtime = runtime
        self._preferred = preferred
        self._image_cmds: dict[str, list[str]] = {}
        self._others: dict[str, CLIBackend] = {}

    @classmethod
    def from_environment(cls) -> CLIBackend:
        return cls(preferred=os.environ.get("TESTCTR_RUNTIME") or None)

    @property
    def rt(self) -> Runtime:
        if self._runtime is None:
            self._runtime = find_runtime(self._preferred)
        return self._runtime

    @property
    def runtime(self) -> str:
        try:
            return self.rt.name
        except EngineUnavailable:
            return self._preferred or "docker"

    def for_runtime(self, runtime: str) -> CLIBackend:
        if self._runtime is not None and runtime in (self._runtime.name, self._runtime.binary):
            return self
        if runtime not in self._others:
            self._others[runtime] = CLIBackend(find_runtime(runtime))
        return self._others[runtime]

    # --- running the CLI ---------------------------------------------------------------------

    def _run(
        self, *args: str, timeout: float = TIMEOUT, input: bytes | None = None, merge_stderr: bool = False
    ) -> Completed:
        try:
            return run_command([self.rt.binary, *args], timeout, input, merge_stderr)
        except CommandTimeout as e:
            raise EngineUnavailable(
                f"{self.rt.name} did not answer within {e.timeout:.0f}s ({self.rt.name} {args[0]}); "
                "is the engine overloaded or hung?"
            ) from None
        except FileNotFoundError:
            raise EngineUnavailable(f"{self.rt.binary} disappeared from this machine") from None

    def _check(self, result: Completed, container_id: str = "") -> Completed:
        """Map a failed CLI call to the specific testctr error."""
        if result.returncode == 0:
            return result
        err = result.err or result.out.strip()
        if _UNREACHABLE.search(err):
            raise self._unavailable(err)
        if container_id and _NO_CONTAINER.search(err):
            raise ContainerNotFound(f"no container {container_id!r} ({self.rt.name}: {err})")
        raise TestctrError(f"{self.rt.name} {result.argv[1]} failed: {err}")

    def _unavailable(self, err: str) -> EngineUnavailable:
        others = [n for n in RUNTIMES if n != self.rt.name and shutil.which(n)]
        hint = f"start the {self.rt.name} engine"
        if self.rt.name == "docker":
            hint = "start Docker (`sudo systemctl start docker`, or `sudo dockerd &`)"
        if others:
            hint += f", or use another runtime: TESTCTR_RUNTIME={others[0]}"
        return EngineUnavailable(f"the {self.rt.name} engine is not reachable: {err}\nfix: {hint}")

    # --- Backend -------------------------------------------------------------------------------

    def version(self) -> str:
        result = self._run("version", "--format", "{{json .}}", timeout=15)
        try:
            data = json.loads(result.out or "{}")
        except json.JSONDecodeError:
            data = {}
        server = data.get("Server") or {}
        if result.returncode != 0 or (self.rt.name == "docker" and not server):
            raise self._unavailable(result.err or "no server version")
        client = data.get("Client") or {}
        return str(server.get("Version") or client.get("Version") or "unknown")

    def host(self) -> str:
        return self.rt.remote_host() or "127.0.0.1"

    def _default_host_ip(self) -> str:
        remote = self.rt.remote_host()
        if remote is None:
            return "127.0.0.1"
        # Ports of a remote engine must be reachable from here: bind the address
        # we reach the engine by when it is an IP, else all interfaces.
        try:
            return str(ipaddress.ip_address(remote))
        except ValueError:
            return "0.0.0.0"

    def _image_cmd(self, image: str) -> list[str]:
        if image not in self._image_cmds:
            result = self._run("image", "inspect", "--format", "{{json .Config.Cmd}}", image)
            if result.returncode != 0 and _NO_IMAGE.search(result.err):
                self.ensure_image(image)
                result = self._run("image", "inspect", "--format", "{{json .Config.Cmd}}", image)
            self._check(result)
            self._image_cmds[image] = json.loads(result.out.strip() or "null") or []
        return self._image_cmds[image]

    def create_container(self, image: str, config: ContainerConfig) -> str:
        return self._create(image, config, start=False)

    def run_container(self, image: str, config: ContainerConfig) -> str:
        # Extra networks are attached between create and start.
        if config.networks[1:]:
            container_id = self._create(image, config, start=False)
            self.start_container(container_id)
            return container_id
        return self._create(image, config, start=True)

    def _create(self, image: str, config: ContainerConfig, start: bool) -> str:
        if config.backend_config is not None:
            # The contract: settings a backend does not understand are refused, never ignored.
            raise UnsupportedOption("with_backend_config", "cli", "the CLI backend has no backend-specific settings")
        needs_image_cmd = config.args and config.command is None and config.entrypoint is None
        image_cmd = self._image_cmd(image) if needs_image_cmd else None
        argv = create_args(image, config, image_cmd, self._default_host_ip(), start)
        result = self._run(*argv)
        if result.returncode != 0 and _NO_IMAGE.search(result.err):
            self.ensure_image(image, config.platform)
            result = self._run(*argv)
        if result.returncode != 0:
            err = result.err
            if _UNREACHABLE.search(err):
                raise self._unavailable(err)
            verb = "run" if start else "create"
            # A run that created the container but could not start it: the core
            # removes it by name; its log may say why it failed.
            logs = self._logs_by_name(config.name) if start else ""
            raise ContainerStartError(f"{self.rt.name} {verb} of {image} failed: {err}", logs=logs)
        container_id = result.out.strip().splitlines()[-1]
        try:
            for network in config.networks[1:]:
                connected = self._run("network", "connect", network, container_id)
                if connected.returncode != 0:
                    raise ContainerStartError(f"{self.rt.name} network connect {network} failed: {connected.err}")
        except BaseException:
            # The core registers cleanup only for an id it received: remove it here.
            with contextlib.suppress(TestctrError):
                self._run(*self.rt.remove_args, container_id)
            raise
        return container_id

    def _logs_by_name(self, name: str) -> str:
        result = self._run("logs", name, merge_stderr=True)
        return result.out if result.returncode == 0 else ""

    def start_container(self, container_id: str) -> None:
        result = self._run("start", container_id)
        if result.returncode != 0:
            if _NO_CONTAINER.search(result.err) and not _UNREACHABLE.search(result.err):
                raise ContainerNotFound(f"no container {container_id!r}: {result.err}")
            if _UNREACHABLE.search(result.err):
                raise self._unavailable(result.err)
            raise ContainerStartError(
                f"{self.rt.name} start failed: {result.err}", logs=self.get_container_logs(container_id)
            )

    def stop_container(self, container_id: str, timeout: float = 10.0) -> None:
        seconds = max(int(timeout), 0)
        self._check(self._run("stop", "-t", str(seconds), container_id, timeout=seconds + TIMEOUT), container_id)

    def remove_container(self, container_id: str) -> None:
        result = self._check(self._run(*self.rt.remove_args, container_id), container_id)
        if not result.out.strip():
            # `rm -f` exits 0 for an unknown id (Docker prints the error, Podman
            # nothing); a removal prints the id or name.
            err = result.err or "nothing removed"
            raise ContainerNotFound(f"no container {container_id!r} ({self.rt.name}: {err})")

    def inspect_container(self, container_id: str) -> ContainerInfo:
        result = self._check(self._run("inspect", "--type", "container", container_id), container_id)
        items = json.loads(result.out)
        if not items:
            raise ContainerNotFound(f"no container {container_id!r}")
        return parse_inspect(items[0])

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
        argv = [self.rt.binary, "exec"]
        for key, value in (env or {}).items():
            argv += ["-e", f"{key}={value}"]
        if workdir is not None:
            argv += ["-w", workdir]
        if user is not None:
            argv += ["-u", user]
        argv += [container_id, *cmd]
        result = run_exec(argv, EXEC_TIMEOUT if timeout is None else timeout, cmd)
        if result.exit_code != 0 and not result.stdout:
            # The CLI's own failures look like a command's; tell them apart by text.
            err = result.stderr
            if err.startswith("Error") and _NO_CONTAINER.search(err) and "exec" not in err.lower():
                raise ContainerNotFound(f"no container {container_id!r}: {err.strip()}")
            if err.startswith("Error") and _NOT_RUNNING.search(err):
                raise ContainerNotRunning(f"cannot exec in {container_id[:12]}: {err.strip()}")
            if _UNREACHABLE.search(err) and err.startswith(("Cannot connect", "Error")):
                raise self._unavailable(err.strip())
        if (
            result.exit_code == 126
            and "OCI runtime exec failed" in result.output
            and _MISSING_EXECUTABLE.search(result.output)
        ):
            # Docker reports a missing executable as 126; Podman, shells and `docker run` say 127.
            return dataclasses.replace(result, exit_code=127)
        return result

    def get_container_logs(self, container_id: str) -> str:
        result = self._check(self._run("logs", container_id, merge_stderr=True), container_id)
        return result.out

    def stream_logs(self, container_id: str) -> FollowedLines:
        return FollowedLines([self.rt.binary, "logs", "-f", container_id])

    def wait_for_log(self, container_id: str, pattern: re.Pattern[str], timeout: float, occurrences: int = 1) -> None:
        follow_logs_until(self, container_id, pattern, timeout, occurrences)

    def internal_ip(self, container_id: str) -> str:
        return self.inspect_container(container_id).internal_ip

    def commit(self, container_id: str, image: str) -> None:
        self._check(self._run("commit", container_id, image, timeout=300), container_id)

    # --- optional capabilities ---------------------------------------------------------------

    def copy_to_container(self, container_id: str, container_path: str, data: bytes, mode: int | None = None) -> None:
        blob = file_tar(container_path, data, mode)
        result = self._run("cp", "-", f"{container_id}:/", input=blob)
        if result.returncode != 0 and not _NO_CONTAINER.search(result.err):
            # Docker's cp reports an unknown id as a bad destination; ask which it is.
            self.inspect_container(container_id)
        self._check(result, container_id)

    def copy_from_container(self, container_id: str, container_path: str) -> bytes:
        result = self._run("cp", f"{container_id}:{container_path}", "-")
        missing = re.search(r"could not find|no such file|not exist", result.err, re.I)
        if result.returncode != 0 and missing and not _NO_CONTAINER.search(result.err):
            raise TestctrError(f"copy_from: {container_path} does not exist in {container_id[:12]}")
        self._check(result, container_id)
        return first_file_in_tar(result.stdout, container_path)

    def ensure_image(self, image: str, platform: str | None = None) -> None:
        if self._run("image", "inspect", image).returncode == 0:
            return
        argv = [self.rt.binary, "pull", *(["--platform", platform] if platform else [])]
        # On a terminal the engine's own progress bars show; elsewhere, quiet.
        interactive = sys.stderr.isatty()
        try:
            pulled = subprocess.run(
                [*argv, image] if interactive else [*argv, "-q", image],
                stdin=subprocess.DEVNULL,
                stdout=None if interactive else subprocess.PIPE,
                stderr=subprocess.PIPE,
                timeout=PULL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ImagePullError(f"pulling {image} took longer than {PULL_TIMEOUT:.0f}s") from None
        if pulled.returncode == 0:
            return
        err = pulled.stderr.decode("utf-8", "replace").strip()
        if _UNREACHABLE.search(err) and "registry" not in err.lower() and "dial tcp" not in err:
            raise self._unavailable(err)
        if _PULL_NOT_FOUND.search(err):
            raise ImageNotFound(f"image {image} not found locally or in its registry: {err}")
        raise ImagePullError(
            f"image {image} is not present locally and pulling it failed: {err}\n"
            "fix: check the registry is reachable, or build/load the image locally; "
            "TESTCTR_IMAGE_MAP / TESTCTR_IMAGE_PREFIX map image names to a mirror"
        )

    def remove_image(self, image: str) -> None:
        self._check(self._run("rmi", image))

    def health_status(self, container_id: str) -> str | None:
        health = self.inspect_container(container_id).state.health
        if health == "starting" and not self.rt.runs_healthchecks:
            # Nobody runs the check on schedule here: run it ourselves once.
            self._run("healthcheck", "run", container_id)
            health = self.inspect_container(container_id).state.health
        return health

    def update_resources(
        self, container_id: str, *, memory_bytes: int | None = None, cpus: float | None = None
    ) -> None:
        argv = ["update"]
        if memory_bytes is not None:
            argv += ["--memory", str(memory_bytes), "--memory-swap", str(memory_bytes)]
        if cpus is not None:
            argv += ["--cpus", f"{cpus:g}"]
        self._check(self._run(*argv, container_id), container_id)

    def list_containers(self, label: str) -> list[ContainerInfo]:
        result = self._check(self._run("ps", "-a", "-q", "--no-trunc", "--filter", f"label={label}"))
        ids = result.out.split()
        if not ids:
            return []
        listed = self._run("inspect", "--type", "container", *ids)
        # A container removed between ps and inspect is simply gone.
        return [parse_inspect(item) for item in json.loads(listed.out or "[]")]
