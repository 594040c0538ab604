"""The CLI backend: drives ``docker``, ``podman``, ``nerdctl`` or ``finch``.

Their command lines agree on everything used here; the few places where
their behaviour differs are kept in :class:`Runtime`.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from testctr import settings as _settings
from testctr.backend.deadline import Unanswered
from testctr.backend.types import ContainerConfig, ContainerInfo, ExecResult, Mount, NetworkInfo
from testctr.backends._process import (
    CommandTimeout,
    Completed,
    EnvArgs,
    FollowedLines,
    copy_output,
    follow_logs_until,
    run_command,
    run_exec,
    work_dir,
)
from testctr.backends.docker_family import (
    DOCKER_SOCKET,
    NETWORK_IN_USE,
    EngineEndpoint,
    ImageCommands,
    debug_commands,
    default_host_ip,
    docker_context,
    engine_host,
    file_tar,
    first_file_in_tar,
    hung_engine,
    missing_network,
    parse_inspect,
    parse_network,
    pin_host_ports,
    pull_error,
    pull_timeout_error,
    remove_args,
    start_error,
    unreachable_fix,
)
from testctr.errors import (
    ContainerNotFound,
    ContainerNotRunning,
    ContainerStartError,
    EngineUnavailable,
    NetworkNotFound,
    TestctrError,
    UnsupportedOption,
)

#: Looked for on PATH in this order when TESTCTR_RUNTIME is not set.
RUNTIMES = ("docker", "podman", "nerdctl", "finch")

# Any other engine call: Settings.engine_timeout (TESTCTR_ENGINE_TIMEOUT), or the start's deadline.
VERSION_TIMEOUT = 15.0
PULL_TIMEOUT = 900.0  # not shortened by a start's deadline: a first pull may take minutes
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
_NO_NETWORK = re.compile(r"no such network|network \S+ not found|unable to find network|network not found", re.I)
_MISSING_EXECUTABLE = re.compile(r"executable file not found|no such file or directory", re.I)
# Podman reads what a running container is changing: its processes while inspecting it (one
# that exits at that moment, an OOM kill say, fails the inspect), its log file while reading
# it (a line half written by a flood is "not a valid container log line"). Asked again, it answers.
_RACED_THE_CONTAINER = re.compile(r"read /proc/\d+/\S+: no such process|is not a valid container log line", re.I)


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
    def network_options(self) -> list[str]:
        """``network create`` flags that make a network behave as Docker's do.

        Podman (netavark) routes between its bridge networks unless told to
        isolate them; Docker always isolates them.
        """
        return ["--opt", "isolate=true"] if self.name == "podman" else []

    @property
    def host_variable(self) -> str:
        """The variable that points this CLI at another engine."""
        return "CONTAINER_HOST" if self.name == "podman" else "DOCKER_HOST"

    @property
    def engine_url(self) -> str:
        """The engine this CLI is pointed at; empty for its own default."""
        return os.environ.get(self.host_variable, "")

    def endpoint(self) -> EngineEndpoint:
        """Where this CLI looks for its engine, for the fix of an unreachable one."""
        if self.engine_url:
            return EngineEndpoint(self.name, self.engine_url, chosen_by=self.host_variable)
        if self.name != "docker":
            return EngineEndpoint(self.name)
        context = docker_context(os.environ)
        return EngineEndpoint(self.name, "" if context else DOCKER_SOCKET, context=context)

    @property
    def typed_name(self) -> str:
        """What a person types to run this CLI: its name when that finds it on PATH."""
        return self.name if shutil.which(self.name) == self.binary else self.binary


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


def mount_spec(mount: Mount) -> str:
    """The value of ``--mount`` for ``mount``.

    The CLIs read it as one CSV record: a path holding a comma or a quote is
    quoted, as docker and podman both accept.
    """
    fields = ["type=bind", f"source={mount.source}", f"target={mount.target}"]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields + (["readonly"] if mount.read_only else []))
    return buf.getvalue()[:-1]


def create_args(
    image: str,
    config: ContainerConfig,
    command: Sequence[str] | None,
    host_ip: str,
    start: bool = False,
    env: EnvArgs | None = None,
) -> list[str]:
    """The ``create`` (or, with ``start``, ``run -d``) command line for ``config``.

    ``command`` is ``config.command_for(...)``: None keeps the image's CMD.
    ``env`` is ``EnvArgs.of(config.env)``, whose ``child_env`` the CLI must get.
    """
    argv = ["run", "-d"] if start else ["create"]
    argv += ["--pull", "never", "--name", config.name]
    for key, value in config.labels.items():
        argv += ["--label", f"{key}={value}"]
    for name in (env or EnvArgs.of(config.env)).names:
        argv += ["-e", name]
    for port in config.ports:
        bind_ip = port.host_ip or host_ip
        if ":" in bind_ip:
            bind_ip = f"[{bind_ip}]"
        host_port = "" if port.host_port is None else str(port.host_port)
        argv += ["-p", f"{bind_ip}:{host_port}:{port.container_port}/{port.protocol}"]
    for mount in config.mounts:
        argv += ["--mount", mount_spec(mount)]
    for path in config.tmpfs:
        argv += ["--tmpfs", path]
    if config.networks:
        primary = config.networks[0]
        argv += ["--network", primary.name]
        for alias in primary.aliases:
            argv += ["--network-alias", alias]
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
    words = list(command or [])
    if config.entrypoint is not None:
        # The CLI's --entrypoint takes one word; the rest leads the command.
        argv += ["--entrypoint", config.entrypoint[0]]
        words = config.entrypoint[1:] + words
    return [*argv, "--", image, *words]


# --- the backend -------------------------------------------------------------------------------


class CLIBackend:
    """Drives one runtime's CLI. ``for_runtime`` gives the same backend for another."""

    def __init__(self, runtime: Runtime | None = None, preferred: str | None = None) -> None:
        self._runtime = runtime
        self._preferred = preferred
        self._image_cmds = ImageCommands(self._image_cmd)
        self._others: dict[str, CLIBackend] = {}
        self._unanswered = Unanswered()

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
        self,
        *args: str,
        timeout: float | None = None,
        input: bytes | None = None,
        merge_stderr: bool = False,
        env: EnvArgs | None = None,
    ) -> Completed:
        if timeout is None:
            timeout = _settings.current().engine_timeout
        unanswered = self._unanswered.message()
        if unanswered is not None:
            raise EngineUnavailable(unanswered)
        try:
            return run_command(
                [self.rt.binary, *args], timeout, input, merge_stderr, env.process_env() if env else None
            )
        except CommandTimeout as e:
            endpoint = self.rt.endpoint()
            where = endpoint.url or f"{self.rt.name}'s default address"
            error = hung_engine(where, e.timeout, f"{self.rt.name} {args[0]}", self.rt.name)
            self._unanswered.remember(error)
            raise error from None
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
        fix = unreachable_fix(self.rt.endpoint())
        if others:
            fix += f"; or use another runtime: TESTCTR_RUNTIME={others[0]}"
        return EngineUnavailable(f"the {self.rt.name} engine is not reachable: {err}\nfix: {fix}")

    # --- Backend -------------------------------------------------------------------------------

    def version(self) -> str:
        result = self._run("version", "--format", "{{json .}}", timeout=VERSION_TIMEOUT)
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
        return engine_host(self.rt.engine_url)

    def debug_commands(self, container_name: str) -> dict[str, str]:
        return debug_commands([self.rt.typed_name], self.rt.name, container_name)

    def _image_cmd(self, image: str) -> list[str]:
        argv = ("image", "inspect", "--format", "{{json .Config.Cmd}}", "--", image)
        result = self._run(*argv)
        if result.returncode != 0 and _NO_IMAGE.search(result.err):
            self.ensure_image(image)
            result = self._run(*argv)
        self._check(result)
        return list(json.loads(result.out.strip() or "null") or [])

    def create_container(self, image: str, config: ContainerConfig) -> str:
        return self._create(image, config, start=False)

    def run_container(self, image: str, config: ContainerConfig) -> str:
        # Extra networks are attached between create and start.
        if not config.networks[1:]:
            return self._create(image, config, start=True)
        container_id = self._create(image, config, start=False)
        self.start_container(container_id)
        return container_id

    def _create(self, image: str, config: ContainerConfig, start: bool) -> str:
        if config.backend_config is not None:
            # The contract: settings a backend does not understand are refused, never ignored.
            raise UnsupportedOption("with_backend_config", "cli", "the CLI backend has no backend-specific settings")
        command = self._image_cmds.command_for(image, config)
        config = pin_host_ports(config, self.rt.engine_url)
        env = EnvArgs.of(config.env)
        argv = create_args(image, config, command, default_host_ip(self.rt.engine_url), start, env)
        result = self._run(*argv, env=env)
        if result.returncode != 0 and _NO_IMAGE.search(result.err):
            self.ensure_image(image, config.platform)
            result = self._run(*argv, env=env)
        if result.returncode != 0:
            err = result.err
            if _UNREACHABLE.search(err):
                raise self._unavailable(err)
            verb = "run" if start else "create"
            fix = missing_network(self.rt.name, err)
            if fix:
                raise ContainerStartError(f"{self.rt.name} {verb} of {image} failed: {err}\nfix: {fix}")
            # A run that created the container but could not start it: the core
            # removes it by name; its log may say why it failed.
            logs = self._logs_by_name(config.name) if start else ""
            raise start_error(f"{self.rt.name} {verb} of {image} failed: {err}", logs)
        container_id = result.out.strip().splitlines()[-1]
        try:
            for attachment in config.networks[1:]:
                try:
                    self.connect_network(container_id, attachment.name, attachment.aliases)
                except (ContainerNotFound, EngineUnavailable):
                    raise
                except TestctrError as e:  # at creation, a network that cannot be joined fails the start
                    raise ContainerStartError(f"{self.rt.name}: {image} could not join its networks: {e}") from None
        except BaseException:
            # The core registers cleanup only for an id it received: remove it here.
            with contextlib.suppress(TestctrError):
                self._run(*remove_args(self.rt.name), "--", container_id)
            raise
        return container_id

    def _logs_by_name(self, name: str) -> str:
        result = self._run("logs", "--", name, merge_stderr=True)
        return result.out if result.returncode == 0 else ""

    def start_container(self, container_id: str) -> None:
        result = self._run("start", "--", container_id)
        if result.returncode != 0:
            if _NO_CONTAINER.search(result.err) and not _UNREACHABLE.search(result.err):
                raise ContainerNotFound(f"no container {container_id!r}: {result.err}")
            if _UNREACHABLE.search(result.err):
                raise self._unavailable(result.err)
            raise start_error(f"{self.rt.name} start failed: {result.err}", self.get_container_logs(container_id))

    def stop_container(self, container_id: str, timeout: float = 10.0) -> None:
        seconds = max(int(timeout), 0)
        self._check(
            self._run(
                "stop", "-t", str(seconds), "--", container_id, timeout=seconds + _settings.current().engine_timeout
            ),
            container_id,
        )

    def remove_container(self, container_id: str) -> None:
        result = self._check(self._run(*remove_args(self.rt.name), "--", container_id), container_id)
        if not result.out.strip():
            # `rm -f` exits 0 for an unknown id (Docker prints the error, Podman
            # nothing); a removal prints the id or name.
            err = result.err or "nothing removed"
            raise ContainerNotFound(f"no container {container_id!r} ({self.rt.name}: {err})")

    def _run_read(self, *args: str, merge_stderr: bool = False) -> Completed:
        """A read of a container's state or log, asked again once when it raced the container."""
        result = self._run(*args, merge_stderr=merge_stderr)
        if result.returncode != 0 and _RACED_THE_CONTAINER.search(result.err or result.out):
            result = self._run(*args, merge_stderr=merge_stderr)
        return result

    def inspect_container(self, container_id: str) -> ContainerInfo:
        result = self._check(self._run_read("inspect", "--type", "container", "--", container_id), container_id)
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
        env_args = EnvArgs.of(env or {})
        for name in env_args.names:
            argv += ["-e", name]
        if workdir is not None:
            argv += ["-w", workdir]
        if user is not None:
            argv += ["-u", user]
        argv += ["--", container_id, *cmd]
        result = run_exec(argv, EXEC_TIMEOUT if timeout is None else timeout, cmd, env_args.process_env())
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
        result = self._check(self._run_read("logs", "--", container_id, merge_stderr=True), container_id)
        return result.out

    def log_tail(self, container_id: str, lines: int) -> str:
        result = self._run_read("logs", "--tail", str(lines), "--", container_id, merge_stderr=True)
        return self._check(result, container_id).out

    def log_since(self, container_id: str, since: float, lines: int) -> str:
        # Docker, Podman and nerdctl take seconds since the epoch, fractions included.
        argv = ["logs", "--since", f"{since:.6f}", "--tail", str(lines), "--", container_id]
        return self._check(self._run_read(*argv, merge_stderr=True), container_id).out

    def write_logs(self, container_id: str, out: BinaryIO, timeout: float) -> bool:
        # --until now: a container that goes on printing is not chased.
        until = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return copy_output([self.rt.binary, "logs", "--until", until, "--", container_id], out, timeout)

    def stream_logs(self, container_id: str) -> FollowedLines:
        return FollowedLines([self.rt.binary, "logs", "-f", "--", container_id])

    def wait_for_log(self, container_id: str, pattern: re.Pattern[str], timeout: float, occurrences: int = 1) -> None:
        follow_logs_until(self, container_id, pattern, timeout, occurrences)

    def internal_ip(self, container_id: str) -> str:
        return self.inspect_container(container_id).internal_ip

    def commit(self, container_id: str, image: str) -> None:
        self._check(self._run("commit", "--", container_id, image, timeout=300), container_id)

    # --- optional capabilities ---------------------------------------------------------------

    def copy_to_container(self, container_id: str, container_path: str, data: bytes, mode: int | None = None) -> None:
        blob = file_tar(container_path, data, mode)
        result = self._run("cp", "--", "-", f"{container_id}:/", input=blob)
        if result.returncode != 0 and not _NO_CONTAINER.search(result.err):
            # Docker's cp reports an unknown id as a bad destination; ask which it is.
            self.inspect_container(container_id)
        self._check(result, container_id)

    def copy_from_container(self, container_id: str, container_path: str) -> bytes:
        result = self._run("cp", "--", f"{container_id}:{container_path}", "-")
        missing = re.search(r"could not find|no such file|not exist", result.err, re.I)
        if result.returncode != 0 and missing and not _NO_CONTAINER.search(result.err):
            raise TestctrError(f"copy_from: {container_path} does not exist in {container_id[:12]}")
        self._check(result, container_id)
        return first_file_in_tar(result.stdout, container_path)

    def ensure_image(self, image: str, platform: str | None = None) -> None:
        if self._run("image", "inspect", "--", image).returncode == 0:
            return
        argv = [self.rt.binary, "pull", *(["--platform", platform] if platform else [])]
        # On a terminal the engine's own progress bars show; elsewhere, quiet.
        interactive = sys.stderr.isatty()
        try:
            pulled = subprocess.run(
                [*argv, "--", image] if interactive else [*argv, "-q", "--", image],
                cwd=work_dir(),
                stdin=subprocess.DEVNULL,
                stdout=None if interactive else subprocess.PIPE,
                stderr=subprocess.PIPE,
                timeout=PULL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise pull_timeout_error(image, PULL_TIMEOUT) from None
        if pulled.returncode == 0:
            return
        err = pulled.stderr.decode("utf-8", "replace").strip()
        if _UNREACHABLE.search(err) and "registry" not in err.lower() and "dial tcp" not in err:
            raise self._unavailable(err)
        raise pull_error(image, err)

    def remove_image(self, image: str) -> None:
        self._check(self._run("rmi", "--", image))

    def list_images(self) -> list[str]:
        result = self._check(self._run("images", "--format", "{{.Repository}}:{{.Tag}}"))
        return [line for line in result.out.split() if "<none>" not in line]

    def health_status(self, container_id: str) -> str | None:
        health = self.inspect_container(container_id).state.health
        if health == "starting" and not self.rt.runs_healthchecks:
            # Nobody runs the check on schedule here: run it ourselves once.
            self._run("healthcheck", "run", "--", container_id)
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
        self._check(self._run(*argv, "--", container_id), container_id)

    def list_containers(self, label: str) -> list[ContainerInfo]:
        result = self._check(self._run("ps", "-a", "-q", "--no-trunc", "--filter", f"label={label}"))
        ids = result.out.split()
        if not ids:
            return []
        listed = self._run("inspect", "--type", "container", "--", *ids)
        # A container removed between ps and inspect is simply gone.
        return [parse_inspect(item) for item in json.loads(listed.out or "[]")]

    def create_network(self, name: str, labels: Mapping[str, str], internal: bool = False) -> str:
        argv = ["network", "create", *self.rt.network_options]
        for key, value in labels.items():
            argv += ["--label", f"{key}={value}"]
        if internal:
            argv.append("--internal")
        result = self._check(self._run(*argv, "--", name))
        return result.out.strip().splitlines()[-1] if result.out.strip() else name

    def remove_network(self, network: str) -> None:
        result = self._run("network", "rm", "--", network)
        if result.returncode == 0:
            return
        err = result.err or result.out.strip()
        if _NO_NETWORK.search(err) and not _UNREACHABLE.search(err):
            raise NetworkNotFound(f"no network {network!r} ({self.rt.name}: {err})")
        if NETWORK_IN_USE.search(err):
            raise TestctrError(f"network {network} is still in use: {err}\nfix: remove the containers on it first")
        self._check(result)

    def list_networks(self, label: str) -> list[NetworkInfo]:
        result = self._check(self._run("network", "ls", "-q", "--no-trunc", "--filter", f"label={label}"))
        ids = result.out.split()
        if not ids:
            return []
        listed = self._run("network", "inspect", "--", *ids)
        # A network removed between ls and inspect is simply gone.
        return [parse_network(item) for item in json.loads(listed.out or "[]")]

    def connect_network(self, container_id: str, network: str, aliases: Sequence[str] = ()) -> None:
        argv = ["network", "connect"]
        for alias in aliases:
            argv += ["--alias", alias]
        result = self._run(*argv, "--", network, container_id)
        fix = missing_network(self.rt.name, result.err) if result.returncode else None
        if fix:
            raise TestctrError(f"{self.rt.name} network connect {network} failed: {result.err}\nfix: {fix}")
        self._check(result, container_id)

    def disconnect_network(self, container_id: str, network: str) -> None:
        self._check(self._run("network", "disconnect", "--", network, container_id), container_id)
