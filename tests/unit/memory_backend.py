"""A small in-memory backend for unit tests that start containers without an engine.

To be replaced by testctr.backends.memory.MemoryBackend once it exists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from testctr.backend.types import ContainerConfig, ContainerInfo, ContainerState, ExecResult
from testctr.errors import ContainerNotFound


class MemoryBackend:
    """Containers as dicts: enough for the plugin's paths, no engine."""

    runtime = "memory"

    def __init__(self) -> None:
        self.containers: dict[str, ContainerInfo] = {}
        self.list_error: Exception | None = None
        #: What inspect reports as every container's health.
        self.health: str | None = None

    def add(self, name: str, container_labels: Mapping[str, str], running: bool = True) -> str:
        cid = f"id-{name}"
        state = ContainerState(running=running, status="running" if running else "created", health=self.health)
        self.containers[cid] = ContainerInfo(cid, name, "img", None, state, labels=dict(container_labels))
        return cid

    def _info(self, container_id: str) -> ContainerInfo:
        for info in self.containers.values():
            if container_id in (info.id, info.name):
                return info
        raise ContainerNotFound(container_id)

    def create_container(self, image: str, config: ContainerConfig) -> str:
        return self.add(config.name, config.labels)

    def start_container(self, container_id: str) -> None:
        self._info(container_id)

    def stop_container(self, container_id: str, timeout: float = 10.0) -> None:
        self._info(container_id)

    def remove_container(self, container_id: str) -> None:
        del self.containers[self._info(container_id).id]

    def inspect_container(self, container_id: str) -> ContainerInfo:
        return self._info(container_id)

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
        return ExecResult(127, "", "", "")

    def get_container_logs(self, container_id: str) -> str:
        return f"log of {self._info(container_id).name}\n"

    def wait_for_log(self, container_id: str, pattern: re.Pattern[str], timeout: float, occurrences: int = 1) -> None:
        pass

    def internal_ip(self, container_id: str) -> str:
        return "10.0.0.2"

    def commit(self, container_id: str, image: str) -> None:
        pass

    def host(self) -> str:
        return "127.0.0.1"

    def version(self) -> str:
        return "0"

    def list_containers(self, label: str) -> list[ContainerInfo]:
        if self.list_error is not None:
            raise self.list_error
        return [info for info in self.containers.values() if label in info.labels]


class DebuggableBackend(MemoryBackend):
    def debug_commands(self, container_name: str) -> dict[str, str]:
        return {"logs": f"mem logs {container_name}", "remove": f"mem rm {container_name}"}
