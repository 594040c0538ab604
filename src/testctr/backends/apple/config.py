"""AppleConfig: the VM settings a user gives the apple backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from testctr.errors import InvalidOption
from testctr.parsing import parse_memory


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
