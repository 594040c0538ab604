"""The backend contract: protocols, data types and the registry class.

It imports no backend; the registry in use, with the backends in it, is
:mod:`testctr.backends`.
"""

from testctr.backend.protocols import (
    Backend,
    ContainerHost,
    ContainerLister,
    ContainerRunner,
    DebugCommands,
    ExplainsLimits,
    FileCopier,
    HealthReporter,
    ImageEnsurer,
    ImageLister,
    LogSince,
    LogStream,
    LogStreamer,
    LogTail,
    LogWriter,
    ResourceUpdater,
    RuntimeSelectable,
    unsupported_reason,
)
from testctr.backend.registry import AutoCandidate, Pin, Registry
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
    "AutoCandidate",
    "Backend",
    "ContainerConfig",
    "ContainerHost",
    "ContainerInfo",
    "ContainerLister",
    "ContainerRunner",
    "ContainerState",
    "DebugCommands",
    "ExecResult",
    "ExplainsLimits",
    "FileCopier",
    "FileEntry",
    "HealthReporter",
    "ImageEnsurer",
    "ImageLister",
    "LogSince",
    "LogStream",
    "LogStreamer",
    "LogTail",
    "LogWriter",
    "Mount",
    "Pin",
    "PortBinding",
    "PortSpec",
    "Registry",
    "ResourceUpdater",
    "RuntimeSelectable",
    "unsupported_reason",
]
