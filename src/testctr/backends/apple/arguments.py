"""The ``container create`` command line, and the options it cannot express."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from testctr.backend.types import ContainerConfig
from testctr.backends._process import EnvArgs
from testctr.backends.apple.config import AppleConfig
from testctr.backends.apple.parsing import DIRECT_PORTS_LABEL
from testctr.backends.apple.version import BACKEND, MIN_MEMORY, Version, require, supports
from testctr.errors import InvalidOption, UnsupportedOption

MIB = 1024 * 1024

#: Marker file the gate waits for before exec'ing the real entrypoint.
RELEASE_MARKER = "/.testctr-release"
#: Holds the entrypoint until files copied into the running VM are in place.
GATE_SCRIPT = f'while [ ! -e {RELEASE_MARKER} ]; do sleep 0.05; done; exec "$@"'


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
    if memory is not None and supports(version, "min_memory") and memory < MIN_MEMORY:
        raise UnsupportedOption(
            "with_memory_limit",
            BACKEND,
            f"a VM needs at least {MIN_MEMORY // MIB} MiB (asked for {memory // MIB} MiB)",
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
        require(version, "network", "with_network")
    for attachment in config.networks:
        if attachment.aliases:
            raise UnsupportedOption(
                "with_network(aliases=...)",
                BACKEND,
                "Apple's container gives a container no DNS aliases on a network (its --network takes none); "
                "peers reach it by its name",
            )
    if config.ports and not apple.direct_ip:
        require(version, "publish", "with_port", "publishing ports")
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
    if config.platform is not None and len(config.platform.split("/")) > 2:
        require(version, "platform", "with_platform", "a platform variant")
    if apple.rosetta:
        require(version, "rosetta", "AppleConfig.rosetta")
    if apple.virtualization:
        require(version, "virtualization", "AppleConfig.virtualization")
    if apple.init or apple.init_image:
        require(version, "init", "AppleConfig.init")
    if apple.kernel_args:
        require(version, "kernel_args", "AppleConfig.kernel_args")
    if apple.kernel is not None and not os.path.isfile(apple.kernel):
        raise InvalidOption(f"AppleConfig.kernel: no kernel file at {apple.kernel!r}")


def network_create_args(name: str, labels: Mapping[str, str]) -> list[str]:
    """The ``container network create`` command line."""
    for key, value in labels.items():
        if "=" in value:
            raise UnsupportedOption(
                "testctr.network", BACKEND, f"label {key}: Apple's container rejects label values containing '='"
            )
    return ["network", "create", *(f"--label={key}={value}" for key, value in labels.items()), name]


def arch_name(name: str) -> str:
    """Apple's name for an architecture: ``x86_64`` -> ``amd64``, ``aarch64`` -> ``arm64``."""
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(name, name)


def gated_process(config: ContainerConfig, image_entrypoint: Sequence[str], image_cmd: Sequence[str]) -> list[str]:
    """The whole argv the container runs, for the gate to ``exec`` once its files are in place."""
    entrypoint = config.entrypoint if config.entrypoint is not None else image_entrypoint
    command = config.command_for(image_cmd)
    return [*entrypoint, *(image_cmd if command is None else command)]


def create_args(
    image: str,
    config: ContainerConfig,
    apple: AppleConfig,
    version: Version,
    host_ports: Mapping[str, int],
    image_cmd: Sequence[str] | None = None,
    gated: Sequence[str] | None = None,
) -> list[str]:
    """The ``container create`` command line.

    ``host_ports`` maps port keys to the host port to publish. ``image_cmd`` is
    the image's CMD, needed when :attr:`ContainerConfig.needs_image_cmd`.
    ``gated`` is the :func:`gated_process` to run behind the gate, None for no gate.
    """
    out = ["create", "--name", config.name]
    for key, value in config.labels.items():
        out.append(f"--label={key}={value}")
    if apple.direct_ip and config.ports:
        out.append(f"--label={DIRECT_PORTS_LABEL}={','.join(p.key for p in config.ports)}")
    for name in EnvArgs.of(config.env).names:
        out.append(f"--env={name}")
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
    for attachment in config.networks:
        out += ["--network", attachment.name]
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
    arch = arch_name(apple.arch) if apple.arch else None
    if platform is not None:
        if supports(version, "platform"):
            out += ["--platform", platform]
        else:
            os_name, os_arch = platform.split("/")[:2]
            out += ["--os", os_name]
            arch = arch_name(os_arch)
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
    if gated is not None:
        return [*out, "--entrypoint", "/bin/sh", image, "--", "-c", GATE_SCRIPT, "testctr-gate", *gated]
    command = config.command_for(image_cmd if config.needs_image_cmd else None) or []
    if config.entrypoint is not None:
        out += ["--entrypoint", config.entrypoint[0]]
        command = [*config.entrypoint[1:], *command]
    out.append(image)
    if command and command[0].startswith("-"):
        out.append("--")  # the CLI would read a leading "-x" as its own option
    return out + command
