"""AppleBackend: drives one ``container`` binary through its CLI."""

from __future__ import annotations

import json
import os
import shlex
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from re import Pattern
from typing import BinaryIO

from testctr.backend.protocols import HealthReporter, NetworkConnector, ResourceUpdater
from testctr.backend.types import ContainerConfig, ContainerInfo, ExecResult, NetworkInfo
from testctr.backends._process import (
    CommandTimeout,
    Completed,
    EnvArgs,
    copy_output,
    follow_logs_until,
    run_command,
    run_exec,
)
from testctr.backends.apple.arguments import (
    RELEASE_MARKER,
    arch_name,
    check_config,
    create_args,
    gated_process,
    network_create_args,
)
from testctr.backends.apple.cli_errors import (
    CAT_MISSING,
    COPY_MISSING,
    IS_DIRECTORY,
    NETWORK_NOT_FOUND,
    NO_SHELL,
    NOT_FOUND,
    NOT_RUNNING,
    PORT_CONFLICT,
    SERVICE_DOWN,
    START_FAILED,
    create_error,
    error_text,
    failure,
    image_error,
    needs_macos_26,
    network_error,
    service_down,
)
from testctr.backends.apple.config import AppleConfig
from testctr.backends.apple.logs import LogFollower
from testctr.backends.apple.parsing import direct_ports, image_process, parse_container, parse_network
from testctr.backends.apple.platform import BIN_ENV, find_binary, macos_major, platform_supported
from testctr.backends.apple.ports import PORT_ATTEMPTS, allocate_port
from testctr.backends.apple.version import BACKEND, Version, parse_version, require, supports, version_text
from testctr.errors import (
    ContainerNotFound,
    ContainerStartError,
    EngineUnavailable,
    InvalidOption,
    NetworkNotFound,
    TestctrError,
    UnsupportedOption,
)

TIMEOUT = 60.0  # any single CLI call (a VM boot included)
PULL_TIMEOUT = 900.0
EXEC_TIMEOUT = 3600.0

_COPY_SCRIPT = 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1" && chmod "$2" "$1"'

#: Why this backend lacks a capability, for the UnsupportedOption the core raises.
_LIMITS: dict[type, str] = {
    ResourceUpdater: (
        "a VM's CPUs and memory are fixed when it boots; set them at creation with with_memory_limit / with_cpus"
    ),
    HealthReporter: (
        "Apple's container does not run image HEALTHCHECKs; wait with with_wait_for_exec(<the check command>)"
    ),
    NetworkConnector: (
        "Apple's container attaches networks only when it creates a container (it has no `network connect`); "
        "name them with with_network"
    ),
}


@dataclass
class _Created:
    """What this process created a container with, to re-create it after a port conflict."""

    image: str
    config: ContainerConfig
    apple: AppleConfig
    image_cmd: list[str] | None  # the image's CMD, when the args follow it
    gated: list[str] | None  # the process the gate runs once the files are in place
    auto_ports: bool
    gate: bool  # the gate still holds the process
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

    def _run(
        self, *args: str, timeout: float = TIMEOUT, input: bytes | None = None, env: EnvArgs | None = None
    ) -> Completed:
        try:
            return run_command([self.binary, *args], timeout, input, env=env.process_env() if env else None)
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

    def _check(self, result: Completed, what: str, container_id: str = "") -> Completed:
        if result.returncode != 0:
            raise failure(result, what, container_id)
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
        if supports(self.cli_version, "system status"):
            result = self._run("system", "status", timeout=15)
        else:
            result = self._run("list", "--quiet", timeout=15)
        if result.returncode != 0:
            raise service_down(error_text(result) or "`container system status` failed")

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
            if result.returncode != 0 and not SERVICE_DOWN.search(error_text(result)):
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
        image_cmd: list[str] | None = None
        gated: list[str] | None = None
        if config.files or config.needs_image_cmd:
            entrypoint, image_cmd = self._image_process(image, arch_name(apple.arch) if apple.arch else None)
            if config.files:
                gated = gated_process(config, entrypoint, image_cmd)
                if not gated:
                    raise ContainerStartError(f"image {image} has no command; give one with with_command")
        auto_ports = any(p.host_port is None for p in config.ports) and not apple.direct_ip
        created = _Created(image, config, apple, image_cmd, gated, auto_ports, gate=gated is not None)
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
                created.image, config, created.apple, self.cli_version, host_ports, created.image_cmd, created.gated
            )
            # create_args names the variables; the CLI takes their values from its environment.
            result = self._run(*argv, env=EnvArgs.of(config.env))
            if result.returncode == 0:
                return result.out.strip().splitlines()[-1].strip()
            err = error_text(result)
            if PORT_CONFLICT.search(err) and created.auto_ports and attempt + 1 < PORT_ATTEMPTS:
                continue
            raise create_error(created.image, err)
        raise AssertionError("unreachable")

    def start_container(self, container_id: str) -> None:
        with self._lock:
            created = self._created.get(container_id)
            self._hosts.pop(container_id, None)
        for attempt in range(PORT_ATTEMPTS):
            result = self._run("start", container_id)
            if result.returncode == 0:
                break
            err = error_text(result)
            if SERVICE_DOWN.search(err):
                raise service_down(err)
            if NOT_FOUND.search(err) and "bootstrap" not in err:
                raise ContainerNotFound(f"no container {container_id!r}: {err}")
            if PORT_CONFLICT.search(err) and created is not None and created.auto_ports and attempt + 1 < PORT_ATTEMPTS:
                # Another process bound a port we allocated: re-create under the
                # same name with fresh ports (published ports cannot be edited).
                self._check(self._run("delete", "--force", container_id), "delete", container_id)
                self._create(created)
                continue
            if created is not None and created.gate and NO_SHELL.search(err):
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
        env_args = EnvArgs.of(env or {})
        for name in env_args.names:
            argv.append(f"--env={name}")
        if workdir is not None:
            argv += ["--workdir", workdir]
        if user is not None:
            argv.append(f"--user={user}")
        argv += [container_id, *cmd]
        result = run_exec(argv, EXEC_TIMEOUT if timeout is None else timeout, cmd, env_args.process_env())
        if result.exit_code == 1 and not result.stdout and result.stderr.startswith("Error: "):
            err = result.stderr.strip()
            if SERVICE_DOWN.search(err):
                raise service_down(err)
            if NOT_FOUND.search(err):
                raise ContainerNotFound(f"no container {container_id!r}: {err}")
            if NOT_RUNNING.search(err):
                raise TestctrError(f"cannot exec in {container_id}: {err}")
            if START_FAILED.search(err):
                # The process could not start (no such binary): report it the way
                # a shell and Docker do, as exit code 127, not as a CLI failure.
                return ExecResult(127, "", err + "\n", err + "\n")
        return result

    def get_container_logs(self, container_id: str) -> str:
        result = self._check(self._run("logs", container_id), "logs", container_id)
        return result.out

    def log_tail(self, container_id: str, lines: int) -> str:
        return self._check(self._run("logs", "-n", str(lines), container_id), "logs", container_id).out

    def write_logs(self, container_id: str, out: BinaryIO, timeout: float) -> bool:
        return copy_output([self.binary, "logs", container_id], out, timeout)

    def boot_logs(self, container_id: str) -> str:
        """The VM's boot log: kernel and init messages (``container logs --boot``)."""
        return self._check(self._run("logs", "--boot", container_id), "logs --boot", container_id).out

    def stream_logs(self, container_id: str) -> LogFollower:
        return LogFollower(self, container_id)

    def wait_for_log(self, container_id: str, pattern: Pattern[str], timeout: float, occurrences: int = 1) -> None:
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
        if supports(self.cli_version, "cp"):
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
        if result.returncode in (126, 127) or START_FAILED.search(error_text(result)):
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
        if NOT_RUNNING.search(err):
            raise TestctrError(
                f"{what}: container {container_id} is not running (Apple's container copies only into running VMs)"
            )
        raise failure(result, what, container_id)

    def copy_from_container(self, container_id: str, container_path: str) -> bytes:
        if supports(self.cli_version, "cp"):
            with tempfile.TemporaryDirectory(prefix="testctr-apple-") as tmp:
                local = os.path.join(tmp, "out")
                result = self._run("copy", f"{container_id}:{container_path}", local)
                if result.returncode != 0:
                    err = error_text(result)
                    if COPY_MISSING.search(err) and not NOT_FOUND.search(err):
                        raise TestctrError(f"copy_from: {container_path} does not exist in {container_id}")
                    self._check_copy(result, container_id, "copy_from")
                if os.path.isdir(local):
                    raise InvalidOption(f"copy_from: {container_path} is a directory; name a file")
                with open(local, "rb") as f:
                    return f.read()
        result = self._run("exec", container_id, "cat", "--", container_path)
        if result.returncode != 0:
            err = error_text(result)
            if IS_DIRECTORY.search(err):
                raise InvalidOption(f"copy_from: {container_path} is a directory; name a file")
            if CAT_MISSING.search(err):
                raise TestctrError(f"copy_from: {container_path} does not exist in {container_id}")
            if START_FAILED.search(err):
                raise UnsupportedOption(
                    "copy_from", BACKEND, f"the image of {container_id} has no `cat` and this container has no `cp`"
                )
            self._check_copy(result, container_id, "copy_from")
        return result.stdout

    def ensure_image(self, image: str, platform: str | None = None) -> None:
        if self._run("image", "inspect", image).returncode == 0:
            return
        argv = ["image", "pull"]
        if platform and supports(self.cli_version, "platform"):
            argv += ["--platform", platform]
        result = self._run(*argv, image, timeout=PULL_TIMEOUT)
        if result.returncode != 0:
            err = error_text(result)
            if SERVICE_DOWN.search(err):
                raise service_down(err)
            raise image_error(image, err)

    def unsupported_reason(self, capability: type) -> str | None:
        return _LIMITS.get(capability)

    def debug_commands(self, container_name: str) -> dict[str, str]:
        binary, name = shlex.quote(self.binary), shlex.quote(container_name)
        return {
            "logs": f"{binary} logs {name}",
            "shell": f"{binary} exec -it {name} sh",
            "remove": f"{binary} delete --force {name}",
        }

    def list_containers(self, label: str) -> list[ContainerInfo]:
        result = self._check(self._run("list", "--all", "--format", "json"), "list")
        return [info for info in map(parse_container, json.loads(result.out or "[]")) if label in info.labels]

    # --- networks ----------------------------------------------------------------------------

    def create_network(self, name: str, labels: Mapping[str, str], internal: bool = False) -> str:
        require(self.cli_version, "network", "testctr.network", "creating networks")
        if internal:
            raise UnsupportedOption(
                "testctr.network(internal=True)",
                BACKEND,
                "testctr cannot make a network without a way out with Apple's container",
            )
        major = macos_major()
        if major is not None and major < 26:
            raise needs_macos_26("testctr.network", "creates networks")
        result = self._run(*network_create_args(name, labels))
        if result.returncode != 0:
            raise network_error(result, "create")
        return name

    def remove_network(self, network: str) -> None:
        result = self._run("network", "delete", network)
        if result.returncode != 0:
            if NETWORK_NOT_FOUND.search(error_text(result)):
                raise NetworkNotFound(f"no network {network!r} (container: {error_text(result)})")
            raise network_error(result, "delete")

    def list_networks(self, label: str) -> list[NetworkInfo]:
        result = self._run("network", "list", "--format", "json")
        if result.returncode != 0:
            raise network_error(result, "list")
        return [info for info in map(parse_network, json.loads(result.out or "[]")) if label in info.labels]
