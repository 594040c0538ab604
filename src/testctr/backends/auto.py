"""The "auto" backend: the best engine this machine has, chosen once per process.

Order: Apple's containerization where the "apple" backend is registered and
its system service answers, then the CLI backend with the first of docker,
podman, nerdctl, finch whose engine answers. TESTCTR_RUNTIME skips the search
(the user chose). The choice and the reasons others were skipped are kept for
``testctr doctor``.

:class:`AutoBackend` forwards every call to the chosen backend, so the core
sees the chosen backend's capabilities (``isinstance`` against the optional
protocols looks at the chosen one) and backend-specific extras such as
``boot_logs`` stay reachable. ``with_runtime`` always means the CLI backend
with that runtime, whatever was chosen.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from testctr.errors import EngineUnavailable, TestctrError

if TYPE_CHECKING:
    import re

    from testctr.backend.protocols import Backend
    from testctr.backend.registry import Registry
    from testctr.backend.types import ContainerConfig, ContainerInfo, ExecResult


@dataclass
class Choice:
    """What "auto" picked, and why each candidate before it was skipped."""

    name: str = ""
    runtime: str = ""
    backend: Backend | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""

    def explain(self) -> list[str]:
        lines = [f"skipped {who}: {why}" for who, why in self.skipped]
        if self.backend is not None:
            lines.append(f"chose {self.name}" + (f" with {self.runtime}" if self.name == "cli" else ""))
        else:
            lines.append(f"no usable engine: {self.error}")
        return lines


def choose(registry: Registry) -> Choice:
    """Probe the candidates in order; the first that answers wins."""
    from testctr.backends.cli import RUNTIMES, CLIBackend, find_runtime

    choice = Choice()
    preferred = os.environ.get("TESTCTR_RUNTIME") or None
    if preferred:
        choice.skipped.append(("apple", f"TESTCTR_RUNTIME={preferred} names the CLI runtime to use"))
    elif registry.is_available("apple"):
        try:
            apple = registry.get("apple")
            apple.version()  # checks the system service too
            choice.name, choice.runtime, choice.backend = "apple", apple.runtime, apple
            return choice
        except TestctrError as e:
            choice.skipped.append(("apple", " ".join(str(e).split())))
    else:
        from testctr.backends.apple import BIN_ENV, platform_supported

        ok, why = platform_supported()
        choice.skipped.append(("apple", f"Apple's `container` CLI is not installed ({BIN_ENV} not set)" if ok else why))
    for name in [preferred] if preferred else list(RUNTIMES):
        if not preferred and shutil.which(name) is None:
            choice.skipped.append((f"cli/{name}", "not on PATH"))
            continue
        try:
            backend = CLIBackend(find_runtime(name))
            backend.version()
        except TestctrError as e:
            choice.skipped.append((f"cli/{name}", str(e).splitlines()[0]))
            continue
        choice.name, choice.runtime, choice.backend = "cli", backend.runtime, backend
        return choice
    choice.error = "; ".join(f"{who}: {why}" for who, why in choice.skipped)
    return choice


_lock = threading.Lock()
_choice: Choice | None = None


def current_choice(registry: Registry) -> Choice:
    """The process's choice, made on first use."""
    global _choice
    with _lock:
        if _choice is None:
            _choice = choose(registry)
        return _choice


def forget_choice() -> None:
    """Choose again on next use (tests; an engine started after the first choice)."""
    global _choice
    with _lock:
        _choice = None


class AutoBackend:
    """Forwards to the backend chosen by :func:`choose`, probed on first use."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    @property
    def chosen(self) -> Backend:
        choice = current_choice(self._registry)
        if choice.backend is None:
            raise EngineUnavailable(
                "no container engine answers (backend auto): "
                + choice.error
                + "\nfix: start Docker or Podman, or run `container system start` on a Mac; "
                "`testctr doctor` shows what was tried"
            )
        return choice.backend

    def __getattr__(self, name: str) -> Any:
        # Optional capabilities and backend extras of the chosen backend.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.chosen, name)

    def for_runtime(self, runtime: str) -> Backend:
        from testctr.backend.protocols import RuntimeSelectable

        cli = self._registry.get("cli")
        assert isinstance(cli, RuntimeSelectable)
        return cli.for_runtime(runtime)

    # --- Backend, forwarded ----------------------------------------------------------------

    @property
    def runtime(self) -> str:
        return self.chosen.runtime

    def create_container(self, image: str, config: ContainerConfig) -> str:
        return self.chosen.create_container(image, config)

    def start_container(self, container_id: str) -> None:
        self.chosen.start_container(container_id)

    def stop_container(self, container_id: str, timeout: float = 10.0) -> None:
        self.chosen.stop_container(container_id, timeout)

    def remove_container(self, container_id: str) -> None:
        self.chosen.remove_container(container_id)

    def inspect_container(self, container_id: str) -> ContainerInfo:
        return self.chosen.inspect_container(container_id)

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
        return self.chosen.exec_in_container(container_id, cmd, env=env, workdir=workdir, user=user, timeout=timeout)

    def get_container_logs(self, container_id: str) -> str:
        return self.chosen.get_container_logs(container_id)

    def wait_for_log(self, container_id: str, pattern: re.Pattern[str], timeout: float, occurrences: int = 1) -> None:
        self.chosen.wait_for_log(container_id, pattern, timeout, occurrences)

    def internal_ip(self, container_id: str) -> str:
        return self.chosen.internal_ip(container_id)

    def commit(self, container_id: str, image: str) -> None:
        self.chosen.commit(container_id, image)

    def host(self) -> str:
        return self.chosen.host()

    def version(self) -> str:
        return self.chosen.version()
