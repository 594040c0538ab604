"""Finding the Compose implementation that drives the engine in use.

testctr never interprets a Compose file itself: the engine's own Compose does
the work. For an engine CLI named ``R`` (docker, podman, ...) the order is:

1. ``R compose``: Docker's Compose v2 plugin; on Podman >= 4.7, Podman's
   wrapper around whichever provider is installed;
2. ``R-compose`` on PATH: ``docker-compose`` (v1), ``podman-compose``;
3. ``R-compose`` next to ``sys.executable``: a virtualenv may hold
   ``podman-compose`` without being activated.

The first whose ``version`` answers wins, once per process and engine.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from testctr.backends._process import CommandTimeout, run_command
from testctr.errors import EngineUnavailable

PROBE_TIMEOUT = 30.0

#: Compose v2 and later print "Docker Compose version v2.24.5" (Podman's
#: wrapper passes its provider's answer on).
_V2 = re.compile(r"Docker Compose version v?(\d+)\.")


@dataclass(frozen=True)
class ComposeTool:
    """A Compose command line, and what it can do."""

    argv: tuple[str, ...]
    version_text: str

    @property
    def is_v2(self) -> bool:
        """Compose v2+: ``config --format json`` and ``up --wait`` exist."""
        match = _V2.search(self.version_text)
        return match is not None and int(match.group(1)) >= 2

    @property
    def typed(self) -> str:
        """The command a person types: program names where PATH finds them."""
        first = self.argv[0]
        name = os.path.basename(first)
        return shlex.join([name if shutil.which(name) == first else first, *self.argv[1:]])

    def config_args(self) -> list[str]:
        return ["config", "--format", "json"] if self.is_v2 else ["config"]

    def up_args(self, services: Sequence[str], build: bool) -> list[str]:
        """``up`` detached; v2 also waits for healthchecks (others: testctr does)."""
        args = ["up", "-d"]
        if self.is_v2:
            args.append("--wait")
        if build:
            args.append("--build")
        return [*args, "--", *services] if services else args


def candidates(
    runtime: str, runtime_binary: str | None, which: Callable[[str], str | None], python_dir: str
) -> list[tuple[str, ...]]:
    """The command lines to try, in the documented order (those that exist)."""
    found: list[tuple[str, ...]] = []
    if runtime_binary:
        found.append((runtime_binary, "compose"))
    standalone = f"{runtime}-compose"
    on_path = which(standalone)
    if on_path:
        found.append((on_path,))
    beside_python = os.path.join(python_dir, standalone)
    if beside_python != on_path and os.access(beside_python, os.X_OK):
        found.append((beside_python,))
    return found


def install_hint(runtime: str) -> str:
    return (
        f"install a Compose for {runtime}: `{runtime} compose` (Docker's compose plugin; Podman >= 4.7 "
        f"with a provider) or `{runtime}-compose` (Debian: apt-get install docker-compose; "
        "PyPI: pip install podman-compose)"
    )


def probe(argv: Sequence[str]) -> str | None:
    """The tool's ``version`` text, or None when it does not answer."""
    try:
        result = run_command([*argv, "version"], PROBE_TIMEOUT)
    except (CommandTimeout, OSError):
        return None
    if result.returncode != 0:
        return None
    return result.out


def tool_message(err: str) -> str:
    """The tool's error without a Python traceback's frames (podman-compose prints them)."""
    lines = err.strip().splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    if not frames:
        return err.strip()
    rest = lines[frames[-1] + 1 :]
    while rest and rest[0].startswith("    "):
        rest.pop(0)  # the frame's source line and its ^^^ markers
    return "\n".join(rest).strip() or err.strip()


_found: dict[str, ComposeTool] = {}
_lock = threading.Lock()


def find_tool(runtime: str) -> ComposeTool:
    """The first Compose that answers for ``runtime``; raises EngineUnavailable with what to install."""
    with _lock:
        tool = _found.get(runtime)
        if tool is not None:
            return tool
        tried = []
        for argv in candidates(runtime, shutil.which(runtime), shutil.which, os.path.dirname(sys.executable)):
            text = probe(argv)
            if text is not None:
                tool = _found[runtime] = ComposeTool(argv, text)
                return tool
            tried.append(shlex.join(argv))
        looked = ", ".join(tried) + " did not answer" if tried else "none found"
        raise EngineUnavailable(
            f"no Compose tool for {runtime} ({runtime} compose, {runtime}-compose on PATH or beside "
            f"{sys.executable}: {looked}); {install_hint(runtime)}"
        )
