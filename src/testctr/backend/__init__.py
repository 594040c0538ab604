"""The backend contract: protocols, data types and the registry."""

from testctr.backend.protocols import (
    Backend,
    ContainerHost,
    ContainerLister,
    FileCopier,
    HealthReporter,
    ImageEnsurer,
    LogStream,
    LogStreamer,
    ResourceUpdater,
    RuntimeSelectable,
)
from testctr.backend.registry import (
    Registry,
    default_registry,
    get,
    names,
    register,
    register_factory,
)
from testctr.backend.types import (
    ContainerConfig,
    ContainerInfo,
    ContainerState,
    ExecResult,
    FileEntry,
    Mount,
    PortBinding,
    PortSpec,
)

__all__ = [
    "Backend",
    "ContainerConfig",
    "ContainerHost",
    "ContainerInfo",
    "ContainerLister",
    "ContainerState",
    "ExecResult",
    "FileCopier",
    "FileEntry",
    "HealthReporter",
    "ImageEnsurer",
    "LogStream",
    "LogStreamer",
    "Mount",
    "PortBinding",
    "PortSpec",
    "Registry",
    "ResourceUpdater",
    "RuntimeSelectable",
    "default_registry",
    "get",
    "names",
    "register",
    "register_factory",
]
