"""The "auto" backend: the best engine this machine has, chosen once per process.

Order: Apple's containerization where the "apple" backend is registered and
its system service answers, then the CLI backend with the first of docker,
podman, nerdctl, finch whose engine answers. A runtime named by
TESTCTR_RUNTIME or --testctr-runtime skips the search
(the user chose). The choice and the reasons others were skipped are kept for
``testctr doctor``.

The "auto" name resolves to the chosen backend itself, so the core sees its
capabilities and backend-specific extras (such as ``boot_logs``) directly.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from testctr.errors import EngineUnavailable, TestctrError

if TYPE_CHECKING:
    from testctr.backend.protocols import Backend
    from testctr.backend.registry import Registry


@dataclass
class Choice:
    """What "auto" picked, and why each candidate before it was skipped."""

    name: str = ""
    runtime: str = ""
    backend: Backend | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""

    def chosen(self) -> Backend:
        if self.backend is None:
            raise EngineUnavailable(
                "no container engine answers (backend auto): "
                + self.error
                + "\nfix: start Docker or Podman, or run `container system start` on a Mac; "
                "`testctr doctor` shows what was tried"
            )
        return self.backend

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
    from testctr.settings import current

    preferred = current().runtime
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
    """The process's choice, made on first use (again after a failed one)."""
    global _choice
    with _lock:
        if _choice is None or _choice.backend is None:
            _choice = choose(registry)
        return _choice
